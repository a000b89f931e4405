//! THEORY §6, P3: the robust-error curve is the CDF of the minimal
//! flipping budget; its mean is closed-form and its quantiles solve
//! `RE_t = p`.

// Reference values keep every digit mpmath printed.
#![allow(clippy::excessive_precision)]

use crate::common::{general_model, tol, vector};
use manifold_robustness::nalgebra::DVector;
use manifold_robustness::{
    Covariance, Error, Gmm, LinearClassifier, Threat, default_model, minimal_perturbations, normal,
};
use proptest::prelude::*;
use rand::{SeedableRng, rngs::StdRng};

fn vec(v: &[f64]) -> DVector<f64> {
    DVector::from_vec(v.to_vec())
}

/// Samples `n` points, attacks them all and checks the empirical law of the
/// budgets against the model: the CDF at `t = 0` and at the `p`-quantiles
/// for `p ∈ {0.1, …, 0.9}` (binomial standard error
/// `√(F(1 − F)/n)`), and the mean (CLT with the sample standard deviation);
/// each within `tol::MONTE_CARLO_SIGMAS` = 5 standard errors. With about a
/// hundred comparisons in this file a false alarm has probability
/// ~1e-4 for a fresh seed, and the seeds are fixed.
fn check_law_by_monte_carlo(gmm: &Gmm, clf: &LinearClassifier, threat: &Threat, seed: u64) {
    let n = 20_000;
    let (xs, ys) = gmm.sample(n, &mut StdRng::seed_from_u64(seed));
    let batch = minimal_perturbations(clf, threat, &xs, &ys).unwrap();
    let budgets = batch.budgets();
    let nf = n as f64;
    let empirical_cdf = |t: f64| budgets.iter().filter(|&&b| b <= t).count() as f64 / nf;
    let binomial_se = |f: f64| (f * (1.0 - f) / nf).sqrt().max(1.0 / nf);
    let label = format!("{threat}");

    let standard_error = gmm.error(clf).unwrap();
    let at_zero = empirical_cdf(0.0);
    assert!(
        (at_zero - standard_error).abs() <= tol::MONTE_CARLO_SIGMAS * binomial_se(standard_error),
        "{label}: P(T = 0) = {at_zero} vs E = {standard_error}"
    );
    for p in [0.1, 0.3, 0.5, 0.7, 0.9] {
        if p <= standard_error {
            continue;
        }
        let t = gmm.adversarial_distance_quantile(clf, threat, p).unwrap();
        let curve = gmm.distance_cdf(clf, threat, t).unwrap();
        // The quantile solves RE_t = p to rounding.
        assert!(
            (curve - p).abs() < tol::CLOSED_FORM,
            "{label}: RE(t_p) = {curve} vs {p}"
        );
        let f = empirical_cdf(t);
        assert!(
            (f - curve).abs() <= tol::MONTE_CARLO_SIGMAS * binomial_se(curve),
            "{label}: empirical F({t}) = {f} vs RE = {curve}"
        );
    }
    let mean = gmm.mean_adversarial_distance(clf, threat).unwrap();
    let sample_mean = budgets.mean();
    let sd = (budgets.map(|b| (b - sample_mean).powi(2)).sum() / (nf - 1.0)).sqrt();
    assert!(
        (sample_mean - mean).abs() <= tol::MONTE_CARLO_SIGMAS * sd / nf.sqrt(),
        "{label}: sample mean {sample_mean} vs closed form {mean} (sd {sd})"
    );
}

#[test]
fn p3_monte_carlo_budgets_follow_the_robust_error_curve_default_model() {
    let gmm = default_model();
    let clf = gmm.bayes_classifier();
    let cov = gmm.covariance();
    for (i, threat) in [
        Threat::l2(),
        Threat::linf(),
        Threat::generative(cov),
        Threat::eigenspace(cov, 8).unwrap(),
    ]
    .iter()
    .enumerate()
    {
        check_law_by_monte_carlo(&gmm, &clf, threat, 100 + i as u64);
    }
}

