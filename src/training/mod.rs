//! Adversarial training in the population: the robust-optimal linear
//! classifier and its certificate ([THEORY §7](crate::theory#7-adversarial-training), P4, P4′ and P5), for every
//! two-class model — any means, any prior.
//!
//! # The robust optimum of a general model (P4′)
//!
//! For `x | y ~ N(μ_y, Σ)`, `P(y = +1) = π`, and a threat `εK` with
//! `K = −K`, write `c = (μ₊ + μ₋)/2`, `μ = (μ₊ − μ₋)/2`, `s = ‖w‖_Σ`,
//! `ℓ = ln(π/(1 − π))` and, for a classifier `sign(wᵀx + b)`,
//!
//! ```text
//! a = (wᵀμ − εσ_K(w))/s,   β = (b + wᵀc)/s.
//! ```
//!
//! Then ([THEORY P4′](crate::theory#p4-any-means-any-prior))
//!
//! ```text
//! RE_ε(w, b) = π Φ(−a − β) + (1 − π) Φ(−a + β),
//! r*(ε)  = max_w a(w) = min_{z ∈ εK} ‖μ − z‖_{Σ⁻¹},   w* = 2Σ⁻¹(μ − z*),
//! β*     = ℓ/(2r*),   b* = s*·β* − w*ᵀc   (s* = ‖w*‖_Σ),
//! RE*(ε) = π Φ(−r* − β*) + (1 − π) Φ(−r* + β*)          when r* > 0,
//! RE*(ε) = min(π, 1 − π)  (the constant majority-class rule) when r* = 0.
//! ```
//!
//! *Proof.* The attacker moves a point of class `y` by `δ ∈ εK` to lower
//! its margin `y(wᵀx + b)` by at most `max_{δ∈εK} wᵀδ = εσ_K(w)` (the same
//! for both classes since `K = −K`). The margin of class `+1` is
//! `N(wᵀμ₊ + b, s²)` and `wᵀμ₊ + b = s(a + β) + εσ_K(w)`; the margin of
//! class `−1` is `N(−wᵀμ₋ − b, s²)` with `−wᵀμ₋ − b = s(a − β) + εσ_K(w)`.
//! A point is robustly misclassified when its margin is at most
//! `εσ_K(w)`, which gives the formula for `RE_ε(w, b)`. Only `a` depends on
//! the direction of `w`, only `β` on the bias, and every `β ∈ ℝ` is reached
//! by some `b`. For fixed `a`, with `f(β) = π Φ(−a − β) + (1 − π) Φ(−a + β)`,
//!
//! ```text
//! f′(β) = (1 − π) φ(β − a) − π φ(β + a) = φ(β + a) · ((1 − π) e^{2aβ} − π).
//! ```
//!
//! If `a > 0` the bracket increases from `−π` to `+∞`, so `f` falls then
//! rises and its only stationary point `e^{2aβ} = π/(1 − π)`, i.e.
//! `β* = ℓ/(2a)`, is the global minimum. Its value `E(a) = min_β f` is the
//! Bayes error of the one-dimensional problem `N(±a, 1)` with prior `π`,
//! strictly below `min(π, 1 − π) = lim_{β→±∞} f`, and strictly decreasing in
//! `a`: by the envelope theorem `E′(a) = ∂f/∂a = −π φ(a + β*) −
//! (1 − π) φ(a − β*) < 0`. If `a ≤ 0` the bracket is non-increasing, so `f`
//! has no interior minimum and `f > min(π, 1 − π)` for every finite `β`.
//! Hence `min_{w,b} RE_ε = E(max_w a(w))` when `max a > 0`: the optimal
//! direction is the one maximising `a`, which is the symmetric problem's
//! ([THEORY P4](crate::theory#p4-robust-optimum): `max_w a(w) = r*` with maximiser `w*`), independent of `π`
//! and `c`, and the optimal bias is `b* = s*β* − w*ᵀc`. When `r* = 0` no
//! classifier has `a > 0`, and the infimum `min(π, 1 − π)` is the error of
//! the constant rule predicting the majority class, which no attack can
//! change; no linear classifier attains it. ∎
//!
//! At `π = 1/2` (`ℓ = 0`): `β* = 0`, `RE* = Φ(−r*)`, and with `c = 0` the
//! bias is 0 — the symmetric model's P4, computed exactly as before. For
//! `w* = 2Σ⁻¹(μ − z*)` exactly, `s* = 2r*` and `b* = ℓ − w*ᵀc`: the Bayes
//! bias of the model `N(μ_y, Σ + λM)` with prior `π`, so P5 holds for
//! general models bias included. The crate computes `b* = s*·ℓ/(2r*) −
//! w*ᵀc` from the returned weights, which makes `β` exactly optimal for
//! the classifier returned (its `a` is the reported `r*`).
//!
//! # Certificates and solvers
//!
//! Every optimum carries a certificate: its classifier's primal ratio
//! `ρ(w) = (wᵀμ − εσ_K(w))/‖w‖_Σ ≤ r*` and a feasible shift's dual value
//! `‖μ − z‖_{Σ⁻¹} ≥ r*`; their difference is the [`gap`](RobustOptimum::gap).
//!
//! * **Ellipsoidal threats** (ℓ2, generative full and rank `k`, eigenspace,
//!   off-manifold, general factor `A`, `M = AAᵀ`) have the closed form
//!   `w*(ε) = (Σ + λM)⁻¹(μ₊ − μ₋)` with `λ` from the secular equation
//!   `g(λ) = λ‖Aᵀ(Σ + λM)⁻¹μ‖ = ε`, solved to `1e-13` relative accuracy in
//!   [`secular`]; `λ = ∞` for budgets at or past the limit `ε_max`. The
//!   classifier is the Bayes classifier of the model `N(μ_y, Σ + λM)` (P5):
//!   see [`ExtendedCovariance`]. When `M` shares `Σ`'s eigenvectors a budget
//!   costs `O(d)` (`O(k)` for a spiked model); a general factor costs one
//!   generalised eigendecomposition per (model, threat) pair.
//! * **Other threats** (ℓ∞, ℓ1, ℓp, unions) go to the certified dual solver
//!   of [`dual`], with the stopping rules of [`SolverOptions`].
//!
//! [`Gmm::robust_sweep`] returns the whole curve for a grid of budgets and
//! reuses every decomposition; the input-space weights of each classifier
//! (an `O(d²)` back-transform for a dense covariance) are only built when
//! [`RobustOptimum::classifier`] is called.
//!
//! # Example
//! ```
//! use manifold_robustness::{default_model, Threat};
//!
//! let gmm = default_model();
//! // Generative threat, full latent space: r* = ‖μ‖_{Σ⁻¹} − ε, λ = ε/(‖μ‖_{Σ⁻¹} − ε).
//! let a = gmm.separation() / 2.0; // −Φ⁻¹(0.01) = 2.3263…
//! let opt = gmm.robust_optimum(&Threat::generative(gmm.covariance()), 1.0)?;
//! // The exact r* lies in [distance, distance + gap]; the gap includes rounding.
//! assert!(opt.distance() <= a - 1.0 + 1e-13 && a - 1.0 <= opt.distance() + opt.gap() + 1e-13);
//! assert!((opt.lambda().unwrap() - 1.0 / (a - 1.0)).abs() < 1e-13);
//! assert!((opt.budget_limit().unwrap() - a).abs() < 1e-14);
//! assert!(opt.gap() <= 1e-9 * opt.distance());
//! // Robustness to generative attacks costs no accuracy: w* ∥ w_B.
//! let cos = opt.classifier().unwrap().cosine(&gmm.bayes_classifier())?;
//! assert!((cos - 1.0).abs() < 1e-14);
//!
//! // A whole ℓ2 robust-error curve.
//! let budgets: Vec<f64> = (0..100).map(|i| 0.01 * i as f64).collect();
//! let curve = gmm.robust_sweep(&Threat::l2(), &budgets)?;
//! assert!(curve.windows(2).all(|p| p[0].robust_error() <= p[1].robust_error()));
//! # Ok::<(), manifold_robustness::Error>(())
//! ```

