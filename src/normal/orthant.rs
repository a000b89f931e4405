//! Orthant probabilities of a correlated normal vector.
//!
//! For `Z ~ N(0, C)` in `m` dimensions and thresholds `h`,
//!
//! * the orthant probability is `P(Z_j ≤ h_j for every j)`;
//! * the exceedance probability is its complement,
//!   `P(Z_j > h_j for some j)`, computed directly (not as one minus the
//!   orthant probability) so that a small exceedance keeps its digits.
//!
//! Both return an [`Estimate`]: the value and an absolute error bound, 0
//! when the value is exact to rounding (m ≤ 2, through [`cdf`] and
//! [`bivariate_cdf`](super::bivariate_cdf)).

use nalgebra::{DMatrix, DVector};

use super::{bivariate_cdf, bivariate_cdf_complement, cdf};
use crate::{Error, Result};

/// A probability together with an absolute bound on its error.
///
/// `error_bound()` is 0 when the value is exact up to rounding (a closed
/// form); otherwise the true value lies in
/// `[value − error_bound, value + error_bound]` with the confidence the
/// computation was asked for ([`OrthantOptions::confidence`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    value: f64,
    error_bound: f64,
}

impl Estimate {
    /// An estimate exact up to rounding.
    pub(crate) fn exact(value: f64) -> Self {
        Self {
            value,
            error_bound: 0.0,
        }
    }

    /// An estimate with an absolute error bound.
    #[allow(dead_code)] // the quasi-Monte Carlo path for m ≥ 3 uses it
    pub(crate) fn with_bound(value: f64, error_bound: f64) -> Self {
        Self { value, error_bound }
    }

    /// The estimated probability.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// An absolute bound on the error of [`value`](Self::value): 0 when the
    /// value is exact up to rounding.
    pub fn error_bound(&self) -> f64 {
        self.error_bound
    }

    /// Whether the value is exact up to rounding.
    pub fn is_exact(&self) -> bool {
        self.error_bound == 0.0
    }
}

/// Accuracy targets of [`orthant_probability`] and
/// [`exceedance_probability`] in dimensions where no closed form exists.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct OrthantOptions {
    /// Target absolute error (default 1e-6).
    pub absolute_error: f64,
    /// Confidence with which the error bound holds (default 0.99).
    pub confidence: f64,
    /// Seed of the randomization (default 0): the same seed gives the same
    /// result, whatever the number of threads.
    pub seed: u64,
}

impl Default for OrthantOptions {
    fn default() -> Self {
        Self {
            absolute_error: 1e-6,
            confidence: 0.99,
            seed: 0,
        }
    }
}

impl OrthantOptions {
    /// Sets the target absolute error.
    pub fn with_absolute_error(mut self, absolute_error: f64) -> Self {
        self.absolute_error = absolute_error;
        self
    }

    /// Sets the confidence of the error bound.
    pub fn with_confidence(mut self, confidence: f64) -> Self {
        self.confidence = confidence;
        self
    }

    /// Sets the seed of the randomization.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// `P(Z_j ≤ h_j for every j)` for `Z ~ N(0, covariance)`.
///
/// Exact (to rounding) in one and two dimensions.
///
/// # Errors
///
/// [`Error::NotSquare`], [`Error::DimensionMismatch`] or
/// [`Error::NonFiniteEntry`] for malformed input; [`Error::Unsupported`] in
/// three or more dimensions (not yet implemented).
///
/// # Example
///
/// ```
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
/// use manifold_robustness::normal::{self, OrthantOptions};
///
/// let c = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.5, 1.0]);
/// let h = DVector::from_vec(vec![0.0, 0.0]);
/// let p = normal::orthant_probability(&c, &h, &OrthantOptions::default())?;
/// // P(Z₁ ≤ 0, Z₂ ≤ 0) = 1/4 + asin(ρ)/(2π) = 1/3 for ρ = ½.
/// assert!((p.value() - 1.0 / 3.0).abs() < 1e-15);
/// assert!(p.is_exact());
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
pub fn orthant_probability(
    covariance: &DMatrix<f64>,
    thresholds: &DVector<f64>,
    options: &OrthantOptions,
) -> Result<Estimate> {
    let (h, rho) = standardize(covariance, thresholds, options)?;
    match h.len() {
        1 => Ok(Estimate::exact(cdf(h[0]))),
        2 => Ok(Estimate::exact(bivariate_cdf(h[0], h[1], rho[(0, 1)]))),
        m => Err(Error::Unsupported(format!(
            "orthant probabilities in {m} dimensions"
        ))),
    }
}

/// `P(Z_j > h_j for some j)` for `Z ~ N(0, covariance)`, computed without
/// forming `1 − orthant_probability`.
///
/// # Errors
///
/// As [`orthant_probability`].
pub fn exceedance_probability(
    covariance: &DMatrix<f64>,
    thresholds: &DVector<f64>,
    options: &OrthantOptions,
) -> Result<Estimate> {
    let (h, rho) = standardize(covariance, thresholds, options)?;
    match h.len() {
        1 => Ok(Estimate::exact(cdf(-h[0]))),
        2 => Ok(Estimate::exact(bivariate_cdf_complement(
            h[0],
            h[1],
            rho[(0, 1)],
        ))),
        m => Err(Error::Unsupported(format!(
            "exceedance probabilities in {m} dimensions"
        ))),
    }
}

/// Validates the input and returns the standardized thresholds
/// `h_j / √C_jj` and the correlation matrix.
fn standardize(
    covariance: &DMatrix<f64>,
    thresholds: &DVector<f64>,
    options: &OrthantOptions,
) -> Result<(DVector<f64>, DMatrix<f64>)> {
    let m = covariance.nrows();
    if covariance.ncols() != m {
        return Err(Error::NotSquare {
            name: "covariance",
            rows: m,
            cols: covariance.ncols(),
        });
    }
    if m == 0 {
        return Err(Error::Empty { name: "covariance" });
    }
    if thresholds.len() != m {
        return Err(Error::DimensionMismatch {
            name: "thresholds",
            expected: m,
            found: thresholds.len(),
        });
    }
    if !(options.absolute_error > 0.0 && options.absolute_error < 1.0) {
        return Err(Error::InvalidParameter {
            name: "absolute_error",
            value: options.absolute_error,
            reason: "must lie in (0, 1)",
        });
    }
    if !(options.confidence > 0.0 && options.confidence < 1.0) {
        return Err(Error::InvalidParameter {
            name: "confidence",
            value: options.confidence,
            reason: "must lie in (0, 1)",
        });
    }
    let scale: Vec<f64> = (0..m).map(|j| covariance[(j, j)].sqrt()).collect();
    for j in 0..m {
        if !(scale[j] > 0.0 && scale[j].is_finite()) {
            return Err(Error::InvalidParameter {
                name: "covariance",
                value: covariance[(j, j)],
                reason: "diagonal entries must be positive and finite",
            });
        }
    }
    let rho = DMatrix::from_fn(m, m, |i, j| {
        if i == j {
            1.0
        } else {
            (covariance[(i, j)] / scale[i] / scale[j]).clamp(-1.0, 1.0)
        }
    });
    let h = DVector::from_fn(m, |j, _| thresholds[j] / scale[j]);
    if h.iter().any(|v| v.is_nan()) {
        return Err(Error::NonFinite { name: "thresholds" });
    }
    Ok((h, rho))
}
