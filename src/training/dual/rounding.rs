//! Floating-point error bounds of the certificates (both solvers).
//!
//! A certificate `ρ(w) ≤ r* ≤ ‖μ − z‖_{Σ⁻¹}` is exact for the matrices the
//! code works with, which are not the user's: a dense or spiked covariance
//! is used through its computed eigen-decomposition `U'Λ'U'ᵀ`, and every
//! quadratic form is a sum of rounded terms. This module bounds the
//! difference, so that the reported interval contains the exact `r*` of
//! the float64 inputs. Every bound below is a guarantee (no constant is
//! measured): it is built from quantities the crate computes.
//!
//! # The error model
//!
//! * **Decomposition, a posteriori.** `covariance::residual` measures, once
//!   per covariance (`O(d³)` dense, `O(dk²)` spiked, with second-order
//!   accurate dot products), the residuals `r_j = Σu'_j − λ'_j u'_j` and
//!   the orthogonality defect `φ ≥ ‖U'ᵀU' − I‖₂`. With `Q` the orthogonal
//!   polar factor of `U'` (`‖U' − Q‖₂ ≤ φ`) the code computes exactly for
//!   `Σ̃ = QΛ'Qᵀ`, and
//!
//!   ```text
//!   e_Σ := ‖R‖_F + (‖Σ‖_F + |λ'|_max)φ  ≥  ‖Σ − Σ̃‖₂
//!   ρ_j := ‖r_j‖ + (‖Σ‖_F + |λ'_j|)φ   ≥  ‖Σq_j − λ'_j q_j‖
//!   ```
//!
//!   (from `ΣQ − QΛ' = R − Σ(U' − Q) + (U' − Q)Λ'`). On well-conditioned
//!   inputs `e_Σ ≈ 10 ε_mach‖Σ‖` at `d = 8`. A diagonal covariance is exact.
//! * **Coordinates.** A change of basis `U'ᵀv` errs from `Qᵀv` by at most
//!   `c_U‖v‖`, `c_U = n^{3/2} ε_mach + φ` (each of the `n` dot products of
//!   length `n` within `nε_mach‖v‖`, and `‖U' − Q‖ ≤ φ`).
//! * **Model-based threats** (`M = f(Σ)`, weights `ω_b` on the covariance's
//!   blocks; the code uses `M̃ = f(Σ̃)`). Write `w = Qy`, `S` the blocks
//!   with `ω_b > 0` and `P`, `P̃` the exact and computed spectral
//!   projectors on them.
//!   1. *Weyl*: every exact eigenvalue is within `e_Σ` of the computed one
//!      of the same rank, so an exact eigenvalue across the cut from
//!      `λ'_j` is at least `δ_j = |λ'_j − λ'_near| − e_Σ` away, `λ'_near`
//!      the nearest computed one on the other side.
//!   2. *Single-vector `sin θ`* (expand `q_j` in `Σ`'s eigenbasis):
//!      `‖(Σ − λ'_j)q_j‖² ≥ Σ_{l across} (λ_l − λ'_j)² |v_lᵀq_j|²`, so
//!      `‖(P − P̃)q_j‖ ≤ ρ_j/δ_j`, and `‖Σ^{1/2}(P − P̃)q_j‖ ≤ ρ_j √x_j/δ_j`
//!      with `x_j = λ'_near ± e_Σ` moved towards `λ'_j` (`√x/|x − λ'_j|` is
//!      monotone on each side of `λ'_j`, largest there).
//!   3. *Triangle inequality over the coordinates*: for ℓ2-type supports
//!      (`σ_K(w) = ‖Pw‖`: eigenspace, off-manifold)
//!      `|σ_K(w) − σ_K̃(w)| ≤ ‖(P − P̃)w‖ ≤ Σ_j |y_j| g_j ρ_j/δ_j` with
//!      `g_j = 1`; for generative supports (`σ_K(w) = ‖Σ^{1/2}Pw‖`)
//!      `g_j = √x_j`, plus the restricted form:
//!      `|‖Σ^{1/2}P̃w‖² − ‖Σ̃^{1/2}P̃w‖²| ≤ e_Σ‖y_S‖²`, turned into a bound
//!      on the root by [`root_shift`]. The full-latent generative threat
//!      has no cut (`σ_K(w) = ‖w‖_Σ`): only this last term, the same as
//!      the norm's.
//!   4. Per query this is `Σ_j √c_j t_j ℓ_j` over the secular equation's
//!      terms, `ℓ_j = g_j ρ_j/(δ_j √λ'_j)` ([`spectral_leaks`], `O(blocks)`
//!      once per problem): `O(d)`, like the rest of the certificate.
//!
//!   The cut's conditioning `λ'₁/(λ'_k − λ'_{k+1})` is inherent: the exact
//!   eigenspace of the float64 matrix is only determined to `ε_mach` times
//!   it by any float64 decomposition (measured at `λ₁/(λ₇ − λ₈) = 4.6e6`:
//!   the computed distance is off by `1.6e-8` relative, the certified
//!   width `4.8e-8`).
//! * **Factor frames** (`M = AAᵀ`, decomposed by an SVD or a Gram matrix)
//!   err by `δ_A` in `σ_K(w) = ‖Aᵀw‖`, bounded by the caller.
//!
//! # The bound on the primal ratio
//!
//! With `s = ‖w‖_{Σ̃}`, `a = wᵀμ` and `b = εσ_{K̃}(w)` as computed, the
//! exact `ρ(w) = (wᵀμ − εσ_K(w))/‖w‖_Σ` differs from the computed one by at most
//!
//! ```text
//! Δρ = (Δa + Δb + |ρ|Δs) / (s − Δs),
//! Δs = e_Σ‖w‖²/(2s) + c_U √λ_max ‖w‖,      (√(s² + δ) ≤ s + δ/(2s))
//! Δb = ε |σ_K(w) − σ_K̃(w)|                 (above)
//! ```
//!
//! with `Δa` the rounding of `wᵀμ`. The lower bound of a certificate is
//! lowered by `Δρ` and its upper bound raised by `2Δρ` (the exact optimum's
//! direction is within rounding of the computed one, so the same
//! perturbation, evaluated at the computed `w`, bounds the upper side to
//! first order; the factor 2 covers the second-order remainder), plus the
//! rounding of the certificate formulas themselves. Measured against
//! 80-digit references (`tests/data/robust_reference.csv`): widths
//! `≤ 3.4e-10·r*` at condition number `κ = 1e4`, about `1e-6·r*` at `1e8`
//! and `1e-2·r*` at `1e12`, every interval containing the exact `r*`.