use std::fmt;
use std::sync::Arc;

use nalgebra::DVector;

use crate::classifier::LinearClassifier;
use crate::covariance::Covariance;
use crate::error::{Result, ensure_budget};
use crate::gmm::Gmm;
use crate::normal;
use crate::roots::{Brent, Evaluation};
use crate::threat::Threat;

pub mod dual;
pub mod secular;

pub use dual::SolverOptions;

use secular::{EllipsoidProblem, WarmStart};

/// The population robust optimum at one budget ([THEORY P4](crate::theory#p4-robust-optimum), P4′), with its
/// certificate.
///
/// `r*` is reported as the primal ratio `ρ(w*)` of the returned classifier,
/// so [`robust_error`](Self::robust_error) (`Φ(−r*)` at prior 1/2, the P4′
/// value in general) is exactly what [`classifier`](Self::classifier) with
/// its optimal [`bias`](Self::bias) achieves, and the true `r*` lies in
/// `[distance, distance + gap]`. For ellipsoidal threats the gap is at the
/// rounding level (`≈ 1e-16 r*`). The model's prior is kept
/// ([`prior_pos`](Self::prior_pos)); the direction `w*` does not depend on
/// it nor on the centre.
///
/// Cloning is cheap: the prepared problem of a sweep is shared.
///
/// # Example
/// ```
/// use manifold_robustness::{Covariance, Gmm, Threat};
/// use manifold_robustness::nalgebra::DVector;
///
/// // Σ = I, μ = (3, 4): ℓ2 training shrinks r* = ‖μ‖ − ε and keeps w ∥ μ.
/// let gmm = Gmm::symmetric(DVector::from_vec(vec![3.0, 4.0]), Covariance::isotropic(2, 1.0)?)?;
/// let opt = gmm.robust_optimum(&Threat::l2(), 2.0)?;
/// // The exact r* = 3 lies in the certified interval [distance, distance + gap].
/// assert!(opt.distance() <= 3.0 && 3.0 <= opt.distance() + opt.gap() && opt.gap() < 1e-13);
/// assert_eq!(opt.budget_limit(), Some(5.0));
/// // (I + λI)⁻¹ 2μ with λ = ε/(‖μ‖ − ε) = 2/3.
/// assert!((opt.lambda().unwrap() - 2.0 / 3.0).abs() < 1e-15);
/// let w = opt.classifier().unwrap();
/// assert!((w.weights()[0] - 3.6).abs() < 1e-14 && (w.weights()[1] - 4.8).abs() < 1e-14);
/// // Past the limit nothing beats a coin flip.
/// let past = gmm.robust_optimum(&Threat::l2(), 5.0)?;
/// assert!(past.classifier().is_none());
/// assert_eq!(past.robust_error(), 0.5);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Clone)]
pub struct RobustOptimum {
    budget: f64,
    distance: f64,
    gap: f64,
    iterations: usize,
    solution: Solution,
    placement: Arc<Placement>,
}

