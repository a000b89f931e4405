//! Fitting a model from labeled data (THEORY §1, "Fitting from data").
//!
//! Exact values on hand-derived data sets, recovery of a known model from
//! large samples with tolerances from sampling theory, the documented
//! behavior of each fit on rank-deficient data, and bad input.
//!
//! Sampling theory used for the tolerances. With `n` samples and class
//! means estimated, the pooled scatter `n S` is Wishart with `n − 2`
//! degrees of freedom (Cochran), so the whitened estimate
//! `W = Σ^{−1/2} S Σ^{−1/2}` is `(1/n) G Gᵀ` for a `d × (n − 2)` standard
//! Gaussian `G`. Davidson & Szarek (2001, Thm II.13): with probability at
//! least `1 − 2 exp(−t²/2)` every singular value of `G/√(n − 2)` lies in
//! `1 ± (√d + t)/√(n − 2)`. Hence every eigenvalue of `W` lies in
//! `((n − 2)/n) (1 ± ε)²`, `ε = (√d + t)/√(n − 2)`; this is the
//! `‖Σ̂ − Σ‖ ≲ ‖Σ‖ √(d/n)` rate with explicit constants. By Ostrowski's
//! theorem each eigenvalue of `S` then lies in `λ_i(Σ)` times the same band.
//! For the means, `n_y (μ̂_y − μ_y)ᵀ Σ⁻¹ (μ̂_y − μ_y)` is exactly `χ²_d`
//! (the `√(λ_max/n)` rate made scale-free), and Laurent & Massart (2000):
//! `P(χ²_d ≥ d + 2√(dx) + 2x) ≤ e^{−x}`.
//! We take `t = 6` and `x = 18`: each bound fails with probability below
//! `1e−7` per case.
use crate::common;

use crate::common::seeded_rotation;
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::{
    Covariance, Error, Fit, Gmm, Label, Representation, fit::Regularization,
};
use proptest::prelude::*;
use rand::{SeedableRng, rngs::StdRng};

/// Davidson–Szarek deviation `t` (failure probability `2e^{−t²/2} ≈ 3e−8`).
const SPECTRAL_DEVIATION: f64 = 6.0;
/// Laurent–Massart exponent `x` (failure probability `e^{−x} ≈ 1.5e−8`).
const CHI_SQUARE_EXPONENT: f64 = 18.0;

/// The band `[lo, hi]` holding every eigenvalue of the whitened pooled
/// estimate (module docs).
fn wishart_band(n: usize, d: usize) -> (f64, f64) {
    let dof = (n - 2) as f64;
    let eps = ((d as f64).sqrt() + SPECTRAL_DEVIATION) / dof.sqrt();
    let shrink = dof / n as f64;
    (shrink * (1.0 - eps).powi(2), shrink * (1.0 + eps).powi(2))
}

/// Upper bound for a `χ²_d` variable (module docs).
fn chi_square_bound(d: usize) -> f64 {
    let d = d as f64;
    d + 2.0 * (d * CHI_SQUARE_EXPONENT).sqrt() + 2.0 * CHI_SQUARE_EXPONENT
}

/// Eigenvalues of `Σ^{−1/2} Σ̂ Σ^{−1/2}`, through the true covariance's spectrum.
fn whitened_spectrum(truth: &Covariance, estimate: &DMatrix<f64>) -> DVector<f64> {
    let d = truth.dim();
    let mut half = DMatrix::zeros(d, d);
    for j in 0..d {
        let col = truth
            .inv_sqrt_mul(&estimate.column(j).into_owned())
            .unwrap();
        half.set_column(j, &col);
    }
    let half_t = half.transpose();
    let mut whitened = DMatrix::zeros(d, d);
    for j in 0..d {
        let col = truth.inv_sqrt_mul(&half_t.column(j).into_owned()).unwrap();
        whitened.set_column(j, &col);
    }
    let whitened = (&whitened + whitened.transpose()) * 0.5;
    whitened.symmetric_eigen().eigenvalues
}

