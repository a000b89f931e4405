//! Dense matrix–vector products through faer's kernels, and the
//! scale-safe norms every module uses (internal).
//!
//! **Scale safety.** A squared norm `Σ x_i²` overflows once the entries
//! pass `~1e154` and underflows below `~1e-154`, although the norm itself
//! is representable from `~1e-308` to `~1e308`. [`norm`] is the crate's one
//! Euclidean norm: a plain sum of squares when it is safely inside the
//! range, else the entries are divided by their largest magnitude first
//! (the scaling of LAPACK's `dnrm2`). [`SumOfSquares`] is the same idea for
//! sums assembled term by term (quadratic forms over spectral blocks), and
//! [`normalize`] divides a vector by a power of two (exact) so that results
//! invariant to its scale are computed from entries of size one.
//!
//! The batch operations of the crate (margins of `n` points, coordinates
//! in a `d × k` spiked basis) are single passes over a large matrix and are
//! bound by memory bandwidth. nalgebra's products run on one thread; faer's
//! use the threads of rayon's current pool once the matrix is large
//! enough to pay for them. Inputs and outputs stay nalgebra types: the
//! matrices are viewed in place, never copied.

use faer::{Accum, MatMut, MatRef, Par};
use nalgebra::{DMatrix, DVector};

/// Entries from which a product is split over threads (about 2 MB; below
/// it the threads cost more than they save, measured on two cores).
const PARALLEL_FROM_ENTRIES: usize = 1 << 18;

/// The parallelism of a large operation: every thread of rayon's current
/// pool (so `RAYON_NUM_THREADS` and `ThreadPool::install` decide), or
/// serial for a small one.
pub(crate) fn parallelism_when(large: bool) -> Par {
    if large { Par::rayon(0) } else { Par::Seq }
}

fn parallelism(rows: usize, cols: usize) -> Par {
    parallelism_when(rows.saturating_mul(cols) >= PARALLEL_FROM_ENTRIES)
}

fn view(a: &DMatrix<f64>) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(a.as_slice(), a.nrows(), a.ncols())
}

fn column(v: &DVector<f64>) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(v.as_slice(), v.len(), 1)
}

/// `out = β·out + α·A x` (`β = 0` overwrites).
pub(crate) fn gemv(
    out: &mut DVector<f64>,
    alpha: f64,
    a: &DMatrix<f64>,
    x: &DVector<f64>,
    accumulate: bool,
) {
    debug_assert_eq!(a.ncols(), x.len());
    debug_assert_eq!(a.nrows(), out.len());
    let rows = out.len();
    let dst = MatMut::from_column_major_slice_mut(out.as_mut_slice(), rows, 1);
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    faer::linalg::matmul::matmul(
        dst,
        accum,
        view(a),
        column(x),
        alpha,
        parallelism(a.nrows(), a.ncols()),
    );
}

/// `A x`.
pub(crate) fn mat_vec(a: &DMatrix<f64>, x: &DVector<f64>) -> DVector<f64> {
    let mut out = DVector::zeros(a.nrows());
    gemv(&mut out, 1.0, a, x, false);
    out
}

/// `Aᵀ x`.
pub(crate) fn mat_tr_vec(a: &DMatrix<f64>, x: &DVector<f64>) -> DVector<f64> {
    debug_assert_eq!(a.nrows(), x.len());
    let mut out = DVector::zeros(a.ncols());
    let cols = a.ncols();
    let dst = MatMut::from_column_major_slice_mut(out.as_mut_slice(), cols, 1);
    faer::linalg::matmul::matmul(
        dst,
        Accum::Replace,
        view(a).transpose(),
        column(x),
        1.0,
        parallelism(a.nrows(), a.ncols()),
    );
    out
}

/// Sums of squares below this are recomputed with scaling: entries whose
/// squares underflowed (below `~2.2e-308`) would otherwise be lost; above
/// it they weigh less than `1e-38` of the sum.
const SAFE_SUM_OF_SQUARES_MIN: f64 = 1e-270;

