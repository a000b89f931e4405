//! The eigenbasis of a covariance: coordinates of a vector in it, and the
//! spectral functions `f(Σ)v` and quadratic forms computed through it (see
//! the parent module's docs).

use nalgebra::DVector;

use crate::error::{Result, ensure_dim, ensure_finite};

use super::{Covariance, Kind};

/// A vector written in the eigenbasis of a [`Covariance`].
///
/// [`explicit`](Self::explicit)`[i] = u_iᵀ v` for every explicit
/// eigen-direction; for a spiked covariance
/// [`residual`](Self::residual)` = (I − U_kU_kᵀ) v`, the part of `v` in the
/// noise block (for dense and diagonal covariances there is none).
///
/// # Example
/// ```
/// use manifold_robustness::Covariance;
/// use manifold_robustness::nalgebra::DVector;
///
/// // The eigenbasis of diag(1, 4) is (e₂, e₁): descending variance.
/// let cov = Covariance::diagonal(DVector::from_vec(vec![1.0, 4.0]))?;
/// let c = cov.eigen_coordinates(&DVector::from_vec(vec![3.0, 5.0]))?;
/// assert_eq!(c.explicit().as_slice(), &[5.0, 3.0]);
/// assert!(c.residual().is_none());
/// assert_eq!(c.block_energies().as_slice(), &[25.0, 9.0]);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EigenCoordinates {
    /// Coordinates `u_iᵀ v` along the explicit eigen-directions, descending variance.
    pub(crate) explicit: DVector<f64>,
    /// The component of `v` in the noise block (spiked covariances only).
    pub(crate) residual: Option<DVector<f64>>,
}

impl EigenCoordinates {
    /// Coordinates `u_iᵀ v` along the explicit eigen-directions, descending
    /// variance: `d` of them for dense and diagonal covariances, `k` for a
    /// spiked one.
    pub fn explicit(&self) -> &DVector<f64> {
        &self.explicit
    }

    /// The component `(I − U_kU_kᵀ) v` of `v` in the noise block of a
    /// spiked covariance; `None` for dense and diagonal covariances.
    pub fn residual(&self) -> Option<&DVector<f64>> {
        self.residual.as_ref()
    }

    /// Squared length of `v` in each spectral block: `(u_iᵀv)²` for each
    /// explicit direction, then `‖(I − U_kU_kᵀ)v‖²` for the noise block.
    pub fn block_energies(&self) -> DVector<f64> {
        let k = self.explicit.len();
        let extra = usize::from(self.residual.is_some());
        let mut out = DVector::zeros(k + extra);
        for i in 0..k {
            out[i] = self.explicit[i] * self.explicit[i];
        }
        if let Some(r) = &self.residual {
            out[k] = r.norm_squared();
        }
        out
    }
}

impl Covariance {
    /// Checks that `v` has this covariance's dimension and finite entries.
    pub(crate) fn check_vector(&self, name: &'static str, v: &DVector<f64>) -> Result<()> {
        ensure_dim(name, self.dim(), v.len())?;
        ensure_finite(name, v.as_slice())
    }

    /// Coordinates of `v` in the eigenbasis (`Uᵀv`), descending variance.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::error::Error::DimensionMismatch), [`Error::NonFiniteEntry`](crate::error::Error::NonFiniteEntry).
    pub fn eigen_coordinates(&self, v: &DVector<f64>) -> Result<EigenCoordinates> {
        self.check_vector("vector", v)?;
        Ok(self.coordinates_unchecked(v))
    }

    pub(crate) fn coordinates_unchecked(&self, v: &DVector<f64>) -> EigenCoordinates {
        match &self.inner.kind {
            Kind::Dense { basis, .. } => EigenCoordinates {
                explicit: crate::linalg::mat_tr_vec(basis, v),
                residual: None,
            },
            Kind::Diagonal { order, .. } => EigenCoordinates {
                explicit: DVector::from_iterator(order.len(), order.iter().map(|&i| v[i])),
                residual: None,
            },
            Kind::Spiked { basis, .. } => {
                let explicit = crate::linalg::mat_tr_vec(basis, v);
                let mut residual = v.clone();
                crate::linalg::gemv(&mut residual, -1.0, basis, &explicit, true);
                EigenCoordinates {
                    explicit,
                    residual: Some(residual),
                }
            }
        }
    }

