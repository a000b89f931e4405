//! Linear classifiers, labels, and the standard error of [THEORY §2](crate::theory#2-linear-classifiers).
//!
//! A classifier is `f(x) = sign(wᵀx + b)` with `w ≠ 0`; the margin of a
//! labeled point is `m(x, y) = y (wᵀx + b)`, positive when it is
//! classified correctly.

use std::borrow::Cow;

use nalgebra::{DMatrix, DVector, Dim, Dyn, Matrix, ViewStorage};

use crate::error::{Error, Result, ensure_dim, ensure_finite};

/// A class label: `Pos` is `y = +1`, `Neg` is `y = −1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Label {
    /// The positive class, `y = +1`.
    Pos,
    /// The negative class, `y = −1`.
    Neg,
}

impl Label {
    /// The label as a sign: `+1.0` or `−1.0`.
    pub fn sign(self) -> f64 {
        match self {
            Label::Pos => 1.0,
            Label::Neg => -1.0,
        }
    }

    /// The label of a score: `Pos` when `score > 0`, `Neg` otherwise (a
    /// point exactly on the boundary counts as `Neg`).
    pub fn from_score(score: f64) -> Label {
        if score > 0.0 { Label::Pos } else { Label::Neg }
    }

    /// The other label.
    pub fn flip(self) -> Label {
        match self {
            Label::Pos => Label::Neg,
            Label::Neg => Label::Pos,
        }
    }
}

/// A linear classifier `f(x) = sign(wᵀx + b)`.
///
/// # Example
/// ```
/// use manifold_robustness::{Label, LinearClassifier};
/// use manifold_robustness::nalgebra::DVector;
///
/// let clf = LinearClassifier::new(DVector::from_vec(vec![1.0, -2.0]), 0.5)?;
/// let x = DVector::from_vec(vec![1.0, 1.0]);
/// assert_eq!(clf.score(&x), -0.5);
/// assert_eq!(clf.predict(&x), Label::Neg);
/// assert_eq!(clf.margin(&x, Label::Neg), 0.5);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinearClassifier {
    weights: DVector<f64>,
    bias: f64,
}

impl LinearClassifier {
    /// A classifier from weights `w` and bias `b`.
    ///
    /// # Errors
    /// [`Error::Empty`] for `d = 0`, [`Error::NonFiniteEntry`] for the
    /// weights, [`Error::NonFinite`] for the bias, and
    /// [`Error::ZeroWeights`] when `w = 0`.
    pub fn new(w: DVector<f64>, b: f64) -> Result<LinearClassifier> {
        if w.is_empty() {
            return Err(Error::Empty { name: "weights" });
        }
        ensure_finite("weights", w.as_slice())?;
        crate::error::ensure_finite_value("bias", b)?;
        if w.iter().all(|&v| v == 0.0) {
            return Err(Error::ZeroWeights);
        }
        Ok(LinearClassifier {
            weights: w,
            bias: b,
        })
    }

    /// A classifier from parts the caller has made valid (finite, `w ≠ 0`).
    pub(crate) fn from_valid_parts(w: DVector<f64>, b: f64) -> LinearClassifier {
        debug_assert!(w.iter().all(|x| x.is_finite()) && w.amax() > 0.0 && b.is_finite());
        LinearClassifier {
            weights: w,
            bias: b,
        }
    }

    /// The weights `w`.
    pub fn weights(&self) -> &DVector<f64> {
        &self.weights
    }

    /// The bias `b`.
    pub fn bias(&self) -> f64 {
        self.bias
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.weights.len()
    }

    /// The score `wᵀx + b`.
    ///
    /// # Panics
    /// If `x` does not have dimension `d`; [`try_score`](Self::try_score)
    /// returns an error instead.
    pub fn score(&self, x: &DVector<f64>) -> f64 {
        assert_eq!(
            x.len(),
            self.dim(),
            "point dimension does not match the classifier"
        );
        self.weights.dot(x) + self.bias
    }

    /// The score `wᵀx + b`, checking the point.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`]; [`Error::NonFiniteEntry`] for a
    /// non-finite entry of `x` (named `"point"`); [`Error::NonFinite`] for a
    /// score that overflows (named `"score"`).
    pub fn try_score(&self, x: &DVector<f64>) -> Result<f64> {
        ensure_dim("point", self.dim(), x.len())?;
        ensure_finite("point", x.as_slice())?;
        let score = self.weights.dot(x) + self.bias;
        if score.is_finite() {
            Ok(score)
        } else {
            Err(Error::NonFinite { name: "score" })
        }
    }

