//! The performance comparison's Rust side: every job of
//! `benches/reference/reference.py`, under the same names, in the criterion
//! group `perf`. `benches/compare.sh` runs both sides and prints the ratios.
//!
//! Run alone with `cargo bench --bench perf -- --warm-up-time 1 --measurement-time 3`
//! (add a job name to filter, e.g. `sweep_l2_1024`).

#[path = "support/pipelines.rs"]
mod pipelines;
#[allow(dead_code)] // the pipelines draw their bases from its generator
#[path = "../src/seeded.rs"]
mod seeded;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use manifold_robustness::default_model::power_law_model;
use manifold_robustness::nalgebra::{self, DMatrix, DVector};
use manifold_robustness::{
    Covariance, Label, LinearClassifier, Threat, empirical, minimal_perturbations,
};
use pipelines::{dense_inputs, dense_pipeline, interior_budgets, spiked_inputs, spiked_pipeline};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// Dense covariance construction: validation, symmetrization and the
/// eigendecomposition (faer), sorted descending.
fn covariance_jobs(c: &mut Criterion) {
    let mut group = c.benchmark_group("perf");
    group.sample_size(10);
    for d in [256usize, 1024, 3072] {
        let (sigma, _) = dense_inputs(d);
        group.bench_function(format!("cov_dense_{d}"), |b| {
            b.iter_batched(
                || sigma.clone(),
                |s| Covariance::dense(s).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// Batch minimal perturbations for n = 100,000 points in d = 784, against
/// one dense matrix–vector pass over the same data.
fn attack_jobs(c: &mut Criterion) {
    let (n, d) = (100_000usize, 784usize);
    let mut rng = StdRng::seed_from_u64(3);
    let xs = DMatrix::from_fn(n, d, |_, _| rng.sample::<f64, _>(StandardNormal));
    let ys: Vec<Label> = (0..n)
        .map(|_| {
            if rng.random::<bool>() {
                Label::Pos
            } else {
                Label::Neg
            }
        })
        .collect();
    let w = DVector::from_fn(d, |_, _| rng.sample::<f64, _>(StandardNormal));
    let clf = LinearClassifier::new(w.clone(), 0.1).unwrap();
    let model = power_law_model(d, 1.5, 0.01, 7).unwrap();
    let mut group = c.benchmark_group("perf");
    group.sample_size(20);
    // The achievable read bandwidth: a STREAM-like sum over the same data
    // (eight partial sums per piece, pieces on every core, no writes).
    group.bench_function("read_bandwidth_100000x784", |b| {
        b.iter(|| read_sum(black_box(xs.as_slice())))
    });
    // One pass of the crate's own matrix–vector kernel (the scores Xw + b).
    group.bench_function("matvec_100000x784", |b| {
        b.iter(|| clf.scores(black_box(&xs)).unwrap())
    });
    let threats = [
        ("attack_l2_784", Threat::l2()),
        ("attack_linf_784", Threat::linf()),
        (
            "attack_generative_784",
            Threat::generative(model.covariance()),
        ),
    ];
    for (name, threat) in &threats {
        group.bench_function(*name, |b| {
            b.iter(|| minimal_perturbations(&clf, threat, black_box(&xs), &ys).unwrap())
        });
    }
    group.finish();
}

/// The sum of the entries, read once on every thread of rayon's pool.
fn read_sum(data: &[f64]) -> f64 {
    use rayon::prelude::*;
    data.par_chunks(1 << 16)
        .map(|piece| {
            let mut lanes = [0.0f64; 8];
            for chunk in piece.chunks_exact(8) {
                for (lane, v) in lanes.iter_mut().zip(chunk) {
                    *lane += v;
                }
            }
            lanes.iter().sum::<f64>()
        })
        .sum()
}

/// Robust-error curves: 1,000 budgets after the decomposition for ℓ2 and
/// generative at d = 1024; 20 certified ℓ∞ optima at d = 256.
fn sweep_jobs(c: &mut Criterion) {
    let mut group = c.benchmark_group("perf");
    let gmm = power_law_model(1024, 1.5, 0.01, 7).unwrap();
    let l2 = Threat::l2();
    let l2_budgets = interior_budgets(gmm.half_difference().norm(), 1000);
    group.bench_function("sweep_l2_1024", |b| {
        b.iter(|| gmm.robust_sweep(&l2, black_box(&l2_budgets)).unwrap())
    });
    let generative = Threat::generative(gmm.covariance());
    let generative_budgets = interior_budgets(gmm.separation() / 2.0, 1000);
    group.bench_function("sweep_generative_1024", |b| {
        b.iter(|| {
            gmm.robust_sweep(&generative, black_box(&generative_budgets))
                .unwrap()
        })
    });
    let small = power_law_model(256, 1.5, 0.01, 7).unwrap();
    let linf = Threat::linf();
    let linf_budgets = interior_budgets(small.half_difference().amax(), 20);
    group.sample_size(10);
    group.bench_function("sweep_linf_256", |b| {
        b.iter(|| small.robust_sweep(&linf, black_box(&linf_budgets)).unwrap())
    });
    group.finish();
}

/// The spiked pipeline at d = 10⁴, 10⁵, 10⁶ (k = 32), and the dense
/// pipeline at d = 128 … 4096, for the cost-growth exponents.
fn pipeline_jobs(c: &mut Criterion) {
    let mut group = c.benchmark_group("perf");
    group.sample_size(10);
    for d in [10_000usize, 100_000, 1_000_000] {
        let inputs = spiked_inputs(d, 32, 32);
        group.bench_function(format!("spiked_pipeline_{d}_32"), |b| {
            b.iter_batched(
                || inputs.basis.clone(),
                |basis| {
                    spiked_pipeline(
                        basis,
                        inputs.variances.clone(),
                        inputs.noise,
                        &inputs.mu,
                        &inputs.points,
                        &inputs.labels,
                    )
                    .unwrap()
                },
                BatchSize::LargeInput,
            )
        });
    }
    for d in [128usize, 256, 512, 1024, 2048, 4096] {
        let (sigma, mu) = dense_inputs(d);
        group.bench_function(format!("dense_pipeline_{d}"), |b| {
            b.iter_batched(
                || sigma.clone(),
                |s| dense_pipeline(s, &mu).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// Monte Carlo robust error: sample 1,000,000 points in d = 64, then count
/// the margins below ε σ_K(w) (ℓ2, ε = ‖μ‖/10).
fn monte_carlo_job(c: &mut Criterion) {
    let mut group = c.benchmark_group("perf");
    group.sample_size(10);
    let gmm = power_law_model(64, 1.5, 0.01, 7).unwrap();
    let clf = gmm.bayes_classifier();
    let eps = 0.1 * gmm.half_difference().norm();
    let threat = Threat::l2();
    group.bench_function("monte_carlo_1000000_64", |b| {
        b.iter(|| {
            let (xs, ys) = gmm.sample(1_000_000, &mut StdRng::seed_from_u64(5));
            empirical::robust_error(&clf, &threat, eps, &xs, &ys).unwrap()
        })
    });
    group.finish();
}

criterion_group!(
    perf,
    covariance_jobs,
    attack_jobs,
    sweep_jobs,
    pipeline_jobs,
    monte_carlo_job
);
criterion_main!(perf);
