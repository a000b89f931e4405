//! THEORY P4′ and P6 on general models: any means, any prior.
//!
//! Models come from [`uncentered_model`]: centers with entries up to 5,
//! priors in `[0.05, 0.95]`, every threat family of the THEORY §3 table
//! ([`threat_case`](crate::common::threat_case)), budgets from 0 to past the
//! covering scale. The optimal error of a distance `r` is evaluated here
//! independently of the crate:
//! `E(r) = π Φ(−r − β) + (1 − π) Φ(−r + β)`, `β = ln(π/(1 − π))/(2r)`, and
//! `min(π, 1 − π)` for `r ≤ 0`.
//!
//! Tolerances: the optimum's `r*` is certified to lie in
//! `[distance, distance + gap]`, so no classifier can beat
//! `E(distance + gap)`; a robust error evaluated from a classifier's
//! weights and bias is off by at most [`rounding`] (its error analysis is
//! in `common`).

use crate::common::{
    PDF_MAX, SkipCap, ThreatCase, budget_scale, pair_on, rounding, shift, symmetric_model,
    threat_case, uncentered_model, uncentered_model_and_threat, vector,
};
use crate::tradeoff::{
    check_conflicts, check_price_of_union, check_self_cross, check_union_bounds,
};
use manifold_robustness::nalgebra::DVector;
use manifold_robustness::tradeoff::{self, MATCH_TOLERANCE};
use manifold_robustness::{Covariance, Error, Gmm, LinearClassifier, Threat, normal};
use proptest::prelude::*;

/// `E(r)` for prior `π`, written out (module docs).
fn optimal_error_by_hand(r: f64, prior: f64) -> f64 {
    if r <= 0.0 {
        return prior.min(1.0 - prior);
    }
    let beta = (prior / (1.0 - prior)).ln() / (2.0 * r);
    prior * normal::cdf(-r - beta) + (1.0 - prior) * normal::cdf(-r + beta)
}

/// `|E′(r)| = π φ(r + β) + (1 − π) φ(r − β)`.
fn optimal_error_slope(r: f64, prior: f64) -> f64 {
    if r <= 0.0 {
        return PDF_MAX;
    }
    let beta = (prior / (1.0 - prior)).ln() / (2.0 * r);
    prior * normal::pdf(r + beta) + (1.0 - prior) * normal::pdf(r - beta)
}

/// The classifier `sign(wᵀx + b)` with `b = ‖w‖_Σ β − wᵀc`: standardized
/// bias `β` (P4′).
fn with_standardized_bias(gmm: &Gmm, w: &DVector<f64>, beta: f64) -> LinearClassifier {
    let s = gmm.covariance().quadratic_form(w).unwrap().sqrt();
    LinearClassifier::new(w.clone(), s * beta - w.dot(&gmm.center())).unwrap()
}

/// The smallest robust error found for direction `w` over the bias: a
/// golden-section search over `β ∈ [−40, 40]` (the error is unimodal in `β`
/// when `a > 0`, monotone-or-peaked otherwise), plus the bracket's ends.
fn best_over_bias(gmm: &Gmm, w: &DVector<f64>, threat: &Threat, eps: f64) -> f64 {
    let f = |beta: f64| {
        gmm.robust_error(&with_standardized_bias(gmm, w, beta), threat, eps)
            .unwrap()
    };
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    let mut best = f(lo).min(f(hi));
    let mut x1 = hi - ratio * (hi - lo);
    let mut x2 = lo + ratio * (hi - lo);
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..120 {
        best = best.min(f1).min(f2);
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - ratio * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + ratio * (hi - lo);
            f2 = f(x2);
        }
    }
    best.min(f1).min(f2)
}

/// A model, a threat case, a budget fraction, random directions and
/// perturbations, random standardized biases.
type OptimumCase = (
    Gmm,
    ThreatCase,
    f64,
    Vec<DVector<f64>>,
    Vec<DVector<f64>>,
    Vec<f64>,
);