    /// Squared length of `v` in each spectral block (see
    /// [`EigenCoordinates::block_energies`]); `O(d²)` dense, `O(d)`
    /// diagonal, `O(dk)` spiked (one `d`-vector for the residual).
    pub(crate) fn block_energies_unchecked(&self, v: &DVector<f64>) -> DVector<f64> {
        match &self.inner.kind {
            Kind::Spiked { basis, .. } => {
                let k = basis.ncols();
                let explicit = crate::linalg::mat_tr_vec(basis, v);
                let mut out = DVector::zeros(k + 1);
                for i in 0..k {
                    out[i] = explicit[i] * explicit[i];
                }
                // ‖(I − UUᵀ)v‖² from the residual vector itself: the shortcut
                // ‖v‖² − ‖Uᵀv‖² cancels catastrophically when v lies (almost)
                // on span(U) and left a spurious ~1e-8‖v‖ off-manifold part.
                let mut residual = v.clone();
                crate::linalg::gemv(&mut residual, -1.0, basis, &explicit, true);
                out[k] = residual.norm_squared();
                out
            }
            _ => self.coordinates_unchecked(v).block_energies(),
        }
    }

    /// Rebuilds a vector from eigen-coordinates: `Σ_i c_i u_i + residual`.
    #[allow(clippy::wrong_self_convention)] // the covariance supplies the basis
    pub(crate) fn from_coordinates_unchecked(&self, coords: &EigenCoordinates) -> DVector<f64> {
        match &self.inner.kind {
            Kind::Dense { basis, .. } => crate::linalg::mat_vec(basis, &coords.explicit),
            Kind::Diagonal { order, .. } => {
                let mut out = DVector::zeros(self.dim());
                for (j, &axis) in order.iter().enumerate() {
                    out[axis] = coords.explicit[j];
                }
                out
            }
            Kind::Spiked { basis, .. } => {
                let mut out = match &coords.residual {
                    Some(r) => r.clone(),
                    None => DVector::zeros(self.dim()),
                };
                crate::linalg::gemv(&mut out, 1.0, basis, &coords.explicit, true);
                out
            }
        }
    }

    /// Applies the spectral function `f(Σ) v = Σ_b f(b, λ_b) P_b v`, where
    /// `b` runs over spectral blocks (index, eigenvalue) and `P_b` projects
    /// onto block `b`. No dimension check.
    pub(crate) fn map_spectrum_unchecked(
        &self,
        v: &DVector<f64>,
        f: impl Fn(usize, f64) -> f64,
    ) -> DVector<f64> {
        let values = &self.inner.eigenvalues;
        match &self.inner.kind {
            Kind::Diagonal { order, .. } => {
                let mut out = DVector::zeros(self.dim());
                for (j, &axis) in order.iter().enumerate() {
                    out[axis] = f(j, values[j]) * v[axis];
                }
                out
            }
            Kind::Dense { basis, .. } => {
                let mut c = crate::linalg::mat_tr_vec(basis, v);
                for j in 0..c.len() {
                    c[j] *= f(j, values[j]);
                }
                crate::linalg::mat_vec(basis, &c)
            }
            Kind::Spiked { basis, .. } => {
                let k = basis.ncols();
                let mut c = crate::linalg::mat_tr_vec(basis, v);
                let g = f(k, values[k]);
                // f(Σ)v = U (f(Λ) − g) Uᵀ v + g v.
                for j in 0..k {
                    c[j] *= f(j, values[j]) - g;
                }
                let mut out = v * g;
                crate::linalg::gemv(&mut out, 1.0, basis, &c, true);
                out
            }
        }
    }

    /// `Σ v`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::error::Error::DimensionMismatch), [`Error::NonFiniteEntry`](crate::error::Error::NonFiniteEntry).
    pub fn mul(&self, v: &DVector<f64>) -> Result<DVector<f64>> {
        self.check_vector("vector", v)?;
        Ok(match &self.inner.kind {
            Kind::Dense { matrix, .. } => crate::linalg::mat_vec(matrix, v),
            _ => self.map_spectrum_unchecked(v, |_, l| l),
        })
    }

    /// `Σ⁻¹ v`, through the spectrum (no inverse is formed).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::error::Error::DimensionMismatch), [`Error::NonFiniteEntry`](crate::error::Error::NonFiniteEntry).
    pub fn solve(&self, v: &DVector<f64>) -> Result<DVector<f64>> {
        self.check_vector("vector", v)?;
        Ok(self.map_spectrum_unchecked(v, |_, l| 1.0 / l))
    }

