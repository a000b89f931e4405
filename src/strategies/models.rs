//! Vectors and two-class models.

use std::ops::RangeInclusive;

use nalgebra::DVector;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::covariances::{Spectra, covariance};
use crate::covariance::Covariance;
use crate::gmm::Gmm;
use crate::training::distance_for_error;

/// How models are drawn: their covariances ([`Spectra`]), an optional
/// Bayes-error range and, for general models, a prior range (module docs,
/// Models).
///
/// # Example
/// ```
/// use manifold_robustness::strategies::Models;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let models = Models::new().prior(0.2..=0.3).bayes_error(0.05..=0.05).general();
/// let gmm = models.new_tree(&mut TestRunner::deterministic()).unwrap().current();
/// assert!((0.2..=0.3).contains(&gmm.prior_pos()));
/// assert!((gmm.bayes_error() - 0.05).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Models {
    spectra: Spectra,
    bayes_error: Option<RangeInclusive<f64>>,
    prior: RangeInclusive<f64>,
}

impl Default for Models {
    fn default() -> Self {
        Models::new()
    }
}

impl Models {
    /// The defaults: [`Spectra::new`], mean entries in `[−2, 2]` (no
    /// Bayes-error range), priors in `[0.1, 0.9]` for general models.
    pub fn new() -> Models {
        Models {
            spectra: Spectra::new(),
            bayes_error: None,
            prior: 0.1..=0.9,
        }
    }

    /// The covariances' spectra.
    pub fn spectra(mut self, spectra: Spectra) -> Models {
        self.spectra = spectra;
        self
    }

    /// Bayes errors drawn uniformly from `range`: the drawn mean
    /// difference is rescaled to reach the draw.
    ///
    /// # Panics
    /// Unless `0 < start ≤ end < 1/2`.
    pub fn bayes_error(mut self, range: RangeInclusive<f64>) -> Models {
        assert!(
            *range.start() > 0.0 && range.start() <= range.end() && *range.end() < 0.5,
            "Models::bayes_error: need 0 < start ≤ end < 1/2, got {range:?}"
        );
        self.bayes_error = Some(range);
        self
    }

    /// Priors `π = P(y = +1)` drawn uniformly from `range` (general models).
    ///
    /// # Panics
    /// Unless `0 < start ≤ end < 1`.
    pub fn prior(mut self, range: RangeInclusive<f64>) -> Models {
        assert!(
            *range.start() > 0.0 && range.start() <= range.end() && *range.end() < 1.0,
            "Models::prior: need 0 < start ≤ end < 1, got {range:?}"
        );
        self.prior = range;
        self
    }

    /// Symmetric models `±μ`, prior 1/2.
    pub fn symmetric(&self) -> BoxedStrategy<Gmm> {
        let bayes = self.bayes_error.clone();
        self.spectra
            .any()
            .prop_flat_map(move |cov| {
                let d = cov.dim();
                (vector(d), target(&bayes)).prop_map(move |(mu, tau)| {
                    let mu = scaled_to_bayes_error(&cov, mu, tau, 0.5);
                    Gmm::symmetric(mu, cov.clone()).expect("valid model by construction")
                })
            })
            .boxed()
    }

    /// General models: center `c` with entries in `[−2, 2]`, half-difference
    /// `μ` as for [`Models::symmetric`], prior from the prior range.
    ///
    /// # Panics
    /// When a Bayes-error range is set that some prior of the range cannot
    /// reach (the Bayes error is below `min(π, 1 − π)`).
    pub fn general(&self) -> BoxedStrategy<Gmm> {
        let bayes = self.bayes_error.clone();
        let prior = self.prior.clone();
        if let Some(range) = &bayes {
            let minority = prior.start().min(1.0 - prior.end());
            assert!(
                *range.end() < minority,
                "Models::general: Bayes errors up to {} need priors within ({}, {}), got {prior:?}",
                range.end(),
                range.end(),
                1.0 - range.end()
            );
        }
        self.spectra
            .any()
            .prop_flat_map(move |cov| {
                let d = cov.dim();
                (vector(d), vector(d), prior.clone(), target(&bayes)).prop_map(
                    move |(mu, c, p, tau)| {
                        let mu = scaled_to_bayes_error(&cov, mu, tau, p);
                        Gmm::new(&c + &mu, &c - &mu, cov.clone(), p)
                            .expect("valid model by construction")
                    },
                )
            })
            .boxed()
    }
}

