//! Covariance matrices in three representations, always with their spectrum.
//!
//! [THEORY §0–1](crate::theory#0-notation). A covariance `Σ = U Λ Uᵀ` is stored together with its
//! eigen-decomposition, eigenvalues sorted by **descending** variance
//! `λ₁ ≥ … ≥ λ_d > 0`. Every operation the crate needs is a spectral
//! function applied to a vector,
//!
//! ```text
//! f(Σ) v = Σ_i f(λ_i) u_i (u_iᵀ v),
//! ```
//!
//! with `f(λ) = λ` (`Σv`), `1/λ` (`Σ⁻¹v`), `√λ`, `1/√λ`, and the quadratic
//! forms `vᵀΣv = Σ_i λ_i ṽ_i²`, `vᵀΣ⁻¹v = Σ_i ṽ_i²/λ_i`.
//!
//! Three representations share these operations:
//!
//! | representation | `Σ` | cost per application | storage |
//! |---|---|---|---|
//! | dense | any symmetric positive-definite matrix | `O(d²)` | `2d²` |
//! | diagonal | `diag(s)` | `O(d)` | `d` |
//! | spiked | `U_k Λ_k U_kᵀ + σ²(I − U_kU_kᵀ)` | `O(dk)` | `dk` |
//!
//! The spectrum is organized in *blocks*: one block per explicit
//! eigen-direction (all of them for dense and diagonal, the `k` leading
//! ones for spiked) and, for spiked covariances, one final *noise block* of
//! multiplicity `d − k` carrying the eigenvalue `σ²`. The noise block
//! enters every formula through the squared norm of `(I − U_kU_kᵀ)v`, so no
//! `d × d` matrix is ever formed for the structured representations.
//!
//! The dense eigendecomposition is the one `O(d³)` step of the crate; it
//! is computed once, at construction, with `faer` (single-threaded for
//! small `d`, where threads cost more than they give).

use std::sync::{Arc, OnceLock};

use nalgebra::{DMatrix, DVector};

mod residual;
pub(crate) use residual::EigenResidual;

use crate::error::{
    Error, Result, ensure_dim, ensure_finite, ensure_finite_matrix, ensure_finite_value,
};

mod decomposition;
mod sampling;
mod spectral;

pub(crate) use decomposition::symmetric_eigen_descending;
pub use spectral::EigenCoordinates;

/// Relative tolerance for symmetry of a dense covariance:
/// `max |Σ_ij − Σ_ji| ≤ SYMMETRY_TOLERANCE · max |Σ_ij|`.
pub const SYMMETRY_TOLERANCE: f64 = 1e-10;

/// Tolerance for the orthonormality of a spiked basis:
/// `max |UᵀU − I| ≤ ORTHONORMALITY_TOLERANCE`.
pub const ORTHONORMALITY_TOLERANCE: f64 = 1e-9;

/// Relative gap below which two eigenvalues count as equal when a
/// top-`k` eigenspace is cut: `λ_k − λ_{k+1} ≤ EIGEN_GAP_TOLERANCE · λ₁`.
pub const EIGEN_GAP_TOLERANCE: f64 = 1e-10;

/// Dimension from which the dense decomposition uses two threads.
pub(crate) const PARALLEL_FROM_DIM: usize = 384;

/// Which representation a [`Covariance`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Representation {
    /// A dense `d × d` matrix with its full eigendecomposition.
    Dense,
    /// A diagonal matrix (the eigenbasis is the standard basis, permuted).
    Diagonal,
    /// Low rank plus isotropic noise: `U_k Λ_k U_kᵀ + σ²(I − U_kU_kᵀ)`.
    Spiked {
        /// The number `k` of leading directions.
        rank: usize,
    },
}

