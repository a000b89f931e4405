//! Trade-offs between threats: cross robust errors, conflicts, the joint
//! (union) optimum and matched budgets ([THEORY §8](crate::theory#8-trade-offs): P6 and the seed's
//! claim 3).
//!
//! For two threats `A`, `B` with budgets `ε_A`, `ε_B` in any two-class model
//! (means `μ₊`, `μ₋`, prior `π`), let `(w*_T, b*_T)` be the robust-optimal
//! classifier of threat `T` at its budget, with its own optimal bias, and
//! `RE*_T` its optimal robust error ([THEORY P4′](crate::theory#p4-any-means-any-prior), [`Gmm::robust_optimum`];
//! `Φ(−r*_T)` in the symmetric model). Then
//!
//! ```text
//! CR(A→B)        = RE_{B,ε_B}(w*_A, b*_A)                  cross robust error
//! C(A→B)         = CR(A→B) − RE*_B  ≥ 0                    conflict
//! RE_{A∪B}(w, b) = max(RE_{A,ε_A}(w, b), RE_{B,ε_B}(w, b))
//! max(RE*_A, RE*_B) ≤ RE*_{A∪B} ≤ min(max(RE*_A, CR(A→B)), max(RE*_B, CR(B→A)))
//! price of union = RE*_{A∪B} − max(RE*_A, RE*_B)  ≥ 0
//! ```
//!
//! The union is [`Threat::union`]`(vec![(A, ε_A), (B, ε_B)])` at budget 1: the
//! adversary may use either attack, `σ_{A∪B}(w) = max(ε_Aσ_A(w), ε_Bσ_B(w))`.
//! With `a = (wᵀμ − εσ(w))/‖w‖_Σ` and `β = (b + wᵀc)/‖w‖_Σ` the robust error
//! is `π Φ(−a − β) + (1 − π) Φ(−a + β)`, decreasing in `a` for every fixed
//! `(w, b)`, and the union's `a` is the smaller of the two: its robust error
//! is the larger of the two. The lower bound holds because the union
//! contains each part; the upper bound because `(w*_A, b*_A)` and
//! `(w*_B, b*_B)` are candidates for the union. **P6** is these
//! inequalities.
//!
//! # Conventions
//!
//! * When `r*_A = 0` (the budget covers `μ`: no linear classifier beats the
//!   constant majority-class rule, and [`RobustOptimum::classifier`] is
//!   `None`), the "classifier trained for `A`" is that constant rule:
//!   `CR(A→B) = min(π, 1 − π)` (1/2 in the symmetric model), which no attack
//!   changes. This keeps `C(A→B) ≥ 0` and the union bounds valid, since
//!   every optimal robust error is at most `min(π, 1 − π)`.
//! * A zero budget in a union contributes nothing: the joint optimum of
//!   `(A, ε_A)` and `(B, 0)` is the optimum of `A` alone (and of `B` at 0,
//!   the Bayes classifier, when both are 0). Budgets must be finite and
//!   non-negative.
//!
//! # Matched budgets
//!
//! `RE*_T(ε) = E(r*_T(ε))`, where `E(r) = π Φ(−r − ℓ/(2r)) +
//! (1 − π) Φ(−r + ℓ/(2r))` (`ℓ = ln(π/(1 − π))`; `E(r) = Φ(−r)` at
//! `π = 1/2`) is the Bayes error of a one-dimensional problem with
//! separation `2r`, strictly decreasing from `min(π, 1 − π)` at `r = 0` to
//! 0. So `RE*_T` is non-decreasing in `ε` ([THEORY P5](crate::theory#p5-adversarial-training-extends-the-data-distribution) (e)), from the Bayes
//! error `RE*(0)` to its supremum `E(r*_T(∞))`, which is `min(π, 1 − π)`
//! unless `T` cannot move the mean along some directions (a rank-deficient
//! ellipsoid: `r*(∞)² = Σ_{d_j=0} m_j²`). The matched budget `ε_T(τ)` is the
//! smallest `ε` with `RE*_T(ε) = τ`; it is found in terms of the distance,
//! `r*_T(ε) = r_τ = E⁻¹(τ)`, which keeps its relative accuracy where `τ`
//! is tiny or close to `min(π, 1 − π)`. At `π = 1/2`, `r_τ = −Φ⁻¹(τ)`;
//! otherwise `r_τ` is a monotone scalar root, bracketed by
//! `[−Φ⁻¹(τ/(2 min(π, 1 − π))), −Φ⁻¹(τ)]` and found by the crate's
//! Brent solver to relative accuracy `4ε`.
//!
//! * **Ellipsoids**: exact inversion, `r*(λ) = r_τ` for the multiplier
//!   `λ` and then `ε = g(λ)`
//!   (the secular equation's `budget_for_distance`),
//!   to a few ulps.
//! * **Other threats** (ℓ∞, ℓ1, ℓp, unions): Brent's method on
//!   `ε ↦ r*(ε) − r_τ` (continuous, convex and non-increasing) in the bracket
//!   `[0, ε_hi]`, where `ε_hi` is a budget at which `r*` is provably at most
//!   `r_τ`: the gauge `‖μ‖_p` of an ℓp ball (there `r* = 0`), or for a union
//!   the smallest `ε_max,i/ε_i` over parts whose own limit `r*_i(∞) ≤ r_τ`.
//!   Each evaluation is a certified dual solve whose `r*` is known to lie in
//!   `[distance, distance + gap]`; the search accepts a budget once
//!   `|distance − r_τ| ≤ gap + `[`MATCH_TOLERANCE`]` · r_τ`, so
//!   `|r*(ε) − r_τ| ≤ 2 gap + MATCH_TOLERANCE · r_τ` (about `2e-9 r_τ` with
//!   the default solver options): a relative error of about
//!   `2e-9 r_τ |E′(r_τ)|/τ` in the target (`|E′(r)| = π φ(r + β) +
//!   (1 − π) φ(r − β)`, `φ(r_τ)` at `π = 1/2`).
//!
//! The reachable targets are `[RE*(0), sup_ε RE*(ε)]`: the upper end
//! `min(π, 1 − π)` (when `T` can cover `μ`) is reached exactly at the budget
//! where `r*` first vanishes, by the constant majority-class rule; every
//! target below it by a linear classifier. Targets outside give
//! [`Error::UnreachableTarget`] with that range. For a union of
//! rank-deficient ellipsoids none of which alone reaches the target, the
//! union's own limit (the distance from `μ` to the sum of their ranges) is
//! not computed: [`Error::Unsupported`].
//!
//! # Accuracy
//!
//! Cross errors are direct evaluations of the robust error
//! ([`Gmm::robust_error`]). For ellipsoids the optima are exact to rounding,
//! so the inequalities of P6 hold to rounding. For the other threats an
//! optimum's reported robust error `E(distance)` is what its classifier
//! (with its bias) achieves, an upper bound within `|E′(r*)|·gap ≤
//! gap/√(2π)` of the true optimum: a conflict against such a threat can be
//! negative by at most that much, and the price of union can be off by the
//! gaps of the three optima.
//!
//! # Example
//! ```
//! use manifold_robustness::{tradeoff, Covariance, Gmm, Threat};
//! use manifold_robustness::nalgebra::DVector;
//!
//! // Σ = I: the generative threat (M = Σ = I) is the ℓ2 threat, so at
//! // matched budgets the two do not conflict.
//! let gmm = Gmm::symmetric(DVector::from_vec(vec![3.0, 4.0]), Covariance::isotropic(2, 1.0)?)?;
//! let l2 = Threat::l2();
//! let generative = Threat::generative(gmm.covariance());
//! // r*(ε) = ‖μ‖ − ε = 5 − ε, so RE* = Φ(−2) at ε = 3.
//! let tau = manifold_robustness::normal::cdf(-2.0);
//! let eps = tradeoff::matched_budget(&gmm, &l2, tau)?;
//! assert!((eps - 3.0).abs() < 1e-14);
//! let c = tradeoff::conflict(&gmm, (&l2, eps), (&generative, eps))?;
//! assert!(c.abs() < 1e-15);
//! // Trained for ℓ2 at ε = 3, attacked by ℓ2 at ε = 4: still w* ∥ μ, so
//! // CR = Φ(4 − 5) while RE* = Φ(−1): no conflict either.
//! let cr = tradeoff::cross_robust_error(&gmm, (&l2, 3.0), (&l2, 4.0))?;
//! assert!((cr - manifold_robustness::normal::cdf(-1.0)).abs() < 1e-15);
//! # Ok::<(), manifold_robustness::Error>(())
//! ```

