//! The covariance as the solvers use it: `Σv`, `Σ⁻¹v` through the
//! spectrum, and solves with principal submatrices `Σ_SS`.
//!
//! The active-set steps of the box solver need `Σ_SS⁻¹ r` for an index
//! set `S`. Σ_SS is never inverted explicitly: dense covariances factor
//! the `|S| × |S|` block by Cholesky (`O(|S|³/3)`), diagonal ones divide,
//! and spiked ones `σ²I + U_S (Λ − σ²) U_Sᵀ` use the Woodbury identity
//! with a `k × k` system (`O(|S| k²)`). Blocks of the precision matrix,
//! `(Σ⁻¹)_SS = U_S Λ⁻¹ U_Sᵀ`, are assembled from rows of the eigenvectors
//! (`O(|S|² d)` dense) or by Woodbury for spiked covariances.

use nalgebra::{DMatrix, DVector};

use crate::covariance::{Covariance, Representation};
use crate::error::{Error, Result};

/// `Σ` with what the solvers need cached.
pub(crate) struct Metric<'a> {
    pub(crate) cov: &'a Covariance,
    kind: Kind,
    /// Smallest and largest eigenvalue.
    pub(crate) lambda_min: f64,
    pub(crate) lambda_max: f64,
}

enum Kind {
    /// The dense matrix itself (entries of `Σ_SS`, and `Σv` as one
    /// product) and the eigenvectors scaled by `λ^{-1/2}` (rows of
    /// `U Λ^{-1/2}` give the blocks of `Σ⁻¹`).
    Dense {
        matrix: DMatrix<f64>,
        whitened_basis: DMatrix<f64>,
    },
    /// Variances in axis order.
    Diagonal(DVector<f64>),
    /// Basis `U_k`, the excess variances `λ_j − σ²`, and `σ²`.
    Spiked {
        basis: DMatrix<f64>,
        excess: DVector<f64>,
        noise: f64,
    },
}

