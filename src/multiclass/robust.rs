//! Standard and robust error of a multi-class linear classifier as
//! Gaussian orthant probabilities ([THEORY M3](crate::theory#m3-robust-error-as-gaussian-orthant-probabilities)).
//!
//! For class `y`, the facets `D_j = w_y − w_j` and offsets
//! `c_j = b_y − b_j` (`j ≠ y`) give the facet margins
//! `h_j(x) = D_jᵀx + c_j`, jointly Gaussian for `x ~ N(μ_y, Σ)`:
//!
//! ```text
//! h ~ N(ν, C),    ν_j = D_jᵀμ_y + c_j,    C_jl = D_jᵀ Σ D_l,
//! RE_ε = Σ_y π_y P(∃ j ≠ y : h_j ≤ ε σ_K(D_j))
//!      = Σ_y π_y P(∃ j : Z_j > (ν_j − ε σ_K(D_j))/√C_jj),   Z ~ N(0, R),
//! ```
//!
//! with `R_jl = C_jl/√(C_jj C_ll)` the correlation of the margins: each
//! class contributes one `(K − 1)`-dimensional exceedance probability
//! ([`normal::exceedance_probability`](crate::normal::exceedance_probability)),
//! computed directly (not as one minus an orthant probability) so that a
//! small robust error keeps its digits. The standard error is `ε = 0`.
//!
//! **Scale.** Every quantity is formed from the classifier divided by a
//! power of two (weights of size one): the standardized thresholds
//! `ν_j/√C_jj` and reaches `σ_K(D_j)/√C_jj` are invariant to the
//! classifier's scale, and `√C_jj = ‖Σ^{1/2} D_j‖` is a norm, never a
//! difference. `R` is the Gram matrix of the unit vectors
//! `Σ^{1/2}D_j/‖Σ^{1/2}D_j‖`, so it is positive semidefinite to rounding.
//! It is singular when the `K − 1` facets are linearly dependent, which
//! is always the case when `K − 1 > d`; the exceedance probability accepts
//! such `R`.
//!
//! **Accuracy.** For `K ≤ 3` every term is a value of `Φ` or of the
//! bivariate `Φ₂`, exact to their relative accuracy (the returned
//! [`Estimate`] has error bound `0`). For `K ≥ 4` each class's term is an
//! estimate with an absolute error bound, asked for with the caller's
//! [`OrthantOptions`]: target absolute error `a` per class (so the weighted
//! sum has error bound at most `a`) and confidence `1 − (1 − c)/K` per class,
//! so that all `K` bounds — and hence the sum's — hold together with
//! confidence at least `c` (Bonferroni).

use nalgebra::{DMatrix, DVector};

use super::{MulticlassClassifier, MulticlassGmm};
use crate::error::{Error, Result, ensure_budget, ensure_dim};
use crate::normal::{Estimate, OrthantOptions, exceedance_probability};
use crate::threat::Threat;

/// The law of one class's facet margins, standardized.
struct ClassLaw {
    /// `R`, the correlation of the `K − 1` margins.
    correlation: DMatrix<f64>,
    /// `ν_j/√C_jj`.
    location: DVector<f64>,
    /// `σ_K(D_j)/√C_jj` (all `0` without a threat).
    reach: DVector<f64>,
}

impl MulticlassGmm {
    /// The standard error `P(ŷ(x) ≠ y)` of a multi-class classifier
    /// (a point on a boundary counts as an error), exact for `K ≤ 3` and
    /// estimated with the default [`OrthantOptions`] (absolute error
    /// `1e-6` at confidence 99%) for `K ≥ 4`.
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{default_model, Gmm, MulticlassClassifier, MulticlassGmm};
    ///
    /// // Two classes: the two-class error.
    /// let gmm = default_model();
    /// let m = MulticlassGmm::from(&gmm);
    /// let e = m.error(&m.bayes_classifier())?;
    /// assert!(e.is_exact());
    /// assert!((e.value() - gmm.bayes_error()).abs() < 1e-15);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the classifier has another
    /// dimension or number of classes than the model;
    /// [`Error::NonFinite`] (named `"margins"`) when the margin law is not
    /// representable; [`Error::Unsupported`] where the exceedance
    /// probability has no method for `K − 1` dimensions (see
    /// [`normal::exceedance_probability`](crate::normal::exceedance_probability)).
    pub fn error(&self, clf: &MulticlassClassifier) -> Result<Estimate> {
        self.error_with(clf, &OrthantOptions::default())
    }

