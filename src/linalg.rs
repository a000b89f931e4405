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
//! bound by memory bandwidth. The matrix–vector products here are the
//! crate's own kernels over nalgebra's column-major storage, viewed in
//! place (never copied):
//!
//! - `A x` sweeps a block of [`ROW_BLOCK`] rows at a time, whose partial
//!   sums stay in the L1 cache while eight columns at a time stream past
//!   (one load and store of a partial sum per eight matrix entries), so the
//!   matrix is read exactly once; the compiler vectorizes the loop.
//! - `Aᵀ x` takes the dot products of the columns with `x` over a chunk of
//!   rows at a time, so `x`'s chunk is read from cache, not memory.
//! - Above [`PARALLEL_FROM_ENTRIES`] entries the work is split over the
//!   threads of rayon's current pool (so `RAYON_NUM_THREADS` and
//!   `ThreadPool::install` decide) in pieces of a fixed size, and the
//!   partial sums are added in a fixed order: the result is bit-identical
//!   on any number of threads.

use faer::Par;
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

/// Entries from which a product is split over threads (about 2 MB; below
/// it the threads cost more than they save, measured on two cores).
const PARALLEL_FROM_ENTRIES: usize = 1 << 18;

/// Rows of `A x` whose partial sums are kept in L1 (8 KB) while the
/// columns stream past.
const ROW_BLOCK: usize = 1024;

/// Rows per parallel piece of a tall product (a multiple of [`ROW_BLOCK`]).
const ROWS_PER_PIECE: usize = 8 * ROW_BLOCK;

/// Matrix entries per parallel piece when a product is split by columns
/// (a wide `A x`, or `Aᵀ x` of a short matrix).
const ENTRIES_PER_PIECE: usize = 1 << 16;

/// The parallelism of a large operation: every thread of rayon's current
/// pool (so `RAYON_NUM_THREADS` and `ThreadPool::install` decide), or
/// serial for a small one.
pub(crate) fn parallelism_when(large: bool) -> Par {
    if large { Par::rayon(0) } else { Par::Seq }
}

fn is_large(rows: usize, cols: usize) -> bool {
    rows.saturating_mul(cols) >= PARALLEL_FROM_ENTRIES
}

/// `acc[i] += Σ_j x_j a[j·n + first + i]` over the columns `j` of `x`
/// (column-major `a` with `n` rows), eight columns per sweep of `acc`.
fn accumulate_block(a: &[f64], n: usize, first: usize, x: &[f64], acc: &mut [f64]) {
    let len = acc.len();
    let column = |j: usize| &a[j * n + first..j * n + first + len];
    let mut groups = x.chunks_exact(8);
    let mut j = 0;
    for g in groups.by_ref() {
        let (c0, c1, c2, c3) = (column(j), column(j + 1), column(j + 2), column(j + 3));
        let (c4, c5, c6, c7) = (column(j + 4), column(j + 5), column(j + 6), column(j + 7));
        for i in 0..len {
            acc[i] += g[0] * c0[i]
                + g[1] * c1[i]
                + g[2] * c2[i]
                + g[3] * c3[i]
                + g[4] * c4[i]
                + g[5] * c5[i]
                + g[6] * c6[i]
                + g[7] * c7[i];
        }
        j += 8;
    }
    for &xj in groups.remainder() {
        let c = column(j);
        for i in 0..len {
            acc[i] += xj * c[i];
        }
        j += 1;
    }
}

/// `out = β·out + α·A[first.., ..] x` for the rows of `out`, in blocks of
/// [`ROW_BLOCK`].
fn gemv_rows(
    a: &[f64],
    n: usize,
    first: usize,
    x: &[f64],
    alpha: f64,
    out: &mut [f64],
    accumulate: bool,
) {
    let mut acc = [0.0; ROW_BLOCK];
    for (b, block) in out.chunks_mut(ROW_BLOCK).enumerate() {
        let acc = &mut acc[..block.len()];
        acc.fill(0.0);
        accumulate_block(a, n, first + b * ROW_BLOCK, x, acc);
        for (o, s) in block.iter_mut().zip(acc.iter()) {
            *o = if accumulate {
                *o + alpha * s
            } else {
                alpha * s
            };
        }
    }
}