/// A symmetric positive-definite covariance with its spectrum.
///
/// `Σ = U Λ Uᵀ`, eigenvalues descending. Cloning is cheap (the data are
/// shared), so threats built from a covariance keep a handle to it.
///
/// # Example
/// ```
/// use manifold_robustness::Covariance;
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
///
/// let cov = Covariance::dense(DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 2.0]))?;
/// assert_eq!(cov.dim(), 2);
/// assert!((cov.eigenvalues()[0] - 3.0).abs() < 1e-14);
/// assert!((cov.eigenvalues()[1] - 1.0).abs() < 1e-14);
/// // Σ⁻¹ v through the spectrum, no inverse formed.
/// let x = cov.solve(&DVector::from_vec(vec![3.0, 3.0]))?;
/// assert!((x[0] - 1.0).abs() < 1e-14 && (x[1] - 1.0).abs() < 1e-14);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Covariance {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dim: usize,
    kind: Kind,
    /// Block eigenvalues, descending: `d` entries for dense and diagonal,
    /// `k + 1` for spiked (the last one the noise level).
    eigenvalues: DVector<f64>,
    /// The measured accuracy of the decomposition, computed on first use.
    residual: OnceLock<EigenResidual>,
}

#[derive(Debug)]
enum Kind {
    Dense {
        matrix: DMatrix<f64>,
        /// Columns are eigenvectors, in the order of `eigenvalues`.
        basis: DMatrix<f64>,
    },
    Diagonal {
        variances: DVector<f64>,
        /// `order[i]` is the axis of the i-th largest variance.
        order: Vec<usize>,
    },
    Spiked {
        basis: DMatrix<f64>,
        noise: f64,
    },
}

/// Two covariances are equal when they have the same representation and
/// the same defining data: the (symmetrized) matrix, the variances in axis
/// order, or the spiked basis, variances and noise level. The spectrum is
/// a function of these.
impl PartialEq for Covariance {
    fn eq(&self, other: &Covariance) -> bool {
        if self.same_as(other) {
            return true;
        }
        match (&self.inner.kind, &other.inner.kind) {
            (Kind::Dense { matrix: a, .. }, Kind::Dense { matrix: b, .. }) => a == b,
            (Kind::Diagonal { variances: a, .. }, Kind::Diagonal { variances: b, .. }) => a == b,
            (Kind::Spiked { basis: a, .. }, Kind::Spiked { basis: b, .. }) => {
                a == b && self.inner.eigenvalues == other.inner.eigenvalues
            }
            _ => false,
        }
    }
}

impl Covariance {
    /// A dense covariance from a symmetric positive-definite matrix.
    ///
    /// The matrix is checked (square, finite, symmetric within
    /// [`SYMMETRY_TOLERANCE`] relative to its largest entry), symmetrized,
    /// and decomposed once. It must be positive definite to working
    /// precision: the smallest eigenvalue must exceed `d · ε_mach · λ₁`,
    /// and its reciprocal must be finite (so `Σ⁻¹` is representable).
    ///
    /// # Errors
    /// [`Error::Empty`], [`Error::NotSquare`], [`Error::NonFiniteEntry`],
    /// [`Error::NotSymmetric`], [`Error::NotPositiveDefinite`],
    /// [`Error::Decomposition`].
    pub fn dense(sigma: DMatrix<f64>) -> Result<Covariance> {
        let (rows, cols) = sigma.shape();
        if rows != cols {
            return Err(Error::NotSquare {
                name: "covariance",
                rows,
                cols,
            });
        }
        if rows == 0 {
            return Err(Error::Empty { name: "covariance" });
        }
        ensure_finite_matrix("covariance", &sigma)?;
        let scale = sigma.amax();
        let mut asymmetry: f64 = 0.0;
        for j in 0..cols {
            for i in 0..j {
                asymmetry = asymmetry.max((sigma[(i, j)] - sigma[(j, i)]).abs());
            }
        }
        if asymmetry > SYMMETRY_TOLERANCE * scale {
            return Err(Error::NotSymmetric {
                asymmetry,
                tolerance: SYMMETRY_TOLERANCE * scale,
            });
        }
        let matrix = (&sigma + sigma.transpose()) * 0.5;
        let (eigenvalues, basis) = symmetric_eigen_descending(&matrix)?;
        Covariance::dense_from_eigen(matrix, eigenvalues, basis)
    }

