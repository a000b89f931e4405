//! A-posteriori accuracy of a stored eigen-decomposition.
//!
//! A dense covariance is used through its computed decomposition
//! `Σ ≈ U'Λ'U'ᵀ`. Instead of assuming a backward error for the eigensolver,
//! [`EigenResidual`] measures it once, in `O(d³)`, for the stored
//! `Σ` (the float64 input) and the stored `U'`, `Λ'`:
//!
//! * the residuals `r_j = Σu'_j − λ'_j u'_j` and the orthogonality defect
//!   `F = U'ᵀU' − I`, every entry a dot product evaluated with Ogita, Rump
//!   and Oishi's `Dot2` (error-free products by fused multiply-add and
//!   error-free sums, *Accurate sum and dot product*, SIAM J. Sci. Comput.
//!   26, 2005, Prop. 5.5): `|res − xᵀy| ≤ u|xᵀy| + γ_n²|x|ᵀ|y|`
//!   (`u = ε_mach/2`, `γ_n = nu/(1 − nu)`), so the measured residual carries
//!   a rounding error of second order, far below the residual itself;
//! * `‖F‖₂ ≤ ‖F‖_F =: φ`. With the polar factor `Q` of `U' = QH`
//!   (`Q` orthogonal, `H = (I + F)^{1/2}`), `‖U' − Q‖₂ = ‖H − I‖₂ ≤ φ`
//!   (`|√(1 + f) − 1| ≤ |f|`);
//! * the backward error of the exactly orthogonal decomposition
//!   `Σ̃ = QΛ'Qᵀ`: from `ΣQ − QΛ' = R − Σ(U' − Q) + (U' − Q)Λ'`,
//!
//!   ```text
//!   e := ‖R‖_F + (‖Σ‖_F + |λ'|_max) φ  ≥  ‖Σ − Σ̃‖₂;
//!   ```
//! * per direction, `ρ_j := ‖r_j‖ + (‖Σ‖_F + |λ'_j|) φ ≥ ‖Σq_j − λ'_j q_j‖`.
//!
//! By Weyl's theorem every eigenvalue of `Σ` lies within `e` of the
//! computed one of the same rank, `|λ_l − λ'_l| ≤ e`; by the single-vector
//! `sin θ` theorem (expand `q_j` in `Σ`'s eigenbasis), for any set `S` of
//! exact eigenvalues, `‖(I − P_S) q_j‖ ≤ ρ_j / min_{λ ∉ S} |λ − λ'_j|`.
//! `training::dual::rounding` turns these into bounds on the certificates.
//!
//! A spiked covariance `U_kΛ_kU_kᵀ + σ²(I − U_kU_kᵀ)` is its own
//! decomposition; only its basis' defect `F = U_kᵀU_k − I` (`O(dk²)`)
//! enters: `Σ − Σ̃ = U_k(Λ − σ²)U_kᵀ − Q_k(Λ − σ²)Q_kᵀ`, so
//! `e = (λ₁ − σ²)(2 + φ)φ` and `ρ_j = e`. A diagonal covariance is exact.

use crate::linalg::SumOfSquares;
use nalgebra::{DMatrix, DVector};

/// The measured accuracy of a covariance's decomposition (module docs).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EigenResidual {
    /// `e ≥ ‖Σ − QΛ'Qᵀ‖₂` for an orthogonal `Q` within `φ` of the stored basis.
    pub backward: f64,
    /// `φ ≥ ‖U'ᵀU' − I‖₂`.
    pub orthogonality: f64,
    /// `ρ_j ≥ ‖Σq_j − λ'_j q_j‖` per spectral block (the noise block of a
    /// spiked covariance included).
    pub directions: Vec<f64>,
}

const U: f64 = f64::EPSILON / 2.0;

fn gamma(n: usize) -> f64 {
    let nu = n as f64 * U;
    nu / (1.0 - nu)
}

/// `Dot2` of the pairs: `(value, bound on |value − exact|)`.
fn dot2(pairs: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    let (mut sum, mut correction, mut magnitude) = (0.0f64, 0.0f64, 0.0f64);
    let mut n = 0;
    for (x, y) in pairs {
        let p = x * y;
        let p_error = x.mul_add(y, -p);
        let s = sum + p;
        let z = s - sum;
        let s_error = (sum - (s - z)) + (p - z);
        sum = s;
        correction += s_error + p_error;
        magnitude += p.abs();
        n += 1;
    }
    let value = sum + correction;
    let g = gamma(n.max(1));
    // u|exact| ≤ u|value| + u·error, and the magnitude's own rounding.
    let bound = 2.0 * U * value.abs() + 2.0 * g * g * magnitude * (1.0 + gamma(n));
    (value, bound)
}

/// `√(Σ (|x_i| + b_i)²)` rounded upwards: an upper bound on `‖x_exact‖`.
/// Kept scaled (`SumOfSquares`), so it overflows only when the norm does;
/// each term then costs at most five roundings instead of two, hence
/// `γ_{2n+6}` (the scaling by `max |x_i|` is exact in the ratios' bound).
fn norm_bound(entries: impl Iterator<Item = (f64, f64)>) -> f64 {
    let mut sum = SumOfSquares::default();
    let mut n = 0;
    for (x, b) in entries {
        sum.add(x.abs() + b);
        n += 1;
    }
    sum.norm() * (1.0 + gamma(2 * n + 6))
}

