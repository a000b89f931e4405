//! The spiked pipeline at scale, for peak-memory measurement:
//! `d = 1,000,000`, `k = 32` by default (`--dim D --rank K` to change).
//!
//! Its inputs alone (the d×k basis and 32 points) are 512 MB; the pipeline
//! moves the basis into the covariance and never copies it or the points.
//! Measure with `/usr/bin/time -v target/release/examples/spiked_pipeline`.

#[path = "../benches/support/pipelines.rs"]
mod pipelines;
#[allow(dead_code)] // the pipelines draw their bases from its generator
#[path = "../src/seeded.rs"]
mod seeded;

#[path = "common/cli.rs"]
mod cli;

use std::time::Instant;

use cli::{ArgError, Args};
use manifold_robustness::nalgebra;

const USAGE: &str = "usage: spiked_pipeline [--dim D] [--rank K]\n  \
    --dim D     dimension, at least 2 (default 1000000)\n  \
    --rank K    number of leading directions, 1 ≤ K < D (default 32)\n  \
    -h, --help  print this help";

fn parse_args() -> Result<(usize, usize), ArgError> {
    let (mut d, mut k) = (1_000_000usize, 32usize);
    let mut args = Args::from_env();
    while let Some(flag) = args.flag()? {
        match flag.as_str() {
            "--dim" => {
                d = args.value("--dim", |d: &usize| {
                    if *d >= 2 {
                        Ok(())
                    } else {
                        Err("the dimension is at least 2".into())
                    }
                })?
            }
            "--rank" => {
                k = args.value("--rank", |k: &usize| {
                    if *k >= 1 {
                        Ok(())
                    } else {
                        Err("the rank is at least 1".into())
                    }
                })?
            }
            other => return Err(cli::unknown(other)),
        }
    }
    if k >= d {
        return Err(ArgError::Invalid(format!(
            "--rank {k} must be below --dim {d}"
        )));
    }
    Ok((d, k))
}

fn main() -> manifold_robustness::Result<()> {
    let (d, k) = cli::settings_or_exit(USAGE, parse_args());
    let start = Instant::now();
    let inputs = pipelines::spiked_inputs(d, k, 32);
    println!(
        "inputs (d = {d}, k = {k}, 32 points) built in {:.2?}",
        start.elapsed()
    );
    let start = Instant::now();
    let outcome = pipelines::spiked_pipeline(
        inputs.basis,
        inputs.variances,
        inputs.noise,
        &inputs.mu,
        &inputs.points,
        &inputs.labels,
    )?;
    println!("pipeline ran in {:.2?}", start.elapsed());
    println!(
        "Bayes error {:.6}, {} of 32 points flipped by ℓ2, robust error at the middle budget: ℓ2 {:.4}, generative {:.4}",
        outcome.bayes_error, outcome.flipped, outcome.l2_curve[50], outcome.generative_curve[50]
    );
    Ok(())
}
