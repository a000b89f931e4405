//! Points near a decision boundary.

use std::ops::RangeInclusive;

use nalgebra::DVector;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use crate::classifier::LinearClassifier;

/// Points at a signed distance drawn uniformly from `distances` to the
/// boundary `wᵀx + b = 0` of `clf` (positive on the side of `Pos`):
/// `x = p + s w/‖w‖` with `p` the projection onto the boundary of a point
/// with entries in `[−2, 2]`. Rounding moves the distance by about
/// `ε_mach (‖p‖ + |b|/‖w‖)`, so a range like `-1e-3..=1e-3` gives points
/// that really lie on both sides.
///
/// # Example
/// ```
/// use manifold_robustness::LinearClassifier;
/// use manifold_robustness::nalgebra::DVector;
/// use manifold_robustness::strategies::near_boundary;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let clf = LinearClassifier::new(DVector::from_vec(vec![3.0, 4.0]), 1.0)?;
/// let x = near_boundary(&clf, 0.25..=0.5).new_tree(&mut TestRunner::deterministic()).unwrap().current();
/// let distance = clf.score(&x) / 5.0;
/// assert!((0.25 - 1e-12..=0.5 + 1e-12).contains(&distance));
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Panics
/// When `distances` is empty or not finite.
pub fn near_boundary(
    clf: &LinearClassifier,
    distances: RangeInclusive<f64>,
) -> BoxedStrategy<DVector<f64>> {
    assert!(
        distances.start().is_finite()
            && distances.end().is_finite()
            && distances.start() <= distances.end(),
        "near_boundary: need a non-empty finite range of distances, got {distances:?}"
    );
    let w = clf.weights().clone();
    let b = clf.bias();
    let d = w.len();
    let norm = crate::linalg::norm(w.as_slice());
    let unit = &w / norm;
    (prop::collection::vec(-2.0f64..2.0, d), distances)
        .prop_map(move |(v, s)| {
            let v = DVector::from_vec(v);
            // The signed distance of v, then the step that moves it to s.
            let current = (unit.dot(&v)) + b / norm;
            v + &unit * (s - current)
        })
        .boxed()
}