fn count(y: &[Label], label: Label) -> usize {
    y.iter().filter(|&&l| l == label).count()
}

/// Six samples with within-class deviations (±3, 0, 0), (0, 0, ±0.75)
/// around (1, 1, 1) and (0, ±1.5, 0) around (−1, 0, 2):
/// `S = diag(18, 4.5, 1.125)/6 = diag(3, 0.75, 0.1875)`.
fn hand_data() -> (DMatrix<f64>, Vec<Label>) {
    let x = DMatrix::from_row_slice(
        6,
        3,
        &[
            4.0, 1.0, 1.0, //
            -2.0, 1.0, 1.0, //
            1.0, 1.0, 1.75, //
            1.0, 1.0, 0.25, //
            -1.0, 1.5, 2.0, //
            -1.0, -1.5, 2.0,
        ],
    );
    let y = vec![
        Label::Pos,
        Label::Pos,
        Label::Pos,
        Label::Pos,
        Label::Neg,
        Label::Neg,
    ];
    (x, y)
}

fn assert_close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol * b.abs().max(1.0), "{a} vs {b}");
}

#[test]
fn pooled_fit_of_hand_data_is_exact() {
    let (x, y) = hand_data();
    let (gmm, report) = Gmm::fit_report(&x, &y, Fit::Pooled).unwrap();
    assert_eq!(gmm.mean(Label::Pos).as_slice(), &[1.0, 1.0, 1.0]);
    assert_eq!(gmm.mean(Label::Neg).as_slice(), &[-1.0, 0.0, 2.0]);
    assert_eq!(gmm.prior_pos(), 4.0 / 6.0);
    assert_eq!(gmm.covariance().representation(), Representation::Dense);
    let s = gmm.covariance().to_dense();
    assert_eq!(
        s,
        DMatrix::from_diagonal(&DVector::from_vec(vec![3.0, 0.75, 0.1875]))
    );
    for (got, want) in report.pooled_eigenvalues.iter().zip([3.0, 0.75, 0.1875]) {
        assert_close(*got, want, 1e-15);
    }
    assert_eq!((report.positives, report.negatives), (4, 2));
    assert_eq!(report.zero_directions, 0);
    assert_eq!(report.regularization, Regularization::None);
    assert_close(report.pooled_min_eigenvalue(), 0.1875, 1e-15);
}

#[test]
fn ledoit_wolf_fit_of_hand_data_matches_the_2004_formula() {
    // m = 3.9375/3 = 1.3125; d² = (1.6875² + 0.5625² + 1.125²)/3 = 1.4765625;
    // Σ‖x̃‖⁴ = 2(81 + 0.75⁴ + 1.5⁴) = 172.7578125, ‖S‖²_F = 9.59765625,
    // b̄² = (172.7578125/6 − 9.59765625)/(6·3) = 1.06640625; δ = b̄²/d² = 13/18.
    // Eigenvalues (5/18) λ + (13/18) m = 1.78125, 1.15625, 1.
    let (x, y) = hand_data();
    let (gmm, report) = Gmm::fit_report(&x, &y, Fit::LedoitWolf).unwrap();
    let delta = report.shrinkage_intensity().unwrap();
    assert_close(delta, 13.0 / 18.0, 1e-15);
    match report.regularization {
        Regularization::Shrinkage {
            target_variance, ..
        } => assert_close(target_variance, 1.3125, 1e-15),
        other => panic!("expected shrinkage, got {other:?}"),
    }
    let l = gmm.covariance().eigenvalues();
    for (got, want) in l.iter().zip([1.78125, 1.15625, 1.0]) {
        assert_close(*got, want, 1e-14);
    }
    let dense = gmm.covariance().to_dense();
    let want = DMatrix::from_diagonal(&DVector::from_vec(vec![1.78125, 1.15625, 1.0]));
    assert!((dense - want).amax() < 1e-14);
    assert_eq!(report.noise(), None);
}