use nalgebra::DMatrix;

use crate::classifier::LinearClassifier;
use crate::error::{Error, Result, ensure_budget, ensure_dim};
use crate::gmm::Gmm;
use crate::threat::Threat;
use crate::training::RobustOptimum;

mod matched;

pub use matched::{matched_budget, matched_optimum, reachable_range};

/// Relative tolerance on `r*` at a matched budget of a non-ellipsoidal
/// threat, on top of the dual solver's certified gap (see the module docs).
pub const MATCH_TOLERANCE: f64 = 1e-10;

/// Iteration cap of the root finder for non-ellipsoidal matched budgets
/// (each iteration is one dual solve). Brent's method needs about ten on
/// these convex curves; the cap only guards against a malformed problem.
const MAX_MATCH_ITERATIONS: usize = 200;

/// Everything [THEORY §8](crate::theory#8-trade-offs) says about one pair of threats at given budgets.
///
/// # Example
/// ```
/// use manifold_robustness::{tradeoff, Covariance, Gmm, Threat};
/// use manifold_robustness::nalgebra::DVector;
///
/// // Σ = I: ℓ2 and generative are the same threat, so the union is that
/// // threat at the larger budget and the price of union is 0.
/// let gmm = Gmm::symmetric(DVector::from_vec(vec![1.0, 2.0]), Covariance::isotropic(2, 1.0)?)?;
/// let generative = Threat::generative(gmm.covariance());
/// let report = tradeoff::pair_report(&gmm, (&Threat::l2(), 1.0), (&generative, 1.5))?;
/// let r0 = 5f64.sqrt();
/// // Certified distances: exact up to their rounding bound (≤ 1e-13 here).
/// assert!((report.optimal_b - manifold_robustness::normal::cdf(1.5 - r0)).abs() < 1e-13);
/// // With Σ = I every ℓ2 optimum is ∥ μ: training at 1 loses nothing at 1.5.
/// assert!(report.conflict_ab.abs() < 1e-13);
/// assert!(report.lower_bound <= report.joint + 1e-12 && report.joint <= report.upper_bound + 1e-12);
/// assert!(report.price_of_union.abs() < 1e-9);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TradeoffReport {
    /// `ε_A`.
    pub budget_a: f64,
    /// `ε_B`.
    pub budget_b: f64,
    /// `RE*_A`, the optimal robust error against `A` at `ε_A`.
    pub optimal_a: f64,
    /// `RE*_B`.
    pub optimal_b: f64,
    /// `CR(A→B) = RE_{B,ε_B}(w*_A, b*_A)` (`min(π, 1 − π)` when `r*_A = 0`).
    pub cross_ab: f64,
    /// `CR(B→A)`.
    pub cross_ba: f64,
    /// `C(A→B) = CR(A→B) − RE*_B`.
    pub conflict_ab: f64,
    /// `C(B→A) = CR(B→A) − RE*_A`.
    pub conflict_ba: f64,
    /// `RE*_{A∪B}`, the optimal robust error against the union.
    pub joint: f64,
    /// `max(RE*_A, RE*_B)`, the lower bound of P6.
    pub lower_bound: f64,
    /// `min(max(RE*_A, CR(A→B)), max(RE*_B, CR(B→A)))`, the upper bound of P6.
    pub upper_bound: f64,
    /// `RE*_{A∪B} − max(RE*_A, RE*_B)`.
    pub price_of_union: f64,
    /// Certified gaps on `r*` of the optima of `A`, `B` and the union, in
    /// that order (at the rounding level for ellipsoids).
    pub gaps: [f64; 3],
}

