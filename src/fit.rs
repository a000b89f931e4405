//! Fitting a two-class model to labeled data ([THEORY §1](crate::theory#1-data-model), "Fitting from data").
//!
//! From rows `x_j` with labels `y_j` (`n₊` positive, `n₋` negative,
//! `n = n₊ + n₋`):
//!
//! ```text
//! μ̂_y = (1/n_y) Σ_{y_j = y} x_j,          π̂ = n₊/n,
//! x̃_j = x_j − μ̂_{y_j}                      (within-class centered samples),
//! S   = (1/n) Σ_j x̃_j x̃_jᵀ                 (pooled covariance, maximum likelihood).
//! ```
//!
//! The shared covariance `Σ̂` then comes from one of three fits ([`Fit`]):
//!
//! - **Pooled** (maximum likelihood): `Σ̂ = S`. Real images have pixels
//!   that never vary, so `S` is often singular; that is a
//!   [`Error::SingularCovariance`] naming the number of zero directions.
//! - **Ledoit–Wolf** shrinkage toward a scaled identity (Ledoit & Wolf 2004,
//!   *A well-conditioned estimator for large-dimensional covariance
//!   matrices*, J. Multivariate Anal. 88, §3.3), with their normalized
//!   Frobenius norm `‖A‖² = tr(AAᵀ)/d`:
//!
//!   ```text
//!   m  = tr(S)/d,
//!   d² = ‖S − m I‖²,
//!   b̄² = (1/n²) Σ_j ‖x̃_j x̃_jᵀ − S‖²,
//!   δ  = min(1, b̄²/d²)                       (δ = 1 when S = m I already),
//!   Σ̂  = (1 − δ) S + δ m I.
//!   ```
//!
//!   Because `Σ_j x̃_jᵀ S x̃_j = n tr(S²)`, the sum of the `n` outer-product
//!   distances is `Σ_j ‖x̃_j‖⁴ − n ‖S‖²_F`: `b̄²` costs `O(nd)` on top of
//!   the `O(nd²)` for `S`, and no `d × d` outer product is ever formed.
//!   `Σ̂` has the eigenvectors of `S` and eigenvalues `(1 − δ)λ_i + δm`,
//!   so it is positive definite whenever `δ > 0`.
//! - **Probabilistic PCA** of rank `k` (Tipping & Bishop 1999, the maximum
//!   likelihood solution): with `S = Σ_i λ_i u_i u_iᵀ`, `λ` descending,
//!
//!   ```text
//!   σ² = (1/(d − k)) Σ_{i>k} λ_i,     Σ̂ = U_k Λ_k U_kᵀ + σ² (I − U_k U_kᵀ),
//!   ```
//!
//!   a spiked [`Covariance`] (`O(dk)` storage for everything downstream).
//!
//! The pooled covariance is decomposed once (`O(d³)`); every fit reuses that
//! decomposition. A direction counts as having no variance when its
//! eigenvalue is at most `d · ε_mach · λ₁`, the threshold
//! [`Covariance::dense`] uses for positive definiteness.
//! [`Gmm::fit_report`] returns a [`FitReport`] with the evidence: the
//! pooled spectrum, the zero directions, the shrinkage intensity or the
//! PPCA noise level and explained variance.

use nalgebra::{DMatrix, DVector};

use crate::classifier::{Label, Points};
use crate::covariance::{
    Covariance, EIGEN_GAP_TOLERANCE, PARALLEL_FROM_DIM, symmetric_eigen_descending,
};
use crate::error::{Error, Result};
use crate::gmm::Gmm;

/// Rows per block when accumulating the pooled scatter matrix: large
/// enough for an efficient matrix product, small enough that the centered
/// block (`BLOCK_ROWS × d`) stays in cache and memory stays `O(d²)`.
const BLOCK_ROWS: usize = 256;

