//! The embedded default model used by the main example and the docs.
//!
//! `d = 64`, eigenvalues `λ_i = i^{−1.5}` (a natural-image-like power
//! law), eigenvectors from a fixed seeded random rotation, and the
//! symmetric means `±μ` with equal energy in every eigen-direction,
//! `μ̃_i = c`, scaled so that the Bayes error `Φ(−‖μ‖_{Σ⁻¹})` is exactly 1%:
//! `c² Σ_i i^{1.5} = Φ⁻¹(0.01)²`.
//!
//! The rotation comes from a self-contained SplitMix64 generator with
//! Box–Muller normals and a sign-fixed QR factorization (`crate::seeded`),
//! so the model is the same on every platform and with every version of
//! `rand`.

use nalgebra::{DMatrix, DVector};

use crate::covariance::Covariance;
use crate::gmm::Gmm;
use crate::normal;
pub(crate) use crate::seeded::seeded_rotation;

/// Dimension of the default model.
pub const DEFAULT_DIM: usize = 64;

/// Exponent `a` of the default spectrum `λ_i = i^{−a}`.
pub const DEFAULT_DECAY: f64 = 1.5;

/// Bayes error of the default model.
pub const DEFAULT_BAYES_ERROR: f64 = 0.01;

/// Seed of the default model's rotation.
pub const DEFAULT_SEED: u64 = 0x5EED_2021;

/// The default model (see the module docs).
///
/// # Example
/// ```
/// use manifold_robustness::default_model;
///
/// let gmm = default_model();
/// assert_eq!(gmm.dim(), 64);
/// assert!((gmm.bayes_error() - 0.01).abs() < 1e-14);
/// let l = gmm.covariance().eigenvalues();
/// assert!((l[7] - 8f64.powf(-1.5)).abs() < 1e-14);
/// ```
pub fn default_model() -> Gmm {
    power_law_model(
        DEFAULT_DIM,
        DEFAULT_DECAY,
        DEFAULT_BAYES_ERROR,
        DEFAULT_SEED,
    )
    .expect("the default model parameters are valid")
}

/// A symmetric model with spectrum `λ_i = i^{−decay}`, a seeded random
/// eigenbasis, and a mean with equal energy in every eigen-direction scaled
/// to the given Bayes error. The default model is
/// `power_law_model(64, 1.5, 0.01, DEFAULT_SEED)`.
///
/// # Errors
/// [`crate::Error::Empty`] for `dim = 0`, [`crate::Error::InvalidProbability`]
/// unless `0 < bayes_error < 1/2`, [`crate::Error::NonFinite`] for a
/// non-finite decay; covariance errors if the spectrum is not positive
/// definite to working precision.
pub fn power_law_model(dim: usize, decay: f64, bayes_error: f64, seed: u64) -> crate::Result<Gmm> {
    if dim == 0 {
        return Err(crate::Error::Empty { name: "dim" });
    }
    crate::error::ensure_finite_value("decay", decay)?;
    if !(bayes_error > 0.0 && bayes_error < 0.5) {
        return Err(crate::Error::InvalidProbability {
            name: "bayes_error",
            value: bayes_error,
        });
    }
    let values = DVector::from_fn(dim, |i, _| ((i + 1) as f64).powf(-decay));
    let rotation = seeded_rotation(dim, seed);
    // Σ = Q diag(λ) Qᵀ, assembled column by column.
    let scaled = DMatrix::from_fn(dim, dim, |i, j| rotation[(i, j)] * values[j]);
    let sigma = &scaled * rotation.transpose();
    let sigma = (&sigma + sigma.transpose()) * 0.5;
    let covariance = Covariance::dense(sigma)?;
    // ‖μ‖²_{Σ⁻¹} = c² Σ 1/λ_i must equal Φ⁻¹(err)².
    let half_separation = -normal::quantile(bayes_error)?;
    let inverse_sum: f64 = values.iter().map(|l| 1.0 / l).sum();
    let c = half_separation / inverse_sum.sqrt();
    let mu = rotation * DVector::from_element(dim, c);
    Gmm::symmetric(mu, covariance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_is_orthogonal_and_reproducible() {
        let q = seeded_rotation(16, 7);
        let gram = q.tr_mul(&q);
        assert!((gram - DMatrix::identity(16, 16)).amax() < 1e-14);
        assert_eq!(q, seeded_rotation(16, 7));
        assert_ne!(q, seeded_rotation(16, 8));
    }

    #[test]
    fn default_model_has_equal_eigen_energy() {
        let gmm = default_model();
        let mu = gmm.half_difference();
        let c = gmm.covariance().eigen_coordinates(&mu).unwrap();
        let first = c.explicit[0].abs();
        for x in c.explicit.iter() {
            assert!((x.abs() - first).abs() < 1e-12 * first);
        }
    }
}
