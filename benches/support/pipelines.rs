//! The end-to-end jobs shared by the `perf` bench and the
//! `spiked_pipeline` example (which measures peak memory), so both time
//! exactly the same work.
#![allow(dead_code)] // each user takes the jobs it needs

use manifold_robustness::default_model::power_law_model;
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::{Covariance, Gmm, Label, Result, Threat, minimal_perturbations};

use crate::seeded::SplitMix64;

/// Budgets spaced evenly inside `(0, limit)`, both ends excluded.
pub fn interior_budgets(limit: f64, count: usize) -> Vec<f64> {
    (1..=count)
        .map(|i| limit * i as f64 / (count + 1) as f64)
        .collect()
}

/// Inputs of the spiked pipeline: a `d × k` orthonormal basis, variances
/// `λ_i = 10/i` above the noise level `0.05`, a mean, and labeled points.
pub struct SpikedInputs {
    /// The `d × k` basis (moved into the covariance by the pipeline).
    pub basis: DMatrix<f64>,
    /// The `k` leading variances.
    pub variances: DVector<f64>,
    /// The noise level `σ²`.
    pub noise: f64,
    /// The half-difference of the means.
    pub mu: DVector<f64>,
    /// Points to attack, one per row.
    pub points: DMatrix<f64>,
    /// Their labels.
    pub labels: Vec<Label>,
}

/// Builds the spiked pipeline's inputs (not timed). The points are drawn
/// from the model itself.
pub fn spiked_inputs(d: usize, k: usize, n_points: usize) -> SpikedInputs {
    use rand::{SeedableRng, rngs::StdRng};
    let basis = seeded_orthonormal_basis(d, k, 11);
    let variances = DVector::from_fn(k, |i, _| 10.0 / (i + 1) as f64);
    let noise = 0.05;
    // A mean with Bayes error of a few percent: on- and off-manifold parts.
    let mut mu = basis.column(0) * 0.8 + basis.column(1) * 0.5;
    let scale = 0.5 / (d as f64).sqrt();
    for (i, m) in mu.iter_mut().enumerate() {
        *m += scale * if i % 2 == 0 { 1.0 } else { -1.0 };
    }
    let model = Gmm::symmetric(
        mu.clone(),
        Covariance::spiked(basis.clone(), variances.clone(), noise)
            .expect("valid spiked covariance"),
    )
    .expect("valid model");
    let (points, labels) = model.sample(n_points, &mut StdRng::seed_from_u64(12));
    SpikedInputs {
        basis,
        variances,
        noise,
        mu,
        points,
        labels,
    }
}

/// What the spiked pipeline computes.
pub struct SpikedOutcome {
    /// The Bayes error.
    pub bayes_error: f64,
    /// Points flipped by the ℓ2 batch attack.
    pub flipped: usize,
    /// Optimal robust errors along the ℓ2 sweep.
    pub l2_curve: Vec<f64>,
    /// Optimal robust errors along the generative sweep.
    pub generative_curve: Vec<f64>,
}

/// The spiked pipeline: construct and validate the covariance (the basis is
/// moved in, never copied), the Bayes classifier and error, a batch ℓ2
/// attack on the points, and 100-budget ℓ2 and generative sweeps.
pub fn spiked_pipeline(
    basis: DMatrix<f64>,
    variances: DVector<f64>,
    noise: f64,
    mu: &DVector<f64>,
    points: &DMatrix<f64>,
    labels: &[Label],
) -> Result<SpikedOutcome> {
    let cov = Covariance::spiked(basis, variances, noise)?;
    let gmm = Gmm::symmetric(mu.clone(), cov)?;
    let clf = gmm.bayes_classifier();
    let bayes_error = gmm.bayes_error();
    let batch = minimal_perturbations(&clf, &Threat::l2(), points, labels)?;
    let l2 = Threat::l2();
    let l2_budgets = interior_budgets(mu.norm(), 100);
    let l2_curve = gmm.robust_sweep(&l2, &l2_budgets)?;
    let generative = Threat::generative(gmm.covariance());
    let generative_budgets = interior_budgets(gmm.separation() / 2.0, 100);
    let generative_curve = gmm.robust_sweep(&generative, &generative_budgets)?;
    Ok(SpikedOutcome {
        bayes_error,
        flipped: batch.flipped(),
        l2_curve: l2_curve.iter().map(|o| o.robust_error()).collect(),
        generative_curve: generative_curve.iter().map(|o| o.robust_error()).collect(),
    })
}

/// The dense power-law model of dimension `d` used by the dense jobs
/// (`λ_i = i^{−1.5}`, random eigenbasis, Bayes error 1%), with its
/// covariance matrix.
pub fn dense_inputs(d: usize) -> (DMatrix<f64>, DVector<f64>) {
    let gmm = power_law_model(d, 1.5, 0.01, 7).expect("valid model");
    (gmm.covariance().to_dense(), gmm.half_difference())
}

/// The dense pipeline: validate and decompose the covariance, the Bayes
/// classifier and error, and a 100-budget ℓ2 sweep.
pub fn dense_pipeline(sigma: DMatrix<f64>, mu: &DVector<f64>) -> Result<(f64, Vec<f64>)> {
    let gmm = Gmm::symmetric(mu.clone(), Covariance::dense(sigma)?)?;
    let clf = gmm.bayes_classifier();
    let error = gmm.error(&clf)?;
    let curve = gmm.robust_sweep(&Threat::l2(), &interior_budgets(mu.norm(), 100))?;
    Ok((error, curve.iter().map(|o| o.robust_error()).collect()))
}

/// A `d × k` matrix with orthonormal columns, Haar-distributed: Gaussian
/// columns orthonormalized in place by modified Gram–Schmidt, run twice
/// for orthogonality to working precision ("twice is enough", Giraud et
/// al. 2005). `O(dk²)` time and no memory beyond the result, so `d` can be
/// in the millions (the basis of a spiked covariance).
///
/// # Panics
/// If `k > d` (no such basis exists).
pub fn seeded_orthonormal_basis(d: usize, k: usize, seed: u64) -> DMatrix<f64> {
    assert!(k <= d, "an orthonormal d × k basis needs k ≤ d");
    let mut stream = SplitMix64(seed);
    let mut basis = DMatrix::from_fn(d, k, |_, _| stream.normal());
    for _pass in 0..2 {
        for j in 0..k {
            for i in 0..j {
                let projection = basis.column(i).dot(&basis.column(j));
                let (left, mut right) = basis.columns_range_pair_mut(i, j);
                right.axpy(-projection, &left, 1.0);
            }
            let norm = basis.column(j).norm();
            basis.column_mut(j).unscale_mut(norm);
        }
    }
    basis
}