/// How the shared covariance is estimated (see the module docs).
///
/// # Example
/// ```
/// use manifold_robustness::{Fit, Gmm, Label};
/// use manifold_robustness::nalgebra::DMatrix;
///
/// // Within-class deviations (±2, 0) around (1, 1) and (0, ±1) around (−1, −1):
/// // the pooled covariance is diag(2, 1/2).
/// let x = DMatrix::from_row_slice(4, 2, &[3.0, 1.0, -1.0, 1.0, -1.0, 0.0, -1.0, -2.0]);
/// let y = [Label::Pos, Label::Pos, Label::Neg, Label::Neg];
/// let gmm = Gmm::fit(&x, &y, Fit::Pooled)?;
/// let l = gmm.covariance().eigenvalues();
/// assert!((l[0] - 2.0).abs() < 1e-15 && (l[1] - 0.5).abs() < 1e-15);
/// // Δ² = (2, 2) diag(1/2, 2) (2, 2)ᵀ = 10.
/// assert!((gmm.separation() - 10f64.sqrt()).abs() < 1e-14);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Fit {
    /// The maximum-likelihood pooled within-class covariance `S`.
    Pooled,
    /// Ledoit–Wolf shrinkage of `S` toward `(tr S/d) I`.
    LedoitWolf,
    /// Probabilistic PCA: the top `rank` eigenpairs of `S` plus isotropic
    /// noise at the mean of the remaining eigenvalues (`1 ≤ rank < d`).
    Ppca {
        /// The number `k` of leading directions kept.
        rank: usize,
    },
}

impl Fit {
    /// The fit's name as written in code, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Fit::Pooled => "Fit::Pooled",
            Fit::LedoitWolf => "Fit::LedoitWolf",
            Fit::Ppca { .. } => "Fit::Ppca",
        }
    }
}

/// What a fit did to the pooled covariance.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Regularization {
    /// None: `Σ̂ = S`.
    None,
    /// Ledoit–Wolf shrinkage `Σ̂ = (1 − δ) S + δ m I`.
    Shrinkage {
        /// The intensity `δ ∈ [0, 1]`.
        intensity: f64,
        /// The target variance `m = tr(S)/d`.
        target_variance: f64,
    },
    /// Probabilistic PCA: the top `rank` eigenpairs of `S` and noise `σ²`.
    Ppca {
        /// The rank `k`.
        rank: usize,
        /// The noise level `σ²`, the mean of the `d − k` smaller eigenvalues.
        noise: f64,
        /// The share of the total variance `tr S` in the `k` kept
        /// directions: `Σ_{i≤k} λ_i / Σ_i λ_i`.
        explained_variance_ratio: f64,
    },
}

/// The evidence of a fit: what the data looked like and which
/// regularization was used (returned by [`Gmm::fit_report`]).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct FitReport {
    /// The fit that was asked for.
    pub fit: Fit,
    /// Number of samples labeled `Pos`.
    pub positives: usize,
    /// Number of samples labeled `Neg`.
    pub negatives: usize,
    /// Eigenvalues of the pooled maximum-likelihood covariance `S`,
    /// descending, as computed (tiny negative values are rounding noise).
    #[cfg_attr(feature = "serde", serde(with = "crate::serialization::plain_vector"))]
    pub pooled_eigenvalues: DVector<f64>,
    /// Number of eigen-directions of `S` without variance
    /// (`λ_i ≤ d · ε_mach · λ₁`), e.g. constant pixels.
    pub zero_directions: usize,
    /// What the fit did to `S`.
    pub regularization: Regularization,
}

impl FitReport {
    /// The smallest eigenvalue of the pooled covariance `S`.
    pub fn pooled_min_eigenvalue(&self) -> f64 {
        self.pooled_eigenvalues[self.pooled_eigenvalues.len() - 1]
    }

    /// The Ledoit–Wolf shrinkage intensity `δ`, if that fit was used.
    pub fn shrinkage_intensity(&self) -> Option<f64> {
        match self.regularization {
            Regularization::Shrinkage { intensity, .. } => Some(intensity),
            _ => None,
        }
    }

    /// The PPCA noise level `σ²`, if that fit was used.
    pub fn noise(&self) -> Option<f64> {
        match self.regularization {
            Regularization::Ppca { noise, .. } => Some(noise),
            _ => None,
        }
    }