/// `‖A‖_F` rounded upwards.
fn frobenius_bound(a: &DMatrix<f64>) -> f64 {
    norm_bound(a.iter().map(|&x| (x, 0.0)))
}

impl EigenResidual {
    /// Nothing to measure (a diagonal covariance is used exactly).
    pub(crate) fn exact(blocks: usize) -> EigenResidual {
        EigenResidual {
            backward: 0.0,
            orthogonality: 0.0,
            directions: vec![0.0; blocks],
        }
    }

    /// A dense `Σ` with its stored eigenvalues and eigenvectors (columns):
    /// `O(d³)`, about four times a plain matrix product.
    pub(crate) fn dense(
        sigma: &DMatrix<f64>,
        values: &DVector<f64>,
        basis: &DMatrix<f64>,
    ) -> EigenResidual {
        let d = sigma.nrows();
        let defect = orthogonality_defect(basis);
        let sigma_norm = frobenius_bound(sigma);
        let top = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut residual_sq = SumOfSquares::default();
        let mut directions = Vec::with_capacity(d);
        for j in 0..d {
            let u = basis.column(j);
            let lambda = values[j];
            // r_ij = Σ_k Σ_ki u_kj − λ_j u_ij (Σ symmetric: column i of Σ is row i).
            let norm = norm_bound((0..d).map(|i| {
                let row = sigma.column(i);
                dot2(
                    row.iter()
                        .zip(u.iter())
                        .map(|(&s, &x)| (s, x))
                        .chain(std::iter::once((-lambda, u[i]))),
                )
            }));
            residual_sq.add(norm);
            directions.push(norm + (sigma_norm + lambda.abs()) * defect);
        }
        let residual = residual_sq.norm() * (1.0 + gamma(2 * d + 6));
        EigenResidual {
            backward: (residual + (sigma_norm + top) * defect) * (1.0 + gamma(4)),
            orthogonality: defect,
            directions,
        }
    }

    /// A spiked covariance `U_kΛ_kU_kᵀ + σ²(I − U_kU_kᵀ)` (`O(dk²)`).
    pub(crate) fn spiked(basis: &DMatrix<f64>, values: &DVector<f64>, noise: f64) -> EigenResidual {
        let defect = orthogonality_defect(basis);
        let backward = (values[0] - noise) * (2.0 + defect) * defect * (1.0 + gamma(4));
        EigenResidual {
            backward,
            orthogonality: defect,
            directions: vec![backward; values.len()],
        }
    }
}

/// `φ ≥ ‖UᵀU − I‖_F`, every entry by `Dot2`.
fn orthogonality_defect(basis: &DMatrix<f64>) -> f64 {
    let k = basis.ncols();
    let mut entries = Vec::with_capacity(k * k);
    for j in 0..k {
        for i in 0..=j {
            let (a, b) = (basis.column(i), basis.column(j));
            let pairs = a.iter().zip(b.iter()).map(|(&x, &y)| (x, y));
            let (value, bound) = if i == j {
                dot2(pairs.chain(std::iter::once((-1.0, 1.0))))
            } else {
                dot2(pairs)
            };
            let weight = if i == j { 1.0 } else { 2.0 };
            entries.push((value, bound, weight));
        }
    }
    let sum: f64 = entries
        .iter()
        .map(|(v, b, w)| {
            let a = v.abs() + b;
            w * a * a
        })
        .sum();
    sum.sqrt() * (1.0 + gamma(k * k + 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot2_is_exact_where_a_plain_sum_cancels() {
        // 1e16 + 1 − 1e16 = 1 exactly; the plain sum gives 0.
        let (value, bound) = dot2([(1e16, 1.0), (1.0, 1.0), (-1e16, 1.0)].into_iter());
        assert_eq!(value, 1.0);
        assert!(bound < 1e-10);
    }

    #[test]
    fn residuals_of_an_exact_decomposition_are_rounding_only() {
        // Σ = diag(4, 1) in a rotated basis with exactly representable
        // entries: U = [[0.6, −0.8], [0.8, 0.6]] (orthogonal in binary to
        // a few ulps), Σ = U diag(4, 1) Uᵀ.
        let u = DMatrix::from_row_slice(2, 2, &[0.6, -0.8, 0.8, 0.6]);
        let values = DVector::from_vec(vec![4.0, 1.0]);
        let sigma = &u * DMatrix::from_diagonal(&values) * u.transpose();
        let r = EigenResidual::dense(&sigma, &values, &u);
        assert!(r.orthogonality < 1e-15, "{}", r.orthogonality);
        assert!(r.backward < 1e-14, "{}", r.backward);
        assert!(r.directions.iter().all(|&x| x < 1e-14));
        // A wrong eigenvalue shows up in full: r_2 = (1.5 − 1)u_2.
        let off = DVector::from_vec(vec![4.0, 1.5]);
        let r = EigenResidual::dense(&sigma, &off, &u);
        assert!((r.directions[1] - 0.5).abs() < 1e-12 && r.backward >= 0.5);
    }
}