/// What a general model adds to the symmetric problem ([THEORY P4′](crate::theory#p4-any-means-any-prior)): the
/// prior and the centre, which set the optimal bias and error but not the
/// direction.
#[derive(Debug)]
pub(crate) struct Placement {
    prior_pos: f64,
    /// `ℓ = ln(π/(1 − π))`, exactly 0 at `π = 1/2`.
    log_odds: f64,
    /// `c = (μ₊ + μ₋)/2`; `None` when it is exactly zero.
    center: Option<DVector<f64>>,
    covariance: Covariance,
}

impl Placement {
    fn of(gmm: &Gmm) -> Arc<Placement> {
        let center = gmm.center();
        let prior_pos = gmm.prior_pos();
        Arc::new(Placement {
            prior_pos,
            log_odds: log_odds(prior_pos),
            center: (center.iter().any(|&x| x != 0.0)).then_some(center),
            covariance: gmm.covariance().clone(),
        })
    }

    /// `b* = s·ℓ/(2r) − wᵀc` for weights `w` whose ratio is `r`; `None`
    /// when it is not finite (`r ≤ 0` with `π ≠ 1/2`: no classifier beats
    /// the constant rule).
    fn optimal_bias(&self, weights: &DVector<f64>, distance: f64) -> Option<f64> {
        let mut bias = 0.0;
        if self.log_odds != 0.0 {
            if distance <= 0.0 {
                return None;
            }
            let s = self
                .covariance
                .spectral_sum_unchecked(weights, |_, l| l)
                .sqrt();
            bias = s * (self.log_odds / (2.0 * distance));
        }
        if let Some(center) = &self.center {
            bias -= weights.dot(center);
        }
        bias.is_finite().then_some(bias)
    }
}

/// `ℓ = ln(π/(1 − π))`, exactly 0 at `π = 1/2`.
fn log_odds(prior_pos: f64) -> f64 {
    (prior_pos / (1.0 - prior_pos)).ln()
}

/// The optimal robust error for adversarial distance `r` and prior `π`
/// ([THEORY P4′](crate::theory#p4-any-means-any-prior)): `π Φ(−r − β*) + (1 − π) Φ(−r + β*)` with `β* = ℓ/(2r)`,
/// the Bayes error of the one-dimensional problem `N(±r, 1)`; `Φ(−r)` at
/// `π = 1/2` and `min(π, 1 − π)` for `r ≤ 0`. Strictly decreasing in
/// `r > 0`, from `min(π, 1 − π)` to 0.
pub(crate) fn optimal_error(distance: f64, prior_pos: f64) -> f64 {
    let l = log_odds(prior_pos);
    if l == 0.0 {
        return normal::cdf(-distance);
    }
    if distance <= 0.0 {
        return prior_pos.min(1.0 - prior_pos);
    }
    let beta = l / (2.0 * distance);
    prior_pos * normal::cdf(-distance - beta) + (1.0 - prior_pos) * normal::cdf(-distance + beta)
}

/// `ln` of [`optimal_error`], accurate when the error underflows: the two
/// `ln Φ` terms combined by log-sum-exp.
pub(crate) fn ln_optimal_error(distance: f64, prior_pos: f64) -> f64 {
    let l = log_odds(prior_pos);
    if l == 0.0 {
        return normal::ln_cdf(-distance);
    }
    if distance <= 0.0 {
        return prior_pos.min(1.0 - prior_pos).ln();
    }
    let beta = l / (2.0 * distance);
    let log_pos = prior_pos.ln() + normal::ln_cdf(-distance - beta);
    let log_neg = (-prior_pos).ln_1p() + normal::ln_cdf(-distance + beta);
    let (hi, lo) = if log_pos >= log_neg {
        (log_pos, log_neg)
    } else {
        (log_neg, log_pos)
    };
    hi + (lo - hi).exp().ln_1p()
}

