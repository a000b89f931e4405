//! Finite samples: Monte Carlo robust error and empirical adversarial
//! training of a linear classifier ([THEORY §9](crate::theory#9-finite-samples), P7).
//!
//! # Robust error on samples
//!
//! A point with margin `m_j = y_j(wᵀx_j + b)` is flipped by the exact
//! minimal attack at budget `ε` iff `m_j ≤ ε σ_K(w)` ([THEORY §4](crate::theory#4-attacks)), so
//!
//! ```text
//! RE_ε(w, b; samples) = (1/n) #{ j : y_j (wᵀx_j + b) ≤ ε σ_K(w) }.
//! ```
//!
//! [`robust_error`] counts it exactly (one matrix–vector product, `O(n)`
//! further work). On samples of a Gaussian mixture it estimates the closed
//! form of [THEORY §6](crate::theory#6-robust-error) with binomial error `√(p(1 − p)/n)` (P7a).
//!
//! # Adversarial training on samples
//!
//! The inner maximization over `δ ∈ εK` is exact for a linear model
//! (`min_{δ∈εK} y wᵀδ = −ε σ_K(w)`), so [`adversarial_training`] minimizes
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
//! At `ε = 0` the loss is plain (ridge) logistic regression. [THEORY P7b](crate::theory#p7-monte-carlo-and-empirical-adversarial-training): on
//! samples of the symmetric model the minimizer converges in direction to
//! the population robust optimum `w*(ε)` of P4.
//!
//! ## Contract
//!
//! The solver is a deterministic full-batch L-BFGS started from the
//! class-mean difference, with OWL-QN-style handling of the kinks of `σ_K`
//! (orthants for ℓ∞, the subspace `Aᵀw = 0` for an ellipsoid `K = A·B₂`,
//! ties for ℓ1 threats and unions); the design is in
//! `docs/design/empirical-training.md`.
//!
//! **Scale.** The data are standardized internally: `x → c·x` with `c` a
//! power of two near `1/rms(x)` (exact in floating point), `ε → c·ε`,
//! `λ → c²·λ`, and the minimizer maps back as `w = c·w_c`. Training on
//! `(s·x, s·ε, s²·λ)` therefore returns `w/s` and the same bias for any
//! `s > 0` whose standardized problem is representable, and the tolerance
//! below is relative to the data's scale.
//!
//! **Outcomes.** A run ends in exactly one of:
//!
//! - *converged* ([`TrainingReport::converged`] `= true`): a stationarity
//!   certificate holds, an element `e` of the subdifferential in `(w, b)`
//!   with `‖e‖ ≤` [`gradient_tolerance`](TrainingOptions::gradient_tolerance)
//!   on the standardized problem — the gradient where `L` is differentiable
//!   ([`Stationarity::Gradient`]); the minimal-norm element for ℓ∞ and on an
//!   ellipsoid's kink ([`Stationarity::MinimalSubgradient`]); for ℓ1 threats
//!   and unions an element with `v` in the η-face `{v ∈ K : vᵀw ≥ σ_K(w) − η}`,
//!   `η = 10⁻⁹σ_K(w)` (also [`Stationarity::MinimalSubgradient`]). By
//!   convexity the certificate gives, for every `θ'`,
//!   `L(θ') ≥ L(θ) − ‖e‖·‖θ' − θ‖ − εs̄η`;
//! - *stalled* (ℓ1 threats and unions only, [`Stationarity::LossStalled`],
//!   `converged = false`): no step decreases the loss beyond rounding and no
//!   certificate was found. [`adversarial_training_report`] returns the
//!   point with that report; [`adversarial_training`] returns
//!   [`Error::TrainingNoConvergence`];
//! - [`Error::ZeroOptimum`]: the minimizer is `w = 0`, which holds iff
//!   `0 ∈ ∂L(0, b₀)`, i.e. `γ_K(x̄₊ − x̄₋) ≤ 2ε` with a fitted bias (`γ_K` the
//!   gauge of `K`, `‖·‖_p` for the ℓp ball, `b₀ = ln(n₊/n₋)`). It is tested
//!   before iterating (exactly for ℓp balls, by the sufficient condition
//!   `minᵢ γ_{Kᵢ}/εᵢ ≤ 2ε` for unions) and reached exactly by the kink
//!   handling of ℓ∞ and of ellipsoids;
//! - [`Error::LinearlySeparable`] when `λ = 0` and an iterate separates the
//!   samples with a positive robust margin (the loss has no minimizer; any
//!   `λ > 0` restores one);
//! - [`Error::TrainingNoConvergence`] with the state reached: the
//!   iteration cap, or a stalled line search for the other threats.
//!
//! Every accepted step decreases the loss (Armijo condition on the
//! directional derivative). Accuracy: a residual `r` bounds the distance
//! of the standardized parameters to the minimizer by `r/κ` (plus
//! `√(2εs̄η/κ)` on ties), with `κ` the strong convexity modulus (at least
//! `c²λ`, plus the curvature of the logistic loss on the data); the loss
//! itself is accurate to `O(√n · 2⁻⁵³)` relative.
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

