//! Orthant probabilities of a correlated normal vector.
//!
//! For `Z ~ N(0, C)` in `m` dimensions and thresholds `h`,
//!
//! * the orthant probability is `P(Z_j ≤ h_j for every j)`;
//! * the exceedance probability is its complement,
//!   `P(Z_j > h_j for some j)`, computed directly (not as one minus the
//!   orthant probability) so that a small exceedance keeps its digits.
//!
//! Both return an [`Estimate`]: a value, an absolute error bound and the
//! confidence with which the bound holds (1 when it is deterministic).
//!
//! # Method
//!
//! After validation the problem is standardized (`h_j/√C_jj` and the
//! correlation matrix); coordinates without variance are decided exactly
//! (never above a threshold `h ≥ 0`, always above `h < 0`), infinite
//! thresholds drop a coordinate or empty the orthant. One and two
//! dimensions are closed forms ([`cdf`], [`bivariate_cdf`]). From three on,
//! with `A_j = {Z_j > h_j}`:
//!
//! 1. **Inclusion–exclusion bounds** from the exact terms
//!    `S₁ = Σ P(A_j)` and `S₂ = Σ_{i<j} P(A_i A_j)`: Dawson–Sankoff's lower
//!    bound `2S₁/(k+1) − 2S₂/(k(k+1))`, `k = 1 + ⌊2S₂/S₁⌋` (never below
//!    Bonferroni's `S₁ − S₂`, nor below `max_j P(A_j)`), and Hunter's upper
//!    bound `S₁ − Σ_{(i,j)∈T} P(A_i A_j)`, `T` a maximum spanning tree of
//!    the pairwise terms. If half the bracket is within the target, its
//!    midpoint is returned with that half-width as a *deterministic* bound
//!    ([`Estimate::confidence`] is 1). In the tails the bracket is relatively
//!    tight, so small exceedances keep their digits.
//! 2. Otherwise **Genz's separation of variables** (A. Genz, "Numerical
//!    computation of multivariate normal probabilities", *J. Comput. Graph.
//!    Stat.* 1 (1992) 141–149; Genz & Bretz, *Computation of Multivariate
//!    Normal and t Probabilities*, 2009): a Cholesky factorization with
//!    Genz's variable ordering (next the variable whose limit is least
//!    likely, given the truncated means of those before) turns the
//!    probability into an integral over the unit cube of a product of
//!    one-dimensional normal probabilities, each formed from the tail that
//!    avoids cancellation. A singular covariance is handled as Genz & Bretz
//!    do: a coordinate whose conditional variance is below 1e-10 is a
//!    combination of earlier ones and becomes one more limit on the last
//!    variable it involves.
//!    Two integrands are available. Below an exceedance of ½ (the bracket's
//!    midpoint) the first is used; above, a pilot run (64 points per shift,
//!    on shifts of its own) picks the one whose cost per point times
//!    variance^{2/3} is smaller (the time to a target if the variance falls
//!    like `N^{−3/2}`):
//!    * the exceedance as a sum over first occurrences,
//!      `P(∪A_j) = Σ_k P(A_k ∩ A_1ᶜ ∩ ⋯ ∩ A_{k−1}ᶜ)`
//!      (events by decreasing probability). Term `k` is the orthant
//!      probability of `(−Z_k, Z_1, …, Z_{k−1})`; the ordering puts the rare
//!      event first, so the integrand is sampled where it lives (importance
//!      sampling), and its first two factors are an exact bivariate
//!      probability: only the remainder beyond them is integrated, with the
//!      exact part as a control variate (coefficient one). The first term
//!      and the second are exact; every other term is integrated on a
//!      lattice of its own, with its own number of points (their variances
//!      differ by orders of magnitude: on the digits model this needs 3×
//!      fewer integrand evaluations than one number of points per class). On the ten-class digits model it needs up
//!      to 100× fewer points than the product below an exceedance of ½;
//!    * the orthant probability itself (its product form keeps the relative
//!      accuracy of a small orthant), up to 20× cheaper above an exceedance
//!      of 0.9 there.
//! 3. The integral uses a **randomized rank-1 lattice rule** (the
//!    extensible Richtmyer sequence `frac(i√p_j)` over the first primes, in
//!    64-bit fixed point so `frac(i z + Δ)` is exact, periodised by the tent
//!    map), with 16 independent uniform random shifts drawn from a seeded
//!    `StdRng`. Every (lattice, shift) pair of a stage is one task of a
//!    single parallel region on rayon's current pool (largest first); each
//!    pair's sum is a fixed sequential loop added once to its shift's total,
//!    so a given seed gives the same bits whatever the number of threads.
//!    The number of points per shift starts at 8 (the first stage of a
//!    nine-dimensional digits robust error to 1e-6 is then about 9·10³
//!    integrand evaluations; at 64 it overshot the target fivefold) and
//!    grows (at most 4× a stage) until the bound below is
//!    within the target, or [`OrthantOptions::max_evaluations`] integrand
//!    evaluations would be exceeded ([`Error::NoConvergence`]).
//! 4. A **weighted sum** `Σ_i w_i P(∪_j A_ij)` ([`weighted_exceedance_sum`],
//!    the multi-class robust error) is one estimate: closed forms are summed,
//!    the narrowest brackets are taken as they are while their half-widths
//!    add up to at most half the target, and every other term is integrated
//!    on lattices with shifts of their own (independent between terms, so
//!    their variances add). Each term gets its own number of points: if a
//!    term's variance falls like `a/N^α` and a point costs `c` (the summed
//!    dimensions of its integrands), the least total cost for a variance
//!    target has `N ∝ (a/c)^{1/(α+1)}`, with `α = 3/2` and `a` measured
//!    after each stage. The bound is one Student interval over the shifts'
//!    estimates of the whole sum, so no union bound over the terms is
//!    needed and a sum costs about as much as its hardest terms.
//!
//! # Contract
//!
//! * `error_bound = t_{15, (1+c)/2} · s/√16 + 1e-12 · value`, with `s` the
//!   sample standard deviation of the 16 shifts' means and `t` Student's
//!   quantile (computed, not tabulated) at the requested confidence `c`:
//!   the true value lies within the bound with probability about `c` over
//!   the random shifts (the shifts' means are independent and unbiased;
//!   the interval is exact for normal means, and the coverage test in
//!   `tests/suite/orthant.rs` checks it), plus the half-widths of the
//!   brackets taken as they are. The estimate is moved into the
//!   deterministic bracket of the whole, which can only reduce its error.
//! * A bracket result is certain: the bounds are exact inequalities, widened
//!   by the rounding of `Φ` (relative 1e-14) and `Φ₂` (relative 1e-12).
//! * `error_bound = 0` (and [`Estimate::is_exact`]) only for closed forms:
//!   m ≤ 2 after reduction, rank one, or a decided coordinate.
//!
//! # Accuracy and cost
//!
//! Measured (`tests/suite/orthant.rs`): against an 80-digit table of
//! equicorrelated cases (m = 3 … 12, `scripts/orthant_reference.py`), the
//! arcsine formula in three dimensions, `1/(m + 1)` at ρ = ½ and products
//! of independent margins, every deterministic bound held and the random
//! ones missed no more often than their confidence allows (2 misses in 368
//! at 99%); over 300 seeds at a requested confidence of 90%, 15 misses
//! (the bound is conservative after the first stage, where it reports the
//! target); weighted sums at 90% over 200 seeds, 14 misses (exceedances
//! near 1) and 8 (three small exceedances in seven and nine dimensions). In the far tails (exceedances 1e-9 down to 1e-33) the bracket
//! alone gives a certain bound within 1e-4 of the value for ρ ≤ ½ and
//! within 6.4% at ρ = 0.9 in nine dimensions; the worst error found was
//! 1.1% of the value.
//!
//! On the ten-class digits robust error (targets 1e-6 at 90%, against a
//! 1e-8 estimate), 15 and 7 of 200 seeds missed at ε = 0 and ε = 1.
//!
//! Cost, on the multi-class robust error of the Bayes rule fitted to the
//! embedded digits (two shared cores under load 7–8, release build): the
//! ten nine-dimensional exceedances to 1e-6 at 99% take 11–35 ms at ε = 0
//! and ℓ2 budget 1 (robust errors 0.8% and 2%; about 9·10³ and 2·10⁴
//! integrand evaluations), and 30–60 ms and 0.2–0.45 s to 1e-7 (2.2·10⁵
//! evaluations at budget 1); robust errors far from 0 (generative budgets 2
//! and 4: 0.33 and 0.95) take seconds. `benches/orthant.rs` times three,
//! five and ten classes. Plain Monte Carlo would need 5·10¹⁰ to 10¹¹
//! samples for 1e-6 at 99%.

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use super::{bivariate_cdf, bivariate_cdf_complement, cdf};
use crate::{Error, Result};