#[test]
fn ppca_fit_of_hand_data_keeps_top_eigenpairs_and_averages_the_rest() {
    let (x, y) = hand_data();
    // rank 1: σ² = (0.75 + 0.1875)/2, explained 3/3.9375.
    let (gmm, report) = Gmm::fit_report(&x, &y, Fit::Ppca { rank: 1 }).unwrap();
    assert_close(report.noise().unwrap(), 0.46875, 1e-15);
    assert_close(
        report.explained_variance_ratio().unwrap(),
        3.0 / 3.9375,
        1e-15,
    );
    let cov = gmm.covariance();
    assert_eq!(cov.representation(), Representation::Spiked { rank: 1 });
    assert!((cov.eigenvalues()[0] - 3.0).abs() < 1e-14);
    let u = cov.eigenvector(0).unwrap();
    assert!((u[0].abs() - 1.0).abs() < 1e-14);
    let want = DMatrix::from_diagonal(&DVector::from_vec(vec![3.0, 0.46875, 0.46875]));
    assert!((cov.to_dense() - want).amax() < 1e-14);
    // rank 2: σ² is the last eigenvalue, so Σ̂ = S.
    let (gmm, report) = Gmm::fit_report(&x, &y, Fit::Ppca { rank: 2 }).unwrap();
    assert_close(report.noise().unwrap(), 0.1875, 1e-15);
    let want = DMatrix::from_diagonal(&DVector::from_vec(vec![3.0, 0.75, 0.1875]));
    assert!((gmm.covariance().to_dense() - want).amax() < 1e-14);
}

/// `b̄² / d²` computed the slow way, from the explicit outer products.
fn brute_force_ledoit_wolf(x: &DMatrix<f64>, y: &[Label]) -> (DMatrix<f64>, f64, f64) {
    let (n, d) = x.shape();
    let mut means = [DVector::zeros(d), DVector::zeros(d)];
    let mut counts = [0.0, 0.0];
    for (i, label) in y.iter().enumerate() {
        let c = usize::from(*label == Label::Neg);
        means[c] += x.row(i).transpose();
        counts[c] += 1.0;
    }
    means[0] /= counts[0];
    means[1] /= counts[1];
    let centered: Vec<DVector<f64>> = (0..n)
        .map(|i| x.row(i).transpose() - &means[usize::from(y[i] == Label::Neg)])
        .collect();
    let mut s = DMatrix::zeros(d, d);
    for c in &centered {
        s += c * c.transpose();
    }
    s /= n as f64;
    let m = s.trace() / d as f64;
    let identity = DMatrix::<f64>::identity(d, d);
    let d2 = (&s - &identity * m).norm_squared() / d as f64;
    let mut b2 = 0.0;
    for c in &centered {
        b2 += (c * c.transpose() - &s).norm_squared() / d as f64;
    }
    b2 /= (n * n) as f64;
    let delta = (b2 / d2).min(1.0);
    (s, delta, m)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The O(nd) Ledoit–Wolf intensity equals the definition with `n`
    /// explicit `d × d` outer products, and `Σ̂ = (1 − δ)S + δmI`.
    #[test]
    fn ledoit_wolf_intensity_matches_explicit_outer_products(
        (n, d) in (4usize..30, 2usize..7),
        seed in any::<u64>(),
    ) {
        let gmm = manifold_robustness::default_model::power_law_model(d, 1.0, 0.2, seed).unwrap();
        let (x, mut y) = gmm.sample(n, &mut StdRng::seed_from_u64(seed));
        // Both classes present.
        y[0] = Label::Pos;
        y[1] = Label::Neg;
        let (s, delta, m) = brute_force_ledoit_wolf(&x, &y);
        let (fitted, report) = Gmm::fit_report(&x, &y, Fit::LedoitWolf).unwrap();
        let got = report.shrinkage_intensity().unwrap();
        // Both sides sum O(n d²) products of O(1) numbers.
        prop_assert!((got - delta).abs() <= 1e-12 * delta.max(1e-3), "{} vs {}", got, delta);
        let want = &s * (1.0 - delta) + DMatrix::identity(d, d) * (delta * m);
        prop_assert!((fitted.covariance().to_dense() - want).amax() <= 1e-12 * s.amax());
    }

    /// THEORY §1: the pooled maximum-likelihood fit of a large sample from
    /// any model (every covariance representation, prior in [0.1, 0.9])
    /// recovers the prior exactly as a frequency, the means within the χ²
    /// bound and the covariance within the Davidson–Szarek band (module
    /// docs). This also checks `Gmm::sample` for each representation.
    #[test]
    fn fit_pooled_recovers_means_prior_and_covariance(
        gmm in common::general_model(),
        seed in any::<u64>(),
    ) {
        let n = 60_000;
        let d = gmm.dim();
        let (x, y) = gmm.sample(n, &mut StdRng::seed_from_u64(seed));
        let (fitted, report) = Gmm::fit_report(&x, &y, Fit::Pooled).unwrap();
        let positives = count(&y, Label::Pos);
        prop_assert_eq!(report.positives, positives);
        prop_assert_eq!(fitted.prior_pos(), positives as f64 / n as f64);
        for label in [Label::Pos, Label::Neg] {
            let err = fitted.mean(label) - gmm.mean(label);
            let stat = count(&y, label) as f64
                * gmm.covariance().inverse_quadratic_form(&err).unwrap();
            prop_assert!(stat <= chi_square_bound(d), "{:?}: χ² statistic {}", label, stat);
        }
        let (lo, hi) = wishart_band(n, d);
        let w = whitened_spectrum(gmm.covariance(), &fitted.covariance().to_dense());
        prop_assert!(w.min() >= lo && w.max() <= hi, "whitened spectrum {} not in [{}, {}]", w, lo, hi);
    }
}