/// The Euclidean norm `‖v‖ = (Σ v_i²)^{1/2}`, without overflow or
/// underflow wherever the norm itself is representable.
pub(crate) fn norm(v: &[f64]) -> f64 {
    let plain: f64 = v.iter().map(|x| x * x).sum();
    if plain.is_finite() && plain >= SAFE_SUM_OF_SQUARES_MIN {
        return plain.sqrt();
    }
    let mut sum = SumOfSquares::default();
    for &x in v {
        sum.add(x);
    }
    sum.norm()
}

/// `‖v‖_p` for `p ∈ [1, ∞]`, without overflow or underflow wherever the
/// norm itself is representable: ℓ∞ is `max |v_i|`, ℓ1 a sum of
/// non-negative terms (no partial sum exceeds the norm), ℓ2 [`norm`], and
/// for other `p` the entries are divided by `max |v_i|` before they are
/// raised to the power `p`, so `‖v‖_p = max |v_i| · (Σ (|v_i|/max)^p)^{1/p}`.
pub(crate) fn lp_norm(v: &DVector<f64>, p: f64) -> f64 {
    if p == f64::INFINITY {
        return v.amax();
    }
    if p == 1.0 {
        return v.iter().map(|x| x.abs()).sum();
    }
    if p == 2.0 {
        return norm(v.as_slice());
    }
    let scale = v.amax();
    if scale == 0.0 {
        return 0.0;
    }
    let sum: f64 = v.iter().map(|x| (x.abs() / scale).powf(p)).sum();
    scale * sum.powf(1.0 / p)
}

/// The conjugate exponent `q` with `1/p + 1/q = 1` (`1 ↔ ∞`).
pub(crate) fn conjugate_exponent(p: f64) -> f64 {
    if p == 1.0 {
        f64::INFINITY
    } else if p == f64::INFINITY {
        1.0
    } else {
        p / (p - 1.0)
    }
}

/// A sum of squares `Σ x_i²` kept as `scale² · sum` with `scale = max |x_i|`
/// (LAPACK `dlassq`), so that no square over- or underflows.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SumOfSquares {
    scale: f64,
    sum: f64,
}

impl SumOfSquares {
    /// Adds `x²`.
    pub(crate) fn add(&mut self, x: f64) {
        let a = x.abs();
        if a == 0.0 {
            return;
        }
        if a > self.scale {
            let r = self.scale / a;
            self.sum = 1.0 + self.sum * r * r;
            self.scale = a;
        } else {
            let r = a / self.scale;
            self.sum += r * r;
        }
    }

    /// `(Σ x_i²)^{1/2}`; overflows only when that value does.
    pub(crate) fn norm(&self) -> f64 {
        if self.scale == 0.0 {
            0.0
        } else {
            self.scale * self.sum.sqrt()
        }
    }
}

/// The binary exponent `e` with `2^e ≤ |x| < 2^{e+1}` (`x` finite, non-zero).
pub(crate) fn exponent(x: f64) -> i32 {
    debug_assert!(x.is_finite() && x != 0.0);
    let bits = x.abs().to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        exponent(x * (1u64 << 54) as f64) - 54
    } else {
        biased - 1023
    }
}

/// `x · 2^k`, for any `k` (saturating to `±∞` or `0` as the exact value would).
pub(crate) fn ldexp(mut x: f64, mut k: i32) -> f64 {
    if (-1022..=1023).contains(&k) {
        // 2^k is a normal number: one exact multiplication.
        return x * f64::from_bits(((k + 1023) as u64) << 52);
    }
    const STEP: i32 = 1000;
    let up = 2f64.powi(STEP);
    let down = 2f64.powi(-STEP);
    while k > STEP && x.is_finite() && x != 0.0 {
        x *= up;
        k -= STEP;
    }
    while k < -STEP && x != 0.0 && x.is_finite() {
        x *= down;
        k += STEP;
    }
    // Split the last factor so that 2^k itself never under- or overflows.
    let half = k / 2;
    x * 2f64.powi(half) * 2f64.powi(k - half)
}

/// `v · 2^{−k}` with `max |v_i| · 2^{−k} ∈ [1, 2)`, and `k`; `None` for
/// `v = 0`. Exact (a power of two), so a quantity invariant to the scale
/// of `v` computed from the result is the same for `v` and `c v`.
pub(crate) fn normalize(v: &DVector<f64>) -> Option<(DVector<f64>, i32)> {
    let largest = v.amax();
    if largest == 0.0 || !largest.is_finite() {
        return None;
    }
    let k = exponent(largest);
    Some((v.map(|x| ldexp(x, -k)), k))
}

