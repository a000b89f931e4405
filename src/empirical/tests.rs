//! End-to-end checks of empirical adversarial training against
//! hand-derived optima, and the shared test data of the module.

use nalgebra::{DMatrix, DVector};

use super::objective::{sigmoid, softplus};
use super::*;
use crate::covariance::Covariance;

pub(super) fn labels(signs: &[f64]) -> Vec<Label> {
    signs
        .iter()
        .map(|&s| if s > 0.0 { Label::Pos } else { Label::Neg })
        .collect()
}

/// The 1-D data set of the hand-derived optimum: x = +1 with labels
/// (+, +, +, −) and x = −1 with labels (−, −, −, +).
fn symmetric_1d() -> (DMatrix<f64>, Vec<Label>) {
    let x = DMatrix::from_column_slice(8, 1, &[1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0]);
    let y = labels(&[1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0]);
    (x, y)
}

/// Bisection for the root of an increasing function on [lo, hi].
fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    assert!(f(lo) < 0.0 && f(hi) > 0.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    0.5 * (lo + hi)
}

/// `L(w) = ¾ softplus(−w) + ¼ softplus(w)` has `L'(w) = σ(w) − ¾`, so
/// `w* = ln 3`; the data are symmetric under `(x, y) → (−x, −y)`, so `b* = 0`.
#[test]
fn plain_logistic_regression_matches_the_hand_derived_optimum() {
    let (x, y) = symmetric_1d();
    for threat in [Threat::l2(), Threat::linf(), Threat::l1()] {
        let (clf, report) =
            adversarial_training_report(&x, &y, &threat, 0.0, &TrainingOptions::default()).unwrap();
        assert!((clf.weights()[0] - 3f64.ln()).abs() < 1e-8, "{clf:?}");
        assert!(clf.bias().abs() < 1e-8);
        assert_eq!(report.criterion, Stationarity::Gradient);
        // L(ln 3) = ¾ ln(4/3) + ¼ ln 4.
        let loss = 0.75 * (4.0f64 / 3.0).ln() + 0.25 * 4f64.ln();
        assert!((report.loss - loss).abs() < 1e-15);
    }
}

/// In 1-D every threat has `σ_K(w) = |w|`. For `w > 0` the robust loss is
/// `¾ softplus(−(1 − ε)w) + ¼ softplus((1 + ε)w) + (λ/2)w²`, whose
/// derivative `−¾(1 − ε)σ(−(1 − ε)w) + ¼(1 + ε)σ((1 + ε)w) + λw` is
/// increasing: its root, found by bisection, is the optimum.
#[test]
fn robust_and_ridge_optima_in_one_dimension() {
    let (x, y) = symmetric_1d();
    for (eps, lambda) in [(0.2, 0.0), (0.0, 0.1), (0.3, 0.05)] {
        let derivative = |w: f64| {
            -0.75 * (1.0 - eps) * sigmoid(-(1.0 - eps) * w)
                + 0.25 * (1.0 + eps) * sigmoid((1.0 + eps) * w)
                + lambda * w
        };
        let expected = bisect(derivative, 1e-9, 10.0);
        let options = TrainingOptions::default().with_l2_penalty(lambda);
        for threat in [Threat::l2(), Threat::linf(), Threat::l1()] {
            let (clf, report) =
                adversarial_training_report(&x, &y, &threat, eps, &options).unwrap();
            assert!(
                (clf.weights()[0] - expected).abs() < 1e-7,
                "{threat} ε = {eps}, λ = {lambda}: {} vs {expected} ({report:?})",
                clf.weights()[0]
            );
            assert!(clf.bias().abs() < 1e-7);
        }
    }
}

/// In the 1-D data set the right derivative of the robust loss at
/// `w = 0`, `(−3(1 − ε) + (1 + ε))/8`, is non-negative for `ε ≥ ½`: there
/// the minimizer is `w = 0`, for every threat (in 1-D `σ_K(w) = |w|` for
/// every ℓp ball, `2|w|` for the generative threat of variance 4, and
/// `maxᵢ εᵢ|w|` for a union with relative budgets `εᵢ`).
#[test]
fn large_budget_gives_the_zero_optimum() {
    let (x, y) = symmetric_1d();
    let cov = Covariance::isotropic(1, 4.0).unwrap();
    let union = Threat::union(vec![(Threat::l1(), 1.0), (Threat::lp(3.0).unwrap(), 2.0)]).unwrap();
    for (threat, eps) in [
        (Threat::linf(), 0.6),
        (Threat::l2(), 0.6),
        (Threat::l1(), 0.6),
        (Threat::lp(3.0).unwrap(), 0.6),
        (Threat::lp(1.5).unwrap(), 0.5),
        (Threat::generative(&cov), 0.3),
        (union.clone(), 0.3),
    ] {
        assert_eq!(
            adversarial_training(&x, &y, &threat, eps, &TrainingOptions::default()),
            Err(Error::ZeroOptimum { budget: eps }),
            "{threat}"
        );
    }
    // Just below the threshold the optimum is not zero.
    for (threat, eps) in [
        (Threat::l2(), 0.45),
        (Threat::lp(3.0).unwrap(), 0.45),
        (Threat::l1(), 0.45),
        (union, 0.2),
    ] {
        let clf = adversarial_training(&x, &y, &threat, eps, &TrainingOptions::default()).unwrap();
        assert!(clf.weights()[0] > 0.0, "{threat}");
    }
}

