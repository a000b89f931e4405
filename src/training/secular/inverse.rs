//! The inverse of the distance: the budget at which `r*` takes a given
//! value (THEORY §8, matched budgets).

use super::SecularEquation;
use crate::error::{Error, Result};

impl SecularEquation {
    /// The budget `ε` at which the adversarial distance is `r`, for
    /// `r ∈ [r*(∞), r*(0)]` (`r*(∞)` is [`residual_distance`](Self::residual_distance)):
    /// solves `r*(λ) = r` for the multiplier and returns `ε = g(λ)`. It is the
    /// smallest such budget: `0` at `r = r*(0)`, the limit `ε_max` at
    /// `r = r*(∞)`. Since `r*` and `g` are strictly monotone in `λ`, this
    /// inverts `ε ↦ r*(ε)` exactly, up to rounding.
    ///
    /// # Method
    /// With `C = Σ m_j²` over the active terms, `r₊² = r² − r*(∞)²` and
    /// `ρ = √C/r₊ − 1`, the bounds `1 + λd_min ≤ 1 + λd_j ≤ 1 + λd_max` give
    /// the bracket `λ ∈ [ρ/d_max, ρ/d_min]`. Brent's method runs in
    /// `u = ln λ` (the bracket spans `ln(d_max/d_min)`, however wide the
    /// pencil's spread), on whichever of two cancellation-free forms keeps
    /// its relative accuracy:
    ///
    /// ```text
    /// Σ m_j² t_j² − r₊²                         if r₊² ≤ C/2,
    /// (r*(0)² − r²) − Σ m_j² (1 − t_j)(1 + t_j)  otherwise,
    /// ```
    ///
    /// with `t_j = 1/(1 + λd_j)` and `1 − t_j = λd_j/(1 + λd_j)`, each formed
    /// from `λd_j = exp(u + ln d_j)` or its inverse so nothing overflows; the
    /// target differences are formed as `(r*(0) − r)(r*(0) + r)` and
    /// `(r − r*(∞))(r + r*(∞))`. Then `ε = √(Σ_j m_j² (1 − t_j)²/d_j)`
    /// (`λt_j = (1 − t_j)/d_j`). Since `|d ln r*/d ln λ| ≤ 1` and
    /// `|d ln g/d ln λ| ≤ 1`, a root to a few ulps in `u` gives `ε` to a few
    /// ulps relative.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `r` is NaN or outside
    /// `[r*(∞), r*(0)]` ([`distance`](Self::distance)`(0.0)`);
    /// [`Error::NoConvergence`] if the root finder hits its cap (not expected:
    /// Brent's method at worst bisects, and 2100 steps shrink any bracket of
    /// doubles to adjacent numbers).
    pub fn budget_for_distance(&self, r: f64) -> Result<f64> {
        let residual = self.residual_distance();
        let full = self.distance(0.0);
        if !(r >= residual && r <= full) {
            return Err(Error::InvalidParameter {
                name: "distance",
                value: r,
                reason: "the adversarial distance must lie between r*(∞) and r*(0)",
            });
        }
        // In the normalized equation (a power-of-two scaling: exact).
        let (r, residual, full) = (
            r / self.root_energy,
            residual / self.root_energy,
            full / self.root_energy,
        );
        // r*(0)² − r² (what the budget must remove) and r₊² = r² − r*(∞)².
        let removed_target = (full - r) * (full + r);
        let remaining_target = (r - residual) * (r + residual);
        if removed_target == 0.0 || self.d.is_empty() {
            return Ok(0.0);
        }
        if remaining_target == 0.0 {
            return Ok(self.budget_limit());
        }
        let active: f64 = self.c.iter().sum();
        let root_active = active.sqrt();
        let remaining_root = remaining_target.sqrt();
        // ln ρ, ρ = √C/r₊ − 1 = (C − r₊²)/((√C + r₊) r₊).
        let ln_rho =
            removed_target.ln() - (root_active + remaining_root).ln() - remaining_root.ln();
        let use_remaining = remaining_target <= 0.5 * active;
        let terms = |u: f64| -> (f64, f64, f64) {
            let (mut remaining, mut removed, mut budget2) = (0.0, 0.0, 0.0);
            for (&d, &c) in self.d.iter().zip(&self.c) {
                let v = u + d.ln();
                // (t, 1 − t) with x = λd = e^v, overflow-free on both sides.
                let (t, one_minus_t) = if v <= 0.0 {
                    let x = v.exp();
                    (1.0 / (1.0 + x), x / (1.0 + x))
                } else {
                    let y = (-v).exp();
                    (y / (1.0 + y), 1.0 / (1.0 + y))
                };
                remaining += c * t * t;
                removed += c * one_minus_t * (1.0 + t);
                budget2 += c * one_minus_t * one_minus_t / d;
            }
            (remaining, removed, budget2)
        };
        // Decreasing in u.
        let f = |u: f64| {
            let (remaining, removed, _) = terms(u);
            if use_remaining {
                remaining - remaining_target
            } else {
                removed_target - removed
            }
        };
        let lo = ln_rho - self.d_max.ln();
        let hi = ln_rho - self.d_min.ln();
        let (f_lo, f_hi) = (f(lo), f(hi));
        // The bracket is exact up to rounding: an end that already lies past
        // the root (equal d_j, or rounding) is the root.
        let u = if f_lo <= 0.0 {
            lo
        } else if f_hi >= 0.0 {
            hi
        } else {
            let brent = crate::roots::Brent {
                absolute: 4.0 * f64::EPSILON,
                relative: 0.0,
                max_iterations: 2100,
                name: "distance inversion of the secular equation",
            };
            brent
                .solve(
                    |u| {
                        Ok(crate::roots::Evaluation {
                            value: f(u),
                            accept: false,
                        })
                    },
                    lo,
                    hi,
                    f_lo,
                    f_hi,
                )?
                .x
        };
        Ok(self.unscaled_budget(terms(u).2.sqrt().min(self.limit)))
    }
}