    /// A dense covariance from a symmetric matrix and its known
    /// eigen-decomposition (eigenvalues descending, eigenvectors as columns),
    /// so a caller that already decomposed the matrix (the dual solver's
    /// rescaled model) does not pay for a second `O(d³)` step. A covariance
    /// a user can save must come from [`Covariance::dense`] instead: reading
    /// it back decomposes the matrix again. Only the
    /// positive-definiteness test of [`Covariance::dense`] is repeated; the
    /// caller vouches for symmetry, finiteness and the decomposition.
    pub(crate) fn dense_from_eigen(
        matrix: DMatrix<f64>,
        eigenvalues: DVector<f64>,
        basis: DMatrix<f64>,
    ) -> Result<Covariance> {
        let d = matrix.nrows();
        debug_assert!(matrix.is_square() && eigenvalues.len() == d && basis.shape() == (d, d));
        let max = eigenvalues[0];
        let min = eigenvalues[d - 1];
        // Σ⁻¹ must be representable too: 1/λ_d finite, as for diagonal and spiked.
        if max.is_nan()
            || max <= 0.0
            || min <= (d as f64) * f64::EPSILON * max
            || !(1.0 / min).is_finite()
        {
            return Err(Error::NotPositiveDefinite {
                min_eigenvalue: min,
                max_eigenvalue: max,
            });
        }
        Ok(Covariance {
            inner: Arc::new(Inner {
                dim: d,
                kind: Kind::Dense { matrix, basis },
                eigenvalues,
                residual: OnceLock::new(),
            }),
        })
    }

    /// A diagonal covariance `diag(variances)`.
    ///
    /// # Errors
    /// [`Error::Empty`], [`Error::NonFiniteEntry`], and
    /// [`Error::NotPositiveDefinite`] if a variance is not positive (or so
    /// small that its reciprocal overflows).
    pub fn diagonal(variances: DVector<f64>) -> Result<Covariance> {
        let d = variances.len();
        if d == 0 {
            return Err(Error::Empty { name: "variances" });
        }
        ensure_finite("variances", variances.as_slice())?;
        let mut order: Vec<usize> = (0..d).collect();
        // Stable sort keeps equal variances in axis order.
        order.sort_by(|&a, &b| variances[b].total_cmp(&variances[a]));
        let eigenvalues = DVector::from_iterator(d, order.iter().map(|&i| variances[i]));
        let min = eigenvalues[d - 1];
        if min.is_nan() || min <= 0.0 || !(1.0 / min).is_finite() {
            return Err(Error::NotPositiveDefinite {
                min_eigenvalue: min,
                max_eigenvalue: eigenvalues[0],
            });
        }
        Ok(Covariance {
            inner: Arc::new(Inner {
                dim: d,
                kind: Kind::Diagonal { variances, order },
                eigenvalues,
                residual: OnceLock::new(),
            }),
        })
    }