fn optimum_case() -> impl Strategy<Value = OptimumCase> {
    uncentered_model_and_threat().prop_flat_map(|(gmm, case)| {
        let d = gmm.dim();
        (
            Just(gmm),
            Just(case),
            0.0f64..1.3,
            prop::collection::vec(vector(d), 3),
            prop::collection::vec(vector(d), 3),
            prop::collection::vec(-3.0f64..3.0, 3),
        )
    })
}

/// Builds the threat and its budget, or `None` for a case invalid on this
/// covariance (an ambiguous eigenspace cut).
fn threat_and_budget(gmm: &Gmm, case: &ThreatCase, fraction: f64) -> Option<(Threat, f64)> {
    let threat = case.build(gmm.covariance()).ok()?;
    let eps = fraction * budget_scale(gmm, case, &threat);
    Some((threat, eps))
}

/// P4′: no classifier — random directions with random biases and their
/// best bias, small and large perturbations of `w*` with their best bias,
/// and `w*` itself with every bias on a grid and the golden-section best —
/// has a robust error below the certified optimum; and for `w*` no bias
/// beats `b*`.
fn check_no_classifier_beats_the_optimum(
    case: OptimumCase,
    skips: &SkipCap,
) -> Result<(), TestCaseError> {
    skips.case();
    let (gmm, threat_case, fraction, directions, perturbations, biases) = case;
    let Some((threat, eps)) = threat_and_budget(&gmm, &threat_case, fraction) else {
        return Ok(());
    };
    let opt = solved!(skips, gmm.robust_optimum(&threat, eps));
    let prior = gmm.prior_pos();
    let tol = rounding(&gmm, &[&threat_case]);
    // r_true ≤ distance + gap and E decreases: nothing beats this.
    let floor = optimal_error_by_hand(opt.distance() + opt.gap(), prior) - tol;
    prop_assert!(
        opt.robust_error() >= floor,
        "RE* {:e} below its own floor",
        opt.robust_error()
    );
    let re = |clf: &LinearClassifier| gmm.robust_error(clf, &threat, eps).unwrap();
    for w in &directions {
        for &beta in &biases {
            let value = re(&with_standardized_bias(&gmm, w, beta));
            prop_assert!(
                value >= floor,
                "random (w, β = {beta}): {value:e} < {floor:e}"
            );
        }
        let value = best_over_bias(&gmm, w, &threat, eps);
        prop_assert!(value >= floor, "random w, best bias: {value:e} < {floor:e}");
    }
    let Some(clf) = opt.classifier() else {
        // r* = 0: the constant rule, min(π, 1 − π), is optimal.
        prop_assert_eq!(opt.robust_error(), prior.min(1.0 - prior));
        return Ok(());
    };
    let w = clf.weights();
    for (u, eta) in perturbations.iter().zip([1e-4, 1e-2, 0.3]) {
        let moved = w + u * (eta * w.norm() / u.norm());
        let value = best_over_bias(&gmm, &moved, &threat, eps);
        prop_assert!(value >= floor, "w* + {eta}·u: {value:e} < {floor:e}");
        let value = re(&LinearClassifier::new(moved, clf.bias()).unwrap());
        prop_assert!(
            value >= floor,
            "w* + {eta}·u with b*: {value:e} < {floor:e}"
        );
    }
    // For w* itself the bias b* is optimal: a = ρ(w*) = distance to rounding.
    let attained = re(&clf);
    let s = gmm.covariance().quadratic_form(w).unwrap().sqrt();
    for i in 0..=40 {
        let step = -2.0 + 0.1 * f64::from(i);
        let moved = LinearClassifier::new(w.clone(), clf.bias() + s * step).unwrap();
        let value = re(&moved);
        prop_assert!(
            value >= attained - tol,
            "w* with β* + {step}: {value:e} < RE(w*, b*) = {attained:e}"
        );
    }
    let best = best_over_bias(&gmm, w, &threat, eps);
    prop_assert!(
        best >= attained - tol,
        "w* with the golden-section bias: {best:e} < {attained:e}"
    );
    Ok(())
}

