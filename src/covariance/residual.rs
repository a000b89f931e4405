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

/// `L` running `Dot2` sums side by side. Each lane is the sequential
/// algorithm on its own pairs (the same operations in the same order as a
/// single sum), so the lanes only let the compiler keep `L` independent
/// chains in flight and in one vector register; every lane's value and
/// bound are bit-identical to a lone `Dot2` of its pairs.
#[derive(Clone, Copy)]
struct Dot2Lanes<const L: usize> {
    sum: [f64; L],
    correction: [f64; L],
    magnitude: [f64; L],
}

impl<const L: usize> Dot2Lanes<L> {
    const ZERO: Self = Dot2Lanes {
        sum: [0.0; L],
        correction: [0.0; L],
        magnitude: [0.0; L],
    };

    /// Adds the product `x_l y_l` to lane `l`: an error-free product and an
    /// error-free sum, their errors accumulated.
    #[inline(always)]
    fn add(&mut self, x: [f64; L], y: [f64; L]) {
        for l in 0..L {
            let (p, p_error) = two_product(x[l], y[l]);
            let sum = self.sum[l];
            let s = sum + p;
            let z = s - sum;
            let s_error = (sum - (s - z)) + (p - z);
            self.sum[l] = s;
            self.correction[l] += s_error + p_error;
            self.magnitude[l] += p.abs();
        }
    }

    /// Each lane's `(value, bound on |value − exact|)` after `n` products.
    fn finish(&self, n: usize) -> [(f64, f64); L] {
        let g = gamma(n.max(1));
        std::array::from_fn(|l| {
            let value = self.sum[l] + self.correction[l];
            // u|exact| ≤ u|value| + u·error, and the magnitude's own rounding.
            let bound = 2.0 * U * value.abs() + 2.0 * g * g * self.magnitude[l] * (1.0 + gamma(n));
            (value, bound)
        })
    }
}

/// Veltkamp's splitting constant `2²⁷ + 1`.
const SPLITTER: f64 = 134_217_729.0;

/// `(p, e)` with `p = fl(xy)` and `e = xy − p` exactly (Dekker's
/// `TwoProduct` by Veltkamp's splitting), barring underflow of `e` and
/// `|x|, |y| ≥ 2⁹⁹⁶`. Where exact, `e` is the unique value a fused
/// multiply-add gives, `fma(x, y, −p)`; written with plain products and
/// sums it vectorizes on any x86-64 (the baseline target has no fused
/// multiply-add instruction, and `f64::mul_add` there is a library call
/// per product).
#[inline(always)]
fn two_product(x: f64, y: f64) -> (f64, f64) {
    let p = x * y;
    let split = |a: f64| {
        let c = SPLITTER * a;
        let high = c - (c - a);
        (high, a - high)
    };
    let (xh, xl) = split(x);
    let (yh, yl) = split(y);
    let e = xl * yl - (((p - xh * yh) - xl * yh) - xh * yl);
    (p, e)
}

/// `Dot2` of the pairs: `(value, bound on |value − exact|)`.
#[cfg(test)]
fn dot2(pairs: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    let mut lanes = Dot2Lanes::<1>::ZERO;
    let mut n = 0;
    for (x, y) in pairs {
        lanes.add([x], [y]);
        n += 1;
    }
    lanes.finish(n)[0]
}

/// Rows handled side by side by the residual kernel (two AVX2 registers).
const RESIDUAL_LANES: usize = 8;

