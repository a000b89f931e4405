//! Finite samples: Monte Carlo robust error and empirical adversarial
//! training of a linear classifier (THEORY §9, P7).
//!
//! # Robust error on samples
//!
//! A point with margin `m_j = y_j(wᵀx_j + b)` is flipped by the exact
//! minimal attack at budget `ε` iff `m_j ≤ ε σ_K(w)` (THEORY §4), so
//!
//! ```text
//! RE_ε(w, b; samples) = (1/n) #{ j : y_j (wᵀx_j + b) ≤ ε σ_K(w) }.
//! ```
//!
//! [`robust_error`] counts it exactly (one matrix–vector product, `O(n)`
//! further work). On samples of a Gaussian mixture it estimates the closed
//! form of THEORY §6 with binomial error `√(p(1 − p)/n)` (P7a).
//!
//! # Adversarial training on samples
//!
//! The inner maximisation over `δ ∈ εK` is exact for a linear model
//! (`min_{δ∈εK} y wᵀδ = −ε σ_K(w)`), so [`adversarial_training`] minimises
//! the robust logistic loss
//!
//! ```text
//! L(w, b) = (1/n) Σ_j softplus(ε σ_K(w) − y_j(wᵀx_j + b)) + (λ/2)‖w‖²,
//! softplus(t) = ln(1 + eᵗ),
//! ```
//!
//! which is convex in `(w, b)`. With `s_j = sigmoid(ε σ_K(w) − y_j(wᵀx_j + b))`
//! and `s̄ = (1/n) Σ_j s_j` its subdifferential is
//!
//! ```text
//! ∂_w L = −(1/n) Σ_j s_j y_j x_j + λ w + ε s̄ ∂σ_K(w),     ∂_b L = −(1/n) Σ_j s_j y_j,
//! ```
//!
//! where `∂σ_K(w)` is the face of `K` exposed by `w` (all of `K` at `w = 0`).
//! At `ε = 0` the loss is plain (ridge) logistic regression. THEORY P7b: on
//! samples of the symmetric model the minimiser converges in direction to
//! the population robust optimum `w*(ε)` of P4.
//!
//! ## Contract
//!
//! The solver is a deterministic full-batch L-BFGS started from the
//! class-mean difference, with OWL-QN-style handling of the kinks of `σ_K`
//! (orthants for ℓ∞, the subspace `Aᵀw = 0` for an ellipsoid `K = A·B₂`); the
//! design is in `docs/design/empirical-training.md`. A run ends in one of:
//!
//! - a classifier whose stationarity measure (the reported
//!   [`gradient_norm`](TrainingReport::gradient_norm)) is at most
//!   [`gradient_tolerance`](TrainingOptions::gradient_tolerance):
//!   the norm of the gradient in `(w, b)` where `L` is differentiable
//!   ([`Stationarity::Gradient`]), or of the minimal-norm element of `∂L`
//!   for ℓ∞ and on an ellipsoid's kink ([`Stationarity::MinimalSubgradient`]);
//! - for ℓ1 threats and unions, a classifier at which no step along the
//!   quasi-Newton direction or the negative subgradient decreases the loss
//!   beyond rounding ([`Stationarity::LossStalled`]; no subgradient certifies it);
//! - [`Error::ZeroOptimum`] when the minimiser is `w = 0` (no linear
//!   classifier beats the constant prediction);
//! - [`Error::LinearlySeparable`] when `λ = 0` and an iterate separates the
//!   samples with a positive robust margin (the loss has no minimiser; any
//!   `λ > 0` restores one);
//! - [`Error::TrainingNoConvergence`] with the state reached otherwise.
//!
//! Every accepted step decreases the loss (Armijo condition on the
//! directional derivative). Accuracy: a stationarity measure `g` bounds the
//! distance to the minimiser by `g/κ` where `κ` is the loss's strong
//! convexity modulus (of order `λ` plus the curvature of the logistic loss
//! on the data); the loss itself is accurate to `O(√n · 2⁻⁵³)` relative.
//!
//! # Example
//! ```
//! use manifold_robustness::{empirical, Label, LinearClassifier, Threat};
//! use manifold_robustness::nalgebra::{DMatrix, DVector};
//!
//! // Four points, classifier x₁ = 0: margins 2, 1, 0.5 and 3.
//! let x = DMatrix::from_row_slice(4, 2, &[2.0, 0.0, 1.0, 5.0, -0.5, 1.0, -3.0, 0.0]);
//! let y = [Label::Pos, Label::Pos, Label::Neg, Label::Neg];
//! let clf = LinearClassifier::new(DVector::from_vec(vec![1.0, 0.0]), 0.0)?;
//! // At ε = 1 the ℓ2 attack flips every margin ≤ 1.
//! assert_eq!(empirical::robust_error(&clf, &Threat::l2(), 1.0, &x, &y)?, 0.5);
//! # Ok::<(), manifold_robustness::Error>(())
//! ```

