//! The main example: the default model and the seed paper's claims on it.
//!
//! Run with `cargo run --release --example disentangle` (no options;
//! `-- --help` prints what it does).

use manifold_robustness::rand::SeedableRng;
use manifold_robustness::rand::rngs::StdRng;
use manifold_robustness::{
    Gmm, LinearClassifier, Result, Threat, attack_energy_summary, default_model, tradeoff,
};

#[path = "common/cli.rs"]
mod cli;

/// Points attacked in one batch for the claim-1 table.
const CLAIM1_POINTS: usize = 10_000;

const USAGE: &str = "usage: disentangle\n  \
    -h, --help  print this help\n\
Checks the seed paper's three claims on the crate's default model (d = 64)\n\
and prints one table per claim. It takes no other arguments.";

fn main() -> Result<()> {
    let parsed = (|| {
        let mut args = cli::Args::from_env();
        match args.flag()? {
            None => Ok(()),
            Some(other) => Err(cli::unknown(&other)),
        }
    })();
    cli::settings_or_exit(USAGE, parsed);
    let gmm = default_model();
    print_legend();
    println!();
    print_model_summary(&gmm);
    println!();
    print_claim1_table(&gmm)?;
    println!();
    print_claim2_table(&gmm)?;
    print_claim3_table(&gmm)?;
    Ok(())
}

/// What the seed's claims are and what the symbols of the tables mean.
fn print_legend() {
    println!(
        "The seed paper, \"Disentangling Adversarial Robustness in Directions of the Data Manifold\", makes"
    );
    println!(
        "three claims about a two-class Gaussian model x | y ~ N(μ_y, Σ); this example checks each:"
    );
    println!(
        "  claim 1: regular attacks (changing the input) move a point along the directions where the data vary"
    );
    println!(
        "           least; generative attacks (changing a generator's latent code) along those where they vary most."
    );
    println!(
        "  claim 2: adversarial training against regular attacks stretches the data distribution along its"
    );
    println!(
        "           small-variance directions; against generative attacks, along its large-variance ones."
    );
    println!(
        "  claim 3: the conflict between robustness to regular and to generative attacks is much smaller than"
    );
    println!("           between regular attacks of different norms (ℓ2 against ℓ∞).");
    println!(
        "Symbols: λ_i is the variance of eigen-direction i of Σ (i = 1 the largest); μ₊, μ₋ the class means."
    );
    println!(
        "A budget ε is measured in its threat's own units: ℓ2 the length ‖δ‖ of the change to the input,"
    );
    println!(
        "ℓ∞ its largest coordinate max_i |δ_i|, generative the length ‖z‖ of the step in the latent code"
    );
    println!(
        "(x = μ_y + U Λ^½ z, so one unit is one standard deviation of the data along the step)."
    );
}

/// Claim 1: regular attacks go to small-variance directions, generative
/// attacks to large-variance ones, for the Bayes classifier and for a
/// classifier that is not Bayes-optimal (the mean-difference rule
/// `w = μ₊ − μ₋`, which ignores the covariance).
fn print_claim1_table(gmm: &Gmm) -> Result<()> {
    let (xs, ys) = gmm.sample(CLAIM1_POINTS, &mut StdRng::seed_from_u64(2021));
    let bayes = gmm.bayes_classifier();
    let mean_difference = LinearClassifier::new(gmm.half_difference() * 2.0, 0.0)?;
    let threats = [
        Threat::l2(),
        Threat::linf(),
        Threat::generative(gmm.covariance()),
    ];
    let ks = [1usize, 4, 16];
    println!("Claim 1: where minimal attacks put their energy in the eigenbasis");
    println!(
        "({CLAIM1_POINTS} sampled points attacked in one batch; S_k = share of ‖δ‖² in the k largest-variance directions,"
    );
    println!(
        " R = δᵀΣδ/‖δ‖², the variance of the data along the attack; tr Σ/d = {:.4})",
        gmm.covariance().trace() / gmm.dim() as f64
    );
    println!(
        "(flipped = points a minimal attack moves onto the decision boundary, of {CLAIM1_POINTS}; the rest are"
    );
    println!(
        " misclassified already. mean budget = their mean minimal budget, in the threat's units: compare rows"
    );
    println!(" of one threat, not across threats.)");
    for (name, clf) in [
        ("Bayes classifier w_B = Σ⁻¹(μ₊ − μ₋)", &bayes),
        ("mean-difference classifier w = μ₊ − μ₋", &mean_difference),
    ] {
        println!();
        println!("{name}");
        println!(
            "  {:<12} {:>9} {:>9} {:>9} {:>10} {:>9} {:>12}",
            "attack", "S_1", "S_4", "S_16", "R", "flipped", "mean budget"
        );
        for threat in &threats {
            let summary = attack_energy_summary(gmm, clf, threat, &xs, &ys, &ks)?;
            let shares = summary.top_shares.clone().unwrap_or_default();
            let share = |k: usize| {
                shares
                    .iter()
                    .find(|(kk, _)| *kk == k)
                    .map_or(f64::NAN, |(_, s)| *s)
            };
            println!(
                "  {:<12} {:>9.2e} {:>9.2e} {:>9.2e} {:>10.3e} {:>9} {:>12.4}",
                summary.threat,
                share(1),
                share(4),
                share(16),
                summary.variance.unwrap_or(f64::NAN),
                summary.flipped,
                summary.mean_budget.unwrap_or(f64::NAN),
            );
        }
    }
    Ok(())
}

