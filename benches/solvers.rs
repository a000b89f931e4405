//! Benchmarks of the adversarial-training solvers (THEORY §7), through the
//! public API only.
//!
//! * `l2_sweep/dense_d1024_1000_budgets`: a 1,000-budget ℓ2 robust-error
//!   curve on a dense `d = 1024` model, after the covariance's own
//!   decomposition (done once, outside the timing). Includes preparing the
//!   problem (one `O(d²)` eigen-coordinate transform of `μ`), measured alone
//!   by `l2_sweep/dense_d1024_prepare_one_budget`.
//! * `l2_sweep/spiked_d100000_k10_1000_budgets`: the same on a spiked model,
//!   where a budget costs `O(k)`.
//! * `dual/linf_d256`, `dual/union_d256`: one ℓ∞ and one union optimum at
//!   `d = 256`; skipped with a note while the dual solver is unsupported.
//! * `projections/*`: optima whose dual solver projects onto the crate's
//!   other balls, at `d = 64`: `l2_generative_union_d64` and
//!   `ellipsoid_linf_union_d64` project onto unions of ellipsoids (the
//!   secular equation shared with the closed-form optimum),
//!   `lp3_d64` onto the ℓ3 ball (the safeguarded Newton of `roots`).
//! * `quantiles/adversarial_distance_99_levels_d256`: 99 quantiles of the
//!   adversarial distance of a fixed classifier on a model with unequal
//!   priors, each the safeguarded Newton search of `robust.rs`.
//!
//! Run with `cargo bench --bench solvers -- --warm-up-time 1 --measurement-time 3`.

#[path = "../src/seeded.rs"]
mod seeded;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use manifold_robustness::default_model::power_law_model;
use manifold_robustness::nalgebra::{self, DMatrix, DVector};
use manifold_robustness::{Covariance, Error, Gmm, LinearClassifier, Threat};
use seeded::seeded_rotation;

fn budgets(limit: f64, n: usize) -> Vec<f64> {
    (1..=n).map(|i| limit * i as f64 / (n + 1) as f64).collect()
}

fn l2_sweeps(c: &mut Criterion) {
    let mut group = c.benchmark_group("l2_sweep");
    let gmm = power_law_model(1024, 1.5, 0.01, 7).expect("valid model");
    let threat = Threat::l2();
    let limit = gmm.half_difference().norm();
    let grid = budgets(limit, 1000);
    group.bench_function("dense_d1024_1000_budgets", |b| {
        b.iter(|| gmm.robust_sweep(&threat, black_box(&grid)).unwrap())
    });
    group.bench_function("dense_d1024_prepare_one_budget", |b| {
        b.iter(|| {
            gmm.robust_sweep(&threat, black_box(&grid[500..501]))
                .unwrap()
        })
    });

    let (d, k) = (100_000, 10);
    let q = seeded_rotation(k, 5);
    // An orthonormal d × k basis: k disjoint blocks of coordinates, rotated.
    let block = d / k;
    let scale = 1.0 / (block as f64).sqrt();
    let raw = DMatrix::from_fn(d, k, |i, j| if i / block == j { scale } else { 0.0 });
    let basis = raw * q;
    let variances = DVector::from_fn(k, |i, _| 10.0 / (i + 1) as f64);
    let cov = Covariance::spiked(basis, variances, 0.05).expect("valid spiked covariance");
    let mu = DVector::from_fn(d, |i, _| ((i % 13) as f64 - 6.0) * 1e-3);
    let spiked = Gmm::symmetric(mu, cov).expect("valid model");
    let grid = budgets(spiked.half_difference().norm(), 1000);
    group.bench_function("spiked_d100000_k10_1000_budgets", |b| {
        b.iter(|| spiked.robust_sweep(&threat, black_box(&grid)).unwrap())
    });
    group.finish();
}

