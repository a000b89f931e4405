//! `Display` of threats and of the results that had none: the formatter's
//! width, fill and alignment apply to a threat's whole name, the precision
//! to its parameters; numbers in results get the precision as significant
//! digits and the width as their minimum width.

use manifold_robustness::empirical::{TrainingOptions, adversarial_training_report};
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::normal::{OrthantOptions, orthant_probability};
use manifold_robustness::{
    Covariance, Gmm, Label, LinearClassifier, Threat, attack_energy_summary,
};

#[test]
fn threat_names_respect_width_fill_and_alignment() {
    let cov = Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0, 0.5])).unwrap();
    let eigenspace = Threat::eigenspace(&cov, 2).unwrap();
    assert_eq!(format!("[{:14}]", eigenspace), "[eigenspace 2  ]");
    assert_eq!(format!("[{:>14}]", eigenspace), "[  eigenspace 2]");
    assert_eq!(format!("[{:^14}]", eigenspace), "[ eigenspace 2 ]");
    assert_eq!(format!("[{:.>6}]", Threat::linf()), "[....ℓ∞]");
    // A name longer than the width is written whole.
    assert_eq!(format!("[{:3}]", eigenspace), "[eigenspace 2]");
    // Table columns line up whatever the threat.
    let cells: Vec<String> = [Threat::l2(), Threat::generative(&cov), eigenspace.clone()]
        .iter()
        .map(|t| format!("{t:>12}|"))
        .collect();
    assert!(cells.iter().all(|c| c.chars().count() == 13), "{cells:?}");
}

#[test]
fn threat_parameters_take_the_precision_and_are_never_truncated() {
    let l3 = Threat::lp(1.0 / 0.3).unwrap();
    assert_eq!(l3.to_string(), format!("ℓ{}", 1.0 / 0.3));
    assert_eq!(format!("{l3:.3}"), "ℓ3.33");
    let union = Threat::union(vec![(Threat::linf(), 1.0 / 3.0), (Threat::l2(), 2.0)]).unwrap();
    assert_eq!(format!("{union:.2}"), "union(0.33·ℓ∞, 2.0·ℓ2)");
    assert_eq!(format!("{union}"), format!("union({}·ℓ∞, 2·ℓ2)", 1.0 / 3.0));
    // Width and precision together.
    assert_eq!(format!("[{union:>24.2}]"), "[  union(0.33·ℓ∞, 2.0·ℓ2)]");
}

#[test]
fn extended_covariances_print_their_growth() {
    // Σ = diag(4, 1), μ = (2, 1), ℓ2 at ε = 1: λ from the secular equation,
    // growth 1 + λ/λ_i, largest along the small-variance direction 2.
    let cov = Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0])).unwrap();
    let gmm = Gmm::symmetric(DVector::from_vec(vec![2.0, 1.0]), cov).unwrap();
    let opt = gmm.robust_optimum(&Threat::l2(), 1.0).unwrap();
    let ext = opt.extended_covariance().unwrap();
    let lambda = ext.lambda();
    let text = format!("{ext:.3}");
    let expected = format!(
        "covariance extended in the covariance's eigenbasis with λ = {}: variances grow by a factor from {} to {}, most along direction 2",
        sig3(lambda),
        sig3(1.0 + lambda / 4.0),
        sig3(1.0 + lambda)
    );
    assert_eq!(text, expected);
    let wide = format!("{ext:>9.2}");
    assert!(wide.contains(&format!("λ = {:>9}", sig2(lambda))), "{wide}");
}

