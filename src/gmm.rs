//! The two-class Gaussian mixture model and its Bayes classifier ([THEORY §1–2](crate::theory#1-data-model)).
//!
//! `x | y ~ N(μ_y, Σ)`, `P(y = +1) = π`. With the centre
//! `c = (μ₊ + μ₋)/2` and half-difference `μ = (μ₊ − μ₋)/2`, the
//! symmetric model has `c = 0`, `π = 1/2`.
//!
//! Standard error of `f(x) = sign(wᵀx + b)`, with `s = ‖w‖_Σ`:
//!
//! ```text
//! E(w, b) = π Φ(−(wᵀμ₊ + b)/s) + (1 − π) Φ((wᵀμ₋ + b)/s).
//! ```
//!
//! Bayes classifier: `w_B = Σ⁻¹(μ₊ − μ₋)`, `b_B = −w_Bᵀc + ln(π/(1 − π))`;
//! with `Δ = ‖μ₊ − μ₋‖_{Σ⁻¹}` and `ℓ = ln(π/(1 − π))` the Bayes error is
//! `π Φ(−Δ/2 − ℓ/Δ) + (1 − π) Φ(−Δ/2 + ℓ/Δ)`, i.e. `Φ(−Δ/2)` at `π = 1/2`.

use std::sync::OnceLock;

use nalgebra::{DMatrix, DVector};

use crate::classifier::{Label, LinearClassifier};
use crate::covariance::{Covariance, EigenCoordinates};
use crate::error::{Error, Result, ensure_finite};
use crate::normal;

/// Relative tolerance under which a model counts as symmetric:
/// `‖c‖ ≤ SYMMETRIC_MODEL_TOLERANCE · ‖μ‖` and `|π − 1/2| ≤ 1e-15`.
pub const SYMMETRIC_MODEL_TOLERANCE: f64 = 1e-12;

/// A two-class Gaussian mixture with a shared covariance.
///
/// # Example
/// ```
/// use manifold_robustness::{Covariance, Gmm};
/// use manifold_robustness::nalgebra::DVector;
///
/// // Identity covariance, means ±(1, 0): Δ = 2, Bayes error Φ(−1).
/// let gmm = Gmm::symmetric(DVector::from_vec(vec![1.0, 0.0]), Covariance::isotropic(2, 1.0)?)?;
/// assert!((gmm.bayes_error() - 0.15865525393145705).abs() < 1e-15);
/// let w = gmm.bayes_classifier();
/// assert_eq!(w.weights().as_slice(), &[2.0, 0.0]);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Gmm {
    mean_pos: DVector<f64>,
    mean_neg: DVector<f64>,
    covariance: Covariance,
    prior_pos: f64,
    /// Eigen-coordinates of `μ = (μ₊ − μ₋)/2`, computed on first use: the
    /// Bayes classifier, the separation and every robust-optimum sweep start
    /// from them, and for a large spiked model each recomputation is a pass
    /// over the `d × k` basis.
    mean_coordinates: OnceLock<EigenCoordinates>,
}

impl Gmm {
    /// A model with class means `μ₊`, `μ₋`, shared covariance `Σ` and prior
    /// `π = P(y = +1)`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`],
    /// [`Error::InvalidProbability`] unless `0 < π < 1`, and
    /// [`Error::IdenticalMeans`] when `μ₊ = μ₋` (no classifier can beat
    /// the prior).
    pub fn new(
        mean_pos: DVector<f64>,
        mean_neg: DVector<f64>,
        covariance: Covariance,
        prior_pos: f64,
    ) -> Result<Gmm> {
        covariance.check_vector("mean_pos", &mean_pos)?;
        covariance.check_vector("mean_neg", &mean_neg)?;
        if !(prior_pos > 0.0 && prior_pos < 1.0) {
            return Err(Error::InvalidProbability {
                name: "prior_pos",
                value: prior_pos,
            });
        }
        if mean_pos == mean_neg {
            return Err(Error::IdenticalMeans);
        }
        Ok(Gmm {
            mean_pos,
            mean_neg,
            covariance,
            prior_pos,
            mean_coordinates: OnceLock::new(),
        })
    }

    /// The symmetric model: means `±μ`, prior `1/2`.
    ///
    /// # Errors
    /// As [`Gmm::new`]; `μ = 0` gives [`Error::IdenticalMeans`].
    pub fn symmetric(mu: DVector<f64>, covariance: Covariance) -> Result<Gmm> {
        ensure_finite("mu", mu.as_slice())?;
        let neg = -&mu;
        Gmm::new(mu, neg, covariance, 0.5)
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.covariance.dim()
    }

    /// The shared covariance `Σ`.
    pub fn covariance(&self) -> &Covariance {
        &self.covariance
    }

    /// The prior `π = P(y = +1)`.
    pub fn prior_pos(&self) -> f64 {
        self.prior_pos
    }

