//! What the prior and the center of a general model add to the symmetric
//! problem ([THEORY P4′](crate::theory#p4-any-means-any-prior)): the optimal
//! bias, the optimal robust error `E(r)` and its inverse.

use std::sync::Arc;

use nalgebra::DVector;

use crate::covariance::Covariance;
use crate::error::Result;
use crate::gmm::Gmm;
use crate::threat::Threat;

use super::SolverOptions;
use crate::normal;
use crate::roots::{Brent, Evaluation};

/// What a general model adds to the symmetric problem ([THEORY P4′](crate::theory#p4-any-means-any-prior)): the
/// prior and the center, which set the optimal bias and error but not the
/// direction; with the inputs the optimum was solved from, shared by the
/// optima of one call (so that an optimum can be written out and solved
/// again, see `serialization`).
#[derive(Debug)]
pub(crate) struct Placement {
    /// The model, threat and solver options the optimum was solved from
    /// (read only by `serde`).
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) origin: Origin,
    pub(super) prior_pos: f64,
    /// `ℓ = ln(π/(1 − π))`, exactly 0 at `π = 1/2`.
    pub(super) log_odds: f64,
    /// `c = (μ₊ + μ₋)/2`; `None` when it is exactly zero.
    pub(super) center: Option<DVector<f64>>,
    pub(super) covariance: Covariance,
}

/// The inputs of a robust optimum.
#[derive(Debug)]
#[cfg_attr(not(feature = "serde"), allow(dead_code))]
pub(crate) struct Origin {
    pub(crate) model: Gmm,
    pub(crate) threat: Threat,
    pub(crate) options: SolverOptions,
}

impl Placement {
    pub(super) fn of(gmm: &Gmm, threat: &Threat, options: &SolverOptions) -> Arc<Placement> {
        let center = gmm.center();
        let prior_pos = gmm.prior_pos();
        Arc::new(Placement {
            origin: Origin {
                model: gmm.clone(),
                threat: threat.clone(),
                options: options.clone(),
            },
            prior_pos,
            log_odds: normal::log_odds(prior_pos),
            center: (center.iter().any(|&x| x != 0.0)).then_some(center),
            covariance: gmm.covariance().clone(),
        })
    }

    /// `b* = s·ℓ/(2r) − wᵀc` for weights `w` whose ratio is `r`; `None`
    /// when it is not finite (`r ≤ 0` with `π ≠ 1/2`: no classifier beats
    /// the constant rule).
    pub(super) fn optimal_bias(&self, weights: &DVector<f64>, distance: f64) -> Option<f64> {
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

/// Relative tolerance of [`distance_for_error`] on `r`.
const DISTANCE_TOLERANCE: f64 = 4.0 * f64::EPSILON;

/// The inverse of [`normal::two_class_error`]: the distance `r ≥ 0` with
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
    if normal::log_odds(prior_pos) == 0.0 {
        return Ok(-normal::quantile(target)?);
    }
    let minority = prior_pos.min(1.0 - prior_pos);
    if target >= minority {
        return Ok(0.0);
    }
    let lo = -normal::quantile(target / (2.0 * minority))?;
    let hi = -normal::quantile(target)?;
    let ln_target = target.ln();
    let f = |r: f64| normal::ln_two_class_error(r, prior_pos) - ln_target;
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