/// THEORY §1 (PPCA): from a large sample of a spiked model, `Fit::Ppca`
/// with the true rank recovers the leading variances and the noise level
/// within the Davidson–Szarek band (via Ostrowski), and the manifold within
/// the Davis–Kahan bound `‖sin Θ‖_F ≤ 2√k ‖Σ̂ − Σ‖/(λ_k − σ²)` (Yu, Wang &
/// Samworth 2015), with `‖Σ̂ − Σ‖ ≤ λ₁ max(hi − 1, 1 − lo)`.
#[test]
fn fit_ppca_recovers_a_spiked_model() {
    let (d, k, n) = (10, 2, 50_000);
    let basis = seeded_rotation(d, 11).columns(0, k).into_owned();
    let variances = [16.0, 9.0];
    let noise = 1.0;
    let cov =
        Covariance::spiked(basis.clone(), DVector::from_row_slice(&variances), noise).unwrap();
    let mu = DVector::from_fn(d, |i, _| 0.3 * (i as f64 - 4.0));
    let gmm = Gmm::new(mu.clone(), -&mu * 0.5, cov, 0.35).unwrap();
    let (x, y) = gmm.sample(n, &mut StdRng::seed_from_u64(5));
    let (fitted, report) = Gmm::fit_report(&x, &y, Fit::Ppca { rank: k }).unwrap();
    let (lo, hi) = wishart_band(n, d);
    let got = fitted.covariance().eigenvalues();
    assert_eq!(got.len(), k + 1);
    for i in 0..k {
        assert!(
            got[i] >= lo * variances[i] && got[i] <= hi * variances[i],
            "λ_{i} = {}",
            got[i]
        );
    }
    let sigma2 = report.noise().unwrap();
    assert_eq!(sigma2, got[k]);
    assert!(
        sigma2 >= lo * noise && sigma2 <= hi * noise,
        "σ² = {sigma2}"
    );
    // The true explained share 25/33, within the band's worst ratio.
    let ratio = report.explained_variance_ratio().unwrap();
    let truth = 25.0 / 33.0;
    assert!(
        ratio >= truth * lo / hi && ratio <= truth * hi / lo,
        "ratio {ratio}"
    );
    // The fitted manifold is close to the true one.
    let fitted_basis = fitted.covariance().leading_basis(k).unwrap();
    let overlap = (basis.transpose() * fitted_basis).norm_squared();
    let sin_theta = (k as f64 - overlap).max(0.0).sqrt();
    let error_norm = variances[0] * (hi - 1.0).max(1.0 - lo);
    let bound = 2.0 * (k as f64).sqrt() * error_norm / (variances[k - 1] - noise);
    assert!(sin_theta <= bound, "sin Θ = {sin_theta}, bound {bound}");
    println!("PPCA recovery: sin Θ = {sin_theta:.4} (bound {bound:.3}), σ² = {sigma2:.5}");
}