    /// A spiked (probabilistic-PCA) covariance
    /// `Σ = U_k Λ_k U_kᵀ + σ²(I − U_kU_kᵀ)`.
    ///
    /// `basis` is `d × k` with orthonormal columns (checked within
    /// [`ORTHONORMALITY_TOLERANCE`]; costs `O(dk²)`), `variances` holds
    /// `λ₁ ≥ … ≥ λ_k > σ²` and `noise = σ² > 0`. The basis is stored as
    /// given, without a copy, so `d` can be in the millions.
    ///
    /// # Errors
    /// [`Error::Empty`] (`d = 0`), [`Error::InvalidRank`] unless
    /// `1 ≤ k < d`, [`Error::DimensionMismatch`], [`Error::NonFiniteEntry`]
    /// (variances, basis), [`Error::NonFinite`] (noise),
    /// [`Error::NotPositiveDefinite`] (noise not positive, or so small
    /// that its reciprocal overflows),
    /// [`Error::InvalidSpectrum`], [`Error::NotOrthonormal`].
    pub fn spiked(basis: DMatrix<f64>, variances: DVector<f64>, noise: f64) -> Result<Covariance> {
        let (d, k) = basis.shape();
        if d == 0 {
            return Err(Error::Empty { name: "basis" });
        }
        if k == 0 || k >= d {
            return Err(Error::InvalidRank {
                k,
                max: d.saturating_sub(1),
            });
        }
        ensure_dim("variances", k, variances.len())?;
        ensure_finite("variances", variances.as_slice())?;
        ensure_finite_value("noise", noise)?;
        // UᵀU through faer's cache-blocked product: one pass over U instead
        // of k² column dot products (at d = 10⁶, k = 32: 0.6 s → tens of ms).
        // It doubles as the finiteness check: a NaN or infinite entry makes
        // its column's Σ_i u_ij² NaN or +∞, so U is scanned for the entry
        // only then, and a valid basis is read once, not twice.
        let u = faer::MatRef::from_column_major_slice(basis.as_slice(), d, k);
        let gram = u.transpose() * u;
        if (0..k).any(|j| !gram[(j, j)].is_finite()) {
            ensure_finite_matrix("basis", &basis)?;
        }
        // Σ⁻¹ must be representable: 1/σ² finite, as for diagonal and dense.
        if noise.is_nan() || noise <= 0.0 || !(1.0 / noise).is_finite() {
            return Err(Error::NotPositiveDefinite {
                min_eigenvalue: noise,
                max_eigenvalue: variances.max(),
            });
        }
        for i in 0..k {
            let above_noise = variances[i] > noise;
            let descending = i == 0 || variances[i] <= variances[i - 1];
            if !(above_noise && descending) {
                return Err(Error::InvalidSpectrum {
                    index: i,
                    variance: variances[i],
                    noise,
                });
            }
        }
        let mut deviation: f64 = 0.0;
        for j in 0..k {
            for i in 0..k {
                let target = if i == j { 1.0 } else { 0.0 };
                deviation = deviation.max((gram[(i, j)] - target).abs());
            }
        }
        if deviation > ORTHONORMALITY_TOLERANCE {
            return Err(Error::NotOrthonormal { deviation });
        }
        let mut eigenvalues = DVector::zeros(k + 1);
        eigenvalues.rows_mut(0, k).copy_from(&variances);
        eigenvalues[k] = noise;
        Ok(Covariance {
            inner: Arc::new(Inner {
                dim: d,
                kind: Kind::Spiked { basis, noise },
                eigenvalues,
                residual: OnceLock::new(),
            }),
        })
    }

    /// The isotropic covariance `σ² I` (diagonal representation).
    ///
    /// # Errors
    /// As [`Covariance::diagonal`].
    pub fn isotropic(dim: usize, variance: f64) -> Result<Covariance> {
        Covariance::diagonal(DVector::from_element(dim, variance))
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.inner.dim
    }

    /// Which representation this covariance uses.
    pub fn representation(&self) -> Representation {
        match &self.inner.kind {
            Kind::Dense { .. } => Representation::Dense,
            Kind::Diagonal { .. } => Representation::Diagonal,
            Kind::Spiked { basis, .. } => Representation::Spiked {
                rank: basis.ncols(),
            },
        }
    }

    /// Block eigenvalues, descending: all `d` eigenvalues for dense and
    /// diagonal covariances; for spiked ones the `k` leading eigenvalues
    /// followed by the noise level `σ²` (which has multiplicity `d − k`).
    pub fn eigenvalues(&self) -> &DVector<f64> {
        &self.inner.eigenvalues
    }

