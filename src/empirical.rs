//! Finite samples: Monte Carlo robust error and empirical adversarial
//! training of a linear classifier ([THEORY §9](crate::theory#9-finite-samples), [P7](crate::theory#p7-monte-carlo-and-empirical-adversarial-training)).
//!
//! # Robust error on samples
//!
//! For a linear classifier the minimal budget that flips a point with
//! margin `m_j = y_j(wᵀx_j + b)` is `t*_j = m_j / σ_K(w)` ([THEORY §4](crate::theory#4-attacks)), so
//! the exact per-sample attack at budget `ε` succeeds exactly when
//! `m_j ≤ ε σ_K(w)`:
//!
//! ```text
//! RE_ε(w, b; samples) = (1/n) #{ j : y_j (wᵀx_j + b) ≤ ε σ_K(w) }.
//! ```
//!
//! [`robust_error`] evaluates it with one matrix–vector product and `O(n)`
//! work. On samples of a Gaussian mixture it estimates the closed form of
//! [THEORY §6](crate::theory#6-robust-error) with binomial error (P7a).
//!
//! # Adversarial training on samples
//!
//! The inner maximisation of the logistic loss over `δ ∈ εK` is exact for a
//! linear model — `min_{δ∈εK} y wᵀδ = −ε σ_K(w)` — so the robust logistic
//! loss is
//!
//! ```text
//! L(w, b) = (1/n) Σ_j softplus(ε σ_K(w) − y_j(wᵀx_j + b)) + (λ/2)‖w‖²,
//! softplus(t) = ln(1 + eᵗ).
//! ```
//!
//! It is convex in `(w, b)`: `σ_K` is convex, so the argument of the
//! increasing convex `softplus` is convex. With
//! `s_j = sigmoid(ε σ_K(w) − y_j(wᵀx_j + b))` and `s̄ = (1/n) Σ_j s_j`, a
//! (sub)gradient is
//!
//! ```text
//! ∇_w L = −(1/n) Σ_j s_j y_j x_j + ε s̄ v*(w) + λ w,     ∂_b L = −(1/n) Σ_j s_j y_j,
//! ```
//!
//! with the steepest direction `v*(w) ∈ ∂σ_K(w)` of
//! [`Threat::steepest`] (zero when `σ_K(w) = 0`; `0 ∈ K` is then a
//! subgradient). The whole subdifferential is `ε s̄ ∂σ_K(w)` plus the smooth
//! part, because the per-sample terms share the same `σ_K`. At `ε = 0` the
//! loss is plain (ridge) logistic regression. THEORY P7b: on samples of the
//! symmetric model the minimiser converges in direction to the population
//! robust optimum `w*(ε)` of [P4](crate::theory#p4-robust-optimum).
//!
//! ## The solver
//!
//! [`adversarial_training`] is a deterministic full-batch L-BFGS (memory
//! [`LBFGS_MEMORY`]) with a backtracking Armijo line search, started from
//! the class-mean difference. Each iteration costs one product `Xw` per
//! trial step and one `Xᵀr` for the gradient. How it stops depends on the
//! smoothness of `σ_K` (reported as a [`Stationarity`]):
//!
//! - **ℓp for `1 < p < ∞`, `p ≠ 2`**, whose `σ_K(w) = ‖w‖_q` is
//!   differentiable except at `w = 0`, and any threat at `ε = 0`: converged
//!   when the Euclidean norm of the gradient in `(w, b)` is at most
//!   [`gradient_tolerance`](TrainingOptions::gradient_tolerance)
//!   ([`Stationarity::Gradient`]).
//! - **ellipsoids** — ℓ2, generative, generative rank `k`, eigenspace,
//!   off-manifold, general factor — with `σ_K(w) = ‖Aᵀw‖`: differentiable
//!   except on the *kink subspace* `N = {w : Aᵀw = 0}` (`{0}` for ℓ2 and
//!   full-rank factors; the complement of `U_k` for an eigenspace threat).
//!   The minimiser can sit on `N` — for an eigenspace threat along a
//!   direction whose class means barely differ, `U_kᵀw* = 0` exactly, as a
//!   lasso soft-thresholds a weight to zero — so `N` is handled like the
//!   zeros of OWL-QN (below). Off `N` the criterion is the gradient norm
//!   ([`Stationarity::Gradient`]). On `N` the loss equals `F`, the loss at
//!   `ε = 0`, and its subdifferential is `∇F + ε s̄ A·{‖u‖ ≤ 1}` (`∇F` is the
//!   gradient above without the `v*` term); the criterion is the norm of
//!   its minimal-norm element ([`Stationarity::MinimalSubgradient`]). In the
//!   orthogonal blocks `P_b` of `M = AAᵀ = Σ_b m_b P_b` (the covariance's
//!   spectral blocks, or the thin SVD of a general factor) that element is
//!   `Σ_b t_b P_b ∇F` with `t_b = 1` on `N` and `t_b = ν/(ν + τ²m_b)`,
//!   `τ = ε s̄`, where the multiplier `ν ≥ 0` of `‖u‖ ≤ 1` is 0 when
//!   `Σ_{m_b>0} ‖P_b∇F‖²/(τ²m_b) ≤ 1` and otherwise solves the secular
//!   equation `Σ_b τ²m_b ‖P_b∇F‖²/(ν + τ²m_b)² = 1` ([`SecularEquation`]
//!   with `λ = 1/ν`). If `ν = 0` the element lies in `N` and the solver *stays*
//!   on `N`, where the loss is `F`: L-BFGS directions are projected onto
//!   `N`. If `ν > 0` it *leaves* along the quasi-Newton direction when the
//!   directional derivative `∇Fᵀδ + τσ_K(δ)` there is negative, else along
//!   the negative minimal subgradient (directional derivative
//!   `−‖g_min‖²`). Off `N`, a trial point `w_t` that crosses `N` —
//!   `v*(w)ᵀw_t ≤ 0`, the linearisation of `σ_K` at `w` turned
//!   non-positive, which for a one-dimensional `range(A)` is the sign change
//!   of OWL-QN — is clipped onto `N` by the orthogonal projection; a line
//!   search that stalls off `N` tries that projection too. Curvature pairs
//!   of steps onto or off `N` use the gradient of the smooth piece
//!   `F + ε s̄ v*ᵀw`, with `v*` from the end off `N` (along such a step
//!   `σ_K` is exactly linear), as OWL-QN uses the smooth piece of the
//!   step's orthant.
//! - **ℓ∞** (`σ_K(w) = ‖w‖₁`, kinks where a weight is zero): the loss is
//!   smooth inside each orthant, so the solver is OWL-QN (Andrew & Gao,
//!   *Scalable training of L1-regularized log-linear models*, ICML 2007):
//!   steps stay in an orthant, weights reach exactly zero, and the
//!   criterion is the norm of the minimal-norm subgradient
//!   ([`Stationarity::MinimalSubgradient`]), an exact stationarity measure.
//! - **ℓ1 and unions** (`σ_K = ‖w‖_∞` or a maximum of supports, kinks at
//!   ties, where the optimum usually sits): L-BFGS with the subgradient
//!   `v*(w)` (Lewis & Overton, *Nonsmooth optimization via quasi-Newton
//!   methods*, Math. Programming 141, 2013). It stops with
//!   [`Stationarity::Gradient`] if that subgradient is small, otherwise when
//!   no step along the quasi-Newton direction or the negative subgradient
//!   decreases the loss beyond rounding ([`Stationarity::LossStalled`]):
//!   the loss is then minimal to working precision along those directions,
//!   but no subgradient certifies it. This is a heuristic: on the
//!   synthetic ℓ1 checks of `tests/finite_samples.rs` it lands within
//!   1 − cos ≤ 1e-3 of the exact optimum, but on unions that contain ℓ∞
//!   (kinks at zero weights as well as at ties) it can creep from plateau
//!   to plateau for thousands of iterations.
//!
//! Every accepted step satisfies an Armijo condition with the directional
//! derivative `L'(θ; δ)` (on `N`, `∇Fᵀδ + ε s̄ σ_K(δ)`), so the loss
//! decreases monotonically. Hitting
//! [`max_iterations`](TrainingOptions::max_iterations), or a stalled line
//! search for a threat of the first three kinds, is the typed error
//! [`Error::TrainingNoConvergence`] with the state reached.
//!
//! **No minimiser.** Without regularisation (`λ = 0`) the loss has no
//! minimiser when the samples are separable with a positive robust margin
//! (some `(w, b)` has `y_j(wᵀx_j + b) > ε σ_K(w)` for all `j`): the loss
//! tends to 0 along that ray. Every iterate is checked; finding such a
//! witness gives [`Error::LinearlySeparable`]. `l2_penalty > 0` always
//! restores a minimiser (the loss becomes strongly convex in `w`); a larger
//! budget makes robust separation harder. Conversely, when the budget is so
//! large that `w = 0` minimises the loss (no linear classifier beats the
//! constant prediction), the result is [`Error::ZeroOptimum`] if the solver
//! reaches `w = 0` exactly (OWL-QN does, and so does the kink handling of
//! ellipsoids, for which `0 ∈ N`) and a stalled line search otherwise (ℓp,
//! `p ∉ {1, 2, ∞}`).
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