/// Relative tolerance of [`distance_for_error`] on `r`.
const DISTANCE_TOLERANCE: f64 = 4.0 * f64::EPSILON;

/// The inverse of [`optimal_error`]: the distance `r ≥ 0` with
/// `RE*(r) = τ`, for `0 < τ ≤ min(π, 1 − π)` (`r = 0` at the upper end).
///
/// At `π = 1/2` it is `−Φ⁻¹(τ)`. Otherwise `RE*` is strictly decreasing and
/// bracketed: `2 min(π, 1 − π) Φ(−r) ≤ RE*(r) ≤ Φ(−r)` (the upper bound is
/// the error at `β = 0`; the lower one holds because
/// `Φ(−r − β) + Φ(−r + β) ≥ 2Φ(−r)`, its derivative in `β` having the sign
/// of `β`), so the root lies in `[−Φ⁻¹(τ/(2 min(π, 1 − π))), −Φ⁻¹(τ)]`;
/// Brent's method on `ln RE*(r) − ln τ` finds it to relative accuracy
/// `4ε` in `r`.
pub(crate) fn distance_for_error(target: f64, prior_pos: f64) -> Result<f64> {
    if log_odds(prior_pos) == 0.0 {
        return Ok(-normal::quantile(target)?);
    }
    let minority = prior_pos.min(1.0 - prior_pos);
    if target >= minority {
        return Ok(0.0);
    }
    let lo = -normal::quantile(target / (2.0 * minority))?;
    let hi = -normal::quantile(target)?;
    let ln_target = target.ln();
    let f = |r: f64| ln_optimal_error(r, prior_pos) - ln_target;
    let (f_lo, f_hi) = (f(lo), f(hi));
    // Rounding can put an end a hair on the wrong side: it is then the root.
    if f_lo <= 0.0 {
        return Ok(lo);
    }
    if f_hi >= 0.0 {
        return Ok(hi);
    }
    let brent = Brent {
        absolute: 0.0,
        relative: DISTANCE_TOLERANCE,
        max_iterations: 200,
        name: "distance for an optimal robust error",
    };
    let root = brent.solve(
        |r| {
            Ok(Evaluation {
                value: f(r),
                accept: false,
            })
        },
        lo,
        hi,
        f_lo,
        f_hi,
    )?;
    Ok(root.x)
}

#[derive(Clone)]
enum Solution {
    /// Closed form: the prepared pencil and the multiplier.
    Ellipsoid {
        problem: Arc<EllipsoidProblem>,
        lambda: f64,
    },
    /// The certified dual solver's answer.
    Dual {
        weights: DVector<f64>,
        adversary: DVector<f64>,
    },
}

impl RobustOptimum {
    /// The budget `ε`.
    pub fn budget(&self) -> f64 {
        self.budget
    }

    /// The robust-optimal classifier: weights `w* = (Σ + λM)⁻¹(μ₊ − μ₋)`
    /// (ellipsoids) or `2Σ⁻¹(μ − z*)`, with the optimal bias
    /// `b* = s*·ln(π/(1 − π))/(2r*) − w*ᵀc` (module docs, P4′; 0 for the
    /// symmetric model). `None` when `r* = 0`: no linear classifier beats
    /// the constant majority-class rule, whose robust error
    /// `min(π, 1 − π)` is then [`robust_error`](Self::robust_error).
    ///
    /// The weights are built on each call for ellipsoids (`O(d²)` for a
    /// dense covariance, `O(dk)` spiked, `O(d)` diagonal); the bias of a
    /// general model costs one more pass of the same order.
    pub fn classifier(&self) -> Option<LinearClassifier> {
        let weights = self.weights()?;
        let bias = self.placement.optimal_bias(&weights, self.distance)?;
        LinearClassifier::new(weights, bias).ok()
    }

    /// The optimal bias `b*` of [`classifier`](Self::classifier) (module
    /// docs, P4′), `None` when there is no classifier. Costs as much as
    /// [`classifier`](Self::classifier).
    pub fn bias(&self) -> Option<f64> {
        self.classifier().map(|clf| clf.bias())
    }

    /// The prior `π = P(y = +1)` of the model the optimum was computed for.
    pub fn prior_pos(&self) -> f64 {
        self.placement.prior_pos
    }

    fn weights(&self) -> Option<DVector<f64>> {
        match &self.solution {
            Solution::Ellipsoid { problem, lambda } => problem.weights(*lambda),
            Solution::Dual { weights, .. } => Some(weights.clone()),
        }
    }

    /// The adversary's optimal shift `z* ∈ εK`, the minimiser of
    /// `‖μ − z‖_{Σ⁻¹}` (for ellipsoids `z* = λMw*/2`).
    pub fn adversary(&self) -> DVector<f64> {
        match &self.solution {
            Solution::Ellipsoid { problem, lambda } => problem.adversary(*lambda),
            Solution::Dual { adversary, .. } => adversary.clone(),
        }
    }

    /// The adversarial Mahalanobis distance `r*` (as the primal ratio of
    /// [`classifier`](Self::classifier); see the type docs).
    pub fn distance(&self) -> f64 {
        self.distance
    }