    /// How many eigen-directions spectral block `block` stands for: 1, or
    /// `d − k` for the noise block of a spiked covariance.
    ///
    /// # Panics
    /// If `block ≥ self.eigenvalues().len()` (an index out of range).
    pub fn multiplicity(&self, block: usize) -> usize {
        assert!(
            block < self.inner.eigenvalues.len(),
            "block index out of range"
        );
        match &self.inner.kind {
            Kind::Spiked { basis, .. } if block == basis.ncols() => self.inner.dim - basis.ncols(),
            _ => 1,
        }
    }

    /// Number of explicit eigen-directions (`d`, or `k` for spiked).
    pub fn explicit_directions(&self) -> usize {
        match &self.inner.kind {
            Kind::Spiked { basis, .. } => basis.ncols(),
            _ => self.inner.dim,
        }
    }

    /// The full list of `d` eigenvalues, descending (the noise level
    /// repeated `d − k` times for spiked covariances; `O(d)` memory).
    pub fn full_spectrum(&self) -> DVector<f64> {
        let d = self.dim();
        let values = self.eigenvalues();
        match &self.inner.kind {
            Kind::Spiked { basis, noise } => {
                let k = basis.ncols();
                DVector::from_fn(d, |i, _| if i < k { values[i] } else { *noise })
            }
            _ => values.clone(),
        }
    }

    /// The trace `tr Σ = Σ_i λ_i`.
    pub fn trace(&self) -> f64 {
        (0..self.eigenvalues().len())
            .map(|b| self.eigenvalues()[b] * self.multiplicity(b) as f64)
            .sum()
    }

    /// The `i`-th explicit eigenvector `u_i` (descending variance), or
    /// `None` if `i` is not an explicit direction.
    pub fn eigenvector(&self, i: usize) -> Option<DVector<f64>> {
        match &self.inner.kind {
            Kind::Dense { basis, .. } => (i < basis.ncols()).then(|| basis.column(i).into_owned()),
            Kind::Diagonal { order, .. } => order.get(i).map(|&axis| {
                let mut e = DVector::zeros(self.dim());
                e[axis] = 1.0;
                e
            }),
            Kind::Spiked { basis, .. } => (i < basis.ncols()).then(|| basis.column(i).into_owned()),
        }
    }

    /// The leading `k` eigenvectors as the columns of a `d × k` matrix.
    ///
    /// # Errors
    /// [`Error::InvalidRank`] unless `1 ≤ k ≤` [`explicit_directions`](Self::explicit_directions).
    pub fn leading_basis(&self, k: usize) -> Result<DMatrix<f64>> {
        let max = self.explicit_directions();
        if k == 0 || k > max {
            return Err(Error::InvalidRank { k, max });
        }
        Ok(match &self.inner.kind {
            Kind::Dense { basis, .. } | Kind::Spiked { basis, .. } => {
                basis.columns(0, k).into_owned()
            }
            Kind::Diagonal { order, .. } => {
                let mut out = DMatrix::zeros(self.dim(), k);
                for (j, &axis) in order.iter().take(k).enumerate() {
                    out[(axis, j)] = 1.0;
                }
                out
            }
        })
    }

    /// The covariance as a dense `d × d` matrix (`O(d²)` memory: meant for
    /// small `d`, tests and export).
    pub fn to_dense(&self) -> DMatrix<f64> {
        match &self.inner.kind {
            Kind::Dense { matrix, .. } => matrix.clone(),
            Kind::Diagonal { variances, .. } => DMatrix::from_diagonal(variances),
            Kind::Spiked { basis, noise } => {
                let d = self.dim();
                let k = basis.ncols();
                let values = &self.inner.eigenvalues;
                let scaled = DMatrix::from_fn(d, k, |i, j| basis[(i, j)] * (values[j] - noise));
                let mut out = scaled * basis.transpose();
                for i in 0..d {
                    out[(i, i)] += noise;
                }
                out
            }
        }
    }