/// Conflicts between every ordered pair of a list of threats, each at its
/// matched budget for a common target optimal robust error
/// ([`conflict_matrix`]).
///
/// With feature `serde` it is written as its target, threats, optima (each
/// as its inputs and results, see [`RobustOptimum`]) and matrices, as
/// arrays of rows. Reading it solves each optimum again, checks that all
/// belong to one model, that optimum `i` is threat `i`'s and reaches the
/// target (`|r* − r_τ| ≤ gap + `[`MATCH_TOLERANCE`]` · r_τ`, as
/// [`matched_budget`] accepts it), and recomputes the cross errors and
/// conflicts from the optima: each stored entry must agree to `1e-12`
/// relative, else an error naming the field.
///
/// The file carries a layout version, `"format": 1`, written first. A file
/// of an older format (one without the field was written before versioning)
/// is read from its inputs alone: each optimum is solved again (by its own
/// format's rule), the matrices are computed from the new optima, and the
/// stored matrices and the check that each optimum reaches the target are
/// skipped (an older solver's results agree with today's only within the
/// certified gaps). A file of a newer format is an
/// [`Error::UnsupportedFormat`] naming
/// both versions.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConflictMatrix {
    /// The target optimal robust error `τ`.
    pub target: f64,
    /// The threats, in the order of the rows and columns.
    pub threats: Vec<Threat>,
    /// Each threat's robust optimum at its matched budget `ε_i(τ)`
    /// ([`RobustOptimum::budget`]); its robust error equals `τ` to the
    /// accuracy stated in the module docs.
    pub optima: Vec<RobustOptimum>,
    /// `CR(i→j)`: the classifier trained for threat `i`, attacked by threat
    /// `j` at its matched budget. The diagonal holds `RE*_i` as evaluated
    /// directly from `w*_i`.
    pub cross: DMatrix<f64>,
    /// `C(i→j) = CR(i→j) − RE*_j`, with an exactly zero diagonal.
    pub conflicts: DMatrix<f64>,
}

