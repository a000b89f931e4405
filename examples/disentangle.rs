//! The main example: the default model and the seed paper's claims on it.
//!
//! Run with `cargo run --release --example disentangle`.

use manifold_robustness::{
    attack_energy_summary, default_model, Gmm, LinearClassifier, Result, Threat,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Points attacked in one batch for the claim-1 table.
const CLAIM1_POINTS: usize = 10_000;

fn main() -> Result<()> {
    let gmm = default_model();
    print_model_summary(&gmm);
    println!();
    print_claim1_table(&gmm)?;
    Ok(())
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
    println!(
        "Bayes classifier: ‖w_B‖ = {:.6}, b_B = {:.1e}",
        clf.weights().norm(),
        clf.bias()
    );
    println!("Bayes error Φ(−Δ/2) = {:.6}", gmm.bayes_error());
}