    /// The 1-based rank `k` cut between directions `k` and `k + 1` must not
    /// split a block of equal eigenvalues. Checks `1 ≤ k ≤ d` too.
    pub(crate) fn check_eigenspace_cut(&self, k: usize) -> Result<()> {
        let d = self.dim();
        if k == 0 || k > d {
            return Err(Error::InvalidRank { k, max: d });
        }
        if k == d {
            return Ok(());
        }
        let values = &self.inner.eigenvalues;
        let explicit = self.explicit_directions();
        let (lambda_k, lambda_next) = if k < explicit {
            (values[k - 1], values[k])
        } else if k == explicit {
            (values[k - 1], values[k.min(values.len() - 1)])
        } else {
            // Inside the noise block of a spiked covariance.
            let noise = values[values.len() - 1];
            (noise, noise)
        };
        if lambda_k - lambda_next <= EIGEN_GAP_TOLERANCE * values[0] {
            return Err(Error::AmbiguousEigenspace {
                k,
                lambda_k,
                lambda_next,
            });
        }
        Ok(())
    }

    /// The measured accuracy of the eigen-decomposition (see
    /// `covariance::residual`): `O(d³)` for a dense covariance, `O(dk²)`
    /// for a spiked one, on first use; cached with the covariance.
    pub(crate) fn eigen_residual(&self) -> &EigenResidual {
        self.inner.residual.get_or_init(|| match &self.inner.kind {
            Kind::Dense { matrix, basis } => {
                EigenResidual::dense(matrix, &self.inner.eigenvalues, basis)
            }
            Kind::Diagonal { .. } => EigenResidual::exact(self.inner.eigenvalues.len()),
            Kind::Spiked { basis, noise } => {
                EigenResidual::spiked(basis, &self.inner.eigenvalues, *noise)
            }
        })
    }

