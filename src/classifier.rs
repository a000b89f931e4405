//! Linear classifiers, labels, and the standard error of THEORY §2.
//!
//! A classifier is `f(x) = sign(wᵀx + b)` with `w ≠ 0`; the margin of a
//! labelled point is `m(x, y) = y (wᵀx + b)`, positive when it is
//! classified correctly.

use nalgebra::DVector;

use crate::error::{Error, Result, ensure_dim, ensure_finite};

/// A class label: `Pos` is `y = +1`, `Neg` is `y = −1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
        let Some((unit, k)) = crate::linalg::normalise(&self.weights) else {
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
