//! The robust error of a multi-class classifier on samples, through the
//! exact attacks ([THEORY M5](crate::theory#m5-monte-carlo-with-k-classes)).

use super::{MulticlassClassifier, minimal_perturbations};
use crate::classifier::Points;
use crate::error::{Error, Result, ensure_budget};
use crate::threat::Threat;

/// Robust error on samples: the fraction of rows whose exact minimal
/// attack ([`minimal_perturbations`]) needs a budget of at most `eps`,
///
/// ```text
/// RE_ε(samples) = (1/n) #{ i : min_{j ≠ y_i} h_j(x_i)/σ_K(w_{y_i} − w_j) ≤ ε },
/// ```
///
/// misclassified rows (some facet margin `≤ 0`) counting at every budget.
/// On samples of a [`MulticlassGmm`](super::MulticlassGmm) the count is
/// `Binomial(n, RE_ε)` with `RE_ε` the population value of
/// [`MulticlassGmm::robust_error`](super::MulticlassGmm::robust_error)
/// (P7a for `K` classes). Cost: one `n × d` by `d × K` product and `O(nK)`.
///
/// # Example
/// ```
/// use manifold_robustness::{MulticlassClassifier, Threat};
/// use manifold_robustness::multiclass::empirical_robust_error;
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
///
/// let w = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0]);
/// let clf = MulticlassClassifier::new(w, DVector::from_vec(vec![0.0, 0.0, -1.0]))?;
/// // Minimal ℓ2 budgets 2.5/√2 ≈ 1.77, 4/√2 ≈ 2.83 and 0 (a tie).
/// let xs = DMatrix::from_row_slice(3, 2, &[2.0, 0.5, -3.0, 0.0, 0.0, 0.0]);
/// assert_eq!(empirical_robust_error(&clf, &Threat::l2(), 2.0, &xs, &[0, 1, 2])?, 2.0 / 3.0);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidBudget`] for a negative or non-finite `eps`;
/// [`Error::Empty`] for no samples; otherwise as [`minimal_perturbations`].
pub fn empirical_robust_error<'a>(
    clf: &MulticlassClassifier,
    threat: &Threat,
    eps: f64,
    xs: impl Points<'a>,
    labels: &[usize],
) -> Result<f64> {
    let xs = &*xs.points();
    ensure_budget(eps)?;
    if xs.nrows() == 0 {
        return Err(Error::Empty { name: "samples" });
    }
    minimal_perturbations(clf, threat, xs, labels)?.robust_error(eps)
}