    /// The predicted label `sign(wᵀx + b)` (a score of exactly 0 gives `Neg`).
    ///
    /// # Panics
    /// If `x` does not have dimension `d`.
    pub fn predict(&self, x: &DVector<f64>) -> Label {
        Label::from_score(self.score(x))
    }

    /// The margin `y (wᵀx + b)`: positive when `x` is classified correctly.
    ///
    /// # Panics
    /// If `x` does not have dimension `d`.
    pub fn margin(&self, x: &DVector<f64>, y: Label) -> f64 {
        y.sign() * self.score(x)
    }

    /// The same classifier with `w` scaled to unit Euclidean norm (and `b`
    /// with it). The decision rule is unchanged.
    ///
    /// `w` is divided by a power of two before its norm is taken, so this
    /// works for weights anywhere in the floating-point range. A bias far
    /// larger than `‖w‖` (beyond `‖w‖ · f64::MAX`) saturates to
    /// `±f64::MAX`, which keeps the decision rule for every finite point
    /// the unit weights can score.
    pub fn normalized(&self) -> LinearClassifier {
        // Weights are finite and non-zero by construction.
        let Some((unit, k)) = crate::linalg::normalize(&self.weights) else {
            return self.clone();
        };
        let n = crate::linalg::norm(unit.as_slice());
        let bias = crate::linalg::ldexp(self.bias, -k) / n;
        LinearClassifier {
            weights: unit / n,
            bias: bias.clamp(-f64::MAX, f64::MAX),
        }
    }

    /// Cosine similarity between the weight vectors of two classifiers,
    /// computed from their unit vectors (any scale of either).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`].
    pub fn cosine(&self, other: &LinearClassifier) -> Result<f64> {
        ensure_dim("classifier", self.dim(), other.dim())?;
        let a = self.normalized();
        let b = other.normalized();
        Ok(a.weights.dot(&b.weights).clamp(-1.0, 1.0))
    }
}

/// `true` is [`Label::Pos`], `false` is [`Label::Neg`].
impl From<bool> for Label {
    fn from(positive: bool) -> Label {
        if positive { Label::Pos } else { Label::Neg }
    }
}

/// The label of a sign given as a number: `+1` is [`Label::Pos`], `−1` is
/// [`Label::Neg`]; anything else is [`Error::InvalidParameter`] naming
/// `label` (a 0/1 coding is not guessed: say `Label::from(v == 1)`).
fn label_of_sign(value: f64) -> Result<Label> {
    if value == 1.0 {
        Ok(Label::Pos)
    } else if value == -1.0 {
        Ok(Label::Neg)
    } else {
        Err(Error::InvalidParameter {
            name: "label",
            value,
            reason: "a label is +1 or −1",
        })
    }
}

/// `+1` is [`Label::Pos`], `−1` is [`Label::Neg`]; anything else is
/// [`Error::InvalidParameter`].
///
/// ```
/// use manifold_robustness::Label;
///
/// let labels: Vec<Label> = [1i8, -1, 1].into_iter().map(Label::try_from).collect::<Result<_, _>>()?;
/// assert_eq!(labels, [Label::Pos, Label::Neg, Label::Pos]);
/// assert!(Label::try_from(0i8).is_err());
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
impl TryFrom<i8> for Label {
    type Error = Error;
    fn try_from(value: i8) -> Result<Label> {
        label_of_sign(f64::from(value))
    }
}

/// `+1` is [`Label::Pos`], `−1` is [`Label::Neg`]; anything else is
/// [`Error::InvalidParameter`].
impl TryFrom<i32> for Label {
    type Error = Error;
    fn try_from(value: i32) -> Result<Label> {
        label_of_sign(f64::from(value))
    }
}

/// `+1.0` is [`Label::Pos`], `−1.0` is [`Label::Neg`]; anything else
/// (including NaN) is [`Error::InvalidParameter`].
impl TryFrom<f64> for Label {
    type Error = Error;
    fn try_from(value: f64) -> Result<Label> {
        label_of_sign(value)
    }
}

