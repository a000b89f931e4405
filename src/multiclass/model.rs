//! The multi-class Gaussian mixture: `x | y = k ~ N(μ_k, Σ)`, priors `π_k`
//! ([THEORY §12](crate::theory#12-multi-class-models)).

use nalgebra::{DMatrix, DVector};

use super::MulticlassClassifier;
use crate::classifier::Points;
use crate::covariance::Covariance;
use crate::error::{Error, Result};
use crate::fit::{Fit, PooledMoments, fit_covariance};
use crate::gmm::Gmm;

/// The priors must sum to one within this absolute tolerance (counts
/// divided by their total, or decimal fractions, are well inside it).
pub const PRIOR_SUM_TOLERANCE: f64 = 1e-12;

/// A `K`-class Gaussian mixture with one shared covariance:
/// `x | y = k ~ N(μ_k, Σ)`, `P(y = k) = π_k`, classes `0, …, K − 1`.
///
/// # Example
/// ```
/// use manifold_robustness::{Covariance, MulticlassGmm};
/// use manifold_robustness::nalgebra::DVector;
///
/// let means = vec![
///     DVector::from_vec(vec![1.0, 0.0]),
///     DVector::from_vec(vec![-1.0, 0.0]),
///     DVector::from_vec(vec![0.0, 2.0]),
/// ];
/// let priors = DVector::from_vec(vec![0.25, 0.25, 0.5]);
/// let m = MulticlassGmm::new(means, Covariance::isotropic(2, 1.0)?, priors)?;
/// assert_eq!((m.classes(), m.dim()), (3, 2));
/// assert_eq!(m.mean(2).as_slice(), &[0.0, 2.0]);
/// assert_eq!(m.priors()[2], 0.5);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MulticlassGmm {
    means: Vec<DVector<f64>>,
    covariance: Covariance,
    priors: DVector<f64>,
}

impl MulticlassGmm {
    /// A model with class means `μ_k`, shared covariance `Σ` (any
    /// representation) and priors `π_k`.
    ///
    /// # Errors
    /// [`Error::NotEnoughSamples`] (named `"classes"`) for fewer than two
    /// means; [`Error::DimensionMismatch`] for a mean of another dimension
    /// than `Σ` or priors of another length than the means;
    /// [`Error::NonFiniteEntry`] for a non-finite mean entry;
    /// [`Error::InvalidProbability`] (named `"priors"`) unless every
    /// `0 < π_k < 1`; [`Error::InvalidParameter`] (named `"priors"`, with
    /// the sum) unless `|Σ_k π_k − 1| ≤` [`PRIOR_SUM_TOLERANCE`];
    /// [`Error::IdenticalRows`] (named `"means"`) when two means are equal.
    pub fn new(
        means: Vec<DVector<f64>>,
        covariance: Covariance,
        priors: DVector<f64>,
    ) -> Result<MulticlassGmm> {
        if means.len() < 2 {
            return Err(Error::NotEnoughSamples {
                name: "classes",
                needed: 2,
                found: means.len(),
            });
        }
        for mean in &means {
            covariance.check_vector("means", mean)?;
        }
        crate::error::ensure_dim("priors", means.len(), priors.len())?;
        for &p in priors.iter() {
            if !(p > 0.0 && p < 1.0) {
                return Err(Error::InvalidProbability {
                    name: "priors",
                    value: p,
                });
            }
        }
        let sum = priors.sum();
        if (sum - 1.0).abs() > PRIOR_SUM_TOLERANCE {
            return Err(Error::InvalidParameter {
                name: "priors",
                value: sum,
                reason: "the priors must sum to 1 (within 1e-12)",
            });
        }
        for second in 1..means.len() {
            for first in 0..second {
                if means[first] == means[second] {
                    return Err(Error::IdenticalRows {
                        name: "means",
                        first,
                        second,
                    });
                }
            }
        }
        Ok(MulticlassGmm {
            means,
            covariance,
            priors,
        })
    }