mod faces;
mod kinks;
mod monte_carlo;
mod objective;
mod optimizer;
#[cfg(test)]
mod tests;

use nalgebra::DMatrix;

use crate::classifier::Points;
use crate::classifier::{Label, LinearClassifier};
use crate::error::{Error, Result, ensure_budget, ensure_dim, ensure_finite};
use crate::threat::Threat;

pub use monte_carlo::robust_error;
use objective::Objective;
use optimizer::Lbfgs;

/// Number of curvature pairs the L-BFGS solver keeps.
const LBFGS_MEMORY: usize = 10;

/// Settings of [`adversarial_training`].
///
/// # Example
/// ```
/// use manifold_robustness::empirical::TrainingOptions;
///
/// let options = TrainingOptions::default().with_l2_penalty(1e-3);
/// assert_eq!(options.l2_penalty, 1e-3);
/// assert_eq!(options.max_iterations, 10_000);
/// ```
///
/// Built from the defaults with the `with_…` methods;
/// [`adversarial_training`] checks the values and names a bad one in
/// [`Error::InvalidParameter`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrainingOptions {
    /// Ridge penalty `λ ≥ 0` on the weights (not the bias): the loss gains
    /// `(λ/2)‖w‖²`. Default 0 (no regularization).
    pub l2_penalty: f64,
    /// Stop when the stationarity residual (the norm of an element of the
    /// subdifferential in `(w, b)`; see the module docs) is at most this.
    /// It is measured on the standardized problem, whose features have unit
    /// root-mean-square entry, so it does not depend on the data's scale.
    /// Default `1e-8`.
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

impl TrainingOptions {
    /// Sets the ridge penalty `λ` on the weights (default 0).
    pub fn with_l2_penalty(mut self, l2_penalty: f64) -> Self {
        self.l2_penalty = l2_penalty;
        self
    }

    /// Sets the stationarity tolerance (default `1e-8`).
    pub fn with_gradient_tolerance(mut self, gradient_tolerance: f64) -> Self {
        self.gradient_tolerance = gradient_tolerance;
        self
    }

    /// Sets the iteration cap (default 10,000).
    pub fn with_max_iterations(mut self, max_iterations: usize) -> Self {
        self.max_iterations = max_iterations;
        self
    }

    /// Sets whether the bias is fitted (default `true`).
    pub fn with_fit_bias(mut self, fit_bias: bool) -> Self {
        self.fit_bias = fit_bias;
        self
    }
}

/// Which stationarity measure a training run met (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Stationarity {
    /// The norm of the gradient in `(w, b)` (with the subgradient `v*(w)`
    /// of `σ_K` at a kink) is at most the tolerance.
    Gradient,
    /// The norm of an element of the subdifferential is at most the
    /// tolerance: the minimal-norm element for an ℓ∞ threat and on the kink
    /// subspace `Aᵀw = 0` of an ellipsoid; for ℓ1 threats and unions an
    /// element of the η-subdifferential with `η = 10⁻⁹ σ_K(w)` (see the
    /// module docs).
    MinimalSubgradient,
    /// ℓ1 threat or union: no step decreases the loss beyond rounding, yet
    /// no subgradient certifies the point. Not converged: the report has
    /// [`converged`](TrainingReport::converged) `= false`, and
    /// [`adversarial_training`] returns [`Error::TrainingNoConvergence`].
    LossStalled,
}

/// How a training run ended.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TrainingReport {
    /// L-BFGS iterations taken.
    pub iterations: usize,
    /// The training loss `L(w, b)` at the result.
    pub loss: f64,
    /// The stationarity residual at the result, measured on the
    /// standardized problem (see [`TrainingOptions::gradient_tolerance`]):
    /// the norm of the certifying element of the subdifferential, or for a
    /// stalled run the smallest element found.
    pub gradient_norm: f64,
    /// True exactly when a stationarity certificate holds:
    /// [`gradient_norm`](Self::gradient_norm) is at most the tolerance for
    /// the [`criterion`](Self::criterion). False for a
    /// [`Stationarity::LossStalled`] run.
    pub converged: bool,
    /// The criterion that stopped the run.
    pub criterion: Stationarity,
    /// Matrix–vector products with the `n × d` data matrix.
    pub data_passes: usize,
}