mod kinks;
mod monte_carlo;
mod objective;
mod optimizer;
#[cfg(test)]
mod tests;

use nalgebra::DMatrix;

use crate::classifier::{Label, LinearClassifier};
use crate::error::{Error, Result, ensure_budget, ensure_dim, ensure_finite};
use crate::threat::Threat;

pub use monte_carlo::robust_error;
use objective::Objective;
use optimizer::Lbfgs;

/// Number of curvature pairs the L-BFGS solver keeps.
pub const LBFGS_MEMORY: usize = 10;

/// Settings of [`adversarial_training`].
///
/// # Example
/// ```
/// use manifold_robustness::empirical::TrainingOptions;
///
/// let options = TrainingOptions { l2_penalty: 1e-3, ..TrainingOptions::default() };
/// assert_eq!(options.max_iterations, 10_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingOptions {
    /// Ridge penalty `λ ≥ 0` on the weights (not the bias): the loss gains
    /// `(λ/2)‖w‖²`. Default 0 (no regularisation).
    pub l2_penalty: f64,
    /// Stop when the stationarity measure (the Euclidean norm of the
    /// gradient in `(w, b)`, or of the minimal-norm subgradient for ℓ∞ and on
    /// the kink of an ellipsoid; see the module docs) is at most this. It is absolute: the loss is a mean, so
    /// its gradient has the scale of the features. Default `1e-8`.
    pub gradient_tolerance: f64,
    /// Iteration cap; reaching it gives [`Error::TrainingNoConvergence`].
    /// An iteration costs about two passes over the data. Default 10,000:
    /// smooth threats need tens of iterations on well-conditioned data and
    /// up to about a thousand on ill-conditioned data without a penalty
    /// (the 64 pixels of the bundled digits).
    pub max_iterations: usize,
    /// Fit the bias `b` (default `true`); otherwise `b = 0`.
    pub fit_bias: bool,
}

impl Default for TrainingOptions {
    fn default() -> Self {
        TrainingOptions {
            l2_penalty: 0.0,
            gradient_tolerance: 1e-8,
            max_iterations: 10_000,
            fit_bias: true,
        }
    }
}

/// Which stationarity measure a training run met (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stationarity {
    /// The norm of the gradient (the subgradient with `v*(w)` for
    /// non-smooth threats) is at most the tolerance.
    Gradient,
    /// The norm of the minimal-norm subgradient is at most the tolerance:
    /// for an ℓ∞ threat, and for an ellipsoidal threat whose result sits on
    /// its kink subspace `Aᵀw = 0` (so `σ_K(w) = 0`).
    MinimalSubgradient,
    /// ℓ1 threat or union: no step along the quasi-Newton direction or the
    /// negative subgradient decreases the loss beyond rounding. No
    /// subgradient certifies the point; the reported norm is that of
    /// `v*(w)`'s subgradient, which need not be small at a kink.
    LossStalled,
}

/// How a training run ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrainingReport {
    /// L-BFGS iterations taken.
    pub iterations: usize,
    /// The training loss `L(w, b)` at the result.
    pub loss: f64,
    /// The stationarity measure at the result: the norm of the gradient in
    /// `(w, b)`, of the minimal-norm subgradient for ℓ∞ and on the kink of
    /// an ellipsoid, or of the subgradient with `v*(w)` when the run
    /// stalled.
    pub gradient_norm: f64,
    /// True when the stopping criterion [`criterion`](Self::criterion) was
    /// met; a returned report always has it (otherwise the run is an
    /// [`Error::TrainingNoConvergence`]).
    pub converged: bool,
    /// The criterion that stopped the run.
    pub criterion: Stationarity,
    /// Matrix–vector products with the `n × d` data matrix.
    pub data_passes: usize,
}

/// Empirical adversarial training of a linear classifier: minimises the
/// robust logistic loss `L(w, b)` of the module docs on the samples.
///
/// `x` holds one sample per row (`n × d`), `y` their labels. At `ε = 0`
/// this is plain (ridge) logistic regression.
///
/// # Errors
/// As [`adversarial_training_with_report`].
pub fn adversarial_training(
    x: &DMatrix<f64>,
    y: &[Label],
    threat: &Threat,
    eps: f64,
    options: &TrainingOptions,
) -> Result<LinearClassifier> {
    adversarial_training_with_report(x, y, threat, eps, options).map(|(clf, _)| clf)
}