    /// The share of variance the PPCA directions explain, if that fit was used.
    pub fn explained_variance_ratio(&self) -> Option<f64> {
        match self.regularization {
            Regularization::Ppca {
                explained_variance_ratio,
                ..
            } => Some(explained_variance_ratio),
            _ => None,
        }
    }
}

/// Class means, counts and the pooled scatter of a labeled sample
/// (any number of classes).
pub(crate) struct PooledMoments {
    /// `μ̂_k`, one per class.
    pub(crate) means: Vec<DVector<f64>>,
    /// `n_k`, one per class.
    pub(crate) counts: Vec<usize>,
    /// `S/4^k = (1/n) Σ_j x̃_j x̃_jᵀ / 4^k`, exactly symmetric: the scatter
    /// of the centered samples divided by `2^k` (a power of two, exact), with
    /// `k` chosen so that the largest centered entry lies in `[1, 2)`.
    covariance: DMatrix<f64>,
    /// `Σ_j ‖x̃_j/2^k‖⁴`, for the Ledoit–Wolf intensity.
    fourth_moment: f64,
    /// `2k`: `S = 2^{2k} × covariance`.
    scale_exponent: i32,
}

/// `values · 2^k`, checked to be a representable covariance spectrum:
/// the largest finite, the reciprocal of the smallest finite.
fn rescaled_spectrum(values: &DVector<f64>, k: i32, x: &DMatrix<f64>) -> Result<DVector<f64>> {
    let scaled = values.map(|l| crate::linalg::ldexp(l, k));
    let (largest, smallest) = (scaled.max(), scaled.min());
    if !largest.is_finite() {
        return Err(Error::InvalidParameter {
            name: "x",
            value: x.amax(),
            reason: "the within-class variance of data this large overflows; rescale the data",
        });
    }
    // A zero or negative eigenvalue is the caller's to report (singular S);
    // here only a positive one that underflows once scaled back.
    if values.min() > 0.0 && !(1.0 / smallest).is_finite() {
        return Err(Error::InvalidParameter {
            name: "x",
            value: x.amax(),
            reason: "the within-class variance of data this small underflows (its reciprocal \
                     overflows); rescale the data",
        });
    }
    Ok(scaled)
}

