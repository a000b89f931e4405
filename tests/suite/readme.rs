//! The README's tables of the main example (`examples/disentangle.rs`),
//! recomputed through the public API the way the example computes them and
//! compared with the README text, so that the two cannot drift apart; and
//! the README's ten-class figures, from the very code of `real_digits
//! --ten` (`examples/common/ten_classes.rs`).
//!
//! A README number with `n` significant digits must equal the recomputed
//! value rounded to `n` digits: the difference may be at most half a unit
//! of its last digit (plus a relative 1e-12 for the decimal conversion).

use manifold_robustness::rand::{SeedableRng, rngs::StdRng};
use manifold_robustness::{
    LinearClassifier, Threat, attack_energy_summary, default_model, tradeoff,
};

const README: &str = include_str!("../../README.md");

#[path = "../../examples/common/ten_classes.rs"]
mod ten_classes;

/// The rows of the Markdown table whose header line starts with `header`,
/// as trimmed cells (the header and the delimiter row excluded).
fn table(header: &str) -> Vec<Vec<String>> {
    let mut lines = README.lines().skip_while(|line| !line.starts_with(header));
    assert!(lines.next().is_some(), "README: no table headed {header:?}");
    let rows: Vec<Vec<String>> = lines
        .skip(1)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim()
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect();
    assert!(
        !rows.is_empty(),
        "README: the table headed {header:?} is empty"
    );
    rows
}

/// Whether `shown` (as printed in the README) is `value` rounded to the
/// digits `shown` has; the error message names both.
fn check_shown(shown: &str, value: f64, what: &str) {
    let parsed: f64 = shown
        .parse()
        .unwrap_or_else(|_| panic!("{what}: README cell {shown:?} is not a number"));
    let mantissa = shown.split(['e', 'E']).next().unwrap();
    let exponent: i32 = shown
        .split(['e', 'E'])
        .nth(1)
        .map_or(0, |e| e.parse().unwrap());
    let decimals = mantissa.split('.').nth(1).map_or(0, str::len) as i32;
    let half_unit = 0.5 * 10f64.powi(exponent - decimals);
    assert!(
        (parsed - value).abs() <= half_unit + 1e-12 * value.abs(),
        "{what}: the README shows {shown}, the computation gives {value:.6e}"
    );
}

#[test]
fn readme_claim1_table_matches_the_main_example() {
    let gmm = default_model();
    // As in the example: 10,000 points from the seed 2021, attacked in one batch.
    let (xs, ys) = gmm.sample(10_000, &mut StdRng::seed_from_u64(2021));
    let bayes = gmm.bayes_classifier();
    let mean_difference = LinearClassifier::new(gmm.half_difference() * 2.0, 0.0).unwrap();
    let ks = [1usize, 4, 16];
    let rows = table("| classifier | attack | S_1 | S_4 | S_16 | R |");
    assert_eq!(rows.len(), 6, "two classifiers × three attacks");
    let mut classifier = String::new();
    for row in &rows {
        if !row[0].is_empty() {
            classifier = row[0].clone();
        }
        let clf = if classifier.starts_with("Bayes") {
            &bayes
        } else if classifier.starts_with("mean difference") {
            &mean_difference
        } else {
            panic!("README: unknown classifier {classifier:?}")
        };
        let threat = match row[1].as_str() {
            "ℓ2" => Threat::l2(),
            "ℓ∞" => Threat::linf(),
            "generative" => Threat::generative(gmm.covariance()),
            other => panic!("README: unknown attack {other:?}"),
        };
        let summary = attack_energy_summary(&gmm, clf, &threat, &xs, &ys, &ks).unwrap();
        let shares = summary.top_shares.expect("the sample has flipped points");
        for (column, &(k, share)) in shares.iter().enumerate() {
            let what = format!("{classifier} / {}: S_{k}", row[1]);
            check_shown(&row[2 + column], share, &what);
        }
        let what = format!("{classifier} / {}: R", row[1]);
        check_shown(&row[5], summary.variance.unwrap(), &what);
    }
}