use nalgebra::DVector;

use crate::covariance::{Covariance, Representation};
use crate::linalg::SumOfSquares;

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
            _ => {
                let measured = cov.eigen_residual();
                (
                    measured.backward / values[0],
                    n * n.sqrt() * EPS + measured.orthogonality,
                )
            }
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
/// working precision (infinite). A first-order (Daleckii–Krein) bound,
/// still used where `M` comes from another covariance's decomposition and
/// for the model-based parts of the dual solver; a threat built from the
/// model's own covariance is bounded a posteriori by [`spectral_leaks`].
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

/// How a model-based threat `M = f(Σ)` (its weights `ω_b` on the
/// covariance's blocks) may differ from the one the code uses, measured
/// a posteriori (module docs, "Model-based threats").
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpectralLeaks {
    /// `ℓ_b = g_b ρ_b/(δ_b √λ'_b)` per block (module docs; 0 where the
    /// block's side of the cut is the whole spectrum; infinite where
    /// `δ_b ≤ 0`).
    pub per_block: Vec<f64>,
    /// `σ_K` involves `Σ` itself (`ω_b = λ_b` on its support: the
    /// generative threats), so the restricted quadratic form errs too.
    pub quadratic: bool,
    /// An equivalent of the a-priori `L_√f √λ_max` for the case without a
    /// classifier: `‖g ρ/δ‖₂ √λ_max / e` (the leaks only: the `Σ`-based part
    /// of a generative gauge errs like the Mahalanobis norm, already in
    /// that bound).
    pub sensitivity: f64,
}