impl Gmm {
    /// Fits a model to labeled data: class means, the prior `n₊/n`, and a
    /// shared covariance by the chosen [`Fit`] (formulas in the
    /// [module docs](crate::fit)). Rows of `x` are samples.
    ///
    /// Cost `O(nd²)` for the pooled covariance plus one `O(d³)`
    /// eigen-decomposition, with `O(d²)` memory beyond `x`.
    ///
    /// # Errors
    /// In the order checked:
    /// [`Error::Empty`] when `x` has no columns (`d = 0`);
    /// [`Error::DimensionMismatch`] when `y.len()` differs from the number
    /// of rows of `x`;
    /// [`Error::InvalidRank`] for `Fit::Ppca { rank }` unless `1 ≤ rank < d`;
    /// [`Error::NonFinite`] for a NaN or infinite entry of `x` (or data so
    /// large that their squares overflow);
    /// [`Error::NotEnoughSamples`] when a class has no sample, or when
    /// `n < 3` (the two class means use two of the `n` degrees of freedom,
    /// at least one must be left for the covariance);
    /// [`Error::DegenerateFit`] when no sample differs from its class mean,
    /// when a PPCA noise level would be zero (the data span at most `rank`
    /// directions), or when Ledoit–Wolf chooses no shrinkage for a singular
    /// `S`;
    /// [`Error::SingularCovariance`] for `Fit::Pooled` when `S` has a
    /// direction without variance (use `Fit::LedoitWolf` or `Fit::Ppca`);
    /// [`Error::AmbiguousEigenspace`] for `Fit::Ppca { rank }` when
    /// `λ_rank − λ_{rank+1} ≤ ε_gap · λ₁` with `ε_gap` =
    /// [`EIGEN_GAP_TOLERANCE`]: the
    /// kept directions would be an arbitrary choice inside a block of equal
    /// eigenvalues, so the result would not be reproducible — choose a rank
    /// outside the block;
    /// [`Error::IdenticalMeans`] when both class means are equal;
    /// [`Error::Decomposition`] if the eigen-solver fails.
    pub fn fit<'a>(x: impl Points<'a>, y: &[Label], fit: Fit) -> Result<Gmm> {
        let x = &*x.points();
        Ok(Gmm::fit_report(x, y, fit)?.0)
    }

    /// [`Gmm::fit`], also returning the [`FitReport`]: the pooled spectrum,
    /// the zero directions and the regularization used.
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{Fit, Gmm, Label};
    /// use manifold_robustness::nalgebra::DMatrix;
    ///
    /// // Pooled covariance S = diag(2, 1/2): m = 5/4, d² = 9/16 and
    /// // b̄² = (34 − 4 · 17/4) / (4² · 2) = 17/32, so δ = 17/18.
    /// let x = DMatrix::from_row_slice(4, 2, &[3.0, 1.0, -1.0, 1.0, -1.0, 0.0, -1.0, -2.0]);
    /// let y = [Label::Pos, Label::Pos, Label::Neg, Label::Neg];
    /// let (gmm, report) = Gmm::fit_report(&x, &y, Fit::LedoitWolf)?;
    /// assert!((report.shrinkage_intensity().unwrap() - 17.0 / 18.0).abs() < 1e-15);
    /// // Eigenvalues (1 − δ) λ_i + δ m.
    /// let l = gmm.covariance().eigenvalues();
    /// assert!((l[0] - 23.25 / 18.0).abs() < 1e-14 && (l[1] - 21.75 / 18.0).abs() < 1e-14);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Gmm::fit`].
    pub fn fit_report<'a>(x: impl Points<'a>, y: &[Label], fit: Fit) -> Result<(Gmm, FitReport)> {
        let x = &*x.points();
        // Class 0 is `Pos`, class 1 is `Neg` (so an empty positive class is
        // reported first).
        let classes: Vec<usize> = y
            .iter()
            .map(|&l| if l == Label::Pos { 0 } else { 1 })
            .collect();
        let moments =
            PooledMoments::compute(x, &classes, 2, fit, |class| Error::NotEnoughSamples {
                name: if class == 0 {
                    "samples labeled Pos"
                } else {
                    "samples labeled Neg"
                },
                needed: 1,
                found: 0,
            })?;
        let fitted = fit_covariance(&moments, x, fit)?;
        let n = x.nrows();
        let [positives, negatives] = [moments.counts[0], moments.counts[1]];
        let prior_pos = positives as f64 / n as f64;
        let report = FitReport {
            fit,
            positives,
            negatives,
            pooled_eigenvalues: fitted.pooled_eigenvalues,
            zero_directions: fitted.zero_directions,
            regularization: fitted.regularization,
        };
        let gmm = Gmm::new(
            moments.means[0].clone(),
            moments.means[1].clone(),
            fitted.covariance,
            prior_pos,
        )?;
        Ok((gmm, report))
    }
}

/// The shared covariance of a fit, with the evidence for its report.
pub(crate) struct FittedCovariance {
    /// `Σ̂`.
    pub(crate) covariance: Covariance,
    /// What the fit did to `S`.
    pub(crate) regularization: Regularization,
    /// Eigenvalues of `S`, descending.
    pub(crate) pooled_eigenvalues: DVector<f64>,
    /// Directions of `S` without variance.
    pub(crate) zero_directions: usize,
}