use std::collections::VecDeque;

use nalgebra::{DMatrix, DVector};

use crate::classifier::{Label, LinearClassifier};
use crate::covariance::Covariance;
use crate::error::{Error, Result, ensure_budget, ensure_dim, ensure_finite};
use crate::threat::{EllipsoidView, SUPPORT_ZERO_TOLERANCE, Threat};
use crate::training::secular::SecularEquation;

/// Number of curvature pairs the L-BFGS solver keeps.
pub const LBFGS_MEMORY: usize = 10;

/// Armijo sufficient-decrease constant `c` in `L(θ + t d) ≤ L(θ) + c t ∇Lᵀd`.
const ARMIJO: f64 = 1e-4;

/// Backtracking steps before a line search gives up (the step shrinks by at
/// least 2 each time, so this reaches `2⁻⁶⁰` of the first trial).
const MAX_BACKTRACKS: usize = 60;

/// Relative size of a loss change that is rounding noise: the mean of `n`
/// softplus terms carries a relative error of order `√n · 2⁻⁵³`, below this
/// for any `n` up to 10⁶.
const LOSS_ROUNDING: f64 = 1e-12;

/// Robust error on samples: the fraction the exact attack at budget `ε`
/// misclassifies, `(1/n) #{ j : y_j(wᵀx_j + b) ≤ ε σ_K(w) }`.
///
/// This is the robust error under the exact minimal per-sample attack of
/// [THEORY §4](crate::theory#4-attacks) (a point with margin `m` is flipped by a budget `m/σ_K(w)`;
/// misclassified points, `m ≤ 0`, count at every budget). When
/// `σ_K(w) = 0` no perturbation in `K` moves the score, and only the
/// misclassified points count. Cost: one matrix–vector product and `O(n)`.
///
/// `x` holds one sample per row (`n × d`), `y` their labels.
///
/// # Errors
/// [`Error::InvalidBudget`] for a negative or non-finite `ε`;
/// [`Error::Empty`] for no samples; [`Error::DimensionMismatch`] when `x`
/// has not `d` columns, `y` has not `n` labels, or the threat belongs to
/// another dimension; [`Error::NonFinite`] when a score `wᵀx_j` is not
/// finite (a non-finite entry of `x`).
pub fn robust_error(
    clf: &LinearClassifier,
    threat: &Threat,
    eps: f64,
    x: &DMatrix<f64>,
    y: &[Label],
) -> Result<f64> {
    ensure_budget(eps)?;
    if x.nrows() == 0 {
        return Err(Error::Empty { name: "samples" });
    }
    ensure_dim("samples (columns of x)", clf.dim(), x.ncols())?;
    ensure_dim("labels", x.nrows(), y.len())?;
    let reach = eps * threat.try_support(clf.weights())?;
    let scores = crate::linalg::mat_vec(x, clf.weights());
    // A non-finite entry of x makes its score NaN or infinite (0·∞ is NaN),
    // so checking the n scores replaces an O(nd) scan of x.
    ensure_finite("x", scores.as_slice())?;
    let flipped = scores
        .iter()
        .zip(y)
        .filter(|(score, label)| label.sign() * (**score + clf.bias()) <= reach)
        .count();
    Ok(flipped as f64 / x.nrows() as f64)
}

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

/// `ln(1 + eᵗ)` without overflow or cancellation.
fn softplus(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

/// `+1`, `−1` or `0`.
fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `1/(1 + e⁻ᵗ)` without overflow.
fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// How `σ_K` is non-smooth, which decides the solver's stopping rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kinks {
    /// Differentiable wherever `σ_K(w) > 0` (ℓp for `p ∉ {1, 2, ∞}`), or
    /// `ε = 0`.
    Smooth,
    /// `σ_K = ‖·‖₁` (ℓ∞ threat): smooth inside each orthant.
    Orthants,
    /// `‖·‖_∞` (ℓ1 threat) or a union: kinks at ties.
    Ties,
    /// An ellipsoid, `σ_K(w) = ‖Aᵀw‖`: smooth off the kink subspace
    /// `N = {w : Aᵀw = 0}` (`{0}` when `A` has full row rank).
    Subspace,
}

/// Where a point sits relative to the kink subspace of an ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KinkState {
    /// Off the kink (or a threat of another kind): the loss is
    /// differentiable there, or handled by its own rule.
    Off,
    /// On the kink, and the minimal-norm subgradient lies in `N × ℝ`: the
    /// σ term absorbs the whole `range(A)` part of the smooth gradient, so
    /// the solver stays on `N`.
    Stay,
    /// On the kink, and the minimal-norm subgradient leaves `N`: moving off
    /// the kink decreases the loss.
    Leave,
}

/// The orthogonal split `ℝᵈ = ⊕_b V_b` in which an ellipsoid's matrix is
/// `M = AAᵀ = Σ_b m_b P_b`. The kink subspace `N = null(Aᵀ)` is the sum of
/// the blocks with `m_b = 0`.
struct KinkSubspace<'a> {
    blocks: Blocks<'a>,
    /// `m_b` per block.
    weights: DVector<f64>,
}

enum Blocks<'a> {
    /// `M = I` (ℓ2): one block.
    Identity,
    /// `M = U diag(m) Uᵀ` on a covariance's spectral blocks.
    Spectral(&'a Covariance),
    /// `M = Q diag(s²) Qᵀ` from the thin SVD `A = Q S Vᵀ` of a general
    /// factor (`Q` is `d × r` for the numerical rank `r`): one block per
    /// column of `Q`, then the complement `I − QQᵀ` with `m = 0`.
    Factor(DMatrix<f64>),
}

impl<'a> KinkSubspace<'a> {
    fn new(threat: &'a Threat) -> Option<KinkSubspace<'a>> {
        Some(match threat.ellipsoid_view()? {
            EllipsoidView::Identity => KinkSubspace {
                blocks: Blocks::Identity,
                weights: DVector::from_element(1, 1.0),
            },
            EllipsoidView::Spectral(s) => KinkSubspace {
                blocks: Blocks::Spectral(&s.covariance),
                weights: s.weights.clone(),
            },
            EllipsoidView::Factor(a) => {
                let svd = a.clone().svd(true, false);
                let u = svd.u.expect("the left singular vectors were requested");
                let values = svd.singular_values;
                // Directions the threat's own zero snapping cannot tell
                // from 0 count as null.
                let threshold = SUPPORT_ZERO_TOLERANCE * a.norm();
                let keep: Vec<usize> = (0..values.len())
                    .filter(|&i| values[i] > threshold)
                    .collect();
                let basis = DMatrix::from_fn(a.nrows(), keep.len(), |r, c| u[(r, keep[c])]);
                let weights = DVector::from_iterator(
                    keep.len() + 1,
                    keep.iter().map(|&i| values[i] * values[i]).chain([0.0]),
                );
                KinkSubspace {
                    blocks: Blocks::Factor(basis),
                    weights,
                }
            }
        })
    }

    /// `‖P_b v‖²` per block.
    fn energies(&self, v: &DVector<f64>) -> DVector<f64> {
        match &self.blocks {
            Blocks::Identity => DVector::from_element(1, v.norm_squared()),
            Blocks::Spectral(cov) => cov.block_energies_unchecked(v),
            Blocks::Factor(q) => {
                let r = q.ncols();
                let c = q.tr_mul(v);
                let mut out = DVector::zeros(r + 1);
                for i in 0..r {
                    out[i] = c[i] * c[i];
                }
                // The complement from the residual vector itself, not
                // ‖v‖² − ‖Qᵀv‖² (which cancels for v near range(Q)).
                let mut residual = v.clone();
                residual.gemv(-1.0, q, &c, 1.0);
                out[r] = residual.norm_squared();
                out
            }
        }
    }

    /// `Σ_b f(b) P_b v`.
    fn scale(&self, v: &DVector<f64>, f: impl Fn(usize) -> f64) -> DVector<f64> {
        match &self.blocks {
            Blocks::Identity => v * f(0),
            Blocks::Spectral(cov) => cov.map_spectrum_unchecked(v, |b, _| f(b)),
            Blocks::Factor(q) => {
                let r = q.ncols();
                let rest = f(r);
                let mut c = q.tr_mul(v);
                for i in 0..r {
                    c[i] *= f(i) - rest;
                }
                let mut out = v * rest;
                out.gemv(1.0, q, &c, 1.0);
                out
            }
        }
    }

    /// The orthogonal projection of `v` onto `N`.
    fn project(&self, v: &DVector<f64>) -> DVector<f64> {
        self.scale(v, |b| if self.weights[b] > 0.0 { 0.0 } else { 1.0 })
    }

    /// The minimal-norm element of `g + τ ∂σ_K(0) = {g + τAu : ‖u‖ ≤ 1}`,
    /// and whether it lies in `N` ([`KinkState::Stay`]).
    ///
    /// Block by block the element is `t_b P_b g` with `t_b = 1` on `N` and
    /// `t_b = ν/(ν + τ²m_b)`, where `ν ≥ 0` is the multiplier of `‖u‖ ≤ 1`:
    /// `ν = 0` (`t_b = 0`, the σ term cancels the whole `range(A)` part) when
    /// `Σ_{m_b>0} ‖P_b g‖²/(τ²m_b) ≤ 1`, otherwise the root of
    /// `Σ_b τ²m_b ‖P_b g‖²/(ν + τ²m_b)² = 1`. With `λ = 1/ν` this is the
    /// secular equation `g(λ) = 1` of [THEORY §7](crate::theory#7-adversarial-training) for the terms
    /// `(d_b, c_b) = (τ²m_b, ‖P_b g‖²)`, solved by [`SecularEquation`].
    fn minimal_subgradient(&self, g: &DVector<f64>, tau: f64) -> Result<(DVector<f64>, KinkState)> {
        let energies = self.energies(g);
        let range_energy: f64 = (0..energies.len())
            .filter(|&b| self.weights[b] > 0.0)
            .map(|b| energies[b])
            .sum();
        if range_energy == 0.0 {
            return Ok((g.clone(), KinkState::Stay));
        }
        if tau == 0.0 {
            // No adversary weight left (every sigmoid underflowed): the
            // subdifferential is the smooth gradient alone.
            return Ok((g.clone(), KinkState::Leave));
        }
        let terms = self.weights.map(|m| tau * tau * m);
        let lambda = SecularEquation::new(energies.as_slice(), terms.as_slice())?
            .solve(1.0)?
            .lambda();
        if lambda == f64::INFINITY {
            return Ok((self.project(g), KinkState::Stay));
        }
        let element = self.scale(g, |b| 1.0 / (1.0 + lambda * terms[b]));
        Ok((element, KinkState::Leave))
    }
}

/// The robust logistic loss on a data set.
struct Objective<'a> {
    x: &'a DMatrix<f64>,
    signs: DVector<f64>,
    threat: &'a Threat,
    eps: f64,
    lambda: f64,
    fit_bias: bool,
    kinks: Kinks,
    /// The kink subspace, for [`Kinks::Subspace`].
    subspace: Option<KinkSubspace<'a>>,
}

