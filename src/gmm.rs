//! The two-class Gaussian mixture model and its Bayes classifier ([THEORY §1–2](crate::theory#1-data-model)).
//!
//! `x | y ~ N(μ_y, Σ)`, `P(y = +1) = π`. With the center
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
/// # Where the methods are defined
///
/// Each family of methods sits in the module of the theory it implements
/// (rustdoc lists them all on this page); the families that depend on a
/// classifier or several threats more than on the model are free
/// functions taking `&Gmm`.
///
/// | Family | Items | Module |
/// |---|---|---|
/// | Model (THEORY §1) | [`new`](Self::new), [`symmetric`](Self::symmetric), the accessors ([`mean`](Self::mean), [`covariance`](Self::covariance), …), [`sample`](Self::sample) | [`gmm`](crate::gmm) |
/// | Fitting to data | [`fit`](Self::fit), [`fit_report`](Self::fit_report) | [`fit`](crate::fit) |
/// | Errors and the Bayes classifier (§2) | [`bayes_classifier`](Self::bayes_classifier), [`bayes_error`](Self::bayes_error), [`error`](Self::error), [`margin_distribution`](Self::margin_distribution) | [`gmm`](crate::gmm) |
/// | Attacks (§4–5) | free functions of the classifier: [`minimal_perturbation`](crate::minimal_perturbation), [`minimal_perturbations`](crate::minimal_perturbations), [`energy_profile`](crate::energy_profile); with the model, [`attack_energy_summary`](crate::attack_energy_summary) | [`attack`](crate::attack), [`disentangle`](crate::disentangle) |
/// | Robust error and distance law (§6) | [`robust_error`](Self::robust_error), [`ln_robust_error`](Self::ln_robust_error), [`distance_cdf`](Self::distance_cdf), [`mean_adversarial_distance`](Self::mean_adversarial_distance), [`median_adversarial_distance`](Self::median_adversarial_distance), [`adversarial_distance_quantile`](Self::adversarial_distance_quantile) | [`robust`](crate::robust) |
/// | Adversarial training (§7) | [`robust_optimum`](Self::robust_optimum), [`robust_optimum_with`](Self::robust_optimum_with), [`robust_sweep`](Self::robust_sweep), [`robust_sweep_with`](Self::robust_sweep_with) | [`training`](crate::training) |
/// | Trade-offs (§8) | free functions: [`cross_robust_error`](crate::tradeoff::cross_robust_error), [`matched_budget`](crate::tradeoff::matched_budget), [`conflict_matrix`](crate::tradeoff::conflict_matrix), … | [`tradeoff`](crate::tradeoff) |
/// | Finite samples (§9) | [`sample`](Self::sample); free functions [`empirical::robust_error`](crate::empirical::robust_error), [`empirical::adversarial_training`](crate::empirical::adversarial_training) | [`empirical`](crate::empirical) |
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

/// Two models are equal when their means, covariances and priors are
/// (the cached eigen-coordinates of the mean follow from these).
impl PartialEq for Gmm {
    fn eq(&self, other: &Gmm) -> bool {
        self.mean_pos == other.mean_pos
            && self.mean_neg == other.mean_neg
            && self.prior_pos == other.prior_pos
            && self.covariance == other.covariance
    }
}

