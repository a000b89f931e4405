//! Matched budgets: the smallest budget at which a threat's optimal
//! robust error reaches a target (see the parent module's docs, "Matched
//! budgets").

use nalgebra::DVector;

use crate::error::{Error, Result};
use crate::gmm::Gmm;
use crate::linalg::lp_norm;
use crate::normal::two_class_error;
use crate::roots::{Brent, Evaluation};
use crate::threat::Threat;
use crate::training::{RobustOptimum, distance_for_error, prepared_optimum};

use super::{MATCH_TOLERANCE, MAX_MATCH_ITERATIONS, check_inputs, minority_prior};

/// The matched budget `ε_T(τ)`: the smallest budget at which `threat` alone
/// has optimal robust error `RE*_T(ε) = τ` (module docs, Matched budgets).
///
/// # Example
/// ```
/// use manifold_robustness::{default_model, normal, tradeoff, Threat};
///
/// // Generative, full latent: r*(ε) = ‖μ‖_Σ⁻¹ − ε, so ε(τ) = ‖μ‖_Σ⁻¹ + Φ⁻¹(τ).
/// let gmm = default_model();
/// let eps = tradeoff::matched_budget(&gmm, &Threat::generative(gmm.covariance()), 0.1)?;
/// let expected = gmm.separation() / 2.0 + normal::quantile(0.1)?;
/// assert!((eps - expected).abs() < 1e-14);
/// // The leading 16 eigen-directions carry little of the mean's Mahalanobis
/// // energy: an attack confined to them never reaches 10%.
/// let eigenspace = Threat::eigenspace(gmm.covariance(), 16)?;
/// assert!(tradeoff::matched_budget(&gmm, &eigenspace, 0.1).is_err());
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidProbability`] unless `0 < τ < 1`;
/// [`Error::DimensionMismatch`];
/// [`Error::UnreachableTarget`] when `τ` lies outside
/// `[RE*(0), sup_ε RE*(ε)]` ([`reachable_range`]; at most
/// `[Bayes error, min(π, 1 − π)]`); [`Error::Unsupported`] for a union whose
/// reachable range is not computed (module docs); the solvers' errors.
pub fn matched_budget(gmm: &Gmm, threat: &Threat, target_robust_error: f64) -> Result<f64> {
    matched_optimum(gmm, threat, target_robust_error).map(|optimum| optimum.budget())
}

/// The robust optimum at the matched budget ([`matched_budget`]): its
/// [`budget`](RobustOptimum::budget) is `ε_T(τ)` and its robust error is `τ`
/// (to rounding for ellipsoids, within the tolerance of the module docs
/// otherwise).
///
/// # Errors
/// As [`matched_budget`].
pub fn matched_optimum(
    gmm: &Gmm,
    threat: &Threat,
    target_robust_error: f64,
) -> Result<RobustOptimum> {
    if !(target_robust_error > 0.0 && target_robust_error < 1.0) {
        return Err(Error::InvalidProbability {
            name: "target_robust_error",
            value: target_robust_error,
        });
    }
    check_inputs(gmm, &[threat], &[])?;
    let bayes = gmm.bayes_error();
    if let Some(problem) = gmm.ellipsoid_problem(threat)? {
        let equation = problem.equation();
        let residual = equation.residual_distance();
        let full = equation.distance(0.0);
        // As in `reachable_range`: a threat that cannot move the mean
        // reaches exactly the Bayes error.
        let sup = two_class_error(residual, gmm.prior_pos()).max(bayes);
        if !(target_robust_error >= bayes && target_robust_error <= sup) {
            return Err(Error::UnreachableTarget {
                target: target_robust_error,
                min: bayes,
                max: sup,
            });
        }
        // Rounding of the inversion or of the Bayes error may put r a hair
        // outside.
        let r = if target_robust_error == bayes {
            full
        } else {
            target_distance(gmm, target_robust_error)?
                .max(residual)
                .min(full)
        };
        let eps = equation.budget_for_distance(r)?;
        return prepared_optimum(gmm, threat, &problem, eps);
    }
    dual_matched_optimum(gmm, threat, target_robust_error, bayes)
}

/// The range `[Bayes error, sup_ε RE*_T(ε)]` of optimal robust errors that
/// budgets of `threat` reach: the targets [`matched_budget`] accepts. The
/// supremum is `RE*` at `r*(∞)` (module docs, Matched budgets):
/// `min(π, 1 − π)` (1/2 in the symmetric model) for ℓp balls and for
/// ellipsoids that can move the mean everywhere, less for a rank-deficient
/// ellipsoid.
///
/// # Example
/// ```
/// use manifold_robustness::{default_model, normal, tradeoff, Threat};
///
/// let gmm = default_model();
/// let (low, high) = tradeoff::reachable_range(&gmm, &Threat::l2())?;
/// assert_eq!((low, high), (gmm.bayes_error(), 0.5));
/// // The top 16 eigen-directions hold only ~3% of ‖μ‖²_Σ⁻¹ (μ̃_i² equal, 1/λ_i = i^1.5).
/// let eigenspace = Threat::eigenspace(gmm.covariance(), 16)?;
/// let (_, high) = tradeoff::reachable_range(&gmm, &eigenspace)?;
/// let sum = |n: usize| (1..=n).map(|i| (i as f64).powf(1.5)).sum::<f64>();
/// let rest = (gmm.separation() / 2.0) * (1.0 - sum(16) / sum(64)).sqrt();
/// assert!((high - normal::cdf(-rest)).abs() < 1e-14);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// [`Error::DimensionMismatch`];
/// [`Error::Unsupported`] for a union of rank-deficient ellipsoids none of
/// which alone covers the mean (its limit is not computed, module docs).
pub fn reachable_range(gmm: &Gmm, threat: &Threat) -> Result<(f64, f64)> {
    check_inputs(gmm, &[threat], &[])?;
    let bayes = gmm.bayes_error();
    if let Some(problem) = gmm.ellipsoid_problem(threat)? {
        let residual = problem.equation().residual_distance();
        // A threat that cannot move the mean (r*(∞) = r*(0)) reaches only
        // the Bayes error; the two evaluations may differ by rounding.
        return Ok((bayes, two_class_error(residual, gmm.prior_pos()).max(bayes)));
    }
    let mut covers = Vec::new();
    collect_covers(gmm, threat, &gmm.half_difference(), 1.0, &mut covers)?;
    if covers.iter().any(|c| c.0 == 0.0) {
        Ok((bayes, minority_prior(gmm)))
    } else {
        Err(Error::Unsupported(format!(
            "the reachable range of {threat}: no part of the union alone covers the mean"
        )))
    }
}