/// The entries `(Σu)_i − λu_i` of one residual column by `Dot2`, each as
/// `(value, bound)`, with `sigma_t` the column-major data of `Σᵀ` (so that
/// `Σ_ki` for consecutive `i` is contiguous): entry `i` is the `Dot2` of
/// the pairs `(Σ_ki, u_k)` for `k = 0, …, d − 1` followed by `(−λ, u_i)`.
/// `k` is the outer loop, so `Σᵀ` streams through once, contiguously, while
/// the `d` running sums stay in cache.
fn residual_column(sigma_t: &[f64], u: &[f64], lambda: f64) -> Vec<(f64, f64)> {
    let d = u.len();
    let blocks = d / RESIDUAL_LANES;
    let split = blocks * RESIDUAL_LANES;
    let mut lanes = vec![Dot2Lanes::<RESIDUAL_LANES>::ZERO; blocks];
    let mut rest = vec![Dot2Lanes::<1>::ZERO; d - split];
    for (k, &x) in u.iter().enumerate() {
        let row = &sigma_t[k * d..(k + 1) * d];
        let (full, partial) = row.split_at(split);
        for (lane, y) in lanes.iter_mut().zip(full.chunks_exact(RESIDUAL_LANES)) {
            let y: [f64; RESIDUAL_LANES] = y.try_into().expect("a full block");
            lane.add(y, [x; RESIDUAL_LANES]);
        }
        for (lane, &y) in rest.iter_mut().zip(partial) {
            lane.add([y], [x]);
        }
    }
    let mut out = Vec::with_capacity(d);
    for (lane, tail) in lanes.iter_mut().zip(u.chunks_exact(RESIDUAL_LANES)) {
        let tail: [f64; RESIDUAL_LANES] = tail.try_into().expect("a full block");
        lane.add([-lambda; RESIDUAL_LANES], tail);
        out.extend(lane.finish(d + 1));
    }
    for (lane, &tail) in rest.iter_mut().zip(&u[split..]) {
        lane.add([-lambda], [tail]);
        out.extend(lane.finish(d + 1));
    }
    out
}

/// Columns `i` handled side by side by the orthogonality kernel.
const GRAM_LANES: usize = 4;