/// Three significant digits for numbers in `[1, 10)`, as the crate prints them.
fn sig3(x: f64) -> String {
    assert!((1.0..10.0).contains(&x) || (0.1..1.0).contains(&x), "{x}");
    if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn sig2(x: f64) -> String {
    if x >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

#[test]
fn estimates_print_a_bound_only_when_inexact() {
    // Two independent coordinates: P(X₁ ≤ 0, X₂ ≤ 0) = 1/4 exactly.
    let estimate = orthant_probability(
        &DMatrix::identity(2, 2),
        &DVector::zeros(2),
        &OrthantOptions::default(),
    )
    .unwrap();
    assert!(estimate.is_exact());
    assert_eq!(format!("{estimate:.3}"), "0.250");
    assert_eq!(format!("[{estimate:>7.2}]"), "[   0.25]");
}

#[test]
fn training_reports_and_energy_summaries_print_one_line() {
    let x = DMatrix::from_row_slice(4, 2, &[2.0, 0.5, 1.5, -0.5, -2.0, 0.3, -1.0, -0.2]);
    let y = [Label::Pos, Label::Pos, Label::Neg, Label::Neg];
    let options = TrainingOptions::default().with_l2_penalty(0.1);
    let (_, report) = adversarial_training_report(&x, &y, &Threat::l2(), 0.1, &options).unwrap();
    let line = format!("{report:.2}");
    assert!(
        line.starts_with(&format!(
            "converged (gradient) after {} iterations and {} data passes: loss ",
            report.iterations, report.data_passes
        )),
        "{line}"
    );
    // The residual is below the tolerance 1e-8: scientific notation.
    assert!(
        line.ends_with(&format!(
            "stationarity residual {:.1e}",
            report.gradient_norm
        )),
        "{line}"
    );

    let cov = Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0])).unwrap();
    let gmm = Gmm::symmetric(DVector::from_vec(vec![2.0, 1.0]), cov).unwrap();
    let clf = LinearClassifier::new(DVector::from_vec(vec![0.0, 1.0]), 0.0).unwrap();
    // Both points flipped along direction 2 (variance 1): R = 1, S_1 = 0.
    let xs = DMatrix::from_row_slice(2, 2, &[0.0, 1.0, 0.0, 3.0]);
    let summary = attack_energy_summary(
        &gmm,
        &clf,
        &Threat::l2(),
        &xs,
        &[Label::Pos, Label::Pos],
        &[1],
    )
    .unwrap();
    assert_eq!(
        format!("{summary:.2}"),
        "ℓ2: 2 of 2 points flipped, mean budget 2.0, variance along the attack R = 1.0 (data 2.5), S_1 = 0"
    );
}

#[test]
fn multiclass_results_print_as_summaries_respecting_precision_and_width() {
    use manifold_robustness::MulticlassClassifier;
    use manifold_robustness::multiclass::{FacetAttacks, attack_energy_summary};
    // Scores x₁, −x₁ and x₂ − 1: from (2, 0.5), class 0's nearest facet
    // is class 2's, at ℓ2 budget 2.5/√2 = 1.76777; ‖δ‖ is the same.
    let w = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0]);
    let clf = MulticlassClassifier::new(w, DVector::from_vec(vec![0.0, 0.0, -1.0])).unwrap();
    let attacks = FacetAttacks::new(&clf, &Threat::l2()).unwrap();
    let flip = attacks
        .attack(&DVector::from_vec(vec![2.0, 0.5]), 0)
        .unwrap();
    assert_eq!(
        flip.to_string(),
        "flip to class 2 at budget 1.768, ‖δ‖ = 1.768"
    );
    assert_eq!(
        format!("{flip:8.2}"),
        "flip to class 2 at budget      1.8, ‖δ‖ =      1.8"
    );
    // Row 1 scores (−2, 2, −1) under label 0: misclassified. Row 2, class 2
    // at (1, 3): margins 1 and 3 to classes 0 and 1, both facets of norm √2,
    // so budget 1/√2. Median of (1/√2, 2.5/√2) is the upper one, mean 1.75/√2.
    let xs = DMatrix::from_row_slice(3, 2, &[2.0, 0.5, -2.0, 0.0, 1.0, 3.0]);
    let batch = attacks.attack_batch(&xs, &[0, 0, 2]).unwrap();
    assert_eq!(
        format!("{batch:.3}"),
        "3 points: 2 flipped, 1 misclassified, 0 unreachable; flipping budget median 1.77, mean 1.24"
    );
    let m = manifold_robustness::MulticlassGmm::from(&manifold_robustness::default_model());
    let bayes = m.bayes_classifier();
    let (x, y) = m.sample(100, &mut <manifold_robustness::rand::rngs::StdRng as manifold_robustness::rand::SeedableRng>::seed_from_u64(2));
    let summary = attack_energy_summary(&m, &bayes, &Threat::l2(), &x, &y, &[8]).unwrap();
    let text = format!("{summary:.2}");
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().starts_with("all facets, ℓ2: "),
        "{text}"
    );
    for (line, facet) in lines.zip(&summary.per_facet) {
        assert!(
            line.starts_with(&format!("  class {} → {}: ℓ2: ", facet.from, facet.to)),
            "{text}"
        );
    }
    assert_eq!(text.lines().count(), 1 + summary.per_facet.len());
}
