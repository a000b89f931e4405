//! The certificate of a secular root: certified lower and upper bounds on
//! `r*` (see the parent module's docs, "Certificate").

use super::{SecularEquation, SecularRoot};
use crate::training::dual::rounding::{self, CovarianceError};

/// How the terms of a [`SecularEquation`] were computed from the user's
/// inputs, for the rounding bound of the certificate (see
/// `dual::rounding`): the covariance's error model and how the threat's
/// support follows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Perturbation {
    pub covariance: Option<CovarianceError>,
    pub threat: ThreatError,
    /// A bound on every `spread_j` when the terms do not carry their own
    /// (generalized pencils): `κ(Σ)`.
    pub uniform_spread: Option<f64>,
}

/// How the threat's support `σ_K(w)` of the code differs from the input's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ThreatError {
    /// `M` is used exactly (ℓ2: `M = I`).
    Exact,
    /// `M = U f(Λ) Uᵀ` follows the decomposition, bounded a posteriori
    /// through the equation's per-term leaks (`dual::rounding`,
    /// "Model-based threats"); `quadratic` when `σ_K` involves `Σ` itself.
    /// Where no classifier is left, `sensitivity` (an `L_√f √λ_max`, units
    /// of `√d`) bounds `|σ' − σ| ≤ sensitivity·η·√λ_max‖w‖`.
    Measured { quadratic: bool, sensitivity: f64 },
    /// A generalized pencil from a Gram matrix: `|σ'² − σ²| ≤ gram·d_max‖y‖²`
    /// and `|σ' − σ| ≤ whitening·√d_max‖y‖` (`y` the whitened `w`).
    Pencil { gram: f64, whitening: f64 },
}

impl Perturbation {
    /// Terms taken as exact: only the rounding of the certificate itself.
    pub(crate) const EXACT: Perturbation = Perturbation {
        covariance: None,
        threat: ThreatError::Exact,
        uniform_spread: None,
    };
}

/// Lower and upper bounds on `r*` at a given `λ` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Certificate {
    /// The primal ratio `ρ(w(λ))`, clamped at 0.
    pub lower: f64,
    /// The dual value `‖μ − z‖_{Σ⁻¹}` of the feasible shift.
    pub upper: f64,
    /// The rounding widening included in `[lower, upper]`.
    pub rounding: f64,
}

impl Certificate {
    /// `upper − lower`, clamped at 0 (a negative difference is rounding:
    /// weak duality makes the exact one non-negative).
    pub fn gap(&self) -> f64 {
        (self.upper - self.lower).max(0.0)
    }
}

impl SecularEquation {
    /// The certified bounds on `r*` of the classifier `w(λ)` and the shift
    /// `z = εMw/‖Aᵀw‖` at budget `ε`, for a root found at that budget
    /// (module docs, "Certificate"), widened by the rounding bound of
    /// [`certificate_rounding`](Self::certificate_rounding).
    pub(crate) fn certify(&self, eps: f64, root: &SecularRoot) -> Certificate {
        let eps = self.to_scaled_budget(eps);
        // Past the limit the answer is the λ = ∞ one whatever the budget; its
        // rounding is bounded at the limit (a huge ε would overflow it).
        let eps = if root.scaled == f64::INFINITY {
            eps.min(self.limit)
        } else {
            eps
        };
        let (lower, upper) = self.exact_bounds(eps, root);
        let (below, above) = self.certificate_rounding(eps, root, lower);
        Certificate {
            lower: (lower - below).max(0.0) * self.root_energy,
            upper: (upper + above) * self.root_energy,
            rounding: (below + above) * self.root_energy,
        }
    }

    /// The bounds of the module docs in the normalized equation, exact up
    /// to the rounding of their few operations.
    fn exact_bounds(&self, eps: f64, root: &SecularRoot) -> (f64, f64) {
        let lambda = root.scaled;
        if lambda == f64::INFINITY {
            // w keeps the d_j = 0 part only: σ_K(w) = 0 and ρ = ‖m₀‖; the
            // shift z = the whole M-part of μ is feasible since ε ≥ ε_max.
            let r = self.null_energy.sqrt();
            return (r, r);
        }
        let [t0, t1, t2, _] = root.moments;
        let sigma = t1.sqrt();
        let delta = eps - lambda * sigma;
        let n2 = t0 + self.null_energy;
        let n = n2.sqrt();
        if n == 0.0 {
            return (0.0, 0.0);
        }
        let lower = ((n2 - delta * sigma) / n).max(0.0);
        let correction = if t1 > 0.0 {
            -2.0 * delta * sigma + delta * delta * t2 / t1
        } else {
            0.0
        };
        let upper = ((t0 + correction).max(0.0) + self.null_energy).sqrt();
        (lower, upper)
    }