/// The entries `(UᵀU − I)_ij` for `i = 0, …, j` by `Dot2`, each as
/// `(value, bound)`: the pairs `(U_ki, U_kj)` for `k = 0, …, d − 1`, and
/// `(−1, 1)` after them on the diagonal.
fn gram_column(basis: &DMatrix<f64>, j: usize) -> Vec<(f64, f64)> {
    let d = basis.nrows();
    let data = basis.as_slice();
    let column = |i: usize| &data[i * d..(i + 1) * d];
    let y = column(j);
    let finish_diagonal = |lanes: &mut Dot2Lanes<1>| {
        lanes.add([-1.0], [1.0]);
        lanes.finish(d + 1)[0]
    };
    let mut out = Vec::with_capacity(j + 1);
    let blocks = (j + 1) / GRAM_LANES;
    for block in 0..blocks {
        let i0 = block * GRAM_LANES;
        let columns: [&[f64]; GRAM_LANES] = std::array::from_fn(|l| column(i0 + l));
        let mut lanes = Dot2Lanes::<GRAM_LANES>::ZERO;
        for (k, &yk) in y.iter().enumerate() {
            lanes.add(std::array::from_fn(|l| columns[l][k]), [yk; GRAM_LANES]);
        }
        if i0 + GRAM_LANES - 1 == j {
            // The diagonal is the last lane: finish it alone with its (−1, 1).
            let mut values = lanes.finish(d);
            let last = GRAM_LANES - 1;
            let mut diagonal = Dot2Lanes::<1> {
                sum: [lanes.sum[last]],
                correction: [lanes.correction[last]],
                magnitude: [lanes.magnitude[last]],
            };
            values[last] = finish_diagonal(&mut diagonal);
            out.extend(values);
        } else {
            out.extend(lanes.finish(d));
        }
    }
    for i in blocks * GRAM_LANES..=j {
        let x = column(i);
        let mut lane = Dot2Lanes::<1>::ZERO;
        for k in 0..d {
            lane.add([x[k]], [y[k]]);
        }
        out.push(if i == j {
            finish_diagonal(&mut lane)
        } else {
            lane.finish(d)[0]
        });
    }
    out
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
        use rayon::prelude::*;
        let d = sigma.nrows();
        let defect = orthogonality_defect(basis);
        let sigma_norm = frobenius_bound(sigma);
        let top = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        // The kernel reads Σ_ki for consecutive i from the data of Σᵀ, which
        // is Σ's own when Σ is stored exactly symmetric (as `Covariance::dense`
        // stores it).
        let symmetric = (0..d).all(|j| (0..j).all(|i| sigma[(i, j)] == sigma[(j, i)]));
        let transposed = (!symmetric).then(|| sigma.transpose());
        let sigma_t = transposed.as_ref().unwrap_or(sigma).as_slice();
        // One column per task, each entry's sum sequential within it: the
        // result does not depend on the number of threads.
        let columns: Vec<Vec<(f64, f64)>> = (0..d)
            .into_par_iter()
            .map(|j| {
                let u = basis.column(j);
                let u = u.as_slice();
                residual_column(sigma_t, u, values[j])
            })
            .collect();
        let mut residual_sq = SumOfSquares::default();
        let mut directions = Vec::with_capacity(d);
        for (j, entries) in columns.into_iter().enumerate() {
            let norm = norm_bound(entries.into_iter());
            residual_sq.add(norm);
            directions.push(norm + (sigma_norm + values[j].abs()) * defect);
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
    use rayon::prelude::*;
    let k = basis.ncols();
    let columns: Vec<Vec<(f64, f64)>> = (0..k)
        .into_par_iter()
        .map(|j| gram_column(basis, j))
        .collect();
    let sum: f64 = columns
        .iter()
        .enumerate()
        .flat_map(|(j, entries)| entries.iter().enumerate().map(move |(i, e)| (i == j, e)))
        .map(|(diagonal, (v, b))| {
            let weight = if diagonal { 1.0 } else { 2.0 };
            let a = v.abs() + b;
            weight * a * a
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

    /// A matrix of entries spread over several binades, from a fixed stream.
    fn spread_matrix(rows: usize, cols: usize, seed: u64) -> DMatrix<f64> {
        let mut state = seed;
        DMatrix::from_fn(rows, cols, |_, _| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            (unit - 0.5) * 2f64.powi((state % 7) as i32 - 3)
        })
    }

    #[test]
    fn two_product_is_the_fused_multiply_add_error() {
        let a = spread_matrix(64, 64, 9);
        for (&x, &y) in a.iter().zip(a.iter().skip(1)) {
            for scale in [1.0, 2f64.powi(400), 2f64.powi(-400)] {
                let (x, y) = (x * scale, y);
                let (p, e) = two_product(x, y);
                assert_eq!(p, x * y);
                assert_eq!(e, x.mul_add(y, -p), "{x:e} · {y:e}");
            }
        }
    }

    #[test]
    fn lane_kernels_give_the_sequential_dot2_bit_for_bit() {
        // Sizes that leave partial blocks of both kernels.
        for d in [1usize, 5, 8, 13, 19] {
            let a = spread_matrix(d, d, d as u64);
            let sigma = &a + a.transpose();
            let basis = spread_matrix(d, d, 100 + d as u64);
            for j in 0..d {
                let u = basis.column(j);
                let lambda = 0.75 + j as f64;
                let fast = residual_column(sigma.as_slice(), u.as_slice(), lambda);
                for (i, got) in fast.iter().enumerate() {
                    let pairs = (0..d).map(|k| (sigma[(k, i)], u[k]));
                    let expected = dot2(pairs.chain(std::iter::once((-lambda, u[i]))));
                    assert_eq!(*got, expected, "residual d = {d}, i = {i}, j = {j}");
                }
                let gram = gram_column(&basis, j);
                assert_eq!(gram.len(), j + 1);
                for (i, got) in gram.iter().enumerate() {
                    let pairs = (0..d).map(|k| (basis[(k, i)], basis[(k, j)]));
                    let expected = if i == j {
                        dot2(pairs.chain(std::iter::once((-1.0, 1.0))))
                    } else {
                        dot2(pairs)
                    };
                    assert_eq!(*got, expected, "gram d = {d}, i = {i}, j = {j}");
                }
            }
            // A stored Σ that is not exactly symmetric is read as stored.
            let mut skew = sigma.clone();
            if d > 1 {
                skew[(0, d - 1)] += 1.0;
            }
            let values = DVector::from_fn(d, |i, _| 1.0 + i as f64);
            let r = EigenResidual::dense(&skew, &values, &basis);
            let expected = (0..d)
                .map(|j| {
                    let u = basis.column(j);
                    norm_bound((0..d).map(|i| {
                        let pairs = (0..d).map(|k| (skew[(k, i)], u[k]));
                        dot2(pairs.chain(std::iter::once((-values[j], u[i]))))
                    }))
                })
                .collect::<Vec<_>>();
            for (j, norm) in expected.iter().enumerate() {
                let direction = norm + (frobenius_bound(&skew) + values[j].abs()) * r.orthogonality;
                assert_eq!(r.directions[j], direction, "direction d = {d}, j = {j}");
            }
        }
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
