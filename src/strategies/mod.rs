//! [proptest](https://docs.rs/proptest) strategies for models, threats,
//! budgets and points (feature `proptest`), to property-test claims about
//! Gaussian mixtures the way this crate tests its own propositions.
//!
//! | what | strategies |
//! |---|---|
//! | eigenvalues | [`Spectra::eigenvalues`], [`spectrum`] |
//! | covariances | [`Spectra::dense`], [`Spectra::diagonal`], [`Spectra::spiked`], [`Spectra::any`]; [`covariance`] and friends for the defaults |
//! | models | [`Models::symmetric`], [`Models::general`]; [`symmetric_model`], [`general_model`], [`uncentered_model`] |
//! | threats | [`ThreatSpec`] (every family, unions included), [`threat_spec`], [`threat`], [`covariance_and_threat`] |
//! | budgets | [`covering_budget`], [`budget`] (fractions of `ε_max` or of the covering budget), [`threat_pair`] |
//! | points | [`vector`], [`near_boundary`] |
//!
//! **Spectra.** Eigenvalues are `scale · 10^e` with exponents uniform in
//! `[−h, h)`, `h = log₁₀(condition)/2`, so the condition number
//! `λ₁/λ_d` is at most `condition` ([`Spectra::exact_condition`] pins it);
//! with [`Spectra::ties`] each eigenvalue equals the previous one with
//! probability 1/3, so top-`k` cuts inside a tie
//! ([`Error::AmbiguousEigenspace`](crate::Error::AmbiguousEigenspace)) are
//! exercised. The defaults (`d ∈ 2..=8`, condition ≤ 1e4, scale 1, no ties)
//! are the ones the crate's own tolerances ([THEORY §11](crate::theory#11-numerical-contract))
//! are stated for.
//!
//! **Models.** [`Models::bayes_error`] rescales the drawn mean difference
//! so the Bayes error is a draw from the given range: with prior `π`,
//! `‖μ‖_{Σ⁻¹} = r` solves `RE*(r) = τ` for the optimal error
//! `RE*(r) = π Φ(−r − ℓ/(2r)) + (1 − π) Φ(−r + ℓ/(2r))`, `ℓ = ln(π/(1 − π))`
//! ([THEORY P4′](crate::theory#p4-any-means-any-prior)), accurate to a few
//! ulps in `r`.
//!
//! **Budgets.** A threat's *covering budget* is the budget from which more
//! budget no longer helps the attacker of the mean: `ε_max` for an
//! ellipsoid (beyond it `r*(ε)` is constant, [THEORY §7](crate::theory#7-adversarial-training)),
//! `‖μ‖_p` for an ℓp ball (where `μ ∈ εK` and `r* = 0`), and for a union
//! the largest part's covering budget over its relative budget `ε_i`.
//!
//! Bad configurations (an empty or reversed range, a condition number
//! below 1, a Bayes-error range the prior range cannot reach) are
//! programming errors of the test: the builders panic at once with a
//! message naming the argument, as proptest's own builders do.
//!
//! # Example
//! A claim to check: the robust error of a fixed classifier never falls as
//! the budget grows.
//! ```
//! use manifold_robustness::strategies::{Models, Spectra, budget, threat};
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//!
//! // Models in 3 to 6 dimensions, condition ≤ 100, Bayes error in [1%, 10%];
//! // a threat of any family; two budgets up to 1.5 covering budgets.
//! let models = Models::new()
//!     .spectra(Spectra::new().dims(3..=6).condition(100.0))
//!     .bayes_error(0.01..=0.1)
//!     .symmetric();
//! let cases = models.prop_flat_map(|gmm| {
//!     threat(gmm.covariance()).prop_flat_map(move |t| {
//!         let eps = budget(&gmm, &t, 0.0..1.5).unwrap();
//!         (Just(gmm.clone()), Just(t), eps.clone(), eps)
//!     })
//! });
//! let config = Config { failure_persistence: None, ..Config::with_cases(32) };
//! TestRunner::new(config)
//!     .run(&cases, |(gmm, threat, a, b)| {
//!         prop_assert!((0.01 - 1e-12..=0.1 + 1e-12).contains(&gmm.bayes_error()));
//!         let clf = gmm.bayes_classifier();
//!         let (small, large) = (a.min(b), a.max(b));
//!         let re_small = gmm.robust_error(&clf, &threat, small)?;
//!         let re_large = gmm.robust_error(&clf, &threat, large)?;
//!         prop_assert!(re_small <= re_large, "{threat}: {re_small} > {re_large}");
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

mod covariances;
mod models;
mod points;
mod threats;

pub use covariances::{
    Spectra, covariance, dense_covariance, diagonal_covariance, spectrum, spiked_covariance,
};
pub use models::{
    Models, general_model, model_and_weights, shift, symmetric_model, uncentered_model, vector,
};
pub use points::near_boundary;
pub use threats::{
    ThreatSpec, budget, covariance_and_threat, covering_budget, threat, threat_pair, threat_spec,
    uncentered_model_and_threat,
};