/// `r_τ`: the distance at which the optimal robust error is `τ` (module
/// docs, Matched budgets; `−Φ⁻¹(τ)` in the symmetric model).
fn target_distance(gmm: &Gmm, target: f64) -> Result<f64> {
    distance_for_error(target, gmm.prior_pos())
}

/// A budget at which `r*` is provably at most a given distance:
/// `(r*(∞) of a part, a budget at which the union reaches it)`.
type Cover = (f64, f64);

/// Collects the covers of a threat: ℓp balls reach `r* = 0` at the gauge
/// `‖μ‖_p`, an ellipsoid reaches `r*(∞)` at `ε_max`; a union part with
/// relative budget `ε_i` does so at `1/ε_i` times that.
fn collect_covers(
    gmm: &Gmm,
    threat: &Threat,
    mu: &DVector<f64>,
    scale: f64,
    out: &mut Vec<Cover>,
) -> Result<()> {
    if let Some(parts) = threat.union_parts() {
        for (part, budget) in parts {
            collect_covers(gmm, part, mu, scale * budget, out)?;
        }
        return Ok(());
    }
    if let Some(problem) = gmm.ellipsoid_problem(threat)? {
        let equation = problem.equation();
        out.push((
            equation.residual_distance(),
            equation.budget_limit() / scale,
        ));
        return Ok(());
    }
    match threat.lp_exponent() {
        Some(p) => {
            out.push((0.0, lp_norm(mu, p) / scale));
            Ok(())
        }
        None => Err(Error::Unsupported(format!(
            "matched budgets for the threat {threat}"
        ))),
    }
}