mod genz;
mod student;

use genz::{DEPENDENCE_TOLERANCE, Factorized, Lattice, SHIFTS};

/// A probability together with an absolute bound on its error.
///
/// The true value lies in `[value − error_bound, value + error_bound]`:
/// certainly when [`confidence`](Self::confidence) is 1 (a closed form, or
/// inclusion–exclusion bounds that bracket the value), and otherwise with
/// that probability over the randomization of the quasi-Monte Carlo rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    value: f64,
    error_bound: f64,
    confidence: f64,
}

impl Estimate {
    /// An estimate exact up to rounding.
    pub(crate) fn exact(value: f64) -> Self {
        Self {
            value,
            error_bound: 0.0,
            confidence: 1.0,
        }
    }

    /// An estimate with an absolute error bound holding with the given
    /// confidence (1 for a deterministic bound).
    pub(crate) fn with_bound(value: f64, error_bound: f64, confidence: f64) -> Self {
        Self {
            value,
            error_bound,
            confidence,
        }
    }

    /// The estimated probability.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// An absolute bound on the error of [`value`](Self::value): 0 when the
    /// value is exact up to rounding.
    pub fn error_bound(&self) -> f64 {
        self.error_bound
    }

    /// The probability with which the bound holds: 1 when it is
    /// deterministic (exact values and inclusion–exclusion brackets),
    /// otherwise [`OrthantOptions::confidence`].
    pub fn confidence(&self) -> f64 {
        self.confidence
    }