/// A point `θ = (w, b)` with its loss; `θ` has `d + 1` entries, the last
/// being `b` (held at 0 when the bias is not fitted).
struct Point {
    theta: DVector<f64>,
    /// `Xw`, without the bias.
    scores: DVector<f64>,
    /// `σ_K(w)`.
    support: f64,
    loss: f64,
    /// `min_j y_j(wᵀx_j + b) − ε σ_K(w)`.
    min_robust_margin: f64,
}

/// The pieces of the (sub)gradient at a point.
struct Gradient {
    /// `∇_w` of the loss without the `σ_K` term, and `∂_b L` last:
    /// `(−(1/n) Xᵀ(y∘s) + λw, −(1/n) Σ y_j s_j)`.
    smooth: DVector<f64>,
    /// `s̄`, the coefficient of `ε ∂σ_K(w)`.
    mean_weight: f64,
    /// The stationarity subgradient: the minimal-norm one for ℓ∞ and on
    /// the kink of an ellipsoid, the one with `v*(w)` otherwise.
    stationary: DVector<f64>,
    /// Where the point sits relative to an ellipsoid's kink subspace.
    kink: KinkState,
}

impl<'a> Objective<'a> {
    fn new(
        x: &'a DMatrix<f64>,
        y: &[Label],
        threat: &'a Threat,
        eps: f64,
        options: &TrainingOptions,
    ) -> Objective<'a> {
        let kinks = if eps == 0.0 {
            Kinks::Smooth
        } else if threat.union_parts().is_some() {
            Kinks::Ties
        } else if threat.is_ellipsoid() {
            Kinks::Subspace
        } else {
            match threat.lp_exponent() {
                Some(p) if p == f64::INFINITY => Kinks::Orthants,
                Some(1.0) => Kinks::Ties,
                _ => Kinks::Smooth,
            }
        };
        let subspace = if kinks == Kinks::Subspace {
            KinkSubspace::new(threat)
        } else {
            None
        };
        Objective {
            x,
            signs: DVector::from_iterator(y.len(), y.iter().map(|l| l.sign())),
            threat,
            eps,
            lambda: options.l2_penalty,
            fit_bias: options.fit_bias,
            kinks,
            subspace,
        }
    }

    fn dim(&self) -> usize {
        self.x.ncols()
    }

    fn n(&self) -> f64 {
        self.x.nrows() as f64
    }

    /// Start from the class-mean difference `u = x̄₊ − x̄₋`, scaled to
    /// `w₀ = u/‖u‖²` (the class means then differ by 1 in score), with the
    /// bias centring the scores at the log prior odds.
    fn start(&self, positives: usize) -> DVector<f64> {
        let d = self.dim();
        let negatives = self.x.nrows() - positives;
        // Xᵀ(y / n_y) = x̄₊ − x̄₋; Xᵀ(1 / n_y)/2 is their midpoint.
        let weights_diff = self.signs.map(|s| {
            if s > 0.0 {
                1.0 / positives as f64
            } else {
                -1.0 / negatives as f64
            }
        });
        let u = crate::linalg::mat_tr_vec(self.x, &weights_diff);
        let mut theta = DVector::zeros(d + 1);
        let norm_sq = u.norm_squared();
        if norm_sq > 0.0 && norm_sq.is_finite() {
            theta.rows_mut(0, d).copy_from(&(&u / norm_sq));
        }
        if self.fit_bias {
            let weights_mid = weights_diff.abs() * 0.5;
            let mid = crate::linalg::mat_tr_vec(self.x, &weights_mid);
            let w = theta.rows(0, d);
            theta[d] = -w.dot(&mid) + (positives as f64 / negatives as f64).ln();
        }
        theta
    }

    fn weights(&self, theta: &DVector<f64>) -> DVector<f64> {
        theta.rows(0, self.dim()).into_owned()
    }

    /// `θ` with its weights projected onto the kink subspace (ellipsoids only).
    fn project_to_kink(&self, theta: &DVector<f64>) -> DVector<f64> {
        let d = self.dim();
        let mut out = theta.clone();
        if let Some(subspace) = &self.subspace {
            let w = subspace.project(&self.weights(theta));
            out.rows_mut(0, d).copy_from(&w);
        }
        out
    }

    /// Loss at `θ`: one product `Xw`.
    fn evaluate(&self, theta: DVector<f64>) -> Point {
        let d = self.dim();
        let w = self.weights(&theta);
        let b = theta[d];
        let scores = crate::linalg::mat_vec(self.x, &w);
        let support = if self.eps > 0.0 {
            self.threat.support(&w)
        } else {
            0.0
        };
        let reach = self.eps * support;
        let mut sum = 0.0;
        let mut min_robust_margin = f64::INFINITY;
        for (score, sign) in scores.iter().zip(self.signs.iter()) {
            let z = sign * (score + b) - reach;
            min_robust_margin = min_robust_margin.min(z);
            sum += softplus(-z);
        }
        let loss = sum / self.n() + 0.5 * self.lambda * w.norm_squared();
        Point {
            theta,
            scores,
            support,
            loss,
            min_robust_margin,
        }
    }

    /// The (sub)gradient at an evaluated point: one product `Xᵀr`.
    ///
    /// # Errors
    /// [`Error::NoConvergence`] if the secular equation of the minimal
    /// subgradient on an ellipsoid's kink does not converge.
    fn gradient(&self, point: &Point) -> Result<Gradient> {
        let d = self.dim();
        let n = self.n();
        let b = point.theta[d];
        let reach = self.eps * point.support;
        let mut weighted = DVector::zeros(self.x.nrows());
        let mut sum_weights = 0.0;
        let mut sum_weighted = 0.0;
        for j in 0..self.x.nrows() {
            let sign = self.signs[j];
            let s = sigmoid(reach - sign * (point.scores[j] + b));
            sum_weights += s;
            weighted[j] = sign * s;
            sum_weighted += weighted[j];
        }
        let mean_weight = sum_weights / n;
        let w = point.theta.rows(0, d);
        let data = crate::linalg::mat_tr_vec(self.x, &weighted);
        let mut smooth = DVector::zeros(d + 1);
        for i in 0..d {
            smooth[i] = -data[i] / n + self.lambda * w[i];
        }
        if self.fit_bias {
            smooth[d] = -sum_weighted / n;
        }
        let (stationary, kink) = self.stationary_subgradient(point, &smooth, mean_weight)?;
        Ok(Gradient {
            smooth,
            mean_weight,
            stationary,
            kink,
        })
    }

    fn stationary_subgradient(
        &self,
        point: &Point,
        smooth: &DVector<f64>,
        mean_weight: f64,
    ) -> Result<(DVector<f64>, KinkState)> {
        let d = self.dim();
        let theta = &point.theta;
        let mut g = smooth.clone();
        if self.eps == 0.0 {
            return Ok((g, KinkState::Off));
        }
        let c = self.eps * mean_weight;
        match (self.kinks, &self.subspace) {
            (Kinks::Orthants, _) => {
                // ∂‖w‖₁: sign(w_i), or any value in [−1, 1] where w_i = 0;
                // the minimal-norm choice soft-thresholds the smooth part.
                for i in 0..d {
                    let wi = theta[i];
                    g[i] = if wi > 0.0 {
                        smooth[i] + c
                    } else if wi < 0.0 {
                        smooth[i] - c
                    } else if smooth[i] + c < 0.0 {
                        smooth[i] + c
                    } else if smooth[i] - c > 0.0 {
                        smooth[i] - c
                    } else {
                        0.0
                    };
                }
                Ok((g, KinkState::Off))
            }
            (Kinks::Subspace, Some(subspace)) if point.support == 0.0 => {
                let (element, state) =
                    subspace.minimal_subgradient(&smooth.rows(0, d).into_owned(), c)?;
                g.rows_mut(0, d).copy_from(&element);
                Ok((g, state))
            }
            _ => {
                let w = self.weights(theta);
                if let Some(v) = self.threat.steepest(&w) {
                    for i in 0..d {
                        g[i] += c * v[i];
                    }
                }
                Ok((g, KinkState::Off))
            }
        }
    }

    /// The directional derivative `L'(θ; δ) = max_{g ∈ ∂L(θ)} gᵀδ`: on an
    /// ellipsoid's kink `∇Fᵀδ + εs̄ σ_K(δ_w)`; elsewhere `gᵀδ` with the
    /// stationarity subgradient (the gradient where `L` is differentiable;
    /// for ℓ∞ the OWL-QN model of the step's orthant). Unchecked: a
    /// non-finite direction gives NaN, which rejects it, not a panic.
    fn directional_derivative(&self, gradient: &Gradient, delta: &DVector<f64>) -> f64 {
        match gradient.kink {
            KinkState::Off => gradient.stationary.dot(delta),
            KinkState::Stay | KinkState::Leave => {
                let reach = self.eps * gradient.mean_weight;
                gradient.smooth.dot(delta)
                    + reach * self.threat.support_unchecked(&self.weights(delta))
            }
        }
    }

    /// `min_{g ∈ ∂L(θ)} gᵀδ`: on an ellipsoid's kink `∇Fᵀδ − εs̄ σ_K(δ_w)`.
    fn lowest_slope(&self, gradient: &Gradient, delta: &DVector<f64>) -> f64 {
        match gradient.kink {
            KinkState::Off => gradient.stationary.dot(delta),
            KinkState::Stay | KinkState::Leave => {
                let reach = self.eps * gradient.mean_weight;
                gradient.smooth.dot(delta)
                    - reach * self.threat.support_unchecked(&self.weights(delta))
            }
        }
    }

    /// The gradient `∇F + εs̄ v*(w)` of the smooth piece `F + ε s̄ v*(w)ᵀ(·)`
    /// at the point of `gradient`, with `v*` taken at the off-kink point
    /// `off`; `None` if `σ_K(w) = 0` there.
    fn linear_piece(&self, off: &Point, gradient: &Gradient) -> Option<DVector<f64>> {
        let v = self.threat.steepest(&self.weights(&off.theta))?;
        let c = self.eps * gradient.mean_weight;
        let mut g = gradient.smooth.clone();
        for i in 0..self.dim() {
            g[i] += c * v[i];
        }
        Some(g)
    }

    /// The gradient inside the orthant `xi` (ℓ∞ only): `σ_K = ξᵀw` there.
    fn orthant_gradient(&self, gradient: &Gradient, xi: &DVector<f64>) -> DVector<f64> {
        let c = self.eps * gradient.mean_weight;
        let mut g = gradient.smooth.clone();
        for i in 0..self.dim() {
            g[i] += c * xi[i];
        }
        g
    }
}