impl ConflictMatrix {
    /// The matched budgets `ε_i(τ)`, in the order of the threats.
    pub fn budgets(&self) -> Vec<f64> {
        self.optima.iter().map(RobustOptimum::budget).collect()
    }

    /// `C(i→j)`.
    ///
    /// # Panics
    /// If `i` or `j` is not below the number of threats.
    pub fn conflict(&self, i: usize, j: usize) -> f64 {
        self.conflicts[(i, j)]
    }

    /// The full [`TradeoffReport`] of threats `i` and `j` at their matched
    /// budgets, reusing the optima already computed (only the union's
    /// optimum is solved).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an index out of range; the errors of
    /// [`joint_optimum`].
    pub fn pair_report(&self, gmm: &Gmm, i: usize, j: usize) -> Result<TradeoffReport> {
        let n = self.threats.len();
        for index in [i, j] {
            if index >= n {
                return Err(Error::InvalidParameter {
                    name: "threat index",
                    value: index as f64,
                    reason: "must be below the number of threats in the matrix",
                });
            }
        }
        report_from_optima(
            gmm,
            (&self.threats[i], &self.optima[i]),
            (&self.threats[j], &self.optima[j]),
        )
    }
}

/// Checks the budgets and the threats' dimensions, in that order, before
/// any solver runs.
fn check_inputs(gmm: &Gmm, threats: &[&Threat], budgets: &[f64]) -> Result<()> {
    for &eps in budgets {
        ensure_budget(eps)?;
    }
    for threat in threats {
        if let Some(d) = threat.dim() {
            ensure_dim("threat", gmm.dim(), d)?;
        }
    }
    Ok(())
}

/// `RE_{B,ε_B}(w, b)` for the classifier trained for `A`, or the constant
/// rule's `min(π, 1 − π)` when `r*_A = 0`.
fn cross_of(gmm: &Gmm, trained: Option<&LinearClassifier>, attack: (&Threat, f64)) -> Result<f64> {
    match trained {
        Some(clf) => gmm.robust_error(clf, attack.0, attack.1),
        None => Ok(minority_prior(gmm)),
    }
}

/// `min(π, 1 − π)`: the error of the constant majority-class rule.
fn minority_prior(gmm: &Gmm) -> f64 {
    gmm.prior_pos().min(1.0 - gmm.prior_pos())
}