    /// Whether the value is exact up to rounding.
    pub fn is_exact(&self) -> bool {
        self.error_bound == 0.0 && self.confidence == 1.0
    }
}

/// Accuracy targets of [`orthant_probability`] and
/// [`exceedance_probability`] in dimensions where no closed form exists.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct OrthantOptions {
    /// Target absolute error (default 1e-6).
    pub absolute_error: f64,
    /// Confidence with which the error bound holds (default 0.99).
    pub confidence: f64,
    /// Seed of the randomization (default 0): the same seed gives the same
    /// result, whatever the number of threads.
    pub seed: u64,
    /// Largest number of integrand evaluations before giving up with
    /// [`Error::NoConvergence`] (default 10⁸, about a minute in nine
    /// dimensions on one core).
    pub max_evaluations: u64,
}

impl Default for OrthantOptions {
    fn default() -> Self {
        Self {
            absolute_error: 1e-6,
            confidence: 0.99,
            seed: 0,
            max_evaluations: 100_000_000,
        }
    }
}

impl OrthantOptions {
    /// Checks the accuracy targets: both must lie in `(0, 1)`.
    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.absolute_error > 0.0 && self.absolute_error < 1.0) {
            return Err(Error::InvalidParameter {
                name: "absolute_error",
                value: self.absolute_error,
                reason: "must lie in (0, 1)",
            });
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(Error::InvalidParameter {
                name: "confidence",
                value: self.confidence,
                reason: "must lie in (0, 1)",
            });
        }
        if self.max_evaluations == 0 {
            return Err(Error::InvalidParameter {
                name: "max_evaluations",
                value: 0.0,
                reason: "must be positive",
            });
        }
        Ok(())
    }

    /// Sets the target absolute error.
    pub fn with_absolute_error(mut self, absolute_error: f64) -> Self {
        self.absolute_error = absolute_error;
        self
    }

    /// Sets the confidence of the error bound.
    pub fn with_confidence(mut self, confidence: f64) -> Self {
        self.confidence = confidence;
        self
    }

    /// Sets the seed of the randomization.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the largest number of integrand evaluations.
    pub fn with_max_evaluations(mut self, max_evaluations: u64) -> Self {
        self.max_evaluations = max_evaluations;
        self
    }
}

/// Relative tolerance of the symmetry check on the covariance.
const SYMMETRY_TOLERANCE: f64 = 1e-12;

/// `P(Z_j ≤ h_j for every j)` for `Z ~ N(0, covariance)`.
///
/// Exact (to rounding) in one and two dimensions; beyond, see the
/// [module documentation](self) for the method and the contract. The
/// covariance may be singular (positive semi-definite), and a threshold may
/// be infinite.
///
/// # Errors
///
/// [`Error::NotSquare`], [`Error::Empty`], [`Error::DimensionMismatch`],
/// [`Error::NonFiniteEntry`] (a non-finite covariance entry or a NaN
/// threshold), [`Error::NotSymmetric`], [`Error::InvalidParameter`] (a
/// negative variance, or options out of range),
/// [`Error::NotPositiveDefinite`] when the correlation matrix has an
/// eigenvalue below `−1e-10 · λ_max` (not positive semi-definite);
/// [`Error::NoConvergence`] when the target accuracy is not reached within
/// [`OrthantOptions::max_evaluations`].
///
/// # Example
///
/// ```
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
/// use manifold_robustness::normal::{self, OrthantOptions};
///
/// let c = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.5, 1.0]);
/// let h = DVector::from_vec(vec![0.0, 0.0]);
/// let p = normal::orthant_probability(&c, &h, &OrthantOptions::default())?;
/// // P(Z₁ ≤ 0, Z₂ ≤ 0) = 1/4 + asin(ρ)/(2π) = 1/3 for ρ = ½.
/// assert!((p.value() - 1.0 / 3.0).abs() < 1e-15);
/// assert!(p.is_exact());
///
/// // Four equicorrelated coordinates with ρ = ½: P(Z ≤ 0) = 1/(m + 1).
/// let c = DMatrix::from_fn(4, 4, |i, j| if i == j { 1.0 } else { 0.5 });
/// let p = normal::orthant_probability(&c, &DVector::zeros(4), &OrthantOptions::default())?;
/// assert!((p.value() - 0.2).abs() <= p.error_bound() + 1e-15);
/// assert!(p.error_bound() <= 1e-6);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
pub fn orthant_probability(
    covariance: &DMatrix<f64>,
    thresholds: &DVector<f64>,
    options: &OrthantOptions,
) -> Result<Estimate> {
    solve(covariance, thresholds, options, Target::Orthant)
}

