//! THEORY §3 by brute force (support functions and steepest directions of
//! every threat), and P8 for threats and attacks: rotation equivariance of
//! ℓ2 and ellipsoidal threats, signed-permutation equivariance of ℓ∞ and
//! ℓ1 (and their failure under rotations), and scaling.

use crate::common::seeded_rotation;
use crate::common::{
    ByHand, ThreatCase, conjugate, covariance_and_threat, lp_norm, model_and_weights, tol, vector,
};
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::{
    Covariance, Gmm, Label, LinearClassifier, Perturbation, Representation, Threat, energy_profile,
    minimal_perturbation,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};

fn vec(v: &[f64]) -> DVector<f64> {
    DVector::from_vec(v.to_vec())
}

fn gaussian(d: usize, rng: &mut StdRng) -> DVector<f64> {
    DVector::from_fn(d, |_, _| StandardNormal.sample(rng))
}

/// Points of the unit ℓp sphere: random directions rescaled to `‖v‖_p = 1`
/// (heavy-tailed and sparse ones too), plus the extreme points `±e_j` and
/// the sign vectors.
fn unit_lp_points(d: usize, p: f64, rng: &mut StdRng) -> Vec<DVector<f64>> {
    let mut points = Vec::new();
    for i in 0..3000 {
        let mut g = gaussian(d, rng);
        if i % 3 == 1 {
            g = g.map(|x| x * x * x); // pushes mass toward the axes
        } else if i % 3 == 2 {
            g = g.map(|x| x.signum() * x.abs().sqrt()); // toward the diagonals
        }
        let n = lp_norm(&g, p);
        if n > 0.0 {
            points.push(g / n);
        }
    }
    for j in 0..d {
        for s in [1.0, -1.0] {
            let mut e = DVector::zeros(d);
            e[j] = s;
            points.push(e.clone() / lp_norm(&e, p));
        }
    }
    for mask in 0..(1usize << d.min(6)) {
        let v = DVector::from_fn(d, |j, _| if (mask >> j) & 1 == 1 { 1.0 } else { -1.0 });
        points.push(v.clone() / lp_norm(&v, p));
    }
    points
}

proptest! {
    /// ℓp dual norms, for p ∈ {1, 1.5, 2, 3, ∞}: no point of the unit ℓp
    /// sphere beats `σ = ‖w‖_q`, the steepest direction is feasible and
    /// attains it, and the best sampled point comes close (so σ is not an
    /// overestimate that happens to be attained by an infeasible v*).
    #[test]
    fn lp_support_and_steepest_direction_by_brute_force(
        w in (1usize..=5).prop_flat_map(vector),
        p in prop::sample::select(vec![1.0, 1.5, 2.0, 3.0, f64::INFINITY]),
        seed in any::<u64>(),
    ) {
        let threat = Threat::lp(p).unwrap();
        let support = threat.support(&w);
        // Against the dual-norm formula written out.
        let by_hand = lp_norm(&w, conjugate(p));
        prop_assert!((support - by_hand).abs() <= tol::CLOSED_FORM * by_hand);
        let v = threat.steepest(&w).unwrap();
        prop_assert!(lp_norm(&v, p) <= 1.0 + tol::CLOSED_FORM, "‖v*‖_p = {}", lp_norm(&v, p));
        prop_assert!((w.dot(&v) - support).abs() <= tol::CLOSED_FORM * support);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut best = f64::NEG_INFINITY;
        for u in unit_lp_points(w.len(), p, &mut rng) {
            let value = w.dot(&u);
            prop_assert!(value <= support * (1.0 + tol::CLOSED_FORM), "{value} beats σ = {support}");
            best = best.max(value);
        }
        // In d ≤ 5 the samples (with the vertices and sign vectors, which are
        // optimal for p = 1 and p = ∞) get within a few percent of σ.
        prop_assert!(best >= 0.9 * support, "best sample {best} vs σ = {support}");
    }

    /// Every other row of the table: no point of `K` (mapped from the unit
    /// latent sphere through a factor built by hand, or a part of a union)
    /// beats `σ_K(w)`; the steepest direction lies in `K` (gauge ≤ 1) and
    /// attains `σ_K(w)`, which equals the by-hand support.
    #[test]
    fn table_supports_and_steepest_directions_by_brute_force(
        (cov, case) in covariance_and_threat(),
        seed in any::<u64>(),
    ) {
        let threat = case.build(&cov);
        prop_assume!(threat.is_ok());
        let threat = threat.unwrap();
        let d = cov.dim();
        let mut rng = StdRng::seed_from_u64(seed);
        let w = gaussian(d, &mut rng);
        let support = threat.support(&w);
        let by_hand = case.support_by_hand(&cov, &w);
        match threat.steepest(&w) {
            None => prop_assert_eq!(support, 0.0),
            Some(v) => {
                // σ = wᵀv* is computed to ~ε‖w‖‖v*‖, i.e. relative error
                // ε·‖w‖‖v*‖/σ: large when w is nearly orthogonal to K's
                // directions (e.g. an off-manifold body and on-manifold w).
                let condition = (w.norm() * v.norm() / support).max(1.0);
                let tolerance = tol::CLOSED_FORM * condition;
                prop_assert!((support - by_hand).abs() <= tolerance * by_hand, "{support} vs {by_hand}");
                prop_assert!((w.dot(&v) - support).abs() <= tolerance * support);
                let gauge = case.gauge(&cov, &v);
                prop_assert!(gauge <= 1.0 + case.gauge_tolerance(), "gauge(v*) = {gauge}");
            }
        }
        // Sampled points of K.
        let parts: Vec<(ThreatCase, f64)> = match &case {
            ThreatCase::Union(parts) => parts.clone(),
            other => vec![(other.clone(), 1.0)],
        };
        for (part, budget) in parts {
            let samples: Vec<DVector<f64>> = match part.factor(&cov) {
                Some(a) => (0..500)
                    .map(|_| {
                        let u = gaussian(a.ncols(), &mut rng);
                        &a * (&u / u.norm())
                    })
                    .collect(),
                None => {
                    let ThreatCase::Lp(p) = part else { unreachable!() };
                    unit_lp_points(d, p, &mut rng)
                }
            };
            for v in samples {
                let value = budget * w.dot(&v);
                prop_assert!(value <= support * (1.0 + tol::CLOSED_FORM) + 1e-300);
            }
        }
    }
}

