//! Floating-point error bounds of the certificates (both solvers).
//!
//! A certificate `ρ(w) ≤ r* ≤ ‖μ − z‖_{Σ⁻¹}` is exact for the matrices the
//! code works with, which are not the user's: a dense or spiked covariance
//! is used through its computed eigen-decomposition `Σ' = U'Λ'U'ᵀ`, and
//! every quadratic form is a sum of rounded terms. This module bounds the
//! difference, so that the reported interval contains the exact `r*` of
//! the float64 inputs.
//!
//! # The error model
//!
//! * **Decomposition.** `‖Σ' − Σ‖₂ ≤ e_Σ = 4nε_mach‖Σ‖₂` for dense and
//!   spiked covariances (`n` the dimension): the backward error of the
//!   symmetric eigensolver, `p(n)·u·‖Σ‖` with `p(n) = 8n` (`u = ε_mach/2`).
//!   Measured on the crate's solver (faer), `‖Σ − U'Λ'U'ᵀ‖₂` stays below
//!   `4.3·n·u·‖Σ‖` for `n = 6…256` and condition numbers up to `1e12`,
//!   including the rounding of the reconstruction itself. A diagonal
//!   covariance is used exactly (`e_Σ = 0`); a spiked basis is taken as
//!   orthonormal to working precision.
//! * **Coordinates.** A change of basis `U'ᵀv` errs by at most
//!   `c_U‖v‖` in norm, `c_U = n^{3/2} ε_mach` (each of the `n` dot products
//!   of length `n` within `nε_mach‖v‖`); zero for a diagonal covariance.
//! * **Model-based threats** (`M = U f(Λ) Uᵀ` built from a covariance) move
//!   with the decomposition: `‖M'^{1/2} − M^{1/2}‖₂ ≤ L_√f e_Σ`, where
//!   `L_√f` is the largest divided difference
//!   `|√f(λ_a) − √f(λ_b)|/(λ_a − λ_b)` over the spectrum (first-order
//!   Daleckii–Krein bound; the largest divided difference of a function on
//!   sorted points is attained at adjacent points, so it costs one pass).
//!   It is `≤ 1/(2√λ_min)` for the full-latent generative threat
//!   (`M = Σ`), `0` for ℓ2; a rank cut `k` gives `√λ_k/(λ_k − λ_{k+1})`
//!   (an eigenspace is only as accurate as its eigengap).
//! * **Factor frames** (`M = AAᵀ`, decomposed by an SVD or a Gram matrix)
//!   err by `δ_A` in `σ_K(w) = ‖Aᵀw‖`, bounded by the caller.
//!
//! # The bound on the primal ratio
//!
//! With `s = ‖w‖_{Σ'}`, `a = wᵀμ` and `b = εσ_{K'}(w)` as computed, the
//! exact `ρ(w) = (wᵀμ − εσ_K(w))/‖w‖_Σ` differs from the computed one by at most
//!
//! ```text
//! Δρ = (Δa + Δb + |ρ|Δs) / (s − Δs),
//! Δs = e_Σ‖w‖²/(2s) + c_U √λ_max ‖w‖,      (√(s² + δ) ≤ s + δ/(2s))
//! Δb = ε L_√f e_Σ ‖w‖ + …
//! ```
//!
//! with `Δa` the rounding of `wᵀμ`. The lower bound of a certificate is
//! lowered by `Δρ` and its upper bound raised by `2Δρ` (the exact optimum's
//! direction is within rounding of the computed one, so the same
//! perturbation, evaluated at the computed `w`, bounds the upper side to
//! first order; the factor 2 covers the second-order remainder), plus the
//! rounding of the certificate formulas themselves. At condition number
//! `κ ≤ 1e4` and `n ≤ 16` this adds less than `1e-10·r*` (away from the
//! covering radius); at `κ = 1e12` about `1e-3·r*`.

use nalgebra::DVector;

use crate::covariance::{Covariance, Representation};

/// Machine epsilon.
pub(crate) const EPS: f64 = f64::EPSILON;

/// How far the arithmetic with a covariance may be from the input matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CovarianceError {
    /// `e_Σ/λ_max`: the relative backward error of the decomposition.
    pub relative: f64,
    /// `c_U`: the relative error of a change of basis.
    pub coordinates: f64,
    /// `λ_max(Σ)`.
    pub lambda_max: f64,
    /// `λ_min(Σ)`.
    pub lambda_min: f64,
    /// The dimension.
    pub dim: usize,
}

impl CovarianceError {
    /// The error model of a covariance (module docs).
    pub(crate) fn of(cov: &Covariance) -> CovarianceError {
        let values = cov.eigenvalues();
        let n = cov.dim() as f64;
        let (relative, coordinates) = match cov.representation() {
            Representation::Diagonal => (0.0, 0.0),
            _ => (4.0 * n * EPS, n * n.sqrt() * EPS),
        };
        CovarianceError {
            relative,
            coordinates,
            lambda_max: values[0],
            lambda_min: values[values.len() - 1],
            dim: cov.dim(),
        }
    }

    /// `e_Σ = ‖Σ' − Σ‖₂` bound.
    pub(crate) fn absolute(&self) -> f64 {
        self.relative * self.lambda_max
    }