/// `P(Z_j > h_j for some j)` for `Z ~ N(0, covariance)`, computed without
/// forming `1 − orthant_probability`, so that a small value keeps its
/// digits.
///
/// # Errors
///
/// As [`orthant_probability`].
///
/// # Example
///
/// ```
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
/// use manifold_robustness::normal::{self, OrthantOptions};
///
/// // Five coordinates correlated ½, each exceeding 9 with probability
/// // Φ(−9) ≈ 1.1e-19: the union is bracketed by inclusion–exclusion to
/// // many digits, and the bound is deterministic.
/// let c = DMatrix::from_fn(5, 5, |i, j| if i == j { 1.0 } else { 0.5 });
/// let h = DVector::from_element(5, 9.0);
/// let p = normal::exceedance_probability(&c, &h, &OrthantOptions::default())?;
/// assert_eq!(p.confidence(), 1.0);
/// assert!(p.value() > 5.0e-19 && p.value() < 5.7e-19);
/// assert!(p.error_bound() < 1e-3 * p.value());
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
pub fn exceedance_probability(
    covariance: &DMatrix<f64>,
    thresholds: &DVector<f64>,
    options: &OrthantOptions,
) -> Result<Estimate> {
    solve(covariance, thresholds, options, Target::Exceedance)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Orthant,
    Exceedance,
}

impl Target {
    /// The target's value from the orthant probability and the exceedance.
    fn pick(self, orthant: f64, exceedance: f64) -> f64 {
        match self {
            Target::Orthant => orthant,
            Target::Exceedance => exceedance,
        }
    }
}

fn solve(
    covariance: &DMatrix<f64>,
    thresholds: &DVector<f64>,
    options: &OrthantOptions,
    target: Target,
) -> Result<Estimate> {
    match reduce(covariance, thresholds, options, target)? {
        Reduced::Exact(value) => Ok(Estimate::exact(value)),
        Reduced::General(h, rho) => estimate_sum(
            0.0,
            vec![Part {
                weight: 1.0,
                target,
                h,
                rho,
            }],
            options,
        ),
    }
}

/// `Σ_i weight_i · P(Z_ij > h_ij for some j)` for normal vectors
/// `Z_i ~ N(0, covariance_i)` given as `(weight_i, covariance_i,
/// thresholds_i)`, with one error bound for the whole sum: a weighted sum
/// of exceedance probabilities such as a multi-class robust error
/// (`Σ_y π_y · P(class y is attackable)`).
///
/// Closed forms and inclusion–exclusion brackets are summed exactly or with
/// their certain bounds; every term left to estimate is integrated on the
/// same randomized lattice, and the bound is one Student interval over the
/// shifts' estimates of the *whole* sum, at [`OrthantOptions::confidence`].
/// This is tighter than adding per-term bounds (the terms' errors partly
/// cancel, and no union bound over the terms is needed), so a sum of `K`
/// terms costs about as much as its hardest term alone. The bound is the
/// target [`OrthantOptions::absolute_error`] or less, as for
/// [`exceedance_probability`]; the confidence is 1 when nothing was
/// integrated.
///
/// # Errors
///
/// As [`exceedance_probability`] for each term, and
/// [`Error::InvalidParameter`] (named `"weight"`) for a negative or
/// non-finite weight.
///
/// # Example
///
/// ```
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
/// use manifold_robustness::normal::orthant::{self, OrthantOptions};
///
/// // Half of a four-dimensional exceedance with ρ = ½ at 0 (exactly
/// // 1 − 1/5) plus half of a two-dimensional one (exactly 1 − 1/3).
/// let c4 = DMatrix::from_fn(4, 4, |i, j| if i == j { 1.0 } else { 0.5 });
/// let c2 = DMatrix::from_fn(2, 2, |i, j| if i == j { 1.0 } else { 0.5 });
/// let (h4, h2) = (DVector::zeros(4), DVector::zeros(2));
/// let sum = orthant::weighted_exceedance_sum(
///     &[(0.5, &c4, &h4), (0.5, &c2, &h2)],
///     &OrthantOptions::default(),
/// )?;
/// let exact = 0.5 * (1.0 - 0.2) + 0.5 * (1.0 - 1.0 / 3.0);
/// assert!((sum.value() - exact).abs() <= sum.error_bound());
/// assert!(sum.error_bound() <= 1e-6);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
pub fn weighted_exceedance_sum(
    terms: &[(f64, &DMatrix<f64>, &DVector<f64>)],
    options: &OrthantOptions,
) -> Result<Estimate> {
    let mut exact = 0.0;
    let mut parts = Vec::new();
    for &(weight, covariance, thresholds) in terms {
        if !(weight >= 0.0 && weight.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "weight",
                value: weight,
                reason: "must be finite and not negative",
            });
        }
        match reduce(covariance, thresholds, options, Target::Exceedance)? {
            Reduced::Exact(value) => exact += weight * value,
            Reduced::General(h, rho) => parts.push(Part {
                weight,
                target: Target::Exceedance,
                h,
                rho,
            }),
        }
    }
    estimate_sum(exact, parts, options)
}

/// A problem after validation: its value when a closed form exists
/// (m ≤ 2 after standardizing, or a decided coordinate), otherwise the
/// standardized thresholds and correlation matrix (m ≥ 3).
enum Reduced {
    Exact(f64),
    General(Vec<f64>, DMatrix<f64>),
}