/// Ledoit & Wolf (2004, §3): `b̄²` estimates `β² = E‖S − Σ‖²` (normalized
/// norm), which for Gaussian data is `((tr Σ)² + ‖Σ‖²_F)/(n d)`, and `d²`
/// estimates `α² + β²` with `α² = ‖Σ − (tr Σ/d) I‖²/d`. So on a large
/// sample the intensity is `β²/(α² + β²)` to within the sampling error of
/// a mean of `n` fourth moments (about 1% here); 10% catches any wrong
/// normalization (`n` for `n²`, a missing `1/d`), which is off by a factor
/// of at least `d`.
#[test]
fn ledoit_wolf_intensity_vanishes_at_the_predicted_rate() {
    let (d, n) = (8, 20_000);
    let values: Vec<f64> = (1..=d).rev().map(|v| v as f64).collect();
    let q = seeded_rotation(d, 3);
    let sigma = &q * DMatrix::from_diagonal(&DVector::from_vec(values.clone())) * q.transpose();
    let cov = Covariance::dense((&sigma + sigma.transpose()) * 0.5).unwrap();
    let gmm = Gmm::symmetric(DVector::from_element(d, 0.4), cov).unwrap();
    let (x, y) = gmm.sample(n, &mut StdRng::seed_from_u64(17));
    let (_, report) = Gmm::fit_report(&x, &y, Fit::LedoitWolf).unwrap();
    let trace: f64 = values.iter().sum();
    let frob: f64 = values.iter().map(|v| v * v).sum();
    let m = trace / d as f64;
    let alpha2: f64 = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / d as f64;
    let beta2 = (trace * trace + frob) / (n * d) as f64;
    let predicted = beta2 / (alpha2 + beta2);
    let delta = report.shrinkage_intensity().unwrap();
    println!("Ledoit–Wolf: δ = {delta:.6e}, predicted {predicted:.6e}");
    assert!((delta / predicted - 1.0).abs() < 0.1);
}

/// Constant pixels: every fit behaves as documented. Pooled reports the
/// zero directions; Ledoit–Wolf gives them the variance `δm` and zero
/// weight (both class means agree there); PPCA works while the noise level
/// is positive and says so when it would be zero.
#[test]
fn rank_deficient_data_each_fit_as_documented() {
    let d = 8;
    let gmm = manifold_robustness::default_model::power_law_model(d, 1.0, 0.05, 9).unwrap();
    let (mut x, y) = gmm.sample(2_000, &mut StdRng::seed_from_u64(23));
    x.column_mut(2).fill(0.25);
    x.column_mut(5).fill(-1.0);

    match Gmm::fit(&x, &y, Fit::Pooled) {
        Err(Error::SingularCovariance {
            min_eigenvalue,
            zero_directions,
        }) => {
            assert_eq!(zero_directions, 2);
            assert!(min_eigenvalue.abs() < 1e-14);
        }
        other => panic!("expected SingularCovariance, got {other:?}"),
    }

    let (lw, report) = Gmm::fit_report(&x, &y, Fit::LedoitWolf).unwrap();
    assert_eq!(report.zero_directions, 2);
    let (delta, m) = match report.regularization {
        Regularization::Shrinkage {
            intensity,
            target_variance,
        } => (intensity, target_variance),
        other => panic!("expected shrinkage, got {other:?}"),
    };
    assert!(delta > 0.0 && delta <= 1.0);
    let l = lw.covariance().eigenvalues();
    // The two zero directions get exactly the shrinkage floor δm (up to the
    // rounding of the zero eigenvalues, ~ε λ₁).
    for i in [d - 2, d - 1] {
        assert!((l[i] - delta * m).abs() <= 1e-12 * l[0], "λ_{i} = {}", l[i]);
    }
    let w = lw.bayes_classifier();
    let w = w.weights();
    assert!(w[2].abs() <= 1e-10 * w.norm() && w[5].abs() <= 1e-10 * w.norm());
    assert!(lw.bayes_error() > 0.0 && lw.bayes_error() < 0.5);

    let (ppca, report) = Gmm::fit_report(&x, &y, Fit::Ppca { rank: 3 }).unwrap();
    let pooled = &report.pooled_eigenvalues;
    let expected_noise = pooled.rows(3, d - 3).sum() / (d - 3) as f64;
    assert_close(report.noise().unwrap(), expected_noise, 1e-14);
    assert!(report.noise().unwrap() > 0.0);
    assert_eq!(
        ppca.covariance().representation(),
        Representation::Spiked { rank: 3 }
    );
    // rank 6 and 7 leave only the two zero eigenvalues (or fewer) for σ².
    for rank in [6, 7] {
        assert!(matches!(
            Gmm::fit(&x, &y, Fit::Ppca { rank }),
            Err(Error::DegenerateFit {
                fit: "Fit::Ppca",
                ..
            })
        ));
    }
}