    /// The prior of a label: `π` or `1 − π`.
    pub fn prior(&self, label: Label) -> f64 {
        match label {
            Label::Pos => self.prior_pos,
            Label::Neg => 1.0 - self.prior_pos,
        }
    }

    /// The class mean `μ_y`.
    pub fn mean(&self, label: Label) -> &DVector<f64> {
        match label {
            Label::Pos => &self.mean_pos,
            Label::Neg => &self.mean_neg,
        }
    }

    /// The centre `c = (μ₊ + μ₋)/2`.
    pub fn center(&self) -> DVector<f64> {
        (&self.mean_pos + &self.mean_neg) * 0.5
    }

    /// The half-difference `μ = (μ₊ − μ₋)/2` (the `μ` of [THEORY §7](crate::theory#7-adversarial-training)).
    pub fn half_difference(&self) -> DVector<f64> {
        (&self.mean_pos - &self.mean_neg) * 0.5
    }

    /// True for the symmetric model (`c = 0` and `π = 1/2`, within
    /// [`SYMMETRIC_MODEL_TOLERANCE`]).
    pub fn is_symmetric(&self) -> bool {
        self.symmetry_check().is_ok()
    }

    /// `Ok` for the symmetric model, else [`Error::NotSymmetricModel`].
    pub(crate) fn symmetry_check(&self) -> Result<()> {
        let center_norm = self.center().norm();
        let mu_norm = self.half_difference().norm();
        if center_norm <= SYMMETRIC_MODEL_TOLERANCE * mu_norm
            && (self.prior_pos - 0.5).abs() <= 1e-15
        {
            Ok(())
        } else {
            Err(Error::NotSymmetricModel {
                center_norm,
                prior: self.prior_pos,
            })
        }
    }

    /// Eigen-coordinates of `μ = (μ₊ − μ₋)/2` in the covariance's basis,
    /// computed once and cached.
    pub(crate) fn mean_coordinates(&self) -> &EigenCoordinates {
        self.mean_coordinates.get_or_init(|| {
            self.covariance
                .coordinates_unchecked(&self.half_difference())
        })
    }

    /// The Mahalanobis separation `Δ = ‖μ₊ − μ₋‖_{Σ⁻¹} = 2‖μ‖_{Σ⁻¹}`.
    pub fn separation(&self) -> f64 {
        let energies = self.mean_coordinates().block_energies();
        let values = self.covariance.eigenvalues();
        let mut sum = 0.0;
        for b in 0..energies.len() {
            sum += energies[b] / values[b];
        }
        2.0 * sum.sqrt()
    }

    /// The Bayes-optimal classifier `w_B = Σ⁻¹(μ₊ − μ₋)`,
    /// `b_B = −w_Bᵀc + ln(π/(1 − π))`.
    pub fn bayes_classifier(&self) -> LinearClassifier {
        // Σ⁻¹(2μ) from μ's cached eigen-coordinates: one pass over the basis.
        let mut coords = self.mean_coordinates().clone();
        let values = self.covariance.eigenvalues();
        let k = coords.explicit.len();
        for i in 0..k {
            coords.explicit[i] *= 2.0 / values[i];
        }
        if let Some(residual) = coords.residual.as_mut() {
            *residual *= 2.0 / values[k];
        }
        let w = self.covariance.from_coordinates_unchecked(&coords);
        let b = -w.dot(&self.center()) + (self.prior_pos / (1.0 - self.prior_pos)).ln();
        LinearClassifier::new(w, b).expect("Σ⁻¹(μ₊ − μ₋) is finite and non-zero for a valid model")
    }

    /// The Bayes error `π Φ(−Δ/2 − ℓ/Δ) + (1 − π) Φ(−Δ/2 + ℓ/Δ)`.
    pub fn bayes_error(&self) -> f64 {
        let delta = self.separation();
        let l = (self.prior_pos / (1.0 - self.prior_pos)).ln();
        let p = self.prior_pos;
        p * normal::cdf(-delta / 2.0 - l / delta)
            + (1.0 - p) * normal::cdf(-delta / 2.0 + l / delta)
    }

    /// The standard error `E(w, b)` of a linear classifier.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`].
    pub fn error(&self, clf: &LinearClassifier) -> Result<f64> {
        self.robust_error_at_shift(clf, 0.0)
    }

    /// `π Φ((shift − wᵀμ₊ − b)/s) + (1 − π) Φ((shift + wᵀμ₋ + b)/s)`: the
    /// error when every margin is reduced by `shift` ([THEORY §6](crate::theory#6-robust-error) with
    /// `shift = ε σ_K(w)`).
    pub(crate) fn robust_error_at_shift(&self, clf: &LinearClassifier, shift: f64) -> Result<f64> {
        let (a_pos, a_neg, s) = self.margin_distribution(clf)?;
        let p = self.prior_pos;
        Ok(p * normal::cdf((shift - a_pos) / s) + (1.0 - p) * normal::cdf((shift - a_neg) / s))
    }