fn reduce(
    covariance: &DMatrix<f64>,
    thresholds: &DVector<f64>,
    options: &OrthantOptions,
    target: Target,
) -> Result<Reduced> {
    let value =
        |orthant: f64, exceedance: f64| Ok(Reduced::Exact(target.pick(orthant, exceedance)));
    let (h, rho) = match standardize(covariance, thresholds, options)? {
        Standardized::Empty => return value(0.0, 1.0),
        Standardized::Problem(h, rho) => (h, rho),
    };
    match h.len() {
        0 => value(1.0, 0.0),
        1 => value(cdf(h[0]), cdf(-h[0])),
        2 => {
            let r = rho[(0, 1)];
            value(
                bivariate_cdf(h[0], h[1], r),
                bivariate_cdf_complement(h[0], h[1], r),
            )
        }
        _ => Ok(Reduced::General(h, rho)),
    }
}

/// The standardized problem: thresholds `h_j/√C_jj` and the correlation
/// matrix, without the coordinates that cannot be exceeded (zero variance
/// and `h ≥ 0`, or `h = +∞`).
enum Standardized {
    /// Some coordinate always exceeds its threshold: the orthant is empty.
    Empty,
    Problem(Vec<f64>, DMatrix<f64>),
}

/// Validates the input and standardizes it.
fn standardize(
    covariance: &DMatrix<f64>,
    thresholds: &DVector<f64>,
    options: &OrthantOptions,
) -> Result<Standardized> {
    let m = covariance.nrows();
    if covariance.ncols() != m {
        return Err(Error::NotSquare {
            name: "covariance",
            rows: m,
            cols: covariance.ncols(),
        });
    }
    if m == 0 {
        return Err(Error::Empty { name: "covariance" });
    }
    if thresholds.len() != m {
        return Err(Error::DimensionMismatch {
            name: "thresholds",
            expected: m,
            found: thresholds.len(),
        });
    }
    options.validate()?;
    for j in 0..m {
        for i in 0..m {
            let value = covariance[(i, j)];
            if !value.is_finite() {
                return Err(Error::NonFiniteEntry {
                    name: "covariance",
                    row: i,
                    column: Some(j),
                    value,
                });
            }
        }
    }
    if let Some(j) = thresholds.iter().position(|v| v.is_nan()) {
        return Err(Error::NonFiniteEntry {
            name: "thresholds",
            row: j,
            column: None,
            value: f64::NAN,
        });
    }
    let scale = covariance.amax();
    let mut asymmetry = 0.0f64;
    for j in 0..m {
        for i in 0..j {
            asymmetry = asymmetry.max((covariance[(i, j)] - covariance[(j, i)]).abs());
        }
    }
    if asymmetry > SYMMETRY_TOLERANCE * scale {
        return Err(Error::NotSymmetric {
            asymmetry,
            tolerance: SYMMETRY_TOLERANCE * scale,
        });
    }
    if let Some(j) = (0..m).find(|&j| covariance[(j, j)] < 0.0) {
        return Err(Error::InvalidParameter {
            name: "covariance",
            value: covariance[(j, j)],
            reason: "variances (diagonal entries) must not be negative",
        });
    }
    // A coordinate without variance is 0: it must be uncorrelated with the
    // rest, and it either always or never exceeds its threshold.
    let mut active = Vec::with_capacity(m);
    let mut empty = false;
    for j in 0..m {
        if covariance[(j, j)] > 0.0 {
            if thresholds[j] < f64::INFINITY {
                active.push(j);
            }
            continue;
        }
        if let Some(i) = (0..m).find(|&i| covariance[(i, j)] != 0.0) {
            // The 2×2 principal minor [[C_ii, C_ij], [C_ij, 0]] is indefinite.
            let (a, b) = (covariance[(i, i)], covariance[(i, j)]);
            return Err(Error::NotPositiveDefinite {
                min_eigenvalue: 0.5 * (a - a.hypot(2.0 * b)),
                max_eigenvalue: 0.5 * (a + a.hypot(2.0 * b)),
            });
        }
        empty |= thresholds[j] < 0.0;
    }
    // Standardized with the square roots of the variances, so that neither
    // huge nor tiny scales over- or underflow.
    let sd: Vec<f64> = (0..m).map(|j| covariance[(j, j)].sqrt()).collect();
    let n = active.len();
    let rho = DMatrix::from_fn(n, n, |a, b| {
        let (i, j) = (active[a], active[b]);
        if i == j {
            1.0
        } else {
            covariance[(i, j)] / sd[i] / sd[j]
        }
    });
    if n >= 2 {
        let eigenvalues = rho.symmetric_eigenvalues();
        let (min, max) = (eigenvalues.min(), eigenvalues.max());
        // NaN eigenvalues fail too.
        if min.is_nan() || min < -DEPENDENCE_TOLERANCE * max {
            return Err(Error::NotPositiveDefinite {
                min_eigenvalue: min,
                max_eigenvalue: max,
            });
        }
    }
    let rho = rho.map(|r| r.clamp(-1.0, 1.0));
    let h: Vec<f64> = active.iter().map(|&j| thresholds[j] / sd[j]).collect();
    if empty || h.contains(&f64::NEG_INFINITY) {
        return Ok(Standardized::Empty);
    }
    Ok(Standardized::Problem(h, rho))
}

/// Deterministic bounds on the exceedance `P(∪_j {Z_j > h_j})` from its exact
/// univariate and bivariate terms, widened by their rounding.
#[derive(Debug, Clone, Copy)]
struct Bracket {
    lower: f64,
    upper: f64,
}