/// Centered samples `±v` for one `v`: `S = vvᵀ` has rank one, every
/// outer product equals `S`, so Ledoit–Wolf finds `b̄² = 0` and no
/// shrinkage; no fit can make a covariance of these data.
#[test]
fn samples_on_one_line_defeat_every_fit() {
    let x = DMatrix::from_row_slice(4, 2, &[2.0, 1.0, 0.0, -1.0, -2.0, 1.0, -4.0, -1.0]);
    let y = [Label::Pos, Label::Pos, Label::Neg, Label::Neg];
    assert!(matches!(
        Gmm::fit(&x, &y, Fit::Pooled),
        Err(Error::SingularCovariance {
            zero_directions: 1,
            ..
        })
    ));
    assert!(matches!(
        Gmm::fit(&x, &y, Fit::LedoitWolf),
        Err(Error::DegenerateFit {
            fit: "Fit::LedoitWolf",
            ..
        })
    ));
    assert!(matches!(
        Gmm::fit(&x, &y, Fit::Ppca { rank: 1 }),
        Err(Error::DegenerateFit {
            fit: "Fit::Ppca",
            ..
        })
    ));
}

/// Fewer samples than dimensions (`n − 2 < d`): `S` has rank `n − 2`.
#[test]
fn fewer_samples_than_dimensions() {
    let (d, n) = (20, 12);
    let gmm = manifold_robustness::default_model::power_law_model(d, 0.5, 0.1, 4).unwrap();
    let (x, mut y) = gmm.sample(n, &mut StdRng::seed_from_u64(8));
    y[0] = Label::Pos;
    y[1] = Label::Neg;
    assert!(matches!(
        Gmm::fit(&x, &y, Fit::Pooled),
        Err(Error::SingularCovariance {
            zero_directions: 10,
            ..
        })
    ));
    let (_, report) = Gmm::fit_report(&x, &y, Fit::LedoitWolf).unwrap();
    assert_eq!(report.zero_directions, 10);
    assert!(Gmm::fit(&x, &y, Fit::Ppca { rank: 9 }).is_ok());
    assert!(matches!(
        Gmm::fit(&x, &y, Fit::Ppca { rank: 10 }),
        Err(Error::DegenerateFit { .. })
    ));
}