    /// The optimal robust error `RE* = π Φ(−r* − β*) + (1 − π) Φ(−r* + β*)`,
    /// `β* = ln(π/(1 − π))/(2r*)` (P4′): `Φ(−r*)` at prior 1/2, and
    /// `min(π, 1 − π)` when `r* = 0`.
    pub fn robust_error(&self) -> f64 {
        optimal_error(self.distance, self.placement.prior_pos)
    }

    /// `ln RE*`, accurate when the robust error underflows: the two
    /// `ln Φ` terms of [`robust_error`](Self::robust_error) combined by
    /// log-sum-exp (relative accuracy that of `ln Φ`, [THEORY §11](crate::theory#11-numerical-contract)).
    pub fn ln_robust_error(&self) -> f64 {
        ln_optimal_error(self.distance, self.placement.prior_pos)
    }

    /// The certified duality gap `≥ 0`: the dual value of a feasible shift
    /// minus the primal ratio of the classifier. `r* ∈ [distance, distance + gap]`.
    pub fn gap(&self) -> f64 {
        self.gap
    }

    /// The multiplier `λ` of an ellipsoidal threat (`f64::INFINITY` at or past
    /// the budget limit, 0 at `ε = 0`); `None` for other threats.
    pub fn lambda(&self) -> Option<f64> {
        match &self.solution {
            Solution::Ellipsoid { lambda, .. } => Some(*lambda),
            Solution::Dual { .. } => None,
        }
    }

    /// The budget limit `ε_max` of an ellipsoidal threat (from it on
    /// `λ = ∞`); `None` for other threats.
    pub fn budget_limit(&self) -> Option<f64> {
        match &self.solution {
            Solution::Ellipsoid { problem, .. } => Some(problem.equation().budget_limit()),
            Solution::Dual { .. } => None,
        }
    }

    /// Iterations of the solver: Newton steps of the secular equation (0 for
    /// the closed-form cases) or iterations of the dual solver.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// The extended covariance `Σ + λM` whose Bayes classifier `w*` is
    /// ([THEORY P5](crate::theory#p5-adversarial-training-extends-the-data-distribution)); `None` for non-ellipsoidal threats. `O(d)` to build.
    pub fn extended_covariance(&self) -> Option<ExtendedCovariance> {
        match &self.solution {
            Solution::Ellipsoid { problem, lambda } => {
                let data = problem.growth(*lambda);
                Some(ExtendedCovariance {
                    lambda: *lambda,
                    basis: if data.shared {
                        GrowthBasis::Eigenbasis
                    } else {
                        GrowthBasis::Generalized
                    },
                    before: data.before,
                    after: data.after,
                    growth: data.growth,
                    multiplicities: data.multiplicities,
                    problem: Arc::clone(problem),
                })
            }
            Solution::Dual { .. } => None,
        }
    }
}

impl fmt::Debug for RobustOptimum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RobustOptimum")
            .field("budget", &self.budget)
            .field("distance", &self.distance)
            .field("gap", &self.gap)
            .field("prior_pos", &self.placement.prior_pos)
            .field("lambda", &self.lambda())
            .field("budget_limit", &self.budget_limit())
            .field("iterations", &self.iterations)
            .finish()
    }
}

/// Two optima are equal when they give the same answer: budget, distance,
/// gap, iterations, prior, multiplier and budget limit, weights and
/// adversary (how they were computed is not compared).
impl PartialEq for RobustOptimum {
    fn eq(&self, other: &RobustOptimum) -> bool {
        self.budget == other.budget
            && self.distance == other.distance
            && self.gap == other.gap
            && self.iterations == other.iterations
            && self.prior_pos() == other.prior_pos()
            && self.lambda() == other.lambda()
            && self.budget_limit() == other.budget_limit()
            && self.weights() == other.weights()
            && self.adversary() == other.adversary()
    }
}

/// In which directions an [`ExtendedCovariance`] reports its growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum GrowthBasis {
    /// The covariance's own eigen-directions, descending variance (one entry
    /// per spectral block: the noise block of a spiked covariance is one
    /// entry). Used when `M` shares `Σ`'s eigenvectors (ℓ2 and the
    /// model-based threats built from the model's covariance).
    Eigenbasis,
    /// The generalised eigen-directions of `(M, Σ)`, in whitened
    /// coordinates `Σ^{−1/2}x`, where `Σ` becomes `I` and `Σ + λM` becomes
    /// `I + λD`: variances before are 1, after `1 + λd_j`, by descending
    /// `d_j`, with one last entry for the null space of `M` (growth 1) when
    /// `M` is rank-deficient. Used for general factors.
    Generalized,
}