    /// [`error`](Self::error) with the accuracy asked of the orthant
    /// probabilities (see the [module docs](crate::multiclass::robust)).
    ///
    /// # Errors
    /// As [`error`](Self::error), and [`Error::InvalidParameter`] for
    /// options out of range.
    pub fn error_with(
        &self,
        clf: &MulticlassClassifier,
        options: &OrthantOptions,
    ) -> Result<Estimate> {
        let laws = self.class_laws(clf, None)?;
        self.combine(&laws, 0.0, options)
    }

    /// The robust error `RE_ε` against `threat` at budget `eps`
    /// ([THEORY M3](crate::theory#m3-robust-error-as-gaussian-orthant-probabilities)):
    /// the probability that the minimal attack of
    /// [`multiclass::minimal_perturbation`](super::minimal_perturbation)
    /// needs a budget of at most `eps`. Exact for `K ≤ 3`; for `K ≥ 4` an
    /// estimate with the default [`OrthantOptions`].
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{Covariance, MulticlassGmm, Threat};
    /// use manifold_robustness::nalgebra::DVector;
    /// use manifold_robustness::normal;
    ///
    /// // Three classes at the corners of an equilateral triangle with side 4,
    /// // Σ = I, equal priors. Each class's two facet margins have
    /// // correlation 1/2 and standardized mean 2; ℓ2 at ε lowers both by ε.
    /// let s = 3f64.sqrt();
    /// let means = vec![
    ///     DVector::from_vec(vec![0.0, 4.0 / s]),
    ///     DVector::from_vec(vec![-2.0, -2.0 / s]),
    ///     DVector::from_vec(vec![2.0, -2.0 / s]),
    /// ];
    /// let m = MulticlassGmm::new(means, Covariance::isotropic(2, 1.0)?, DVector::from_element(3, 1.0 / 3.0))?;
    /// let clf = m.bayes_classifier();
    /// let re = m.robust_error(&clf, &Threat::l2(), 0.5)?;
    /// let exact = normal::bivariate_cdf_complement(1.5, 1.5, 0.5);
    /// assert!(re.is_exact());
    /// assert!((re.value() - exact).abs() < 1e-14);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidBudget`] for a negative or non-finite `eps`;
    /// [`Error::DimensionMismatch`] when the threat is tied to another
    /// dimension; otherwise as [`error`](Self::error).
    pub fn robust_error(
        &self,
        clf: &MulticlassClassifier,
        threat: &Threat,
        eps: f64,
    ) -> Result<Estimate> {
        self.robust_error_with(clf, threat, eps, &OrthantOptions::default())
    }

    /// [`robust_error`](Self::robust_error) with the accuracy asked of the
    /// orthant probabilities.
    ///
    /// # Errors
    /// As [`robust_error`](Self::robust_error) and
    /// [`error_with`](Self::error_with).
    pub fn robust_error_with(
        &self,
        clf: &MulticlassClassifier,
        threat: &Threat,
        eps: f64,
        options: &OrthantOptions,
    ) -> Result<Estimate> {
        ensure_budget(eps)?;
        let laws = self.class_laws(clf, Some(threat))?;
        self.combine(&laws, eps, options)
    }

