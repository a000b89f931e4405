//! Conveniences a user expects: labels from ±1 and booleans, batch
//! prediction and sample error, and readable `Display` summaries that
//! respect the formatter's precision and width.

use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::rand::{SeedableRng, rngs::StdRng};
use manifold_robustness::{
    Covariance, Error, Fit, Gmm, Label, LinearClassifier, Threat, default_model, energy_profile,
    minimal_perturbation, minimal_perturbations, tradeoff,
};
use proptest::prelude::*;

proptest! {
    #[test]
    fn labels_convert_exactly_the_signs(v in any::<i32>()) {
        match Label::try_from(v) {
            Ok(label) => prop_assert_eq!(label.sign(), f64::from(v)),
            Err(Error::InvalidParameter { name, .. }) => {
                prop_assert_eq!(name, "label");
                prop_assert!(v != 1 && v != -1);
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
        let small = v as i8;
        prop_assert_eq!(Label::try_from(small).is_ok(), small == 1 || small == -1);
        prop_assert_eq!(Label::try_from(f64::from(v)).ok(), Label::try_from(v).ok());
    }
}

#[test]
fn labels_from_bools_and_fractions() {
    assert_eq!(Label::from(true), Label::Pos);
    assert_eq!(Label::from(false), Label::Neg);
    // Exactly ±1 only: the largest double below 1 is not a label.
    assert!(Label::try_from(1.0 - f64::EPSILON / 2.0).is_err());
    assert!(Label::try_from(-1.0 - f64::EPSILON).is_err());
    assert!(Label::try_from(f64::NAN).is_err());
}

#[test]
fn batch_prediction_and_sample_error_agree_with_the_model() {
    let gmm = default_model();
    let clf = gmm.bayes_classifier();
    let (x, y) = gmm.sample(20_000, &mut StdRng::seed_from_u64(5));
    let predicted = clf.predict_batch(&x).unwrap();
    for j in (0..x.nrows()).step_by(997) {
        assert_eq!(predicted[j], clf.predict(&x.row(j).transpose()));
    }
    let errors = predicted.iter().zip(&y).filter(|(p, l)| p != l).count();
    let sample_error = clf.sample_error(&x, &y).unwrap();
    assert_eq!(sample_error, errors as f64 / x.nrows() as f64);
    // Binomial error around the Bayes error 1%: σ = √(0.01·0.99/20000) ≈ 7e-4.
    assert!((sample_error - gmm.bayes_error()).abs() < 5.0 * 7.1e-4);
}

#[test]
fn robust_optimum_prints_its_numbers_at_the_requested_precision() {
    let gmm = Gmm::symmetric(
        DVector::from_vec(vec![3.0, 4.0]),
        Covariance::isotropic(2, 1.0).unwrap(),
    )
    .unwrap();
    // ℓ2 at ε = 2: r* = ‖μ‖ − ε = 3, λ = 2/3, ε_max = 5.
    let opt = gmm.robust_optimum(&Threat::l2(), 2.0).unwrap();
    let text = format!("{opt:.3}");
    assert!(
        text.starts_with("robust optimum at ε = 2.00: robust error 0.00135, r* = 3.00"),
        "{text}"
    );
    assert!(text.ends_with("λ = 0.667, ε_max = 5.00"), "{text}");
    let wide = format!("{opt:8.2}");
    assert!(wide.contains("r* =      3.0"), "{wide}");
}

#[test]
fn attacks_and_profiles_print_readable_summaries() {
    let cov = Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0])).unwrap();
    let clf = LinearClassifier::new(DVector::from_vec(vec![1.0, 0.0]), 0.0).unwrap();
    let x = DVector::from_vec(vec![2.0, 0.0]);
    let flip = minimal_perturbation(&clf, &Threat::l2(), &x, Label::Pos).unwrap();
    assert_eq!(format!("{flip:.2}"), "flip at budget 2.0, ‖δ‖ = 2.0");
    let latent = minimal_perturbation(&clf, &Threat::generative(&cov), &x, Label::Pos).unwrap();
    // σ_K(w) = ‖w‖_Σ = 2, so the budget (the latent length) is 1 and ‖δ‖ = 2.
    assert_eq!(
        format!("{latent:.2}"),
        "flip at budget 1.0, ‖δ‖ = 2.0, latent step ‖u‖ = 1.0"
    );
    let missed = minimal_perturbation(&clf, &Threat::l2(), &x, Label::Neg).unwrap();
    assert_eq!(missed.to_string(), "misclassified already (budget 0)");

    let xs = DMatrix::from_row_slice(3, 2, &[2.0, 0.0, 1.0, 5.0, -1.0, 0.0]);
    let ys = [Label::Pos, Label::Pos, Label::Pos];
    let batch = minimal_perturbations(&clf, &Threat::l2(), &xs, &ys).unwrap();
    assert_eq!(
        format!("{batch:.3}"),
        "3 points: 2 flipped, 1 misclassified, 0 unreachable; flipping budget median 2.00, mean 1.50"
    );

    let profile = energy_profile(&cov, &DVector::from_vec(vec![1.0, 1.0])).unwrap();
    assert_eq!(
        format!("{profile:.2}"),
        "energy over 2 directions: variance R = 2.5, top shares S_1 = 0.50"
    );
}