/// The default model's spectrum, Bayes classifier and Bayes error.
fn print_model_summary(gmm: &manifold_robustness::Gmm) {
    let cov = gmm.covariance();
    let values = cov.eigenvalues();
    let d = cov.dim();
    println!("Default model: d = {d}, symmetric means ±μ, prior 1/2");
    println!("Spectrum λ_i = i^(-1.5), descending:");
    for &i in &[1usize, 2, 4, 8, 16, 32, 64] {
        println!("  λ_{i:<2} = {:.6}", values[i - 1]);
    }
    println!(
        "  trace = {:.4}, condition number = {:.1}",
        cov.trace(),
        values[0] / values[d - 1]
    );
    let clf = gmm.bayes_classifier();
    println!(
        "Mahalanobis separation Δ = ‖μ₊ − μ₋‖_Σ⁻¹ = {:.6}",
        gmm.separation()
    );
    // The bias ln(π/(1 − π)) − w_Bᵀc vanishes in a symmetric model.
    let bias = if clf.bias() == 0.0 {
        "0 (symmetric model)".to_string()
    } else {
        format!("{:.3e}", clf.bias())
    };
    println!(
        "Bayes classifier: ‖w_B‖ = {:.6}, b_B = {bias}",
        clf.weights().norm()
    );
    println!("Bayes error Φ(−Δ/2) = {:.6}", gmm.bayes_error());
}