/// A matrix of points, one per row, as the batch functions take it
/// ([`LinearClassifier::scores`], [`minimal_perturbations`](crate::minimal_perturbations), …): an owned
/// `DMatrix<f64>` by reference, used in place, or a nalgebra view of one
/// such as `x.rows(0, 10)` (by value or by reference), which is copied once
/// into a contiguous matrix because the batch kernels read whole columns.
/// Implemented for these types only (the trait is sealed).
///
/// # Example
/// ```
/// use manifold_robustness::{Label, LinearClassifier};
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
///
/// let clf = LinearClassifier::new(DVector::from_vec(vec![1.0, -1.0]), 0.0)?;
/// let x = DMatrix::from_row_slice(3, 2, &[2.0, 1.0, 0.0, 3.0, 1.0, 2.0]);
/// // The first two points, without `.into_owned()`.
/// assert_eq!(clf.predict_batch(x.rows(0, 2))?, [Label::Pos, Label::Neg]);
/// assert_eq!(clf.scores(&x.rows(1, 2))?.as_slice(), &[-3.0, -1.0]);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
pub trait Points<'a>: sealed::Sealed {
    /// The points as a contiguous matrix (borrowed when they already are).
    fn points(self) -> Cow<'a, DMatrix<f64>>;
}

mod sealed {
    /// Keeps [`Points`](super::Points) to the crate's implementations.
    pub trait Sealed {}
}

impl sealed::Sealed for &DMatrix<f64> {}

impl<'a> Points<'a> for &'a DMatrix<f64> {
    fn points(self) -> Cow<'a, DMatrix<f64>> {
        Cow::Borrowed(self)
    }
}

impl<'b, RStride: Dim, CStride: Dim> sealed::Sealed
    for Matrix<f64, Dyn, Dyn, ViewStorage<'b, f64, Dyn, Dyn, RStride, CStride>>
{
}

impl<'a, 'b, RStride: Dim, CStride: Dim> Points<'a>
    for Matrix<f64, Dyn, Dyn, ViewStorage<'b, f64, Dyn, Dyn, RStride, CStride>>
{
    fn points(self) -> Cow<'a, DMatrix<f64>> {
        Cow::Owned(self.into_owned())
    }
}

impl<'b, RStride: Dim, CStride: Dim> sealed::Sealed
    for &Matrix<f64, Dyn, Dyn, ViewStorage<'b, f64, Dyn, Dyn, RStride, CStride>>
{
}

impl<'a, 'b, RStride: Dim, CStride: Dim> Points<'a>
    for &Matrix<f64, Dyn, Dyn, ViewStorage<'b, f64, Dyn, Dyn, RStride, CStride>>
{
    fn points(self) -> Cow<'a, DMatrix<f64>> {
        Cow::Owned(self.into_owned())
    }
}

