//! The ten-class study of `real_digits --ten` (THEORY §12 on all digits at
//! once), in its own file so that `tests/suite/readme.rs` runs the same
//! code and checks the figures the README quotes from it.
//!
//! [`study`] prints the report and returns the figures the README quotes.

use manifold_robustness::datasets;
use manifold_robustness::multiclass::{self, FacetAttacks};
use manifold_robustness::nalgebra::DMatrix;
use manifold_robustness::{Error, Fit, MulticlassGmm, Result, Threat};

/// The settings of a run.
pub struct Setup<'a> {
    /// Seed of the stratified train/test split.
    pub seed: u64,
    /// Rank of the PPCA fit.
    pub rank: usize,
    /// Training fraction of the split.
    pub train_fraction: f64,
    /// Top-k shares of the energy tables.
    pub share_ks: &'a [usize],
    /// Budgets of the robust-error curves.
    pub budgets: &'a [f64],
}

/// One threat's figures.
// `real_digits` prints them; `tests/suite/readme.rs` reads them.
#[allow(dead_code)]
pub struct ThreatFigures {
    pub name: &'static str,
    /// `(count, true digit, flipped-to digit)`, most frequent first.
    pub flips: Vec<(usize, usize, usize)>,
    /// Aggregate top-k shares `(k, S_k)` and variance along the attack.
    pub top_shares: Vec<(usize, f64)>,
    pub variance: f64,
    /// The model's robust error at each budget (value, error bound), when
    /// the orthant probabilities could be computed.
    pub model_curve: Option<Vec<(f64, f64)>>,
    /// The test images' robust error at each budget.
    pub test_curve: Vec<f64>,
}

/// The figures the README quotes.
#[allow(dead_code)]
pub struct Figures {
    pub test_images: usize,
    pub test_error: f64,
    pub model_error: Option<f64>,
    pub threats: Vec<ThreatFigures>,
    /// Facets flipped by both ℓ2 and generative attacks, and on how many
    /// the generative profile dominates.
    pub facets_both: usize,
    pub facets_dominated: usize,
    pub mean_data_variance: f64,
}

