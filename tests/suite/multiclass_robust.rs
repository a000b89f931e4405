//! THEORY M1, M3 and M5: the multi-class Bayes rule, the robust error as a
//! sum of Gaussian exceedance probabilities (against Monte Carlo counts of
//! the exact attack by hand), its monotonicity, the two-class reduction
//! and invariance under renumbering the classes.

use crate::common::{general_model, threat_case, tol};
use crate::multiclass_common::{
    model_classifier_threat, multiclass_model, permutation, permuted, robust_error_by_hand,
    typical_budget,
};
use manifold_robustness::multiclass::empirical_robust_error;
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::normal::OrthantOptions;
use manifold_robustness::rand::{SeedableRng, rngs::StdRng};
use manifold_robustness::{LinearClassifier, MulticlassClassifier, MulticlassGmm, Threat};
use proptest::prelude::*;

/// Monte Carlo sample size: the binomial standard error is at most
/// `1/(2√n) ≈ 0.0035`, small next to a wrong formula's error.
const SAMPLES: usize = 20_000;

/// `|p̂ − p| ≤ k σ + 1/n`, with `σ = √(p(1 − p)/n)` (the `1/n` allows for
/// `p` near 0 or 1, where `σ` vanishes but one count moves `p̂` by `1/n`).
fn within_binomial(estimate: f64, p: f64, n: usize, extra: f64) -> bool {
    let n = n as f64;
    let sigma = (p * (1.0 - p) / n).sqrt();
    (estimate - p).abs() <= tol::MONTE_CARLO_SIGMAS * sigma + 1.0 / n + extra
}