/// Batch evaluation on the rows of a sample matrix (owned or a view, see
/// [`Points`]).
impl LinearClassifier {
    /// The scores `wᵀx_j + b` of the rows `x_j` of `x` (`n × d`): one
    /// matrix–vector pass.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when `x` does not have `d` columns,
    /// [`Error::NonFinite`] when a score is not finite (a non-finite entry
    /// of `x`).
    pub fn scores<'a>(&self, x: impl Points<'a>) -> Result<DVector<f64>> {
        let x = &*x.points();
        ensure_dim("samples (columns of x)", self.dim(), x.ncols())?;
        let mut scores = crate::linalg::mat_vec(x, &self.weights);
        scores.add_scalar_mut(self.bias);
        ensure_finite("x", scores.as_slice())?;
        Ok(scores)
    }

    /// The predicted label of every row of `x` (`n × d`); a score of
    /// exactly 0 gives `Neg`, as in [`predict`](Self::predict).
    ///
    /// ```
    /// use manifold_robustness::{Label, LinearClassifier};
    /// use manifold_robustness::nalgebra::{DMatrix, DVector};
    ///
    /// let clf = LinearClassifier::new(DVector::from_vec(vec![1.0, -1.0]), 0.0)?;
    /// let x = DMatrix::from_row_slice(3, 2, &[2.0, 1.0, 0.0, 3.0, 1.0, 2.0]);
    /// assert_eq!(clf.predict_batch(&x)?, [Label::Pos, Label::Neg, Label::Neg]);
    /// let y = [Label::Pos, Label::Pos, Label::Neg];
    /// assert_eq!(clf.sample_error(&x, &y)?, 1.0 / 3.0);
    /// # Ok::<(), manifold_robustness::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`scores`](Self::scores).
    pub fn predict_batch<'a>(&self, x: impl Points<'a>) -> Result<Vec<Label>> {
        Ok(self
            .scores(x)?
            .iter()
            .map(|&s| Label::from_score(s))
            .collect())
    }

    /// The sample error: the fraction of rows of `x` whose margin
    /// `y_j(wᵀx_j + b)` is `≤ 0` (the empirical robust error at budget 0,
    /// [`empirical::robust_error`](crate::empirical::robust_error)). A row
    /// exactly on the boundary counts as an error for either label.
    ///
    /// # Errors
    /// [`Error::Empty`] for no rows, [`Error::DimensionMismatch`] when `x`
    /// does not have `d` columns or `y` not `n` labels, [`Error::NonFinite`].
    pub fn sample_error<'a>(&self, x: impl Points<'a>, y: &[Label]) -> Result<f64> {
        // Any threat: at budget 0 its reach is 0.
        crate::empirical::robust_error(self, &crate::Threat::l2(), 0.0, x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_zero_and_non_finite_weights() {
        assert_eq!(
            LinearClassifier::new(DVector::zeros(3), 0.0),
            Err(Error::ZeroWeights)
        );
        assert!(matches!(
            LinearClassifier::new(DVector::from_vec(vec![1.0, f64::NAN]), 0.0),
            Err(Error::NonFiniteEntry {
                name: "weights",
                ..
            })
        ));
        assert!(matches!(
            LinearClassifier::new(DVector::from_vec(vec![1.0]), f64::INFINITY),
            Err(Error::NonFinite { name: "bias" })
        ));
        assert!(matches!(
            LinearClassifier::new(DVector::zeros(0), 0.0),
            Err(Error::Empty { .. })
        ));
    }

    #[test]
    fn labels_from_signs_and_bools() {
        assert_eq!(Label::from(true), Label::Pos);
        assert_eq!(Label::from(false), Label::Neg);
        assert_eq!(Label::try_from(1i8), Ok(Label::Pos));
        assert_eq!(Label::try_from(-1i32), Ok(Label::Neg));
        assert_eq!(Label::try_from(-1.0f64), Ok(Label::Neg));
        for bad in [0.0, 2.0, 0.5, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Label::try_from(bad),
                Err(Error::InvalidParameter { name: "label", .. })
            ));
        }
        assert!(Label::try_from(0i32).is_err());
        assert!(Label::try_from(i8::MIN).is_err());
    }

    #[test]
    fn batch_predictions_match_one_at_a_time() {
        let clf = LinearClassifier::new(DVector::from_vec(vec![1.0, -2.0]), 0.5).unwrap();
        let x = DMatrix::from_row_slice(4, 2, &[1.0, 1.0, 3.0, 1.0, 0.0, 0.25, -1.0, 0.0]);
        let labels = clf.predict_batch(&x).unwrap();
        let scores = clf.scores(&x).unwrap();
        for j in 0..4 {
            let row = x.row(j).transpose();
            assert_eq!(scores[j], clf.score(&row));
            assert_eq!(labels[j], clf.predict(&row));
        }
        // Scores −0.5, 1.5, 0 (on the boundary: an error for either label), −0.5.
        let y = [Label::Neg, Label::Pos, Label::Pos, Label::Pos];
        assert_eq!(clf.sample_error(&x, &y).unwrap(), 0.5);
        assert!(matches!(
            clf.predict_batch(&DMatrix::zeros(2, 3)),
            Err(Error::DimensionMismatch {
                expected: 2,
                found: 3,
                ..
            })
        ));
        assert!(matches!(
            clf.sample_error(&x, &y[..3]),
            Err(Error::DimensionMismatch { .. })
        ));
        let mut bad = x.clone();
        bad[(1, 1)] = f64::NAN;
        assert!(matches!(
            clf.scores(&bad),
            Err(Error::NonFiniteEntry { name: "x", .. })
        ));
    }

    #[test]
    fn try_score_checks_dimension() {
        let clf = LinearClassifier::new(DVector::from_vec(vec![1.0, 2.0]), 0.0).unwrap();
        assert!(matches!(
            clf.try_score(&DVector::zeros(3)),
            Err(Error::DimensionMismatch {
                expected: 2,
                found: 3,
                ..
            })
        ));
    }
}