/// The data of the kink checks: the eight points of [`symmetric_1d`] in
/// coordinate 0, each repeated with `x_{1+i} = y δ_i ± 1` for every sign
/// pattern. At `w = (w₀, 0, …)` the per-point weights are those of the
/// 1-D problem — `s = σ(−ln 3) = ¼` for the six points with
/// `y x₀ = 1`, `¾` for the other two, `s̄ = 3/8` at `w₀ = ln 3` — and each
/// copy pair contributes `2yδ_i` to `Σ s_j y_j x_{j,1+i}`, so
///
/// ```text
/// ∂_{w_{1+i}} F = −(1/n) Σ_j s_j y_j x_{j,1+i} = −3δ_i/8,   εs̄ = 3ε/8.
/// ```
///
/// On `N = {w_{1..} = 0}` the loss is the 1-D logistic loss, minimal at
/// `w₀ = ln 3`, `b = 0`. For `A = (0; B)` with `B` invertible, that point
/// is the minimizer iff `−∇_G F ∈ (3ε/8) B·{‖u‖ ≤ 1}`, i.e. iff
/// `‖B⁻¹δ‖ ≤ ε`; otherwise the minimizer is off the kink.
fn kink_data(deltas: &[f64]) -> (DMatrix<f64>, Vec<Label>) {
    let (base_x, base_y) = symmetric_1d();
    let g = deltas.len();
    let copies = 1usize << g;
    let n = base_x.nrows() * copies;
    let mut x = DMatrix::zeros(n, 1 + g);
    let mut y = Vec::with_capacity(n);
    for j in 0..base_x.nrows() {
        let label = base_y[j].sign();
        for pattern in 0..copies {
            let row = j * copies + pattern;
            x[(row, 0)] = base_x[(j, 0)];
            for (i, delta) in deltas.iter().enumerate() {
                let noise = if pattern >> i & 1 == 1 { 1.0 } else { -1.0 };
                x[(row, 1 + i)] = label * delta + noise;
            }
            y.push(base_y[j]);
        }
    }
    (x, y)
}

/// Threats whose body is `{(0, Bu) : ‖u‖ ≤ 1}` on `1 + g` coordinates,
/// with their `B` (rows: the kink coordinates 1..=g).
fn kink_threats(g: usize) -> Vec<(Threat, DMatrix<f64>)> {
    let d = 1 + g;
    // Eigenspace and generative rank g: the g largest variances sit on
    // the kink coordinates; off-manifold 1: the largest on coordinate 0.
    let rising = Covariance::diagonal(DVector::from_fn(d, |i, _| (1 + i * i) as f64)).unwrap();
    let falling = Covariance::diagonal(DVector::from_fn(d, |i, _| 9.0 / (1 + i) as f64)).unwrap();
    let root_variances = DMatrix::from_fn(g, g, |r, c| {
        if r == c {
            ((2 + r * (r + 2)) as f64).sqrt()
        } else {
            0.0
        }
    });
    let mixing = DMatrix::from_fn(g, g, |r, c| if r == c { 1.5 } else { 0.7 - r as f64 });
    let mut factor = DMatrix::zeros(d, g);
    factor.rows_mut(1, g).copy_from(&mixing);
    vec![
        (
            Threat::eigenspace(&rising, g).unwrap(),
            DMatrix::identity(g, g),
        ),
        (Threat::generative_rank(&rising, g).unwrap(), root_variances),
        (
            Threat::off_manifold(&falling, 1).unwrap(),
            DMatrix::identity(g, g),
        ),
        (Threat::ellipsoid(factor).unwrap(), mixing),
    ]
}