/// The cross robust error `CR(A→B) = RE_{B,ε_B}(w*_A, b*_A)`: the classifier
/// adversarially trained against `train = (A, ε_A)`, with its optimal bias,
/// attacked by `attack = (B, ε_B)`. It is `min(π, 1 − π)` when `r*_A = 0`
/// (module docs, Conventions).
///
/// # Example
/// ```
/// use manifold_robustness::{normal, tradeoff, Covariance, Gmm, Threat};
/// use manifold_robustness::nalgebra::DVector;
///
/// // Σ = I, μ = (3, 1): ℓ∞ training at ε = 1 gives w* ∝ soft-threshold(μ, 1) = (2, 0).
/// // Against ℓ2 at ε = 1: Φ((1·‖w‖ − wᵀμ)/‖w‖) = Φ(1 − 3).
/// let gmm = Gmm::symmetric(DVector::from_vec(vec![3.0, 1.0]), Covariance::isotropic(2, 1.0)?)?;
/// let cr = tradeoff::cross_robust_error(&gmm, (&Threat::linf(), 1.0), (&Threat::l2(), 1.0))?;
/// assert!((cr - normal::cdf(-2.0)).abs() < 1e-9);
/// // Past ℓ2's limit ‖μ‖ = √10 nothing beats a coin flip.
/// let cr = tradeoff::cross_robust_error(&gmm, (&Threat::l2(), 4.0), (&Threat::l2(), 0.0))?;
/// assert_eq!(cr, 0.5);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidBudget`] for a negative or non-finite budget, [`Error::DimensionMismatch`], and the errors of
/// [`Gmm::robust_optimum`].
pub fn cross_robust_error(gmm: &Gmm, train: (&Threat, f64), attack: (&Threat, f64)) -> Result<f64> {
    check_inputs(gmm, &[train.0, attack.0], &[train.1, attack.1])?;
    let optimum = gmm.robust_optimum(train.0, train.1)?;
    cross_of(gmm, optimum.classifier().as_ref(), attack)
}

/// The conflict `C(A→B) = CR(A→B) − RE*_B ≥ 0`: how much worse than optimal
/// against `B` the classifier trained for `A` is.
///
/// # Example
/// ```
/// use manifold_robustness::{normal, tradeoff, Covariance, Gmm, Threat};
/// use manifold_robustness::nalgebra::DVector;
///
/// // Σ = diag(4, 1), μ = (2, 1). Generative training keeps w_B = 2Σ⁻¹μ = (1, 2);
/// // against ℓ2 at ε = √0.41 it has RE = Φ(ε‖Σ⁻¹μ‖/‖μ‖_Σ⁻¹ − ‖μ‖_Σ⁻¹), while the
/// // ℓ2 optimum there has λ = 1 and r*² = Σ μ_i²λ_i/(λ_i + 1)² = 0.89.
/// let cov = Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0]))?;
/// let gmm = Gmm::symmetric(DVector::from_vec(vec![2.0, 1.0]), cov)?;
/// let generative = Threat::generative(gmm.covariance());
/// let eps = 0.41f64.sqrt();
/// let c = tradeoff::conflict(&gmm, (&generative, 0.5), (&Threat::l2(), eps))?;
/// let expected = normal::cdf(0.25625f64.sqrt() - 2f64.sqrt()) - normal::cdf(-0.89f64.sqrt());
/// // Certified distances: exact up to their rounding bound (≤ 1e-13 here).
/// assert!((c - expected).abs() < 1e-13);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// As [`cross_robust_error`].
pub fn conflict(gmm: &Gmm, a: (&Threat, f64), b: (&Threat, f64)) -> Result<f64> {
    check_inputs(gmm, &[a.0, b.0], &[a.1, b.1])?;
    let optimum_a = gmm.robust_optimum(a.0, a.1)?;
    let optimum_b = gmm.robust_optimum(b.0, b.1)?;
    Ok(cross_of(gmm, optimum_a.classifier().as_ref(), b)? - optimum_b.robust_error())
}

/// The robust optimum against the union of `(A, ε_A)` and `(B, ε_B)`:
/// [`Threat::union`]`(vec![(A, ε_A), (B, ε_B)])` at budget 1 (with the parts
/// of a threat that is itself a union listed directly, which is the same
/// body), solved by the certified dual solver (a union has no closed form).
/// A zero budget drops its part (module docs, Conventions).
///
/// # Errors
/// As [`cross_robust_error`], and the dual solver's
/// ([`Error::NoConvergence`], …).
pub fn joint_optimum(gmm: &Gmm, a: (&Threat, f64), b: (&Threat, f64)) -> Result<RobustOptimum> {
    check_inputs(gmm, &[a.0, b.0], &[a.1, b.1])?;
    match (a.1 > 0.0, b.1 > 0.0) {
        (true, true) => {
            let mut parts = Vec::new();
            flatten_into(a.0, a.1, &mut parts);
            flatten_into(b.0, b.1, &mut parts);
            gmm.robust_optimum(&Threat::union(parts)?, 1.0)
        }
        (true, false) => gmm.robust_optimum(a.0, a.1),
        (false, _) => gmm.robust_optimum(b.0, b.1),
    }
}

