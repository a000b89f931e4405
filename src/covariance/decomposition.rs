//! The dense symmetric eigendecomposition, the crate's one `O(d³)` step.

use nalgebra::{DMatrix, DVector};

use crate::error::{Error, Result};

use super::PARALLEL_FROM_DIM;

/// Eigen-decomposition of a symmetric matrix with eigenvalues sorted in
/// descending order; columns of the returned basis are the eigenvectors.
///
/// This is the crate's single `O(d³)` step, done with faer (LAPACK-class
/// speed) and converted back to nalgebra types at the boundary.
pub(crate) fn symmetric_eigen_descending(
    matrix: &DMatrix<f64>,
) -> Result<(DVector<f64>, DMatrix<f64>)> {
    use faer::Mat;
    use faer::diag::Diag;
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::evd::{ComputeEigenvectors, self_adjoint_evd, self_adjoint_evd_scratch};

    let d = matrix.nrows();
    let par = crate::linalg::parallelism_when(d >= PARALLEL_FROM_DIM);
    let a = Mat::<f64>::from_fn(d, d, |i, j| matrix[(i, j)]);
    let mut u = Mat::<f64>::zeros(d, d);
    let mut s = Diag::<f64>::zeros(d);
    let scratch =
        self_adjoint_evd_scratch::<f64>(d, ComputeEigenvectors::Yes, par, Default::default());
    self_adjoint_evd(
        a.as_ref(),
        s.as_mut(),
        Some(u.as_mut()),
        par,
        MemStack::new(&mut MemBuffer::new(scratch)),
        Default::default(),
    )
    .map_err(|_| Error::Decomposition("symmetric eigen"))?;
    // faer sorts ascending; we store descending.
    let values = DVector::from_fn(d, |i, _| s[d - 1 - i]);
    let basis = DMatrix::from_fn(d, d, |i, j| u[(i, d - 1 - j)]);
    Ok((values, basis))
}
