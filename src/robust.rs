//! Robust error and the law of the adversarial distance ([THEORY §6](crate::theory#6-robust-error), [P3](crate::theory#p3-the-distance-law)).
//!
//! With `s = ‖w‖_Σ` the margin of a class-`y` point is normal,
//! `N(a_y, s²)`, where `a₊ = wᵀμ₊ + b` and `a₋ = −(wᵀμ₋ + b)`
//! ([`Gmm::margin_distribution`]). A budget `ε` lowers every margin by
//! `ε σ_K(w)`, so
//!
//! ```text
//! RE_ε(w, b) = π Φ((εσ_K(w) − a₊)/s) + (1 − π) Φ((εσ_K(w) − a₋)/s).
//! ```
//!
//! **[P3](crate::theory#p3-the-distance-law).** The minimal flipping budget `T` of a random labeled point
//! (`0` if misclassified, `+∞` if unreachable, see [`crate::attack`]) has
//! `P(T ≤ t) = RE_t`: the robust-error curve is the CDF of the adversarial
//! distance ([`Gmm::distance_cdf`]). Its mean is closed-form,
//!
//! ```text
//! E[T] = (π E[N(a₊, s²)⁺] + (1 − π) E[N(a₋, s²)⁺]) / σ_K(w),
//! E[N(a, s²)⁺] = a Φ(a/s) + s φ(a/s),
//! ```
//!
//! ([`Gmm::mean_adversarial_distance`]) and its quantiles solve
//! `RE_t = p` ([`Gmm::adversarial_distance_quantile`], the median at
//! `p = 1/2`).
//!
//! **Degenerate laws.** `T` has an atom `E` (the standard error) at `0`.
//! When `σ_K(w) = 0` it also has the atom `1 − E > 0` at `+∞`: the curve is
//! flat at `E` and never reaches `1`. Then the mean is `+∞`, and so is
//! every quantile `p > E` — `f64::INFINITY` is the exact answer, the same
//! value [`crate::BatchAttack::budgets`] uses for unreachable points, not
//! a failure. When `σ_K(w) > 0` the curve increases strictly to `1` and
//! every quantile is finite.
//!
//! **Numerics.** `E[N(a, s²)⁺] = s h(a/s)` with `h(z) = zΦ(z) + φ(z)`; for
//! `z ≤ −2` the two terms cancel, so `h(−y) = φ(y) c/(y + c)` is used, with
//! `c = 1/(y + 2/(y + 3/(y + …)))` from Laplace's continued fraction of the
//! Mills ratio (200 terms: converged to rounding for `y ≥ 2`).
//! Everything is computed from the margin law of `(w, b)/2^k` with
//! `max |w_i|/2^k ∈ [1, 2)`, and when `|b|/max|w_i|` (or a mean's score)
//! is beyond `2^1000`, from that law scaled by a further power of two that
//! brings the largest score to size one. So every error (a probability) is
//! returned for every accepted input, and a distance whenever it is
//! representable; a finite distance beyond `f64::MAX` is
//! [`Error::NonFinite`] named `"margins"`.
//! [`Gmm::ln_robust_error`] combines `ln Φ` of both classes by
//! log-sum-exp, so it stays finite when `RE` underflows. Quantiles are the
//! crate's safeguarded Newton iteration (bisection as the fallback) on the bracket
//! `[min_y a_y + s z_p, max_y a_y + s z_p]`, `z_p = Φ⁻¹(p)`, on the shift
//! `u = t σ_K(w)` (each class's CDF is `≤ p` below it and `≥ p` above it).

use crate::attack::check_threat;
use crate::classifier::LinearClassifier;
use crate::error::{Error, Result, ensure_budget};
use crate::gmm::Gmm;
use crate::normal;
use crate::roots::Newton;
use crate::threat::Threat;

/// Terms of Laplace's continued fraction for the Mills ratio; enough for
/// full double precision at `y ≥ 2` (checked against 50-digit values).
const MILLS_TERMS: usize = 200;

/// Below `z = −MILLS_FROM` the positive-part mean uses the continued fraction.
const MILLS_FROM: f64 = 2.0;

/// The quantile search: safeguarded Newton to a relative accuracy of
/// `4 ε_mach`. The cap only guards against a malformed problem: the
/// bracket halves at least every other step unless Newton approaches the
/// root monotonically, and bisection alone needs at most ~1100 halvings to
/// shrink any bracket of doubles to adjacent numbers.
const QUANTILE_SEARCH: Newton = Newton {
    absolute: 0.0,
    relative: 4.0 * f64::EPSILON,
    max_iterations: 2200,
    name: "adversarial-distance quantile",
};