impl<'a> Metric<'a> {
    pub(crate) fn new(cov: &'a Covariance) -> Result<Metric<'a>> {
        let values = cov.eigenvalues();
        let lambda_max = values[0];
        let lambda_min = values[values.len() - 1];
        let kind = match cov.representation() {
            Representation::Dense => {
                let basis = cov.leading_basis(cov.dim())?;
                let whitened_basis = DMatrix::from_fn(basis.nrows(), basis.ncols(), |i, j| {
                    basis[(i, j)] / values[j].sqrt()
                });
                Kind::Dense {
                    matrix: cov.to_dense(),
                    whitened_basis,
                }
            }
            Representation::Diagonal => {
                let ones = DVector::from_element(cov.dim(), 1.0);
                Kind::Diagonal(cov.map_spectrum_unchecked(&ones, |_, l| l))
            }
            Representation::Spiked { rank } => {
                let noise = values[rank];
                Kind::Spiked {
                    basis: cov.leading_basis(rank)?,
                    excess: DVector::from_fn(rank, |j, _| values[j] - noise),
                    noise,
                }
            }
        };
        Ok(Metric {
            cov,
            kind,
            lambda_min,
            lambda_max,
        })
    }

    /// `Σ v`.
    pub(crate) fn mul(&self, v: &DVector<f64>) -> DVector<f64> {
        match &self.kind {
            Kind::Dense { matrix, .. } => matrix * v,
            _ => self.cov.map_spectrum_unchecked(v, |_, l| l),
        }
    }

    /// `Σ⁻¹ v`, through the spectrum.
    pub(crate) fn solve(&self, v: &DVector<f64>) -> DVector<f64> {
        self.cov.map_spectrum_unchecked(v, |_, l| 1.0 / l)
    }

    /// `vᵀ Σ⁻¹ v`.
    pub(crate) fn inverse_quadratic(&self, v: &DVector<f64>) -> f64 {
        self.cov.spectral_sum_unchecked(v, |_, l| 1.0 / l).max(0.0)
    }

    /// `vᵀ Σ v`.
    pub(crate) fn quadratic(&self, v: &DVector<f64>) -> f64 {
        self.cov.spectral_sum_unchecked(v, |_, l| l).max(0.0)
    }

    /// Solves `Σ_SS x = r` for the index set `set` (ascending indices).
    pub(crate) fn principal_solve(&self, set: &[usize], r: &DVector<f64>) -> Result<DVector<f64>> {
        let n = set.len();
        if n == 0 {
            return Ok(DVector::zeros(0));
        }
        match &self.kind {
            Kind::Dense { matrix, .. } => {
                let block = DMatrix::from_fn(n, n, |a, b| matrix[(set[a], set[b])]);
                let chol = block
                    .cholesky()
                    .ok_or(Error::Decomposition("principal-submatrix Cholesky"))?;
                Ok(chol.solve(r))
            }
            Kind::Diagonal(variances) => Ok(DVector::from_fn(n, |a, _| r[a] / variances[set[a]])),
            Kind::Spiked {
                basis,
                excess,
                noise,
            } => {
                // (σ²I + V C Vᵀ)⁻¹ r = (r − V (σ² C⁻¹ + VᵀV)⁻¹ Vᵀ r) / σ², V = U_S.
                let k = basis.ncols();
                let v = DMatrix::from_fn(n, k, |a, j| basis[(set[a], j)]);
                let mut small = v.tr_mul(&v);
                for j in 0..k {
                    small[(j, j)] += noise / excess[j];
                }
                let chol = small
                    .cholesky()
                    .ok_or(Error::Decomposition("Woodbury capacitance Cholesky"))?;
                let coef = chol.solve(&v.tr_mul(r));
                let mut x = r - &v * coef;
                x /= *noise;
                Ok(x)
            }
        }
    }
}

impl Metric<'_> {
    /// Solves `(Σ⁻¹)_SS x = r` for the index set `set`.
    pub(crate) fn inverse_principal_solve(
        &self,
        set: &[usize],
        r: &DVector<f64>,
    ) -> Result<DVector<f64>> {
        let n = set.len();
        if n == 0 {
            return Ok(DVector::zeros(0));
        }
        match &self.kind {
            Kind::Dense { whitened_basis, .. } => {
                let rows = DMatrix::from_fn(n, whitened_basis.ncols(), |a, j| {
                    whitened_basis[(set[a], j)]
                });
                let block = &rows * rows.transpose();
                let chol = block
                    .cholesky()
                    .ok_or(Error::Decomposition("precision-block Cholesky"))?;
                Ok(chol.solve(r))
            }
            Kind::Diagonal(variances) => Ok(DVector::from_fn(n, |a, _| r[a] * variances[set[a]])),
            Kind::Spiked {
                basis,
                excess,
                noise,
            } => {
                // (Σ⁻¹)_SS = σ⁻²I + V D Vᵀ, D_j = 1/λ_j − 1/σ² < 0, V = U_S:
                // x = σ² (r − V (σ⁻² D⁻¹ + VᵀV)⁻¹ Vᵀ r); the k × k matrix is
                // negative definite (σ⁻² D_j⁻¹ = −λ_j/(λ_j − σ²) < −1, VᵀV ≼ I).
                let k = basis.ncols();
                let v = DMatrix::from_fn(n, k, |a, j| basis[(set[a], j)]);
                let mut negated = -v.tr_mul(&v);
                for j in 0..k {
                    let lambda = excess[j] + noise;
                    negated[(j, j)] += lambda / excess[j];
                }
                let chol = negated
                    .cholesky()
                    .ok_or(Error::Decomposition("Woodbury capacitance Cholesky"))?;
                let coef = chol.solve(&v.tr_mul(r));
                let x = (r + &v * coef) * *noise;
                Ok(x)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_model::seeded_rotation;

    fn check_principal(cov: &Covariance) {
        let metric = Metric::new(cov).unwrap();
        let dense = cov.to_dense();
        let d = cov.dim();
        let set: Vec<usize> = (0..d).filter(|i| i % 3 != 1).collect();
        let r = DVector::from_fn(set.len(), |i, _| (i as f64 * 0.7).sin() + 0.3);
        let x = metric.principal_solve(&set, &r).unwrap();
        // Σ_SS x must reproduce r.
        for (a, &i) in set.iter().enumerate() {
            let row: f64 = set
                .iter()
                .enumerate()
                .map(|(b, &j)| dense[(i, j)] * x[b])
                .sum();
            assert!((row - r[a]).abs() < 1e-11, "row {a}: {row} vs {}", r[a]);
        }
        // (Σ⁻¹)_SS x = r, with Σ⁻¹ from the dense inverse (test only).
        let precision = dense.clone().try_inverse().unwrap();
        let x = metric.inverse_principal_solve(&set, &r).unwrap();
        for (a, &i) in set.iter().enumerate() {
            let row: f64 = set
                .iter()
                .enumerate()
                .map(|(b, &j)| precision[(i, j)] * x[b])
                .sum();
            assert!(
                (row - r[a]).abs() < 1e-10,
                "precision row {a}: {row} vs {}",
                r[a]
            );
        }
        let v = DVector::from_fn(d, |i, _| (i as f64).cos());
        assert!((metric.mul(&v) - &dense * &v).amax() < 1e-12);
        assert!((metric.mul(&metric.solve(&v)) - &v).amax() < 1e-10);
    }

    #[test]
    fn principal_solves_agree_with_the_dense_block() {
        let d = 7;
        let q = seeded_rotation(d, 3);
        let values: Vec<f64> = (0..d).map(|i| 4.0 / (1.0 + i as f64)).collect();
        let sigma = DMatrix::from_fn(d, d, |i, j| {
            (0..d).map(|k| q[(i, k)] * values[k] * q[(j, k)]).sum()
        });
        check_principal(&Covariance::dense((&sigma + sigma.transpose()) * 0.5).unwrap());
        check_principal(&Covariance::diagonal(DVector::from_vec(values.clone())).unwrap());
        let basis = q.columns(0, 3).into_owned();
        let spiked =
            Covariance::spiked(basis, DVector::from_vec(vec![5.0, 3.0, 2.0]), 0.5).unwrap();
        check_principal(&spiked);
    }
}
