//! Spectra and covariances in the three representations.

use std::ops::RangeInclusive;

use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use crate::covariance::Covariance;
use crate::default_model::seeded_rotation;

/// How the eigenvalues of generated covariances are drawn: dimension
/// range, condition number, scale and ties (module docs, Spectra).
///
/// # Example
/// ```
/// use manifold_robustness::strategies::Spectra;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let spectra = Spectra::new().dims(4..=4).exact_condition(1e6).scale(1e-3);
/// let cov = spectra.dense().new_tree(&mut TestRunner::deterministic()).unwrap().current();
/// let values = cov.eigenvalues();
/// assert_eq!(cov.dim(), 4);
/// assert!((values[0] / values[3] / 1e6 - 1.0).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Spectra {
    dims: RangeInclusive<usize>,
    condition: f64,
    exact: bool,
    scale: f64,
    ties: bool,
}

impl Default for Spectra {
    fn default() -> Self {
        Spectra::new()
    }
}

impl Spectra {
    /// The defaults: `d ∈ 2..=8`, condition number at most `1e4`,
    /// eigenvalues around 1 (`[1e-2, 1e2)`), no ties.
    pub fn new() -> Spectra {
        Spectra {
            dims: 2..=8,
            condition: 1e4,
            exact: false,
            scale: 1.0,
            ties: false,
        }
    }

    /// The dimensions to draw from.
    ///
    /// # Panics
    /// When the range is empty or starts below 2 (spiked covariances need
    /// a rank `1 ≤ k < d`).
    pub fn dims(mut self, dims: RangeInclusive<usize>) -> Spectra {
        assert!(
            *dims.start() >= 2 && dims.start() <= dims.end(),
            "Spectra::dims: need a non-empty range of dimensions ≥ 2, got {dims:?}"
        );
        self.dims = dims;
        self
    }

    /// Condition numbers `λ₁/λ_d` up to `condition`.
    ///
    /// # Panics
    /// Unless `1 ≤ condition < ∞`.
    pub fn condition(mut self, condition: f64) -> Spectra {
        assert!(
            (1.0..f64::INFINITY).contains(&condition),
            "Spectra::condition: need 1 ≤ condition < ∞, got {condition}"
        );
        self.condition = condition;
        self.exact = false;
        self
    }

    /// Condition number exactly `condition` (up to rounding): the largest
    /// and smallest eigenvalues sit at the ends of the range.
    ///
    /// # Panics
    /// Unless `1 ≤ condition < ∞`.
    pub fn exact_condition(self, condition: f64) -> Spectra {
        let mut out = self.condition(condition);
        out.exact = true;
        out
    }

    /// The geometric center of the eigenvalue range (default 1): the
    /// eigenvalues lie in `[scale/√condition, scale·√condition]`.
    ///
    /// # Panics
    /// Unless `scale` is positive and finite.
    pub fn scale(mut self, scale: f64) -> Spectra {
        assert!(
            scale > 0.0 && scale.is_finite(),
            "Spectra::scale: need a positive finite scale, got {scale}"
        );
        self.scale = scale;
        self
    }

    /// Whether eigenvalues may repeat exactly (each equals the previous one
    /// with probability 1/3).
    pub fn ties(mut self, ties: bool) -> Spectra {
        self.ties = ties;
        self
    }

    /// `d` eigenvalues, descending.
    pub fn eigenvalues(&self, d: usize) -> BoxedStrategy<Vec<f64>> {
        let half = self.condition.log10() / 2.0;
        let (scale, exact, ties) = (self.scale, self.exact, self.ties);
        let exponents = if half > 0.0 {
            prop::collection::vec(-half..half, d).boxed()
        } else {
            Just(vec![0.0; d]).boxed()
        };
        let tie_flags = if ties {
            prop::collection::vec(prop::bool::weighted(1.0 / 3.0), d).boxed()
        } else {
            Just(vec![false; d]).boxed()
        };
        (exponents, tie_flags)
            .prop_map(move |(exps, tie)| {
                let mut v: Vec<f64> = exps.iter().map(|e| scale * 10f64.powf(*e)).collect();
                v.sort_by(|a, b| b.total_cmp(a));
                if exact && d >= 2 {
                    v[0] = scale * 10f64.powf(half);
                    v[d - 1] = scale * 10f64.powf(-half);
                }
                // The pinned smallest eigenvalue keeps its value.
                let last = if exact { d.saturating_sub(1) } else { d };
                for i in 1..last {
                    if tie[i] {
                        v[i] = v[i - 1];
                    }
                }
                v
            })
            .boxed()
    }