    /// Mean margins of each class and their common standard deviation:
    /// `(wᵀμ₊ + b, −(wᵀμ₋ + b), ‖w‖_Σ)`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`].
    pub fn margin_distribution(&self, clf: &LinearClassifier) -> Result<(f64, f64, f64)> {
        crate::error::ensure_dim("classifier", self.dim(), clf.dim())?;
        let w = clf.weights();
        let s = self.covariance.spectral_sum_unchecked(w, |_, l| l).sqrt();
        let a_pos = w.dot(&self.mean_pos) + clf.bias();
        let a_neg = -(w.dot(&self.mean_neg) + clf.bias());
        Ok((a_pos, a_neg, s))
    }

    /// Draws `n` labelled samples: each label from the prior, then
    /// `x = μ_y + A z` with `z ~ N(0, I)`. Rows of the matrix are samples.
    ///
    /// Reproducible for a seeded `rng`: the `n` labels are drawn first
    /// (label `i` is `Pos` when the `i`-th uniform draw is below `π`), then
    /// the noise, column by column. Cost `O(nd²)` dense, `O(nd)` diagonal,
    /// `O(ndk)` spiked (inherent: every row needs `U_k z_k`); no `d × d`
    /// matrix is formed for diagonal or spiked covariances.
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{Covariance, Gmm, Label};
    /// use manifold_robustness::nalgebra::DVector;
    /// use manifold_robustness::rand::{rngs::StdRng, SeedableRng};
    ///
    /// let gmm = Gmm::symmetric(DVector::from_vec(vec![1.0, 0.0]), Covariance::isotropic(2, 1.0)?)?;
    /// let (x, y) = gmm.sample(1000, &mut StdRng::seed_from_u64(7));
    /// assert_eq!(x.shape(), (1000, 2));
    /// assert_eq!(y.len(), 1000);
    /// // The same seed gives the same data.
    /// assert_eq!(gmm.sample(1000, &mut StdRng::seed_from_u64(7)).0, x);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    pub fn sample<R: rand::Rng>(&self, n: usize, rng: &mut R) -> (DMatrix<f64>, Vec<Label>) {
        let labels: Vec<Label> = (0..n)
            .map(|_| {
                if rng.random::<f64>() < self.prior_pos {
                    Label::Pos
                } else {
                    Label::Neg
                }
            })
            .collect();
        let mut x = self.covariance.sample_noise(n, rng);
        for (i, label) in labels.iter().enumerate() {
            let mean = self.mean(*label);
            let mut row = x.row_mut(i);
            for j in 0..mean.len() {
                row[j] += mean[j];
            }
        }
        (x, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_bayes_error_is_phi_of_minus_half_delta() {
        let cov = Covariance::isotropic(3, 1.0).unwrap();
        let gmm = Gmm::symmetric(DVector::from_vec(vec![0.0, 1.5, 0.0]), cov).unwrap();
        assert!((gmm.separation() - 3.0).abs() < 1e-15);
        // Φ(−1.5)
        assert!((gmm.bayes_error() - 0.066_807_201_268_858_06).abs() < 1e-16);
        let clf = gmm.bayes_classifier();
        assert!((gmm.error(&clf).unwrap() - gmm.bayes_error()).abs() < 1e-16);
    }

    #[test]
    fn unequal_prior_bayes_error_matches_error_of_bayes_classifier() {
        let cov = Covariance::diagonal(DVector::from_vec(vec![2.0, 0.5])).unwrap();
        let gmm = Gmm::new(
            DVector::from_vec(vec![1.0, 1.0]),
            DVector::from_vec(vec![0.0, 0.5]),
            cov,
            0.3,
        )
        .unwrap();
        let clf = gmm.bayes_classifier();
        let e = gmm.error(&clf).unwrap();
        assert!((e - gmm.bayes_error()).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_models() {
        let cov = Covariance::isotropic(2, 1.0).unwrap();
        let m = DVector::from_vec(vec![1.0, 0.0]);
        assert!(matches!(
            Gmm::new(m.clone(), -&m, cov.clone(), 1.0),
            Err(Error::InvalidProbability { .. })
        ));
        assert!(matches!(
            Gmm::new(m.clone(), -&m, cov.clone(), f64::NAN),
            Err(Error::InvalidProbability { .. })
        ));
        assert!(matches!(
            Gmm::new(m.clone(), m.clone(), cov.clone(), 0.5),
            Err(Error::IdenticalMeans)
        ));
        assert!(matches!(
            Gmm::symmetric(DVector::zeros(3), cov.clone()),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            Gmm::symmetric(DVector::from_vec(vec![f64::INFINITY, 0.0]), cov),
            Err(Error::NonFinite { .. })
        ));
    }
}