/// The robust loss of the module docs, written out independently with
/// `σ_K(w) = ‖Bᵀ w_{1..}‖`.
fn kink_loss(x: &DMatrix<f64>, y: &[Label], b: &DMatrix<f64>, eps: f64, theta: &[f64]) -> f64 {
    let d = x.ncols();
    let w_kink = DVector::from_column_slice(&theta[1..d]);
    let support = (b.transpose() * w_kink).norm();
    let mut sum = 0.0;
    for (j, label) in y.iter().enumerate() {
        let score: f64 = (0..d).map(|i| theta[i] * x[(j, i)]).sum::<f64>() + theta[d];
        sum += softplus(eps * support - label.sign() * score);
    }
    sum / y.len() as f64
}

/// `δ = ρ ε B z/‖z‖` for a fixed direction `z`, so `‖B⁻¹δ‖ = ρε`.
fn kink_deltas(b: &DMatrix<f64>, eps: f64, ratio: f64) -> Vec<f64> {
    let g = b.nrows();
    let z = DVector::from_fn(g, |i, _| [0.8, -0.6][i]);
    let delta = b * z.normalize() * (ratio * eps);
    delta.as_slice().to_vec()
}

#[test]
fn the_minimizer_on_the_kink_is_reached_exactly() {
    let eps = 0.4;
    for g in [1, 2] {
        for (threat, b) in kink_threats(g) {
            let (x, y) = kink_data(&kink_deltas(&b, eps, 0.8));
            let (clf, report) =
                adversarial_training_report(&x, &y, &threat, eps, &TrainingOptions::default())
                    .unwrap();
            let w = clf.weights();
            assert_eq!(
                report.criterion,
                Stationarity::MinimalSubgradient,
                "{threat}"
            );
            assert!(report.gradient_norm <= 1e-8, "{threat}: {report:?}");
            // Axis-aligned kink subspaces are projected onto exactly; the
            // general factor goes through its SVD (rounding of Q's
            // entries: ~1e-16 relative).
            for i in 1..=g {
                assert!(w[i].abs() <= 1e-14 * w[0], "{threat}: w = {w}");
            }
            if threat.is_ellipsoid() && threat.spectral_family().is_some() {
                assert!(w.rows(1, g).iter().all(|&v| v == 0.0), "{threat}: w = {w}");
            }
            assert!((w[0] - 3f64.ln()).abs() < 1e-8, "{threat}: w = {w}");
            assert!(clf.bias().abs() < 1e-8);
        }
    }
}

/// Past the threshold `‖B⁻¹δ‖ = ε` the minimizer leaves the kink: a
/// smooth stationary point, checked against the independent loss — no
/// coordinate step of ±h lowers it (a minimum of a convex function that
/// is differentiable there).
#[test]
fn past_the_threshold_the_minimizer_leaves_the_kink() {
    let eps = 0.4;
    for g in [1, 2] {
        for (threat, b) in kink_threats(g) {
            let deltas = kink_deltas(&b, eps, 1.25);
            let (x, y) = kink_data(&deltas);
            let (clf, report) =
                adversarial_training_report(&x, &y, &threat, eps, &TrainingOptions::default())
                    .unwrap();
            assert_eq!(report.criterion, Stationarity::Gradient, "{threat}");
            let w = clf.weights();
            assert!(threat.support(w) > 1e-3 * w.norm(), "{threat}: w = {w}");
            let alignment: f64 = (0..g).map(|i| w[1 + i] * deltas[i]).sum();
            assert!(alignment > 0.0, "{threat}: w = {w}, δ = {deltas:?}");
            let mut theta: Vec<f64> = w.iter().copied().collect();
            theta.push(clf.bias());
            let at = kink_loss(&x, &y, &b, eps, &theta);
            assert!((at - report.loss).abs() < 1e-14, "{at} vs {}", report.loss);
            // At h = 1e-4 a curvature of order 0.1 raises the loss by
            // ~1e-9, far above its rounding (~1e-16).
            let h = 1e-4;
            for i in 0..theta.len() {
                for step in [h, -h] {
                    let mut moved = theta.clone();
                    moved[i] += step;
                    assert!(
                        kink_loss(&x, &y, &b, eps, &moved) > at,
                        "{threat}, coordinate {i}"
                    );
                }
            }
        }
    }
}

pub(super) fn random_data(n: usize, d: usize, seed: u64) -> (DMatrix<f64>, Vec<Label>) {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(seed);
    let x = DMatrix::from_fn(n, d, |_, _| rng.random::<f64>() * 4.0 - 2.0);
    let y = (0..n)
        .map(|i| {
            if x[(i, 0)] + 0.5 * rng.random::<f64>() - 0.25 > 0.1 {
                Label::Pos
            } else {
                Label::Neg
            }
        })
        .collect();
    (x, y)
}

