//! THEORY M2: the exact multi-class attack is the nearest facet — it lands
//! on the boundary between the true class and the class it flips to, no
//! smaller budget reaches any facet, batches agree with single points, two
//! classes reproduce the two-class crate, and renumbering the classes
//! renumbers the results.

use crate::common::{ByHand, ThreatCase, general_model, tol};
use crate::multiclass_common::{
    facet, model_classifier_threat, permutation, permuted, score_scale, scores_by_hand,
};
use manifold_robustness::multiclass::{self, FacetAttacks, Perturbation};
use manifold_robustness::nalgebra::DVector;
use manifold_robustness::rand::{SeedableRng, rngs::StdRng};
use manifold_robustness::{Label, LinearClassifier, MulticlassClassifier, MulticlassGmm};
use proptest::prelude::*;

/// Rounding of a score difference at `x + δ`: the scores are sums of terms
/// up to [`score_scale`], and `δ` carries the rounding of `t*`, computed
/// from such a difference; a few hundred ulps of the scale.
const TIE: f64 = 1e-12;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn m2_attack_lands_on_the_boundary_between_the_class_and_the_one_it_flips_to(
        (m, clf, case) in model_classifier_threat(3..=5),
        seed in any::<u64>(),
    ) {
        let cov = m.covariance();
        let threat = case.build(cov).unwrap();
        let (xs, ys) = m.sample(8, &mut StdRng::seed_from_u64(seed));
        for (i, &y) in ys.iter().enumerate() {
            let x = xs.row(i).transpose();
            let outcome = multiclass::minimal_perturbation(&clf, &threat, &x, y).unwrap();
            let Perturbation::Flip { delta, budget, to, .. } = outcome else { continue };
            let moved = &x + &delta;
            let s = scores_by_hand(&clf, &moved);
            let scale = score_scale(&clf, &moved).max(score_scale(&clf, &x));
            prop_assert!((s[y] - s[to]).abs() <= TIE * scale,
                "scores {} and {} at x + δ (scale {scale})", s[y], s[to]);
            for (j, &sj) in s.iter().enumerate() {
                prop_assert!(sj <= s[y] + TIE * scale, "class {j} crossed: {s:?}");
            }
            // δ is in t*K: its gauge is the budget.
            let gauge = case.gauge(cov, &delta);
            prop_assert!((gauge - budget).abs() <= case.gauge_tolerance() * budget,
                "gauge {gauge} vs budget {budget}");
        }
    }

    #[test]
    fn m2_no_smaller_budget_reaches_any_facet(
        (m, clf, case) in model_classifier_threat(3..=5),
        seed in any::<u64>(),
    ) {
        let cov = m.covariance();
        let threat = case.build(cov).unwrap();
        let (xs, ys) = m.sample(8, &mut StdRng::seed_from_u64(seed));
        for (i, &y) in ys.iter().enumerate() {
            let x = xs.row(i).transpose();
            let outcome = multiclass::minimal_perturbation(&clf, &threat, &x, y).unwrap();
            let s = scores_by_hand(&clf, &x);
            let scale = score_scale(&clf, &x);
            match outcome {
                Perturbation::Misclassified => {
                    let worst = (0..clf.classes()).filter(|&j| j != y)
                        .map(|j| s[y] - s[j]).fold(f64::INFINITY, f64::min);
                    prop_assert!(worst <= TIE * scale, "misclassified with margin {worst}");
                }
                Perturbation::Unreachable => {
                    for j in (0..clf.classes()).filter(|&j| j != y) {
                        let w = facet(&clf, y, j);
                        prop_assert!(case.support_by_hand(cov, &w) <= 1e-10 * w.norm());
                    }
                }
                Perturbation::Flip { budget, to, tied, .. } => {
                    // h_l − t σ_K(w_y − w_l) > 0 for every facet and t < t*,
                    // i.e. ≥ 0 at t* up to rounding, with equality at `to`.
                    for l in (0..clf.classes()).filter(|&l| l != y) {
                        let support = case.support_by_hand(cov, &facet(&clf, y, l));
                        let slack = s[y] - s[l] - budget * support;
                        let rounding = (TIE + case.gauge_tolerance()) * (scale + budget * support);
                        prop_assert!(slack >= -rounding, "facet {l}: slack {slack}");
                        if l == to || tied.contains(&l) {
                            prop_assert!(slack.abs() <= rounding, "facet {l} not reached: {slack}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn m2_batch_attack_agrees_with_single_attacks(
        (m, clf, case) in model_classifier_threat(3..=6),
        seed in any::<u64>(),
    ) {
        let threat = case.build(m.covariance()).unwrap();
        let (xs, ys) = m.sample(16, &mut StdRng::seed_from_u64(seed));
        let attacks = FacetAttacks::new(&clf, &threat).unwrap();
        let batch = attacks.attack_batch(&xs, &ys).unwrap();
        let mut flips = 0;
        for i in 0..xs.nrows() {
            let single = attacks.attack(&xs.row(i).transpose(), ys[i]).unwrap();
            let from_batch = batch.perturbation(i);
            let (a, b) = (single.budget(), from_batch.budget());
            prop_assert!(a == b || (a - b).abs() <= 1e-10 * a.max(b), "{a} vs {b}");
            if let (Some(t1), Some(t2)) = (single.to(), from_batch.to()) {
                flips += 1;
                if t1 == t2 {
                    let d = single.delta().unwrap() - from_batch.delta().unwrap();
                    prop_assert!(d.amax() <= 1e-10 * single.delta().unwrap().amax());
                } else {
                    // Only a near-tie may pick another facet: its budget
                    // (by hand from the scores) equals the minimum.
                    let s = scores_by_hand(&clf, &xs.row(i).transpose());
                    let t_other = (s[ys[i]] - s[t2]) / attacks.support(ys[i], t2).unwrap();
                    prop_assert!((t_other - a).abs() <= 1e-9 * a, "{t_other} vs {a}");
                }
            }
        }
        prop_assert_eq!(batch.flipped(), flips);
        prop_assert_eq!(batch.flip_matrix().iter().sum::<usize>(), flips);
    }

    #[test]
    fn k2_attacks_reproduce_the_two_class_crate(
        gmm in general_model(),
        seed in any::<u64>(),
        bias in -1.0f64..1.0,
    ) {
        let d = gmm.dim();
        let mut rng = StdRng::seed_from_u64(seed);
        let w: Vec<f64> = (0..d).map(|i| ((seed >> (i % 60)) & 7) as f64 - 3.5).collect();
        let two = LinearClassifier::new(DVector::from_vec(w), bias).unwrap();
        let multi = MulticlassClassifier::from_two_class(&two);
        let (xs, labels) = gmm.sample(8, &mut rng);
        let cases = [ThreatCase::Lp(2.0), ThreatCase::Lp(f64::INFINITY), ThreatCase::Lp(1.0),
            ThreatCase::Generative, ThreatCase::GenerativeRank(1), ThreatCase::OffManifold(1)];
        for case in &cases {
            let threat = case.build(gmm.covariance()).unwrap();
            for (i, &label) in labels.iter().enumerate() {
                let x = xs.row(i).transpose();
                let y = usize::from(label == Label::Pos);
                let expected = manifold_robustness::minimal_perturbation(&two, &threat, &x, label).unwrap();
                let got = multiclass::minimal_perturbation(&multi, &threat, &x, y).unwrap();
                match (&expected, &got) {
                    (manifold_robustness::Perturbation::Misclassified, Perturbation::Misclassified)
                    | (manifold_robustness::Perturbation::Unreachable, Perturbation::Unreachable) => {}
                    (manifold_robustness::Perturbation::Flip { delta, budget, latent },
                     Perturbation::Flip { delta: d2, budget: b2, latent: l2, to, tied }) => {
                        prop_assert_eq!(*to, 1 - y);
                        prop_assert!(tied.is_empty());
                        prop_assert!((budget - b2).abs() <= tol::CLOSED_FORM * budget);
                        prop_assert!((delta - d2).amax() <= tol::CLOSED_FORM * delta.amax());
                        match (latent, l2) {
                            (None, None) => {}
                            (Some(u), Some(v)) => prop_assert!((u - v).amax() <= tol::CLOSED_FORM * u.amax()),
                            _ => prop_assert!(false, "latent steps differ"),
                        }
                    }
                    _ => prop_assert!(false, "{expected:?} vs {got:?}"),
                }
            }
        }
    }

    #[test]
    fn permuting_classes_permutes_the_attacks(
        (m, clf, case) in model_classifier_threat(3..=5),
        seed in any::<u64>(),
    ) {
        let threat = case.build(m.covariance()).unwrap();
        let perm = permutation(m.classes(), seed);
        let (_, clf2) = permuted(&m, &clf, &perm);
        let (xs, ys) = m.sample(8, &mut StdRng::seed_from_u64(seed ^ 1));
        for i in 0..xs.nrows() {
            let x = xs.row(i).transpose();
            let a = multiclass::minimal_perturbation(&clf, &threat, &x, ys[i]).unwrap();
            let b = multiclass::minimal_perturbation(&clf2, &threat, &x, perm[ys[i]]).unwrap();
            prop_assert!(a.budget() == b.budget()
                || (a.budget() - b.budget()).abs() <= tol::CLOSED_FORM * a.budget());
            if let (Perturbation::Flip { to, tied, delta, .. }, Perturbation::Flip { to: to2, delta: d2, .. }) = (&a, &b) {
                // The class flipped to is renumbered (on a tie either one).
                prop_assert!(perm[*to] == *to2 || tied.iter().any(|&t| perm[t] == *to2));
                if perm[*to] == *to2 {
                    prop_assert!((delta - d2).amax() <= tol::CLOSED_FORM * delta.amax());
                }
            }
        }
    }
}

#[test]
fn the_flip_matrix_counts_where_each_class_goes() {
    // Three classes on a line, scores x, 1/2 and −x: classes 0 and 2 are
    // nearest to class 1's facet (norm 1) before each other's (norm 2).
    let w = manifold_robustness::nalgebra::DMatrix::from_row_slice(3, 1, &[1.0, 0.0, -1.0]);
    let clf = MulticlassClassifier::new(w, DVector::from_vec(vec![0.0, 0.5, 0.0])).unwrap();
    let xs = manifold_robustness::nalgebra::DMatrix::from_row_slice(4, 1, &[2.0, 1.0, -3.0, 0.5]);
    let batch = multiclass::minimal_perturbations(
        &clf,
        &manifold_robustness::Threat::l2(),
        &xs,
        &[0, 0, 2, 1],
    )
    .unwrap();
    let flips = batch.flip_matrix();
    assert_eq!(
        (flips[(0, 1)], flips[(2, 1)], flips.iter().sum::<usize>()),
        (2, 1, 3)
    );
    // Margins to class 1: 1.5, 0.5 and 2.5 (the other facets give 2, 1
    // and 3); the last point ties classes 0 and 1, so it is misclassified.
    assert_eq!(batch.budgets().as_slice(), &[1.5, 0.5, 2.5, 0.0]);
    assert_eq!(batch.misclassified(), 1);
    assert_eq!(batch.robust_error(1.5).unwrap(), 0.75);
}

#[test]
fn latent_steps_of_generative_attacks_map_to_the_perturbation() {
    // For the generative threat δ = A u with A = U Λ^{1/2}: the latent step
    // reproduces δ through the covariance's factor.
    let m = MulticlassGmm::new(
        vec![
            DVector::from_vec(vec![1.0, 0.0, 0.0]),
            DVector::from_vec(vec![0.0, 1.0, 0.0]),
            DVector::from_vec(vec![0.0, 0.0, 1.0]),
        ],
        manifold_robustness::Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0, 0.25])).unwrap(),
        DVector::from_element(3, 1.0 / 3.0),
    )
    .unwrap();
    let clf = m.bayes_classifier();
    let threat = manifold_robustness::Threat::generative(m.covariance());
    let flip = multiclass::minimal_perturbation(&clf, &threat, m.mean(0), 0).unwrap();
    let Perturbation::Flip {
        delta,
        latent: Some(u),
        budget,
        ..
    } = flip
    else {
        panic!("expected a flip with a latent step")
    };
    // Eigen-directions in descending variance: axes 0, 1, 2 with √λ = 2, 1, 1/2.
    let rebuilt = DVector::from_vec(vec![2.0 * u[0], u[1], 0.5 * u[2]]);
    assert!((rebuilt - &delta).amax() < 1e-15);
    assert!((u.norm() - budget).abs() < 1e-14 * budget);
}