impl Bracket {
    /// With `S₁ = Σ P(A_j)`, `S₂ = Σ_{i<j} P(A_i A_j)`: the lower bound is
    /// the larger of `max_j P(A_j)` and Dawson–Sankoff's
    /// `2S₁/(k+1) − 2S₂/(k(k+1))`, `k = 1 + ⌊2S₂/S₁⌋` (at least Bonferroni's
    /// `S₁ − S₂`); the upper bound is Hunter's `S₁ − Σ_{(i,j) ∈ T} P(A_i A_j)`
    /// with `T` a maximum spanning tree of the pairwise terms.
    fn new(h: &[f64], rho: &DMatrix<f64>) -> Self {
        let n = h.len();
        let singles: Vec<f64> = h.iter().map(|&v| cdf(-v)).collect();
        let mut pairs = DMatrix::<f64>::zeros(n, n);
        let mut s2 = 0.0;
        for j in 0..n {
            for i in 0..j {
                let p = bivariate_cdf(-h[i], -h[j], rho[(i, j)]);
                pairs[(i, j)] = p;
                pairs[(j, i)] = p;
                s2 += p;
            }
        }
        let s1: f64 = singles.iter().sum();
        // Prim's algorithm for the maximum spanning tree.
        let mut in_tree = vec![false; n];
        let mut best = vec![f64::NEG_INFINITY; n];
        let mut tree = 0.0;
        let mut next = 0;
        for step in 0..n {
            in_tree[next] = true;
            if step > 0 {
                tree += best[next];
            }
            for j in 0..n {
                if !in_tree[j] {
                    best[j] = best[j].max(pairs[(next, j)]);
                }
            }
            if let Some(j) = (0..n)
                .filter(|&j| !in_tree[j])
                .max_by(|&a, &b| best[a].total_cmp(&best[b]))
            {
                next = j;
            }
        }
        let largest = singles.iter().copied().fold(0.0, f64::max);
        let mut lower = largest;
        if s1 > 0.0 {
            let k = (2.0 * s2 / s1).floor() + 1.0;
            lower = lower.max(2.0 * s1 / (k + 1.0) - 2.0 * s2 / (k * (k + 1.0)));
        }
        let upper = (s1 - tree).min(1.0);
        // Φ has relative error ≤ 1e-14 and Φ₂ ≤ 1e-12; the sums add a few
        // ulps per term.
        let slack = (1e-12 + 4.0 * (n * n) as f64 * f64::EPSILON) * (s1 + s2);
        Self {
            lower: (lower - slack).max(0.0),
            upper: (upper + slack).min(1.0),
        }
    }

    fn half_width(&self) -> f64 {
        0.5 * (self.upper - self.lower)
    }

    /// The bracket of the target's value.
    fn interval(&self, target: Target) -> (f64, f64) {
        match target {
            Target::Exceedance => (self.lower, self.upper),
            Target::Orthant => (1.0 - self.upper, 1.0 - self.lower),
        }
    }
}

/// Seed offset of the pilot lattices that choose each term's integrand.
const PILOT_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// One term `weight · value` of a weighted sum whose value has no closed
/// form: the standardized thresholds and correlation (m ≥ 3).
struct Part {
    weight: f64,
    target: Target,
    h: Vec<f64>,
    rho: DMatrix<f64>,
}

