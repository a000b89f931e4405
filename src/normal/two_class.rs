//! The error of a two-class problem on one normal axis: classes
//! `N(±r, 1)` with prior `π = P(+)`, and mixtures of two `Φ` terms in log
//! space.
//!
//! With `ℓ = ln(π/(1 − π))`, the best threshold is `β = ℓ/(2r)` and the
//! Bayes error is
//!
//! ```text
//! E(r) = π Φ(−r − β) + (1 − π) Φ(−r + β)
//! ```
//!
//! (`Φ(−r)` at `π = 1/2`, `min(π, 1 − π)` for `r ≤ 0`). It is both the Bayes
//! error of a model with Mahalanobis separation `Δ = 2r` and, at `r = r*`,
//! the optimal robust error of training (THEORY P4′). `ln E` combines the
//! two `ln Φ` terms by log-sum-exp, so it stays finite when `E` underflows;
//! its relative accuracy is that of `ln Φ`.

use super::{cdf, ln_cdf};

/// `ℓ = ln(π/(1 − π))`, exactly 0 at `π = 1/2`.
pub(crate) fn log_odds(prior_pos: f64) -> f64 {
    (prior_pos / (1.0 - prior_pos)).ln()
}

/// `E(r) = π Φ(−r − β) + (1 − π) Φ(−r + β)`, `β = ℓ/(2r)` (module docs):
/// `Φ(−r)` at `π = 1/2` and `min(π, 1 − π)` for `r ≤ 0`. Strictly
/// decreasing in `r > 0`, from `min(π, 1 − π)` to 0.
pub(crate) fn two_class_error(distance: f64, prior_pos: f64) -> f64 {
    let l = log_odds(prior_pos);
    if l == 0.0 {
        return cdf(-distance);
    }
    if distance <= 0.0 {
        return prior_pos.min(1.0 - prior_pos);
    }
    let beta = l / (2.0 * distance);
    prior_pos * cdf(-distance - beta) + (1.0 - prior_pos) * cdf(-distance + beta)
}

/// `ln E(r)` of [`two_class_error`], accurate when `E` underflows.
pub(crate) fn ln_two_class_error(distance: f64, prior_pos: f64) -> f64 {
    let l = log_odds(prior_pos);
    if l == 0.0 {
        return ln_cdf(-distance);
    }
    if distance <= 0.0 {
        return prior_pos.min(1.0 - prior_pos).ln();
    }
    let beta = l / (2.0 * distance);
    ln_cdf_mixture(prior_pos, -distance - beta, -distance + beta)
}

/// `ln(π Φ(x) + (1 − π) Φ(y))` by log-sum-exp over `ln Φ`, finite when the
/// sum underflows; `−∞` when both terms are exactly 0 (`x = y = −∞`).
pub(crate) fn ln_cdf_mixture(prior_pos: f64, x: f64, y: f64) -> f64 {
    let log_pos = prior_pos.ln() + ln_cdf(x);
    let log_neg = (-prior_pos).ln_1p() + ln_cdf(y);
    let (hi, lo) = if log_pos >= log_neg {
        (log_pos, log_neg)
    } else {
        (log_neg, log_pos)
    };
    if hi == f64::NEG_INFINITY {
        // Both terms vanish: ln 0 = −∞ (not −∞ − (−∞) = NaN).
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}