/// The shared covariance `Σ̂` of the chosen [`Fit`] from the pooled moments
/// (module docs), for any number of classes.
pub(crate) fn fit_covariance(
    moments: &PooledMoments,
    x: &DMatrix<f64>,
    fit: Fit,
) -> Result<FittedCovariance> {
    let d = x.ncols();
    let n = x.nrows();
    // Everything below works on S/4^k (centered entries of size one), so
    // the fit is the same for the data and for the data times 2^j; the
    // spectrum is scaled back, and checked, at the end.
    let s = &moments.covariance;
    let scale = moments.scale_exponent;
    let trace = s.trace();
    // The centered samples are of size one, so the diagonal of S/4^k is
    // exactly zero only when every sample equals its class mean.
    if trace <= 0.0 {
        return Err(Error::DegenerateFit {
            fit: fit.name(),
            reason: "no within-class variance: every sample equals its class mean",
        });
    }
    let (values, basis) = symmetric_eigen_descending(s)?;
    let zero_threshold = (d as f64) * f64::EPSILON * values[0];
    let zero_directions = values.iter().filter(|&&l| l <= zero_threshold).count();
    let (covariance, regularization) = match fit {
        Fit::Pooled => {
            if zero_directions > 0 {
                return Err(Error::SingularCovariance {
                    min_eigenvalue: crate::linalg::ldexp(values[d - 1], scale),
                    zero_directions,
                });
            }
            rescaled_spectrum(&values, scale, x)?;
            let matrix = s.map(|v| crate::linalg::ldexp(v, scale));
            // Decomposed again from the matrix, as `Covariance::dense` does:
            // a covariance's spectrum is then a function of its matrix, so a
            // fitted model read back from a file gives bit-identical results.
            let cov = Covariance::dense(matrix)?;
            (cov, Regularization::None)
        }
        Fit::LedoitWolf => {
            let (intensity, target) = ledoit_wolf_intensity(s, moments.fourth_moment, n);
            let mut shrunk = s * (1.0 - intensity);
            for i in 0..d {
                shrunk[(i, i)] += intensity * target;
            }
            let shrunk_values = values.map(|l| (1.0 - intensity) * l + intensity * target);
            rescaled_spectrum(&shrunk_values, scale, x)?;
            let shrunk = shrunk.map(|v| crate::linalg::ldexp(v, scale));
            let target = crate::linalg::ldexp(target, scale);
            // Decomposed from the matrix, as for the pooled fit.
            let cov = Covariance::dense(shrunk).map_err(|e| match e {
                Error::NotPositiveDefinite { .. } => Error::DegenerateFit {
                    fit: fit.name(),
                    reason: "the shrinkage intensity is (numerically) zero and the \
                                 pooled covariance is singular: every centered sample is ±v \
                                 for one vector v, so S = vvᵀ; use more data",
                },
                other => other,
            })?;
            (
                cov,
                Regularization::Shrinkage {
                    intensity,
                    target_variance: target,
                },
            )
        }
        Fit::Ppca { rank } => {
            let tail = values.rows(rank, d - rank).sum();
            let noise = tail / (d - rank) as f64;
            if noise <= zero_threshold {
                return Err(Error::DegenerateFit {
                    fit: fit.name(),
                    reason: "the eigenvalues beyond the rank are all zero, so the noise \
                             level σ² would be zero (the data span at most `rank` \
                             directions); use a smaller rank or Fit::LedoitWolf",
                });
            }
            let (lambda_k, lambda_next) = (values[rank - 1], values[rank]);
            if lambda_k - lambda_next <= EIGEN_GAP_TOLERANCE * values[0] {
                return Err(Error::AmbiguousEigenspace {
                    k: rank,
                    lambda_k,
                    lambda_next,
                });
            }
            let leading = values.rows(0, rank).into_owned();
            let explained_variance_ratio = leading.sum() / values.sum();
            let mut kept = DVector::zeros(rank + 1);
            kept.rows_mut(0, rank).copy_from(&leading);
            kept[rank] = noise;
            let kept = rescaled_spectrum(&kept, scale, x)?;
            let noise = kept[rank];
            let leading = kept.rows(0, rank).into_owned();
            let cov = Covariance::spiked(basis.columns(0, rank).into_owned(), leading, noise)?;
            (
                cov,
                Regularization::Ppca {
                    rank,
                    noise,
                    explained_variance_ratio,
                },
            )
        }
    };
    Ok(FittedCovariance {
        covariance,
        regularization,
        pooled_eigenvalues: values.map(|l| crate::linalg::ldexp(l, scale)),
        zero_directions,
    })
}

