//! Dense matrix–vector products through faer's kernels (internal).
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

#[cfg(test)]
mod tests {
    use super::*;

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
