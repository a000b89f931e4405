//! Multi-class linear classifiers `argmax_k (w_kᵀx + b_k)`
//! ([THEORY §12](crate::theory#12-multi-class-models)).

use nalgebra::{DMatrix, DVector};

use crate::classifier::LinearClassifier;
use crate::classifier::Points;
use crate::error::{Error, Result, ensure_dim, ensure_finite};

/// A linear classifier with `K ≥ 2` classes: scores `s_k(x) = w_kᵀx + b_k`,
/// prediction `argmax_k s_k(x)` (the smallest such `k` on a tie).
///
/// A labeled point `(x, y)` counts as correctly classified when `y` is
/// the *strict* winner, i.e. every facet margin
/// `h_j(x) = s_y(x) − s_j(x)`, `j ≠ y`, is positive; a point on a
/// boundary counts as an error for every label, as in the two-class crate.
///
/// # Example
/// ```
/// use manifold_robustness::MulticlassClassifier;
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
///
/// let w = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0]);
/// let clf = MulticlassClassifier::new(w, DVector::from_vec(vec![0.0, 0.0, -1.0]))?;
/// let x = DVector::from_vec(vec![0.5, 2.0]);
/// assert_eq!(clf.scores(&x).as_slice(), &[0.5, -0.5, 1.0]);
/// assert_eq!(clf.predict(&x), 2);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MulticlassClassifier {
    weights: DMatrix<f64>,
    biases: DVector<f64>,
    /// `W/2^e` with `max |W_kj|/2^e ∈ [1, 2)`: the decisions, attacks and
    /// errors (invariant to a common scale) are computed at size one.
    unit_weights: DMatrix<f64>,
    /// `b/2^e`, saturated to `±f64::MAX` (which keeps every decision).
    unit_biases: DVector<f64>,
    /// `e`.
    exponent: i32,
}

impl MulticlassClassifier {
    /// A classifier from the `K × d` weight matrix (row `k` is `w_k`) and
    /// the `K` biases.
    ///
    /// # Errors
    /// [`Error::NotEnoughSamples`] (named `"classes"`) for fewer than two
    /// rows; [`Error::Empty`] for `d = 0`; [`Error::DimensionMismatch`]
    /// when `biases` does not have `K` entries; [`Error::NonFiniteEntry`]
    /// for a non-finite weight or bias; [`Error::IdenticalRows`] (named
    /// `"weights"`) when two classes have the same weights (their facet
    /// `w_i − w_j = 0` would be no boundary at all).
    pub fn new(weights: DMatrix<f64>, biases: DVector<f64>) -> Result<MulticlassClassifier> {
        let (k, d) = weights.shape();
        if k < 2 {
            return Err(Error::NotEnoughSamples {
                name: "classes",
                needed: 2,
                found: k,
            });
        }
        if d == 0 {
            return Err(Error::Empty { name: "weights" });
        }
        ensure_dim("biases", k, biases.len())?;
        crate::error::ensure_finite_matrix("weights", &weights)?;
        ensure_finite("biases", biases.as_slice())?;
        for second in 1..k {
            for first in 0..second {
                if weights.row(first) == weights.row(second) {
                    return Err(Error::IdenticalRows {
                        name: "weights",
                        first,
                        second,
                    });
                }
            }
        }
        Ok(MulticlassClassifier::from_valid_parts(weights, biases))
    }

    /// A classifier from parts the caller made valid (finite, `K ≥ 2`,
    /// distinct rows).
    pub(crate) fn from_valid_parts(
        weights: DMatrix<f64>,
        biases: DVector<f64>,
    ) -> MulticlassClassifier {
        use crate::linalg::{exponent, ldexp};
        let largest = weights.amax();
        let e = if largest > 0.0 { exponent(largest) } else { 0 };
        let unit_weights = weights.map(|v| ldexp(v, -e));
        let unit_biases = biases.map(|b| ldexp(b, -e).clamp(-f64::MAX, f64::MAX));
        MulticlassClassifier {
            weights,
            biases,
            unit_weights,
            unit_biases,
            exponent: e,
        }
    }