/// The extended covariance `Σ + λM` of [THEORY P5](crate::theory#p5-adversarial-training-extends-the-data-distribution): adversarial training at
/// budget `ε` is exactly Bayes-optimal for the model `N(±μ, Σ + λM)`.
///
/// Per direction (see [`GrowthBasis`]) it holds the variance before and
/// after the extension and their ratio, the relative growth:
/// `1 + λ/λ_i` for ℓ2 (largest along the smallest-variance directions),
/// `1 + λ` on the `k` leading directions and 1 beyond for generative rank
/// `k`, `1 + λ` everywhere for the full-latent generative threat. Past the
/// budget limit (`λ = ∞`) the growth is infinite wherever `M` acts.
///
/// # Example
/// ```
/// use manifold_robustness::{Covariance, Gmm, Threat};
/// use manifold_robustness::nalgebra::DVector;
///
/// let cov = Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0]))?;
/// let gmm = Gmm::symmetric(DVector::from_vec(vec![2.0, 1.0]), cov)?;
/// let opt = gmm.robust_optimum(&Threat::l2(), 1.0)?;
/// let ext = opt.extended_covariance().unwrap();
/// let lambda = opt.lambda().unwrap();
/// assert_eq!(ext.variances_before().as_slice(), &[4.0, 1.0]);
/// assert!((ext.variances_after()[1] - (1.0 + lambda)).abs() < 1e-15);
/// // The small-variance direction grows most.
/// assert!(ext.relative_growth()[1] > ext.relative_growth()[0]);
/// // Σ + λI as a covariance: its Bayes classifier is the robust optimum.
/// let extended = ext.to_covariance()?;
/// let bayes = Gmm::symmetric(gmm.half_difference(), extended)?.bayes_classifier();
/// assert!((bayes.cosine(&opt.classifier().unwrap())? - 1.0).abs() < 1e-15);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Clone)]
pub struct ExtendedCovariance {
    lambda: f64,
    basis: GrowthBasis,
    before: DVector<f64>,
    after: DVector<f64>,
    growth: DVector<f64>,
    multiplicities: Vec<usize>,
    problem: Arc<EllipsoidProblem>,
}

/// Two extensions are equal when their multiplier, basis, variances
/// before and after, growth and multiplicities are.
impl PartialEq for ExtendedCovariance {
    fn eq(&self, other: &ExtendedCovariance) -> bool {
        self.lambda == other.lambda
            && self.basis == other.basis
            && self.before == other.before
            && self.after == other.after
            && self.growth == other.growth
            && self.multiplicities == other.multiplicities
    }
}

impl ExtendedCovariance {
    /// The multiplier `λ` (`f64::INFINITY` past the budget limit).
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The directions the entries refer to.
    pub fn basis(&self) -> GrowthBasis {
        self.basis
    }

    /// Variances before the extension: the eigenvalues `λ_i` of `Σ`
    /// (descending, as `Covariance::eigenvalues`), or 1 in the generalised basis.
    pub fn variances_before(&self) -> &DVector<f64> {
        &self.before
    }

    /// Variances after the extension: `λ_i + λω_i` in the eigenbasis
    /// (`M = U diag(ω) Uᵀ`), `1 + λd_j` in the generalised basis.
    pub fn variances_after(&self) -> &DVector<f64> {
        &self.after
    }

    /// The relative growth `after/before = 1 + λ d_j` per direction
    /// (`d_j = ω_i/λ_i` in the eigenbasis); exactly 1 where `M` does not act,
    /// `f64::INFINITY` where it does when `λ = ∞`.
    pub fn relative_growth(&self) -> &DVector<f64> {
        &self.growth
    }

    /// How many directions each entry stands for (`d − k` for the noise
    /// block of a spiked covariance, `d − rank M` for the null space of a
    /// general factor, else 1).
    pub fn multiplicities(&self) -> &[usize] {
        &self.multiplicities
    }

    /// `Σ + λM` as a [`Covariance`] of the model's representation: diagonal
    /// stays diagonal (`O(d)`), spiked stays spiked (`O(dk)`, leading
    /// directions re-sorted), dense is assembled and decomposed again
    /// (`O(d³)`). For a general factor it is `Σ + λAAᵀ` (dense models only).
    ///
    /// # Errors
    /// [`Error::Unsupported`](crate::Error::Unsupported) past the budget limit (`λ = ∞`), for a spiked
    /// model whose extended noise level exceeds an extended leading variance
    /// (not a spiked covariance), and for a general factor on a diagonal or
    /// spiked model (it would need a `d × d` matrix); the covariance
    /// constructors' errors if `Σ + λM` is not positive definite to working
    /// precision.
    pub fn to_covariance(&self) -> Result<Covariance> {
        self.problem.extended_covariance(self.lambda)
    }
}

impl fmt::Debug for ExtendedCovariance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtendedCovariance")
            .field("lambda", &self.lambda)
            .field("basis", &self.basis)
            .field("variances_before", &self.before.as_slice())
            .field("variances_after", &self.after.as_slice())
            .field("multiplicities", &self.multiplicities)
            .finish()
    }
}