/// `Σ → QΣQᵀ` for each representation (a spiked covariance keeps its
/// structure with the basis `QU_k`).
fn rotate_covariance(cov: &Covariance, q: &DMatrix<f64>) -> Covariance {
    match cov.representation() {
        Representation::Spiked { rank } => {
            let basis = q * cov.leading_basis(rank).unwrap();
            let values = cov.eigenvalues().rows(0, rank).into_owned();
            let noise = cov.eigenvalues()[rank];
            Covariance::spiked(basis, values, noise).unwrap()
        }
        _ => {
            let sigma = q * cov.to_dense() * q.transpose();
            Covariance::dense((&sigma + sigma.transpose()) * 0.5).unwrap()
        }
    }
}

/// A signed permutation matrix from a seed.
fn signed_permutation(d: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..d).collect();
    for i in (1..d).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let mut p = DMatrix::zeros(d, d);
    for (i, &j) in order.iter().enumerate() {
        p[(i, j)] = if rng.random::<bool>() { 1.0 } else { -1.0 };
    }
    p
}

/// The threat of `case` for the model rotated by `q` (factors map to `QA`).
fn rotated_case(case: &ThreatCase, q: &DMatrix<f64>) -> ThreatCase {
    match case {
        ThreatCase::Ellipsoid(a) => ThreatCase::Ellipsoid(q * a),
        ThreatCase::Union(parts) => ThreatCase::Union(
            parts
                .iter()
                .map(|(c, b)| (rotated_case(c, q), *b))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Sums of shares over clusters of eigenvalues separated by gaps of at
/// most `1e-4 · λ₁` (one entry per cluster, the rest zero).
fn cluster_sums(shares: &DVector<f64>, values: &DVector<f64>) -> DVector<f64> {
    let mut out = DVector::zeros(shares.len());
    let mut cluster = 0;
    for i in 0..shares.len() {
        if i > 0 && values[i - 1] - values[i] > 1e-4 * values[0] {
            cluster = i;
        }
        out[cluster] += shares[i];
    }
    out
}

/// `λ₁/(λ_k − λ_{k+1})` for threats that cut the spectrum at `k`, else 1.
fn cut_condition(cov: &Covariance, case: &ThreatCase) -> f64 {
    let k = match case {
        ThreatCase::GenerativeRank(k) | ThreatCase::Eigenspace(k) | ThreatCase::OffManifold(k) => {
            *k
        }
        _ => return 1.0,
    };
    let values = cov.full_spectrum();
    if k >= values.len() {
        return 1.0;
    }
    values[0] / (values[k - 1] - values[k])
}

/// Attacks `x` under a model and under its image by the orthogonal map `q`;
/// checks `δ' = Qδ`, equal budgets, equal energy profiles and equal robust
/// errors and mean distances.
fn check_equivariance(
    gmm: &Gmm,
    w: &DVector<f64>,
    case: &ThreatCase,
    q: &DMatrix<f64>,
    x: &DVector<f64>,
) -> Result<(), TestCaseError> {
    let cov = gmm.covariance();
    let rotated_cov = rotate_covariance(cov, q);
    let rotated_gmm = Gmm::new(
        q * gmm.mean(Label::Pos),
        q * gmm.mean(Label::Neg),
        rotated_cov.clone(),
        gmm.prior_pos(),
    )
    .unwrap();
    let (Ok(threat), Ok(rotated_threat)) =
        (case.build(cov), rotated_case(case, q).build(&rotated_cov))
    else {
        return Ok(()); // an ambiguous eigenspace in both or neither
    };
    // A top-k cut is as well conditioned as its eigen-gap: the computed
    // subspace moves by ~ε λ₁/(λ_k − λ_{k+1}) (Davis–Kahan).
    let tolerance = tol::IDENTITY + 1e3 * f64::EPSILON * cut_condition(cov, case);
    let clf = LinearClassifier::new(w.clone(), 0.1).unwrap();
    let rotated_clf = LinearClassifier::new(q * w, 0.1).unwrap();
    let y = Label::Pos;
    let before = minimal_perturbation(&clf, &threat, x, y).unwrap();
    let after = minimal_perturbation(&rotated_clf, &rotated_threat, &(q * x), y).unwrap();
    match (&before, &after) {
        (
            Perturbation::Flip {
                delta: d0,
                budget: t0,
                ..
            },
            Perturbation::Flip {
                delta: d1,
                budget: t1,
                ..
            },
        ) => {
            prop_assert!((t0 - t1).abs() <= tolerance * t0, "budgets {t0} vs {t1}");
            prop_assert!((q * d0 - d1).norm() <= tolerance * d0.norm());
            let p0 = energy_profile(cov, d0).unwrap();
            let p1 = energy_profile(&rotated_cov, d1).unwrap();
            // Per-direction shares are basis-dependent inside a cluster of
            // (nearly) equal eigenvalues; their sums per cluster are not.
            // Eigenvectors across a gap g move by ~ε‖Σ‖/g, so clusters are
            // cut at gaps above 1e-4·λ₁ (≤ 1e-12 error).
            let s0 = cluster_sums(p0.shares(), p0.eigenvalues());
            let s1 = cluster_sums(p1.shares(), p1.eigenvalues());
            prop_assert!((s0 - s1).amax() <= tol::IDENTITY);
            prop_assert!((p0.variance() - p1.variance()).abs() <= tol::IDENTITY * p0.variance());
        }
        (a, b) => prop_assert_eq!(a.budget(), b.budget()),
    }
    let re0 = gmm.robust_error(&clf, &threat, 0.3).unwrap();
    let re1 = rotated_gmm
        .robust_error(&rotated_clf, &rotated_threat, 0.3)
        .unwrap();
    prop_assert!((re0 - re1).abs() <= tolerance * re0.max(1e-300));
    let m0 = gmm.mean_adversarial_distance(&clf, &threat).unwrap();
    let m1 = rotated_gmm
        .mean_adversarial_distance(&rotated_clf, &rotated_threat)
        .unwrap();
    prop_assert!(
        m0 == m1 || (m0 - m1).abs() <= tolerance * m0,
        "{m0} vs {m1}"
    );
    Ok(())
}

proptest! {
    /// P8: rotations map ℓ2 and every ellipsoidal threat (generative,
    /// rank-k, eigenspace, off-manifold, general factors) equivariantly.
    #[test]
    fn p8_rotation_equivariance_of_l2_and_ellipsoidal_threats(
        (gmm, w) in model_and_weights(),
        k_fraction in 0.0f64..1.0,
        m in 1usize..4,
        seed in any::<u64>(),
    ) {
        let d = gmm.dim();
        let q = seeded_rotation(d, seed);
        let x = gmm.mean(Label::Pos) * 2.0 + DVector::from_fn(d, |i, _| (i as f64).cos());
        let explicit = gmm.covariance().explicit_directions();
        let k = (1 + (explicit as f64 * k_fraction) as usize).min(explicit);
        let factor = DMatrix::from_fn(d, m, |i, j| ((i * 7 + j * 3 + 1) as f64).sin());
        for case in [
            ThreatCase::Lp(2.0),
            ThreatCase::Generative,
            ThreatCase::GenerativeRank(k),
            ThreatCase::Eigenspace(k),
            ThreatCase::OffManifold(k),
            ThreatCase::Ellipsoid(factor),
        ] {
            check_equivariance(&gmm, &w, &case, &q, &x)?;
        }
    }

    /// P8: ℓ∞ and ℓ1 (and every ℓp) are equivariant under signed
    /// permutations.
    #[test]
    fn p8_signed_permutation_equivariance_of_linf_and_l1(
        (gmm, w) in model_and_weights(),
        seed in any::<u64>(),
    ) {
        let d = gmm.dim();
        let q = signed_permutation(d, seed);
        let x = gmm.mean(Label::Pos) * 2.0 + DVector::from_fn(d, |i, _| (i as f64).cos());
        for p in [f64::INFINITY, 1.0, 3.0] {
            check_equivariance(&gmm, &w, &ThreatCase::Lp(p), &q, &x)?;
        }
    }

    /// P8 scaling: `(μ, Σ, x) → (cμ, c²Σ, cx)` multiplies input-space
    /// budgets by `c` and leaves latent (generative) budgets unchanged.
    #[test]
    fn p8_scaling_multiplies_input_budgets_and_keeps_latent_ones(
        (gmm, w) in model_and_weights(),
        c in 0.1f64..10.0,
    ) {
        let d = gmm.dim();
        let cov = gmm.covariance();
        // Σ → c²Σ: scale the dense matrix (spiked via its parts).
        let scaled_cov = match cov.representation() {
            Representation::Spiked { rank } => Covariance::spiked(
                cov.leading_basis(rank).unwrap(),
                cov.eigenvalues().rows(0, rank) * (c * c),
                cov.eigenvalues()[rank] * c * c,
            ).unwrap(),
            _ => Covariance::dense(cov.to_dense() * (c * c)).unwrap(),
        };
        let x = gmm.mean(Label::Pos) * 2.0 + DVector::from_fn(d, |i, _| (i as f64).cos());
        // The classifier is the same decision rule in scaled coordinates: w, c·b.
        let clf = LinearClassifier::new(w.clone(), 0.1).unwrap();
        let scaled_clf = LinearClassifier::new(w.clone(), 0.1 * c).unwrap();
        for (threat, scaled_threat, factor) in [
            (Threat::l2(), Threat::l2(), c),
            (Threat::linf(), Threat::linf(), c),
            (Threat::generative(cov), Threat::generative(&scaled_cov), 1.0),
        ] {
            let t0 = minimal_perturbation(&clf, &threat, &x, Label::Pos).unwrap().budget();
            let t1 = minimal_perturbation(&scaled_clf, &scaled_threat, &(&x * c), Label::Pos)
                .unwrap()
                .budget();
            // Unreachable (t = ∞) must stay unreachable; every finite
            // budget scales by the factor (0 for a misclassified point).
            if t0.is_infinite() {
                prop_assert!(t1.is_infinite(), "{threat}: ∞ became {t1}");
            } else {
                prop_assert!(
                    (t1 - factor * t0).abs() <= tol::IDENTITY * t1.max(1e-300),
                    "{threat}: {t1} vs {factor}·{t0}"
                );
            }
        }
    }
}

/// ℓ∞ and ℓ1 are not rotation invariant: rotating `w = (1, 0)` by 45°
/// changes the ℓ∞ support from 1 to √2 and the ℓ1 support from 1 to 1/√2,
/// and with them the minimal budgets of corresponding points.
#[test]
fn p8_linf_and_l1_are_not_rotation_invariant() {
    let h = std::f64::consts::FRAC_1_SQRT_2;
    let q = DMatrix::from_row_slice(2, 2, &[h, -h, h, h]);
    let clf = LinearClassifier::new(vec(&[1.0, 0.0]), 0.0).unwrap();
    let rotated = LinearClassifier::new(&q * vec(&[1.0, 0.0]), 0.0).unwrap();
    let x = vec(&[1.0, 0.5]);
    let qx = &q * &x;
    for (threat, ratio) in [(Threat::linf(), 2f64.sqrt()), (Threat::l1(), h)] {
        let t0 = minimal_perturbation(&clf, &threat, &x, Label::Pos)
            .unwrap()
            .budget();
        let t1 = minimal_perturbation(&rotated, &threat, &qx, Label::Pos)
            .unwrap()
            .budget();
        assert_eq!(t0, 1.0);
        // Margin 1 in both; the budget is 1/σ, so it changes by 1/ratio.
        assert!((t1 - 1.0 / ratio).abs() < 1e-15, "{threat}: {t1}");
    }
    // ℓ2 does not notice the rotation.
    let t0 = minimal_perturbation(&clf, &Threat::l2(), &x, Label::Pos)
        .unwrap()
        .budget();
    let t1 = minimal_perturbation(&rotated, &Threat::l2(), &qx, Label::Pos)
        .unwrap()
        .budget();
    assert!((t0 - t1).abs() < 1e-15);
}