/// The relative agreement of two evaluations of one probability `Φ(−t)`
/// (or `Φ₂`) from margins computed in different orders: `t` carries a few
/// hundred ulps relative (`O(d)` sums, condition ≤ 1e4), and
/// `d ln Φ(−t)/dt ≤ t + 1`, so the relative error is `(t + 1) · 1e-12`
/// at most for `t ≤ 40`; `1e-10` covers it.
const REPRODUCED: f64 = 1e-10;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn m3_robust_error_of_three_classes_matches_monte_carlo(
        (m, clf, case) in model_classifier_threat(3..=3),
        fraction in 0.0f64..2.0,
        seed in any::<u64>(),
    ) {
        let threat = case.build(m.covariance()).unwrap();
        let eps = typical_budget(&m, &clf, &case, fraction, seed ^ 7);
        let re = m.robust_error(&clf, &threat, eps).unwrap();
        prop_assert!(re.is_exact());
        let (xs, ys) = m.sample(SAMPLES, &mut StdRng::seed_from_u64(seed));
        let counted = robust_error_by_hand(&clf, &case, m.covariance(), eps, &xs, &ys);
        prop_assert!(within_binomial(counted, re.value(), SAMPLES, 0.0),
            "Monte Carlo {counted} vs {} at ε = {eps}", re.value());
    }

    #[test]
    fn m5_empirical_robust_error_matches_the_population_value(
        (m, clf, case) in model_classifier_threat(3..=3),
        fraction in 0.0f64..2.0,
        seed in any::<u64>(),
    ) {
        let threat = case.build(m.covariance()).unwrap();
        let eps = typical_budget(&m, &clf, &case, fraction, seed ^ 7);
        let re = m.robust_error(&clf, &threat, eps).unwrap().value();
        let (xs, ys) = m.sample(SAMPLES, &mut StdRng::seed_from_u64(seed));
        let empirical = empirical_robust_error(&clf, &threat, eps, &xs, &ys).unwrap();
        prop_assert!(within_binomial(empirical, re, SAMPLES, 0.0),
            "empirical {empirical} vs population {re} at ε = {eps}");
    }

    #[test]
    fn m3_robust_error_is_a_probability_increasing_in_the_budget(
        (m, clf, case) in model_classifier_threat(2..=3),
        mut budgets in prop::collection::vec(0.0f64..3.0, 6),
    ) {
        let threat = case.build(m.covariance()).unwrap();
        budgets.sort_by(f64::total_cmp);
        let curve = m.robust_error_curve(&clf, &threat, &budgets, &OrthantOptions::default()).unwrap();
        let error = m.error(&clf).unwrap().value();
        let mut previous = error;
        for (estimate, &eps) in curve.iter().zip(&budgets) {
            let v = estimate.value();
            prop_assert!((0.0..=1.0).contains(&v));
            // Φ and Φ₂ are monotone to their relative accuracy.
            prop_assert!(v >= previous * (1.0 - 1e-12), "RE({eps}) = {v} < {previous}");
            prop_assert_eq!(v, m.robust_error(&clf, &threat, eps).unwrap().value());
            previous = v;
        }
        prop_assert_eq!(m.robust_error(&clf, &threat, 0.0).unwrap().value(), error);
    }

    #[test]
    fn k2_errors_reproduce_the_two_class_crate(
        (gmm, case) in general_model().prop_flat_map(|g| {
            let cov = g.covariance().clone();
            (Just(g), threat_case(&cov))
        }),
        w_seed in any::<u64>(),
        bias in -1.0f64..1.0,
        eps in 0.0f64..2.0,
    ) {
        let threat = case.build(gmm.covariance()).unwrap();
        let m = MulticlassGmm::from(&gmm);
        let d = gmm.dim();
        let w: Vec<f64> = (0..d).map(|i| ((w_seed >> (i % 60)) & 7) as f64 - 3.5).collect();
        let two = LinearClassifier::new(DVector::from_vec(w), bias).unwrap();
        let multi = MulticlassClassifier::from_two_class(&two);
        for (expected, got) in [
            (gmm.error(&two).unwrap(), m.error(&multi).unwrap()),
            (gmm.robust_error(&two, &threat, eps).unwrap(), m.robust_error(&multi, &threat, eps).unwrap()),
            (gmm.bayes_error(), m.error(&m.bayes_classifier()).unwrap()),
        ] {
            prop_assert!(got.is_exact());
            prop_assert!((got.value() - expected).abs() <= REPRODUCED * expected,
                "{} vs two-class {expected}", got.value());
        }
    }

    #[test]
    fn permuting_classes_leaves_the_errors_unchanged(
        (m, clf, case) in model_classifier_threat(3..=3),
        seed in any::<u64>(),
        eps in 0.0f64..1.0,
    ) {
        let threat = case.build(m.covariance()).unwrap();
        let perm = permutation(m.classes(), seed);
        let (m2, clf2) = permuted(&m, &clf, &perm);
        let a = m.robust_error(&clf, &threat, eps).unwrap().value();
        let b = m2.robust_error(&clf2, &threat, eps).unwrap().value();
        prop_assert!((a - b).abs() <= tol::CLOSED_FORM * a, "{a} vs {b}");
        let bayes = m.error(&m.bayes_classifier()).unwrap().value();
        let bayes2 = m2.error(&m2.bayes_classifier()).unwrap().value();
        prop_assert!((bayes - bayes2).abs() <= REPRODUCED * bayes, "{bayes} vs {bayes2}");
    }

    #[test]
    fn m1_no_classifier_beats_the_bayes_rule(
        m in multiclass_model(3..=3),
        noise in prop::collection::vec(-0.5f64..0.5, 27),
        scale in 0.0f64..1.0,
    ) {
        let bayes = m.bayes_classifier();
        let best = m.error(&bayes).unwrap().value();
        let (k, d) = (m.classes(), m.dim());
        let size = bayes.weights().amax();
        let weights = DMatrix::from_fn(k, d, |i, j| bayes.weights()[(i, j)] + scale * size * noise[(i * d + j) % 27]);
        let biases = DVector::from_fn(k, |i, _| bayes.biases()[i] + scale * noise[(i + 13) % 27]);
        let other = MulticlassClassifier::new(weights, biases).unwrap();
        let error = m.error(&other).unwrap().value();
        prop_assert!(error >= best * (1.0 - 1e-12), "{error} < Bayes {best}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn m3_robust_error_of_many_classes_matches_monte_carlo_within_its_bound(
        (m, clf, case) in model_classifier_threat(4..=6),
        fraction in 0.0f64..2.0,
        seed in any::<u64>(),
    ) {
        let threat = case.build(m.covariance()).unwrap();
        let eps = typical_budget(&m, &clf, &case, fraction, seed ^ 7);
        let re = m.robust_error(&clf, &threat, eps).unwrap();
        let (xs, ys) = m.sample(SAMPLES, &mut StdRng::seed_from_u64(seed));
        let counted = robust_error_by_hand(&clf, &case, m.covariance(), eps, &xs, &ys);
        prop_assert!(within_binomial(counted, re.value(), SAMPLES, re.error_bound()),
            "Monte Carlo {counted} vs {} ± {} at ε = {eps}", re.value(), re.error_bound());
    }
}