impl Gmm {
    /// The robust error `RE_ε(w, b)` of a linear classifier against
    /// `threat` at budget `eps` ([THEORY §6](crate::theory#6-robust-error)).
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{Covariance, Gmm, Threat};
    /// use manifold_robustness::nalgebra::DVector;
    ///
    /// // Σ = I, means ±(1, 0), Bayes classifier w = (2, 0): RE_ε = Φ(ε − 1) for ℓ2.
    /// let gmm = Gmm::symmetric(DVector::from_vec(vec![1.0, 0.0]), Covariance::isotropic(2, 1.0)?)?;
    /// let clf = gmm.bayes_classifier();
    /// let re = gmm.robust_error(&clf, &Threat::l2(), 0.5)?;
    /// assert!((re - 0.308_537_538_725_986_9).abs() < 1e-15); // Φ(−1/2)
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidBudget`] for a negative or non-finite `eps`,
    /// [`Error::DimensionMismatch`] when the classifier or threat does not
    /// match the model's dimension.
    pub fn robust_error(&self, clf: &LinearClassifier, threat: &Threat, eps: f64) -> Result<f64> {
        ensure_budget(eps)?;
        let support = self.checked_support(clf, threat)?;
        self.robust_error_at_shift(clf, eps, support)
    }

    /// `σ_K(w/2^k)` for the normalized classifier of [`Gmm::unit_margins`]
    /// (every error depends on `σ_K(w)/‖w‖_Σ` only).
    fn checked_support(&self, clf: &LinearClassifier, threat: &Threat) -> Result<f64> {
        crate::error::ensure_dim("classifier", self.dim(), clf.dim())?;
        check_threat(clf, threat)?;
        let (unit, _) = crate::linalg::normalize(clf.weights()).ok_or(Error::ZeroWeights)?;
        Ok(threat.support_unchecked(&unit))
    }

    /// `ln RE_ε(w, b)`, finite even when `RE_ε` underflows (well-separated
    /// models): `ln Φ` of each class combined by log-sum-exp.
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{Covariance, Gmm, Threat};
    /// use manifold_robustness::nalgebra::DVector;
    ///
    /// // Means ±(60, 0): RE_0 = Φ(−60) ≈ 1e-784 underflows, its logarithm does not.
    /// let gmm = Gmm::symmetric(DVector::from_vec(vec![60.0, 0.0]), Covariance::isotropic(2, 1.0)?)?;
    /// let clf = gmm.bayes_classifier();
    /// assert_eq!(gmm.robust_error(&clf, &Threat::l2(), 0.0)?, 0.0);
    /// let ln_re = gmm.ln_robust_error(&clf, &Threat::l2(), 10.0)?; // ln Φ(−50)
    /// assert!((ln_re / -1_254.831_361_139_419_9 - 1.0).abs() < 1e-13);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Gmm::robust_error`].
    pub fn ln_robust_error(
        &self,
        clf: &LinearClassifier,
        threat: &Threat,
        eps: f64,
    ) -> Result<f64> {
        ensure_budget(eps)?;
        let support = self.checked_support(clf, threat)?;
        let m = self.unit_margins(clf)?;
        let u = m.shift(eps, support);
        let p = self.prior_pos();
        let (z_pos, z_neg) = (m.standardized(u, m.pos), m.standardized(u, m.neg));
        if z_pos.is_nan() || z_neg.is_nan() {
            return Err(Error::NonFinite { name: "margins" });
        }
        // −∞ when both classes' margins are infinitely many standard
        // deviations clear (RE = 0 exactly).
        Ok(normal::ln_cdf_mixture(p, z_pos, z_neg))
    }

    /// The CDF of the adversarial distance, `P(T ≤ t)` ([P3](crate::theory#p3-the-distance-law)): the robust
    /// error `RE_t` for `t ≥ 0`, `0` for `t < 0`, and `1` at `t = +∞`.
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{default_model, Threat};
    ///
    /// let gmm = default_model();
    /// let clf = gmm.bayes_classifier();
    /// let threat = Threat::generative(gmm.covariance());
    /// let t = 0.7;
    /// assert_eq!(gmm.distance_cdf(&clf, &threat, t)?, gmm.robust_error(&clf, &threat, t)?);
    /// assert_eq!(gmm.distance_cdf(&clf, &threat, -1.0)?, 0.0);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidBudget`] for `t = NaN`; [`Error::DimensionMismatch`]
    /// as [`Gmm::robust_error`].
    pub fn distance_cdf(&self, clf: &LinearClassifier, threat: &Threat, t: f64) -> Result<f64> {
        if t.is_nan() {
            return Err(Error::InvalidBudget { value: t });
        }
        self.checked_support(clf, threat)?;
        if t < 0.0 {
            Ok(0.0)
        } else if t == f64::INFINITY {
            Ok(1.0)
        } else {
            self.robust_error(clf, threat, t)
        }
    }

    /// The mean adversarial distance `E[T]` in closed form ([P3](crate::theory#p3-the-distance-law)); `0` counts
    /// for misclassified points. `f64::INFINITY` when `σ_K(w) = 0` (then
    /// every correctly classified point, probability `1 − E > 0`, is
    /// unreachable).
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{Covariance, Gmm, Threat};
    /// use manifold_robustness::nalgebra::DVector;
    ///
    /// // Σ = I, w = (2, 0), b = 0: margins N(2, 4), σ_ℓ2 = 2, so
    /// // E[T] = (2Φ(1) + 2φ(1))/2 = Φ(1) + φ(1).
    /// let gmm = Gmm::symmetric(DVector::from_vec(vec![1.0, 0.0]), Covariance::isotropic(2, 1.0)?)?;
    /// let clf = gmm.bayes_classifier();
    /// let mean = gmm.mean_adversarial_distance(&clf, &Threat::l2())?;
    /// assert!((mean - 1.083_315_470_587_686_3).abs() < 1e-15);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] as [`Gmm::robust_error`];
    /// [`Error::NonFinite`] (named `"margins"`) when the mean is finite but
    /// beyond `f64::MAX` (margins that large next to `σ_K(w)`).
    pub fn mean_adversarial_distance(
        &self,
        clf: &LinearClassifier,
        threat: &Threat,
    ) -> Result<f64> {
        let support = self.checked_support(clf, threat)?;
        if support == 0.0 {
            return Ok(f64::INFINITY);
        }
        let m = self.unit_margins(clf)?;
        let p = self.prior_pos();
        let expected_shortfall = p * positive_part_mean(m.pos, m.spread)
            + (1.0 - p) * positive_part_mean(m.neg, m.spread);
        m.distance(expected_shortfall, support)
            .ok_or(Error::NonFinite { name: "margins" })
    }

    /// The median adversarial distance: the smallest `t ≥ 0` with
    /// `RE_t ≥ 1/2` (see [`Gmm::adversarial_distance_quantile`]).
    ///
    /// It is `0` when the standard error is at least `1/2`, and
    /// `f64::INFINITY` when `σ_K(w) = 0` and the standard error is below
    /// `1/2` (the curve stays flat below `1/2`: most points are
    /// unreachable).
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{Covariance, Gmm, Threat};
    /// use manifold_robustness::nalgebra::DVector;
    ///
    /// // Symmetric model, Bayes classifier: both classes' margins are
    /// // N(a, s²) with a = wᵀμ, so the median is a / σ_K(w) exactly.
    /// let gmm = Gmm::symmetric(DVector::from_vec(vec![1.0, 0.0]), Covariance::isotropic(2, 1.0)?)?;
    /// let clf = gmm.bayes_classifier();
    /// let median = gmm.median_adversarial_distance(&clf, &Threat::linf())?;
    /// assert!((median - 1.0).abs() < 1e-15); // a = 2, ‖w‖₁ = 2
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] as [`Gmm::robust_error`];
    /// [`Error::NoConvergence`] if the safeguarded search were to exhaust
    /// its iteration cap (not expected: each step either halves the
    /// bracket within two steps or moves monotonically towards the root);
    /// [`Error::NonFinite`] as [`Gmm::adversarial_distance_quantile`].
    pub fn median_adversarial_distance(
        &self,
        clf: &LinearClassifier,
        threat: &Threat,
    ) -> Result<f64> {
        self.adversarial_distance_quantile(clf, threat, 0.5)
    }

    /// The `p`-quantile of the adversarial distance,
    /// `inf{t ≥ 0 : RE_t ≥ p}`: `0` when the standard error is at least
    /// `p`, `f64::INFINITY` when `σ_K(w) = 0` and the standard error is
    /// below `p`, else the unique root of `RE_t = p` (relative accuracy
    /// ~`1e-15` in `t σ_K(w)`).
    ///
    /// # Errors
    /// [`Error::InvalidProbability`] unless `0 < p < 1`;
    /// [`Error::DimensionMismatch`] as [`Gmm::robust_error`];
    /// [`Error::NoConvergence`] as [`Gmm::median_adversarial_distance`];
    /// [`Error::NonFinite`] (named `"margins"`) when the quantile is finite
    /// but beyond `f64::MAX`.
    pub fn adversarial_distance_quantile(
        &self,
        clf: &LinearClassifier,
        threat: &Threat,
        p: f64,
    ) -> Result<f64> {
        if !(p > 0.0 && p < 1.0) {
            return Err(Error::InvalidProbability {
                name: "p",
                value: p,
            });
        }
        let support = self.checked_support(clf, threat)?;
        if self.robust_error_at_shift(clf, 0.0, 0.0)? >= p {
            return Ok(0.0);
        }
        if support == 0.0 {
            return Ok(f64::INFINITY);
        }
        let m = self.unit_margins(clf)?;
        let (a_pos, a_neg, s) = (m.pos, m.neg, m.spread);
        let prior = self.prior_pos();
        // RE at the shift u, minus p, with its derivative (the density).
        let excess = |u: f64| {
            let curve =
                prior * normal::cdf((u - a_pos) / s) + (1.0 - prior) * normal::cdf((u - a_neg) / s);
            let density = (prior * normal::pdf((u - a_pos) / s)
                + (1.0 - prior) * normal::pdf((u - a_neg) / s))
                / s;
            (curve - p, density)
        };
        let z = normal::quantile(p)?;
        // RE_0 < p, so the upper end is positive and the root lies above 0.
        let lo = (a_pos.min(a_neg) + s * z).max(0.0);
        let hi = a_pos.max(a_neg) + s * z;
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(Error::NonFinite { name: "margins" });
        }
        let u = QUANTILE_SEARCH.solve(excess, lo, hi, 0.5 * (lo + hi))?;
        m.distance(u, support)
            .ok_or(Error::NonFinite { name: "margins" })
    }
}

