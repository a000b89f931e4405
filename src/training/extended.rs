//! The extended covariance `Σ + λM` of an ellipsoidal robust optimum
//! ([THEORY P5](crate::theory#p5-adversarial-training-extends-the-data-distribution)).

use std::fmt;
use std::sync::Arc;

use nalgebra::DVector;

use crate::covariance::Covariance;
use crate::error::Result;

use super::secular::EllipsoidProblem;

/// In which directions an [`ExtendedCovariance`] reports its growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum GrowthBasis {
    /// The covariance's own eigen-directions, descending variance (one entry
    /// per spectral block: the noise block of a spiked covariance is one
    /// entry). Used when `M` shares `Σ`'s eigenvectors (ℓ2 and the
    /// model-based threats built from the model's covariance).
    Eigenbasis,
    /// The generalized eigen-directions of `(M, Σ)`, in whitened
    /// coordinates `Σ^{−1/2}x`, where `Σ` becomes `I` and `Σ + λM` becomes
    /// `I + λD`: variances before are 1, after `1 + λd_j`, by descending
    /// `d_j`, with one last entry for the null space of `M` (growth 1) when
    /// `M` is rank-deficient. Used for general factors.
    Generalized,
}

/// The extended covariance `Σ + λM` of [THEORY P5](crate::theory#p5-adversarial-training-extends-the-data-distribution): adversarial training at
/// budget `ε` is exactly Bayes-optimal for the model `N(±μ, Σ + λM)`.
///
/// Per direction (see [`GrowthBasis`]) it holds the variance before and
/// after the extension and their ratio, the relative growth:
/// `1 + λ/λ_i` for ℓ2 (largest along the smallest-variance directions),
/// `1 + λ` on the `k` leading directions and 1 beyond for generative rank
/// `k`, `1 + λ` everywhere for the full-latent generative threat. Past the
/// budget limit (`λ = ∞`) the growth is infinite wherever `M` acts.
///
/// With feature `serde` it is written as the [`RobustOptimum`](super::RobustOptimum)
/// it extends (inputs and results, read back as described there) and its
/// entries; reading it builds the extension of the re-solved optimum and
/// checks that the basis and multiplicities are the stored ones and every
/// variance and growth agrees to `1e-12` relative to the largest finite
/// entry (infinite growth where the stored growth is infinite), else an
/// error naming the field.
///
/// The file carries a layout version, `"format": 1`, written first. A file
/// of an older format (one without the field was written before versioning)
/// is read from its inputs alone: its optimum is solved again and the value
/// read is that optimum's extension; the stored results are ignored (an
/// older solver's results agree with today's only within the certified
/// gaps). A file of a newer format is an
/// [`Error::UnsupportedFormat`](crate::Error::UnsupportedFormat) naming
/// both versions.
///
/// # Example
/// ```
/// use manifold_robustness::{Covariance, Gmm, Threat};
/// use manifold_robustness::nalgebra::DVector;
///
/// let cov = Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0]))?;
/// let gmm = Gmm::symmetric(DVector::from_vec(vec![2.0, 1.0]), cov)?;
/// let opt = gmm.robust_optimum(&Threat::l2(), 1.0)?;
/// let ext = opt.extended_covariance().unwrap();
/// let lambda = opt.lambda().unwrap();
/// assert_eq!(ext.variances_before().as_slice(), &[4.0, 1.0]);
/// assert!((ext.variances_after()[1] - (1.0 + lambda)).abs() < 1e-15);
/// // The small-variance direction grows most.
/// assert!(ext.relative_growth()[1] > ext.relative_growth()[0]);
/// // Σ + λI as a covariance: its Bayes classifier is the robust optimum.
/// let extended = ext.to_covariance()?;
/// let bayes = Gmm::symmetric(gmm.half_difference(), extended)?.bayes_classifier();
/// assert!((bayes.cosine(&opt.classifier().unwrap())? - 1.0).abs() < 1e-15);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Clone)]
pub struct ExtendedCovariance {
    pub(crate) lambda: f64,
    pub(crate) basis: GrowthBasis,
    pub(crate) before: DVector<f64>,
    pub(crate) after: DVector<f64>,
    pub(crate) growth: DVector<f64>,
    pub(crate) multiplicities: Vec<usize>,
    pub(super) problem: Arc<EllipsoidProblem>,
    /// The optimum it extends (its inputs, for `serde`).
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) optimum: super::RobustOptimum,
}

/// Two extensions are equal when their multiplier, basis, variances
/// before and after, growth and multiplicities are.
impl PartialEq for ExtendedCovariance {
    fn eq(&self, other: &ExtendedCovariance) -> bool {
        self.lambda == other.lambda
            && self.basis == other.basis
            && self.before == other.before
            && self.after == other.after
            && self.growth == other.growth
            && self.multiplicities == other.multiplicities
    }
}

impl ExtendedCovariance {
    /// The multiplier `λ` (`f64::INFINITY` past the budget limit).
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The directions the entries refer to.
    pub fn basis(&self) -> GrowthBasis {
        self.basis
    }

    /// Variances before the extension: the eigenvalues `λ_i` of `Σ`
    /// (descending, as `Covariance::eigenvalues`), or 1 in the generalized basis.
    pub fn variances_before(&self) -> &DVector<f64> {
        &self.before
    }

    /// Variances after the extension: `λ_i + λω_i` in the eigenbasis
    /// (`M = U diag(ω) Uᵀ`), `1 + λd_j` in the generalized basis.
    pub fn variances_after(&self) -> &DVector<f64> {
        &self.after
    }

    /// The relative growth `after/before = 1 + λ d_j` per direction
    /// (`d_j = ω_i/λ_i` in the eigenbasis); exactly 1 where `M` does not act,
    /// `f64::INFINITY` where it does when `λ = ∞`.
    pub fn relative_growth(&self) -> &DVector<f64> {
        &self.growth
    }

    /// How many directions each entry stands for (`d − k` for the noise
    /// block of a spiked covariance, `d − rank M` for the null space of a
    /// general factor, else 1).
    pub fn multiplicities(&self) -> &[usize] {
        &self.multiplicities
    }

    /// `Σ + λM` as a [`Covariance`] of the model's representation: diagonal
    /// stays diagonal (`O(d)`), spiked stays spiked (`O(dk)`, leading
    /// directions re-sorted), dense is assembled and decomposed again
    /// (`O(d³)`). For a general factor it is `Σ + λAAᵀ` (dense models only).
    ///
    /// # Errors
    /// [`Error::Unsupported`](crate::Error::Unsupported) past the budget limit (`λ = ∞`), for a spiked
    /// model whose extended noise level exceeds an extended leading variance
    /// (not a spiked covariance), and for a general factor on a diagonal or
    /// spiked model (it would need a `d × d` matrix); the covariance
    /// constructors' errors if `Σ + λM` is not positive definite to working
    /// precision.
    pub fn to_covariance(&self) -> Result<Covariance> {
        self.problem.extended_covariance(self.lambda)
    }
}

impl fmt::Debug for ExtendedCovariance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtendedCovariance")
            .field("lambda", &self.lambda)
            .field("basis", &self.basis)
            .field("variances_before", &self.before.as_slice())
            .field("variances_after", &self.after.as_slice())
            .field("multiplicities", &self.multiplicities)
            .finish()
    }
}