/// `out = β·out + α·A x` (`β = 0` overwrites, `β = 1` accumulates).
pub(crate) fn gemv(
    out: &mut DVector<f64>,
    alpha: f64,
    a: &DMatrix<f64>,
    x: &DVector<f64>,
    accumulate: bool,
) {
    let (n, d) = a.shape();
    debug_assert_eq!(d, x.len());
    debug_assert_eq!(n, out.len());
    let (a, x, out) = (a.as_slice(), x.as_slice(), out.as_mut_slice());
    if !is_large(n, d) {
        gemv_rows(a, n, 0, x, alpha, out, accumulate);
    } else if n >= 2 * ROWS_PER_PIECE {
        // Tall: rows split into pieces, each row's sum in the same order.
        out.par_chunks_mut(ROWS_PER_PIECE)
            .enumerate()
            .for_each(|(p, piece)| {
                gemv_rows(a, n, p * ROWS_PER_PIECE, x, alpha, piece, accumulate)
            });
    } else {
        // Wide: columns split into pieces, partial sums added in order.
        let cols = (ENTRIES_PER_PIECE / n).max(8);
        let partials: Vec<Vec<f64>> = x
            .par_chunks(cols)
            .enumerate()
            .map(|(p, xs)| {
                let mut part = vec![0.0; n];
                let start = p * cols * n;
                gemv_rows(
                    &a[start..start + xs.len() * n],
                    n,
                    0,
                    xs,
                    1.0,
                    &mut part,
                    false,
                );
                part
            })
            .collect();
        for (i, o) in out.iter_mut().enumerate() {
            let sum = partials.iter().fold(0.0, |s, part| s + part[i]);
            *o = if accumulate {
                *o + alpha * sum
            } else {
                alpha * sum
            };
        }
    }
}

/// `A x`.
pub(crate) fn mat_vec(a: &DMatrix<f64>, x: &DVector<f64>) -> DVector<f64> {
    let mut out = DVector::zeros(a.nrows());
    gemv(&mut out, 1.0, a, x, false);
    out
}

/// `A x`, then `finish(first, rows)` on each finished piece of rows (first
/// row index, the piece) while it is still in cache: a per-row epilogue
/// (e.g. margins from scores) fused into the one pass over `A`.
pub(crate) fn mat_vec_then(
    a: &DMatrix<f64>,
    x: &DVector<f64>,
    finish: impl Fn(usize, &mut [f64]) + Sync,
) -> DVector<f64> {
    let (n, d) = a.shape();
    debug_assert_eq!(d, x.len());
    let mut out = DVector::zeros(n);
    if is_large(n, d) && n >= 2 * ROWS_PER_PIECE {
        let (a, x) = (a.as_slice(), x.as_slice());
        out.as_mut_slice()
            .par_chunks_mut(ROWS_PER_PIECE)
            .enumerate()
            .for_each(|(p, piece)| {
                gemv_rows(a, n, p * ROWS_PER_PIECE, x, 1.0, piece, false);
                finish(p * ROWS_PER_PIECE, piece);
            });
    } else {
        gemv(&mut out, 1.0, a, x, false);
        finish(0, out.as_mut_slice());
    }
    out
}

/// The dot product with eight partial sums (so it vectorizes); the same
/// summation order for the same length.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut lanes = [0.0; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a8.zip(b8) {
        for l in 0..8 {
            lanes[l] += ca[l] * cb[l];
        }
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
        + tail
}

/// `out_j = A[first..first + len, j]ᵀ x[first..first + len]` for the
/// first `out.len()` columns of `a`.
fn tr_rows(a: &[f64], n: usize, first: usize, x: &[f64], out: &mut [f64]) {
    let len = x.len();
    for (j, o) in out.iter_mut().enumerate() {
        *o = dot(&a[j * n + first..j * n + first + len], x);
    }
}