    /// `e_Σ/λ_min`: the relative error of a quadratic form in `Σ⁻¹` or `Σ`
    /// in the worst direction.
    pub(crate) fn worst_relative(&self) -> f64 {
        self.relative * (self.lambda_max / self.lambda_min)
    }
}

/// `L_√f`: the largest divided difference of `√ω_b` over the block
/// eigenvalues `λ_b` (descending), so that `‖M'^{1/2} − M^{1/2}‖ ≤ L_√f e_Σ`
/// and `|σ_{K'}(w) − σ_K(w)| ≤ L_√f e_Σ ‖w‖` (linear in the error, where a
/// bound through `‖M' − M‖` would only give its square root). Blocks with
/// equal eigenvalues and equal weights contribute nothing; equal
/// eigenvalues with different weights make the threat ill-defined to
/// working precision (infinite).
pub(crate) fn weight_sensitivity(values: &DVector<f64>, weights: &DVector<f64>) -> f64 {
    let mut worst: f64 = 0.0;
    for b in 1..values.len() {
        let jump = (weights[b - 1].max(0.0).sqrt() - weights[b].max(0.0).sqrt()).abs();
        if jump == 0.0 {
            continue;
        }
        let gap = values[b - 1] - values[b];
        worst = worst.max(if gap > 0.0 { jump / gap } else { f64::INFINITY });
    }
    worst
}

/// `min(√δ, δ/(2σ))`: a bound on `|√(σ² ± δ) − σ|`.
pub(crate) fn root_shift(sigma: f64, delta: f64) -> f64 {
    if delta <= 0.0 {
        return 0.0;
    }
    let linear = if sigma > 0.0 {
        delta / (2.0 * sigma)
    } else {
        f64::INFINITY
    };
    delta.sqrt().min(linear)
}

/// The pieces of a computed primal ratio `ρ = (a − b)/s`, all in the same
/// units, for [`ratio_error`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ratio {
    /// The computed `s = ‖w‖_{Σ'}`.
    pub s: f64,
    /// The computed `ρ`.
    pub rho: f64,
    /// Bound on the error of `wᵀμ`.
    pub dot_error: f64,
    /// Bound on the error of `εσ_K(w)`.
    pub support_error: f64,
    /// Bound on the error of `s`.
    pub norm_error: f64,
}

/// `Δρ = (Δa + Δb + |ρ|Δs)/(s − Δs)` (infinite when `Δs ≥ s`).
pub(crate) fn ratio_error(r: &Ratio) -> f64 {
    let total = r.dot_error + r.support_error + r.rho.abs() * r.norm_error;
    if total == 0.0 {
        return 0.0;
    }
    if r.norm_error >= r.s {
        return f64::INFINITY;
    }
    total / (r.s - r.norm_error)
}

/// `Δs` for `s = ‖w‖_{Σ'}` computed through the spectrum, given `‖w‖₂`:
/// `e_Σ‖w‖²/(2s) + c_U √λ_max ‖w‖` plus the rounding of the sum.
pub(crate) fn norm_error(cov: &CovarianceError, s: f64, w_norm: f64) -> f64 {
    let decomposition = if s > 0.0 {
        cov.absolute() * w_norm * (w_norm / (2.0 * s))
    } else {
        0.0
    };
    decomposition + cov.coordinates * cov.lambda_max.sqrt() * w_norm + summation(cov.dim) * s
}

/// Relative rounding of a sum of `n` non-negative terms, each a product of
/// at most two rounded factors, and of its square root: `(n + 3)u`
/// (`u = ε_mach/2`; Higham, *Accuracy and Stability*, §3.1: `γ_{n+1}` for
/// the sum, one more `u` for the root, which also halves the sum's error).
pub(crate) fn summation(n: usize) -> f64 {
    (n as f64 + 3.0) * (EPS / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divided_differences_of_the_weights() {
        let values = DVector::from_vec(vec![4.0, 2.0, 1.0]);
        // Generative full latent: √ω = √λ, steepest between 2 and 1:
        // (√2 − 1)/1.
        assert_eq!(weight_sensitivity(&values, &values), 2f64.sqrt() - 1.0);
        // A rank-1 cut: √ω = (2, 0, 0) jumps by 2 over a gap of 2.
        let cut = DVector::from_vec(vec![4.0, 0.0, 0.0]);
        assert_eq!(weight_sensitivity(&values, &cut), 1.0);
        // ℓ2: constant weights.
        assert_eq!(
            weight_sensitivity(&values, &DVector::from_element(3, 1.0)),
            0.0
        );
        let tied = DVector::from_vec(vec![2.0, 2.0, 1.0]);
        assert_eq!(
            weight_sensitivity(&tied, &DVector::from_vec(vec![1.0, 0.0, 0.0])),
            f64::INFINITY
        );
    }

    #[test]
    fn root_shift_is_the_smaller_bound() {
        assert_eq!(root_shift(0.0, 4.0), 2.0);
        assert_eq!(root_shift(10.0, 4.0), 0.2);
        assert_eq!(root_shift(1.0, 0.0), 0.0);
        // √(σ² + δ) − σ ≤ root_shift.
        for (s, d) in [(1.0f64, 1e-3f64), (1e-3, 1.0), (2.0, 5.0)] {
            assert!((s * s + d).sqrt() - s <= root_shift(s, d) * (1.0 + 1e-15));
        }
    }
}
