//! Shared strategies and tolerances for the property tests.
//!
//! Every property test draws its random models from here, so a change of
//! distribution (dimension, spectrum spread, mean) reaches every test.
#![allow(dead_code)]

use manifold_robustness::default_model::seeded_rotation;
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::{Covariance, Gmm};
use proptest::prelude::*;

/// Tolerances, each with the reason it has its size.
pub mod tol {
    /// Identities evaluated in O(d) floating-point steps on well-conditioned
    /// data (condition number ≤ 1e4 in the strategies below): a few hundred ulps.
    pub const IDENTITY: f64 = 1e-10;
    /// Exact closed forms compared with a different evaluation order.
    pub const CLOSED_FORM: f64 = 1e-12;
    /// Standard errors for Monte Carlo comparisons (binomial / CLT).
    pub const MONTE_CARLO_SIGMAS: f64 = 5.0;
}

/// Eigenvalues spread over `[1e-2, 1e2]`, sorted descending.
pub fn spectrum(d: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-2.0f64..2.0, d).prop_map(|exps| {
        let mut v: Vec<f64> = exps.iter().map(|e| 10f64.powf(*e)).collect();
        v.sort_by(|a, b| b.total_cmp(a));
        v
    })
}

/// A dense covariance `Q diag(λ) Qᵀ` with a seeded random rotation.
pub fn dense_covariance(d: usize) -> impl Strategy<Value = Covariance> {
    (spectrum(d), any::<u64>()).prop_map(move |(values, seed)| {
        let q = seeded_rotation(d, seed);
        let scaled = DMatrix::from_fn(d, d, |i, j| q[(i, j)] * values[j]);
        let sigma = &scaled * q.transpose();
        Covariance::dense((&sigma + sigma.transpose()) * 0.5)
            .expect("well-conditioned by construction")
    })
}

/// A diagonal covariance with spread variances in random axis order.
pub fn diagonal_covariance(d: usize) -> impl Strategy<Value = Covariance> {
    prop::collection::vec(-2.0f64..2.0, d).prop_map(|exps| {
        Covariance::diagonal(DVector::from_iterator(
            exps.len(),
            exps.iter().map(|e| 10f64.powf(*e)),
        ))
        .unwrap()
    })
}

/// A spiked covariance of rank `1 ≤ k < d` with a random basis.
pub fn spiked_covariance(d: usize) -> impl Strategy<Value = Covariance> {
    (1..d, spectrum(d), any::<u64>()).prop_map(move |(k, values, seed)| {
        let q = seeded_rotation(d, seed);
        let basis = q.columns(0, k).into_owned();
        // values are descending; the noise sits strictly below the k-th.
        let noise = values[k] * 0.5 + values[d - 1] * 0.25;
        let noise = noise.min(values[k - 1] * 0.5);
        Covariance::spiked(basis, DVector::from_vec(values[..k].to_vec()), noise).unwrap()
    })
}

/// Any of the three representations, dimension 2..=8.
pub fn covariance() -> impl Strategy<Value = Covariance> {
    (2usize..=8).prop_flat_map(|d| {
        prop_oneof![
            dense_covariance(d),
            diagonal_covariance(d),
            spiked_covariance(d.max(3))
        ]
    })
}

/// A vector with entries in `[-2, 2]` and norm at least `0.1`.
pub fn vector(d: usize) -> impl Strategy<Value = DVector<f64>> {
    prop::collection::vec(-2.0f64..2.0, d)
        .prop_filter("not too small", |v| {
            v.iter().map(|x| x * x).sum::<f64>() > 0.01
        })
        .prop_map(DVector::from_vec)
}

/// A symmetric model `±μ` with any covariance representation.
pub fn symmetric_model() -> impl Strategy<Value = Gmm> {
    covariance().prop_flat_map(|cov| {
        let d = cov.dim();
        vector(d).prop_map(move |mu| Gmm::symmetric(mu, cov.clone()).unwrap())
    })
}

/// A general model: two means and a prior in `[0.1, 0.9]`.
pub fn general_model() -> impl Strategy<Value = Gmm> {
    covariance().prop_flat_map(|cov| {
        let d = cov.dim();
        (vector(d), vector(d), 0.1f64..0.9)
            .prop_filter("distinct means", |(a, b, _)| (a - b).norm() > 0.1)
            .prop_map(move |(a, b, p)| Gmm::new(a, b, cov.clone(), p).unwrap())
    })
}

/// A model together with a random classifier weight vector of its dimension.
pub fn model_and_weights() -> impl Strategy<Value = (Gmm, DVector<f64>)> {
    symmetric_model().prop_flat_map(|gmm| {
        let d = gmm.dim();
        vector(d).prop_map(move |w| (gmm.clone(), w))
    })
}

/// Relative difference `|a − b| / max(|a|, |b|, floor)`.
pub fn rel_diff(a: f64, b: f64, floor: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(floor)
}