    /// The robust-error curve: `RE_ε` at each budget of `budgets`, with the
    /// margin laws computed once.
    ///
    /// # Example
    /// ```
    /// use manifold_robustness::{default_model, MulticlassGmm, Threat};
    /// use manifold_robustness::normal::OrthantOptions;
    ///
    /// let gmm = default_model();
    /// let m = MulticlassGmm::from(&gmm);
    /// let clf = m.bayes_classifier();
    /// let threat = Threat::linf();
    /// let curve = m.robust_error_curve(&clf, &threat, &[0.0, 0.01, 0.02], &OrthantOptions::default())?;
    /// let two_class = gmm.robust_error(&gmm.bayes_classifier(), &threat, 0.02)?;
    /// assert!((curve[2].value() / two_class - 1.0).abs() < 1e-12);
    /// assert!(curve[0].value() < curve[1].value() && curve[1].value() < curve[2].value());
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`robust_error_with`](Self::robust_error_with), for the first
    /// invalid budget.
    pub fn robust_error_curve(
        &self,
        clf: &MulticlassClassifier,
        threat: &Threat,
        budgets: &[f64],
        options: &OrthantOptions,
    ) -> Result<Vec<Estimate>> {
        for &eps in budgets {
            ensure_budget(eps)?;
        }
        let laws = self.class_laws(clf, Some(threat))?;
        budgets
            .iter()
            .map(|&eps| self.combine(&laws, eps, options))
            .collect()
    }

    /// `Σ_y π_y P(∃ j : Z_j > location_j − ε reach_j)` with the per-class
    /// accuracy of the module docs.
    fn combine(&self, laws: &[ClassLaw], eps: f64, options: &OrthantOptions) -> Result<Estimate> {
        let k = self.classes();
        let per_class = options
            .clone()
            .with_confidence(1.0 - (1.0 - options.confidence) / k as f64);
        let mut value = 0.0;
        let mut bound = 0.0;
        // The union bound: the total is within its bound unless some class's
        // estimate misses, which happens with probability at most Σ(1 − c_y).
        let mut miss = 0.0;
        for (y, law) in laws.iter().enumerate() {
            let thresholds = if eps == 0.0 {
                law.location.clone()
            } else {
                &law.location - &law.reach * eps
            };
            let estimate = exceedance_probability(&law.correlation, &thresholds, &per_class)?;
            value += self.priors()[y] * estimate.value();
            bound += self.priors()[y] * estimate.error_bound();
            miss += 1.0 - estimate.confidence();
        }
        let value = value.clamp(0.0, 1.0);
        Ok(if bound == 0.0 {
            Estimate::exact(value)
        } else {
            Estimate::with_bound(value, bound, (1.0 - miss).max(0.0))
        })
    }

    /// The standardized margin law of every class (module docs).
    fn class_laws(
        &self,
        clf: &MulticlassClassifier,
        threat: Option<&Threat>,
    ) -> Result<Vec<ClassLaw>> {
        ensure_dim("classifier", self.dim(), clf.dim())?;
        ensure_dim("classifier (classes)", self.classes(), clf.classes())?;
        if let Some(d) = threat.and_then(Threat::dim) {
            ensure_dim("threat", self.dim(), d)?;
        }
        let k = self.classes();
        let cov = self.covariance();
        let mut laws = Vec::with_capacity(k);
        for y in 0..k {
            let facets: Vec<usize> = (0..k).filter(|&j| j != y).collect();
            let m = facets.len();
            let mut whitened = DMatrix::zeros(cov.dim(), m);
            let mut location = DVector::zeros(m);
            let mut reach = DVector::zeros(m);
            for (a, &j) in facets.iter().enumerate() {
                let (w, c) = clf.unit_facet(y, j);
                let g = cov.map_spectrum_unchecked(&w, |_, l| l.sqrt());
                let spread = crate::linalg::norm(g.as_slice());
                let mean = w.dot(self.mean(y)) + c;
                if !(spread > 0.0 && spread.is_finite() && mean.is_finite()) {
                    return Err(Error::NonFinite { name: "margins" });
                }
                whitened.column_mut(a).copy_from(&(g / spread));
                location[a] = mean / spread;
                if let Some(threat) = threat {
                    reach[a] = threat.support_unchecked(&w) / spread;
                }
            }
            let mut correlation = whitened.tr_mul(&whitened);
            for a in 0..m {
                correlation[(a, a)] = 1.0;
                for b in 0..a {
                    let r = (0.5 * (correlation[(a, b)] + correlation[(b, a)])).clamp(-1.0, 1.0);
                    correlation[(a, b)] = r;
                    correlation[(b, a)] = r;
                }
            }
            laws.push(ClassLaw {
                correlation,
                location,
                reach,
            });
        }
        Ok(laws)
    }
}