/// Matched budgets without a closed form: Brent's method on
/// `ε ↦ r*(ε) − r_τ` with certified dual solves (module docs).
fn dual_matched_optimum(
    gmm: &Gmm,
    threat: &Threat,
    target: f64,
    bayes: f64,
) -> Result<RobustOptimum> {
    let mu = gmm.half_difference();
    let full = gmm.separation() / 2.0;
    let mut covers = Vec::new();
    collect_covers(gmm, threat, &mu, 1.0, &mut covers)?;
    // r*(∞) ≤ floor, with equality when floor = 0.
    let floor = covers.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
    let sup = two_class_error(floor, gmm.prior_pos());
    if target < bayes || (floor == 0.0 && target > sup) {
        return Err(Error::UnreachableTarget {
            target,
            min: bayes,
            max: sup,
        });
    }
    if target > sup {
        return Err(Error::Unsupported(format!(
            "matched budget {target} for {threat}: no single part of the union reaches an optimal \
             robust error above {sup}, and the union's own limit is not computed"
        )));
    }
    let r = if target == bayes {
        full
    } else {
        target_distance(gmm, target)?.max(0.0).min(full)
    };
    if r == full {
        return gmm.robust_optimum(threat, 0.0);
    }
    let hi = covers
        .iter()
        .filter(|c| c.0 <= r)
        .map(|c| c.1)
        .fold(f64::INFINITY, f64::min);
    if r == 0.0 && threat.lp_exponent().is_some() {
        // The smallest ℓp ball containing μ has radius ‖μ‖_p exactly.
        return gmm.robust_optimum(threat, hi);
    }
    let tolerance = |optimum: &RobustOptimum| optimum.gap() + MATCH_TOLERANCE * r;
    let optimum_hi = gmm.robust_optimum(threat, hi)?;
    let f_hi = optimum_hi.distance() - r;
    if f_hi >= -tolerance(&optimum_hi) {
        // r*(ε_hi) is already r_τ: the smallest such budget may lie below,
        // at the start of a flat stretch (the target is sup RE*).
        return smallest_reaching_budget(gmm, threat, r, hi, optimum_hi);
    }
    let brent = Brent {
        absolute: 0.0,
        relative: 4.0 * f64::EPSILON,
        max_iterations: MAX_MATCH_ITERATIONS,
        name: "matched budget (dual solver)",
    };
    let mut evaluated: Vec<RobustOptimum> = Vec::new();
    let root = brent.solve(
        |eps| {
            let optimum = gmm.robust_optimum(threat, eps)?;
            let value = optimum.distance() - r;
            let accept = value.abs() <= tolerance(&optimum);
            evaluated.push(optimum);
            Ok(Evaluation { value, accept })
        },
        0.0,
        hi,
        full - r,
        f_hi,
    )?;
    match evaluated.into_iter().rev().find(|o| o.budget() == root.x) {
        Some(optimum) => Ok(optimum),
        None if root.x == hi => Ok(optimum_hi),
        None => gmm.robust_optimum(threat, root.x),
    }
}

/// Bisection for the smallest budget in `(0, hi]` at which `r* ≤ r` (up to
/// the certified gap), to relative width [`MATCH_TOLERANCE`].
///
/// Not Brent's method ([`Brent`]): on this branch `r*` has already reached
/// `r` at `hi` and may stay there on a flat stretch, so there is no sign
/// change to interpolate, only the yes/no predicate "the certificate says
/// `r* ≤ r` here"; bisection is the method for the boundary of such a set.
fn smallest_reaching_budget(
    gmm: &Gmm,
    threat: &Threat,
    r: f64,
    hi: f64,
    optimum_hi: RobustOptimum,
) -> Result<RobustOptimum> {
    let (mut lo, mut hi, mut best) = (0.0f64, hi, optimum_hi);
    let mut iterations = 0;
    while hi - lo > MATCH_TOLERANCE * hi {
        if iterations == MAX_MATCH_ITERATIONS {
            return Err(Error::NoConvergence {
                solver: "matched budget (bisection)",
                iterations,
                residual: "relative bracket width",
                gap: (hi - lo) / hi,
                target: MATCH_TOLERANCE,
            });
        }
        iterations += 1;
        let mid = 0.5 * (lo + hi);
        let optimum = gmm.robust_optimum(threat, mid)?;
        if optimum.distance() - r <= optimum.gap() + MATCH_TOLERANCE * r {
            hi = mid;
            best = optimum;
        } else {
            lo = mid;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::Covariance;

    #[test]
    fn covers_of_a_union_scale_with_the_relative_budgets() {
        let cov = Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0])).unwrap();
        let gmm = Gmm::symmetric(DVector::from_vec(vec![2.0, 1.0]), cov.clone()).unwrap();
        let eigenspace = Threat::eigenspace(&cov, 1).unwrap();
        let union = Threat::union(vec![(Threat::linf(), 0.5), (eigenspace, 2.0)]).unwrap();
        let mut covers = Vec::new();
        collect_covers(&gmm, &union, &gmm.half_difference(), 1.0, &mut covers).unwrap();
        // ℓ∞: ‖μ‖_∞/0.5 = 4 reaches r* = 0. Eigenspace 1 (the variance-4
        // axis): ε_max = |μ₁| = 2, so 2/2 = 1, leaving r*(∞) = |μ₂|/√1 = 1.
        assert_eq!(covers.len(), 2);
        assert_eq!(covers[0], (0.0, 4.0));
        assert!((covers[1].0 - 1.0).abs() < 1e-15 && (covers[1].1 - 1.0).abs() < 1e-15);
    }
}