/// Claim 2: adversarial training extends the data along the attack's
/// directions. Regular ℓ2 training adds λ to every variance (relative growth
/// 1 + λ/λ_i, largest on the smallest-variance directions); generative
/// rank-16 training multiplies the 16 leading variances by 1 + λ and leaves
/// the rest alone (THEORY P5).
fn print_claim2_table(gmm: &Gmm) -> Result<()> {
    let regular = Threat::l2();
    let generative = Threat::generative_rank(gmm.covariance(), 16)?;
    println!("Claim 2: adversarial training extends the data manifold (Σ → Σ + αM)");
    println!(
        "(the robust-optimal classifier at budget ε is the Bayes classifier of a model with covariance Σ + αM:"
    );
    println!(
        " M is the threat's shape, I for ℓ2 and U_16 Λ_16 U_16ᵀ for generative rank 16, and α ≥ 0 the training"
    );
    println!(
        " multiplier (opt.lambda(); λ in the theory's §7). ε_max is the budget past which the optimum stops"
    );
    println!(
        " changing: the adversary can then cancel the class difference along every direction it reaches.)"
    );
    // Past its budget limit the rank-16 adversary can no longer move the
    // optimum: r*² keeps Σ_{i>16} μ̃_i²/λ_i, so its robust error is capped.
    let ceiling = gmm.robust_optimum(&generative, f64::MAX)?.robust_error();
    let bayes = gmm.bayes_error();
    let target = bayes + 0.5 * (ceiling - bayes);
    println!(
        "Generative rank-16 training can raise the optimal robust error only from {:.4}% to {:.4}%:",
        100.0 * bayes,
        100.0 * ceiling
    );
    println!("the mean's Mahalanobis energy lies mostly outside the 16 leading directions.");
    println!(
        "Both trainings are compared where their optimal robust error is {:.4}%, half-way up that range:",
        100.0 * target
    );
    let mut growths = Vec::new();
    for threat in [&regular, &generative] {
        let eps = tradeoff::matched_budget(gmm, threat, target)?;
        let opt = gmm.robust_optimum(threat, eps)?;
        let clean = gmm.error(&opt.classifier().expect("r* > 0 below the target"))?;
        println!(
            "  {:<20} ε = {:.5} (ε_max = {:.5}), α = {:.4e}, robust error {:.4}, clean error {:.4}",
            threat.to_string(),
            eps,
            opt.budget_limit().unwrap_or(f64::NAN),
            opt.lambda().unwrap_or(f64::NAN),
            opt.robust_error(),
            clean
        );
        let ext = opt
            .extended_covariance()
            .expect("ellipsoids report their extension");
        growths.push(ext.relative_growth().clone());
    }
    println!(
        "Relative growth of each eigen-direction's variance, (λ_i + α m_i)/λ_i, where m_i = u_iᵀ M u_i is the"
    );
    println!("threat's weight on direction i (ℓ2: 1; generative rank 16: λ_i for i ≤ 16, else 0):");
    println!(
        "  {:>4} {:>10} {:>14} {:>20}",
        "i", "λ_i", "ℓ2 training", "generative rank 16"
    );
    let values = gmm.covariance().eigenvalues();
    for i in [1usize, 2, 3, 4, 15, 16, 17, 32, 48, 62, 63, 64] {
        println!(
            "  {:>4} {:>10.5} {:>14.6} {:>20.6}",
            i,
            values[i - 1],
            growths[0][i - 1],
            growths[1][i - 1]
        );
    }
    println!("Clean and optimal robust errors over a budget grid (ε as a fraction of ε_max):");
    println!(
        "  {:>8} {:>12} {:>12} {:>12} {:>12}",
        "ε/ε_max", "ℓ2 clean", "ℓ2 robust", "gen16 clean", "gen16 robust"
    );
    let limits: Vec<f64> = [&regular, &generative]
        .iter()
        .map(|t| {
            gmm.robust_optimum(t, 0.0)
                .map(|o| o.budget_limit().unwrap_or(f64::NAN))
        })
        .collect::<Result<_>>()?;
    for step in 0..10 {
        let fraction = step as f64 / 10.0;
        let mut row = Vec::new();
        for (threat, limit) in [&regular, &generative].iter().zip(&limits) {
            let opt = gmm.robust_optimum(threat, fraction * limit)?;
            let clean = match opt.classifier() {
                Some(clf) => gmm.error(&clf)?,
                None => 0.5,
            };
            row.push(clean);
            row.push(opt.robust_error());
        }
        println!(
            "  {:>8.1} {:>12.4} {:>12.4} {:>12.4} {:>12.4}",
            fraction, row[0], row[1], row[2], row[3]
        );
    }
    Ok(())
}