/// `exact + Σ weight · value(part)` with one error bound (module docs):
/// inclusion–exclusion brackets where they are tight enough, Genz's
/// separation of variables on one randomized lattice for the rest.
fn estimate_sum(exact: f64, parts: Vec<Part>, options: &OrthantOptions) -> Result<Estimate> {
    // The parts' exact terms are independent: one task each.
    let brackets: Vec<Bracket> = parts
        .par_iter()
        .map(|p| Bracket::new(&p.h, &p.rho))
        .collect();
    // The certain interval of the whole sum, and each part's contribution
    // to its half-width.
    let (mut lower, mut upper) = (exact, exact);
    let mut widths = Vec::with_capacity(parts.len());
    for (part, bracket) in parts.iter().zip(&brackets) {
        let (lo, hi) = bracket.interval(part.target);
        lower += part.weight * lo;
        upper += part.weight * hi;
        widths.push(part.weight * bracket.half_width());
    }
    if widths.iter().sum::<f64>() <= options.absolute_error {
        return Ok(Estimate::with_bound(
            0.5 * (lower + upper),
            0.5 * (upper - lower),
            1.0,
        ));
    }
    // The narrowest brackets are taken as they are, within half the target;
    // the other half is left to the integration.
    let mut by_width: Vec<usize> = (0..parts.len()).collect();
    by_width.sort_by(|&a, &b| widths[a].total_cmp(&widths[b]));
    let mut certain = 0.0;
    let mut constant = exact;
    let mut integrate = vec![true; parts.len()];
    for &i in &by_width {
        if certain + widths[i] > 0.5 * options.absolute_error {
            break;
        }
        certain += widths[i];
        let (lo, hi) = brackets[i].interval(parts[i].target);
        constant += parts[i].weight * 0.5 * (lo + hi);
        integrate[i] = false;
    }
    // One group of integrands per part, each on its own number of points.
    let mut groups: Vec<Vec<genz::Separated>> = Vec::new();
    // Pilot lattices (shifts of their own, not reused for the estimate)
    // choose between the two integrands of a part.
    let mut pilot_rng =
        <genz::StdRng as rand::SeedableRng>::seed_from_u64(options.seed ^ PILOT_SEED);
    let occurrences: Vec<_> = parts
        .par_iter()
        .zip(&integrate)
        .map(|(part, &integrate)| {
            integrate.then(|| {
                let (terms, leading) = first_occurrences(&part.h, &part.rho);
                (terms, leading, genz::factorize(&part.h, &part.rho, false))
            })
        })
        .collect();
    for ((i, part), occurrences) in parts.iter().enumerate().zip(occurrences) {
        let Some((terms, leading, factorized)) = occurrences else {
            continue;
        };
        let (w, target) = (part.weight, part.target);
        // exceedance = leading − Σ remainders.
        let sign = target.pick(1.0, -1.0);
        let union: Vec<genz::Separated> = terms
            .into_iter()
            .map(|mut t| {
                t.weight = sign * w;
                t
            })
            .collect();
        let union_constant = w * target.pick(1.0 - leading, leading);
        let (plain, plain_constant) = match factorized {
            Factorized::Exact(orthant, exceedance) => {
                (Vec::new(), w * target.pick(orthant, exceedance))
            }
            Factorized::Integral(mut separated) => {
                // The orthant from its product form (relative accuracy for a
                // small orthant), the exceedance as exact + remainder.
                separated.weight = w;
                separated.use_product = target == Target::Orthant;
                let constant = match target {
                    Target::Exceedance => w * separated.exact_exceedance,
                    Target::Orthant => 0.0,
                };
                (vec![separated], constant)
            }
        };
        let exceedance = 0.5 * (brackets[i].lower + brackets[i].upper);
        let use_union = if union.is_empty() || plain.is_empty() {
            union.is_empty()
        } else if exceedance <= 0.5 {
            // Small exceedances: the first occurrences, without a pilot.
            true
        } else {
            let effort = |problems: &[genz::Separated], rng: &mut genz::StdRng| {
                let dimension = problems.iter().map(|p| p.dimension()).max().unwrap_or(0);
                let mut lattice = Lattice::new(dimension, rng);
                lattice.extend_to(problems, Lattice::pilot_stage());
                let cost: f64 = problems.iter().map(|p| (p.dimension() + 1) as f64).sum();
                // Time to a variance target ∝ cost · variance^{1/α}, α = 3/2.
                cost * lattice.moments().1.powf(2.0 / 3.0)
            };
            let union_effort = effort(&union, &mut pilot_rng);
            let plain_effort = effort(&plain, &mut pilot_rng);
            union_effort <= plain_effort
        };
        if use_union {
            constant += union_constant;
            // One group per term, each on its own number of points: the
            // terms' variances differ by orders of magnitude.
            groups.extend(union.into_iter().map(|term| vec![term]));
        } else {
            constant += plain_constant;
            groups.push(plain);
        }
    }
    groups.retain(|g| !g.is_empty());
    let (lower, upper) = (lower.max(0.0), upper);
    if groups.is_empty() {
        let value = constant.clamp(lower, upper);
        return Ok(Estimate::with_bound(value, certain, 1.0));
    }
    let target = options.absolute_error - certain;
    let t = student::two_sided_quantile(options.confidence, (SHIFTS - 1) as u32)?;
    let dimension = groups
        .iter()
        .flatten()
        .map(|p| p.dimension())
        .max()
        .unwrap_or(0);
    // Independent shifts for each group, so that their errors are
    // independent and their variances add.
    let mut rng = <genz::StdRng as rand::SeedableRng>::seed_from_u64(options.seed);
    // Work per point of a group: its integrands' dimensions.
    let costs: Vec<f64> = groups
        .iter()
        .map(|g| g.iter().map(|p| (p.dimension() + 1) as f64).sum())
        .collect();
    let mut lattices: Vec<Lattice> = groups
        .iter()
        .map(|_| Lattice::new(dimension, &mut rng))
        .collect();
    let mut next = vec![Lattice::first_stage(); groups.len()];
    let mut stages = 0;
    loop {
        Lattice::extend_all(&mut lattices, &groups, &next);
        stages += 1;
        // Each shift's estimate of the whole sum (independent over the
        // shifts, whatever the groups' numbers of points).
        let mut replicates = [0.0; SHIFTS];
        for lattice in &lattices {
            for (r, a) in replicates.iter_mut().zip(lattice.averages()) {
                *r += a;
            }
        }
        let (mean, variance) = genz::mean_and_variance(&replicates);
        let value = constant + mean;
        // Rounding of the exact terms (Φ₂: relative 1e-12) and of the sums.
        let rounding = 1e-12 * value.abs();
        let bound = t * variance.sqrt() + rounding;
        if bound <= target {
            // After the first stage the numbers of points were chosen from
            // the shifts' own spread, and stopping when that spread happens
            // to be small biases the estimated bound low: report the target
            // then, which the spread of the final stage was sized to meet.
            let bound = if stages == 1 { bound } else { target };
            return Ok(Estimate::with_bound(
                value.clamp(lower, upper),
                bound + certain,
                options.confidence,
            ));
        }
        next = allocate(
            &lattices,
            &costs,
            ((target - rounding).max(0.0) / t).powi(2),
            variance,
        );
        let evaluations = next
            .iter()
            .zip(&groups)
            .map(|(&n, g)| {
                n.saturating_mul(SHIFTS as u64)
                    .saturating_mul(g.len() as u64)
            })
            .fold(0u64, u64::saturating_add);
        if evaluations > options.max_evaluations {
            return Err(Error::NoConvergence {
                solver: "orthant probability (randomized lattice rule)",
                iterations: stages,
                residual: "error bound",
                gap: bound + certain,
                target: options.absolute_error,
            });
        }
    }
}