impl Gmm {
    /// The population robust optimum at budget `ε` for any two-class model
    /// ([THEORY P4](crate::theory#p4-robust-optimum), P4′): the adversarially trained linear classifier with
    /// its optimal bias, `r*`, the optimal robust error and the certificate.
    /// Ellipsoidal threats are solved in closed form; other threats by the
    /// certified dual solver with default options.
    ///
    /// With `c = (μ₊ + μ₋)/2`, `μ = (μ₊ − μ₋)/2`, `π = P(y = +1)` and
    /// `ℓ = ln(π/(1 − π))`, a classifier `sign(wᵀx + b)` has robust error
    /// `RE = π Φ(−a − β) + (1 − π) Φ(−a + β)` with
    /// `a = (wᵀμ − εσ_K(w))/‖w‖_Σ` and `β = (b + wᵀc)/‖w‖_Σ`. For fixed
    /// `a > 0` the best `β` is `ℓ/(2a)`, leaving the Bayes error of a
    /// one-dimensional problem with separation `2a`, which decreases in `a`;
    /// so the optimal direction maximises `a` — the symmetric problem's `w*`,
    /// `r* = max a` — and
    ///
    /// ```text
    /// b* = ‖w*‖_Σ · ℓ/(2r*) − w*ᵀc,   RE* = π Φ(−r* − ℓ/(2r*)) + (1 − π) Φ(−r* + ℓ/(2r*)),
    /// ```
    ///
    /// while for `r* = 0` nothing beats the constant majority-class rule,
    /// `RE* = min(π, 1 − π)`. The full proof is in the [module
    /// docs](crate::training).
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{datasets, Fit, Gmm, LinearClassifier, Threat};
    ///
    /// // Digits 4 (+1) against 9 (−1): uncentred means, prior 181/361.
    /// let (x, y) = datasets::digits()?.pair(4, 9)?;
    /// let gmm = Gmm::fit(&x, &y, Fit::LedoitWolf)?;
    /// let (l2, eps) = (Threat::l2(), 1.0);
    /// let opt = gmm.robust_optimum(&l2, eps)?;
    /// assert_eq!(opt.prior_pos(), 181.0 / 361.0);
    /// // The returned classifier, bias included, attains RE*.
    /// let clf = opt.classifier().unwrap();
    /// let attained = gmm.robust_error(&clf, &l2, eps)?;
    /// assert!((attained - opt.robust_error()).abs() <= 1e-12 * attained + 0.4 * opt.gap());
    /// // Any other bias does worse.
    /// for shift in [-0.1, 0.1] {
    ///     let moved = LinearClassifier::new(clf.weights().clone(), clf.bias() + shift)?;
    ///     assert!(gmm.robust_error(&moved, &l2, eps)? > attained);
    /// }
    /// // The direction is the symmetric model's: neither π nor c moves it.
    /// let symmetric = Gmm::symmetric(gmm.half_difference(), gmm.covariance().clone())?;
    /// let w = symmetric.robust_optimum(&l2, eps)?.classifier().unwrap();
    /// assert!((w.cosine(&clf)? - 1.0).abs() < 1e-14);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidBudget`](crate::Error::InvalidBudget) for a negative or non-finite `ε`;
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) for a threat of another dimension;
    /// [`Error::Unsupported`](crate::Error::Unsupported) for a model-based threat built from another
    /// covariance than a diagonal or spiked model's (see [`secular`]);
    /// the dual solver's errors ([`Error::NoConvergence`](crate::Error::NoConvergence), …).
    pub fn robust_optimum(&self, threat: &Threat, eps: f64) -> Result<RobustOptimum> {
        self.robust_optimum_with(threat, eps, &SolverOptions::default())
    }

    /// As [`robust_optimum`](Self::robust_optimum), with the dual solver's
    /// stopping rules. Ellipsoidal threats ignore `options`: their closed
    /// form is always solved to `1e-13` relative accuracy.
    ///
    /// # Errors
    /// As [`robust_optimum`](Self::robust_optimum).
    pub fn robust_optimum_with(
        &self,
        threat: &Threat,
        eps: f64,
        options: &SolverOptions,
    ) -> Result<RobustOptimum> {
        self.check_training(threat)?;
        ensure_budget(eps)?;
        let placement = Placement::of(self);
        match self.prepare_ellipsoid(threat)? {
            Some(problem) => ellipsoid_optimum(&problem, &placement, eps, None).map(|(opt, _)| opt),
            None => self.dual_optimum(threat, eps, options, &placement),
        }
    }

    /// The robust optima for a grid of budgets (any order; the result follows
    /// the input order). Every decomposition is done once: for ellipsoids
    /// each budget then costs `O(d)` (`O(k)` spiked), with each root
    /// warm-started from its neighbour's.
    ///
    /// # Errors
    /// As [`robust_optimum`](Self::robust_optimum); every budget is checked
    /// before any work is done.
    pub fn robust_sweep(&self, threat: &Threat, budgets: &[f64]) -> Result<Vec<RobustOptimum>> {
        self.check_training(threat)?;
        for &eps in budgets {
            ensure_budget(eps)?;
        }
        if budgets.is_empty() {
            return Ok(Vec::new());
        }
        let placement = Placement::of(self);
        let Some(problem) = self.prepare_ellipsoid(threat)? else {
            let options = SolverOptions::default();
            return budgets
                .iter()
                .map(|&eps| self.dual_optimum(threat, eps, &options, &placement))
                .collect();
        };
        // Decreasing budgets have increasing roots s = 1/λ, so each root is
        // a start left of the next one, where one Halley step from the
        // derivatives already known lands close to it (see `secular`).
        let mut order: Vec<usize> = (0..budgets.len()).collect();
        order.sort_by(|&a, &b| budgets[b].total_cmp(&budgets[a]));
        let mut out: Vec<Option<RobustOptimum>> = vec![None; budgets.len()];
        let mut warm = None;
        for i in order {
            let (opt, next) = ellipsoid_optimum(&problem, &placement, budgets[i], warm.as_ref())?;
            warm = next;
            out[i] = Some(opt);
        }
        Ok(out.into_iter().flatten().collect())
    }

    fn check_training(&self, threat: &Threat) -> Result<()> {
        if let Some(d) = threat.dim() {
            crate::error::ensure_dim("threat", self.dim(), d)?;
        }
        Ok(())
    }

    fn prepare_ellipsoid(&self, threat: &Threat) -> Result<Option<Arc<EllipsoidProblem>>> {
        match threat.ellipsoid_view() {
            Some(view) => {
                let mu = self.half_difference();
                Ok(Some(Arc::new(EllipsoidProblem::prepare(
                    self.covariance(),
                    &mu,
                    self.mean_coordinates(),
                    view,
                )?)))
            }
            None => Ok(None),
        }
    }

    fn dual_optimum(
        &self,
        threat: &Threat,
        eps: f64,
        options: &SolverOptions,
        placement: &Arc<Placement>,
    ) -> Result<RobustOptimum> {
        let mu = self.half_difference();
        let solution = dual::solve(self.covariance(), &mu, threat, eps, options)?;
        Ok(RobustOptimum {
            budget: eps,
            distance: solution.lower_bound,
            gap: solution.gap,
            iterations: solution.iterations,
            solution: Solution::Dual {
                weights: solution.weights,
                adversary: solution.adversary,
            },
            placement: Arc::clone(placement),
        })
    }
}