/// `out_j = Σ_p A[piece p, j]ᵀ x[piece p]` over the pieces of
/// [`ROWS_PER_PIECE`] rows, added in order (the order of the tall parallel
/// case, so every path gives the same bits).
fn tr_columns(a: &[f64], n: usize, x: &[f64], out: &mut [f64]) {
    for (j, o) in out.iter_mut().enumerate() {
        let column = &a[j * n..(j + 1) * n];
        *o = column
            .chunks(ROWS_PER_PIECE)
            .zip(x.chunks(ROWS_PER_PIECE))
            .fold(0.0, |s, (c, xs)| s + dot(c, xs));
    }
}

/// `Aᵀ x`.
pub(crate) fn mat_tr_vec(a: &DMatrix<f64>, x: &DVector<f64>) -> DVector<f64> {
    let (n, m) = a.shape();
    debug_assert_eq!(n, x.len());
    let mut out = DVector::zeros(m);
    let (a, x) = (a.as_slice(), x.as_slice());
    if !is_large(n, m) {
        tr_columns(a, n, x, out.as_mut_slice());
    } else if n >= 2 * ROWS_PER_PIECE {
        // Tall: partial sums over pieces of rows (x's piece stays in
        // cache for all the columns), added in order.
        let partials: Vec<Vec<f64>> = x
            .par_chunks(ROWS_PER_PIECE)
            .enumerate()
            .map(|(p, xs)| {
                let mut part = vec![0.0; m];
                tr_rows(a, n, p * ROWS_PER_PIECE, xs, &mut part);
                part
            })
            .collect();
        for (j, o) in out.iter_mut().enumerate() {
            *o = partials.iter().fold(0.0, |s, part| s + part[j]);
        }
    } else {
        // Short and wide: the outputs are independent, split by columns.
        let cols = (ENTRIES_PER_PIECE / n).max(1);
        out.as_mut_slice()
            .par_chunks_mut(cols)
            .enumerate()
            .for_each(|(p, piece)| tr_columns(&a[p * cols * n..], n, x, piece));
    }
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

    /// Small integer entries: every partial sum is exact, so every path
    /// (serial; tall, wide and short-wide parallel) must equal nalgebra's.
    #[test]
    fn products_agree_with_nalgebra() {
        for (rows, cols) in [(3usize, 2usize), (700, 500), (40_000, 9), (20, 20_011)] {
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

    /// The parallel products split the work in pieces of a fixed size and
    /// add the partial sums in a fixed order: one thread and two give the
    /// same bits. The error against nalgebra is within the dot-product
    /// bound `n ε Σ|a_ij x_j|` (Higham, Accuracy and Stability, §3.1).
    #[test]
    fn products_do_not_depend_on_the_number_of_threads() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for (rows, cols) in [(40_000usize, 9usize), (20, 20_011), (900, 700)] {
            let a = DMatrix::from_fn(rows, cols, |_, _| rng.random::<f64>() - 0.5);
            let x = DVector::from_fn(cols, |_, _| rng.random::<f64>() - 0.5);
            let y = DVector::from_fn(rows, |_, _| rng.random::<f64>() - 0.5);
            let run = |threads| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| (mat_vec(&a, &x), mat_tr_vec(&a, &y)))
            };
            let (one, two) = (run(1), run(2));
            assert_eq!(one, two, "{rows}×{cols}");
            let (ax, aty) = one;
            let abs = a.abs();
            let bound_ax = (&abs * x.abs()) * (cols as f64 * f64::EPSILON);
            let bound_aty = abs.tr_mul(&y.abs()) * (rows as f64 * f64::EPSILON);
            for (got, (want, bound)) in ax.iter().zip((&a * &x).iter().zip(bound_ax.iter())) {
                assert!((got - want).abs() <= 2.0 * bound, "{got} vs {want}");
            }
            let reference = a.tr_mul(&y);
            for (got, (want, bound)) in aty.iter().zip(reference.iter().zip(bound_aty.iter())) {
                assert!((got - want).abs() <= 2.0 * bound, "{got} vs {want}");
            }
        }
    }
}