#[test]
fn p3_monte_carlo_budgets_follow_the_robust_error_curve_general_prior() {
    // Unequal prior and means, a classifier that is not Bayes (with a bias),
    // so the two classes' margin laws differ.
    let cov = Covariance::diagonal(vec(&[0.3, 2.0, 1.0, 0.05, 4.0])).unwrap();
    let gmm = Gmm::new(
        vec(&[1.0, 0.5, -0.2, 0.3, 1.0]),
        vec(&[-0.5, 0.0, 0.4, -0.1, -0.5]),
        cov.clone(),
        0.3,
    )
    .unwrap();
    let clf = LinearClassifier::new(vec(&[1.0, 0.8, -0.5, 2.0, 0.3]), 0.4).unwrap();
    for (i, threat) in [
        Threat::l1(),
        Threat::lp(3.0).unwrap(),
        Threat::generative_rank(&cov, 2).unwrap(),
        Threat::off_manifold(&cov, 2).unwrap(),
    ]
    .iter()
    .enumerate()
    {
        check_law_by_monte_carlo(&gmm, &clf, threat, 200 + i as u64);
    }
}

#[test]
fn p3_monte_carlo_budgets_follow_the_robust_error_curve_spiked() {
    let d = 20;
    let q = crate::common::seeded_rotation(d, 5);
    let basis = q.columns(0, 3).into_owned();
    let cov = Covariance::spiked(basis.clone(), vec(&[9.0, 4.0, 2.0]), 0.25).unwrap();
    let mu = &basis * vec(&[1.0, -0.5, 0.5]) + q.column(7) * 0.3;
    let gmm = Gmm::symmetric(mu, cov.clone()).unwrap();
    let tilt = DVector::from_fn(d, |i, _| ((i as f64) * 1.3).sin() * 0.5);
    let clf = LinearClassifier::new(gmm.bayes_classifier().weights() + tilt, -0.1).unwrap();
    let union = Threat::union(vec![(Threat::l2(), 1.0), (Threat::linf(), 0.2)]).unwrap();
    for (i, threat) in [Threat::l2(), Threat::generative(&cov), union]
        .iter()
        .enumerate()
    {
        check_law_by_monte_carlo(&gmm, &clf, threat, 300 + i as u64);
    }
}

/// With `σ_K(w) = 0` the law has an atom `1 − E` at `+∞`: the sampled
/// unreachable fraction matches it, the CDF is flat at `E`, and the mean
/// and median are `+∞`.
#[test]
fn p3_unreachable_mass_sits_at_infinity() {
    let cov = Covariance::diagonal(vec(&[4.0, 1.0, 0.5])).unwrap();
    let gmm = Gmm::symmetric(vec(&[0.0, 1.0, 0.5]), cov.clone()).unwrap();
    let clf = gmm.bayes_classifier(); // w = (0, 2, 2): orthogonal to axis 0
    let threat = Threat::eigenspace(&cov, 1).unwrap();
    let e = gmm.error(&clf).unwrap();
    for t in [0.0, 1.0, 1e6] {
        assert_eq!(gmm.distance_cdf(&clf, &threat, t).unwrap(), e);
    }
    assert_eq!(gmm.distance_cdf(&clf, &threat, f64::INFINITY).unwrap(), 1.0);
    assert_eq!(
        gmm.mean_adversarial_distance(&clf, &threat).unwrap(),
        f64::INFINITY
    );
    assert_eq!(
        gmm.median_adversarial_distance(&clf, &threat).unwrap(),
        f64::INFINITY
    );
    assert_eq!(
        gmm.adversarial_distance_quantile(&clf, &threat, e * 0.5)
            .unwrap(),
        0.0
    );
    let n = 20_000;
    let (xs, ys) = gmm.sample(n, &mut StdRng::seed_from_u64(7));
    let batch = minimal_perturbations(&clf, &threat, &xs, &ys).unwrap();
    let infinite = batch.budgets().iter().filter(|b| b.is_infinite()).count() as f64 / n as f64;
    let se = (e * (1.0 - e) / n as f64).sqrt();
    assert!((infinite - (1.0 - e)).abs() <= tol::MONTE_CARLO_SIGMAS * se);
    assert_eq!(batch.flipped(), 0);
}