/// Points per shift for each group in the next stage, so that the summed
/// variance of the groups' means reaches `variance_target` at the least
/// cost: if a group's variance falls like `a/N^α` and a point costs `c`,
/// the optimum is `N ∝ (a/c)^{1/(α+1)}`. `α = 3/2` (the error falls like
/// `N^{−3/4}`, between plain Monte Carlo's `N^{−1/2}` and the lattice rule's
/// `N^{−1}` on smooth integrands) errs towards more points. Each group grows
/// by at most 4× a stage (so the last stage overshoots little), never
/// shrinks, and the group with the largest variance grows by at least 1.5×.
/// `variance` is the measured variance of the whole sum.
fn allocate(lattices: &[Lattice], costs: &[f64], variance_target: f64, variance: f64) -> Vec<u64> {
    const ALPHA: f64 = 1.5;
    let current: Vec<f64> = lattices.iter().map(|l| l.points as f64).collect();
    let variances: Vec<f64> = lattices.iter().map(|l| l.moments().1).collect();
    // The groups' variances add up to the whole's in expectation; the
    // target is rescaled by their measured ratio so that sampling noise in
    // the sum does not stall the growth.
    let modelled: f64 = variances.iter().sum();
    let variance_target = if variance > 0.0 {
        variance_target * modelled / variance
    } else {
        variance_target
    };
    let scales: Vec<f64> = variances
        .iter()
        .zip(&current)
        .map(|(v, n)| v * n.powf(ALPHA))
        .collect();
    let exponent = 1.0 / (ALPHA + 1.0);
    let spread: f64 = scales
        .iter()
        .zip(costs)
        .map(|(a, c)| a.powf(exponent) * c.powf(ALPHA * exponent))
        .sum();
    let level = if variance_target > 0.0 {
        (spread / variance_target).powf(1.0 / ALPHA)
    } else {
        f64::INFINITY
    };
    let worst = (0..variances.len())
        .max_by(|&a, &b| variances[a].total_cmp(&variances[b]))
        .unwrap_or(0);
    current
        .iter()
        .enumerate()
        .map(|(g, &n)| {
            let wanted = level * (scales[g] / costs[g]).powf(exponent);
            let least = if g == worst { 1.5 * n } else { n };
            wanted.clamp(least, 4.0 * n).ceil() as u64
        })
        .collect()
}

/// The exceedance as a sum over first occurrences: with the events
/// `A_j = {Z_j > h_j}` ordered by decreasing probability,
/// `P(∪ A_j) = Σ_k P(A_k ∩ A_1ᶜ ∩ ⋯ ∩ A_{k−1}ᶜ)`. Term `k` is the orthant
/// probability of `(−Z_k, Z_1, …, Z_{k−1})` below `(−h_k, h_1, …, h_{k−1})`;
/// Genz's ordering puts the rare event `A_k` first, so its integrand is
/// sampled where it lives, and the first two variables of each term are
/// exact. Returns the terms left to integrate (their integrands' remainders
/// are subtracted) and the exact part: the sum of every term's exact
/// leading factor.
fn first_occurrences(h: &[f64], rho: &DMatrix<f64>) -> (Vec<genz::Separated>, f64) {
    let n = h.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| h[a].total_cmp(&h[b]));
    let mut exact = cdf(-h[order[0]]);
    let mut problems = Vec::new();
    for k in 1..n {
        let members: Vec<usize> = std::iter::once(order[k])
            .chain(order[..k].iter().copied())
            .collect();
        let sign = |a: usize| if a == 0 { -1.0 } else { 1.0 };
        let sub_h: Vec<f64> = members
            .iter()
            .enumerate()
            .map(|(a, &j)| sign(a) * h[j])
            .collect();
        let sub_rho = DMatrix::from_fn(k + 1, k + 1, |a, b| {
            if a == b {
                1.0
            } else {
                sign(a) * sign(b) * rho[(members[a], members[b])]
            }
        });
        if k == 1 {
            exact += bivariate_cdf(sub_h[0], sub_h[1], sub_rho[(0, 1)]);
            continue;
        }
        match genz::factorize(&sub_h, &sub_rho, true) {
            Factorized::Exact(orthant, _) => exact += orthant,
            Factorized::Integral(separated) => {
                exact += separated.exact_inside;
                problems.push(separated);
            }
        }
    }
    (problems, exact)
}