/// Runs the study, printing its report, and returns the quoted figures.
pub fn study(setup: &Setup) -> Result<Figures> {
    let Setup {
        seed,
        rank,
        train_fraction,
        share_ks,
        budgets,
    } = *setup;
    let digits = datasets::digits()?;
    let (train, test) = digits.train_test_split(train_fraction, seed)?;
    let labels = |d: &datasets::Digits| -> Vec<usize> {
        d.labels().iter().map(|&l| usize::from(l)).collect()
    };
    let (x, y) = (train.images().clone(), labels(&train));
    let (x_test, y_test) = (test.images().clone(), labels(&test));
    println!(
        "Ten-class study: all UCI digits, stratified {:.0}/{:.0} split (seed {seed}): {} training and {} test images",
        100.0 * train_fraction,
        100.0 * (1.0 - train_fraction),
        y.len(),
        y_test.len()
    );
    println!();
    println!(
        "1. One Gaussian model x | y = k ~ N(μ_k, Σ) for the ten digits, Σ by Ledoit–Wolf shrinkage"
    );
    let m = MulticlassGmm::fit(&x, &y, Fit::LedoitWolf)?;
    let ppca = MulticlassGmm::fit(&x, &y, Fit::Ppca { rank })?;
    let clf = m.bayes_classifier();
    let train_error = clf.sample_error(&x, &y)?;
    let test_error = clf.sample_error(&x_test, &y_test)?;
    println!(
        "  Bayes rule w_k = Σ⁻¹μ_k, b_k = −½μ_kᵀΣ⁻¹μ_k + ln π_k: training error {:.2}%, test error {:.2}%",
        100.0 * train_error,
        100.0 * test_error
    );
    let mut model_error = None;
    match m.error(&clf) {
        Ok(e) => {
            model_error = Some(e.value());
            println!(
                "  model error (nine-dimensional orthant probabilities): {:.3}% ± {:.1e}",
                100.0 * e.value(),
                e.error_bound()
            )
        }
        Err(Error::Unsupported(what)) => println!(
            "  model error: not computed — the crate has no method yet for {what} (needs the quasi-Monte Carlo orthant probability)"
        ),
        Err(e) => return Err(e),
    }
    println!();

    let cov = m.covariance();
    let threats = [
        ("regular ℓ2", Threat::l2()),
        ("regular ℓ∞", Threat::linf()),
        ("generative", Threat::generative(cov)),
    ];
    println!(
        "2. Exact minimal attacks on every test image (the nearest facet of the ten-class rule)"
    );
    println!(
        "  {:<12} {:>8} {:>8} {:>14} {:>14}  most frequent flips",
        "threat", "flipped", "misclf.", "median budget", "mean budget"
    );
    let mut shares = Vec::new();
    let mut flip_lists = Vec::new();
    let mut facet_checks = (0usize, 0usize);
    for (name, threat) in &threats {
        let attacks = FacetAttacks::new(&clf, threat)?;
        let batch = attacks.attack_batch(&x_test, &y_test)?;
        let mut needed: Vec<f64> = (0..batch.len())
            .filter(|&i| batch.is_flip(i))
            .map(|i| batch.budget(i))
            .collect();
        needed.sort_by(f64::total_cmp);
        let mean = needed.iter().sum::<f64>() / needed.len().max(1) as f64;
        let flips = batch.flip_matrix();
        let mut pairs: Vec<(usize, usize, usize)> = (0..10)
            .flat_map(|a| (0..10).map(move |b| (a, b)))
            .map(|(a, b)| (flips[(a, b)], a, b))
            .filter(|&(c, _, _)| c > 0)
            .collect();
        pairs.sort_by_key(|q| std::cmp::Reverse(q.0));
        let top: Vec<String> = pairs
            .iter()
            .take(4)
            .map(|(c, a, b)| format!("{a}→{b} ({c})"))
            .collect();
        println!(
            "  {:<12} {:>8} {:>8} {:>14.4} {:>14.4}  {}",
            name,
            batch.flipped(),
            batch.misclassified(),
            needed.get(needed.len() / 2).copied().unwrap_or(f64::NAN),
            mean,
            top.join(", ")
        );
        if *name == "regular ℓ2" || *name == "generative" {
            print_flip_matrix(name, &flips);
        }
        let summary =
            multiclass::attack_energy_summary(&m, &clf, threat, &x_test, &y_test, share_ks)?;
        shares.push((name.to_string(), summary));
        flip_lists.push(pairs);
    }
    println!();

    println!(
        "3. Where the attack energy goes, in the eigenbasis of the fitted Σ (claim 1, THEORY M4)"
    );
    println!(
        "  {:<12} {:>8} {:>8} {:>8} {:>8} {:>12}",
        "threat", "S_1", "S_5", "S_10", "S_20", "variance R"
    );
    for (name, s) in &shares {
        let top = s.aggregate.top_shares.clone().unwrap_or_default();
        let get = |k: usize| {
            top.iter()
                .find(|(kk, _)| *kk == k)
                .map_or(f64::NAN, |(_, v)| *v)
        };
        println!(
            "  {:<12} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>12.4}",
            name,
            get(1),
            get(5),
            get(10),
            get(20),
            s.aggregate.variance.unwrap_or(f64::NAN)
        );
    }
    // P2 facet by facet: on every facet where both attacks flip points,
    // the generative profile dominates the regular ℓ2 one.
    let regular = &shares[0].1;
    let generative = &shares[2].1;
    for g in &generative.per_facet {
        if let Some(r) = regular
            .per_facet
            .iter()
            .find(|r| r.from == g.from && r.to == g.to)
        {
            facet_checks.0 += 1;
            let dominates = g
                .summary
                .top_shares
                .iter()
                .flatten()
                .zip(r.summary.top_shares.iter().flatten())
                .all(|((_, a), (_, b))| *a >= *b - 1e-12)
                && g.summary.variance >= r.summary.variance;
            if dominates {
                facet_checks.1 += 1;
            }
        }
    }
    println!(
        "  facets flipped by both ℓ2 and generative attacks: {}; generative dominates ℓ2 (every S_k and R) on {} of them",
        facet_checks.0, facet_checks.1
    );
    println!(
        "  mean data variance tr Σ/d = {:.4}",
        regular.aggregate.mean_data_variance
    );
    println!();

    println!(
        "4. Robust-error curves: the model (THEORY M3) and the test images (exact attacks, M5)"
    );
    let ppca_clf = ppca.bayes_classifier();
    let mut curves = Vec::new();
    for (name, threat) in &threats {
        let mut test_curve = Vec::new();
        let mut model_curve = None;
        let curve = m.robust_error_curve(&clf, threat, budgets, &Default::default());
        let mut line = format!("  {name:<12}");
        for &eps in budgets {
            let empirical =
                multiclass::empirical_robust_error(&clf, threat, eps, &x_test, &y_test)?;
            line.push_str(&format!("  ε={eps}: test {:5.1}%", 100.0 * empirical));
            test_curve.push(empirical);
        }
        println!("{line}");
        match curve {
            Ok(values) => {
                let model: Vec<String> = values
                    .iter()
                    .map(|e| format!("{:.2}%", 100.0 * e.value()))
                    .collect();
                let bound = values.iter().map(|e| e.error_bound()).fold(0.0, f64::max);
                model_curve = Some(
                    values
                        .iter()
                        .map(|e| (e.value(), e.error_bound()))
                        .collect(),
                );
                println!(
                    "  {:<12}  model {} (each within {:.0e} at 99% confidence)",
                    "",
                    model.join(", "),
                    bound
                );
            }
            Err(Error::Unsupported(what)) => println!(
                "  {:<12}  model: not computed — no method yet for {what} (the quasi-Monte Carlo orthant probability is needed for ten classes)",
                ""
            ),
            Err(e) => return Err(e),
        }
        curves.push((model_curve, test_curve));
    }
    let ppca_test = ppca_clf.sample_error(&x_test, &y_test)?;
    println!(
        "  (the PPCA rank-{rank} fit's Bayes rule has test error {:.2}%)",
        100.0 * ppca_test
    );
    println!();

    println!("5. Where the ten-class results agree with the two-class theory");
    let get = |s: &multiclass::MulticlassEnergySummary, k: usize| {
        s.aggregate
            .top_shares
            .iter()
            .flatten()
            .find(|(kk, _)| *kk == k)
            .map_or(f64::NAN, |(_, v)| *v)
    };
    println!(
        "  - Claim 1 facet by facet (P2, a theorem for every facet): generative dominates ℓ2 on {} of {} facets.",
        facet_checks.1, facet_checks.0
    );
    println!(
        "  - Claim 1 in aggregate (not a theorem: the attacks may cross different facets): S_10 is {:.3} generative vs {:.3} ℓ2, variance {:.3} vs {:.3} — {}.",
        get(generative, 10),
        get(regular, 10),
        generative.aggregate.variance.unwrap_or(f64::NAN),
        regular.aggregate.variance.unwrap_or(f64::NAN),
        if get(generative, 10) > get(regular, 10) {
            "it holds here too"
        } else {
            "it does not hold here"
        }
    );
    let mean_variance = regular.aggregate.mean_data_variance;
    let below = |s: &multiclass::MulticlassEnergySummary| {
        s.aggregate.variance.is_some_and(|r| r < mean_variance)
    };
    println!(
        "  - Claim 1's strong form (regular attacks along small-variance directions: R below the mean variance {:.3}): ℓ2 {}, ℓ∞ {}, generative {}.",
        mean_variance,
        if below(regular) { "below" } else { "above" },
        if below(&shares[1].1) {
            "below"
        } else {
            "above"
        },
        if below(generative) { "below" } else { "above" }
    );
    println!(
        "  - Every minimal attack lands on one facet, between the true digit and one other (the flip matrices above); the two-class study of a pair sees only that pair's facet."
    );
    let mean_data_variance = regular.aggregate.mean_data_variance;
    let threats = threats
        .iter()
        .zip(shares)
        .zip(flip_lists)
        .zip(curves)
        .map(
            |(((&(name, _), (_, summary)), flips), (model_curve, test_curve))| ThreatFigures {
                name,
                flips,
                top_shares: summary.aggregate.top_shares.clone().unwrap_or_default(),
                variance: summary.aggregate.variance.unwrap_or(f64::NAN),
                model_curve,
                test_curve,
            },
        )
        .collect();
    Ok(Figures {
        test_images: y_test.len(),
        test_error,
        model_error,
        threats,
        facets_both: facet_checks.0,
        facets_dominated: facet_checks.1,
        mean_data_variance,
    })
}

fn print_flip_matrix(name: &str, flips: &DMatrix<usize>) {
    println!("    {name} flip matrix (row: true digit, column: digit it is flipped to)");
    let header: Vec<String> = (0..10).map(|j| format!("{j:>4}")).collect();
    println!("         {}", header.join(""));
    for a in 0..10 {
        let row: Vec<String> = (0..10)
            .map(|b| {
                if a == b {
                    format!("{:>4}", "·")
                } else {
                    format!("{:>4}", flips[(a, b)])
                }
            })
            .collect();
        println!("      {a}: {}", row.join(""));
    }
}
