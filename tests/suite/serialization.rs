//! Feature `serde`: every value survives a JSON round trip unchanged, and
//! deserializing validates as the constructors do (invalid input is an
//! error naming the field, never an invalid value).

use manifold_robustness::attack::{AttackOptions, minimal_perturbations};
use manifold_robustness::empirical::TrainingOptions;
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::normal::{Estimate, OrthantOptions};
use manifold_robustness::rand::{SeedableRng, rngs::StdRng};
use manifold_robustness::strategies::{Models, Spectra, covariance, general_model, threat, vector};
use manifold_robustness::{
    BatchAttack, Covariance, EnergyProfile, Fit, FitReport, Gmm, Label, LinearClassifier,
    Perturbation, SolverOptions, Threat, TradeoffReport, default_model, energy_profile,
    minimal_perturbation, tradeoff,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// JSON and back.
fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> T {
    let json = serde_json::to_string(value).expect("serializable");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

/// The message of a failed deserialization.
fn rejected<T: DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
    serde_json::from_str::<T>(json)
        .expect_err("invalid input must be rejected")
        .to_string()
}

proptest! {
    #[test]
    fn covariances_survive_a_round_trip(
        cov in Models::new().spectra(Spectra::new().ties(true)).symmetric().prop_map(|g| g.covariance().clone())
    ) {
        let back = round_trip(&cov);
        prop_assert_eq!(&back, &cov);
        prop_assert_eq!(back.representation(), cov.representation());
        // The spectrum is recomputed from the same data: the same numbers.
        prop_assert_eq!(back.eigenvalues(), cov.eigenvalues());
    }

    #[test]
    fn models_survive_a_round_trip(gmm in prop_oneof![
        Models::new().symmetric(),
        Models::new().prior(0.2..=0.8).bayes_error(0.01..=0.15).general(),
        general_model(),
    ]) {
        let back = round_trip(&gmm);
        prop_assert_eq!(&back, &gmm);
        prop_assert_eq!(back.bayes_error(), gmm.bayes_error());
    }

    #[test]
    fn threats_survive_a_round_trip(
        (cov, t) in covariance().prop_flat_map(|cov| threat(&cov).prop_map(move |t| (cov.clone(), t)))
    ) {
        let back = round_trip(&t);
        prop_assert_eq!(&back, &t);
        prop_assert_eq!(back.to_string(), t.to_string());
        let w = DVector::from_element(cov.dim(), 1.0);
        prop_assert_eq!(back.support(&w), t.support(&w));
    }

    #[test]
    fn classifiers_and_attacks_survive_a_round_trip(
        (gmm, w) in Models::new().symmetric().prop_flat_map(|g| {
            let d = g.dim();
            (Just(g), vector(d))
        }),
        seed in any::<u64>(),
    ) {
        let clf = LinearClassifier::new(w, 0.25).unwrap();
        prop_assert_eq!(&round_trip(&clf), &clf);
        let (x, y) = gmm.sample(20, &mut StdRng::seed_from_u64(seed));
        prop_assert_eq!(&round_trip(&y), &y);
        for t in [Threat::l2(), Threat::linf(), Threat::generative(gmm.covariance())] {
            let batch = minimal_perturbations(&clf, &t, &x, &y).unwrap();
            let back: BatchAttack = round_trip(&batch);
            prop_assert_eq!(&back, &batch);
            let single = minimal_perturbation(&clf, &t, &x.row(0).transpose(), y[0]).unwrap();
            prop_assert_eq!(&round_trip(&single), &single);
            if let Some(delta) = single.delta() {
                let profile = energy_profile(gmm.covariance(), delta).unwrap();
                prop_assert_eq!(&round_trip(&profile), &profile);
            }
        }
    }
}

#[test]
fn unreachable_budgets_are_null_in_json_and_infinite_again() {
    // An eigenspace threat of the first axis cannot move w = e₂.
    let cov = Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0])).unwrap();
    let clf = LinearClassifier::new(DVector::from_vec(vec![0.0, 1.0]), 0.0).unwrap();
    let x = DMatrix::from_row_slice(2, 2, &[0.0, 1.0, 0.0, -1.0]);
    let threat = Threat::eigenspace(&cov, 1).unwrap();
    let batch = minimal_perturbations(&clf, &threat, &x, &[Label::Pos, Label::Pos]).unwrap();
    assert_eq!(batch.budgets().as_slice(), &[f64::INFINITY, 0.0]);
    let json = serde_json::to_string(&batch).unwrap();
    assert!(json.contains("\"budgets\":[null,0.0]"), "{json}");
    let back: BatchAttack = serde_json::from_str(&json).unwrap();
    assert_eq!(back, batch);
    assert_eq!(back.perturbation(0), Perturbation::Unreachable);
}