/// The sign of `v`: `+1`, `−1` or `0`.
pub(crate) fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lp_norms_by_hand() {
        let v = DVector::from_vec(vec![3.0, -4.0]);
        assert_eq!(lp_norm(&v, 1.0), 7.0);
        assert_eq!(lp_norm(&v, f64::INFINITY), 4.0);
        assert!((lp_norm(&v, 2.0) - 5.0).abs() < 1e-15);
        let expected = (27f64 + 64.0).cbrt();
        assert!((lp_norm(&v, 3.0) - expected).abs() < 1e-15 * expected);
        assert_eq!(lp_norm(&DVector::zeros(3), 3.0), 0.0);
    }

    #[test]
    fn lp_norms_are_scale_safe() {
        // Entries whose p-th powers over- or underflow: the norm scales exactly
        // by powers of two.
        let v = DVector::from_vec(vec![3.0, -4.0, 0.5]);
        for p in [1.0, 1.5, 2.0, 3.0, 7.0, f64::INFINITY] {
            let unit = lp_norm(&v, p);
            for k in [-1000, -600, 600, 1000] {
                let t = ldexp(1.0, k);
                assert_eq!(lp_norm(&(&v * t), p), unit * t, "p = {p}, 2^{k}");
            }
        }
        assert_eq!(conjugate_exponent(1.0), f64::INFINITY);
        assert_eq!(conjugate_exponent(f64::INFINITY), 1.0);
        assert_eq!(conjugate_exponent(3.0), 1.5);
    }

    #[test]
    fn norm_survives_the_whole_range() {
        for s in [1e-320, 1e-300, 1e-160, 1e-150, 1.0, 1e150, 1e160, 1e300] {
            let v = [3.0 * s, -4.0 * s, 0.0];
            let n = norm(&v);
            assert!(
                (n / (5.0 * s) - 1.0).abs() < 1e-15 || s < 1e-307,
                "s = {s:e}: {n:e}"
            );
        }
        // A tiny entry beside a normal one still counts.
        assert_eq!(norm(&[1e-200, 0.0]), 1e-200);
        assert_eq!(norm(&[]), 0.0);
        let mut sum = SumOfSquares::default();
        sum.add(1e300);
        sum.add(1e300);
        assert!((sum.norm() / (2f64.sqrt() * 1e300) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn exponents_and_powers_of_two() {
        assert_eq!(exponent(1.0), 0);
        assert_eq!(exponent(-3.0), 1);
        assert_eq!(exponent(0.75), -1);
        assert_eq!(exponent(f64::MIN_POSITIVE / 4.0), -1024);
        assert_eq!(ldexp(1.5, 2000), f64::INFINITY);
        assert_eq!(ldexp(1.5, -2000), 0.0);
        assert_eq!(ldexp(1.5, 3), 12.0);
        assert_eq!(ldexp(ldexp(1e300, -2000), 2000), 1e300);
        assert_eq!(ldexp(1.0, -1074), 5e-324);
        let (v, k) = normalize(&DVector::from_vec(vec![1e-300, -3e-300])).unwrap();
        assert_eq!(ldexp(v[1], k), -3e-300);
        assert!((1.0..2.0).contains(&v.amax()));
    }

    #[test]
    fn products_agree_with_nalgebra() {
        for (rows, cols) in [(3usize, 2usize), (700, 500)] {
            let a = DMatrix::from_fn(rows, cols, |i, j| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let x = DVector::from_fn(cols, |i, _| (i % 5) as f64 - 2.0);
            let y = DVector::from_fn(rows, |i, _| (i % 3) as f64 - 1.0);
            assert_eq!(mat_vec(&a, &x), &a * &x);
            assert_eq!(mat_tr_vec(&a, &y), a.tr_mul(&y));
            let mut acc = y.clone();
            gemv(&mut acc, -2.0, &a, &x, true);
            assert_eq!(acc, &y - (&a * &x) * 2.0);
        }
    }
}