/// The returned classifier attains `RE*` when evaluated by
/// `gmm.robust_error`, its standardized bias is `β* = ℓ/(2r*)`, and
/// `ln_robust_error` is the logarithm of `robust_error`.
fn check_the_classifier_attains_the_optimum(
    case: OptimumCase,
    skips: &SkipCap,
) -> Result<(), TestCaseError> {
    skips.case();
    let (gmm, threat_case, fraction, ..) = case;
    let Some((threat, eps)) = threat_and_budget(&gmm, &threat_case, fraction) else {
        return Ok(());
    };
    let opt = solved!(skips, gmm.robust_optimum(&threat, eps));
    let prior = gmm.prior_pos();
    // RE* comes from the certified (lower) distance: the classifier attains
    // it up to |E′(r)| ≤ 0.4 times the gap.
    let tol = rounding(&gmm, &[&threat_case]) + 0.4 * opt.gap();
    let expected = optimal_error_by_hand(opt.distance(), prior);
    prop_assert!(
        (opt.robust_error() - expected).abs() <= 1e-14 * expected,
        "RE* {:e}, by hand {expected:e}",
        opt.robust_error()
    );
    prop_assert!((opt.ln_robust_error() - opt.robust_error().ln()).abs() <= 1e-13);
    prop_assert_eq!(opt.prior_pos(), prior);
    let Some(clf) = opt.classifier() else {
        prop_assert!(opt.bias().is_none());
        return Ok(());
    };
    prop_assert_eq!(opt.bias(), Some(clf.bias()));
    let attained = gmm.robust_error(&clf, &threat, eps).unwrap();
    prop_assert!(
        (attained - opt.robust_error()).abs() <= tol,
        "RE(w*, b*) = {attained:e}, RE* = {:e}",
        opt.robust_error()
    );
    // β = (b + wᵀc)/s = (a₊ − a₋)/(2s) from the margins' means.
    let (a_pos, a_neg, s) = gmm.margin_distribution(&clf).unwrap();
    let beta = (a_pos - a_neg) / (2.0 * s);
    let expected_beta = (prior / (1.0 - prior)).ln() / (2.0 * opt.distance());
    let size = (a_pos.abs() + a_neg.abs()) / s + expected_beta.abs();
    prop_assert!(
        (beta - expected_beta).abs() <= 1e-12 * (1.0 + size),
        "β = {beta}, ℓ/(2r*) = {expected_beta}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// P4′: `min_{w,b} RE_ε(w, b) = RE*` — no classifier does better.
    #[test]
    fn p4_prime_no_classifier_beats_the_optimum(case in optimum_case()) {
        static SKIPS: SkipCap = SkipCap::new();
        check_no_classifier_beats_the_optimum(case, &SKIPS)?;
    }

    /// P4′: `RE(w*, b*) = RE* = π Φ(−r* − β*) + (1 − π) Φ(−r* + β*)`.
    #[test]
    fn p4_prime_the_returned_classifier_attains_the_optimal_error(case in optimum_case()) {
        static SKIPS: SkipCap = SkipCap::new();
        check_the_classifier_attains_the_optimum(case, &SKIPS)?;
    }

    /// THEORY §10 for training: translating both means by `t` leaves `w*`
    /// (bit for bit: the model's `μ` is exactly the same) and `RE*`
    /// unchanged and moves the bias by `−w*ᵀt`.
    #[test]
    fn translating_both_means_keeps_the_direction_and_moves_the_bias_by_minus_w_dot_t(
        (gmm, threat_case, fraction, t) in uncentered_model_and_threat().prop_flat_map(|(gmm, case)| {
            let d = gmm.dim();
            (Just(gmm), Just(case), 0.0f64..1.3, shift(d))
        })
    ) {
        static SKIPS: SkipCap = SkipCap::new();
        SKIPS.case();
        let Some((threat, eps)) = threat_and_budget(&gmm, &threat_case, fraction) else {
            return Ok(());
        };
        let moved = Gmm::new(
            gmm.mean(manifold_robustness::Label::Pos) + &t,
            gmm.mean(manifold_robustness::Label::Neg) + &t,
            gmm.covariance().clone(),
            gmm.prior_pos(),
        )
        .unwrap();
        prop_assert_eq!(moved.half_difference(), gmm.half_difference());
        let before = solved!(SKIPS, gmm.robust_optimum(&threat, eps));
        let after = solved!(SKIPS, moved.robust_optimum(&threat, eps));
        prop_assert_eq!(after.distance(), before.distance());
        prop_assert_eq!(after.gap(), before.gap());
        prop_assert_eq!(after.robust_error(), before.robust_error());
        match (before.classifier(), after.classifier()) {
            (None, None) => {}
            (Some(b), Some(a)) => {
                prop_assert_eq!(a.weights(), b.weights());
                let w = b.weights();
                let c = gmm.center();
                // b = s·β* − wᵀc: the two dot products round independently.
                let scale: f64 = (0..w.len())
                    .map(|i| w[i].abs() * (c[i].abs() + t[i].abs()))
                    .sum::<f64>()
                    + b.bias().abs();
                let tol = 4.0 * w.len() as f64 * f64::EPSILON * scale;
                prop_assert!(
                    (a.bias() - (b.bias() - w.dot(&t))).abs() <= tol,
                    "bias {} → {}, −wᵀt = {}",
                    b.bias(),
                    a.bias(),
                    -w.dot(&t)
                );
            }
            _ => prop_assert!(false, "a classifier on one side only"),
        }
    }

    /// Prior 1/2 with centered means reproduces the symmetric model's optimum
    /// bit for bit (bias 0, `RE* = Φ(−r*)`); prior 1/2 with any center
    /// keeps `RE* = Φ(−r*)` and the same weights.
    #[test]
    fn prior_one_half_with_centered_means_reproduces_the_symmetric_results(
        (gmm, threat_case, fraction, c) in symmetric_model().prop_flat_map(|gmm| {
            let cov = gmm.covariance().clone();
            let d = gmm.dim();
            (Just(gmm), threat_case(&cov), 0.0f64..1.3, shift(d))
        })
    ) {
        static SKIPS: SkipCap = SkipCap::new();
        SKIPS.case();
        let Some((threat, eps)) = threat_and_budget(&gmm, &threat_case, fraction) else {
            return Ok(());
        };
        let mu = gmm.half_difference();
        let cov = gmm.covariance().clone();
        let general = Gmm::new(mu.clone(), -&mu, cov.clone(), 0.5).unwrap();
        let symmetric = solved!(SKIPS, gmm.robust_optimum(&threat, eps));
        let same = solved!(SKIPS, general.robust_optimum(&threat, eps));
        prop_assert_eq!(same.distance(), symmetric.distance());
        prop_assert_eq!(same.gap(), symmetric.gap());
        prop_assert_eq!(symmetric.robust_error(), normal::cdf(-symmetric.distance()));
        prop_assert_eq!(symmetric.ln_robust_error(), normal::ln_cdf(-symmetric.distance()));
        prop_assert_eq!(same.robust_error(), symmetric.robust_error());
        let clf = symmetric.classifier();
        prop_assert_eq!(clf.as_ref().map(|c| c.bias()), clf.as_ref().map(|_| 0.0));
        prop_assert_eq!(same.classifier(), clf.clone());
        // Uncentered, prior 1/2: c enters the bias only. The shifted means
        // (c ± μ) may round, so μ and the solve may differ in the last bits.
        let shifted = Gmm::new(&c + &mu, &c - &mu, cov, 0.5).unwrap();
        if shifted.half_difference() == mu {
            let moved = solved!(SKIPS, shifted.robust_optimum(&threat, eps));
            prop_assert_eq!(moved.robust_error(), normal::cdf(-moved.distance()));
            prop_assert_eq!(moved.robust_error(), symmetric.robust_error());
            if let (Some(a), Some(b)) = (moved.classifier(), clf) {
                prop_assert_eq!(a.weights(), b.weights());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// P6 on general models: `C(A→B) ≥ 0` both ways up to the certified gaps.
    #[test]
    fn p6_conflicts_are_non_negative_on_general_models(case in pair_on(uncentered_model(), false)) {
        static SKIPS: SkipCap = SkipCap::new();
        check_conflicts(case, &SKIPS)?;
    }

    /// P6 on general models: the union's optimum lies between its bounds.
    #[test]
    fn p6_union_optimum_lies_between_its_bounds_on_general_models(
        case in pair_on(uncentered_model(), false)
    ) {
        static SKIPS: SkipCap = SkipCap::new();
        check_union_bounds(case, &SKIPS)?;
    }

    /// P6 on general models: the price of union is non-negative.
    #[test]
    fn p6_price_of_union_is_non_negative_on_general_models(
        case in pair_on(uncentered_model(), false)
    ) {
        static SKIPS: SkipCap = SkipCap::new();
        check_price_of_union(case, &SKIPS)?;
    }

    /// `CR(A→A) = RE*_A` on general models (`min(π, 1 − π)` without a
    /// classifier).
    #[test]
    fn cross_error_against_the_training_threat_is_the_optimum_on_general_models(
        case in pair_on(uncentered_model(), false)
    ) {
        static SKIPS: SkipCap = SkipCap::new();
        check_self_cross(case, &SKIPS)?;
    }

    /// The matched budget's optimum has optimal robust error `τ` for every
    /// target inside the reachable range: exactly to the inversion's
    /// accuracy for ellipsoids (`r` to 4ε relative through `E`, times the
    /// rounding of the closed form), within `|E′(r_τ)|(2·gap +
    /// MATCH_TOLERANCE·r_τ)` for the dual solver (module docs of
    /// `tradeoff`); targets above the range are rejected with its bounds.
    #[test]
    fn matched_budgets_reach_their_target_on_general_models(
        (gmm, threat_case, position, above) in uncentered_model_and_threat().prop_flat_map(|(gmm, case)| {
            (Just(gmm), Just(case), 0.02f64..0.98, 1.01f64..1.5)
        })
    ) {
        static SKIPS: SkipCap = SkipCap::new();
        SKIPS.case();
        let Ok(threat) = threat_case.build(gmm.covariance()) else { return Ok(()); };
        let (low, high) = match tradeoff::reachable_range(&gmm, &threat) {
            Ok(range) => range,
            // A union of rank-deficient ellipsoids: its limit is not computed.
            Err(Error::Unsupported(_)) => return Ok(()),
            Err(other) => panic!("{other}"),
        };
        let prior = gmm.prior_pos();
        prop_assert!(high <= prior.min(1.0 - prior));
        prop_assert!((low - gmm.bayes_error()).abs() <= 0.0);
        let tau = low + position * (high - low);
        let optimum = solved!(SKIPS, tradeoff::matched_optimum(&gmm, &threat, tau));
        let r = optimum.distance();
        let tol = optimal_error_slope(r, prior)
            * (2.0 * optimum.gap() + MATCH_TOLERANCE * r + 1e-12 * r)
            + rounding(&gmm, &[&threat_case]);
        prop_assert!(
            (optimum.robust_error() - tau).abs() <= tol,
            "RE*(ε_τ) = {:e}, τ = {tau:e}, tolerance {tol:e}",
            optimum.robust_error()
        );
        let beyond = (high * above).min(0.999);
        if beyond > high {
            match tradeoff::matched_budget(&gmm, &threat, beyond) {
                Err(Error::UnreachableTarget { target, min, max }) => {
                    prop_assert_eq!(target, beyond);
                    prop_assert_eq!(min, low);
                    prop_assert!((max - high).abs() <= 1e-15 * high, "max {max}, high {high}");
                }
                Err(Error::Unsupported(_)) => {}
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}

/// `ln RE*` stays finite and accurate where `RE*` underflows, for an
/// unequal prior: Σ = I, μ = (45, 0), c = (3, −1), π = 0.1, ℓ2 at ε = 5
/// gives `r* = 40`, `β* = ln(1/9)/80`. Reference `ln RE*` from mpmath at
/// 50 digits: `scripts/general_tail_reference.py`.
#[test]
fn ln_robust_error_is_accurate_in_the_far_tail_for_unequal_priors() {
    let cov = Covariance::isotropic(2, 1.0).unwrap();
    let gmm = Gmm::new(
        DVector::from_vec(vec![48.0, -1.0]),
        DVector::from_vec(vec![-42.0, -1.0]),
        cov,
        0.1,
    )
    .unwrap();
    let opt = gmm.robust_optimum(&Threat::l2(), 5.0).unwrap();
    // The exact r* = 40 lies in the certified interval.
    assert!(opt.distance() <= 40.0 + 1e-13 && 40.0 <= opt.distance() + opt.gap() + 1e-13);
    assert!(opt.gap() <= 1e-12 * 40.0, "gap {:e}", opt.gap());
    assert_eq!(opt.robust_error(), 0.0);
    let reference = LN_TAIL_REFERENCE;
    let ln = opt.ln_robust_error();
    assert!((ln / reference - 1.0).abs() < 1e-13, "{ln} vs {reference}");
    // The classifier agrees through the crate's own log-space evaluation.
    let clf = opt.classifier().unwrap();
    let direct = gmm.ln_robust_error(&clf, &Threat::l2(), 5.0).unwrap();
    assert!((direct / reference - 1.0).abs() < 1e-12, "{direct}");
}

/// See [`ln_robust_error_is_accurate_in_the_far_tail_for_unequal_priors`].
const LN_TAIL_REFERENCE: f64 = -805.119_644_339_072;

/// Matched budgets on the digits: a fitted model (4 against 9, Ledoit–Wolf)
/// is used as it is, and a target at or above `min(π, 1 − π)` names the
/// reachable range.
#[test]
fn fitted_digits_models_are_accepted_as_they_are() {
    let (x, y) = manifold_robustness::datasets::digits()
        .unwrap()
        .pair(4, 9)
        .unwrap();
    let gmm = Gmm::fit(&x, &y, manifold_robustness::Fit::LedoitWolf).unwrap();
    let prior = gmm.prior_pos();
    assert_eq!(prior, 181.0 / 361.0);
    let l2 = Threat::l2();
    let eps = tradeoff::matched_budget(&gmm, &l2, 0.1).unwrap();
    let optimum = gmm.robust_optimum(&l2, eps).unwrap();
    // Matched through the certified distance: within the gap's effect.
    assert!((optimum.robust_error() - 0.1).abs() <= 1e-12 * 0.1 + 0.4 * optimum.gap());
    let clf = optimum.classifier().unwrap();
    let attained = gmm.robust_error(&clf, &l2, eps).unwrap();
    assert!((attained / 0.1 - 1.0).abs() < 1e-10, "{attained}");
    let minority = 180.0 / 361.0;
    match tradeoff::matched_budget(&gmm, &Threat::linf(), 0.499).unwrap_err() {
        Error::UnreachableTarget { target, min, max } => {
            assert_eq!(target, 0.499);
            assert_eq!(min, gmm.bayes_error());
            assert!((max - minority).abs() < 1e-15);
        }
        other => panic!("{other:?}"),
    }
}