#[test]
fn options_labels_fits_and_reports_survive_a_round_trip() {
    let attack = AttackOptions::default().with_overshoot(1e-9);
    assert_eq!(round_trip(&attack), attack);
    let solver = SolverOptions::default()
        .with_gap_tolerance(1e-7)
        .with_max_iterations(17);
    assert_eq!(round_trip(&solver), solver);
    let training = TrainingOptions::default().with_l2_penalty(1e-3);
    assert_eq!(round_trip(&training), training);
    let orthant = OrthantOptions::default().with_seed(7).with_confidence(0.95);
    assert_eq!(round_trip(&orthant), orthant);
    for fit in [Fit::Pooled, Fit::LedoitWolf, Fit::Ppca { rank: 3 }] {
        assert_eq!(round_trip(&fit), fit);
    }
    let gmm = default_model();
    let (x, y) = gmm.sample(400, &mut StdRng::seed_from_u64(3));
    let (fitted, report): (Gmm, FitReport) = Gmm::fit_report(&x, &y, Fit::LedoitWolf).unwrap();
    assert_eq!(round_trip(&report), report);
    assert_eq!(round_trip(&fitted), fitted);
    let pair: TradeoffReport =
        tradeoff::pair_report(&gmm, (&Threat::l2(), 0.5), (&Threat::linf(), 0.05)).unwrap();
    assert_eq!(round_trip(&pair), pair);
    let estimate: Estimate = manifold_robustness::normal::orthant_probability(
        &DMatrix::identity(2, 2),
        &DVector::zeros(2),
        &orthant,
    )
    .unwrap();
    assert_eq!(round_trip(&estimate), estimate);
    let profile: EnergyProfile =
        energy_profile(gmm.covariance(), &DVector::from_element(gmm.dim(), 1.0)).unwrap();
    assert_eq!(round_trip(&profile), profile);
}

#[test]
fn a_non_positive_definite_covariance_is_an_error_naming_the_field() {
    // Eigenvalues 3 and −1.
    let json = r#"{"dense":{"matrix":[[1.0,2.0,2.0,1.0],2,2]}}"#;
    let message = rejected::<Covariance>(json);
    assert!(
        message.starts_with("covariance: covariance is not positive definite"),
        "{message}"
    );
    // Inside a model, the same.
    let model = format!(
        r#"{{"mean_pos":[[1.0,0.0],2,null],"mean_neg":[[-1.0,0.0],2,null],"covariance":{json},"prior_pos":0.5}}"#
    );
    let message = rejected::<Gmm>(&model);
    assert!(
        message.contains("covariance is not positive definite"),
        "{message}"
    );
}