/// The leak coefficients of a model-based threat with weights `ω_b`
/// (`quadratic` for the generative families, where `ω_b = λ_b` on the
/// support): `O(blocks)` after the covariance's residuals are known.
pub(crate) fn spectral_leaks(
    cov: &Covariance,
    weights: &DVector<f64>,
    quadratic: bool,
) -> SpectralLeaks {
    let values = cov.eigenvalues();
    let n = values.len();
    let measured = cov.eigen_residual();
    let e = measured.backward;
    let inside: Vec<bool> = weights.iter().map(|&w| w > 0.0).collect();
    // The nearest computed eigenvalues on the other side of the cut, above
    // and below each block, by a sweep from each end (values descending).
    let mut above = vec![None; n];
    let mut below = vec![None; n];
    let mut last: [Option<f64>; 2] = [None, None];
    for b in 0..n {
        above[b] = last[usize::from(!inside[b])];
        last[usize::from(inside[b])] = Some(values[b]);
    }
    let mut last: [Option<f64>; 2] = [None, None];
    for b in (0..n).rev() {
        below[b] = last[usize::from(!inside[b])];
        last[usize::from(inside[b])] = Some(values[b]);
    }
    let mut squares = SumOfSquares::default();
    let per_block: Vec<f64> = (0..n)
        .map(|b| {
            let rho = measured.directions[b];
            let a = values[b];
            // ‖f((I − P)q_b)‖ ≤ ρ_b max_x g(x)/|x − λ'_b| over the exact
            // eigenvalues x across the cut, which lie beyond the nearest
            // computed one moved by e towards λ'_b (Weyl). g = 1 for an ℓ2
            // support; g = √x (‖Σ^{1/2}·‖) for a generative one, and
            // √x/|x − a| is monotone on each side, largest at that point.
            let bound = |near: Option<f64>, toward: f64| -> f64 {
                let Some(near) = near else { return 0.0 };
                if rho == 0.0 {
                    return 0.0;
                }
                let x = near + toward * e;
                let separation = (near - a).abs() * (1.0 - 2.0 * EPS) - e;
                if separation <= 0.0 {
                    return f64::INFINITY;
                }
                let g = if quadratic { x.max(0.0).sqrt() } else { 1.0 };
                // ρ/separation first: g·ρ alone is of order λ^{3/2}.
                g * (rho / separation)
            };
            let leak = bound(above[b], -1.0).max(bound(below[b], 1.0));
            squares.add(leak);
            leak / a.sqrt()
        })
        .collect();
    // The Σ-based part of a generative gauge errs like the Mahalanobis
    // norm, which the no-classifier bound already carries (`ηκ`).
    let equivalent = squares.norm();
    let sensitivity = if e > 0.0 {
        equivalent * values[0].sqrt() / e
    } else {
        0.0
    };
    SpectralLeaks {
        per_block,
        quadratic,
        sensitivity,
    }
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
    fn leaks_follow_the_residuals_and_the_cut() {
        use crate::covariance::Covariance;
        use nalgebra::DMatrix;
        // Σ = diag(4, 2, 1) as a dense matrix: the eigensolver is exact up
        // to rounding, so e_Σ and ρ_j are a few ulps of ‖Σ‖.
        let cov = Covariance::dense(DMatrix::from_diagonal(&DVector::from_vec(vec![
            4.0, 2.0, 1.0,
        ])))
        .unwrap();
        let measured = cov.eigen_residual().clone();
        assert!(measured.backward <= 1e-14, "{}", measured.backward);
        // Eigenspace k = 1: block 0 faces λ = 2 (δ = 2 − e), blocks 1 and 2
        // face λ = 4 (δ = 2 − e and 3 − e); ℓ_b = ρ_b/(δ_b √λ_b).
        let cut = DVector::from_vec(vec![1.0, 0.0, 0.0]);
        let leaks = spectral_leaks(&cov, &cut, false);
        let e = measured.backward;
        for (b, (lambda, delta)) in [(4.0, 2.0), (2.0, 2.0), (1.0, 3.0)].iter().enumerate() {
            let expected = measured.directions[b] / ((delta - e) * f64::sqrt(*lambda));
            let got = leaks.per_block[b];
            assert!(
                (got - expected).abs() <= 1e-12 * expected,
                "block {b}: {got} vs {expected}"
            );
        }
        // The full-latent generative threat has no cut: no leaks.
        let all = cov.eigenvalues().clone();
        let generative = spectral_leaks(&cov, &all, true);
        assert!(generative.per_block.iter().all(|&l| l == 0.0));
        assert_eq!(generative.sensitivity, 0.0);
        // A diagonal covariance is exact.
        let diagonal = Covariance::diagonal(DVector::from_vec(vec![4.0, 2.0, 1.0])).unwrap();
        assert!(
            spectral_leaks(&diagonal, &cut, false)
                .per_block
                .iter()
                .all(|&l| l == 0.0)
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