/// A Bayes-error target (or none).
fn target(range: &Option<RangeInclusive<f64>>) -> BoxedStrategy<Option<f64>> {
    match range {
        Some(range) => range.clone().prop_map(Some).boxed(),
        None => Just(None).boxed(),
    }
}

/// `μ` rescaled so the model's Bayes error is `tau` (unchanged for `None`).
fn scaled_to_bayes_error(
    cov: &Covariance,
    mu: DVector<f64>,
    tau: Option<f64>,
    prior: f64,
) -> DVector<f64> {
    let Some(tau) = tau else { return mu };
    let distance = distance_for_error(tau, prior).expect("0 < τ < min(π, 1 − π)");
    let current = cov
        .inverse_quadratic_form(&mu)
        .expect("finite mean of the covariance's dimension")
        .sqrt();
    mu * (distance / current)
}

/// A vector with entries in `[−2, 2]` and norm at least `0.1`.
pub fn vector(d: usize) -> BoxedStrategy<DVector<f64>> {
    prop::collection::vec(-2.0f64..2.0, d)
        .prop_filter("not too small", |v| {
            v.iter().map(|x| x * x).sum::<f64>() > 0.01
        })
        .prop_map(DVector::from_vec)
        .boxed()
}

/// A symmetric model `±μ` with any covariance representation (the
/// default [`Models`]).
pub fn symmetric_model() -> BoxedStrategy<Gmm> {
    Models::new().symmetric()
}

/// A general model: two means with entries in `[−2, 2]` at least `0.1`
/// apart and a prior in `[0.1, 0.9]`.
pub fn general_model() -> BoxedStrategy<Gmm> {
    covariance()
        .prop_flat_map(|cov| {
            let d = cov.dim();
            (vector(d), vector(d), 0.1f64..0.9)
                .prop_filter("distinct means", |(a, b, _)| (a - b).norm() > 0.1)
                .prop_map(move |(a, b, p)| {
                    Gmm::new(a, b, cov.clone(), p).expect("valid model by construction")
                })
        })
        .boxed()
}

/// A symmetric model together with a weight vector of its dimension.
pub fn model_and_weights() -> BoxedStrategy<(Gmm, DVector<f64>)> {
    symmetric_model()
        .prop_flat_map(|gmm| {
            let d = gmm.dim();
            vector(d).prop_map(move |w| (gmm.clone(), w))
        })
        .boxed()
}

/// A general model with uncentered means: center `c` with entries in
/// `[−5, 5]`, half-difference `μ` with entries in `[−2, 2]` (norm ≥ 0.1),
/// prior in `[0.05, 0.95]`, any covariance representation. Every entry of
/// `c` and `μ` is a multiple of 1/64, so `μ₊ = c + μ`, `μ₋ = c − μ`, their
/// half-difference and any translation by a vector of [`shift`] are exact
/// in floating point: the model's `μ` is exactly the one drawn.
pub fn uncentered_model() -> BoxedStrategy<Gmm> {
    covariance()
        .prop_flat_map(|cov| {
            let d = cov.dim();
            (dyadic_vector(d, 128), dyadic_vector(d, 320), 0.05f64..0.95)
                .prop_filter("μ not too small", |(mu, _, _)| mu.norm() > 0.1)
                .prop_map(move |(mu, c, p)| {
                    Gmm::new(&c + &mu, &c - &mu, cov.clone(), p)
                        .expect("valid model by construction")
                })
        })
        .boxed()
}

/// A translation with entries in `[−5, 5]`, multiples of 1/64 (exact when
/// added to the means of [`uncentered_model`]).
pub fn shift(d: usize) -> BoxedStrategy<DVector<f64>> {
    dyadic_vector(d, 320)
}

/// Entries `k/64` with `|k| ≤ max`.
fn dyadic_vector(d: usize, max: i32) -> BoxedStrategy<DVector<f64>> {
    prop::collection::vec(-max..=max, d)
        .prop_map(|k| DVector::from_iterator(k.len(), k.iter().map(|&k| f64::from(k) / 64.0)))
        .boxed()
}