/// The Ledoit–Wolf intensity `δ = min(1, b̄²/d²)` and target `m = tr(S)/d`
/// (module docs), from `S` and `Σ_j ‖x̃_j‖⁴`.
fn ledoit_wolf_intensity(s: &DMatrix<f64>, fourth_moment: f64, n: usize) -> (f64, f64) {
    let d = s.nrows();
    let p = d as f64;
    let m = s.trace() / p;
    // ‖S − mI‖²_F summed entry by entry: no cancellation when S ≈ mI.
    let mut distance = 0.0;
    let mut frobenius = 0.0;
    for j in 0..d {
        for i in 0..d {
            let v = s[(i, j)];
            frobenius += v * v;
            let c = if i == j { v - m } else { v };
            distance += c * c;
        }
    }
    let d2 = distance / p;
    // b̄² = (Σ_j ‖x̃_j‖⁴ − n‖S‖²_F) / (n² d); non-negative in exact
    // arithmetic (Σ‖x̃‖⁴/n ≥ (tr S)² ≥ ‖S‖²_F), clamped against rounding.
    let nf = n as f64;
    let b2 = ((fourth_moment / nf - frobenius) / (nf * p)).max(0.0);
    let intensity = if d2 > 0.0 { (b2 / d2).min(1.0) } else { 1.0 };
    (intensity, m)
}

impl PooledMoments {
    /// Validates the data and computes means, counts, `S` and `Σ‖x̃_j‖⁴`
    /// for rows labeled by class indices `classes[j] < k` (checked by the
    /// caller); `empty_class(c)` is the error for a class without samples.
    pub(crate) fn compute(
        x: &DMatrix<f64>,
        classes: &[usize],
        k: usize,
        fit: Fit,
        empty_class: impl Fn(usize) -> Error,
    ) -> Result<PooledMoments> {
        let (n, d) = x.shape();
        if d == 0 {
            return Err(Error::Empty { name: "x" });
        }
        if classes.len() != n {
            return Err(Error::DimensionMismatch {
                name: "labels (one per row of x)",
                expected: n,
                found: classes.len(),
            });
        }
        if let Fit::Ppca { rank } = fit {
            if rank == 0 || rank >= d {
                return Err(Error::InvalidRank {
                    k: rank,
                    max: d - 1,
                });
            }
        }
        crate::error::ensure_finite_matrix("x", x)?;
        let mut counts = vec![0usize; k];
        for &c in classes {
            counts[c] += 1;
        }
        if let Some(class) = counts.iter().position(|&c| c == 0) {
            return Err(empty_class(class));
        }
        if n < k + 1 {
            return Err(Error::NotEnoughSamples {
                name: "samples in total (each class mean uses one degree of freedom, \
                       the covariance needs one more)",
                needed: k + 1,
                found: n,
            });
        }

        // Class means, column by column (contiguous in column-major
        // storage), of the data divided by 2^{k_x} (max entry in [1, 2)):
        // sums of n entries near f64::MAX would overflow.
        use crate::linalg::{exponent, ldexp};
        let data_exponent = match x.amax() {
            0.0 => 0,
            largest => exponent(largest),
        };
        // d × k: column c is the mean of class c.
        let mut means = DMatrix::zeros(d, k);
        let mut sums = vec![0.0; k];
        for j in 0..d {
            let column = x.column(j);
            sums.iter_mut().for_each(|s| *s = 0.0);
            for (i, &c) in classes.iter().enumerate() {
                sums[c] += ldexp(column[i], -data_exponent);
            }
            for c in 0..k {
                means[(j, c)] = sums[c] / counts[c] as f64;
            }
        }
        // The centered samples, divided by a further 2^{k_c} so that the
        // largest lies in [1, 2): data far from zero but with tiny spread
        // (e.g. scaled by 1e-300) keep their variance.
        let mut largest_centered: f64 = 0.0;
        for j in 0..d {
            let column = x.column(j);
            for (i, &c) in classes.iter().enumerate() {
                largest_centered =
                    largest_centered.max((ldexp(column[i], -data_exponent) - means[(j, c)]).abs());
            }
        }
        let centered_exponent = if largest_centered > 0.0 {
            exponent(largest_centered)
        } else {
            0
        };
        let (covariance, fourth_moment) =
            pooled_scatter(x, classes, &means, data_exponent, centered_exponent);
        Ok(PooledMoments {
            means: (0..k)
                .map(|c| means.column(c).map(|m| ldexp(m, data_exponent)))
                .collect(),
            counts,
            covariance,
            fourth_moment,
            scale_exponent: 2 * (data_exponent + centered_exponent),
        })
    }
}