#[test]
fn four_classes_in_two_dimensions_have_an_error_within_its_bound() {
    // K − 1 = 3 margins in d = 2: the margin covariance is singular, which
    // the orthant method must handle (THEORY M3).
    let means = (0..4)
        .map(|k| DVector::from_fn(2, |i, _| if i == k % 2 { k as f64 } else { -(k as f64) }))
        .collect();
    let m = MulticlassGmm::new(
        means,
        manifold_robustness::Covariance::isotropic(2, 1.0).unwrap(),
        DVector::from_element(4, 0.25),
    )
    .unwrap();
    let estimate = m.error(&m.bayes_classifier()).unwrap();
    assert!(estimate.value() > 0.0 && estimate.value() < 1.0);
    assert!(estimate.error_bound() <= 1e-6, "{estimate:?}");
}

#[test]
fn equilateral_classes_have_the_bivariate_closed_form() {
    // Means at the corners of an equilateral triangle with side a, Σ = I,
    // equal priors: every class's two facet margins are standardized at
    // a/2 with correlation 1/2, and ℓ2 lowers both by ε.
    let a = 3.0;
    let s = 3f64.sqrt();
    let means = vec![
        DVector::from_vec(vec![0.0, a / s]),
        DVector::from_vec(vec![-a / 2.0, -a / (2.0 * s)]),
        DVector::from_vec(vec![a / 2.0, -a / (2.0 * s)]),
    ];
    let m = MulticlassGmm::new(
        means,
        manifold_robustness::Covariance::isotropic(2, 1.0).unwrap(),
        DVector::from_element(3, 1.0 / 3.0),
    )
    .unwrap();
    let clf = m.bayes_classifier();
    for eps in [0.0, 0.5, 1.0, 20.0] {
        let h = a / 2.0 - eps;
        // 1 − Φ₂(h, h; 1/2) = P(Z₁ > h or Z₂ > h), by inclusion–exclusion
        // from Φ₂(−h, −h; 1/2) (the same correlation).
        let expected = 2.0 * manifold_robustness::normal::cdf(-h)
            - manifold_robustness::normal::bivariate_cdf(-h, -h, 0.5);
        let got = m.robust_error(&clf, &Threat::l2(), eps).unwrap().value();
        assert!(
            (got - expected).abs() <= 1e-13 * expected,
            "ε = {eps}: {got} vs {expected}"
        );
    }
    // Far from the boundary the robust error keeps its digits: at ε = 0 and
    // side 30 it is about 2Φ(−15) ≈ 7e-51.
    let far = MulticlassGmm::new(
        m.means().iter().map(|v| v * 10.0).collect(),
        m.covariance().clone(),
        m.priors().clone(),
    )
    .unwrap();
    let tiny = far.error(&far.bayes_classifier()).unwrap().value();
    let expected = 2.0 * manifold_robustness::normal::cdf(-15.0)
        - manifold_robustness::normal::bivariate_cdf(-15.0, -15.0, 0.5);
    assert!(
        (tiny - expected).abs() <= 1e-12 * expected,
        "{tiny} vs {expected}"
    );
}