    /// The two-class classifier `sign(wᵀx + b)` as a two-class
    /// multi-class one: class `0` (`Label::Neg`) has weights `0` and bias
    /// `0`, class `1` (`Label::Pos`) has `(w, b)`, so the facet of class 1
    /// is `(w, b)` and that of class 0 is `(−w, −b)`, exactly.
    ///
    /// ```
    /// use manifold_robustness::{LinearClassifier, MulticlassClassifier};
    /// use manifold_robustness::nalgebra::DVector;
    ///
    /// let two = LinearClassifier::new(DVector::from_vec(vec![1.0, -1.0]), 0.5)?;
    /// let clf = MulticlassClassifier::from_two_class(&two);
    /// assert_eq!(clf.predict(&DVector::from_vec(vec![1.0, 0.0])), 1);
    /// assert_eq!(clf.facet(0, 1)?.weights().as_slice(), &[-1.0, 1.0]);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    pub fn from_two_class(clf: &LinearClassifier) -> MulticlassClassifier {
        let d = clf.dim();
        let mut weights = DMatrix::zeros(2, d);
        weights.row_mut(1).copy_from(&clf.weights().transpose());
        MulticlassClassifier::from_valid_parts(weights, DVector::from_vec(vec![0.0, clf.bias()]))
    }

    /// The number of classes `K`.
    pub fn classes(&self) -> usize {
        self.weights.nrows()
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.weights.ncols()
    }

    /// The `K × d` weights (row `k` is `w_k`).
    pub fn weights(&self) -> &DMatrix<f64> {
        &self.weights
    }

    /// The `K` biases.
    pub fn biases(&self) -> &DVector<f64> {
        &self.biases
    }

    /// The weights and biases divided by the power of two `2^e` that
    /// brings the largest weight to `[1, 2)` (same decisions).
    pub(crate) fn unit_parts(&self) -> (&DMatrix<f64>, &DVector<f64>) {
        (&self.unit_weights, &self.unit_biases)
    }

    /// The `e` of [`unit_parts`](Self::unit_parts): `W = 2^e Ŵ`.
    pub(crate) fn scale_exponent(&self) -> i32 {
        self.exponent
    }

    /// The scores `s_k(x) = w_kᵀx + b_k`.
    ///
    /// # Panics
    /// If `x` does not have dimension `d`; [`try_scores`](Self::try_scores)
    /// returns an error instead.
    pub fn scores(&self, x: &DVector<f64>) -> DVector<f64> {
        assert_eq!(
            x.len(),
            self.dim(),
            "point dimension does not match the classifier"
        );
        &self.weights * x + &self.biases
    }

    /// The scores, checking the point.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFiniteEntry`] (named
    /// `"point"`), [`Error::NonFinite`] for a score that overflows (named
    /// `"scores"`).
    pub fn try_scores(&self, x: &DVector<f64>) -> Result<DVector<f64>> {
        ensure_dim("point", self.dim(), x.len())?;
        ensure_finite("point", x.as_slice())?;
        let scores = &self.weights * x + &self.biases;
        if scores.iter().all(|s| s.is_finite()) {
            Ok(scores)
        } else {
            Err(Error::NonFinite { name: "scores" })
        }
    }

    /// The predicted class `argmax_k s_k(x)`, the smallest `k` on a tie.
    /// Decided on the scores of the classifier scaled to size one, so
    /// weights near `f64::MAX` still give a class.
    ///
    /// # Panics
    /// If `x` does not have dimension `d`.
    pub fn predict(&self, x: &DVector<f64>) -> usize {
        assert_eq!(
            x.len(),
            self.dim(),
            "point dimension does not match the classifier"
        );
        argmax(&(&self.unit_weights * x + &self.unit_biases))
    }

    /// The scores of every row of `x` (`n × d`) as an `n × K` matrix: one
    /// matrix product `x Wᵀ`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `x` does not have `d` columns,
    /// [`Error::NonFiniteEntry`] (named `"x"`) for a score that is not
    /// finite.
    pub fn scores_batch<'a>(&self, x: impl Points<'a>) -> Result<DMatrix<f64>> {
        let x = &*x.points();
        ensure_dim("samples (columns of x)", self.dim(), x.ncols())?;
        let scores = add_biases(x * self.weights.transpose(), &self.biases);
        crate::error::ensure_finite_matrix("x", &scores)?;
        Ok(scores)
    }

    /// The scores of the classifier scaled to size one (`n × K`).
    pub(crate) fn unit_scores_batch(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        add_biases(x * self.unit_weights.transpose(), &self.unit_biases)
    }

    /// The predicted class of every row of `x` (`n × d`).
    ///
    /// ```
    /// use manifold_robustness::MulticlassClassifier;
    /// use manifold_robustness::nalgebra::{DMatrix, DVector};
    ///
    /// let w = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0]);
    /// let clf = MulticlassClassifier::new(w, DVector::zeros(3))?;
    /// let x = DMatrix::from_row_slice(3, 2, &[2.0, 1.0, -2.0, 1.0, 0.0, 1.0]);
    /// assert_eq!(clf.predict_batch(&x)?, [0, 1, 2]);
    /// // The second row is labeled 2, but class 1 wins there.
    /// assert_eq!(clf.sample_error(&x, &[0, 2, 2])?, 1.0 / 3.0);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `x` does not have `d` columns,
    /// [`Error::NonFiniteEntry`] for a non-finite entry of `x`.
    pub fn predict_batch<'a>(&self, x: impl Points<'a>) -> Result<Vec<usize>> {
        let x = &*x.points();
        ensure_dim("samples (columns of x)", self.dim(), x.ncols())?;
        crate::error::ensure_finite_matrix("x", x)?;
        let scores = self.unit_scores_batch(x);
        Ok((0..x.nrows())
            .map(|i| argmax(&scores.row(i).transpose()))
            .collect())
    }

    /// The sample error: the fraction of rows whose label is not the strict
    /// winner (some facet margin `s_y − s_j ≤ 0`), i.e. the empirical
    /// robust error at budget 0
    /// ([`multiclass::empirical_robust_error`](super::empirical_robust_error)).
    ///
    /// # Errors
    /// As [`multiclass::empirical_robust_error`](super::empirical_robust_error).
    pub fn sample_error<'a>(&self, x: impl Points<'a>, labels: &[usize]) -> Result<f64> {
        let x = &*x.points();
        super::empirical_robust_error(self, &crate::Threat::l2(), 0.0, x, labels)
    }

    /// The facet classifier of class `y` against class `j`:
    /// `(w_y − w_j, b_y − b_j)`, positive where `y` beats `j`
    /// ([THEORY M2](crate::theory#m2-the-exact-attack-is-the-nearest-facet)).
    ///
    /// # Errors
    /// [`Error::LabelOutOfRange`] (named `"y"` or `"j"`) for a class
    /// `≥ K`; [`Error::InvalidParameter`] for `y = j`;
    /// [`Error::NonFinite`] (named `"facet"`) when the difference
    /// overflows.
    pub fn facet(&self, y: usize, j: usize) -> Result<LinearClassifier> {
        self.check_facet(y, j)?;
        let w = (self.weights.row(y) - self.weights.row(j)).transpose();
        let b = self.biases[y] - self.biases[j];
        if !(b.is_finite() && w.iter().all(|v| v.is_finite())) {
            return Err(Error::NonFinite { name: "facet" });
        }
        LinearClassifier::new(w, b)
    }

    /// `(ŵ_y − ŵ_j, b̂_y − b̂_j)` of the classifier at size one: never
    /// overflows, same decisions, budgets and directions as the facet.
    pub(crate) fn unit_facet(&self, y: usize, j: usize) -> (DVector<f64>, f64) {
        let w = (self.unit_weights.row(y) - self.unit_weights.row(j)).transpose();
        let b = (self.unit_biases[y] - self.unit_biases[j]).clamp(-f64::MAX, f64::MAX);
        (w, b)
    }

    /// Checks that `(y, j)` names a facet: two different classes.
    pub(crate) fn check_facet(&self, y: usize, j: usize) -> Result<()> {
        self.check_label("y", y)?;
        self.check_label("j", j)?;
        if y == j {
            return Err(Error::InvalidParameter {
                name: "j",
                value: j as f64,
                reason: "a facet needs two different classes",
            });
        }
        Ok(())
    }

    /// Checks that a label is a class of this classifier.
    pub(crate) fn check_label(&self, name: &'static str, label: usize) -> Result<()> {
        check_labels(name, &[label], self.classes())
    }
}

