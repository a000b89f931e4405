//! The Monte Carlo robust error of a linear classifier on samples.

use crate::classifier::Points;
use crate::classifier::{Label, LinearClassifier};
use crate::error::{Error, Result, ensure_budget, ensure_dim};
use crate::threat::Threat;

/// Robust error on samples: the fraction the exact attack at budget `ε`
/// misclassifies, `(1/n) #{ j : y_j(wᵀx_j + b) ≤ ε σ_K(w) }`.
///
/// This is the robust error under the exact minimal per-sample attack of
/// [THEORY §4](crate::theory#4-attacks) (a point with margin `m` is flipped by a budget `m/σ_K(w)`;
/// misclassified points, `m ≤ 0`, count at every budget). When
/// `σ_K(w) = 0` no perturbation in `K` moves the score, and only the
/// misclassified points count. Cost: one matrix–vector product and `O(n)`.
///
/// `x` holds one sample per row (`n × d`), `y` their labels.
///
/// # Errors
/// [`Error::InvalidBudget`] for a negative or non-finite `ε`;
/// [`Error::Empty`] for no samples; [`Error::DimensionMismatch`] when `x`
/// has not `d` columns, `y` has not `n` labels, or the threat belongs to
/// another dimension; [`Error::NonFiniteEntry`] for a non-finite entry of
/// `x` (row and column); [`Error::NonFinite`] when a score `wᵀx_j`
/// overflows (entries near `f64::MAX`).
pub fn robust_error<'a>(
    clf: &LinearClassifier,
    threat: &Threat,
    eps: f64,
    x: impl Points<'a>,
    y: &[Label],
) -> Result<f64> {
    let x = &*x.points();
    ensure_budget(eps)?;
    if x.nrows() == 0 {
        return Err(Error::Empty { name: "samples" });
    }
    ensure_dim("samples (columns of x)", clf.dim(), x.ncols())?;
    ensure_dim("labels", x.nrows(), y.len())?;
    threat.check_weights(clf.weights())?;
    // The count is invariant to the scale of (w, b): compare at size one,
    // where neither the margins nor ε σ_K(w) over- or underflow.
    let (w, bias) = crate::attack::unit_classifier(clf);
    let reach = if eps == 0.0 {
        0.0
    } else {
        eps * threat.support_unchecked(&w)
    };
    let scores = crate::linalg::mat_vec(x, &w);
    // A non-finite entry of x makes its score NaN or infinite (0·∞ is NaN),
    // so checking the n scores replaces an O(nd) scan of x.
    if let Some(row) = scores.iter().position(|s| !s.is_finite()) {
        crate::error::ensure_finite_matrix("x", &x.rows(row, 1).into_owned()).map_err(
            |e| match e {
                Error::NonFiniteEntry {
                    name,
                    column,
                    value,
                    ..
                } => Error::NonFiniteEntry {
                    name,
                    row,
                    column,
                    value,
                },
                other => other,
            },
        )?;
        // A finite row whose score overflowed (|x| near f64::MAX).
        return Err(Error::NonFinite {
            name: "scores wᵀx of the samples",
        });
    }
    let flipped = scores
        .iter()
        .zip(y)
        .filter(|(score, label)| label.sign() * (**score + bias) <= reach)
        .count();
    Ok(flipped as f64 / x.nrows() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::Covariance;
    use crate::empirical::tests::labels;
    use nalgebra::DMatrix;
    use nalgebra::DVector;

    #[test]
    fn robust_error_counts_margins_within_reach() {
        // Margins 2, 1, 0.5, 3 and −1 (misclassified).
        let x =
            DMatrix::from_row_slice(5, 2, &[2.0, 0.0, 1.0, 5.0, -0.5, 1.0, -3.0, 0.0, -1.0, 0.0]);
        let y = labels(&[1.0, 1.0, -1.0, -1.0, 1.0]);
        let clf = LinearClassifier::new(DVector::from_vec(vec![2.0, 0.0]), 0.0).unwrap();
        // σ(w) = 2 for ℓ2, ℓ∞, ℓ1 alike (w has one non-zero entry); margins
        // under w = (2, 0) are 4, 2, 1, 6, −2; reach 2ε.
        for threat in [Threat::l2(), Threat::linf(), Threat::l1()] {
            let re = |eps| robust_error(&clf, &threat, eps, &x, &y).unwrap();
            assert_eq!(re(0.0), 0.2);
            assert_eq!(re(0.49), 0.2);
            assert_eq!(re(0.5), 0.4);
            assert_eq!(re(1.0), 0.6);
            assert_eq!(re(2.0), 0.8);
            assert_eq!(re(3.0), 1.0);
        }
        // An eigenspace orthogonal to w: unreachable, only the misclassified count.
        let cov = Covariance::diagonal(DVector::from_vec(vec![1.0, 2.0])).unwrap();
        let top = Threat::eigenspace(&cov, 1).unwrap();
        assert_eq!(robust_error(&clf, &top, 100.0, &x, &y).unwrap(), 0.2);
    }

    #[test]
    fn robust_error_rejects_bad_input() {
        let x = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, -1.0, 0.0]);
        let y = labels(&[1.0, -1.0]);
        let clf = LinearClassifier::new(DVector::from_vec(vec![1.0, 0.0]), 0.0).unwrap();
        let l2 = Threat::l2();
        assert!(matches!(
            robust_error(&clf, &l2, -1.0, &x, &y),
            Err(Error::InvalidBudget { .. })
        ));
        assert!(matches!(
            robust_error(&clf, &l2, f64::INFINITY, &x, &y),
            Err(Error::InvalidBudget { .. })
        ));
        assert!(matches!(
            robust_error(&clf, &l2, 0.1, &x, &y[..1]),
            Err(Error::DimensionMismatch { name: "labels", .. })
        ));
        assert!(matches!(
            robust_error(&clf, &l2, 0.1, &DMatrix::zeros(2, 3), &y),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            robust_error(&clf, &l2, 0.1, &DMatrix::zeros(0, 2), &[]),
            Err(Error::Empty { .. })
        ));
        let mut bad = x.clone();
        bad[(1, 1)] = f64::INFINITY; // w₂ = 0, yet 0·∞ is caught
        assert!(matches!(
            robust_error(&clf, &l2, 0.1, &bad, &y),
            Err(Error::NonFiniteEntry { name: "x", .. })
        ));
        let cov = Covariance::isotropic(3, 1.0).unwrap();
        assert!(matches!(
            robust_error(&clf, &Threat::generative(&cov), 0.1, &x, &y),
            Err(Error::DimensionMismatch { .. })
        ));
    }
}