/// Solves one budget of a prepared ellipsoid problem, warm-started from the
/// root of a larger budget; returns the optimum and its own warm start.
fn ellipsoid_optimum(
    problem: &Arc<EllipsoidProblem>,
    placement: &Arc<Placement>,
    eps: f64,
    warm: Option<&WarmStart>,
) -> Result<(RobustOptimum, Option<WarmStart>)> {
    let equation = problem.equation();
    let root = equation.solve_from(eps, warm)?;
    let certificate = equation.certify(eps, &root);
    let opt = RobustOptimum {
        budget: eps,
        distance: certificate.lower,
        gap: certificate.gap(),
        iterations: root.iterations(),
        solution: Solution::Ellipsoid {
            problem: Arc::clone(problem),
            lambda: root.lambda(),
        },
        placement: Arc::clone(placement),
    };
    Ok((opt, root.warm))
}

impl Gmm {
    /// The prepared ellipsoid problem of a threat after the checks of
    /// [`robust_optimum`](Gmm::robust_optimum) (matching dimension); `None` for threats without a closed form. Lets the
    /// trade-off module invert `r*` and then build the optimum from the same
    /// preparation.
    pub(crate) fn ellipsoid_problem(
        &self,
        threat: &Threat,
    ) -> Result<Option<Arc<EllipsoidProblem>>> {
        self.check_training(threat)?;
        self.prepare_ellipsoid(threat)
    }
}

/// The robust optimum of a prepared ellipsoid problem of `gmm` at one
/// budget (as [`Gmm::robust_optimum`] would return it, without preparing
/// again).
pub(crate) fn prepared_optimum(
    gmm: &Gmm,
    problem: &Arc<EllipsoidProblem>,
    eps: f64,
) -> Result<RobustOptimum> {
    ensure_budget(eps)?;
    ellipsoid_optimum(problem, &Placement::of(gmm), eps, None).map(|(opt, _)| opt)
}

/// One line: the budget, the optimal robust error, `r*` with its certified
/// gap, and for ellipsoids `λ` and `ε_max`; the formatter's precision and
/// width apply to each number (`format!("{opt:.6}")`).
impl fmt::Display for RobustOptimum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::display::number;
        write!(
            f,
            "robust optimum at ε = {}: robust error {}, r* = {} (certified gap {})",
            number(f, self.budget()),
            number(f, self.robust_error()),
            number(f, self.distance()),
            number(f, self.gap())
        )?;
        if let (Some(lambda), Some(limit)) = (self.lambda(), self.budget_limit()) {
            write!(
                f,
                ", λ = {}, ε_max = {}",
                number(f, lambda),
                number(f, limit)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optima_can_cross_threads() {
        fn check<T: Send + Sync>() {}
        check::<RobustOptimum>();
        check::<ExtendedCovariance>();
    }
}