/// Checks that every label lies in `0..classes`; the error names the first
/// that does not.
pub(crate) fn check_labels(name: &'static str, labels: &[usize], classes: usize) -> Result<()> {
    match labels.iter().position(|&l| l >= classes) {
        None => Ok(()),
        Some(index) => Err(Error::LabelOutOfRange {
            name,
            index,
            label: labels[index],
            classes,
        }),
    }
}

/// `scores + 1 bᵀ`: the biases added to every row.
fn add_biases(mut scores: DMatrix<f64>, biases: &DVector<f64>) -> DMatrix<f64> {
    for (k, mut column) in scores.column_iter_mut().enumerate() {
        column.add_scalar_mut(biases[k]);
    }
    scores
}

/// The first index of the largest entry (NaN entries never win).
pub(crate) fn argmax(scores: &DVector<f64>) -> usize {
    let mut best = 0;
    for k in 1..scores.len() {
        if scores[k] > scores[best] || scores[best].is_nan() {
            best = k;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_classifiers() {
        let w = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 1.0, 0.0]);
        assert_eq!(
            MulticlassClassifier::new(w, DVector::from_vec(vec![0.0, 1.0])),
            Err(Error::IdenticalRows {
                name: "weights",
                first: 0,
                second: 1
            })
        );
        let one = DMatrix::from_row_slice(1, 2, &[1.0, 0.0]);
        assert!(matches!(
            MulticlassClassifier::new(one, DVector::zeros(1)),
            Err(Error::NotEnoughSamples {
                name: "classes",
                found: 1,
                ..
            })
        ));
        let w = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, f64::NAN]);
        assert!(matches!(
            MulticlassClassifier::new(w.clone(), DVector::zeros(2)),
            Err(Error::NonFiniteEntry {
                name: "weights",
                row: 1,
                column: Some(1),
                ..
            })
        ));
        let w = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 1.0]);
        assert!(matches!(
            MulticlassClassifier::new(w.clone(), DVector::zeros(3)),
            Err(Error::DimensionMismatch { name: "biases", .. })
        ));
        let clf = MulticlassClassifier::new(w, DVector::zeros(2)).unwrap();
        assert!(matches!(
            clf.facet(0, 2),
            Err(Error::LabelOutOfRange {
                name: "j",
                label: 2,
                classes: 2,
                ..
            })
        ));
        assert!(matches!(
            clf.facet(1, 1),
            Err(Error::InvalidParameter { name: "j", .. })
        ));
    }

    #[test]
    fn ties_go_to_the_smallest_class() {
        let w = DMatrix::from_row_slice(3, 1, &[1.0, 2.0, 0.0]);
        let clf = MulticlassClassifier::new(w, DVector::from_vec(vec![1.0, 0.0, 2.0])).unwrap();
        // Scores at x = 1: 2, 2, 2.
        assert_eq!(clf.predict(&DVector::from_element(1, 1.0)), 0);
        assert_eq!(clf.predict(&DVector::from_element(1, 2.0)), 1);
    }

    #[test]
    fn huge_weights_still_predict() {
        let w = DMatrix::from_row_slice(2, 1, &[f64::MAX, -f64::MAX]);
        let clf = MulticlassClassifier::new(w, DVector::zeros(2)).unwrap();
        assert_eq!(clf.predict(&DVector::from_element(1, 4.0)), 0);
        assert_eq!(clf.predict(&DVector::from_element(1, -4.0)), 1);
    }
}