/// Empirical adversarial training of a linear classifier: minimizes the
/// robust logistic loss `L(w, b)` of the module docs on the samples.
///
/// `x` holds one sample per row (`n × d`), `y` their labels. At `ε = 0`
/// this is plain (ridge) logistic regression.
///
/// The result is certified: a run that stalls without a stationarity
/// certificate is an error here ([`adversarial_training_report`]
/// returns it with `converged = false`).
///
/// # Errors
/// As [`adversarial_training_report`], and
/// [`Error::TrainingNoConvergence`] for a stalled run.
pub fn adversarial_training<'a>(
    x: impl Points<'a>,
    y: &[Label],
    threat: &Threat,
    eps: f64,
    options: &TrainingOptions,
) -> Result<LinearClassifier> {
    let x = &*x.points();
    let (clf, report) = adversarial_training_report(x, y, threat, eps, options)?;
    if report.converged {
        Ok(clf)
    } else {
        Err(Error::TrainingNoConvergence {
            iterations: report.iterations,
            stationarity: report.gradient_norm,
            tolerance: options.gradient_tolerance,
            loss: report.loss,
            reason: "the loss stalled at a tie of the support function: no step decreases it, yet no subgradient certifies the point",
        })
    }
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
/// // With 20,000 samples the trained direction's sampling error is about
/// // 1 − cos ≈ 2e-5 (it shrinks as 1/n), far inside the 1e-3 checked here.
/// let cov = Covariance::isotropic(2, 1.0)?;
/// let gmm = Gmm::symmetric(DVector::from_vec(vec![1.0, 0.5]), cov.clone())?;
/// let (x, y) = gmm.sample(20_000, &mut StdRng::seed_from_u64(1));
/// let threat = Threat::generative(&cov);
/// let (clf, report) =
///     empirical::adversarial_training_report(&x, &y, &threat, 0.5, &TrainingOptions::default())?;
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
///   `max_iterations = 0`, and for an `ε` or `l2_penalty` whose
///   standardized value `c·ε` or `c²·λ` overflows (`c ≈ 1/rms(x)`);
/// - [`Error::Empty`] for no samples or no features;
///   [`Error::DimensionMismatch`] when `y` has not `n` labels or the threat
///   belongs to another dimension; [`Error::NonFinite`] for a non-finite
///   entry of `x`; [`Error::NotEnoughSamples`] when a class has no sample;
/// - [`Error::LinearlySeparable`] when `λ = 0` and an iterate separates the
///   samples with a positive robust margin (no minimizer exists);
/// - [`Error::ZeroOptimum`] when the minimizer is `w = 0`;
/// - [`Error::TrainingNoConvergence`] when the iteration cap is reached, or
///   the line search stalls for a threat other than ℓ1 or a union, before
///   the stationarity criterion is met (a stalled ℓ1 or union run is
///   returned with [`Stationarity::LossStalled`] and `converged = false`);
/// - [`Error::NoConvergence`] if the secular equation of the minimal-norm
///   subgradient on an ellipsoid's kink does not converge (not observed).
pub fn adversarial_training_report<'a>(
    x: impl Points<'a>,
    y: &[Label],
    threat: &Threat,
    eps: f64,
    options: &TrainingOptions,
) -> Result<(LinearClassifier, TrainingReport)> {
    let x = &*x.points();
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
    // Standardize: x → c·x with c a power of two near 1/rms(x) (exact in
    // floating point), ε → c·ε, λ → c²·λ. The minimizer maps back as
    // w = c·w_c with the same bias and loss.
    let scale = standard_scale(x);
    let scaled_eps = eps * scale;
    if !scaled_eps.is_finite() {
        return Err(Error::InvalidParameter {
            name: "eps",
            value: eps,
            reason: "the budget times the inverse scale of the data overflows",
        });
    }
    let scaled = options
        .clone()
        .with_l2_penalty(options.l2_penalty * scale * scale);
    if !scaled.l2_penalty.is_finite() {
        return Err(Error::InvalidParameter {
            name: "l2_penalty",
            value: options.l2_penalty,
            reason: "the penalty times the squared inverse scale of the data overflows",
        });
    }
    let standardized = if scale == 1.0 { None } else { Some(x * scale) };
    let data = standardized.as_ref().unwrap_or(x);
    let objective = Objective::new(data, y, threat, scaled_eps, &scaled);
    let start = objective.start(positives);
    let (theta, report) = Lbfgs::new(&objective, &scaled)
        .run(start)
        .map_err(|e| match e {
            Error::ZeroOptimum { .. } => Error::ZeroOptimum { budget: eps },
            Error::LinearlySeparable { .. } => Error::LinearlySeparable { budget: eps },
            other => other,
        })?;
    let weights = theta.rows(0, d) * scale;
    let clf = LinearClassifier::new(weights, theta[d])?;
    Ok((clf, report))
}

/// A power of two `c` with `c·rms(x) ∈ [1/√2, √2)`, computed without
/// overflow; 1 for an all-zero `x`.
fn standard_scale(x: &DMatrix<f64>) -> f64 {
    let top = x.amax();
    if top == 0.0 {
        return 1.0;
    }
    let mean_square = x.iter().map(|v| (v / top) * (v / top)).sum::<f64>() / x.len() as f64;
    let log2_rms = top.log2() + 0.5 * mean_square.log2();
    let exponent = (-log2_rms.round()).clamp(-1022.0, 1023.0) as i32;
    2f64.powi(exponent)
}

pub(crate) fn check_options(options: &TrainingOptions) -> Result<()> {
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
