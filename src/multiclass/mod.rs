//! Multi-class models: `K ≥ 2` Gaussian classes with a shared covariance,
//! linear classifiers `argmax_k (w_kᵀx + b_k)`, their exact minimal attacks
//! and their robust error ([THEORY §12](crate::theory#12-multi-class-models)).
//!
//! - [`MulticlassGmm`]: `x | y = k ~ N(μ_k, Σ)`, priors `π_k`; fitted from
//!   labeled data with the two-class [`Fit`](crate::Fit)s; its
//!   [Bayes classifier](MulticlassGmm::bayes_classifier) `w_k = Σ⁻¹μ_k`,
//!   `b_k = −½μ_kᵀΣ⁻¹μ_k + ln π_k` ([M1](crate::theory#m1-the-bayes-rule)).
//! - [`MulticlassClassifier`]: `K × d` weights and `K` biases.
//! - Exact attacks ([M2](crate::theory#m2-the-exact-attack-is-the-nearest-facet)):
//!   the nearest facet `t* = min_{j≠y} (s_y(x) − s_j(x))/σ_K(w_y − w_j)`,
//!   the class it flips to, ties, and the latent step of model-based
//!   threats — [`minimal_perturbation`], [`minimal_perturbations`],
//!   [`FacetAttacks`] (gauges prepared once, `O(Kd)` per attack).
//! - Standard and robust error ([M3](crate::theory#m3-robust-error-as-gaussian-orthant-probabilities)):
//!   a sum over classes of `(K − 1)`-dimensional Gaussian exceedance
//!   probabilities, exact for `K ≤ 3`, with a reported error bound beyond
//!   ([`MulticlassGmm::robust_error`], [`robust`]).
//! - Claim 1 per facet ([M4](crate::theory#m4-disentangling-facet-by-facet)):
//!   [`attack_energy_summary`].
//! - Samples ([M5](crate::theory#m5-monte-carlo-with-k-classes)):
//!   [`empirical_robust_error`].
//!
//! With `K = 2` everything reduces to the two-class crate:
//! `MulticlassGmm::from(&gmm)` and [`MulticlassClassifier::from_two_class`]
//! give the same attacks and errors (class `0` is `Label::Neg`).
//!
//! # Example
//! ```
//! use manifold_robustness::{Covariance, MulticlassGmm, Threat};
//! use manifold_robustness::multiclass;
//! use manifold_robustness::nalgebra::DVector;
//!
//! let means = vec![
//!     DVector::from_vec(vec![2.0, 0.0, 0.0]),
//!     DVector::from_vec(vec![0.0, 2.0, 0.0]),
//!     DVector::from_vec(vec![0.0, 0.0, 2.0]),
//! ];
//! let m = MulticlassGmm::new(means, Covariance::isotropic(3, 1.0)?, DVector::from_element(3, 1.0 / 3.0))?;
//! let clf = m.bayes_classifier();
//! let flip = multiclass::minimal_perturbation(&clf, &Threat::l2(), m.mean(0), 0)?;
//! // The mean of class 0 is √2 from each of its two facets; ties are reported.
//! assert!((flip.budget() - 2f64.sqrt()).abs() < 1e-14);
//! let error = m.error(&clf)?;
//! let robust = m.robust_error(&clf, &Threat::l2(), 0.5)?;
//! assert!(error.is_exact() && robust.value() > error.value());
//! # Ok::<(), manifold_robustness::Error>(())
//! ```

pub mod attacks;
pub mod classifier;
pub mod disentangle;
pub mod empirical;
pub mod model;
pub mod robust;

pub use attacks::{
    BatchAttack, FacetAttacks, Perturbation, TIE_TOLERANCE, minimal_perturbation,
    minimal_perturbation_with, minimal_perturbations, minimal_perturbations_with,
};
pub use classifier::MulticlassClassifier;
pub use disentangle::{FacetEnergySummary, MulticlassEnergySummary, attack_energy_summary};
pub use empirical::empirical_robust_error;
pub use model::{MulticlassGmm, PRIOR_SUM_TOLERANCE};
