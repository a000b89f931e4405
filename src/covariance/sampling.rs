//! Zero-mean Gaussian noise with a given covariance.

use nalgebra::DMatrix;

use super::{Covariance, Kind};

impl Covariance {
    /// Samples `n` rows of `A z` with `z ~ N(0, I)` and `A Aᵀ = Σ`
    /// (zero-mean noise with this covariance), as an `n × d` matrix.
    ///
    /// The standard normals are drawn column by column (all `n` values of
    /// the first column, then the second, …), and for a spiked covariance
    /// the `n × d` isotropic part comes before the `n × k` latent part, so a
    /// seeded `rng` gives the same matrix every time. Costs: `O(nd)`
    /// diagonal; `O(nd²)` dense (`z Λ^{1/2} Uᵀ`); `O(ndk)` spiked, inherent
    /// because every row needs `U_k z_k`. Products with `Uᵀ` use a
    /// transposed view (faer), never a transposed copy of the basis.
    pub(crate) fn sample_noise<R: rand::Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> DMatrix<f64> {
        use faer::linalg::matmul::matmul;
        use faer::{Accum, MatMut, MatRef, Par};
        use rand_distr::{Distribution, StandardNormal};
        let d = self.dim();
        let mut normal = || -> f64 { StandardNormal.sample(rng) };
        let values = &self.inner.eigenvalues;
        match &self.inner.kind {
            Kind::Diagonal { variances, .. } => {
                let sd: Vec<f64> = variances.iter().map(|v| v.sqrt()).collect();
                DMatrix::from_fn(n, d, |_, j| sd[j] * normal())
            }
            Kind::Dense { basis, .. } => {
                // Rows: z Λ^{1/2} Uᵀ.
                let z = DMatrix::from_fn(n, d, |_, j| values[j].sqrt() * normal());
                let mut out = DMatrix::zeros(n, d);
                matmul(
                    MatMut::from_column_major_slice_mut(out.as_mut_slice(), n, d),
                    Accum::Replace,
                    MatRef::from_column_major_slice(z.as_slice(), n, d),
                    MatRef::from_column_major_slice(basis.as_slice(), d, d).transpose(),
                    1.0,
                    Par::Seq,
                );
                out
            }
            Kind::Spiked { basis, noise } => {
                // Σ = U(Λ − σ²)Uᵀ + σ² I: σ·g plus U √(Λ − σ²) z.
                let k = basis.ncols();
                let sd_noise = noise.sqrt();
                let mut out = DMatrix::from_fn(n, d, |_, _| sd_noise * normal());
                let z = DMatrix::from_fn(n, k, |_, j| (values[j] - noise).sqrt() * normal());
                matmul(
                    MatMut::from_column_major_slice_mut(out.as_mut_slice(), n, d),
                    Accum::Add,
                    MatRef::from_column_major_slice(z.as_slice(), n, k),
                    MatRef::from_column_major_slice(basis.as_slice(), d, k).transpose(),
                    1.0,
                    Par::Seq,
                );
                out
            }
        }
    }
}
