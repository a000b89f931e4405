//! The multi-class robust error's orthant probabilities on the embedded
//! digits: for K = 3, 5, 10 classes (digits `0..K`), the K exceedance
//! probabilities of dimension K − 1, at ℓ2 budgets ε = 0 and ε = 1, to
//! absolute error 1e-6 and 1e-7 (99% confidence).
//!
//! Run with `cargo bench --bench orthant`; before the timings it prints each
//! robust error with its error bound and what plain Monte Carlo would need
//! for the same accuracy. `ORTHANT_WRITE_INPUTS=1 cargo bench --bench
//! orthant` also rewrites `benches/reference/orthant_digits.csv`, the inputs
//! the scipy side (`benches/reference/orthant_reference.py`) reads; without
//! it, the bench checks that the committed file holds the same inputs.

#[path = "support/digits_margins.rs"]
mod digits_margins;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use digits_margins::{CSV_HEADER, ClassProblem, problems, to_csv};
use manifold_robustness::nalgebra::DVector;
use manifold_robustness::normal::{self, OrthantOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

const CLASSES: [usize; 3] = [3, 5, 10];
const EPSILONS: [f64; 2] = [0.0, 1.0];
const ACCURACIES: [f64; 2] = [1e-6, 1e-7];
const INPUTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/reference/orthant_digits.csv"
);

fn all_problems() -> Vec<Vec<ClassProblem>> {
    CLASSES
        .iter()
        .flat_map(|&k| EPSILONS.iter().map(move |&e| problems(k, e)))
        .collect()
}

/// The robust error `Σ_y π_y P(exceedance_y)` with the sum of the bounds
/// (which holds with confidence at least 1 − K(1 − 0.99) by the union bound).
fn robust_error(problems: &[ClassProblem], options: &OrthantOptions) -> (f64, f64) {
    problems.iter().fold((0.0, 0.0), |(v, b), p| {
        let e = normal::exceedance_probability(&p.covariance, &p.thresholds, options).unwrap();
        (v + p.prior * e.value(), b + p.prior * e.error_bound())
    })
}

/// Seconds per plain Monte Carlo sample of the K − 1 margins (Cholesky
/// factor times a standard normal vector, and the test).
fn monte_carlo_seconds_per_sample(problems: &[ClassProblem]) -> f64 {
    let mut rng = StdRng::seed_from_u64(1);
    let factors: Vec<_> = problems
        .iter()
        .map(|p| p.covariance.clone().cholesky().map(|c| c.l()))
        .collect();
    let samples = 200_000;
    let start = Instant::now();
    let mut hits = 0u64;
    for s in 0..samples {
        let which = s % problems.len();
        let p = &problems[which];
        let Some(l) = &factors[which] else { continue };
        let z = DVector::from_fn(p.thresholds.len(), |_, _| {
            rng.sample::<f64, _>(StandardNormal)
        });
        let x = l * z;
        hits += x.iter().zip(p.thresholds.iter()).any(|(a, b)| a > b) as u64;
    }
    black_box(hits);
    start.elapsed().as_secs_f64() / samples as f64
}

fn report() {
    let all = all_problems();
    let text: String = std::iter::once(CSV_HEADER.to_owned())
        .chain(all.iter().map(|p| to_csv(p)))
        .collect();
    if std::env::var_os("ORTHANT_WRITE_INPUTS").is_some() {
        std::fs::write(INPUTS, &text).expect("write the inputs");
        println!("wrote {INPUTS}");
    } else {
        // The committed inputs must be the ones benchmarked here.
        let committed = std::fs::read_to_string(INPUTS).unwrap_or_default();
        assert!(
            committed == text,
            "{INPUTS} is stale: rerun with ORTHANT_WRITE_INPUTS=1"
        );
    }
    // z for a two-sided 99% interval, for plain Monte Carlo's sample size.
    let z = 2.575_829_303_548_901;
    println!("K  eps  target  robust error  bound  time(single run)  plain MC samples / est. time");
    for problems in &all {
        let mc_seconds = monte_carlo_seconds_per_sample(problems);
        for &accuracy in &ACCURACIES {
            let options = OrthantOptions::default().with_absolute_error(accuracy);
            let start = Instant::now();
            let (value, bound) = robust_error(problems, &options);
            let elapsed = start.elapsed().as_secs_f64();
            let samples = (z / accuracy).powi(2) * value * (1.0 - value);
            println!(
                "{:2} {:4} {:7.0e} {:.10} {:.2e} {:8.2} ms   {:.2e} samples ≈ {:.1e} s",
                problems[0].classes,
                problems[0].epsilon,
                accuracy,
                value,
                bound,
                elapsed * 1e3,
                samples,
                samples * mc_seconds
            );
        }
    }
}

fn bench(c: &mut Criterion) {
    report();
    let all = all_problems();
    let mut group = c.benchmark_group("orthant");
    group.sample_size(10);
    for problems in &all {
        for &accuracy in &ACCURACIES {
            let options = OrthantOptions::default().with_absolute_error(accuracy);
            let name = format!(
                "robust_error_k{}_eps{}_{:.0e}",
                problems[0].classes, problems[0].epsilon, accuracy
            );
            group.bench_function(name, |b| {
                b.iter(|| robust_error(black_box(problems), &options))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
