//! Adversarial training in the population: the robust-optimal linear
//! classifier and its certificate ([THEORY §7](crate::theory#7-adversarial-training), [P4–P5](crate::theory#7-adversarial-training)).
//!
//! In the symmetric model (means `±μ`, prior 1/2) population adversarial
//! training with the 0-1 loss minimises
//! `RE_ε(w, b) = ½Φ((εσ_K(w) − wᵀμ − b)/s) + ½Φ((εσ_K(w) − wᵀμ + b)/s)`,
//! `s = ‖w‖_Σ`. The bias `b = 0` is optimal, and ([P4](crate::theory#p4-robust-optimum))
//!
//! ```text
//! min RE_ε = Φ(−r*),   r*(ε) = min_{z ∈ εK} ‖μ − z‖_{Σ⁻¹},   w* = 2Σ⁻¹(μ − z*).
//! ```
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
//!   classifier is the Bayes classifier of the model `N(±μ, Σ + λM)` ([P5](crate::theory#p5-adversarial-training-extends-the-data-distribution)):
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
//! assert!((opt.distance() - (a - 1.0)).abs() < 1e-13);
//! assert!((opt.lambda().unwrap() - 1.0 / (a - 1.0)).abs() < 1e-13);
//! assert!((opt.budget_limit().unwrap() - a).abs() < 1e-14);
//! assert!(opt.gap() < 1e-14);
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
use crate::threat::Threat;

pub mod dual;
pub mod secular;

pub use dual::SolverOptions;

use secular::{EllipsoidProblem, WarmStart};

/// The population robust optimum at one budget ([THEORY P4](crate::theory#p4-robust-optimum)), with its
/// certificate.
///
/// `r*` is reported as the primal ratio `ρ(w*)` of the returned classifier,
/// so [`robust_error`](Self::robust_error) `= Φ(−r*)` is exactly what
/// [`classifier`](Self::classifier) achieves, and the true optimum lies in
/// `[distance, distance + gap]`. For ellipsoidal threats the gap is at the
/// rounding level (`≈ 1e-16 r*`).
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
/// assert!((opt.distance() - 3.0).abs() < 1e-15);
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

    /// The robust-optimal classifier `w* = (Σ + λM)⁻¹(μ₊ − μ₋)` (ellipsoids)
    /// or `2Σ⁻¹(μ − z*)`, with bias 0; `None` when `r* = 0`: no classifier
    /// beats a robust error of 1/2.
    ///
    /// For ellipsoids the weights are built on each call (`O(d²)` for a dense
    /// covariance, `O(dk)` spiked, `O(d)` diagonal).
    pub fn classifier(&self) -> Option<LinearClassifier> {
        let weights = match &self.solution {
            Solution::Ellipsoid { problem, lambda } => problem.weights(*lambda)?,
            Solution::Dual { weights, .. } => weights.clone(),
        };
        LinearClassifier::new(weights, 0.0).ok()
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

    /// The optimal robust error `Φ(−r*)`.
    pub fn robust_error(&self) -> f64 {
        normal::cdf(-self.distance)
    }

    /// `ln Φ(−r*)`, accurate when the robust error underflows.
    pub fn ln_robust_error(&self) -> f64 {
        normal::ln_cdf(-self.distance)
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
            .field("lambda", &self.lambda())
            .field("budget_limit", &self.budget_limit())
            .field("iterations", &self.iterations)
            .finish()
    }
}

/// In which directions an [`ExtendedCovariance`] reports its growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The population robust optimum at budget `ε` ([THEORY P4](crate::theory#p4-robust-optimum)): the
    /// adversarially trained linear classifier, `r*`, the robust error
    /// `Φ(−r*)` and the certificate. Ellipsoidal threats are solved in closed
    /// form; other threats by the certified dual solver with default options.
    ///
    /// # Errors
    /// [`Error::NotSymmetricModel`](crate::Error::NotSymmetricModel) unless means are `±μ` and the prior is
    /// 1/2; [`Error::InvalidBudget`](crate::Error::InvalidBudget) for a negative or non-finite `ε`;
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
        match self.prepare_ellipsoid(threat)? {
            Some(problem) => ellipsoid_optimum(&problem, eps, None).map(|(opt, _)| opt),
            None => self.dual_optimum(threat, eps, options),
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
        let Some(problem) = self.prepare_ellipsoid(threat)? else {
            let options = SolverOptions::default();
            return budgets
                .iter()
                .map(|&eps| self.dual_optimum(threat, eps, &options))
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
            let (opt, next) = ellipsoid_optimum(&problem, budgets[i], warm.as_ref())?;
            warm = next;
            out[i] = Some(opt);
        }
        Ok(out.into_iter().flatten().collect())
    }

    fn check_training(&self, threat: &Threat) -> Result<()> {
        self.symmetry_check()?;
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
        })
    }
}

/// Solves one budget of a prepared ellipsoid problem, warm-started from the
/// root of a larger budget; returns the optimum and its own warm start.
fn ellipsoid_optimum(
    problem: &Arc<EllipsoidProblem>,
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
    };
    Ok((opt, root.warm))
}

impl Gmm {
    /// The prepared ellipsoid problem of a threat after the checks of
    /// [`robust_optimum`](Gmm::robust_optimum) (symmetric model, matching
    /// dimension); `None` for threats without a closed form. Lets the
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

/// The robust optimum of a prepared ellipsoid problem at one budget (as
/// [`Gmm::robust_optimum`] would return it, without preparing again).
pub(crate) fn prepared_optimum(problem: &Arc<EllipsoidProblem>, eps: f64) -> Result<RobustOptimum> {
    ensure_budget(eps)?;
    ellipsoid_optimum(problem, eps, None).map(|(opt, _)| opt)
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