/// Appends the parts of `ε·T` to a union's list, flattening nested unions:
/// `conv(ε K ∪ ε' conv(∪ ε_i K_i)) = conv(ε K ∪ ∪ ε'ε_i K_i)`, the same body
/// with one level of parts for the solver.
fn flatten_into(threat: &Threat, budget: f64, parts: &mut Vec<(Threat, f64)>) {
    match threat.union_parts() {
        Some(inner) => {
            for (part, relative) in inner {
                flatten_into(part, budget * relative, parts);
            }
        }
        None => parts.push((threat.clone(), budget)),
    }
}

/// The price of union `RE*_{A∪B} − max(RE*_A, RE*_B) ≥ 0`: what defending
/// against both threats at once costs over the harder of the two alone.
///
/// # Errors
/// As [`joint_optimum`].
pub fn price_of_union(gmm: &Gmm, a: (&Threat, f64), b: (&Threat, f64)) -> Result<f64> {
    check_inputs(gmm, &[a.0, b.0], &[a.1, b.1])?;
    let optimum_a = gmm.robust_optimum(a.0, a.1)?;
    let optimum_b = gmm.robust_optimum(b.0, b.1)?;
    let joint = joint_optimum(gmm, a, b)?;
    Ok(joint.robust_error() - optimum_a.robust_error().max(optimum_b.robust_error()))
}

/// Everything [THEORY §8](crate::theory#8-trade-offs) says about one pair: both optimal robust errors, the
/// cross errors and conflicts both ways, the joint optimum, its P6 bounds and
/// the price of union ([`TradeoffReport`]).
///
/// # Errors
/// As [`joint_optimum`].
pub fn pair_report(gmm: &Gmm, a: (&Threat, f64), b: (&Threat, f64)) -> Result<TradeoffReport> {
    check_inputs(gmm, &[a.0, b.0], &[a.1, b.1])?;
    let optimum_a = gmm.robust_optimum(a.0, a.1)?;
    let optimum_b = gmm.robust_optimum(b.0, b.1)?;
    report_from_optima(gmm, (a.0, &optimum_a), (b.0, &optimum_b))
}

fn report_from_optima(
    gmm: &Gmm,
    a: (&Threat, &RobustOptimum),
    b: (&Threat, &RobustOptimum),
) -> Result<TradeoffReport> {
    let (budget_a, budget_b) = (a.1.budget(), b.1.budget());
    let (optimal_a, optimal_b) = (a.1.robust_error(), b.1.robust_error());
    let cross_ab = cross_of(gmm, a.1.classifier().as_ref(), (b.0, budget_b))?;
    let cross_ba = cross_of(gmm, b.1.classifier().as_ref(), (a.0, budget_a))?;
    let joint_optimum = joint_optimum(gmm, (a.0, budget_a), (b.0, budget_b))?;
    let joint = joint_optimum.robust_error();
    let lower_bound = optimal_a.max(optimal_b);
    Ok(TradeoffReport {
        budget_a,
        budget_b,
        optimal_a,
        optimal_b,
        cross_ab,
        cross_ba,
        conflict_ab: cross_ab - optimal_b,
        conflict_ba: cross_ba - optimal_a,
        joint,
        lower_bound,
        upper_bound: optimal_a.max(cross_ab).min(optimal_b.max(cross_ba)),
        price_of_union: joint - lower_bound,
        gaps: [a.1.gap(), b.1.gap(), joint_optimum.gap()],
    })
}