#[test]
fn tradeoffs_and_fits_print_readable_summaries() {
    let gmm = default_model();
    let threats = [Threat::l2(), Threat::generative(gmm.covariance())];
    let matrix = tradeoff::conflict_matrix(&gmm, &threats, 0.1).unwrap();
    let table = matrix.to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 6, "{table}");
    assert!(lines[0].starts_with("conflicts C(row→column) at target robust error 0.1000"));
    // The ℓ2 row: 0 on the diagonal, C(ℓ2→generative) next to it.
    let cells: Vec<&str> = lines[4].split_whitespace().collect();
    assert_eq!(cells[0], "ℓ2");
    assert_eq!(cells[1], "0");
    let shown: f64 = cells[2].parse().unwrap();
    let exact = matrix.conflicts[(0, 1)];
    assert!(
        (shown - exact).abs() <= 5e-4 * exact,
        "{shown} against {exact}"
    );

    let report = matrix.pair_report(&gmm, 0, 1).unwrap();
    let text = format!("{report:.3}");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("RE*_A = 0.100, RE*_B = 0.100"), "{text}");

    let (x, y) = gmm.sample(500, &mut StdRng::seed_from_u64(3));
    let (_, fit) = Gmm::fit_report(&x, &y, Fit::Ppca { rank: 4 }).unwrap();
    let line = format!("{fit:.3}");
    assert!(line.starts_with("Fit::Ppca: "), "{line}");
    assert!(line.contains("; PPCA rank 4, noise σ² = "), "{line}");
}

#[test]
// Passing a view by reference is one of the forms under test.
#[allow(clippy::needless_borrows_for_generic_args)]
fn point_matrices_are_accepted_as_views() {
    use manifold_robustness::attack_energy_summary;
    let gmm = manifold_robustness::default_model();
    let clf = gmm.bayes_classifier();
    let (x, y) = gmm.sample(40, &mut StdRng::seed_from_u64(9));
    let owned = x.rows(10, 10).into_owned();
    let labels = &y[10..20];
    let view = x.rows(10, 10);
    // A view by value and by reference gives what the owned copy gives.
    assert_eq!(
        clf.scores(x.rows(10, 10)).unwrap(),
        clf.scores(&owned).unwrap()
    );
    assert_eq!(
        clf.predict_batch(&view).unwrap(),
        clf.predict_batch(&owned).unwrap()
    );
    assert_eq!(
        clf.sample_error(x.rows(10, 10), labels).unwrap(),
        clf.sample_error(&owned, labels).unwrap()
    );
    let threat = Threat::linf();
    assert_eq!(
        minimal_perturbations(&clf, &threat, x.rows(10, 10), labels).unwrap(),
        minimal_perturbations(&clf, &threat, &owned, labels).unwrap()
    );
    assert_eq!(
        attack_energy_summary(&gmm, &clf, &threat, x.rows(10, 10), labels, &[4]).unwrap(),
        attack_energy_summary(&gmm, &clf, &threat, &owned, labels, &[4]).unwrap()
    );
    // Strided views (every other point, some columns) too.
    assert_eq!(clf.scores(view).unwrap(), clf.scores(&owned).unwrap());
    let strided = x.rows_with_step(0, 20, 1);
    let every_other = DMatrix::from_fn(20, x.ncols(), |i, j| x[(2 * i, j)]);
    assert_eq!(
        clf.scores(strided).unwrap(),
        clf.scores(&every_other).unwrap()
    );
    // A view of the wrong width is the same typed error as an owned matrix.
    assert!(matches!(
        clf.scores(x.columns(0, 3)),
        Err(manifold_robustness::Error::DimensionMismatch { .. })
    ));
}

