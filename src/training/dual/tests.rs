//! Checks of the dual solver that the public API cannot reach: its own
//! result type, and single ellipsoids (which `Gmm::robust_optimum` sends
//! to the secular equation instead) compared with that closed form.

use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;

use super::{SolverOptions, solve};
use crate::classifier::LinearClassifier;
use crate::covariance::Covariance;
use crate::gmm::Gmm;
use crate::seeded::seeded_rotation;
use crate::threat::Threat;

#[test]
fn linf_example_by_hand() {
    // Σ = I, μ = (3, 1), ℓ∞ budget 2: z* = clip(μ, 2) = (2, 1), r* = 1,
    // w* = 2(μ − z*) = (2, 0) (the soft threshold of μ, doubled).
    let cov = Covariance::isotropic(2, 1.0).unwrap();
    let mu = DVector::from_vec(vec![3.0, 1.0]);
    let sol = solve(&cov, &mu, &Threat::linf(), 2.0, &SolverOptions::default()).unwrap();
    assert!((sol.distance - 1.0).abs() < 1e-15);
    assert!(sol.gap <= 1e-9 * sol.lower_bound);
    assert!((sol.weights[0] - 2.0).abs() < 1e-15 && sol.weights[1].abs() < 1e-15);
    assert!((&sol.adversary - DVector::from_vec(vec![2.0, 1.0])).amax() < 1e-15);
}

/// A dense covariance `Q diag(λ) Qᵀ` with `λ` spread over four decades
/// (condition number ≤ 1e4, as the suite's strategies) and a mean.
fn dense_case() -> impl Strategy<Value = (Covariance, DVector<f64>)> {
    (2usize..=8).prop_flat_map(|d| {
        (
            prop::collection::vec(-2.0f64..2.0, d),
            prop::collection::vec(-2.0f64..2.0, d),
            any::<u64>(),
        )
            .prop_filter("a mean that is not too small", |(_, mu, _)| {
                mu.iter().map(|x| x * x).sum::<f64>() > 0.01
            })
            .prop_map(move |(exponents, mu, seed)| {
                let q = seeded_rotation(d, seed);
                let scaled = DMatrix::from_fn(d, d, |i, j| q[(i, j)] * 10f64.powf(exponents[j]));
                let sigma = &scaled * q.transpose();
                let cov = Covariance::dense((&sigma + sigma.transpose()) * 0.5).unwrap();
                (cov, DVector::from_vec(mu))
            })
    })
}

/// `1 − cos(a, b) = ‖â − b̂‖²/2` (no cancellation near 1).
fn one_minus_cos(a: &DVector<f64>, b: &DVector<f64>) -> f64 {
    0.5 * (a / a.norm() - b / b.norm()).norm_squared()
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// P4 for one ellipsoid through the dual solver (ℓ2: one ℓp ball with
    /// `p = 2`; generative: an ellipsoid in the covariance's eigenbasis),
    /// against the secular closed form `w* = (Σ + λM)⁻¹ 2μ` of
    /// `robust_optimum`, on dense covariances. The closed form's interval
    /// `[r, r + gap]` is at the rounding level; the dual solver's holds `r*`
    /// too, so the two intervals overlap (up to the rounding of their own
    /// sums, `1e-10 r*`). Directions: `1 − cos ≤ 1e-12`, clean and robust
    /// errors within `1e-9` relative — a direction exact to rounding meets
    /// them with a margin of 1e3, the certificate alone (gap `1e-9 r*`,
    /// angle `≈ 3e-5`) does not (see `tests/suite/directions.rs`).
    #[test]
    fn single_ellipsoid_dual_optimum_matches_the_closed_form(
        (cov, mu) in dense_case(),
        fraction in 0.02f64..0.9,
        generative in any::<bool>(),
    ) {
        let gmm = Gmm::symmetric(mu.clone(), cov.clone()).unwrap();
        let (threat, cover) = if generative {
            (Threat::generative(&cov), cov.inverse_quadratic_form(&mu).unwrap().sqrt())
        } else {
            (Threat::l2(), mu.norm())
        };
        let eps = fraction * cover;
        let closed = gmm.robust_optimum(&threat, eps).unwrap();
        let sol = solve(&cov, &mu, &threat, eps, &SolverOptions::default()).unwrap();
        prop_assert!(sol.gap >= 0.0 && sol.lower_bound <= sol.distance);
        prop_assert!((sol.distance - sol.lower_bound - sol.gap).abs() <= 1e-15 * sol.distance);
        let slack = 1e-10 * closed.distance();
        prop_assert!(sol.lower_bound <= closed.distance() + closed.gap() + slack);
        prop_assert!(closed.distance() <= sol.distance + slack);
        let exact = closed.classifier().unwrap();
        let clf = LinearClassifier::new(sol.weights.clone(), 0.0).unwrap();
        prop_assert!(one_minus_cos(&sol.weights, exact.weights()) <= 1e-12);
        prop_assert!(relative(gmm.error(&clf).unwrap(), gmm.error(&exact).unwrap()) <= 1e-9);
        prop_assert!(relative(
            gmm.robust_error(&clf, &threat, eps).unwrap(),
            gmm.robust_error(&exact, &threat, eps).unwrap(),
        ) <= 1e-9);
    }

    /// THEORY §10 (scale) for ℓ2 through the dual solver:
    /// `(μ, Σ, ε) → (cμ, c²Σ, cε)` with `c = 2^k`, `k ∈ [−480, 480]`, leaves
    /// `r*` unchanged up to the two certified gaps (the same statement for
    /// the other threats is `p8_rescaling_by_any_power_of_two_…` in the suite).
    #[test]
    fn l2_dual_optimum_is_unchanged_by_rescaling(
        (cov, mu) in dense_case(),
        exponent in -480i32..=480,
        fraction in 0.05f64..0.9,
    ) {
        let c = 2f64.powi(exponent);
        let scaled_cov = Covariance::dense(cov.to_dense() * (c * c)).unwrap();
        let eps = fraction * mu.norm();
        let options = SolverOptions::default();
        let base = solve(&cov, &mu, &Threat::l2(), eps, &options).unwrap();
        let scaled = solve(&scaled_cov, &(&mu * c), &Threat::l2(), eps * c, &options).unwrap();
        prop_assert!(scaled.distance.is_finite() && scaled.gap.is_finite());
        prop_assert!(
            (scaled.distance - base.distance).abs() <= base.gap + scaled.gap + 1e-12 * base.distance,
            "2^{exponent}: {} vs {}", scaled.distance, base.distance
        );
    }
}
