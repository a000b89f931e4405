//! Zero-mean Gaussian noise with a given covariance, filled in parallel
//! pieces of rows (see `crate::sampling`).

use nalgebra::DMatrix;

use super::{Covariance, Kind};

impl Covariance {
    /// Samples `n` rows of `A z` with `z ~ N(0, I)` and `A Aᵀ = Σ`
    /// (zero-mean noise with this covariance), as an `n × d` matrix, in
    /// parallel pieces of rows (see `crate::sampling`: for a given `rng`
    /// state the matrix does not depend on the number of threads).
    pub(crate) fn sample_noise<R: rand::Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> DMatrix<f64> {
        let mut unused = vec![(); n];
        crate::sampling::fill_rows(n, self.dim(), &mut unused, rng, |g, rows, _, scratch| {
            self.fill_noise(g, rows, scratch)
        })
    }

    /// Fills `rows` (`m × d`, contiguous columns) with noise rows `A z`.
    ///
    /// Within the piece the standard normals are drawn column by column,
    /// and for a spiked covariance the `m × d` isotropic part comes before
    /// the `m × k` latent part. Costs: `O(md)` diagonal; `O(md²)` dense
    /// (`z Λ^{1/2} Uᵀ`); `O(mdk)` spiked, inherent because every row needs
    /// `U_k z_k`. Products with `Uᵀ` use a transposed view (faer), never a
    /// transposed copy of the basis.
    pub(crate) fn fill_noise(
        &self,
        rng: &mut crate::sampling::PieceRng,
        mut rows: faer::MatMut<'_, f64>,
        scratch: &mut Vec<f64>,
    ) {
        use crate::sampling::column_mut;
        use faer::linalg::matmul::matmul;
        use faer::{Accum, MatRef, Par};
        use rand_distr::{Distribution, StandardNormal};
        let (m, d) = (rows.nrows(), self.dim());
        let values = &self.inner.eigenvalues;
        let mut fill_scaled = |out: &mut [f64], scale: f64| {
            for v in out {
                *v = scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng);
            }
        };
        match &self.inner.kind {
            Kind::Diagonal { variances, .. } => {
                for j in 0..d {
                    fill_scaled(column_mut(&mut rows, j), variances[j].sqrt());
                }
            }
            Kind::Dense { basis, .. } => {
                // Rows: z Λ^{1/2} Uᵀ.
                scratch.resize(m * d, 0.0);
                for (j, column) in scratch.chunks_mut(m).enumerate() {
                    fill_scaled(column, values[j].sqrt());
                }
                matmul(
                    rows,
                    Accum::Replace,
                    MatRef::from_column_major_slice(&scratch[..], m, d),
                    MatRef::from_column_major_slice(basis.as_slice(), d, d).transpose(),
                    1.0,
                    Par::Seq,
                );
            }
            Kind::Spiked { basis, noise } => {
                // Σ = U(Λ − σ²)Uᵀ + σ² I: σ·g plus U √(Λ − σ²) z.
                let k = basis.ncols();
                let sd_noise = noise.sqrt();
                for j in 0..d {
                    fill_scaled(column_mut(&mut rows, j), sd_noise);
                }
                scratch.resize(m * k, 0.0);
                for (j, column) in scratch.chunks_mut(m).enumerate() {
                    fill_scaled(column, (values[j] - noise).sqrt());
                }
                matmul(
                    rows,
                    Accum::Add,
                    MatRef::from_column_major_slice(&scratch[..], m, k),
                    MatRef::from_column_major_slice(basis.as_slice(), d, k).transpose(),
                    1.0,
                    Par::Seq,
                );
            }
        }
    }
}