/// `S = (1/n) Σ_j x̃_j x̃_jᵀ` and `Σ_j ‖x̃_j‖⁴`, accumulated over blocks of
/// centered rows (`S += B Bᵀ` with the block `B` holding samples as
/// columns, lower triangle only), so only one `d × BLOCK_ROWS` block is
/// ever copied. The samples are `(x_j/2^{k_x} − μ̂_{y_j})/2^{k_c}`, with
/// the class means `μ̂` (columns of `means`) of the data divided by `2^{k_x}`.
fn pooled_scatter(
    x: &DMatrix<f64>,
    classes: &[usize],
    means: &DMatrix<f64>,
    data_exponent: i32,
    centered_exponent: i32,
) -> (DMatrix<f64>, f64) {
    use crate::linalg::ldexp;
    use faer::linalg::matmul::triangular::{BlockStructure, matmul};
    use faer::{Accum, MatMut, MatRef};

    let (n, d) = x.shape();
    let par = crate::linalg::parallelism_when(d >= PARALLEL_FROM_DIM);
    let mut scatter = DMatrix::<f64>::zeros(d, d);
    let mut block = vec![0.0; d * BLOCK_ROWS.min(n)];
    let mut fourth_moment = 0.0;
    let mut start = 0;
    while start < n {
        let rows = BLOCK_ROWS.min(n - start);
        // Column r of the block is sample start + r, centered by its class mean.
        for j in 0..d {
            let column = x.column(j);
            for r in 0..rows {
                let mean = means[(j, classes[start + r])];
                block[j + r * d] = ldexp(
                    ldexp(column[start + r], -data_exponent) - mean,
                    -centered_exponent,
                );
            }
        }
        for r in 0..rows {
            let sample = &block[r * d..(r + 1) * d];
            let norm2: f64 = sample.iter().map(|v| v * v).sum();
            fourth_moment += norm2 * norm2;
        }
        let centered = MatRef::from_column_major_slice(&block[..rows * d], d, rows);
        // Only the lower triangle: half the flops of the full product.
        matmul(
            MatMut::from_column_major_slice_mut(scatter.as_mut_slice(), d, d),
            BlockStructure::TriangularLower,
            Accum::Add,
            centered,
            BlockStructure::Rectangular,
            centered.transpose(),
            BlockStructure::Rectangular,
            1.0,
            par,
        );
        start += rows;
    }
    scatter /= n as f64;
    // Mirror the lower triangle: S is exactly symmetric.
    for j in 0..d {
        for i in 0..j {
            scatter[(i, j)] = scatter[(j, i)];
        }
    }
    (scatter, fourth_moment)
}