    /// True when both handles share the same underlying data.
    pub(crate) fn same_as(&self, other: &Covariance) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The variances of a diagonal covariance in axis order (`None` for
    /// the other representations).
    #[cfg(feature = "serde")]
    pub(crate) fn diagonal_variances(&self) -> Option<&DVector<f64>> {
        match &self.inner.kind {
            Kind::Diagonal { variances, .. } => Some(variances),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense_example() -> Covariance {
        Covariance::dense(DMatrix::from_row_slice(
            3,
            3,
            &[4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 1.0],
        ))
        .unwrap()
    }

    #[test]
    fn dense_spectrum_is_descending_and_reconstructs() {
        let cov = dense_example();
        let l = cov.eigenvalues();
        assert!(l[0] >= l[1] && l[1] >= l[2]);
        let v = DVector::from_vec(vec![0.3, -1.2, 2.0]);
        let sv = cov.mul(&v).unwrap();
        let back = cov.solve(&sv).unwrap();
        assert!((back - &v).amax() < 1e-14);
        let c = cov.eigen_coordinates(&v).unwrap();
        let rebuilt = cov.from_coordinates_unchecked(&c);
        assert!((rebuilt - &v).amax() < 1e-14);
        let half = cov.sqrt_mul(&v).unwrap();
        assert!((cov.sqrt_mul(&half).unwrap() - &sv).amax() < 1e-13);
        let q = cov.quadratic_form(&v).unwrap();
        assert!((q - v.dot(&sv)).abs() < 1e-13 * q);
    }

    #[test]
    fn diagonal_orders_axes_by_variance() {
        let cov = Covariance::diagonal(DVector::from_vec(vec![1.0, 5.0, 3.0])).unwrap();
        assert_eq!(cov.eigenvalues().as_slice(), &[5.0, 3.0, 1.0]);
        assert_eq!(cov.eigenvector(0).unwrap().as_slice(), &[0.0, 1.0, 0.0]);
        let v = DVector::from_vec(vec![1.0, 2.0, 3.0]);
        let c = cov.eigen_coordinates(&v).unwrap();
        assert_eq!(c.explicit.as_slice(), &[2.0, 3.0, 1.0]);
        assert_eq!(cov.solve(&v).unwrap().as_slice(), &[1.0, 0.4, 1.0]);
    }

    #[test]
    fn spiked_agrees_with_its_dense_matrix() {
        let s = 0.5f64.sqrt();
        let basis = DMatrix::from_row_slice(4, 2, &[s, 0.0, s, 0.0, 0.0, 1.0, 0.0, 0.0]);
        let cov = Covariance::spiked(basis, DVector::from_vec(vec![9.0, 4.0]), 0.5).unwrap();
        let dense = Covariance::dense(cov.to_dense()).unwrap();
        let v = DVector::from_vec(vec![1.0, -2.0, 0.5, 3.0]);
        let a = cov.solve(&v).unwrap();
        let b = dense.solve(&v).unwrap();
        assert!((a - b).amax() < 1e-13);
        let qa = cov.inverse_quadratic_form(&v).unwrap();
        let qb = dense.inverse_quadratic_form(&v).unwrap();
        assert!((qa - qb).abs() < 1e-13 * qb);
        assert!((cov.trace() - dense.trace()).abs() < 1e-13);
        assert_eq!(cov.multiplicity(2), 2);
    }

    #[test]
    fn rejects_bad_dense_input() {
        let asym = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.4, 1.0]);
        assert!(matches!(
            Covariance::dense(asym),
            Err(Error::NotSymmetric { .. })
        ));
        let indefinite = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        assert!(matches!(
            Covariance::dense(indefinite),
            Err(Error::NotPositiveDefinite { .. })
        ));
        let nan = DMatrix::from_row_slice(2, 2, &[1.0, f64::NAN, f64::NAN, 1.0]);
        assert!(matches!(
            Covariance::dense(nan),
            Err(Error::NonFiniteEntry { .. })
        ));
        let rect = DMatrix::zeros(2, 3);
        assert!(matches!(
            Covariance::dense(rect),
            Err(Error::NotSquare { .. })
        ));
        assert!(matches!(
            Covariance::dense(DMatrix::zeros(0, 0)),
            Err(Error::Empty { .. })
        ));
    }

    #[test]
    fn rejects_bad_structured_input() {
        assert!(matches!(
            Covariance::diagonal(DVector::from_vec(vec![1.0, 0.0])),
            Err(Error::NotPositiveDefinite { .. })
        ));
        let basis = DMatrix::from_row_slice(3, 1, &[1.0, 1.0, 0.0]);
        assert!(matches!(
            Covariance::spiked(basis, DVector::from_vec(vec![2.0]), 1.0),
            Err(Error::NotOrthonormal { .. })
        ));
        let basis = DMatrix::from_row_slice(3, 1, &[1.0, 0.0, 0.0]);
        assert!(matches!(
            Covariance::spiked(basis.clone(), DVector::from_vec(vec![0.5]), 1.0),
            Err(Error::InvalidSpectrum { .. })
        ));
        assert!(matches!(
            Covariance::spiked(basis, DVector::from_vec(vec![2.0, 1.5]), 1.0),
            Err(Error::DimensionMismatch { .. })
        ));
    }

    #[test]
    fn eigenspace_cut_inside_equal_eigenvalues_is_ambiguous() {
        let cov = Covariance::diagonal(DVector::from_vec(vec![3.0, 2.0, 2.0, 1.0])).unwrap();
        assert!(cov.check_eigenspace_cut(1).is_ok());
        assert!(matches!(
            cov.check_eigenspace_cut(2),
            Err(Error::AmbiguousEigenspace { k: 2, .. })
        ));
        assert!(cov.check_eigenspace_cut(3).is_ok());
        assert!(cov.check_eigenspace_cut(4).is_ok());
        assert!(matches!(
            cov.check_eigenspace_cut(0),
            Err(Error::InvalidRank { .. })
        ));
        assert!(matches!(
            cov.check_eigenspace_cut(5),
            Err(Error::InvalidRank { .. })
        ));
    }
}