/// One curvature pair `(s, y, 1/sᵀy)`.
struct Pair {
    s: DVector<f64>,
    y: DVector<f64>,
    rho: f64,
}

struct Lbfgs<'o, 'a> {
    objective: &'o Objective<'a>,
    tolerance: f64,
    max_iterations: usize,
    memory: VecDeque<Pair>,
    data_passes: usize,
}

/// Outcome of one line search.
enum Step {
    Accepted(Point, Gradient),
    Failed,
}

/// Outcome of one trial point of a line search.
enum Trial {
    Accepted(Point, Gradient),
    /// Rejected, with the loss change (non-finite if the loss was).
    Rejected(f64),
}

impl<'o, 'a> Lbfgs<'o, 'a> {
    fn new(objective: &'o Objective<'a>, options: &TrainingOptions) -> Lbfgs<'o, 'a> {
        Lbfgs {
            objective,
            tolerance: options.gradient_tolerance,
            max_iterations: options.max_iterations,
            memory: VecDeque::with_capacity(LBFGS_MEMORY),
            data_passes: 0,
        }
    }

    fn evaluate(&mut self, theta: DVector<f64>) -> Point {
        self.data_passes += 1;
        self.objective.evaluate(theta)
    }

    fn gradient(&mut self, point: &Point) -> Result<Gradient> {
        self.data_passes += 1;
        self.objective.gradient(point)
    }

    fn run(mut self, start: DVector<f64>) -> Result<(LinearClassifier, TrainingReport)> {
        let objective = self.objective;
        let mut point = self.evaluate(start);
        let mut gradient = self.gradient(&point)?;
        let mut iterations = 0;
        loop {
            self.check_separable(&point)?;
            let norm = gradient.stationary.norm();
            if norm <= self.tolerance {
                let criterion = match (objective.kinks, gradient.kink) {
                    (Kinks::Orthants, _) | (_, KinkState::Stay | KinkState::Leave) => {
                        Stationarity::MinimalSubgradient
                    }
                    _ => Stationarity::Gradient,
                };
                return self.finish(point, norm, iterations, criterion);
            }
            if iterations == self.max_iterations {
                return Err(Error::TrainingNoConvergence {
                    iterations,
                    stationarity: norm,
                    tolerance: self.tolerance,
                    loss: point.loss,
                    reason: "iteration cap reached",
                });
            }
            iterations += 1;
            let mut step = self.line_search(&point, &gradient, false)?;
            if matches!(step, Step::Failed) && !self.memory.is_empty() {
                // Retry along the scaled negative (sub)gradient.
                self.memory.clear();
                step = self.line_search(&point, &gradient, true)?;
            }
            if matches!(step, Step::Failed)
                && objective.kinks == Kinks::Subspace
                && gradient.kink == KinkState::Off
            {
                // Stalled near the kink of an ellipsoid: try the kink itself.
                let theta = objective.project_to_kink(&point.theta);
                if let Trial::Accepted(next, next_gradient) =
                    self.trial(&point, &gradient, theta)?
                {
                    step = Step::Accepted(next, next_gradient);
                }
            }
            match step {
                Step::Accepted(next, next_gradient) => {
                    self.remember(&point, &gradient, &next, &next_gradient);
                    point = next;
                    gradient = next_gradient;
                }
                Step::Failed => {
                    if objective.kinks == Kinks::Ties {
                        return self.finish(point, norm, iterations, Stationarity::LossStalled);
                    }
                    // Scores spread below 1e-6 make a constant predictor on
                    // the logistic scale.
                    let reason = if point.scores.amax() <= 1e-6 {
                        "the weights collapsed toward w = 0: the budget may be too large for any linear classifier to beat the constant prediction"
                    } else if objective.kinks == Kinks::Subspace {
                        "the line search cannot decrease the loss beyond rounding; loosen gradient_tolerance"
                    } else {
                        "the line search cannot decrease the loss beyond rounding; loosen gradient_tolerance, or the minimiser sits on a kink of σ_K (e.g. where σ_K(w) = 0)"
                    };
                    return Err(Error::TrainingNoConvergence {
                        iterations,
                        stationarity: norm,
                        tolerance: self.tolerance,
                        loss: point.loss,
                        reason,
                    });
                }
            }
        }
    }

    fn check_separable(&self, point: &Point) -> Result<()> {
        if self.objective.lambda == 0.0 && point.min_robust_margin > 0.0 {
            Err(Error::LinearlySeparable {
                budget: self.objective.eps,
            })
        } else {
            Ok(())
        }
    }

    fn finish(
        &self,
        point: Point,
        norm: f64,
        iterations: usize,
        criterion: Stationarity,
    ) -> Result<(LinearClassifier, TrainingReport)> {
        let d = self.objective.dim();
        let w = self.objective.weights(&point.theta);
        if w.iter().all(|&v| v == 0.0) {
            return Err(Error::ZeroOptimum {
                budget: self.objective.eps,
            });
        }
        let clf = LinearClassifier::new(w, point.theta[d])?;
        let report = TrainingReport {
            iterations,
            loss: point.loss,
            gradient_norm: norm,
            converged: true,
            criterion,
            data_passes: self.data_passes,
        };
        Ok((clf, report))
    }