/// The empirical and multi-class batch functions take views as well.
#[test]
fn sample_and_multiclass_batches_accept_views() {
    use manifold_robustness::empirical::{self, TrainingOptions};
    use manifold_robustness::{MulticlassGmm, multiclass};
    let gmm = manifold_robustness::default_model();
    let clf = gmm.bayes_classifier();
    let (x, y) = gmm.sample(60, &mut StdRng::seed_from_u64(5));
    let owned = x.rows(0, 40).into_owned();
    let labels = &y[0..40];
    let threat = Threat::l2();
    assert_eq!(
        empirical::robust_error(&clf, &threat, 0.3, x.rows(0, 40), labels).unwrap(),
        empirical::robust_error(&clf, &threat, 0.3, &owned, labels).unwrap()
    );
    // A ridge penalty: 40 points of the default model are separable.
    let options = TrainingOptions::default().with_l2_penalty(1e-2);
    assert_eq!(
        empirical::adversarial_training(x.rows(0, 40), labels, &threat, 0.1, &options).unwrap(),
        empirical::adversarial_training(&owned, labels, &threat, 0.1, &options).unwrap()
    );
    assert_eq!(
        manifold_robustness::Gmm::fit(x.rows(0, 40), labels, manifold_robustness::Fit::LedoitWolf)
            .unwrap(),
        manifold_robustness::Gmm::fit(&owned, labels, manifold_robustness::Fit::LedoitWolf)
            .unwrap()
    );
    let model = MulticlassGmm::from(&gmm);
    let mc = model.bayes_classifier();
    let (xs, ys) = model.sample(30, &mut StdRng::seed_from_u64(6));
    let part = xs.rows(5, 20).into_owned();
    let classes = &ys[5..25];
    assert_eq!(
        mc.scores_batch(xs.rows(5, 20)).unwrap(),
        mc.scores_batch(&part).unwrap()
    );
    assert_eq!(
        mc.predict_batch(xs.rows(5, 20)).unwrap(),
        mc.predict_batch(&part).unwrap()
    );
    assert_eq!(
        mc.sample_error(xs.rows(5, 20), classes).unwrap(),
        mc.sample_error(&part, classes).unwrap()
    );
    assert_eq!(
        multiclass::minimal_perturbations(&mc, &threat, xs.rows(5, 20), classes)
            .unwrap()
            .robust_error(0.3)
            .unwrap(),
        multiclass::minimal_perturbations(&mc, &threat, &part, classes)
            .unwrap()
            .robust_error(0.3)
            .unwrap()
    );
    let (from_view, from_owned) = (
        MulticlassGmm::fit(
            xs.rows(5, 20),
            classes,
            manifold_robustness::Fit::LedoitWolf,
        )
        .unwrap(),
        MulticlassGmm::fit(&part, classes, manifold_robustness::Fit::LedoitWolf).unwrap(),
    );
    assert_eq!(from_view.means(), from_owned.means());
    assert_eq!(from_view.priors(), from_owned.priors());
    assert_eq!(from_view.covariance(), from_owned.covariance());
    assert_eq!(
        multiclass::empirical_robust_error(&mc, &threat, 0.2, xs.rows(5, 20), classes).unwrap(),
        multiclass::empirical_robust_error(&mc, &threat, 0.2, &part, classes).unwrap()
    );
}

/// Every public value type can be printed for debugging, cloned and
/// compared (issue 12): this fails to compile when one of them loses a
/// trait.
#[test]
fn public_value_types_are_debug_clone_and_comparable() {
    use manifold_robustness::multiclass::{
        self, FacetAttacks, FacetEnergySummary, MulticlassEnergySummary,
    };
    use manifold_robustness::normal::{Estimate, OrthantOptions};
    use manifold_robustness::strategies::{Models, Spectra, ThreatSpec};
    use manifold_robustness::{
        AttackEnergySummary, AttackOptions, BatchAttack, ConflictMatrix, EigenCoordinates,
        EnergyProfile, ExtendedCovariance, FitReport, GrowthBasis, MulticlassClassifier,
        MulticlassGmm, Perturbation, Representation, RobustOptimum, SolverOptions, SpectralFamily,
        TradeoffReport, datasets::Digits, empirical::Stationarity, empirical::TrainingOptions,
        empirical::TrainingReport, fit::Regularization,
    };
    fn value_type<T: std::fmt::Debug + Clone + PartialEq>() {}
    value_type::<Label>();
    value_type::<LinearClassifier>();
    value_type::<Covariance>();
    value_type::<EigenCoordinates>();
    value_type::<Representation>();
    value_type::<Gmm>();
    value_type::<Fit>();
    value_type::<FitReport>();
    value_type::<Regularization>();
    value_type::<Threat>();
    value_type::<SpectralFamily>();
    value_type::<Perturbation>();
    value_type::<AttackOptions>();
    value_type::<BatchAttack>();
    value_type::<EnergyProfile>();
    value_type::<AttackEnergySummary>();
    value_type::<RobustOptimum>();
    value_type::<ExtendedCovariance>();
    value_type::<GrowthBasis>();
    value_type::<SolverOptions>();
    value_type::<ConflictMatrix>();
    value_type::<TradeoffReport>();
    value_type::<TrainingOptions>();
    value_type::<TrainingReport>();
    value_type::<Stationarity>();
    value_type::<Digits>();
    value_type::<Error>();
    value_type::<Estimate>();
    value_type::<OrthantOptions>();
    value_type::<MulticlassGmm>();
    value_type::<MulticlassClassifier>();
    value_type::<multiclass::Perturbation>();
    value_type::<FacetAttacks>();
    value_type::<multiclass::BatchAttack>();
    value_type::<FacetEnergySummary>();
    value_type::<MulticlassEnergySummary>();
    value_type::<Models>();
    value_type::<Spectra>();
    value_type::<ThreatSpec>();
}