    /// `Σ^{1/2} v` (the symmetric square root).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::error::Error::DimensionMismatch), [`Error::NonFiniteEntry`](crate::error::Error::NonFiniteEntry).
    pub fn sqrt_mul(&self, v: &DVector<f64>) -> Result<DVector<f64>> {
        self.check_vector("vector", v)?;
        Ok(self.map_spectrum_unchecked(v, |_, l| l.sqrt()))
    }

    /// `Σ^{−1/2} v` (whitening).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::error::Error::DimensionMismatch), [`Error::NonFiniteEntry`](crate::error::Error::NonFiniteEntry).
    pub fn inv_sqrt_mul(&self, v: &DVector<f64>) -> Result<DVector<f64>> {
        self.check_vector("vector", v)?;
        Ok(self.map_spectrum_unchecked(v, |_, l| 1.0 / l.sqrt()))
    }

    /// The quadratic form `vᵀ Σ v = Σ_i λ_i ṽ_i²` (so `‖v‖_Σ²`), computed
    /// from the scaled norm `‖v‖_Σ`: it overflows or underflows only when
    /// the value itself does.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::error::Error::DimensionMismatch), [`Error::NonFiniteEntry`](crate::error::Error::NonFiniteEntry).
    pub fn quadratic_form(&self, v: &DVector<f64>) -> Result<f64> {
        self.check_vector("vector", v)?;
        Ok(self.spectral_norm_unchecked(v, |_, l| l).powi(2))
    }

    /// The quadratic form `vᵀ Σ⁻¹ v = Σ_i ṽ_i²/λ_i` (squared Mahalanobis
    /// norm), scale-safe as [`quadratic_form`](Self::quadratic_form).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::error::Error::DimensionMismatch), [`Error::NonFiniteEntry`](crate::error::Error::NonFiniteEntry).
    pub fn inverse_quadratic_form(&self, v: &DVector<f64>) -> Result<f64> {
        self.check_vector("vector", v)?;
        Ok(self.spectral_norm_unchecked(v, |_, l| 1.0 / l).powi(2))
    }

    /// `(Σ_b f(b, λ_b) ‖P_b v‖²)^{1/2}` over spectral blocks, for weights
    /// `f ≥ 0`, without overflow or underflow where the value is
    /// representable: `v` is divided by a power of two first (so its
    /// coordinates are of size one), and the terms `√f · ṽ_b` are summed
    /// as a scaled sum of squares. No dimension check.
    pub(crate) fn spectral_norm_unchecked(
        &self,
        v: &DVector<f64>,
        f: impl Fn(usize, f64) -> f64,
    ) -> f64 {
        match crate::linalg::normalize(v) {
            None => 0.0,
            Some((unit, k)) => {
                let coords = self.coordinates_unchecked(&unit);
                crate::linalg::ldexp(self.coordinates_norm(&coords, f), k)
            }
        }
    }

    /// `(Σ_b f(b, λ_b) ‖c_b‖²)^{1/2}` for eigen-coordinates `c` (of any
    /// size) and weights `f ≥ 0`, scale-safe as
    /// [`spectral_norm_unchecked`](Self::spectral_norm_unchecked).
    pub(crate) fn coordinates_norm(
        &self,
        coords: &EigenCoordinates,
        f: impl Fn(usize, f64) -> f64,
    ) -> f64 {
        use crate::linalg::{SumOfSquares, exponent, ldexp, norm};
        let values = &self.inner.eigenvalues;
        let k = coords.explicit.len();
        let residual_norm = coords.residual.as_ref().map(|r| norm(r.as_slice()));
        let largest = coords.explicit.amax().max(residual_norm.unwrap_or(0.0));
        if largest == 0.0 {
            return 0.0;
        }
        let shift = exponent(largest);
        let mut sum = SumOfSquares::default();
        for b in 0..k {
            sum.add(f(b, values[b]).sqrt() * ldexp(coords.explicit[b], -shift));
        }
        if let Some(r) = residual_norm {
            sum.add(f(k, values[k]).sqrt() * ldexp(r, -shift));
        }
        ldexp(sum.norm(), shift)
    }

    /// `Σ_b f(b, λ_b) ‖P_b v‖²` over spectral blocks. No dimension check.
    pub(crate) fn spectral_sum_unchecked(
        &self,
        v: &DVector<f64>,
        f: impl Fn(usize, f64) -> f64,
    ) -> f64 {
        let energies = self.block_energies_unchecked(v);
        let values = &self.inner.eigenvalues;
        let mut sum = 0.0;
        for b in 0..energies.len() {
            sum += f(b, values[b]) * energies[b];
        }
        sum
    }
}