impl Gmm {
    /// A model with class means `μ₊`, `μ₋`, shared covariance `Σ` and prior
    /// `π = P(y = +1)`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFiniteEntry`],
    /// [`Error::InvalidProbability`] unless `0 < π < 1`,
    /// [`Error::IdenticalMeans`] when `μ₊ = μ₋` (no classifier can beat
    /// the prior), and [`Error::InvalidParameter`] when the means are so
    /// large (near `f64::MAX`) that `‖(μ₊ ∓ μ₋)/2‖` overflows.
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
        // Equal means, or means that differ only below the smallest
        // subnormal once halved (μ = μ₊/2 − μ₋/2 rounds to 0).
        if mean_pos == mean_neg
            || (&mean_pos * 0.5 - &mean_neg * 0.5)
                .iter()
                .all(|&x| x == 0.0)
        {
            return Err(Error::IdenticalMeans);
        }
        // μ and c are formed as μ₊/2 ∓ μ₋/2 (never overflow); their
        // Euclidean norms and eigen-coordinates must be finite too.
        for (name, value) in [
            ("mean_pos", &mean_pos * 0.5 - &mean_neg * 0.5),
            ("mean_pos", &mean_pos * 0.5 + &mean_neg * 0.5),
        ] {
            let norm = crate::linalg::norm(value.as_slice());
            if !norm.is_finite() {
                return Err(Error::InvalidParameter {
                    name,
                    value: mean_pos.amax(),
                    reason: "the class means are so large that ‖(μ₊ ∓ μ₋)/2‖ overflows",
                });
            }
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

    /// The center `c = (μ₊ + μ₋)/2`.
    pub fn center(&self) -> DVector<f64> {
        // Halve first: μ₊ + μ₋ may overflow where the center does not.
        &self.mean_pos * 0.5 + &self.mean_neg * 0.5
    }

    /// The half-difference `μ = (μ₊ − μ₋)/2` (the `μ` of [THEORY §7](crate::theory#7-adversarial-training)).
    pub fn half_difference(&self) -> DVector<f64> {
        // Halve first: μ₊ − μ₋ may overflow where μ does not.
        &self.mean_pos * 0.5 - &self.mean_neg * 0.5
    }

    /// True for the symmetric model (`c = 0` and `π = 1/2`, within
    /// [`SYMMETRIC_MODEL_TOLERANCE`]). Every function of the crate accepts
    /// general models; this only says whether the closed forms reduce to
    /// the symmetric statements of [the theory](crate::theory) (bias 0, `RE* = Φ(−r*)`).
    pub fn is_symmetric(&self) -> bool {
        crate::linalg::norm(self.center().as_slice())
            <= SYMMETRIC_MODEL_TOLERANCE * crate::linalg::norm(self.half_difference().as_slice())
            && (self.prior_pos - 0.5).abs() <= 1e-15
    }

    /// Eigen-coordinates of `μ = (μ₊ − μ₋)/2` in the covariance's basis,
    /// computed once and cached.
    pub(crate) fn mean_coordinates(&self) -> &EigenCoordinates {
        self.mean_coordinates.get_or_init(|| {
            self.covariance
                .coordinates_unchecked(&self.half_difference())
        })
    }

    /// The Mahalanobis separation `Δ = ‖μ₊ − μ₋‖_{Σ⁻¹} = 2‖μ‖_{Σ⁻¹}`,
    /// computed as a scaled norm: it overflows (to `+∞`, Bayes error `0`)
    /// or underflows (to `0`) only when `Δ` itself is not representable.
    pub fn separation(&self) -> f64 {
        2.0 * self
            .covariance
            .coordinates_norm(self.mean_coordinates(), |_, l| 1.0 / l)
    }

    /// The Bayes-optimal classifier `w_B = Σ⁻¹(μ₊ − μ₋)`,
    /// `b_B = −w_Bᵀc + ln(π/(1 − π))`.
    ///
    /// When `w_B` or `b_B` is not representable (a variance near `1e-308`,
    /// means near `1e±300`), the same decision rule is returned with `w`
    /// and `b` multiplied by one power of two that brings the larger of
    /// them to size one: `sign(wᵀx + b)` is unchanged, and so is every
    /// error of the classifier. Only the weights and bias are scaled.
    pub fn bayes_classifier(&self) -> LinearClassifier {
        use crate::linalg::{exponent, ldexp};
        // w_B = 2 Σ⁻¹ μ from μ's cached eigen-coordinates, kept as ŵ · 2^e
        // with ŵ of size one: every block's 2 c_b/λ_b is formed from
        // mantissas and exponents, so nothing over- or underflows.
        let mut coords = self.mean_coordinates().clone();
        let values = self.covariance.eigenvalues();
        let k = coords.explicit.len();
        let residual_norm = coords
            .residual
            .as_ref()
            .map(|r| crate::linalg::norm(r.as_slice()));
        // The largest exponent of c_b/λ_b over the blocks.
        let block_exponent = |c: f64, l: f64| exponent(c) - exponent(l);
        let mut top = i32::MIN;
        for b in 0..k {
            if coords.explicit[b] != 0.0 {
                top = top.max(block_exponent(coords.explicit[b], values[b]));
            }
        }
        if let Some(r) = residual_norm.filter(|&r| r > 0.0) {
            top = top.max(block_exponent(r, values[k]));
        }
        // ĉ_b/λ̂_b · 2^{e_c − e_λ − top}: mantissa ratio in (1/2, 2].
        let scaled_ratio = |c: f64, l: f64| {
            if c == 0.0 {
                return 0.0;
            }
            let mantissa_c = ldexp(c, -exponent(c));
            let mantissa_l = ldexp(l, -exponent(l));
            ldexp(mantissa_c / mantissa_l, block_exponent(c, l) - top)
        };
        for b in 0..k {
            coords.explicit[b] = scaled_ratio(coords.explicit[b], values[b]);
        }
        if let Some(residual) = coords.residual.as_mut() {
            // Every entry of the residual shares the one eigenvalue λ_k.
            let l = values[k];
            for x in residual.iter_mut() {
                *x = scaled_ratio(*x, l);
            }
        }
        let mut unit = self.covariance.from_coordinates_unchecked(&coords);
        if unit.amax() == 0.0 {
            // Only if μ's coordinates all rounded to zero: Σ⁻¹μ ∥ μ then.
            unit = self.half_difference();
            top = 0;
        }
        // w_B = unit · 2^{top + 1}; b_B = −(unitᵀ ĉ) 2^{top + 1 + e_c} + ℓ.
        let w_exponent = top + 1;
        let log_prior_ratio = (self.prior_pos / (1.0 - self.prior_pos)).ln();
        let center = self.center();
        let (center_unit, center_exponent) =
            crate::linalg::normalize(&center).unwrap_or((center, 0));
        let offset = unit.dot(&center_unit);
        // log₂ sizes of the three terms; the final multiplier 2^{−shift}
        // leaves the exact formula when everything is representable.
        let unit_size = exponent(unit.amax());
        let mut sizes = vec![w_exponent + unit_size];
        if offset != 0.0 {
            sizes.push(w_exponent + center_exponent + exponent(offset));
        }
        if log_prior_ratio != 0.0 {
            sizes.push(exponent(log_prior_ratio));
        }
        let largest = sizes.iter().copied().max().unwrap_or(0);
        let weight_size = w_exponent + unit_size;
        let shift = if largest <= 1000 && weight_size >= -1000 {
            0
        } else {
            // Bring the largest term to size one, but keep w above 2^{-1000}.
            largest.min(weight_size + 1000)
        };
        let w = unit.map(|x| ldexp(x, w_exponent - shift));
        // b = 2^{largest − shift} (−offset 2^{…−largest} + ℓ 2^{−largest}):
        // both terms inside are at most 2 in size, so only the final
        // multiplication can saturate, and then ±f64::MAX keeps the rule
        // (|wᵀx| < 2^{1000 + 1024 − 1000} is negligible next to it).
        let inner = -ldexp(offset, w_exponent + center_exponent - largest)
            + ldexp(log_prior_ratio, -largest);
        let b = ldexp(inner, largest - shift).clamp(-f64::MAX, f64::MAX);
        LinearClassifier::from_valid_parts(w, b)
    }

    /// The Bayes error `π Φ(−Δ/2 − ℓ/Δ) + (1 − π) Φ(−Δ/2 + ℓ/Δ)`; at
    /// `ℓ = 0` (`π = 1/2`) the term `ℓ/Δ` is `0` even when `Δ` underflows.
    pub fn bayes_error(&self) -> f64 {
        let delta = self.separation();
        let l = (self.prior_pos / (1.0 - self.prior_pos)).ln();
        let p = self.prior_pos;
        // ℓ/Δ: 0 for ℓ = 0, ±∞ (the prior decides alone) when Δ underflows.
        let tilt = if l == 0.0 { 0.0 } else { l / delta };
        p * normal::cdf(-delta / 2.0 - tilt) + (1.0 - p) * normal::cdf(-delta / 2.0 + tilt)
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
    /// `shift = ε σ_K(w)`), where `shift` is given for the normalized
    /// classifier of [`Gmm::unit_margins`].
    pub(crate) fn robust_error_at_shift(&self, clf: &LinearClassifier, shift: f64) -> Result<f64> {
        let margins = self.unit_margins(clf)?;
        let p = self.prior_pos;
        let value = p * normal::cdf(margins.standardized(shift, margins.pos))
            + (1.0 - p) * normal::cdf(margins.standardized(shift, margins.neg));
        if value.is_nan() {
            return Err(Error::NonFinite { name: "margins" });
        }
        Ok(value)
    }

    /// Mean margins of each class and their common standard deviation:
    /// `(wᵀμ₊ + b, −(wᵀμ₋ + b), ‖w‖_Σ)`.
    ///
    /// Each is computed from `w/2^k` (entries of size one) and scaled back,
    /// so a value overflows only when it is not representable; the errors
    /// of the crate use the normalized values directly.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`].
    pub fn margin_distribution(&self, clf: &LinearClassifier) -> Result<(f64, f64, f64)> {
        let m = self.unit_margins(clf)?;
        let back = |x: f64| crate::linalg::ldexp(x, m.exponent);
        Ok((back(m.pos), back(m.neg), back(m.spread)))
    }

    /// The margin law of the classifier `(w, b)/2^k` with `max |w_i|/2^k`
    /// in `[1, 2)`: every error is invariant to that scale, and at size one
    /// nothing over- or underflows for representable models.
    pub(crate) fn unit_margins(&self, clf: &LinearClassifier) -> Result<UnitMargins> {
        crate::error::ensure_dim("classifier", self.dim(), clf.dim())?;
        let (w, k) = crate::linalg::normalize(clf.weights()).ok_or(Error::ZeroWeights)?;
        let b = crate::linalg::ldexp(clf.bias(), -k);
        let spread = self.covariance.spectral_norm_unchecked(&w, |_, l| l);
        let pos = w.dot(&self.mean_pos) + b;
        let neg = -(w.dot(&self.mean_neg) + b);
        Ok(UnitMargins {
            exponent: k,
            pos,
            neg,
            spread,
        })
    }

    /// Draws `n` labeled samples: each label from the prior, then
    /// `x = μ_y + A z` with `z ~ N(0, I)`. Rows of the matrix are samples.
    ///
    /// Reproducible for a seeded `rng`, on any number of threads: `rng`
    /// gives 256 bits that seed a Xoshiro256++ generator (`rand_xoshiro`,
    /// fast and fixed by its specification, unlike rand's `SmallRng`, whose
    /// algorithm may change between rand versions); the rows are split into
    /// pieces whose size depends only on `d`, piece `p` draws from that
    /// generator jumped `p` times (`2¹²⁸` steps each, so the pieces never
    /// overlap), and the pieces are filled on every thread of rayon's
    /// current pool. Within a piece the labels come first (`Pos` when a
    /// uniform draw is below `π`), then the noise, column by column, with
    /// `rand_distr`'s ziggurat normals. Cost `O(nd²)` dense, `O(nd)`
    /// diagonal, `O(ndk)` spiked (inherent: every row needs `U_k z_k`); no
    /// `d × d` matrix is formed for diagonal or spiked covariances.
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
    pub fn sample<R: rand::Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> (DMatrix<f64>, Vec<Label>) {
        let mut labels = vec![Label::Pos; n];
        let (pos, neg) = (self.mean(Label::Pos), self.mean(Label::Neg));
        let x = crate::sampling::fill_rows(
            n,
            self.dim(),
            &mut labels,
            rng,
            |g, mut rows, labels, scratch| {
                use rand::Rng as _;
                // Labels first, then the noise, then the means column by column.
                for label in labels.iter_mut() {
                    if g.random::<f64>() >= self.prior_pos {
                        *label = Label::Neg;
                    }
                }
                self.covariance.fill_noise(g, rows.as_mut(), scratch);
                for j in 0..pos.len() {
                    let (p, q) = (pos[j], neg[j]);
                    for (v, label) in crate::sampling::column_mut(&mut rows, j)
                        .iter_mut()
                        .zip(labels.iter())
                    {
                        *v += if *label == Label::Pos { p } else { q };
                    }
                }
            },
        );
        (x, labels)
    }
}

/// The margin law of a classifier scaled to `max |w_i| ∈ [1, 2)`: class
/// `y`'s margin is `N(a_y, s²)` (see [`Gmm::margin_distribution`]).
#[derive(Debug, Clone)]
pub(crate) struct UnitMargins {
    /// `k`.
    pub(crate) exponent: i32,
    /// `a₊ = (wᵀμ₊ + b)/2^k`.
    pub(crate) pos: f64,
    /// `a₋ = −(wᵀμ₋ + b)/2^k`.
    pub(crate) neg: f64,
    /// `s = ‖w‖_Σ/2^k`.
    pub(crate) spread: f64,
}

impl UnitMargins {
    /// `(shift − a)/s`, the standardized margin shortfall, with `±∞` when
    /// `s` underflows and the sign is known.
    pub(crate) fn standardized(&self, shift: f64, a: f64) -> f64 {
        (shift - a) / self.spread
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
            Err(Error::NonFiniteEntry { .. })
        ));
    }
}