/// The conflicts `C(i→j)` between every ordered pair of `threats`, each
/// threat at its matched budget for the common target optimal robust error
/// `τ` ([`matched_budget`]). Each threat's optimum is computed once (for
/// ellipsoids from the same preparation as its matched budget) and each
/// classifier once; the `n²` cross errors are then direct evaluations.
///
/// # Example
/// ```
/// use manifold_robustness::{default_model, tradeoff, Threat};
///
/// let gmm = default_model();
/// let threats = [Threat::l2(), Threat::generative(gmm.covariance())];
/// let matrix = tradeoff::conflict_matrix(&gmm, &threats, 0.2)?;
/// for optimum in &matrix.optima {
///     // Certified: exact up to 0.4 × the gap.
///     assert!((optimum.robust_error() - 0.2).abs() <= 1e-12 * 0.2 + 0.4 * optimum.gap());
/// }
/// assert_eq!(matrix.conflict(0, 0), 0.0);
/// assert!(matrix.conflict(0, 1) > 0.0 && matrix.conflict(1, 0) > 0.0);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// [`Error::Empty`] for no threats; the errors of [`matched_budget`] for any
/// threat (in particular [`Error::UnreachableTarget`] when one threat cannot
/// reach `τ`).
pub fn conflict_matrix(
    gmm: &Gmm,
    threats: &[Threat],
    target_robust_error: f64,
) -> Result<ConflictMatrix> {
    if threats.is_empty() {
        return Err(Error::Empty { name: "threats" });
    }
    let optima = threats
        .iter()
        .map(|threat| matched_optimum(gmm, threat, target_robust_error))
        .collect::<Result<Vec<_>>>()?;
    let (cross, conflicts) = cross_and_conflicts(gmm, threats, &optima)?;
    Ok(ConflictMatrix {
        target: target_robust_error,
        threats: threats.to_vec(),
        optima,
        cross,
        conflicts,
    })
}

/// The cross robust errors `CR(i→j)` and conflicts `C(i→j)` of each
/// threat's optimum against every threat at its optimum's budget.
pub(crate) fn cross_and_conflicts(
    gmm: &Gmm,
    threats: &[Threat],
    optima: &[RobustOptimum],
) -> Result<(DMatrix<f64>, DMatrix<f64>)> {
    let classifiers: Vec<Option<LinearClassifier>> =
        optima.iter().map(RobustOptimum::classifier).collect();
    let n = threats.len();
    let mut cross = DMatrix::zeros(n, n);
    let mut conflicts = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            let value = cross_of(
                gmm,
                classifiers[i].as_ref(),
                (&threats[j], optima[j].budget()),
            )?;
            cross[(i, j)] = value;
            if i != j {
                conflicts[(i, j)] = value - optima[j].robust_error();
            }
        }
    }
    Ok((cross, conflicts))
}

/// A few lines: the budgets, the optimal and cross robust errors, the
/// conflicts both ways and the union's optimum between its [P6](crate::theory#p6-conflicts-and-the-union-bounds) bounds; the
/// formatter's precision and width apply to each number.
impl std::fmt::Display for TradeoffReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::display::number;
        writeln!(
            f,
            "budgets ε_A = {}, ε_B = {}; optimal robust errors RE*_A = {}, RE*_B = {}",
            number(f, self.budget_a),
            number(f, self.budget_b),
            number(f, self.optimal_a),
            number(f, self.optimal_b)
        )?;
        writeln!(
            f,
            "cross robust errors CR(A→B) = {}, CR(B→A) = {}; conflicts C(A→B) = {}, C(B→A) = {}",
            number(f, self.cross_ab),
            number(f, self.cross_ba),
            number(f, self.conflict_ab),
            number(f, self.conflict_ba)
        )?;
        write!(
            f,
            "union: RE*_(A∪B) = {} in [{}, {}], price of union {}",
            number(f, self.joint),
            number(f, self.lower_bound),
            number(f, self.upper_bound),
            number(f, self.price_of_union)
        )
    }
}

/// A table of the conflicts `C(i→j)` (row: trained against, column:
/// attacked by), after the target and each threat's matched budget; the
/// formatter's precision and width apply to each number (the width also
/// sets the columns).
impl std::fmt::Display for ConflictMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::display::number;
        let names: Vec<String> = self.threats.iter().map(ToString::to_string).collect();
        let cells: Vec<Vec<String>> = (0..names.len())
            .map(|i| {
                (0..names.len())
                    .map(|j| number(f, self.conflicts[(i, j)]))
                    .collect()
            })
            .collect();
        let column = cells
            .iter()
            .flatten()
            .chain(&names)
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0);
        let label = names.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        writeln!(
            f,
            "conflicts C(row→column) at target robust error {}",
            number(f, self.target)
        )?;
        for (name, budget) in names.iter().zip(self.budgets()) {
            writeln!(f, "  {name}: matched budget {}", number(f, budget))?;
        }
        write!(f, "  {:label$}", "")?;
        for name in &names {
            write!(f, " {name:>column$}")?;
        }
        for (name, row) in names.iter().zip(&cells) {
            write!(f, "\n  {name:label$}")?;
            for cell in row {
                write!(f, " {cell:>column$}")?;
            }
        }
        Ok(())
    }
}
