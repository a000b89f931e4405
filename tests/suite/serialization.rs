//! Feature `serde`: every value survives a JSON round trip unchanged, and
//! deserializing validates as the constructors do (invalid input is an
//! error naming the field, never an invalid value).

use manifold_robustness::attack::{AttackOptions, minimal_perturbations};
use manifold_robustness::empirical::TrainingOptions;
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::normal::{Estimate, OrthantOptions};
use manifold_robustness::rand::{SeedableRng, rngs::StdRng};
use manifold_robustness::strategies::{
    Models, Spectra, covariance, covering_budget, general_model, threat, threat_spec, vector,
};
use manifold_robustness::tradeoff::ConflictMatrix;
use manifold_robustness::training::ExtendedCovariance;
use manifold_robustness::{
    BatchAttack, Covariance, EnergyProfile, Fit, FitReport, Gmm, Label, LinearClassifier,
    Perturbation, RobustOptimum, SolverOptions, Threat, TradeoffReport, default_model,
    energy_profile, minimal_perturbation, tradeoff,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// JSON and back.
fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> T {
    let json = serde_json::to_string(value).expect("serializable");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{:.500}", json))
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
    let json = r#"{"dense":{"matrix":[[1.0,2.0],[2.0,1.0]]}}"#;
    let message = rejected::<Covariance>(json);
    assert!(
        message.starts_with("covariance: covariance is not positive definite"),
        "{message}"
    );
    // Inside a model, the same.
    let model = format!(
        r#"{{"mean_pos":[1.0,0.0],"mean_neg":[-1.0,0.0],"covariance":{json},"prior_pos":0.5}}"#
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
            rejected::<Covariance>(r#"{"dense":{"matrix":[[1.0,0.0],[0.5,1.0]]}}"#),
            "symmetric",
        ),
        (
            rejected::<Covariance>(r#"{"diagonal":{"variances":[1.0,0.0]}}"#),
            "not positive definite",
        ),
        (
            rejected::<Covariance>(
                r#"{"spiked":{"basis":[[1.0],[1.0],[0.0]],"variances":[2.0],"noise":1.0}}"#,
            ),
            "not orthonormal",
        ),
        (
            rejected::<Covariance>(
                r#"{"spiked":{"basis":[[1.0],[0.0],[0.0]],"variances":[0.5],"noise":1.0}}"#,
            ),
            "noise",
        ),
        (
            rejected::<Gmm>(
                r#"{"mean_pos":[1.0],"mean_neg":[-1.0],"covariance":{"diagonal":{"variances":[1.0]}},"prior_pos":1.5}"#,
            ),
            "prior_pos",
        ),
        (
            rejected::<Gmm>(
                r#"{"mean_pos":[1.0,2.0],"mean_neg":[-1.0],"covariance":{"diagonal":{"variances":[1.0]}},"prior_pos":0.5}"#,
            ),
            "mean_pos",
        ),
        (rejected::<Threat>(r#"{"lp":{"p":0.5}}"#), "p ≥ 1"),
        (
            rejected::<Threat>(
                r#"{"eigenspace":{"covariance":{"diagonal":{"variances":[2.0,1.0]}},"k":0}}"#,
            ),
            "rank",
        ),
        (
            rejected::<Threat>(
                r#"{"eigenspace":{"covariance":{"diagonal":{"variances":[1.0,1.0]}},"k":1}}"#,
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
            rejected::<LinearClassifier>(r#"{"weights":[0.0,0.0],"bias":0.0}"#),
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
            rejected::<Covariance>(r#"{"dense":{"matrix":[[1.0,0.0],[0.0]]}}"#),
            "matrix",
        ),
        (
            rejected::<Threat>(r#"{"ellipsoid":{"factor":[[1.0],[0.0,2.0]]}}"#),
            "factor",
        ),
        (
            rejected::<Covariance>(
                r#"{"spiked":{"basis":[[1.0,0.0],[0.0]],"variances":[2.0,1.5],"noise":1.0}}"#,
            ),
            "basis",
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

/// A value's JSON with `edit` applied, read back: the error message.
fn tampered<T: Serialize + DeserializeOwned + std::fmt::Debug>(
    value: &T,
    edit: impl FnOnce(&mut Value),
) -> String {
    let mut json = serde_json::to_value(value).unwrap();
    edit(&mut json);
    serde_json::from_value::<T>(json)
        .expect_err("tampered input must be rejected")
        .to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Ellipsoidal optima, alone and from a warm-started sweep, and their
    /// extended covariances: written as inputs and results, read back by
    /// solving again, equal to the original (budgets past the limit too).
    #[test]
    fn ellipsoid_optima_survive_a_round_trip(
        (gmm, spec, fractions) in prop_oneof![Models::new().symmetric(), general_model()]
            .prop_flat_map(|gmm| {
                let spec = threat_spec(gmm.covariance()).prop_filter("ellipsoids", |s| s.is_ellipsoid());
                (Just(gmm), spec, proptest::collection::vec(0.0..1.3f64, 1..6))
            })
    ) {
        let Ok(threat) = spec.build(gmm.covariance()) else {
            // A rank cutting a tie of the spectrum: no threat to train for.
            return Ok(());
        };
        let limit = covering_budget(&gmm, &threat).unwrap();
        let budgets: Vec<f64> = fractions.iter().map(|f| f * limit).collect();
        let sweep = gmm.robust_sweep(&threat, &budgets).unwrap();
        for opt in sweep.iter().chain([&gmm.robust_optimum(&threat, budgets[0]).unwrap()]) {
            let back: RobustOptimum = round_trip(opt);
            prop_assert_eq!(&back, opt);
            prop_assert_eq!(back.classifier(), opt.classifier());
            prop_assert_eq!(back.robust_error(), opt.robust_error());
            let ext = opt.extended_covariance().expect("an ellipsoid's optimum");
            let back: ExtendedCovariance = round_trip(&ext);
            prop_assert_eq!(&back, &ext);
        }
    }
}

#[test]
fn dual_optima_survive_a_round_trip() {
    let gmm = default_model();
    let union = Threat::union(vec![(Threat::linf(), 0.1), (Threat::l2(), 1.0)]).unwrap();
    // Inside the covering budget (a real classifier) and past it (none).
    for (threat, fraction) in [
        (Threat::linf(), 0.3),
        (Threat::l1(), 0.5),
        (union, 0.05),
        (Threat::linf(), 1.2),
    ] {
        let eps = fraction * covering_budget(&gmm, &threat).unwrap();
        let opt = gmm.robust_optimum(&threat, eps).unwrap();
        assert_eq!(opt.classifier().is_some(), fraction < 1.0, "{threat}");
        assert!(opt.lambda().is_none(), "{threat}: a dual solve");
        let back: RobustOptimum = round_trip(&opt);
        assert_eq!(back, opt);
        assert_eq!(back.classifier(), opt.classifier());
        assert!(opt.extended_covariance().is_none());
    }
}

#[test]
fn conflict_matrices_survive_a_round_trip() {
    let gmm = default_model();
    let threats = [
        Threat::l2(),
        Threat::generative(gmm.covariance()),
        Threat::linf(),
    ];
    let matrix = manifold_robustness::tradeoff::conflict_matrix(&gmm, &threats, 0.2).unwrap();
    let back: ConflictMatrix = round_trip(&matrix);
    assert_eq!(back, matrix);
    // Tampering with any part is caught and named.
    let message = tampered(&matrix, |j| j["cross"][0][1] = json!(0.5));
    assert!(message.contains("cross"), "{message}");
    let message = tampered(&matrix, |j| j["conflicts"][1] = json!([0.0, 0.0]));
    assert!(message.contains("conflicts"), "{message}");
    let message = tampered(&matrix, |j| j["target"] = json!(0.25));
    assert!(message.contains("target"), "{message}");
    let message = tampered(&matrix, |j| {
        let t = j["threats"][0].clone();
        j["threats"][0] = j["threats"][1].clone();
        j["threats"][1] = t;
    });
    assert!(message.contains("optima"), "{message}");
}

#[test]
fn optima_past_the_limit_write_an_infinite_multiplier_as_null() {
    let gmm = default_model();
    let opt = gmm.robust_optimum(&Threat::l2(), 100.0).unwrap();
    assert_eq!(opt.lambda(), Some(f64::INFINITY));
    let json = serde_json::to_value(&opt).unwrap();
    assert_eq!(json["solution"], json!({"ellipsoid": {"lambda": null}}));
    assert_eq!(round_trip(&opt), opt);
    let ext = opt.extended_covariance().unwrap();
    let json = serde_json::to_value(&ext).unwrap();
    assert!(
        json["relative_growth"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_null)
    );
    assert_eq!(round_trip(&ext), ext);
}

#[test]
fn stored_results_that_disagree_with_the_solution_are_errors_naming_the_field() {
    let gmm = default_model();
    let half = |t: &Threat| 0.5 * covering_budget(&gmm, t).unwrap();
    let ellipsoid = gmm
        .robust_optimum(&Threat::l2(), half(&Threat::l2()))
        .unwrap();
    let dual = gmm
        .robust_optimum(&Threat::linf(), half(&Threat::linf()))
        .unwrap();
    let r = ellipsoid.distance();
    let lambda = ellipsoid.lambda().unwrap();
    let cases = [
        // r* moved beyond the certified gap, either way.
        (
            tampered(&ellipsoid, |j| j["distance"] = json!(r * (1.0 + 1e-9))),
            "distance",
        ),
        (
            tampered(&ellipsoid, |j| j["distance"] = json!(r * (1.0 - 1e-9))),
            "gap",
        ),
        (tampered(&ellipsoid, |j| j["gap"] = json!(-1.0)), "gap"),
        (
            tampered(&ellipsoid, |j| {
                j["solution"]["ellipsoid"]["lambda"] = json!(lambda * (1.0 + 1e-10))
            }),
            "lambda",
        ),
        (
            tampered(&ellipsoid, |j| {
                j["solution"] = json!({"dual": {"weights": [1.0], "adversary": [0.0]}})
            }),
            "solution",
        ),
        (
            tampered(&ellipsoid, |j| j["budget"] = json!(-1.0)),
            "budget",
        ),
        (
            tampered(&dual, |j| {
                let w = j["solution"]["dual"]["weights"][0].as_f64().unwrap();
                j["solution"]["dual"]["weights"][0] = json!(-w - 1.0);
            }),
            "weights",
        ),
        (
            tampered(&dual, |j| {
                j["solution"]["dual"]["adversary"][3] = json!(0.0)
            }),
            "adversary",
        ),
        (
            tampered(&dual, |j| {
                j["solution"]["dual"]["weights"] = json!([1.0, 2.0])
            }),
            "weights",
        ),
        (
            tampered(&ellipsoid.extended_covariance().unwrap(), |j| {
                j["variances_after"][0] = json!(1e3)
            }),
            "variances_after",
        ),
        (
            tampered(&ellipsoid.extended_covariance().unwrap(), |j| {
                j["multiplicities"][0] = json!(2)
            }),
            "multiplicities",
        ),
        (
            tampered(&ellipsoid.extended_covariance().unwrap(), |j| {
                j["basis"] = json!("Generalized")
            }),
            "basis",
        ),
    ];
    for (message, field) in cases {
        assert!(
            message.contains(field),
            "{message:?} does not name {field:?}"
        );
    }
}

#[test]
fn vectors_and_matrices_are_plain_json_arrays() {
    let cov = Covariance::dense(DMatrix::from_row_slice(2, 2, &[2.0, 0.5, 0.5, 1.0])).unwrap();
    let gmm = Gmm::symmetric(DVector::from_vec(vec![1.0, -1.0]), cov).unwrap();
    assert_eq!(
        serde_json::to_value(&gmm).unwrap(),
        json!({
            "mean_pos": [1.0, -1.0],
            "mean_neg": [-1.0, 1.0],
            "covariance": {"dense": {"matrix": [[2.0, 0.5], [0.5, 1.0]]}},
            "prior_pos": 0.5
        })
    );
    // A 3 × 1 factor is three rows of one entry.
    let threat = Threat::ellipsoid(DMatrix::from_column_slice(3, 1, &[1.0, 2.0, 3.0])).unwrap();
    assert_eq!(
        serde_json::to_value(&threat).unwrap(),
        json!({"ellipsoid": {"factor": [[1.0], [2.0], [3.0]]}})
    );
    assert_eq!(round_trip(&threat), threat);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Multi-class models, classifiers, attacks (single and batch) and
    /// energy summaries survive a round trip with every number unchanged.
    #[test]
    fn multiclass_values_survive_a_round_trip(
        (cov, means) in Spectra::new().any().prop_flat_map(|cov| {
            let d = cov.dim();
            (Just(cov), proptest::collection::vec(vector(d), 3))
        }),
        seed in any::<u64>(),
    ) {
        use manifold_robustness::multiclass::{self, FacetAttacks, MulticlassEnergySummary};
        use manifold_robustness::{MulticlassClassifier, MulticlassGmm};
        let priors = DVector::from_vec(vec![0.2, 0.3, 0.5]);
        let model = MulticlassGmm::new(means, cov.clone(), priors).unwrap();
        let back: MulticlassGmm = round_trip(&model);
        prop_assert_eq!(&back, &model);
        prop_assert_eq!(back.covariance().eigenvalues(), model.covariance().eigenvalues());
        let clf = model.bayes_classifier();
        let back: MulticlassClassifier = round_trip(&clf);
        prop_assert_eq!(&back, &clf);
        let (xs, ys) = model.sample(30, &mut StdRng::seed_from_u64(seed));
        for threat in [Threat::l2(), Threat::linf(), Threat::generative(&cov)] {
            let attacks = FacetAttacks::new(&clf, &threat).unwrap();
            let back: FacetAttacks = round_trip(&attacks);
            prop_assert_eq!(&back, &attacks);
            let batch = attacks.attack_batch(&xs, &ys).unwrap();
            let back: multiclass::BatchAttack = round_trip(&batch);
            prop_assert_eq!(&back, &batch);
            for i in 0..batch.len() {
                // The steps are rebuilt from the stored margins: the same.
                prop_assert_eq!(back.perturbation(i), batch.perturbation(i));
                prop_assert_eq!(&round_trip(&batch.perturbation(i)), &batch.perturbation(i));
            }
            let summary = multiclass::attack_energy_summary(&model, &clf, &threat, &xs, &ys, &[1])
                .unwrap();
            let back: MulticlassEnergySummary = round_trip(&summary);
            prop_assert_eq!(&back, &summary);
        }
    }
}

#[test]
fn invalid_multiclass_values_are_errors_naming_the_field() {
    use manifold_robustness::multiclass::{self, FacetAttacks};
    use manifold_robustness::{MulticlassClassifier, MulticlassGmm};
    let model = MulticlassGmm::from(&default_model());
    let clf = model.bayes_classifier();
    let (xs, ys) = model.sample(50, &mut StdRng::seed_from_u64(5));
    let batch = FacetAttacks::new(&clf, &Threat::l2())
        .unwrap()
        .attack_batch(&xs, &ys)
        .unwrap();
    let flip = (0..batch.len()).find(|&i| batch.is_flip(i)).unwrap();
    let cases = [
        (
            rejected::<MulticlassGmm>(
                r#"{"means":[[1.0],[-1.0]],"covariance":{"diagonal":{"variances":[1.0]}},"priors":[0.5,0.6]}"#,
            ),
            "priors",
        ),
        (
            rejected::<MulticlassGmm>(
                r#"{"means":[[1.0],[1.0]],"covariance":{"diagonal":{"variances":[1.0]}},"priors":[0.5,0.5]}"#,
            ),
            "means",
        ),
        (
            rejected::<MulticlassClassifier>(
                r#"{"weights":[[1.0,0.0],[1.0,0.0]],"biases":[0.0,0.0]}"#,
            ),
            "weights",
        ),
        (
            rejected::<MulticlassClassifier>(r#"{"weights":[[1.0,0.0],[1.0]],"biases":[0.0,0.0]}"#),
            "weights",
        ),
        (
            rejected::<MulticlassClassifier>(r#"{"weights":[[1.0,0.0],[0.0,1.0]],"biases":[0.0]}"#),
            "biases",
        ),
        (tampered(&batch, |j| j["labels"][0] = json!(7)), "labels"),
        (
            tampered(&batch, |j| {
                let label = j["labels"][flip].clone();
                j["decisions"][flip]["flip"]["to"] = label;
            }),
            "decisions",
        ),
        (
            tampered(&batch, |j| {
                let b = j["decisions"][flip]["flip"]["budget"].as_f64().unwrap();
                j["decisions"][flip]["flip"]["budget"] = json!(b * (1.0 + 1e-12));
            }),
            "budget",
        ),
        (
            tampered(&batch, |j| j["decisions"][flip] = json!("unreachable")),
            "decisions",
        ),
        (
            tampered(&batch, |j| j["attacks"]["overshoot"] = json!(-1.0)),
            "overshoot",
        ),
    ];
    for (message, field) in cases {
        assert!(
            message.contains(field),
            "{message:?} does not name {field:?}"
        );
    }
    let back: multiclass::BatchAttack = round_trip(&batch);
    assert_eq!(back, batch);
    // Equality sees every stored decision: another label is another batch.
    let other_labels: Vec<usize> = ys.iter().map(|&y| (y + 1) % 2).collect();
    let other = FacetAttacks::new(&clf, &Threat::l2())
        .unwrap()
        .attack_batch(&xs, &other_labels)
        .unwrap();
    assert_ne!(other, batch);
    assert_ne!(
        FacetAttacks::new(&clf, &Threat::l2()).unwrap(),
        FacetAttacks::new(&clf, &Threat::linf()).unwrap()
    );
}

/// `value` written, edited as JSON, read back.
fn edited<T: Serialize + DeserializeOwned>(
    value: &T,
    edit: impl FnOnce(&mut Value),
) -> serde_json::Result<T> {
    let mut json = serde_json::to_value(value).unwrap();
    edit(&mut json);
    serde_json::from_value(json)
}

/// Every object in `json` without its `format` field (a file written
/// before versioning), or with `format` set to `version`.
fn set_format(json: &mut Value, version: Option<u32>) {
    match json {
        Value::Object(map) => {
            if map.contains_key("format") {
                match version {
                    Some(v) => map.insert("format".into(), json!(v)),
                    None => map.remove("format"),
                };
            }
            map.values_mut().for_each(|v| set_format(v, version));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| set_format(v, version)),
        _ => {}
    }
}

#[test]
fn re_solved_results_write_their_format_first() {
    let gmm = default_model();
    let opt = gmm.robust_optimum(&Threat::l2(), 0.05).unwrap();
    let ext = opt.extended_covariance().unwrap();
    let matrix = tradeoff::conflict_matrix(&gmm, &[Threat::l2(), Threat::linf()], 0.2).unwrap();
    for json in [
        serde_json::to_string(&opt).unwrap(),
        serde_json::to_string(&ext).unwrap(),
        serde_json::to_string(&matrix).unwrap(),
    ] {
        assert!(json.starts_with(r#"{"format":1,"#), "{}", &json[..40]);
    }
    // A current file is checked: the same edit that an older file may
    // carry is an error naming the field.
    let message = tampered(&opt, |j| j["distance"] = json!(opt.distance() * 0.5));
    assert!(message.contains("gap"), "{message}");
}

#[test]
fn an_older_optimum_is_solved_again_and_its_stored_results_ignored() {
    let gmm = default_model();
    let linf_budget = 0.3 * covering_budget(&gmm, &Threat::linf()).unwrap();
    // A warm-started sweep point (its iterations differ from a cold solve)
    // and a dual optimum.
    let sweep = gmm.robust_sweep(&Threat::l2(), &[0.01, 0.05]).unwrap();
    for (opt, threat, eps) in [
        (sweep[1].clone(), Threat::l2(), 0.05),
        (
            gmm.robust_optimum(&Threat::linf(), linf_budget).unwrap(),
            Threat::linf(),
            linf_budget,
        ),
    ] {
        let fresh = gmm.robust_optimum(&threat, eps).unwrap();
        for version in [None, Some(0)] {
            // Results an older solver might have written: far off today's.
            let back: RobustOptimum = edited(&opt, |j| {
                set_format(j, version);
                j["distance"] = json!(opt.distance() * 0.5);
                j["gap"] = json!(0.0);
                j["iterations"] = json!(12345);
            })
            .unwrap();
            assert_eq!(back, fresh, "{threat}, format {version:?}");
            assert_ne!(back.iterations(), 12345);
            // Inputs are still validated as the constructors do.
            let message = tampered(&opt, |j| {
                set_format(j, version);
                j["budget"] = json!(-1.0);
            });
            assert!(message.contains("budget"), "{message}");
        }
    }
}

#[test]
fn an_older_extended_covariance_is_the_re_solved_optimums_extension() {
    let gmm = default_model();
    let opt = gmm.robust_optimum(&Threat::l2(), 0.05).unwrap();
    let ext = opt.extended_covariance().unwrap();
    let wrong = |j: &mut Value| {
        j["relative_growth"][0] = json!(1e9);
        j["variances_before"][1] = json!(-3.0);
    };
    // Current format: the tampered entries are caught.
    let mut current = serde_json::to_value(&ext).unwrap();
    wrong(&mut current);
    let message = serde_json::from_value::<ExtendedCovariance>(current)
        .unwrap_err()
        .to_string();
    assert!(message.contains("variances_before"), "{message}");
    // Older format (the outer field missing, the optimum's too): the new
    // extension, whatever the file said.
    let back: ExtendedCovariance = edited(&ext, |j| {
        set_format(j, None);
        wrong(j);
    })
    .unwrap();
    assert_eq!(back, ext);
    assert_ne!(back.relative_growth()[0], 1e9);
}

#[test]
fn an_older_conflict_matrix_is_recomputed_from_its_inputs() {
    let gmm = default_model();
    let threats = [Threat::l2(), Threat::generative(gmm.covariance())];
    let matrix = tradeoff::conflict_matrix(&gmm, &threats, 0.2).unwrap();
    let wrong = |j: &mut Value| {
        j["cross"][0][1] = json!(0.5);
        j["conflicts"][1][0] = json!(0.5);
        j["target"] = json!(0.25);
    };
    for version in [None, Some(0)] {
        let back: ConflictMatrix = edited(&matrix, |j| {
            set_format(j, version);
            wrong(j);
        })
        .unwrap();
        // Re-solving each stored budget cold gives the stored optimum.
        assert_eq!(back.optima, matrix.optima);
        assert_eq!(back.cross, matrix.cross);
        assert_eq!(back.conflicts, matrix.conflicts);
        // The target is an input: kept as the file has it.
        assert_eq!(back.target, 0.25);
        // Inputs stay consistent: optimum i must be threat i's.
        let message = tampered(&matrix, |j| {
            set_format(j, version);
            j["threats"].as_array_mut().unwrap().swap(0, 1);
        });
        assert!(message.contains("optima"), "{message}");
    }
    // The current format checks the stored results (the target first).
    let message = tampered(&matrix, wrong);
    assert!(message.contains("target"), "{message}");
}

#[test]
fn a_newer_format_is_an_error_naming_both_versions() {
    let gmm = default_model();
    let opt = gmm.robust_optimum(&Threat::l2(), 0.05).unwrap();
    let ext = opt.extended_covariance().unwrap();
    let matrix = tradeoff::conflict_matrix(&gmm, &[Threat::l2(), Threat::linf()], 0.2).unwrap();
    let expected = "format 2 was written by a newer version of manifold-robustness; \
                    this version reads format 1 and older";
    // As the crate writes it (format first), with a field this version does
    // not know and without one it needs: the version is what is reported.
    let newer = |json: String| {
        json.replacen(r#"{"format":1,"#, r#"{"format":2,"a_new_field":true,"#, 1)
            .replacen(r#""budget":"#, r#""renamed_budget":"#, 1)
    };
    let messages = [
        serde_json::from_str::<RobustOptimum>(&newer(serde_json::to_string(&opt).unwrap()))
            .unwrap_err()
            .to_string(),
        serde_json::from_str::<ExtendedCovariance>(&newer(serde_json::to_string(&ext).unwrap()))
            .unwrap_err()
            .to_string(),
        serde_json::from_str::<ConflictMatrix>(&newer(serde_json::to_string(&matrix).unwrap()))
            .unwrap_err()
            .to_string(),
    ];
    for message in messages {
        assert!(message.contains(expected), "{message}");
    }
    // A newer optimum inside a current conflict matrix is caught too.
    let message = tampered(&matrix, |j| j["optima"][1]["format"] = json!(7));
    assert!(
        message.contains("format 7 was written by a newer version"),
        "{message}"
    );
}

#[test]
fn fitted_models_read_back_give_identical_results() {
    use manifold_robustness::datasets;
    // A fitted dense covariance's spectrum is a function of its matrix, as
    // for `Covariance::dense`, so reading the matrix back reproduces every
    // derived number, and a saved optimum reads back equal.
    let (x, y) = datasets::digits().unwrap().pair(3, 8).unwrap();
    for fit in [Fit::LedoitWolf, Fit::Ppca { rank: 10 }] {
        let gmm = Gmm::fit(&x, &y, fit).unwrap();
        let back: Gmm = round_trip(&gmm);
        assert_eq!(back, gmm);
        assert_eq!(
            back.covariance().eigenvalues(),
            gmm.covariance().eigenvalues()
        );
        assert_eq!(back.bayes_error(), gmm.bayes_error());
        let optimum = gmm.robust_optimum(&Threat::l2(), 2.0).unwrap();
        assert_eq!(round_trip(&optimum), optimum, "{fit:?}");
    }
}