/// [`adversarial_training`] with the convergence diagnostics.
///
/// # Example
/// ```
/// use manifold_robustness::{empirical, Covariance, Gmm, Threat};
/// use manifold_robustness::empirical::{Stationarity, TrainingOptions};
/// use manifold_robustness::nalgebra::DVector;
/// use manifold_robustness::rand::{rngs::StdRng, SeedableRng};
///
/// // Σ = I, μ = (1, 0.5): the generative robust optimum is parallel to w_B.
/// let cov = Covariance::isotropic(2, 1.0)?;
/// let gmm = Gmm::symmetric(DVector::from_vec(vec![1.0, 0.5]), cov.clone())?;
/// let (x, y) = gmm.sample(5000, &mut StdRng::seed_from_u64(1));
/// let threat = Threat::generative(&cov);
/// let (clf, report) =
///     empirical::adversarial_training_with_report(&x, &y, &threat, 0.5, &TrainingOptions::default())?;
/// assert!(report.converged && report.criterion == Stationarity::Gradient);
/// assert!(report.gradient_norm <= 1e-8);
/// assert!(clf.cosine(&gmm.bayes_classifier())? > 0.999);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// - [`Error::InvalidBudget`] for a negative or non-finite `ε`;
///   [`Error::InvalidParameter`] for a negative or non-finite
///   `l2_penalty`, a tolerance that is not finite and positive, or
///   `max_iterations = 0`;
/// - [`Error::Empty`] for no samples or no features;
///   [`Error::DimensionMismatch`] when `y` has not `n` labels or the threat
///   belongs to another dimension; [`Error::NonFinite`] for a non-finite
///   entry of `x`; [`Error::NotEnoughSamples`] when a class has no sample;
/// - [`Error::LinearlySeparable`] when `λ = 0` and an iterate separates the
///   samples with a positive robust margin (no minimiser exists);
/// - [`Error::ZeroOptimum`] when the minimiser is `w = 0`;
/// - [`Error::TrainingNoConvergence`] when the iteration cap is reached, or
///   the line search stalls for a threat other than ℓ1 or a union, before
///   the stationarity criterion is met;
/// - [`Error::NoConvergence`] if the secular equation of the minimal-norm
///   subgradient on an ellipsoid's kink does not converge (not observed).
pub fn adversarial_training_with_report(
    x: &DMatrix<f64>,
    y: &[Label],
    threat: &Threat,
    eps: f64,
    options: &TrainingOptions,
) -> Result<(LinearClassifier, TrainingReport)> {
    ensure_budget(eps)?;
    check_options(options)?;
    let (n, d) = x.shape();
    if n == 0 {
        return Err(Error::Empty { name: "samples" });
    }
    if d == 0 {
        return Err(Error::Empty { name: "features" });
    }
    ensure_dim("labels", n, y.len())?;
    if let Some(threat_dim) = threat.dim() {
        ensure_dim("threat", d, threat_dim)?;
    }
    ensure_finite("x", x.as_slice())?;
    let positives = y.iter().filter(|&&l| l == Label::Pos).count();
    for (name, found) in [
        ("samples of the positive class", positives),
        ("samples of the negative class", n - positives),
    ] {
        if found == 0 {
            return Err(Error::NotEnoughSamples {
                name,
                needed: 1,
                found,
            });
        }
    }
    let objective = Objective::new(x, y, threat, eps, options);
    let start = objective.start(positives);
    Lbfgs::new(&objective, options).run(start)
}

fn check_options(options: &TrainingOptions) -> Result<()> {
    if !(options.l2_penalty.is_finite() && options.l2_penalty >= 0.0) {
        return Err(Error::InvalidParameter {
            name: "l2_penalty",
            value: options.l2_penalty,
            reason: "the ridge penalty must be finite and non-negative",
        });
    }
    if !(options.gradient_tolerance.is_finite() && options.gradient_tolerance > 0.0) {
        return Err(Error::InvalidParameter {
            name: "gradient_tolerance",
            value: options.gradient_tolerance,
            reason: "the tolerance must be finite and positive",
        });
    }
    if options.max_iterations == 0 {
        return Err(Error::InvalidParameter {
            name: "max_iterations",
            value: 0.0,
            reason: "at least one iteration is needed",
        });
    }
    Ok(())
}