    /// Fits a model to labeled data: labels `0..K` with `K` the largest
    /// label plus one, class means, priors `n_k/n`, and the shared
    /// covariance by the chosen [`Fit`] — the same pooled within-class
    /// covariance and regularizations as [`Gmm::fit`] (formulas in
    /// [`crate::fit`]). Rows of `x` are samples.
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{Fit, MulticlassGmm};
    /// use manifold_robustness::nalgebra::DMatrix;
    ///
    /// // Three classes, two points each, deviations ±(1, 0) or ±(0, 1).
    /// let x = DMatrix::from_row_slice(6, 2, &[
    ///     1.0, 0.0, -1.0, 0.0,   // class 0 around (0, 0)
    ///     5.0, 1.0, 5.0, -1.0,   // class 1 around (5, 0)
    ///     1.0, 4.0, -1.0, 4.0,   // class 2 around (0, 4)
    /// ]);
    /// let m = MulticlassGmm::fit(&x, &[0, 0, 1, 1, 2, 2], Fit::Pooled)?;
    /// assert_eq!(m.mean(1).as_slice(), &[5.0, 0.0]);
    /// // S = (4 e₁e₁ᵀ + 2 e₂e₂ᵀ)/6.
    /// let l = m.covariance().eigenvalues();
    /// assert!((l[0] - 2.0 / 3.0).abs() < 1e-15 && (l[1] - 1.0 / 3.0).abs() < 1e-15);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Gmm::fit`], with these differences: [`Error::Empty`] for no
    /// labels; [`Error::NotEnoughSamples`] (named `"classes"`) when every
    /// label is `0`; [`Error::EmptyClass`] naming the first label in `0..K`
    /// without samples; [`Error::NotEnoughSamples`] when `n < K + 1`;
    /// [`Error::IdenticalRows`] for two equal class means.
    pub fn fit<'a>(x: impl Points<'a>, labels: &[usize], fit: Fit) -> Result<MulticlassGmm> {
        let x = &*x.points();
        let Some(&largest) = labels.iter().max() else {
            return Err(Error::Empty { name: "labels" });
        };
        let classes = largest + 1;
        if classes < 2 {
            return Err(Error::NotEnoughSamples {
                name: "classes",
                needed: 2,
                found: classes,
            });
        }
        let moments = PooledMoments::compute(x, labels, classes, fit, |class| Error::EmptyClass {
            class,
            classes,
        })?;
        let fitted = fit_covariance(&moments, x, fit)?;
        let n = x.nrows() as f64;
        let priors = DVector::from_iterator(classes, moments.counts.iter().map(|&c| c as f64 / n));
        MulticlassGmm::new(moments.means, fitted.covariance, priors)
    }

    /// The number of classes `K`.
    pub fn classes(&self) -> usize {
        self.means.len()
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.covariance.dim()
    }

    /// The shared covariance `Σ`.
    pub fn covariance(&self) -> &Covariance {
        &self.covariance
    }

    /// The mean `μ_k` of class `k`.
    ///
    /// # Panics
    /// If `k ≥ K`.
    pub fn mean(&self, k: usize) -> &DVector<f64> {
        &self.means[k]
    }

    /// The class means `μ_0, …, μ_{K−1}`.
    pub fn means(&self) -> &[DVector<f64>] {
        &self.means
    }

    /// The priors `π_k`.
    pub fn priors(&self) -> &DVector<f64> {
        &self.priors
    }

    /// Draws `n` labeled samples: each label from the priors (label `i`
    /// is the first `k` with `u_i < π_0 + … + π_k` for the `i`-th uniform
    /// draw `u_i`), then `x = μ_y + A z` with `z ~ N(0, I)`, drawn as
    /// [`Gmm::sample`] draws it. Rows of the matrix are samples;
    /// reproducible for a seeded `rng`.
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{Covariance, MulticlassGmm};
    /// use manifold_robustness::nalgebra::DVector;
    /// use manifold_robustness::rand::{rngs::StdRng, SeedableRng};
    ///
    /// let means = (0..4).map(|k| DVector::from_element(3, k as f64)).collect();
    /// let m = MulticlassGmm::new(means, Covariance::isotropic(3, 1.0)?, DVector::from_element(4, 0.25))?;
    /// let (x, y) = m.sample(1000, &mut StdRng::seed_from_u64(1));
    /// assert_eq!(x.shape(), (1000, 3));
    /// assert!(y.iter().all(|&k| k < 4));
    /// assert_eq!(m.sample(1000, &mut StdRng::seed_from_u64(1)).0, x);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    pub fn sample<R: rand::Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> (DMatrix<f64>, Vec<usize>) {
        let last = self.classes() - 1;
        let labels: Vec<usize> = (0..n)
            .map(|_| {
                let u = rng.random::<f64>();
                let mut cumulative = 0.0;
                for k in 0..last {
                    cumulative += self.priors[k];
                    if u < cumulative {
                        return k;
                    }
                }
                last
            })
            .collect();
        let mut x = self.covariance.sample_noise(n, rng);
        for (i, &label) in labels.iter().enumerate() {
            let mean = &self.means[label];
            let mut row = x.row_mut(i);
            for j in 0..mean.len() {
                row[j] += mean[j];
            }
        }
        (x, labels)
    }

    /// The Bayes classifier ([THEORY M1](crate::theory#m1-the-bayes-rule)):
    /// `argmax_k w_kᵀx + b_k` with `w_k = Σ⁻¹μ_k`,
    /// `b_k = −½ μ_kᵀΣ⁻¹μ_k + ln π_k`.
    ///
    /// The rule is returned in an equivalent, better conditioned form:
    /// with the mean of the means `μ̄ = (1/K) Σ_k μ_k`,
    /// `w_k = Σ⁻¹(μ_k − μ̄)` and `b_k = −½ w_kᵀ(μ_k + μ̄) + ln π_k`, which
    /// differ from the formula above by `Σ⁻¹μ̄` added to every weight row and
    /// one constant to every bias, so every score difference, prediction,
    /// attack and error is the same. It keeps the scores small for data far
    /// from the origin, and for `K = 2` makes `w₁ − w₀ = 2Σ⁻¹μ` exactly the
    /// two-class `w_B`. `Σ⁻¹` is applied through the covariance's
    /// eigenbasis (no inverse is formed), to `Σ` and the means divided by
    /// powers of two; the rule is then returned multiplied by one power of
    /// two, which changes no decision.
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{Covariance, MulticlassGmm};
    /// use manifold_robustness::nalgebra::DVector;
    ///
    /// let means = vec![
    ///     DVector::from_vec(vec![1.0, 0.0]),
    ///     DVector::from_vec(vec![-1.0, 0.0]),
    ///     DVector::from_vec(vec![0.0, 3.0]),
    /// ];
    /// let m = MulticlassGmm::new(means, Covariance::isotropic(2, 1.0)?, DVector::from_element(3, 1.0 / 3.0))?;
    /// let clf = m.bayes_classifier();
    /// // Each mean is classified as its own class.
    /// for k in 0..3 {
    ///     assert_eq!(clf.predict(m.mean(k)), k);
    /// }
    /// // Classes 0 and 1 meet on the line x₁ = 0 (equal priors, Σ = I).
    /// assert_eq!(clf.predict(&DVector::from_vec(vec![0.01, 0.5])), 0);
    /// assert_eq!(clf.predict(&DVector::from_vec(vec![-0.01, 0.5])), 1);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    pub fn bayes_classifier(&self) -> MulticlassClassifier {
        use crate::linalg::{exponent, ldexp};
        let k = self.classes() as f64;
        let d = self.dim();
        let center = self
            .means
            .iter()
            .fold(DVector::zeros(d), |acc, m| acc + m / k);
        let offsets: Vec<DVector<f64>> = self.means.iter().map(|m| m - &center).collect();
        // Powers of two bringing Σ's largest eigenvalue and the largest
        // offset or center entry to [1, 2): Σ⁻¹ is applied to size-one data.
        let spectrum_exponent = exponent(self.covariance.eigenvalues()[0]);
        let largest = offsets
            .iter()
            .map(|a| a.amax())
            .fold(center.amax(), f64::max);
        let mean_exponent = exponent(largest);
        let scaled_center = center.map(|c| ldexp(c, -mean_exponent));
        let prior_exponent = spectrum_exponent - 2 * mean_exponent;
        let mut weights = DMatrix::zeros(self.classes(), d);
        let mut biases = DVector::zeros(self.classes());
        for (c, offset) in offsets.iter().enumerate() {
            let a = offset.map(|v| ldexp(v, -mean_exponent));
            // ŵ = (Σ/2^e)⁻¹ â; the rule is (ŵ, b̂)/2^f = 2^{e−2f} (w, b).
            let w = self
                .covariance
                .map_spectrum_unchecked(&a, |_, l| 1.0 / ldexp(l, -spectrum_exponent));
            let bias = -0.5 * w.dot(&a) - w.dot(&scaled_center)
                + ldexp(self.priors[c].ln(), prior_exponent);
            weights
                .row_mut(c)
                .copy_from(&w.map(|v| ldexp(v, -mean_exponent)).transpose());
            biases[c] = bias.clamp(-f64::MAX, f64::MAX);
        }
        MulticlassClassifier::from_valid_parts(weights, biases)
    }
}

/// The two-class model as a multi-class one: class `0` is `Label::Neg`,
/// class `1` is `Label::Pos` (means `μ₋`, `μ₊`, priors `1 − π`, `π`).
///
/// ```
/// use manifold_robustness::{default_model, Label, MulticlassGmm};
///
/// let gmm = default_model();
/// let m = MulticlassGmm::from(&gmm);
/// assert_eq!(m.mean(1), gmm.mean(Label::Pos));
/// assert_eq!(m.priors().as_slice(), &[0.5, 0.5]);
/// ```
impl From<&Gmm> for MulticlassGmm {
    fn from(gmm: &Gmm) -> MulticlassGmm {
        use crate::classifier::Label;
        let p = gmm.prior_pos();
        MulticlassGmm {
            means: vec![gmm.mean(Label::Neg).clone(), gmm.mean(Label::Pos).clone()],
            covariance: gmm.covariance().clone(),
            priors: DVector::from_vec(vec![1.0 - p, p]),
        }
    }
}
