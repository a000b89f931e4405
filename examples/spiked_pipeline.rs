//! The spiked pipeline at scale, for peak-memory measurement:
//! `d = 1,000,000`, `k = 32` by default (`--dim D --rank K` to change).
//!
//! Its inputs alone (the d×k basis and 32 points) are 512 MB; the pipeline
//! moves the basis into the covariance and never copies it or the points.
//! Measure with `/usr/bin/time -v target/release/examples/spiked_pipeline`.

#[path = "../benches/support/pipelines.rs"]
mod pipelines;

use std::time::Instant;

fn main() -> manifold_robustness::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value_of = |flag: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let d = value_of("--dim", 1_000_000);
    let k = value_of("--rank", 32);
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
