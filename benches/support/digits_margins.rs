//! The orthant probabilities of the multi-class robust error on the
//! embedded digits, built from the crate's public API only.
//!
//! For the first `K` digits: class means `μ_k`, priors `π_k = n_k/n`, the
//! pooled covariance `S` of the within-class centered images shrunk as
//! `Fit::LedoitWolf` does (`Σ = (1 − δ)S + δ (tr S/d) I`, `δ = min(1, b̄²/d²)`,
//! see `src/fit.rs`), the Bayes weights `w_k = Σ⁻¹μ_k` and biases
//! `b_k = −½ μ_kᵀΣ⁻¹μ_k + ln π_k`. For a true class `y`, the margins
//! `m_j = (w_y − w_j)ᵀx + b_y − b_j` (`j ≠ y`) of `x ~ N(μ_y, Σ)` are normal
//! with means `(w_y − w_j)ᵀμ_y + b_y − b_j` and covariance
//! `C_jl = (w_y − w_j)ᵀΣ(w_y − w_l)`; the point is misclassified or
//! attackable at ℓ2 budget `ε` when `m_j < ε ‖w_y − w_j‖₂` for some `j`, so
//! the robust error is `Σ_y π_y P(Z_j > h_j for some j)` with `Z ~ N(0, C)`
//! and `h_j = mean_j − ε ‖w_y − w_j‖₂`.

use manifold_robustness::datasets;
use manifold_robustness::nalgebra::{DMatrix, DVector};

/// One class's exceedance problem.
#[derive(Debug, Clone)]
pub struct ClassProblem {
    pub classes: usize,
    pub class: usize,
    pub epsilon: f64,
    pub prior: f64,
    pub covariance: DMatrix<f64>,
    pub thresholds: DVector<f64>,
}

/// The `K` exceedance problems of the robust error of the `K`-class Bayes
/// rule fitted to digits `0..K`, at ℓ2 budget `epsilon`.
pub fn problems(classes: usize, epsilon: f64) -> Vec<ClassProblem> {
    let digits = datasets::digits().expect("embedded digits");
    let images = digits.images();
    let labels = digits.labels();
    let d = images.ncols();
    let rows: Vec<usize> = (0..labels.len())
        .filter(|&i| (labels[i] as usize) < classes)
        .collect();
    let n = rows.len();
    let mut means = vec![DVector::<f64>::zeros(d); classes];
    let mut counts = vec![0usize; classes];
    for &i in &rows {
        let k = labels[i] as usize;
        counts[k] += 1;
        means[k] += images.row(i).transpose();
    }
    for k in 0..classes {
        means[k] /= counts[k] as f64;
    }
    // Pooled maximum-likelihood covariance and Σ‖x̃‖⁴ for Ledoit–Wolf.
    let mut s = DMatrix::<f64>::zeros(d, d);
    let mut fourth = 0.0;
    for &i in &rows {
        let centered = images.row(i).transpose() - &means[labels[i] as usize];
        s.ger(1.0, &centered, &centered, 1.0);
        fourth += centered.norm_squared().powi(2);
    }
    s /= n as f64;
    let p = d as f64;
    let target = s.trace() / p;
    let mut distance = 0.0;
    let mut frobenius = 0.0;
    for j in 0..d {
        for i in 0..d {
            let v = s[(i, j)];
            frobenius += v * v;
            let c = if i == j { v - target } else { v };
            distance += c * c;
        }
    }
    let d2 = distance / p;
    let b2 = ((fourth / n as f64 - frobenius) / (n as f64 * p)).max(0.0);
    let intensity = (b2 / d2).min(1.0);
    let mut sigma = s * (1.0 - intensity);
    for i in 0..d {
        sigma[(i, i)] += intensity * target;
    }
    let cholesky = sigma
        .clone()
        .cholesky()
        .expect("Ledoit–Wolf shrinkage is positive definite");
    let weights: Vec<DVector<f64>> = means.iter().map(|mu| cholesky.solve(mu)).collect();
    let biases: Vec<f64> = (0..classes)
        .map(|k| -0.5 * means[k].dot(&weights[k]) + (counts[k] as f64 / n as f64).ln())
        .collect();
    (0..classes)
        .map(|y| {
            let others: Vec<usize> = (0..classes).filter(|&j| j != y).collect();
            let diffs: Vec<DVector<f64>> =
                others.iter().map(|&j| &weights[y] - &weights[j]).collect();
            let sigma_diffs: Vec<DVector<f64>> = diffs.iter().map(|v| &sigma * v).collect();
            let m = others.len();
            let covariance = DMatrix::from_fn(m, m, |a, b| {
                // Symmetric by construction: the average of both products.
                0.5 * (diffs[a].dot(&sigma_diffs[b]) + diffs[b].dot(&sigma_diffs[a]))
            });
            let thresholds = DVector::from_fn(m, |a, _| {
                let j = others[a];
                diffs[a].dot(&means[y]) + biases[y] - biases[j] - epsilon * diffs[a].norm()
            });
            ClassProblem {
                classes,
                class: y,
                epsilon,
                prior: counts[y] as f64 / n as f64,
                covariance,
                thresholds,
            }
        })
        .collect()
}

/// The header of [`to_csv`]'s rows.
pub const CSV_HEADER: &str = "K,y,epsilon,prior,m,h,C\n";

/// The problems as CSV rows `K,y,epsilon,prior,m,h,C` (`h` and the
/// row-major `C` joined by `;`, every number printed so that it reads back
/// as the same double).
pub fn to_csv(problems: &[ClassProblem]) -> String {
    let join = |v: &mut dyn Iterator<Item = f64>| {
        v.map(|x| format!("{x:e}")).collect::<Vec<_>>().join(";")
    };
    let mut out = String::new();
    for p in problems {
        let m = p.thresholds.len();
        out.push_str(&format!(
            "{},{},{:e},{:e},{},{},{}\n",
            p.classes,
            p.class,
            p.epsilon,
            p.prior,
            m,
            join(&mut p.thresholds.iter().copied()),
            join(&mut p.covariance.transpose().iter().copied()),
        ));
    }
    out
}