/// A classifier worse than chance has median distance 0 (`E ≥ 1/2`).
#[test]
fn median_is_zero_when_most_points_are_misclassified() {
    let gmm = default_model();
    let bayes = gmm.bayes_classifier();
    let flipped = LinearClassifier::new(-bayes.weights(), 0.0).unwrap();
    assert!(gmm.error(&flipped).unwrap() > 0.5);
    assert_eq!(
        gmm.median_adversarial_distance(&flipped, &Threat::l2())
            .unwrap(),
        0.0
    );
    // Its mean is tiny but positive, with no cancellation: both classes have
    // mean margin a = −wᵀμ < 0, so E[T] = s h(a/s)/σ with h(−y) ≈ φ(y)/y².
    let mean = gmm
        .mean_adversarial_distance(&flipped, &Threat::l2())
        .unwrap();
    let (a, _, s) = gmm.margin_distribution(&flipped).unwrap();
    let y = -a / s; // = Φ⁻¹(0.99) ≈ 2.33
    let asymptotic = s * normal::pdf(y) / (y * y) / flipped.weights().norm();
    assert!(mean > 0.0 && (mean / asymptotic - 1.0).abs() < 0.5);
}

/// Exact values: Σ = I in d = 1, means 2 and −1, prior 0.3, w = 1, b = 0:
/// margins N(2, 1) and N(1, 1), σ_ℓ2 = 1. References from mpmath at 40
/// digits (`E[T] = 0.3 h(2) + 0.7 h(1)` with `h(z) = zΦ(z) + φ(z)`, and
/// `findroot` on the curve).
#[test]
fn distance_law_by_hand_in_one_dimension() {
    let cov = Covariance::isotropic(1, 1.0).unwrap();
    let gmm = Gmm::new(vec(&[2.0]), vec(&[-1.0]), cov, 0.3).unwrap();
    let clf = LinearClassifier::new(vec(&[1.0]), 0.0).unwrap();
    let l2 = Threat::l2();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs();
    assert!(close(
        gmm.error(&clf).unwrap(),
        0.117_883_717_336_473_690_852
    ));
    assert!(close(
        gmm.robust_error(&clf, &l2, 0.5).unwrap(),
        0.236_018_437_488_848_246_513
    ));
    assert!(close(
        gmm.mean_adversarial_distance(&clf, &l2).unwrap(),
        1.360_868_040_196_429_229_726
    ));
    assert!(close(
        gmm.median_adversarial_distance(&clf, &l2).unwrap(),
        1.285_787_335_425_947_272_898
    ));
    assert!(close(
        gmm.adversarial_distance_quantile(&clf, &l2, 0.9).unwrap(),
        2.724_048_981_910_497_539_714
    ));
    // Symmetric, Σ = I, means ±(1, 0), Bayes w = (2, 0): margins N(2, 4),
    // σ_ℓ2 = 2, so t_p = 1 + Φ⁻¹(p).
    let gmm = Gmm::symmetric(vec(&[1.0, 0.0]), Covariance::isotropic(2, 1.0).unwrap()).unwrap();
    let clf = gmm.bayes_classifier();
    assert!(close(
        gmm.adversarial_distance_quantile(&clf, &l2, 0.9).unwrap(),
        2.281_551_565_544_600_466_965
    ));
}

