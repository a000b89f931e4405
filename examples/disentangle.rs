//! The main example: the default model and the seed paper's claims on it.
//!
//! Run with `cargo run --release --example disentangle`.

use manifold_robustness::{default_model, Result};

fn main() -> Result<()> {
    let gmm = default_model();
    print_model_summary(&gmm);
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