    /// How far the certificate `(lower, upper)` of the normalized equation
    /// may be from the exact bounds of the user's float64 inputs: the
    /// amounts `(below, above)` to subtract from the lower and add to the
    /// upper bound (see `dual::rounding` for the error model).
    ///
    /// With `s = ‖w‖_Σ`, `σ = ‖Aᵀw‖`, `q_w = λ_max‖w‖²/s²` (from the
    /// per-term spreads, or `κ` for a generalized pencil) and `r₀ = r*(0)`:
    ///
    /// ```text
    /// Δs/s = η q_w/2 + c_U √q_w + (n + 3)u            (η = e_Σ/λ_max, u = ε_mach/2)
    /// Δa/s = c_U √q_w r₀                                (μ's coordinates)
    /// Δb/s = ε L_√f √λ_max η √q_w                      (model-based M)
    /// Δρ = (Δa + Δb + ρΔs)/(s − Δs),   R = 4(n + 3)u r₀
    /// ```
    ///
    /// `R` bounds the rounding of the identities (every term in them is at
    /// most `r₀` in size). The lower bound moves by `Δρ + R`, the upper by
    /// `2Δρ + R`. Past the limit without a classifier (`r* = 0` computed)
    /// the exact `ε_max` may lie a relative `η_w = ηκ(1 + L_f) + c_U√κ`
    /// above the computed one, and `r* ≤ η_w r₀` there (`L_f` here the
    /// sensitivity of `√f` scaled by `√(λ_max/d_max)`).
    fn certificate_rounding(&self, eps: f64, root: &SecularRoot, lower: f64) -> (f64, f64) {
        let n = self.terms + 1;
        let full = self.full_distance;
        let formula = 4.0 * rounding::summation(n) * full;
        let p = &self.perturbation;
        let Some(cov) = p.covariance else {
            return (formula, formula);
        };
        let kappa = cov.lambda_max / cov.lambda_min;
        // The weight W = Σ_j spread_j t_j² comes from the root's own pass.
        let [t0, t1, _, spread] = root.moments;
        // Σ_j √c_j t_j ℓ_j over the active terms (the null terms have t = 1;
        // `leak` holds √c_j ℓ_j, summed over merged terms).
        let leak = if root.scaled == f64::INFINITY {
            0.0
        } else {
            self.d
                .iter()
                .zip(&self.leak)
                .map(|(&d, &l)| l / (1.0 + root.scaled * d))
                .sum::<f64>()
        } + self.null_leak;
        let s2 = t0 + self.null_energy;
        if s2 == 0.0 {
            // No classifier: the computed r* is 0 at or past the limit.
            let model = match p.threat {
                ThreatError::Measured { sensitivity, .. } => {
                    self.scaled_sensitivity(sensitivity) / self.d_max.max(f64::MIN_POSITIVE).sqrt()
                }
                ThreatError::Pencil { gram, whitening } => gram + whitening,
                ThreatError::Exact => 0.0,
            };
            let relative = amplified(cov.relative, kappa * (1.0 + model))
                + amplified(cov.coordinates, kappa.sqrt());
            return (formula, 2.0 * relative * full + formula);
        }
        let s = s2.sqrt();
        let q_w = match p.uniform_spread {
            Some(k) => k,
            None => (spread + self.null_spread) / s2,
        };
        let norm_error = s
            * (amplified(cov.relative, q_w) / 2.0
                + amplified(cov.coordinates, q_w.sqrt())
                + rounding::summation(n));
        let dot_error = s * amplified(cov.coordinates, q_w.sqrt()) * full;
        let sigma = t1.sqrt();
        let support_error = match p.threat {
            ThreatError::Exact => 0.0,
            ThreatError::Measured { quadratic, .. } => {
                // (Δσ/s) of the user's problem: the leaks across the cut,
                // plus for Σ-based supports the restricted quadratic form
                // σ² ± e‖y_S‖² (λ_max‖y_S‖²/s² from the active spreads);
                // normalized budgets carry σ in units of √D.
                let ratio = sigma / s * self.root_pencil;
                let form = if quadratic {
                    rounding::root_shift(ratio, amplified(cov.relative, spread / s2))
                } else {
                    0.0
                };
                eps * s * (leak / s + form) / self.root_pencil
            }
            ThreatError::Pencil { gram, whitening } => {
                let delta = gram * self.d_max * s2;
                eps * (rounding::root_shift(sigma, delta) + whitening * self.d_max.sqrt() * s)
            }
        };
        // Δa, Δb are errors of wᵀμ and εσ in units where ρ = (a − b)/s.
        let shift = rounding::ratio_error(&rounding::Ratio {
            s,
            rho: lower,
            dot_error,
            support_error,
            norm_error,
        });
        (shift + formula, 2.0 * shift + formula)
    }
}

/// An error `e` amplified by `factor`: exactly 0 when the error is 0 (an
/// exact diagonal decomposition), even if the amplification overflows (a
/// spread `λ_max/λ_j` beyond `f64::MAX` made `0·∞ = NaN` and erased the
/// distance).
fn amplified(error: f64, factor: f64) -> f64 {
    if error == 0.0 { 0.0 } else { error * factor }
}