/// `ln RE` must not underflow for well-separated models: with means
/// `±(m, 0)` and `Σ = I` the Bayes classifier has `ln RE_ε = ln Φ(ε − m)`
/// exactly, far below the smallest double.
#[test]
fn ln_robust_error_survives_separation() {
    let gmm = Gmm::symmetric(vec(&[60.0, 0.0]), Covariance::isotropic(2, 1.0).unwrap()).unwrap();
    let clf = gmm.bayes_classifier();
    let l2 = Threat::l2();
    assert_eq!(gmm.robust_error(&clf, &l2, 0.0).unwrap(), 0.0);
    let ln0 = gmm.ln_robust_error(&clf, &l2, 0.0).unwrap();
    // mpmath: ln Φ(−60) = −1805.013560680567138700667, ln Φ(−40) = −804.608442013753788.
    assert!((ln0 / -1_805.013_560_680_567_138_7 - 1.0).abs() < 1e-13);
    let ln20 = gmm.ln_robust_error(&clf, &l2, 20.0).unwrap();
    assert!((ln20 / -804.608_442_013_753_788_2 - 1.0).abs() < 1e-13);
    // Unequal priors: log-sum-exp of two far-apart terms.
    let gmm = Gmm::new(
        vec(&[60.0, 0.0]),
        vec(&[-60.0, 0.0]),
        Covariance::isotropic(2, 1.0).unwrap(),
        0.25,
    )
    .unwrap();
    let clf = LinearClassifier::new(vec(&[1.0, 0.0]), 10.0).unwrap();
    // a₊ = 70, a₋ = 50, s = 1: ln(0.25Φ(−70) + 0.75Φ(−50)) ≈ ln 0.75 + ln Φ(−50).
    let ln = gmm.ln_robust_error(&clf, &l2, 0.0).unwrap();
    let dominant = 0.75f64.ln() + normal::ln_cdf(-50.0);
    assert!((ln - dominant).abs() < 1e-12 * dominant.abs());
}

