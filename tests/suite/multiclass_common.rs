//! Strategies and by-hand evaluations shared by the multi-class suites
//! (THEORY §12). Everything computed here is independent of the crate's
//! multi-class code: scores, facet margins and supports are evaluated
//! with plain loops and the by-hand supports of `common::ThreatCase`.
#![allow(dead_code)]

use crate::common::{ByHand, ThreatCase, covariance, threat_case, vector};
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::{Covariance, MulticlassClassifier, MulticlassGmm};
use proptest::prelude::*;

/// A `K`-class model (`K` in `classes`): any covariance of `common`,
/// means with entries in `[−2, 2]` at least `0.1` apart, priors in
/// `[1, 4]` normalized (ratios up to 4).
pub fn multiclass_model(
    classes: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = MulticlassGmm> {
    (covariance(), classes).prop_flat_map(|(cov, k)| {
        let d = cov.dim();
        (
            prop::collection::vec(vector(d), k),
            prop::collection::vec(1.0f64..4.0, k),
        )
            .prop_filter("distinct means", |(means, _)| {
                (0..means.len()).all(|i| (0..i).all(|j| (&means[i] - &means[j]).norm() > 0.1))
            })
            .prop_map(move |(means, weights)| {
                let total: f64 = weights.iter().sum();
                let priors =
                    DVector::from_iterator(weights.len(), weights.iter().map(|w| w / total));
                MulticlassGmm::new(means, cov.clone(), priors).unwrap()
            })
    })
}

/// The model's Bayes classifier or a random one (weights in `[−2, 2]`,
/// biases in `[−1, 1]`), half and half.
pub fn classifier_for(m: &MulticlassGmm) -> impl Strategy<Value = MulticlassClassifier> + use<> {
    let (k, d) = (m.classes(), m.dim());
    let bayes = m.bayes_classifier();
    prop_oneof![
        Just(bayes),
        (
            prop::collection::vec(-2.0f64..2.0, k * d),
            prop::collection::vec(-1.0f64..1.0, k)
        )
            .prop_map(move |(w, b)| {
                MulticlassClassifier::new(DMatrix::from_row_slice(k, d, &w), DVector::from_vec(b))
                    .unwrap()
            })
    ]
}

/// A model, a classifier for it and a threat case of its covariance.
pub fn model_classifier_threat(
    classes: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = (MulticlassGmm, MulticlassClassifier, ThreatCase)> {
    multiclass_model(classes).prop_flat_map(|m| {
        let cov = m.covariance().clone();
        (Just(m.clone()), classifier_for(&m), threat_case(&cov))
    })
}

/// The scores `w_kᵀx + b_k` by plain loops.
pub fn scores_by_hand(clf: &MulticlassClassifier, x: &DVector<f64>) -> Vec<f64> {
    let (w, b) = (clf.weights(), clf.biases());
    (0..clf.classes())
        .map(|k| (0..clf.dim()).map(|i| w[(k, i)] * x[i]).sum::<f64>() + b[k])
        .collect()
}

/// `Σ_i |w_ki x_i| + |b_k|` over the classes: the size of the terms of the
/// scores, against which their rounding is measured.
pub fn score_scale(clf: &MulticlassClassifier, x: &DVector<f64>) -> f64 {
    let (w, b) = (clf.weights(), clf.biases());
    (0..clf.classes())
        .map(|k| {
            (0..clf.dim())
                .map(|i| (w[(k, i)] * x[i]).abs())
                .sum::<f64>()
                + b[k].abs()
        })
        .fold(0.0, f64::max)
}

/// The facet `w_y − w_j`.
pub fn facet(clf: &MulticlassClassifier, y: usize, j: usize) -> DVector<f64> {
    (clf.weights().row(y) - clf.weights().row(j)).transpose()
}

/// `σ_K(w_y − w_j)` by hand for every ordered pair (`0` on the diagonal
/// and for supports below rounding, `1e-12 ‖w_y − w_j‖`).
pub fn supports_by_hand(
    clf: &MulticlassClassifier,
    case: &ThreatCase,
    cov: &Covariance,
) -> DMatrix<f64> {
    let k = clf.classes();
    DMatrix::from_fn(k, k, |y, j| {
        if y == j {
            return 0.0;
        }
        let w = facet(clf, y, j);
        let support = case.support_by_hand(cov, &w);
        if support > 1e-12 * w.norm() {
            support
        } else {
            0.0
        }
    })
}

/// The minimal budget of `(x, y)` by hand (M2): `0` when some facet margin
/// is `≤ 0`, else `min_j h_j/σ_K(w_y − w_j)` (`∞` for a facet with zero
/// support), from the supports of [`supports_by_hand`].
pub fn budget_by_hand(
    clf: &MulticlassClassifier,
    supports: &DMatrix<f64>,
    x: &DVector<f64>,
    y: usize,
) -> f64 {
    let s = scores_by_hand(clf, x);
    let mut best = f64::INFINITY;
    for j in (0..clf.classes()).filter(|&j| j != y) {
        let h = s[y] - s[j];
        if h <= 0.0 {
            return 0.0;
        }
        if supports[(y, j)] > 0.0 {
            best = best.min(h / supports[(y, j)]);
        }
    }
    best
}

/// The fraction of samples whose by-hand minimal budget is at most `eps`.
pub fn robust_error_by_hand(
    clf: &MulticlassClassifier,
    case: &ThreatCase,
    cov: &Covariance,
    eps: f64,
    xs: &DMatrix<f64>,
    ys: &[usize],
) -> f64 {
    let supports = supports_by_hand(clf, case, cov);
    let count = (0..xs.nrows())
        .filter(|&i| budget_by_hand(clf, &supports, &xs.row(i).transpose(), ys[i]) <= eps)
        .count();
    count as f64 / xs.nrows() as f64
}

/// A budget at which the robust error is neither 0 nor 1: `fraction` times
/// the median by-hand minimal budget of a pilot sample (or `fraction`
/// itself when no pilot point can be flipped).
pub fn typical_budget(
    m: &MulticlassGmm,
    clf: &MulticlassClassifier,
    case: &ThreatCase,
    fraction: f64,
    seed: u64,
) -> f64 {
    use manifold_robustness::rand::{SeedableRng, rngs::StdRng};
    let supports = supports_by_hand(clf, case, m.covariance());
    let (xs, ys) = m.sample(201, &mut StdRng::seed_from_u64(seed));
    let mut budgets: Vec<f64> = (0..xs.nrows())
        .map(|i| budget_by_hand(clf, &supports, &xs.row(i).transpose(), ys[i]))
        .filter(|t| *t > 0.0 && t.is_finite())
        .collect();
    if budgets.is_empty() {
        return fraction;
    }
    budgets.sort_by(f64::total_cmp);
    fraction * budgets[budgets.len() / 2]
}

/// The model and classifier with the classes renumbered: old class `k`
/// becomes `perm[k]`.
pub fn permuted(
    m: &MulticlassGmm,
    clf: &MulticlassClassifier,
    perm: &[usize],
) -> (MulticlassGmm, MulticlassClassifier) {
    let k = m.classes();
    let mut means = vec![DVector::zeros(m.dim()); k];
    let mut priors = DVector::zeros(k);
    let mut weights = DMatrix::zeros(k, m.dim());
    let mut biases = DVector::zeros(k);
    for old in 0..k {
        means[perm[old]] = m.mean(old).clone();
        priors[perm[old]] = m.priors()[old];
        weights
            .row_mut(perm[old])
            .copy_from(&clf.weights().row(old));
        biases[perm[old]] = clf.biases()[old];
    }
    (
        MulticlassGmm::new(means, m.covariance().clone(), priors).unwrap(),
        MulticlassClassifier::new(weights, biases).unwrap(),
    )
}

/// A random permutation of `0..k` from a seed (Fisher–Yates).
pub fn permutation(k: usize, seed: u64) -> Vec<usize> {
    use manifold_robustness::rand::{Rng, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(seed);
    let mut p: Vec<usize> = (0..k).collect();
    for i in (1..k).rev() {
        let j = rng.random_range(0..=i);
        p.swap(i, j);
    }
    p
}