    /// The quasi-Newton direction `−H g` by the two-loop recursion; with an
    /// empty memory (or `steepest`), the negative gradient scaled to unit length.
    fn direction(&self, g: &DVector<f64>, steepest: bool) -> DVector<f64> {
        if steepest || self.memory.is_empty() {
            return -g / g.norm();
        }
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(self.memory.len());
        for pair in self.memory.iter().rev() {
            let alpha = pair.rho * pair.s.dot(&q);
            q.axpy(-alpha, &pair.y, 1.0);
            alphas.push(alpha);
        }
        let newest = self.memory.back().expect("memory is not empty");
        let gamma = newest.s.dot(&newest.y) / newest.y.norm_squared();
        q *= gamma;
        for (pair, alpha) in self.memory.iter().zip(alphas.iter().rev()) {
            let beta = pair.rho * pair.y.dot(&q);
            q.axpy(alpha - beta, &pair.s, 1.0);
        }
        -q
    }

    /// Backtracking Armijo search along the L-BFGS direction, adapted to the
    /// kinks: projected on the current orthant for ℓ∞ (OWL-QN); for an
    /// ellipsoid, projected on the kink subspace `N` when staying on it,
    /// replaced by the steepest descent direction `−g_min` when leaving it
    /// along the quasi-Newton direction does not descend, and clipped to `N`
    /// when a trial crosses it (see the module docs).
    fn line_search(&mut self, point: &Point, gradient: &Gradient, steepest: bool) -> Result<Step> {
        let objective = self.objective;
        let d = objective.dim();
        let g = &gradient.stationary;
        let mut direction = self.direction(g, steepest);
        let orthant = if objective.kinks == Kinks::Orthants {
            // Keep only the components that move downhill (OWL-QN), and
            // fix the orthant each weight may not leave.
            for i in 0..d {
                if direction[i] * g[i] >= 0.0 {
                    direction[i] = 0.0;
                }
            }
            Some(DVector::from_fn(d, |i, _| {
                let wi = point.theta[i];
                if wi != 0.0 { sign(wi) } else { -sign(g[i]) }
            }))
        } else {
            None
        };
        // Off the kink of an ellipsoid, a trial crosses N when the
        // linearisation v*(w)ᵀw_t of σ_K at w is no longer positive.
        let mut crossing = None;
        match gradient.kink {
            KinkState::Stay => direction = objective.project_to_kink(&direction),
            KinkState::Leave => {
                if objective.directional_derivative(gradient, &direction) >= 0.0 {
                    direction = -g / g.norm();
                }
            }
            KinkState::Off if objective.kinks == Kinks::Subspace => {
                crossing = objective.threat.steepest(&objective.weights(&point.theta));
            }
            KinkState::Off => {}
        }
        let slope = objective.directional_derivative(gradient, &direction);
        if !(slope.is_finite() && slope < 0.0) {
            return Ok(Step::Failed);
        }
        let mut t = 1.0;
        for _ in 0..MAX_BACKTRACKS {
            let mut theta = &point.theta + &direction * t;
            if let Some(xi) = &orthant {
                for i in 0..d {
                    if theta[i] * xi[i] <= 0.0 {
                        theta[i] = 0.0;
                    }
                }
            }
            if let Some(v) = &crossing {
                if v.dot(&theta.rows(0, d)) <= 0.0 {
                    theta = objective.project_to_kink(&theta);
                }
            }
            if !theta.iter().all(|v| v.is_finite()) {
                t *= 0.5;
                continue;
            }
            let moved = &theta - &point.theta;
            if moved.amax() <= f64::EPSILON * point.theta.amax() {
                // The step no longer changes θ in floating point.
                return Ok(Step::Failed);
            }
            let change = match self.trial(point, gradient, theta)? {
                Trial::Accepted(next, next_gradient) => {
                    return Ok(Step::Accepted(next, next_gradient));
                }
                Trial::Rejected(change) => change,
            };
            // Safeguarded quadratic interpolation of the loss along the ray.
            let curvature = change - slope * t;
            let next = if change.is_finite() && curvature > 0.0 {
                -slope * t * t / (2.0 * curvature)
            } else {
                0.5 * t
            };
            t = next.clamp(0.1 * t, 0.5 * t);
        }
        Ok(Step::Failed)
    }

    /// Evaluates a trial `θ_t` and accepts it on sufficient decrease,
    /// `L(θ_t) − L(θ) ≤ c L'(θ; θ_t − θ)` with `L'(θ; θ_t − θ) < 0`, or when
    /// the change is below rounding and a subgradient at `θ_t` certifies
    /// `L(θ_t) ≤ L(θ)`.
    fn trial(&mut self, point: &Point, gradient: &Gradient, theta: DVector<f64>) -> Result<Trial> {
        let moved = &theta - &point.theta;
        let trial = self.evaluate(theta);
        let predicted = self.objective.directional_derivative(gradient, &moved);
        let change = trial.loss - point.loss;
        if !trial.loss.is_finite() {
            return Ok(Trial::Rejected(f64::NAN));
        }
        if predicted < 0.0 && change <= ARMIJO * predicted {
            let trial_gradient = self.gradient(&trial)?;
            return Ok(Trial::Accepted(trial, trial_gradient));
        }
        if change <= LOSS_ROUNDING * point.loss.abs() {
            // The decrease is below rounding: decide by the slope at the
            // trial. For convex L, gᵀ(θ_t − θ) ≤ 0 with any subgradient
            // g at θ_t implies L(θ_t) ≤ L(θ) exactly.
            let trial_gradient = self.gradient(&trial)?;
            if self.objective.lowest_slope(&trial_gradient, &moved) <= 0.0 {
                return Ok(Trial::Accepted(trial, trial_gradient));
            }
        }
        Ok(Trial::Rejected(change))
    }