#[test]
fn linf_training_reaches_exact_zeros_and_a_small_minimal_subgradient() {
    // Only feature 0 carries the label; features 1 and 2 are noise, so
    // at a moderate budget their weights are exactly 0.
    let (x, y) = random_data(400, 3, 21);
    let (clf, report) =
        adversarial_training_report(&x, &y, &Threat::linf(), 0.3, &TrainingOptions::default())
            .unwrap();
    assert_eq!(report.criterion, Stationarity::MinimalSubgradient);
    assert!(report.gradient_norm <= 1e-8);
    assert!(clf.weights()[0] > 0.0);
    assert_eq!(clf.weights()[1], 0.0);
    assert_eq!(clf.weights()[2], 0.0);
}

#[test]
fn separable_data_without_penalty_is_reported() {
    let x = DMatrix::from_column_slice(4, 1, &[1.0, 2.0, -1.0, -2.0]);
    let y = labels(&[1.0, 1.0, -1.0, -1.0]);
    assert_eq!(
        adversarial_training(&x, &y, &Threat::l2(), 0.0, &TrainingOptions::default()),
        Err(Error::LinearlySeparable { budget: 0.0 })
    );
    // Robustly separable at ε = 0.5 (margins 1 and 2 exceed 0.5·|w|).
    assert_eq!(
        adversarial_training(&x, &y, &Threat::l2(), 0.5, &TrainingOptions::default()),
        Err(Error::LinearlySeparable { budget: 0.5 })
    );
    // A ridge penalty restores a minimizer. The data are symmetric, so
    // b = 0 and L(w) = ½ softplus(−w) + ½ softplus(−2w) + 0.05 w², whose
    // derivative −½σ(−w) − σ(−2w) + 0.1 w vanishes at the optimum.
    let options = TrainingOptions::default().with_l2_penalty(0.1);
    let clf = adversarial_training(&x, &y, &Threat::l2(), 0.0, &options).unwrap();
    assert!(clf.bias().abs() < 1e-8);
    let w = clf.weights()[0];
    let derivative = -0.5 * sigmoid(-w) - sigmoid(-2.0 * w) + 0.1 * w;
    assert!(derivative.abs() < 1e-8, "{w}: {derivative}");
}

#[test]
fn iteration_cap_gives_a_typed_error() {
    let (x, y) = random_data(100, 3, 2);
    let options = TrainingOptions::default().with_max_iterations(1);
    assert!(matches!(
        adversarial_training(&x, &y, &Threat::l2(), 0.1, &options),
        Err(Error::TrainingNoConvergence {
            iterations: 1,
            reason: "iteration cap reached",
            ..
        })
    ));
}

#[test]
fn training_rejects_bad_input() {
    let (x, y) = random_data(10, 2, 3);
    let o = TrainingOptions::default();
    let l2 = Threat::l2();
    assert!(matches!(
        adversarial_training(&x, &y, &l2, -0.1, &o),
        Err(Error::InvalidBudget { .. })
    ));
    assert!(matches!(
        adversarial_training(&x, &y, &l2, f64::NAN, &o),
        Err(Error::InvalidBudget { .. })
    ));
    assert!(matches!(
        adversarial_training(&x, &y[..9], &l2, 0.1, &o),
        Err(Error::DimensionMismatch { name: "labels", .. })
    ));
    let cov = Covariance::isotropic(3, 1.0).unwrap();
    assert!(matches!(
        adversarial_training(&x, &y, &Threat::generative(&cov), 0.1, &o),
        Err(Error::DimensionMismatch { name: "threat", .. })
    ));
    let mut bad = x.clone();
    bad[(3, 1)] = f64::NAN;
    assert!(matches!(
        adversarial_training(&bad, &y, &l2, 0.1, &o),
        Err(Error::NonFiniteEntry { name: "x", .. })
    ));
    let all_pos = vec![Label::Pos; 10];
    assert!(matches!(
        adversarial_training(&x, &all_pos, &l2, 0.1, &o),
        Err(Error::NotEnoughSamples { found: 0, .. })
    ));
    assert!(matches!(
        adversarial_training(&DMatrix::zeros(0, 2), &[], &l2, 0.1, &o),
        Err(Error::Empty { name: "samples" })
    ));
    for options in [
        o.clone().with_l2_penalty(-1.0),
        o.clone().with_gradient_tolerance(0.0),
        o.clone().with_max_iterations(0),
    ] {
        assert!(matches!(
            adversarial_training(&x, &y, &l2, 0.1, &options),
            Err(Error::InvalidParameter { .. })
        ));
    }
}