/// One line: the fit, the class counts, the pooled covariance's smallest
/// eigenvalue and zero directions, and what the regularization did; the
/// formatter's precision and width apply to each number.
impl std::fmt::Display for FitReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::display::number;
        write!(
            f,
            "{}: {} positive and {} negative samples; pooled covariance smallest eigenvalue {}, {} directions without variance",
            self.fit.name(),
            self.positives,
            self.negatives,
            number(f, self.pooled_min_eigenvalue()),
            self.zero_directions
        )?;
        match self.regularization {
            Regularization::None => write!(f, "; no regularization"),
            Regularization::Shrinkage {
                intensity,
                target_variance,
            } => write!(
                f,
                "; shrinkage intensity {} toward variance {}",
                number(f, intensity),
                number(f, target_variance)
            ),
            Regularization::Ppca {
                rank,
                noise,
                explained_variance_ratio,
            } => write!(
                f,
                "; PPCA rank {rank}, noise σ² = {}, explained variance {}",
                number(f, noise),
                number(f, explained_variance_ratio)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-class moments, `Pos` as class 0.
    fn compute(x: &DMatrix<f64>, y: &[Label], fit: Fit) -> PooledMoments {
        let classes: Vec<usize> = y.iter().map(|&l| usize::from(l == Label::Neg)).collect();
        PooledMoments::compute(x, &classes, 2, fit, |_| Error::Empty { name: "class" }).unwrap()
    }

    /// The hand-derived example of the module docs: S = diag(2, 1/2).
    fn example() -> (DMatrix<f64>, Vec<Label>) {
        let x = DMatrix::from_row_slice(4, 2, &[3.0, 1.0, -1.0, 1.0, -1.0, 0.0, -1.0, -2.0]);
        (x, vec![Label::Pos, Label::Pos, Label::Neg, Label::Neg])
    }

    #[test]
    fn pooled_moments_of_the_hand_example() {
        let (x, y) = example();
        let m = compute(&x, &y, Fit::Pooled);
        assert_eq!(m.means[0].as_slice(), &[1.0, 1.0]);
        assert_eq!(m.means[1].as_slice(), &[-1.0, -1.0]);
        // Data up to 3 (k_x = 1), centered entries up to 1 in those units
        // (k_c = 0): S is stored divided by 4.
        assert_eq!(m.scale_exponent, 2);
        assert_eq!(m.covariance.as_slice(), &[0.5, 0.0, 0.0, 0.125]);
        // ‖x̃/2‖⁴: 1, 1, 1/16, 1/16.
        assert_eq!(m.fourth_moment, 34.0 / 16.0);
    }

    #[test]
    fn ledoit_wolf_is_one_when_s_is_already_isotropic() {
        // Deviations (±1, 0) and (0, ±1) in each class: S = I/2 = m I.
        let x = DMatrix::from_row_slice(
            8,
            2,
            &[
                2.0, 1.0, 0.0, 1.0, 1.0, 2.0, 1.0, 0.0, //
                -2.0, -1.0, 0.0, -1.0, -1.0, -2.0, -1.0, 0.0,
            ],
        );
        let y = [[Label::Pos; 4], [Label::Neg; 4]].concat();
        let m = compute(&x, &y, Fit::LedoitWolf);
        // Data up to 2 (k_x = 1), centered entries 1/2 in those units (k_c = −1).
        assert_eq!(m.scale_exponent, 0);
        assert_eq!(m.covariance.as_slice(), &[0.5, 0.0, 0.0, 0.5]);
        let (delta, target) = ledoit_wolf_intensity(&m.covariance, m.fourth_moment, 8);
        assert_eq!((delta, target), (1.0, 0.5));
    }

    #[test]
    fn blocks_add_up_to_the_one_pass_scatter() {
        // More rows than one block, so the accumulation crosses blocks.
        let n = BLOCK_ROWS * 2 + 17;
        let x = DMatrix::from_fn(n, 3, |i, j| ((i * 7 + j * 13) % 11) as f64 - 0.3 * j as f64);
        let y: Vec<Label> = (0..n)
            .map(|i| if i % 3 == 0 { Label::Pos } else { Label::Neg })
            .collect();
        let m = compute(&x, &y, Fit::Pooled);
        let mut direct = DMatrix::zeros(3, 3);
        let mut fourth = 0.0;
        for (i, label) in y.iter().enumerate() {
            let mean = if *label == Label::Pos {
                &m.means[0]
            } else {
                &m.means[1]
            };
            let c = x.row(i).transpose() - mean;
            direct += &c * c.transpose();
            fourth += c.norm_squared().powi(2);
        }
        direct /= n as f64;
        let unit = crate::linalg::ldexp(1.0, m.scale_exponent);
        assert!((direct - &m.covariance * unit).amax() < 1e-12);
        assert!((fourth - m.fourth_moment * unit * unit).abs() < 1e-12 * fourth);
    }
}