fn dual_optima(c: &mut Criterion) {
    let mut group = c.benchmark_group("dual");
    group.sample_size(10);
    let d = 256;
    let gmm = power_law_model(d, 1.5, 0.01, 7).expect("valid model");
    let mu = gmm.half_difference();
    let cases = [
        ("linf_d256", Threat::linf(), 0.5 * mu.amax()),
        (
            "union_d256",
            Threat::union(vec![
                (Threat::l2(), 1.0),
                (Threat::linf(), 1.0 / (d as f64).sqrt()),
            ])
            .expect("valid union"),
            0.3 * mu.norm(),
        ),
    ];
    for (name, threat, eps) in cases {
        match gmm.robust_optimum(&threat, eps) {
            Ok(_) => {
                group.bench_function(name, |b| {
                    b.iter(|| gmm.robust_optimum(&threat, black_box(eps)).unwrap())
                });
            }
            Err(Error::Unsupported(why)) => {
                println!("dual/{name}: skipped, the solver says: {why}");
            }
            Err(e) => panic!("dual/{name}: {e}"),
        }
    }
    group.finish();
}

fn projections(c: &mut Criterion) {
    let mut group = c.benchmark_group("projections");
    group.sample_size(10);
    let d = 64;
    let gmm = power_law_model(d, 1.5, 0.01, 7).expect("valid model");
    let mu = gmm.half_difference();
    // A full-rank factor with a spread of scales: the ellipsoid {A u : ‖u‖ ≤ 1}.
    let rotation = seeded_rotation(d, 11);
    let factor = DMatrix::from_fn(d, d, |i, j| rotation[(i, j)] / (1.0 + j as f64).sqrt());
    let cases = [
        (
            "l2_generative_union_d64",
            Threat::union(vec![
                (Threat::l2(), 1.0),
                (Threat::generative(gmm.covariance()), 1.0),
            ])
            .expect("valid union"),
            0.3 * mu.norm(),
        ),
        (
            "ellipsoid_linf_union_d64",
            Threat::union(vec![
                (Threat::ellipsoid(factor).expect("valid factor"), 1.0),
                (Threat::linf(), 1.0 / (d as f64).sqrt()),
            ])
            .expect("valid union"),
            0.3 * mu.norm(),
        ),
        (
            "lp3_d64",
            Threat::lp(3.0).expect("valid exponent"),
            0.3 * mu.norm(),
        ),
    ];
    for (name, threat, eps) in cases {
        gmm.robust_optimum(&threat, eps)
            .unwrap_or_else(|e| panic!("projections/{name}: {e}"));
        group.bench_function(name, |b| {
            b.iter(|| gmm.robust_optimum(&threat, black_box(eps)).unwrap())
        });
    }
    group.finish();
}

fn quantiles(c: &mut Criterion) {
    let mut group = c.benchmark_group("quantiles");
    let d = 256;
    let base = power_law_model(d, 1.5, 0.01, 7).expect("valid model");
    let mu = base.half_difference();
    // Unequal priors and a classifier that is not the Bayes rule: the two
    // class margins differ, so every quantile is a genuine search.
    let gmm = Gmm::new(mu.clone(), -mu, base.covariance().clone(), 0.3).expect("valid model");
    let clf = gmm.bayes_classifier();
    let weights = clf.weights().map(|w| w + 0.1 * w.abs());
    let clf = LinearClassifier::new(weights, clf.bias() + 0.2).expect("valid classifier");
    let threat = Threat::l2();
    let levels: Vec<f64> = (1..100).map(|i| i as f64 / 100.0).collect();
    group.bench_function("adversarial_distance_99_levels_d256", |b| {
        b.iter(|| {
            levels
                .iter()
                .map(|&p| {
                    gmm.adversarial_distance_quantile(&clf, &threat, black_box(p))
                        .unwrap()
                })
                .sum::<f64>()
        })
    });
    group.finish();
}

criterion_group!(benches, l2_sweeps, dual_optima, projections, quantiles);
criterion_main!(benches);