#[test]
fn invalid_values_are_errors_naming_the_field() {
    let cases: Vec<(String, &str)> = vec![
        (
            rejected::<Covariance>(r#"{"dense":{"matrix":[[1.0,0.5,0.0,1.0],2,2]}}"#),
            "symmetric",
        ),
        (
            rejected::<Covariance>(r#"{"diagonal":{"variances":[[1.0,0.0],2,null]}}"#),
            "not positive definite",
        ),
        (
            rejected::<Covariance>(
                r#"{"spiked":{"basis":[[1.0,1.0,0.0],3,1],"variances":[[2.0],1,null],"noise":1.0}}"#,
            ),
            "not orthonormal",
        ),
        (
            rejected::<Covariance>(
                r#"{"spiked":{"basis":[[1.0,0.0,0.0],3,1],"variances":[[0.5],1,null],"noise":1.0}}"#,
            ),
            "noise",
        ),
        (
            rejected::<Gmm>(
                r#"{"mean_pos":[[1.0],1,null],"mean_neg":[[-1.0],1,null],"covariance":{"diagonal":{"variances":[[1.0],1,null]}},"prior_pos":1.5}"#,
            ),
            "prior_pos",
        ),
        (
            rejected::<Gmm>(
                r#"{"mean_pos":[[1.0,2.0],2,null],"mean_neg":[[-1.0],1,null],"covariance":{"diagonal":{"variances":[[1.0],1,null]}},"prior_pos":0.5}"#,
            ),
            "mean_pos",
        ),
        (rejected::<Threat>(r#"{"lp":{"p":0.5}}"#), "p ≥ 1"),
        (
            rejected::<Threat>(
                r#"{"eigenspace":{"covariance":{"diagonal":{"variances":[[2.0,1.0],2,null]}},"k":0}}"#,
            ),
            "rank",
        ),
        (
            rejected::<Threat>(
                r#"{"eigenspace":{"covariance":{"diagonal":{"variances":[[1.0,1.0],2,null]}},"k":1}}"#,
            ),
            "eigen",
        ),
        (
            rejected::<Threat>(
                r#"{"budget must be finite and non-negative":{"parts":[["linf",-1.0],[{"lp":{"p":2.0}},1.0]]}}"#,
            ),
            "union",
        ),
        (
            rejected::<LinearClassifier>(r#"{"weights":[[0.0,0.0],2,null],"bias":0.0}"#),
            "zero",
        ),
        (
            rejected::<AttackOptions>(r#"{"overshoot":-1.0}"#),
            "overshoot",
        ),
        (
            rejected::<SolverOptions>(r#"{"gap_tolerance":-1.0,"max_iterations":5}"#),
            "gap_tolerance",
        ),
        (
            rejected::<TrainingOptions>(
                r#"{"l2_penalty":0.0,"gradient_tolerance":1e-8,"max_iterations":0,"fit_bias":true}"#,
            ),
            "max_iterations",
        ),
        (
            rejected::<OrthantOptions>(r#"{"absolute_error":2.0,"confidence":0.9,"seed":0}"#),
            "absolute_error",
        ),
        (
            rejected::<Estimate>(r#"{"value":0.5,"error_bound":-1.0,"confidence":1.0}"#),
            "error_bound",
        ),
        (
            rejected::<Estimate>(r#"{"value":0.5,"error_bound":0.1,"confidence":0.0}"#),
            "confidence",
        ),
        // Shapes and unknown fields.
        (
            rejected::<Covariance>(r#"{"dense":{"matrix":[[1.0,0.0,0.0],2,2]}}"#),
            "",
        ),
        (
            rejected::<AttackOptions>(r#"{"overshoot":0.0,"extra":1}"#),
            "extra",
        ),
        (rejected::<Label>(r#""Maybe""#), "Maybe"),
    ];
    for (message, expected) in cases {
        assert!(
            message.contains(expected),
            "{message:?} does not mention {expected:?}"
        );
    }
}

#[test]
fn perturbations_keep_their_variant() {
    let gmm = default_model();
    let clf = gmm.bayes_classifier();
    let x = gmm.mean(Label::Pos).clone();
    for (label, threat) in [
        (Label::Pos, Threat::l2()),
        (Label::Neg, Threat::l2()),
        (Label::Pos, Threat::generative(gmm.covariance())),
    ] {
        let p = minimal_perturbation(&clf, &threat, &x, label).unwrap();
        let back = round_trip(&p);
        assert_eq!(back, p);
        assert_eq!(back.is_flip(), label == Label::Pos);
    }
}