proptest! {
    /// The closed-form mean equals `∫₀^∞ (1 − RE_t) dt` (the mean of a
    /// non-negative variable is the integral of its survival function),
    /// computed by composite Simpson on the margin laws over
    /// `[0, max(a) + 40s]` (beyond, the survival function is below 1e-300).
    #[test]
    fn p3_mean_is_the_integral_of_the_survival_function(
        gmm in general_model(),
        b in -2.0f64..2.0,
        w_seed in any::<u64>(),
    ) {
        let d = gmm.dim();
        let w = DVector::from_fn(d, |i, _| ((i as f64 + 1.0) * (w_seed % 1000) as f64 * 0.37).sin() + 0.1);
        let clf = LinearClassifier::new(w, b).unwrap();
        let threat = Threat::generative(gmm.covariance());
        let (a_pos, a_neg, s) = gmm.margin_distribution(&clf).unwrap();
        let p = gmm.prior_pos();
        let survival = |u: f64| {
            p * normal::sf((u - a_pos) / s) + (1.0 - p) * normal::sf((u - a_neg) / s)
        };
        let upper = a_pos.max(a_neg).max(0.0) + 40.0 * s;
        // The survival function varies on the scale s/(1 + y) where y is how
        // far out in a tail u = 0 sits; Simpson's relative error is
        // ~(h/scale)⁴/180, so 200 panels per scale give < 1e-10.
        let tail = (-a_pos.min(a_neg) / s).max(0.0);
        let panels = 2 * ((upper * (1.0 + tail) * 100.0 / s).ceil() as usize).max(4000);
        let h = upper / panels as f64;
        let mut integral = survival(0.0) + survival(upper);
        for i in 1..panels {
            integral += survival(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        integral *= h / 3.0;
        let support = threat.support(clf.weights());
        let expected = integral / support;
        let mean = gmm.mean_adversarial_distance(&clf, &threat).unwrap();
        prop_assert!((mean - expected).abs() <= 1e-9 * expected, "{mean} vs {expected}");
    }

    /// Quantiles solve `RE_t = p`, are non-decreasing in `p`, and are `0`
    /// exactly when the standard error already reaches `p`.
    #[test]
    fn quantiles_invert_the_robust_error_curve(
        gmm in general_model(),
        b in -1.0f64..1.0,
        ps in prop::collection::vec(0.001f64..0.999, 1..6),
    ) {
        let clf = LinearClassifier::new(gmm.bayes_classifier().weights().clone(), b).unwrap();
        let threat = Threat::l2();
        let e = gmm.error(&clf).unwrap();
        let mut ps = ps;
        ps.sort_by(f64::total_cmp);
        let mut last = 0.0;
        for p in ps {
            let t = gmm.adversarial_distance_quantile(&clf, &threat, p).unwrap();
            prop_assert!(t >= last);
            last = t;
            if e >= p {
                prop_assert_eq!(t, 0.0);
            } else {
                let re = gmm.robust_error(&clf, &threat, t).unwrap();
                prop_assert!((re - p).abs() < tol::CLOSED_FORM, "RE({t}) = {re} vs {p}");
            }
        }
    }

    /// `ln_robust_error` is the logarithm of `robust_error` wherever the
    /// latter is representable, and the CDF is non-decreasing.
    #[test]
    fn ln_robust_error_and_cdf_agree_with_robust_error(
        (gmm, w) in general_model()
            .prop_flat_map(|g| vector(g.dim()).prop_map(move |w| (g.clone(), w))),
        eps in prop::collection::vec(0.0f64..5.0, 4),
    ) {
        let clf = LinearClassifier::new(w, 0.3).unwrap();
        let threat = Threat::linf();
        let mut eps = eps;
        eps.sort_by(f64::total_cmp);
        let mut last = 0.0;
        for e in eps {
            let re = gmm.robust_error(&clf, &threat, e).unwrap();
            prop_assert!(re >= last);
            last = re;
            prop_assert_eq!(gmm.distance_cdf(&clf, &threat, e).unwrap(), re);
            if re > 1e-290 {
                let ln = gmm.ln_robust_error(&clf, &threat, e).unwrap();
                // ln_cdf and ln(cdf) agree to ~1e-14 relative in the value.
                prop_assert!((ln - re.ln()).abs() < 1e-12, "{ln} vs {}", re.ln());
            }
        }
    }
}

#[test]
fn bad_input_gets_typed_errors() {
    let gmm = default_model();
    let clf = gmm.bayes_classifier();
    let l2 = Threat::l2();
    for eps in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            gmm.robust_error(&clf, &l2, eps),
            Err(Error::InvalidBudget { .. })
        ));
        assert!(matches!(
            gmm.ln_robust_error(&clf, &l2, eps),
            Err(Error::InvalidBudget { .. })
        ));
    }
    assert!(matches!(
        gmm.distance_cdf(&clf, &l2, f64::NAN),
        Err(Error::InvalidBudget { .. })
    ));
    assert_eq!(gmm.distance_cdf(&clf, &l2, -1.0).unwrap(), 0.0);
    for p in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(matches!(
            gmm.adversarial_distance_quantile(&clf, &l2, p),
            Err(Error::InvalidProbability { .. })
        ));
    }
    // Classifier and threat of another dimension.
    let small = LinearClassifier::new(vec(&[1.0, 2.0]), 0.0).unwrap();
    assert!(matches!(
        gmm.robust_error(&small, &l2, 0.1),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        gmm.mean_adversarial_distance(&small, &l2),
        Err(Error::DimensionMismatch { .. })
    ));
    let other = Threat::generative(&Covariance::isotropic(3, 1.0).unwrap());
    assert!(matches!(
        gmm.robust_error(&clf, &other, 0.1),
        Err(Error::DimensionMismatch { name: "threat", .. })
    ));
    assert!(matches!(
        gmm.median_adversarial_distance(&clf, &other),
        Err(Error::DimensionMismatch { name: "threat", .. })
    ));
}
