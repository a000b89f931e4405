//! The robust optimum at one budget: its classifier, robust error and
//! certificate.

use std::fmt;
use std::sync::Arc;

use nalgebra::DVector;

use crate::classifier::LinearClassifier;

use super::secular::EllipsoidProblem;
use super::{ExtendedCovariance, GrowthBasis, Placement};
use crate::normal;

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
/// it nor on the center.
///
/// Cloning is cheap: the prepared problem of a sweep is shared.
///
/// With feature `serde` an optimum is written as its inputs (model, threat,
/// budget, solver options) and its results (distance, gap, iterations, and
/// the multiplier or the dual solver's weights and adversary). Reading it
/// solves the problem again and checks the stored results against the new
/// solution: the two certified intervals `[distance, distance + gap]` must
/// overlap (up to rounding), multipliers agree to `1e-12` relative, the
/// stored weights attain the stored distance as their primal ratio, and the
/// stored adversary lies within the distance the two certificates allow of
/// the new one; otherwise it is an error naming the field. The value read
/// keeps the stored results.
///
/// The file carries a layout version, `"format": 1`, written first. A file
/// of an older format (one without the field was written before versioning)
/// is read from its inputs alone: the problem is solved again and the value
/// read holds the new results; the stored results are ignored (an older
/// solver's results agree with today's only within the certified gaps). A
/// file of a newer format is an
/// [`Error::UnsupportedFormat`](crate::Error::UnsupportedFormat) naming
/// both versions.
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
    pub(crate) budget: f64,
    pub(crate) distance: f64,
    pub(crate) gap: f64,
    pub(crate) rounding: f64,
    pub(crate) iterations: usize,
    pub(crate) solution: Solution,
    pub(crate) placement: Arc<Placement>,
}

#[derive(Clone)]
pub(crate) enum Solution {
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

    /// The adversary's optimal shift `z* ∈ εK`, the minimizer of
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
        normal::two_class_error(self.distance, self.placement.prior_pos)
    }

    /// `ln RE*`, accurate when the robust error underflows: the two
    /// `ln Φ` terms of [`robust_error`](Self::robust_error) combined by
    /// log-sum-exp (relative accuracy that of `ln Φ`, [THEORY §11](crate::theory#11-numerical-contract)).
    pub fn ln_robust_error(&self) -> f64 {
        normal::ln_two_class_error(self.distance, self.placement.prior_pos)
    }

    /// The certified duality gap `≥ 0`: the dual value of a feasible shift
    /// minus the primal ratio of the classifier. `r* ∈ [distance, distance + gap]`.
    pub fn gap(&self) -> f64 {
        self.gap
    }

    /// The part of [`gap`](Self::gap) that bounds floating-point rounding
    /// (of the covariance's decomposition, the threat's preparation and the
    /// certificate's own evaluation), `0 ≤ rounding ≤ gap`. The rest,
    /// `gap − rounding`, is the solver's optimization gap, which
    /// [`SolverOptions::gap_tolerance`](crate::SolverOptions::gap_tolerance) controls.
    pub fn rounding(&self) -> f64 {
        self.rounding
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
                    optimum: self.clone(),
                })
            }
            Solution::Dual { .. } => None,
        }
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
            && self.rounding == other.rounding
            && self.iterations == other.iterations
            && self.prior_pos() == other.prior_pos()
            && self.lambda() == other.lambda()
            && self.budget_limit() == other.budget_limit()
            && self.weights() == other.weights()
            && self.adversary() == other.adversary()
    }
}

impl fmt::Debug for RobustOptimum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RobustOptimum")
            .field("budget", &self.budget)
            .field("distance", &self.distance)
            .field("gap", &self.gap)
            .field("rounding", &self.rounding)
            .field("prior_pos", &self.placement.prior_pos)
            .field("lambda", &self.lambda())
            .field("budget_limit", &self.budget_limit())
            .field("iterations", &self.iterations)
            .finish()
    }
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