/// A PPCA rank that cuts a block of equal eigenvalues is rejected (the
/// kept directions would be arbitrary); ranks outside the block work.
#[test]
fn ppca_rank_inside_a_tie_is_ambiguous() {
    // Pairs ±3e₁, ±2e₂ around (1, 1, 1, 1) and ±2e₃, ±e₄ around 0:
    // S = 2 diag(9, 4, 4, 1)/8; rank 1 gives σ² = (1 + 1 + 1/4)/3.
    let mut rows = Vec::new();
    let mut y = Vec::new();
    for (axis, a, center, label) in [
        (0, 3.0, 1.0, Label::Pos),
        (1, 2.0, 1.0, Label::Pos),
        (2, 2.0, 0.0, Label::Neg),
        (3, 1.0, 0.0, Label::Neg),
    ] {
        for sign in [1.0, -1.0] {
            let mut r = [center; 4];
            r[axis] += sign * a;
            rows.extend_from_slice(&r);
            y.push(label);
        }
    }
    let x = DMatrix::from_row_slice(8, 4, &rows);
    assert!(matches!(
        Gmm::fit(&x, &y, Fit::Ppca { rank: 2 }),
        Err(Error::AmbiguousEigenspace { k: 2, .. })
    ));
    let (_, report) = Gmm::fit_report(&x, &y, Fit::Ppca { rank: 3 }).unwrap();
    assert_close(report.noise().unwrap(), 0.25, 1e-15);
    let (_, report) = Gmm::fit_report(&x, &y, Fit::Ppca { rank: 1 }).unwrap();
    assert_close(report.noise().unwrap(), 0.75, 1e-15);
}

#[test]
fn fit_rejects_bad_input_with_the_right_error() {
    let (x, y) = hand_data();
    for fit in [Fit::Pooled, Fit::LedoitWolf, Fit::Ppca { rank: 1 }] {
        assert_eq!(
            Gmm::fit(&DMatrix::zeros(6, 0), &y, fit).unwrap_err(),
            Error::Empty { name: "x" }
        );
        assert!(matches!(
            Gmm::fit(&x, &y[..5], fit),
            Err(Error::DimensionMismatch {
                expected: 6,
                found: 5,
                ..
            })
        ));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut x_bad = x.clone();
            x_bad[(3, 1)] = bad;
            assert!(matches!(
                Gmm::fit(&x_bad, &y, fit).unwrap_err(),
                Error::NonFiniteEntry { name: "x", .. }
            ));
        }
        // Finite, but the within-class variance (~1e320) is not representable.
        let huge = &x * 1e160;
        assert!(matches!(
            Gmm::fit(&huge, &y, fit),
            Err(Error::InvalidParameter { name: "x", .. })
        ));
        for label in [Label::Pos, Label::Neg] {
            let one_class = vec![label; 6];
            assert!(matches!(
                Gmm::fit(&x, &one_class, fit),
                Err(Error::NotEnoughSamples {
                    needed: 1,
                    found: 0,
                    ..
                })
            ));
        }
        assert!(matches!(
            Gmm::fit(&DMatrix::zeros(0, 3), &[], fit),
            Err(Error::NotEnoughSamples { found: 0, .. })
        ));
        let two = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 0.0, 0.0, 0.0]);
        assert!(matches!(
            Gmm::fit(&two, &[Label::Pos, Label::Neg], fit),
            Err(Error::NotEnoughSamples {
                needed: 3,
                found: 2,
                ..
            })
        ));
        // Every sample equals its class mean.
        let flat = DMatrix::from_row_slice(3, 3, &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert!(matches!(
            Gmm::fit(&flat, &[Label::Pos, Label::Pos, Label::Neg], fit),
            Err(Error::DegenerateFit { .. })
        ));
        // Both class means at the origin; S = diag(8, 2, 1/2)/6.
        let same = DMatrix::from_row_slice(
            6,
            3,
            &[
                2.0, 0.0, 0.0, -2.0, 0.0, 0.0, //
                0.0, 1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, -0.5,
            ],
        );
        let labels = [
            Label::Pos,
            Label::Pos,
            Label::Neg,
            Label::Neg,
            Label::Neg,
            Label::Neg,
        ];
        assert_eq!(
            Gmm::fit(&same, &labels, fit).unwrap_err(),
            Error::IdenticalMeans
        );
    }
    for rank in [0, 3, 4] {
        assert_eq!(
            Gmm::fit(&x, &y, Fit::Ppca { rank }).unwrap_err(),
            Error::InvalidRank { k: rank, max: 2 }
        );
    }
}