    fn remember(&mut self, old: &Point, old_g: &Gradient, new: &Point, new_g: &Gradient) {
        let objective = self.objective;
        let s = &new.theta - &old.theta;
        let y = if objective.kinks == Kinks::Orthants {
            // Curvature of the smooth function of the step's orthant.
            let d = objective.dim();
            let xi = DVector::from_fn(d, |i, _| {
                if new.theta[i] != 0.0 {
                    sign(new.theta[i])
                } else {
                    sign(old.theta[i])
                }
            });
            objective.orthant_gradient(new_g, &xi) - objective.orthant_gradient(old_g, &xi)
        } else {
            match (old_g.kink, new_g.kink) {
                (KinkState::Off, KinkState::Off) => &new_g.stationary - &old_g.stationary,
                // A step onto the kink of an ellipsoid from w, or off it to
                // w: along the step σ_K is exactly linear, v*(w)ᵀ(·) (its
                // range(A) part shrinks or grows in proportion), so the
                // curvature is that of the smooth piece F + εs̄ v*(w)ᵀ(·),
                // as OWL-QN uses the smooth piece of the step's orthant.
                (KinkState::Off, _) => match objective.linear_piece(old, new_g) {
                    Some(new_piece) => new_piece - &old_g.stationary,
                    None => return,
                },
                (_, KinkState::Off) => match objective.linear_piece(new, old_g) {
                    Some(old_piece) => &new_g.stationary - old_piece,
                    None => return,
                },
                // Along N the loss is the smooth part F: its curvature there.
                _ => objective.project_to_kink(&(&new_g.smooth - &old_g.smooth)),
            }
        };
        let sy = s.dot(&y);
        // Skip pairs without positive curvature (kinks, rounding).
        if sy > 1e-12 * s.norm() * y.norm() && sy.is_finite() {
            if self.memory.len() == LBFGS_MEMORY {
                self.memory.pop_front();
            }
            self.memory.push_back(Pair {
                s,
                y,
                rho: 1.0 / sy,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(signs: &[f64]) -> Vec<Label> {
        signs
            .iter()
            .map(|&s| if s > 0.0 { Label::Pos } else { Label::Neg })
            .collect()
    }

    /// The 1-D data set of the hand-derived optimum: x = +1 with labels
    /// (+, +, +, −) and x = −1 with labels (−, −, −, +).
    fn symmetric_1d() -> (DMatrix<f64>, Vec<Label>) {
        let x = DMatrix::from_column_slice(8, 1, &[1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0]);
        let y = labels(&[1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0]);
        (x, y)
    }

    /// Bisection for the root of an increasing function on [lo, hi].
    fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
        assert!(f(lo) < 0.0 && f(hi) > 0.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if f(mid) > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        0.5 * (lo + hi)
    }

    #[test]
    fn softplus_and_sigmoid_are_stable() {
        assert_eq!(softplus(-800.0), 0.0);
        assert_eq!(softplus(800.0), 800.0);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-16);
        assert!((softplus(-40.0) - (-40f64).exp()).abs() < 1e-30);
        assert_eq!(sigmoid(-800.0), 0.0);
        assert_eq!(sigmoid(800.0), 1.0);
        assert_eq!(sigmoid(0.0), 0.5);
    }

    /// `L(w) = ¾ softplus(−w) + ¼ softplus(w)` has `L'(w) = σ(w) − ¾`, so
    /// `w* = ln 3`; the data are symmetric under `(x, y) → (−x, −y)`, so `b* = 0`.
    #[test]
    fn plain_logistic_regression_matches_the_hand_derived_optimum() {
        let (x, y) = symmetric_1d();
        for threat in [Threat::l2(), Threat::linf(), Threat::l1()] {
            let (clf, report) =
                adversarial_training_with_report(&x, &y, &threat, 0.0, &TrainingOptions::default())
                    .unwrap();
            assert!((clf.weights()[0] - 3f64.ln()).abs() < 1e-8, "{clf:?}");
            assert!(clf.bias().abs() < 1e-8);
            assert_eq!(report.criterion, Stationarity::Gradient);
            // L(ln 3) = ¾ ln(4/3) + ¼ ln 4.
            let loss = 0.75 * (4.0f64 / 3.0).ln() + 0.25 * 4f64.ln();
            assert!((report.loss - loss).abs() < 1e-15);
        }
    }

    /// In 1-D every threat has `σ_K(w) = |w|`. For `w > 0` the robust loss is
    /// `¾ softplus(−(1 − ε)w) + ¼ softplus((1 + ε)w) + (λ/2)w²`, whose
    /// derivative `−¾(1 − ε)σ(−(1 − ε)w) + ¼(1 + ε)σ((1 + ε)w) + λw` is
    /// increasing: its root, found by bisection, is the optimum.
    #[test]
    fn robust_and_ridge_optima_in_one_dimension() {
        let (x, y) = symmetric_1d();
        for (eps, lambda) in [(0.2, 0.0), (0.0, 0.1), (0.3, 0.05)] {
            let derivative = |w: f64| {
                -0.75 * (1.0 - eps) * sigmoid(-(1.0 - eps) * w)
                    + 0.25 * (1.0 + eps) * sigmoid((1.0 + eps) * w)
                    + lambda * w
            };
            let expected = bisect(derivative, 1e-9, 10.0);
            let options = TrainingOptions {
                l2_penalty: lambda,
                ..TrainingOptions::default()
            };
            for threat in [Threat::l2(), Threat::linf(), Threat::l1()] {
                let (clf, report) =
                    adversarial_training_with_report(&x, &y, &threat, eps, &options).unwrap();
                assert!(
                    (clf.weights()[0] - expected).abs() < 1e-7,
                    "{threat} ε = {eps}, λ = {lambda}: {} vs {expected} ({report:?})",
                    clf.weights()[0]
                );
                assert!(clf.bias().abs() < 1e-7);
            }
        }
    }

    /// In the 1-D data set the right derivative of the robust loss at
    /// `w = 0`, `(−3(1 − ε) + (1 + ε))/8`, is non-negative for `ε ≥ ½`: there
    /// the minimiser is `w = 0`. OWL-QN (ℓ∞) and the kink handling of the
    /// ellipsoids (ℓ2, generative: the kink subspace is `{0}`) reach it
    /// exactly; for ℓ3, which has no kink handling, the iterates collapse
    /// toward it and the line search stalls.
    #[test]
    fn large_budget_gives_the_zero_optimum() {
        let (x, y) = symmetric_1d();
        let cov = Covariance::isotropic(1, 4.0).unwrap();
        // σ_K(w) = 2|w| for the generative threat: the same threshold at ε/2.
        for (threat, eps) in [
            (Threat::linf(), 0.6),
            (Threat::l2(), 0.6),
            (Threat::generative(&cov), 0.3),
        ] {
            assert_eq!(
                adversarial_training(&x, &y, &threat, eps, &TrainingOptions::default()),
                Err(Error::ZeroOptimum { budget: eps }),
                "{threat}"
            );
        }
        let l3 = Threat::lp(3.0).unwrap();
        match adversarial_training(&x, &y, &l3, 0.6, &TrainingOptions::default()) {
            Err(Error::TrainingNoConvergence { reason, .. }) => {
                assert!(reason.contains("collapsed toward w = 0"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        // Just below the threshold the optimum is not zero.
        let clf =
            adversarial_training(&x, &y, &Threat::l2(), 0.45, &TrainingOptions::default()).unwrap();
        assert!(clf.weights()[0] > 0.0);
    }

    /// The data of the kink checks: the eight points of [`symmetric_1d`] in
    /// coordinate 0, each repeated with `x_{1+i} = y δ_i ± 1` for every sign
    /// pattern. At `w = (w₀, 0, …)` the per-point weights are those of the
    /// 1-D problem — `s = σ(−ln 3) = ¼` for the six points with
    /// `y x₀ = 1`, `¾` for the other two, `s̄ = 3/8` at `w₀ = ln 3` — and each
    /// copy pair contributes `2yδ_i` to `Σ s_j y_j x_{j,1+i}`, so
    ///
    /// ```text
    /// ∂_{w_{1+i}} F = −(1/n) Σ_j s_j y_j x_{j,1+i} = −3δ_i/8,   εs̄ = 3ε/8.
    /// ```
    ///
    /// On `N = {w_{1..} = 0}` the loss is the 1-D logistic loss, minimal at
    /// `w₀ = ln 3`, `b = 0`. For `A = (0; B)` with `B` invertible, that point
    /// is the minimiser iff `−∇_G F ∈ (3ε/8) B·{‖u‖ ≤ 1}`, i.e. iff
    /// `‖B⁻¹δ‖ ≤ ε`; otherwise the minimiser is off the kink.
    fn kink_data(deltas: &[f64]) -> (DMatrix<f64>, Vec<Label>) {
        let (base_x, base_y) = symmetric_1d();
        let g = deltas.len();
        let copies = 1usize << g;
        let n = base_x.nrows() * copies;
        let mut x = DMatrix::zeros(n, 1 + g);
        let mut y = Vec::with_capacity(n);
        for j in 0..base_x.nrows() {
            let label = base_y[j].sign();
            for pattern in 0..copies {
                let row = j * copies + pattern;
                x[(row, 0)] = base_x[(j, 0)];
                for (i, delta) in deltas.iter().enumerate() {
                    let noise = if pattern >> i & 1 == 1 { 1.0 } else { -1.0 };
                    x[(row, 1 + i)] = label * delta + noise;
                }
                y.push(base_y[j]);
            }
        }
        (x, y)
    }

    /// Threats whose body is `{(0, Bu) : ‖u‖ ≤ 1}` on `1 + g` coordinates,
    /// with their `B` (rows: the kink coordinates 1..=g).
    fn kink_threats(g: usize) -> Vec<(Threat, DMatrix<f64>)> {
        let d = 1 + g;
        // Eigenspace and generative rank g: the g largest variances sit on
        // the kink coordinates; off-manifold 1: the largest on coordinate 0.
        let rising = Covariance::diagonal(DVector::from_fn(d, |i, _| (1 + i * i) as f64)).unwrap();
        let falling =
            Covariance::diagonal(DVector::from_fn(d, |i, _| 9.0 / (1 + i) as f64)).unwrap();
        let root_variances = DMatrix::from_fn(g, g, |r, c| {
            if r == c {
                ((2 + r * (r + 2)) as f64).sqrt()
            } else {
                0.0
            }
        });
        let mixing = DMatrix::from_fn(g, g, |r, c| if r == c { 1.5 } else { 0.7 - r as f64 });
        let mut factor = DMatrix::zeros(d, g);
        factor.rows_mut(1, g).copy_from(&mixing);
        vec![
            (
                Threat::eigenspace(&rising, g).unwrap(),
                DMatrix::identity(g, g),
            ),
            (Threat::generative_rank(&rising, g).unwrap(), root_variances),
            (
                Threat::off_manifold(&falling, 1).unwrap(),
                DMatrix::identity(g, g),
            ),
            (Threat::ellipsoid(factor).unwrap(), mixing),
        ]
    }

    /// The robust loss of the module docs, written out independently with
    /// `σ_K(w) = ‖Bᵀ w_{1..}‖`.
    fn kink_loss(x: &DMatrix<f64>, y: &[Label], b: &DMatrix<f64>, eps: f64, theta: &[f64]) -> f64 {
        let d = x.ncols();
        let w_kink = DVector::from_column_slice(&theta[1..d]);
        let support = (b.transpose() * w_kink).norm();
        let mut sum = 0.0;
        for (j, label) in y.iter().enumerate() {
            let score: f64 = (0..d).map(|i| theta[i] * x[(j, i)]).sum::<f64>() + theta[d];
            sum += softplus(eps * support - label.sign() * score);
        }
        sum / y.len() as f64
    }

    /// `δ = ρ ε B z/‖z‖` for a fixed direction `z`, so `‖B⁻¹δ‖ = ρε`.
    fn kink_deltas(b: &DMatrix<f64>, eps: f64, ratio: f64) -> Vec<f64> {
        let g = b.nrows();
        let z = DVector::from_fn(g, |i, _| [0.8, -0.6][i]);
        let delta = b * z.normalize() * (ratio * eps);
        delta.as_slice().to_vec()
    }

    #[test]
    fn the_minimiser_on_the_kink_is_reached_exactly() {
        let eps = 0.4;
        for g in [1, 2] {
            for (threat, b) in kink_threats(g) {
                let (x, y) = kink_data(&kink_deltas(&b, eps, 0.8));
                let (clf, report) = adversarial_training_with_report(
                    &x,
                    &y,
                    &threat,
                    eps,
                    &TrainingOptions::default(),
                )
                .unwrap();
                let w = clf.weights();
                assert_eq!(
                    report.criterion,
                    Stationarity::MinimalSubgradient,
                    "{threat}"
                );
                assert!(report.gradient_norm <= 1e-8, "{threat}: {report:?}");
                // Axis-aligned kink subspaces are projected onto exactly; the
                // general factor goes through its SVD (rounding of Q's
                // entries: ~1e-16 relative).
                for i in 1..=g {
                    assert!(w[i].abs() <= 1e-14 * w[0], "{threat}: w = {w}");
                }
                if threat.is_ellipsoid() && threat.spectral_family().is_some() {
                    assert!(w.rows(1, g).iter().all(|&v| v == 0.0), "{threat}: w = {w}");
                }
                assert!((w[0] - 3f64.ln()).abs() < 1e-8, "{threat}: w = {w}");
                assert!(clf.bias().abs() < 1e-8);
            }
        }
    }

    /// Past the threshold `‖B⁻¹δ‖ = ε` the minimiser leaves the kink: a
    /// smooth stationary point, checked against the independent loss — no
    /// coordinate step of ±h lowers it (a minimum of a convex function that
    /// is differentiable there).
    #[test]
    fn past_the_threshold_the_minimiser_leaves_the_kink() {
        let eps = 0.4;
        for g in [1, 2] {
            for (threat, b) in kink_threats(g) {
                let deltas = kink_deltas(&b, eps, 1.25);
                let (x, y) = kink_data(&deltas);
                let (clf, report) = adversarial_training_with_report(
                    &x,
                    &y,
                    &threat,
                    eps,
                    &TrainingOptions::default(),
                )
                .unwrap();
                assert_eq!(report.criterion, Stationarity::Gradient, "{threat}");
                let w = clf.weights();
                assert!(threat.support(w) > 1e-3 * w.norm(), "{threat}: w = {w}");
                let alignment: f64 = (0..g).map(|i| w[1 + i] * deltas[i]).sum();
                assert!(alignment > 0.0, "{threat}: w = {w}, δ = {deltas:?}");
                let mut theta: Vec<f64> = w.iter().copied().collect();
                theta.push(clf.bias());
                let at = kink_loss(&x, &y, &b, eps, &theta);
                assert!((at - report.loss).abs() < 1e-14, "{at} vs {}", report.loss);
                // At h = 1e-4 a curvature of order 0.1 raises the loss by
                // ~1e-9, far above its rounding (~1e-16).
                let h = 1e-4;
                for i in 0..theta.len() {
                    for step in [h, -h] {
                        let mut moved = theta.clone();
                        moved[i] += step;
                        assert!(
                            kink_loss(&x, &y, &b, eps, &moved) > at,
                            "{threat}, coordinate {i}"
                        );
                    }
                }
            }
        }
    }

    /// The minimal-norm element of `{g + τAu : ‖u‖ ≤ 1}` for every kind of
    /// kink subspace, checked by its optimality certificate: `e = g + τAu`
    /// with `‖u‖ ≤ 1` (`u` from least squares on the explicit factor) and
    /// `eᵀ(c − e) ≥ 0` for every `c` of the set, i.e.
    /// `eᵀ(g − e) − τ‖Aᵀe‖ ≥ 0`. For two-column factors also against a
    /// brute-force polar grid over the disc.
    #[test]
    fn minimal_subgradient_is_the_projection_of_zero_onto_the_set() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let d = 4;
        let q = crate::default_model::seeded_rotation(d, 3);
        let values = [5.0, 3.0, 1.0, 0.5];
        let dense = Covariance::dense(
            &q * DMatrix::from_diagonal(&DVector::from_row_slice(&values)) * q.transpose(),
        )
        .unwrap();
        let spiked = Covariance::spiked(
            q.columns(0, 2).into_owned(),
            DVector::from_vec(vec![5.0, 3.0]),
            0.5,
        )
        .unwrap();
        let basis = |k: usize| dense.leading_basis(k).unwrap();
        let lead = basis(4);
        let scaled =
            |k: usize| DMatrix::from_fn(d, k, |r, c| lead[(r, c)] * dense.eigenvalues()[c].sqrt());
        let complement = |k: usize| lead.columns(k, d - k).into_owned();
        let noise_projector =
            DMatrix::identity(d, d) - q.columns(0, 2) * q.columns(0, 2).transpose();
        let general = DMatrix::from_row_slice(4, 2, &[1.0, 0.2, -0.5, 0.8, 0.3, 0.0, 0.0, 1.1]);
        let cases: Vec<(Threat, DMatrix<f64>)> = vec![
            (Threat::l2(), DMatrix::identity(d, d)),
            (Threat::generative(&dense), scaled(4)),
            (Threat::generative_rank(&dense, 2).unwrap(), scaled(2)),
            (Threat::eigenspace(&dense, 3).unwrap(), basis(3)),
            (Threat::off_manifold(&dense, 2).unwrap(), complement(2)),
            (Threat::off_manifold(&spiked, 2).unwrap(), noise_projector),
            (Threat::ellipsoid(general.clone()).unwrap(), general),
        ];
        let mut rng = StdRng::seed_from_u64(17);
        for (threat, a) in &cases {
            let subspace = KinkSubspace::new(threat).unwrap();
            let pseudo_inverse = a.clone().pseudo_inverse(1e-12).unwrap();
            let mut states = (0, 0);
            for draw in 0..40 {
                let g = DVector::from_fn(d, |_, _| rng.random::<f64>() * 2.0 - 1.0);
                let tau = 10f64.powf(rng.random::<f64>() * 2.0 - 1.5);
                let (e, state) = subspace.minimal_subgradient(&g, tau).unwrap();
                match state {
                    KinkState::Stay => states.0 += 1,
                    _ => states.1 += 1,
                }
                let u = &pseudo_inverse * (&e - &g) / tau;
                let rebuilt = &g + a * &u * tau;
                assert!(
                    (rebuilt - &e).norm() <= 1e-12 * g.norm(),
                    "{threat}: e ∉ g + τ range(A)"
                );
                assert!(u.norm() <= 1.0 + 1e-10, "{threat}: ‖u‖ = {}", u.norm());
                let certificate = e.dot(&(&g - &e)) - tau * (a.transpose() * &e).norm();
                assert!(
                    certificate >= -1e-12 * g.norm_squared(),
                    "{threat}: {certificate}"
                );
                // Stay means e ⊥ range(A), i.e. Aᵀe = 0.
                if state == KinkState::Stay {
                    assert!((a.transpose() * &e).norm() <= 1e-12 * g.norm());
                }
                if a.ncols() == 2 && draw % 4 == 0 {
                    let mut best = f64::INFINITY;
                    for i in 0..=200 {
                        for j in 0..400 {
                            let r = i as f64 / 200.0;
                            let phi = j as f64 * std::f64::consts::TAU / 400.0;
                            let u = DVector::from_vec(vec![r * phi.cos(), r * phi.sin()]);
                            best = best.min((&g + a * u * tau).norm());
                        }
                    }
                    // The grid spacing (1/200 in radius, 2π/400 in angle)
                    // bounds its excess over the true minimum by ~τ‖A‖/60.
                    assert!(
                        e.norm() <= best + 1e-14,
                        "{threat}: {} vs grid {best}",
                        e.norm()
                    );
                    assert!(best - e.norm() <= 0.02 * tau * a.norm(), "{threat}");
                }
            }
            // The τ range covers both outcomes for every threat.
            assert!(states.0 > 0 && states.1 > 0, "{threat}: {states:?}");
        }
    }

    fn random_data(n: usize, d: usize, seed: u64) -> (DMatrix<f64>, Vec<Label>) {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(seed);
        let x = DMatrix::from_fn(n, d, |_, _| rng.random::<f64>() * 4.0 - 2.0);
        let y = (0..n)
            .map(|i| {
                if x[(i, 0)] + 0.5 * rng.random::<f64>() - 0.25 > 0.1 {
                    Label::Pos
                } else {
                    Label::Neg
                }
            })
            .collect();
        (x, y)
    }

    /// Central differences: error `O(h²) + O(ε_mach/h)`, about 1e-10 at
    /// `h = 1e-5` for losses and curvatures of order one.
    #[test]
    fn gradient_matches_finite_differences_for_smooth_threats() {
        let (x, y) = random_data(60, 4, 11);
        let cov = Covariance::diagonal(DVector::from_vec(vec![2.0, 1.0, 0.5, 0.25])).unwrap();
        let threats = [
            Threat::l2(),
            Threat::lp(3.0).unwrap(),
            Threat::generative(&cov),
            Threat::eigenspace(&cov, 2).unwrap(),
        ];
        for threat in &threats {
            let options = TrainingOptions {
                l2_penalty: 0.3,
                ..TrainingOptions::default()
            };
            let objective = Objective::new(&x, &y, threat, 0.4, &options);
            let theta = DVector::from_vec(vec![0.7, -0.3, 0.2, 0.5, 0.1]);
            let point = objective.evaluate(theta.clone());
            let g = objective.gradient(&point).unwrap().stationary;
            let h = 1e-5;
            for i in 0..5 {
                let mut plus = theta.clone();
                plus[i] += h;
                let mut minus = theta.clone();
                minus[i] -= h;
                let numeric =
                    (objective.evaluate(plus).loss - objective.evaluate(minus).loss) / (2.0 * h);
                assert!(
                    (numeric - g[i]).abs() < 1e-8 * (1.0 + g[i].abs()),
                    "{threat}, coordinate {i}: {numeric} vs {}",
                    g[i]
                );
            }
        }
    }

    /// For ℓ∞ the loss is smooth inside an orthant: away from zeros the
    /// minimal subgradient is the gradient, and finite differences agree.
    #[test]
    fn linf_subgradient_matches_finite_differences_inside_an_orthant() {
        let (x, y) = random_data(60, 3, 5);
        let options = TrainingOptions::default();
        let threat = Threat::linf();
        let objective = Objective::new(&x, &y, &threat, 0.25, &options);
        let theta = DVector::from_vec(vec![0.9, -0.4, 0.3, -0.2]);
        let point = objective.evaluate(theta.clone());
        let g = objective.gradient(&point).unwrap().stationary;
        let h = 1e-6;
        for i in 0..4 {
            let mut plus = theta.clone();
            plus[i] += h;
            let mut minus = theta.clone();
            minus[i] -= h;
            let numeric =
                (objective.evaluate(plus).loss - objective.evaluate(minus).loss) / (2.0 * h);
            assert!((numeric - g[i]).abs() < 1e-8, "{i}: {numeric} vs {}", g[i]);
        }
    }

    #[test]
    fn linf_training_reaches_exact_zeros_and_a_small_minimal_subgradient() {
        // Only feature 0 carries the label; features 1 and 2 are noise, so
        // at a moderate budget their weights are exactly 0.
        let (x, y) = random_data(400, 3, 21);
        let (clf, report) = adversarial_training_with_report(
            &x,
            &y,
            &Threat::linf(),
            0.3,
            &TrainingOptions::default(),
        )
        .unwrap();
        assert_eq!(report.criterion, Stationarity::MinimalSubgradient);
        assert!(report.gradient_norm <= 1e-8);
        assert!(clf.weights()[0] > 0.0);
        assert_eq!(clf.weights()[1], 0.0);
        assert_eq!(clf.weights()[2], 0.0);
    }

    #[test]
    fn separable_data_without_penalty_is_reported() {
        let x = DMatrix::from_column_slice(4, 1, &[1.0, 2.0, -1.0, -2.0]);
        let y = labels(&[1.0, 1.0, -1.0, -1.0]);
        assert_eq!(
            adversarial_training(&x, &y, &Threat::l2(), 0.0, &TrainingOptions::default()),
            Err(Error::LinearlySeparable { budget: 0.0 })
        );
        // Robustly separable at ε = 0.5 (margins 1 and 2 exceed 0.5·|w|).
        assert_eq!(
            adversarial_training(&x, &y, &Threat::l2(), 0.5, &TrainingOptions::default()),
            Err(Error::LinearlySeparable { budget: 0.5 })
        );
        // A ridge penalty restores a minimiser. The data are symmetric, so
        // b = 0 and L(w) = ½ softplus(−w) + ½ softplus(−2w) + 0.05 w², whose
        // derivative −½σ(−w) − σ(−2w) + 0.1 w vanishes at the optimum.
        let options = TrainingOptions {
            l2_penalty: 0.1,
            ..TrainingOptions::default()
        };
        let clf = adversarial_training(&x, &y, &Threat::l2(), 0.0, &options).unwrap();
        assert!(clf.bias().abs() < 1e-8);
        let w = clf.weights()[0];
        let derivative = -0.5 * sigmoid(-w) - sigmoid(-2.0 * w) + 0.1 * w;
        assert!(derivative.abs() < 1e-8, "{w}: {derivative}");
    }

    #[test]
    fn iteration_cap_gives_a_typed_error() {
        let (x, y) = random_data(100, 3, 2);
        let options = TrainingOptions {
            max_iterations: 1,
            ..TrainingOptions::default()
        };
        assert!(matches!(
            adversarial_training(&x, &y, &Threat::l2(), 0.1, &options),
            Err(Error::TrainingNoConvergence {
                iterations: 1,
                reason: "iteration cap reached",
                ..
            })
        ));
    }

    #[test]
    fn training_rejects_bad_input() {
        let (x, y) = random_data(10, 2, 3);
        let o = TrainingOptions::default();
        let l2 = Threat::l2();
        assert!(matches!(
            adversarial_training(&x, &y, &l2, -0.1, &o),
            Err(Error::InvalidBudget { .. })
        ));
        assert!(matches!(
            adversarial_training(&x, &y, &l2, f64::NAN, &o),
            Err(Error::InvalidBudget { .. })
        ));
        assert!(matches!(
            adversarial_training(&x, &y[..9], &l2, 0.1, &o),
            Err(Error::DimensionMismatch { name: "labels", .. })
        ));
        let cov = Covariance::isotropic(3, 1.0).unwrap();
        assert!(matches!(
            adversarial_training(&x, &y, &Threat::generative(&cov), 0.1, &o),
            Err(Error::DimensionMismatch { name: "threat", .. })
        ));
        let mut bad = x.clone();
        bad[(3, 1)] = f64::NAN;
        assert!(matches!(
            adversarial_training(&bad, &y, &l2, 0.1, &o),
            Err(Error::NonFinite { name: "x" })
        ));
        let all_pos = vec![Label::Pos; 10];
        assert!(matches!(
            adversarial_training(&x, &all_pos, &l2, 0.1, &o),
            Err(Error::NotEnoughSamples { found: 0, .. })
        ));
        assert!(matches!(
            adversarial_training(&DMatrix::zeros(0, 2), &[], &l2, 0.1, &o),
            Err(Error::Empty { name: "samples" })
        ));
        for options in [
            TrainingOptions {
                l2_penalty: -1.0,
                ..o.clone()
            },
            TrainingOptions {
                gradient_tolerance: 0.0,
                ..o.clone()
            },
            TrainingOptions {
                max_iterations: 0,
                ..o.clone()
            },
        ] {
            assert!(matches!(
                adversarial_training(&x, &y, &l2, 0.1, &options),
                Err(Error::InvalidParameter { .. })
            ));
        }
    }

    #[test]
    fn robust_error_counts_margins_within_reach() {
        // Margins 2, 1, 0.5, 3 and −1 (misclassified).
        let x =
            DMatrix::from_row_slice(5, 2, &[2.0, 0.0, 1.0, 5.0, -0.5, 1.0, -3.0, 0.0, -1.0, 0.0]);
        let y = labels(&[1.0, 1.0, -1.0, -1.0, 1.0]);
        let clf = LinearClassifier::new(DVector::from_vec(vec![2.0, 0.0]), 0.0).unwrap();
        // σ(w) = 2 for ℓ2, ℓ∞, ℓ1 alike (w has one non-zero entry); margins
        // under w = (2, 0) are 4, 2, 1, 6, −2; reach 2ε.
        for threat in [Threat::l2(), Threat::linf(), Threat::l1()] {
            let re = |eps| robust_error(&clf, &threat, eps, &x, &y).unwrap();
            assert_eq!(re(0.0), 0.2);
            assert_eq!(re(0.49), 0.2);
            assert_eq!(re(0.5), 0.4);
            assert_eq!(re(1.0), 0.6);
            assert_eq!(re(2.0), 0.8);
            assert_eq!(re(3.0), 1.0);
        }
        // An eigenspace orthogonal to w: unreachable, only the misclassified count.
        let cov = Covariance::diagonal(DVector::from_vec(vec![1.0, 2.0])).unwrap();
        let top = Threat::eigenspace(&cov, 1).unwrap();
        assert_eq!(robust_error(&clf, &top, 100.0, &x, &y).unwrap(), 0.2);
    }

    #[test]
    fn robust_error_rejects_bad_input() {
        let x = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, -1.0, 0.0]);
        let y = labels(&[1.0, -1.0]);
        let clf = LinearClassifier::new(DVector::from_vec(vec![1.0, 0.0]), 0.0).unwrap();
        let l2 = Threat::l2();
        assert!(matches!(
            robust_error(&clf, &l2, -1.0, &x, &y),
            Err(Error::InvalidBudget { .. })
        ));
        assert!(matches!(
            robust_error(&clf, &l2, f64::INFINITY, &x, &y),
            Err(Error::InvalidBudget { .. })
        ));
        assert!(matches!(
            robust_error(&clf, &l2, 0.1, &x, &y[..1]),
            Err(Error::DimensionMismatch { name: "labels", .. })
        ));
        assert!(matches!(
            robust_error(&clf, &l2, 0.1, &DMatrix::zeros(2, 3), &y),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            robust_error(&clf, &l2, 0.1, &DMatrix::zeros(0, 2), &[]),
            Err(Error::Empty { .. })
        ));
        let mut bad = x.clone();
        bad[(1, 1)] = f64::INFINITY; // w₂ = 0, yet 0·∞ is caught
        assert!(matches!(
            robust_error(&clf, &l2, 0.1, &bad, &y),
            Err(Error::NonFinite { name: "x" })
        ));
        let cov = Covariance::isotropic(3, 1.0).unwrap();
        assert!(matches!(
            robust_error(&clf, &Threat::generative(&cov), 0.1, &x, &y),
            Err(Error::DimensionMismatch { .. })
        ));
    }
}
