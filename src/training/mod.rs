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
//! direction is the one maximizing `a`, which is the symmetric problem's
//! ([THEORY P4](crate::theory#p4-robust-optimum): `max_w a(w) = r*` with maximizer `w*`), independent of `π`
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
//!   `secular`; `λ = ∞` for budgets at or past the limit `ε_max`. The
//!   classifier is the Bayes classifier of the model `N(μ_y, Σ + λM)` (P5):
//!   see [`ExtendedCovariance`]. When `M` shares `Σ`'s eigenvectors a budget
//!   costs `O(d)` (`O(k)` for a spiked model); a general factor costs one
//!   generalized eigendecomposition per (model, threat) pair.
//! * **Other threats** (ℓ∞, ℓ1, ℓp, unions) go to the certified dual solver
//!   (projected Newton for ℓ∞ and ℓ1, accelerated projected gradient with a
//!   Newton finish for ℓp and unions; every answer certified by weak
//!   duality, [`RobustOptimum::gap`]), with the stopping rules of
//!   [`SolverOptions`].
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

use std::sync::Arc;

/// Budgets of a sweep solved in one warm-started run (a run is one task;
/// long enough that its single cold start is negligible).
const SWEEP_RUN: usize = 128;

use crate::error::{Error, Result, ensure_budget};
use crate::gmm::Gmm;
use crate::threat::Threat;

pub(crate) mod dual;
pub(crate) mod secular;

mod extended;
mod optimum;
mod prior;
pub use dual::SolverOptions;

use secular::{EllipsoidProblem, WarmStart};

pub use extended::{ExtendedCovariance, GrowthBasis};
pub use optimum::RobustOptimum;
pub(crate) use optimum::Solution;
use prior::Placement;
pub(crate) use prior::distance_for_error;

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
    /// so the optimal direction maximizes `a` — the symmetric problem's `w*`,
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
    /// // Digits 4 (+1) against 9 (−1): uncentered means, prior 181/361.
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
    /// [`Error::InvalidBudget`] for a negative or non-finite `ε`;
    /// [`Error::DimensionMismatch`] for a threat of another dimension;
    /// [`Error::Unsupported`] for a model-based threat built from another
    /// covariance than a diagonal or spiked model's (see `secular`);
    /// the dual solver's errors ([`Error::NoConvergence`], …).
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
        let placement = Placement::of(self, threat, options);
        match self.prepare_ellipsoid(threat)? {
            Some(problem) => ellipsoid_optimum(&problem, &placement, eps, None).map(|(opt, _)| opt),
            None => self.dual_optimum(threat, eps, options, &placement),
        }
    }

    /// The robust optima for a grid of budgets (any order; the result follows
    /// the input order). Every decomposition is done once: for ellipsoids
    /// each budget then costs `O(d)` (`O(k)` spiked), with each root
    /// warm-started from its neighbor's.
    ///
    /// # Errors
    /// As [`robust_optimum`](Self::robust_optimum); every budget is checked
    /// before any work is done.
    pub fn robust_sweep(&self, threat: &Threat, budgets: &[f64]) -> Result<Vec<RobustOptimum>> {
        self.robust_sweep_with(threat, budgets, &SolverOptions::default())
    }

    /// As [`robust_sweep`](Self::robust_sweep), with the dual solver's
    /// stopping rules. Ellipsoidal threats ignore `options`, as in
    /// [`robust_optimum_with`](Self::robust_optimum_with).
    ///
    /// # Errors
    /// As [`robust_sweep`](Self::robust_sweep).
    pub fn robust_sweep_with(
        &self,
        threat: &Threat,
        budgets: &[f64],
        options: &SolverOptions,
    ) -> Result<Vec<RobustOptimum>> {
        self.check_training(threat)?;
        for &eps in budgets {
            ensure_budget(eps)?;
        }
        if budgets.is_empty() {
            return Ok(Vec::new());
        }
        use rayon::prelude::*;
        let placement = Placement::of(self, threat, options);
        let Some(problem) = self.prepare_ellipsoid(threat)? else {
            return budgets
                .iter()
                .map(|&eps| self.dual_optimum(threat, eps, options, &placement))
                .collect();
        };
        // Decreasing budgets have increasing roots s = 1/λ, so each root is
        // a start left of the next one, where one Halley step from the
        // derivatives already known lands close to it (see `secular`). The
        // sorted budgets are split into runs of a fixed length, each run
        // warm-started along itself, and the runs are shared by the cores:
        // the result does not depend on the number of threads.
        let mut order: Vec<usize> = (0..budgets.len()).collect();
        order.sort_by(|&a, &b| budgets[b].total_cmp(&budgets[a]));
        let runs: Vec<Vec<(usize, RobustOptimum)>> = order
            .par_chunks(SWEEP_RUN)
            .map(|run| {
                let mut warm = None;
                let mut found = Vec::with_capacity(run.len());
                for &i in run {
                    let (opt, next) =
                        ellipsoid_optimum(&problem, &placement, budgets[i], warm.as_ref())?;
                    warm = next;
                    found.push((i, opt));
                }
                Ok(found)
            })
            .collect::<Result<_>>()?;
        let mut out: Vec<Option<RobustOptimum>> = vec![None; budgets.len()];
        for (i, opt) in runs.into_iter().flatten() {
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
            rounding: solution.rounding.min(solution.gap),
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
    if certificate.lower.is_nan() || certificate.upper.is_nan() {
        // The root or its rounding bound is not a number (a spiked model
        // whose spike exceeds the noise by more than f64 can resolve): no
        // interval can be certified, so no number is returned.
        return Err(Error::NoConvergence {
            solver: "secular equation",
            iterations: root.iterations(),
            residual: "certified interval width",
            gap: f64::NAN,
            target: 0.0,
        });
    }
    let opt = RobustOptimum {
        budget: eps,
        distance: certificate.lower,
        gap: certificate.gap(),
        rounding: certificate.rounding.min(certificate.gap()),
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
    threat: &Threat,
    problem: &Arc<EllipsoidProblem>,
    eps: f64,
) -> Result<RobustOptimum> {
    ensure_budget(eps)?;
    let placement = Placement::of(gmm, threat, &SolverOptions::default());
    ellipsoid_optimum(problem, &placement, eps, None).map(|(opt, _)| opt)
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