/// Claim 3: the conflict between regular and generative attacks against
/// the conflict between regular attacks of different norms, each pair at
/// budgets matched so that each threat alone has the same optimal robust
/// error τ (THEORY §8). `C(A→B)` is how much worse than optimal against `B`
/// the classifier trained for `A` is; the price of union is what defending
/// against both at once costs over the harder one alone.
fn print_claim3_table(gmm: &Gmm) -> Result<()> {
    let cov = gmm.covariance();
    let threats = [
        Threat::l2(),
        Threat::generative(cov),
        Threat::linf(),
        Threat::eigenspace(cov, 16)?,
    ];
    let names: Vec<String> = threats.iter().map(|t| t.to_string()).collect();
    let pairs = [(0usize, 1usize), (0, 2), (1, 2), (0, 3)];
    let targets = [0.10, 0.20, 0.30];
    println!();
    println!(
        "Claim 3: conflicts between threats at matched budgets (each threat alone has optimal robust error τ)"
    );
    println!(
        "(ε_A, ε_B = the matched budgets, each in its threat's units; C(A→B) = RE_B(w*_A) − RE*_B, how much the"
    );
    println!(
        " classifier trained against A loses against B over the best one for B, as a probability; price ∪ ="
    );
    println!(
        " RE*_(A∪B) − max(RE*_A, RE*_B), what defending against both at once costs over the harder alone.)"
    );
    println!(
        "  {:<5} {:<26} {:>9} {:>9} {:>11} {:>11} {:>11}",
        "τ", "pair A, B", "ε_A", "ε_B", "C(A→B)", "C(B→A)", "price ∪"
    );
    // worst[t][p]: max(C(A→B), C(B→A)) of pair p at target t (NaN if unmatched).
    let mut worst = vec![[f64::NAN; 4]; targets.len()];
    let mut unreachable: Vec<String> = Vec::new();
    for (t, &tau) in targets.iter().enumerate() {
        // A threat whose optimal robust error never reaches τ has no matched budget.
        let mut reachable = Vec::new();
        for (i, threat) in threats.iter().enumerate() {
            let (_, high) = tradeoff::reachable_range(gmm, threat)?;
            if tau <= high {
                reachable.push(i);
            } else if !unreachable.iter().any(|u| u.starts_with(&names[i])) {
                unreachable.push(format!("{} (its RE* never exceeds {:.4})", names[i], high));
            }
        }
        let subset: Vec<Threat> = reachable.iter().map(|&i| threats[i].clone()).collect();
        let matrix = tradeoff::conflict_matrix(gmm, &subset, tau)?;
        let position = |i: usize| reachable.iter().position(|&r| r == i);
        for (p, &(a, b)) in pairs.iter().enumerate() {
            let label = format!("{}, {}", names[a], names[b]);
            let (Some(ia), Some(ib)) = (position(a), position(b)) else {
                let missing = if position(a).is_none() { a } else { b };
                println!(
                    "  {:<5.2} {:<26} {:>9} {:>9}   {} cannot reach τ",
                    tau, label, "—", "—", names[missing]
                );
                continue;
            };
            let report = matrix.pair_report(gmm, ia, ib)?;
            println!(
                "  {:<5.2} {:<26} {:>9.4} {:>9.4} {:>11.3e} {:>11.3e} {:>11.3e}",
                tau,
                label,
                report.budget_a,
                report.budget_b,
                report.conflict_ab,
                report.conflict_ba,
                report.price_of_union
            );
            worst[t][p] = report.conflict_ab.max(report.conflict_ba);
        }
    }
    // The reading, from the numbers: how the ℓ2–generative conflict (pair 0)
    // compares with the ℓ2–ℓ∞ one (pair 1), "much smaller" meaning at most half.
    let ratios: Vec<f64> = worst.iter().map(|w| w[0] / w[1]).collect();
    let listed = ratios
        .iter()
        .zip(&targets)
        .map(|(r, t)| format!("{r:.2} at τ = {t:.2}"))
        .collect::<Vec<_>>()
        .join(", ");
    let verdict = if ratios.iter().all(|&r| r <= 0.5) {
        "much smaller (at most half) than the ℓ2–ℓ∞ conflict at every target, as the seed claims"
    } else if ratios.iter().all(|&r| r < 1.0) {
        "smaller than the ℓ2–ℓ∞ conflict at every target but not by a factor of two, so the seed's \
         direction holds and its \"much smaller\" does not"
    } else if ratios.iter().all(|&r| r > 1.0) {
        "larger than the ℓ2–ℓ∞ conflict at every target, contrary to the seed's claim"
    } else {
        "neither uniformly smaller nor larger than the ℓ2–ℓ∞ conflict"
    };
    println!("Reading: the worst-direction ℓ2–generative conflict is {verdict} (ratios {listed}).");
    // Which matched pair conflicts most, target by target.
    let largest: Vec<usize> = worst
        .iter()
        .map(|w| {
            (0..pairs.len())
                .filter(|&p| !w[p].is_nan())
                .max_by(|&x, &y| w[x].total_cmp(&w[y]))
                .unwrap_or(0)
        })
        .collect();
    if largest.iter().all(|&p| p == largest[0]) {
        let (a, b) = pairs[largest[0]];
        println!(
            "The largest conflict at every target is between {} and {}.",
            names[a], names[b]
        );
    }
    if !unreachable.is_empty() {
        println!("Unmatched: {}.", unreachable.join("; "));
    }
    Ok(())
}