#[test]
fn readme_claim3_table_matches_the_main_example() {
    let gmm = default_model();
    let cov = gmm.covariance();
    let threats = [Threat::l2(), Threat::generative(cov), Threat::linf()];
    let index = |name: &str| match name {
        "ℓ2" => 0,
        "generative" => 1,
        "ℓ∞" => 2,
        other => panic!("README: unknown threat {other:?}"),
    };
    let rows = table("| τ | pair A, B | C(A→B) | C(B→A) | price of union |");
    assert_eq!(rows.len(), 9, "three targets × three pairs");
    for row in &rows {
        let tau: f64 = row[0].parse().unwrap();
        let (a, b) = row[1].split_once(", ").expect("a pair \"A, B\"");
        let matrix = tradeoff::conflict_matrix(&gmm, &threats, tau).unwrap();
        let report = matrix.pair_report(&gmm, index(a), index(b)).unwrap();
        let what = format!("τ = {tau}, {a} and {b}");
        check_shown(&row[2], report.conflict_ab, &format!("{what}: C(A→B)"));
        check_shown(&row[3], report.conflict_ba, &format!("{what}: C(B→A)"));
        check_shown(
            &row[4],
            report.price_of_union,
            &format!("{what}: price of union"),
        );
    }
}

#[test]
fn readme_check_rejects_a_wrong_digit() {
    // The check itself must be able to fail: 2.31e-5 shown as 1.9e-5 (the
    // README's old claim-1 entry) is off by more than half a unit.
    let caught = std::panic::catch_unwind(|| check_shown("1.9e-5", 2.31e-5, "old entry"));
    assert!(caught.is_err());
    check_shown("2.3e-5", 2.31e-5, "rounded entry");
    check_shown("0.115", 0.11496, "three decimals");
}

#[test]
fn readme_ten_class_figures_match_the_real_digits_example() {
    // The paragraph on `real_digits --ten`, whitespace collapsed.
    let start = README
        .find("`cargo run --release --example real_digits -- --ten`")
        .expect("README: no ten-class paragraph");
    let paragraph = README[start..]
        .split("\n\n")
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // The example's defaults (seed 2021, rank 10, 70/30 split, its top-k
    // shares), at the two budgets the README quotes.
    let setup = ten_classes::Setup {
        seed: 2021,
        rank: 10,
        train_fraction: 0.7,
        share_ks: &[1, 5, 10, 20],
        budgets: &[0.0, 1.0],
    };
    let f = ten_classes::study(&setup).unwrap();
    let expect = |fragment: String| {
        assert!(
            paragraph.contains(&fragment),
            "README ten-class paragraph lacks {fragment:?}:\n{paragraph}"
        )
    };
    let (l2, linf, generative) = (&f.threats[0], &f.threats[1], &f.threats[2]);
    let share = |t: &ten_classes::ThreatFigures, k: usize| {
        t.top_shares.iter().find(|(kk, _)| *kk == k).unwrap().1
    };
    let at_one = |t: &ten_classes::ThreatFigures| 100.0 * t.model_curve.as_ref().unwrap()[1].0;
    expect(format!(
        "the Bayes rule has {:.1}% test error",
        100.0 * f.test_error
    ));
    expect(format!("the {} test images", f.test_images));
    let flips: Vec<String> = l2.flips[..4]
        .iter()
        .map(|(count, a, b)| format!("{a} → {b} ({count})"))
        .collect();
    expect(format!("the most common ℓ2 flips are {}", flips.join(", ")));
    assert_eq!(f.facets_both, f.facets_dominated, "P2 on every facet");
    expect(format!(
        "on all {} facets both attacks cross",
        f.facets_both
    ));
    expect(format!(
        "top-10 share {:.2} generative, {:.2} ℓ2; variance along the attack {:.1} and {:.1} against a mean of {:.1}",
        share(generative, 10),
        share(l2, 10),
        generative.variance,
        l2.variance,
        f.mean_data_variance
    ));
    expect(format!(
        "the model error is {:.2}%",
        100.0 * f.model_error.unwrap()
    ));
    expect(format!(
        "at budget 1 it is {:.2}% for ℓ2, {:.1}% for ℓ∞ (pixel units) and {:.1}% for the generative threat",
        at_one(l2),
        at_one(linf),
        at_one(generative)
    ));
    let test_at_one = |t: &ten_classes::ThreatFigures| 100.0 * t.test_curve[1];
    expect(format!(
        "robust errors through the exact attacks ({:.1}%, {:.1}% and {:.1}% at budget 1)",
        test_at_one(l2),
        test_at_one(linf),
        test_at_one(generative)
    ));
}