/// `E[N(a, s²)⁺] = a Φ(a/s) + s φ(a/s)`, without cancellation for `a ≪ 0`.
pub(crate) fn positive_part_mean(a: f64, s: f64) -> f64 {
    if s == 0.0 {
        // A spread that underflowed next to the margin: a point mass.
        return a.max(0.0);
    }
    let z = a / s;
    if z >= -MILLS_FROM {
        return a * normal::cdf(z) + s * normal::pdf(z);
    }
    // h(−y) = φ(y)(1 − y R(y)) with R(y) = 1/(y + c), so 1 − yR = c/(y + c).
    let y = -z;
    let mut tail = 0.0;
    for j in (2..=MILLS_TERMS).rev() {
        tail = j as f64 / (y + tail);
    }
    let c = 1.0 / (y + tail);
    s * normal::pdf(y) * c / (y + c)
}

#[cfg(test)]
// Reference values keep every digit mpmath printed.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    #[test]
    fn positive_part_mean_matches_high_precision_values() {
        // h(z) = zΦ(z) + φ(z) at 50 digits (mpmath): npdf(y) − y·ncdf(−y) at z = −y.
        let cases = [
            (0.0, 0.398_942_280_401_432_677_94),
            (-1.0, 0.083_315_470_587_686_298_383),
            (-2.0, 0.008_490_702_616_829_637_55),
            (-3.0, 3.821_543_170_477_235_956_5e-4),
            (-10.0, 7.474_560_254_589_328_036_6e-25),
            (-30.0, 1.631_956_734_091_401_189_4e-199),
            (1.5, 1.529_306_793_762_604_628_6),
        ];
        for (z, expected) in cases {
            let got = positive_part_mean(z, 1.0);
            assert!(
                (got / expected - 1.0).abs() < 1e-13,
                "h({z}) = {got:e}, expected {expected:e}"
            );
        }
        // Scaling: E[N(a, s²)⁺] = s h(a/s).
        let got = positive_part_mean(-6.0, 2.0);
        assert!((got / (2.0 * 3.821_543_170_477_235_956_5e-4) - 1.0).abs() < 1e-13);
    }
}