    /// Dense covariances `Q diag(λ) Qᵀ` with a seeded random rotation `Q`.
    pub fn dense(&self) -> BoxedStrategy<Covariance> {
        let spectra = self.clone();
        self.dims
            .clone()
            .prop_flat_map(move |d| spectra.dense_of(d))
            .boxed()
    }

    /// Diagonal covariances: the eigenvalues in a random axis order.
    pub fn diagonal(&self) -> BoxedStrategy<Covariance> {
        let spectra = self.clone();
        self.dims
            .clone()
            .prop_flat_map(move |d| {
                (
                    spectra.eigenvalues(d),
                    Just((0..d).collect::<Vec<usize>>()).prop_shuffle(),
                )
                    .prop_map(|(values, order)| {
                        let variances =
                            DVector::from_iterator(values.len(), order.iter().map(|&i| values[i]));
                        Covariance::diagonal(variances).expect("positive by construction")
                    })
            })
            .boxed()
    }

    /// Spiked covariances of rank `1 ≤ k < d` with a random orthonormal
    /// basis: the `k` leading eigenvalues are explicit, the noise level sits
    /// strictly below `λ_k` (between half of `λ_{k+1}` and half of `λ_k`),
    /// so the condition number may reach twice the bound.
    pub fn spiked(&self) -> BoxedStrategy<Covariance> {
        let spectra = self.clone();
        self.dims
            .clone()
            .prop_flat_map(move |d| spectra.spiked_of(d))
            .boxed()
    }

    /// Any of the three representations, each with probability 1/3 (the
    /// spiked ones with `d ≥ 3` when the range allows: a rank-one spike in
    /// the plane has no noise block to speak of).
    pub fn any(&self) -> BoxedStrategy<Covariance> {
        let spectra = self.clone();
        let top = *self.dims.end();
        self.dims
            .clone()
            .prop_flat_map(move |d| {
                prop_oneof![
                    spectra.dense_of(d),
                    spectra.diagonal_of(d),
                    spectra.spiked_of(d.max(3).min(top))
                ]
            })
            .boxed()
    }

    fn dense_of(&self, d: usize) -> BoxedStrategy<Covariance> {
        (self.eigenvalues(d), any::<u64>())
            .prop_map(move |(values, seed)| {
                let q = seeded_rotation(d, seed);
                let scaled = DMatrix::from_fn(d, d, |i, j| q[(i, j)] * values[j]);
                let sigma = &scaled * q.transpose();
                Covariance::dense((&sigma + sigma.transpose()) * 0.5)
                    .expect("positive definite by construction")
            })
            .boxed()
    }

    fn diagonal_of(&self, d: usize) -> BoxedStrategy<Covariance> {
        self.clone().dims(d..=d).diagonal()
    }

    fn spiked_of(&self, d: usize) -> BoxedStrategy<Covariance> {
        (1..d, self.eigenvalues(d), any::<u64>())
            .prop_map(move |(k, values, seed)| {
                let q = seeded_rotation(d, seed);
                let basis = q.columns(0, k).into_owned();
                // values are descending; the noise sits strictly below the k-th.
                let noise = (values[k] * 0.5 + values[d - 1] * 0.25).min(values[k - 1] * 0.5);
                Covariance::spiked(basis, DVector::from_vec(values[..k].to_vec()), noise)
                    .expect("valid spiked spectrum by construction")
            })
            .boxed()
    }
}

/// Eigenvalues spread over `[1e-2, 1e2)`, sorted descending (the default
/// [`Spectra`]).
pub fn spectrum(d: usize) -> BoxedStrategy<Vec<f64>> {
    Spectra::new().eigenvalues(d)
}

/// A dense covariance of dimension `d` with the default [`Spectra`].
///
/// # Panics
/// For `d < 2`.
pub fn dense_covariance(d: usize) -> BoxedStrategy<Covariance> {
    Spectra::new().dims(d..=d).dense()
}

/// A diagonal covariance of dimension `d` with the default [`Spectra`].
///
/// # Panics
/// For `d < 2`.
pub fn diagonal_covariance(d: usize) -> BoxedStrategy<Covariance> {
    Spectra::new().dims(d..=d).diagonal()
}

/// A spiked covariance of dimension `d` with the default [`Spectra`].
///
/// # Panics
/// For `d < 2`.
pub fn spiked_covariance(d: usize) -> BoxedStrategy<Covariance> {
    Spectra::new().dims(d..=d).spiked()
}

/// Any of the three representations with the default [`Spectra`]
/// (`d ∈ 2..=8`).
pub fn covariance() -> BoxedStrategy<Covariance> {
    Spectra::new().any()
}
