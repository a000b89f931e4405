//! THEORY §4: minimal perturbations are exact for every threat of the §3
//! table, batches agree with single points, known values worked by hand,
//! and bad input gets a typed error.

use crate::common::{ByHand, ThreatCase, covariance_and_threat, tol, vector};
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::{
    AttackOptions, Covariance, Error, Label, LinearClassifier, Perturbation, Threat,
    energy_profile, minimal_perturbation, minimal_perturbation_with, minimal_perturbations,
    minimal_perturbations_with,
};
use proptest::prelude::*;

/// A random covariance, threat case, classifier `(w, b)`, point and label.
fn attack_case() -> impl Strategy<
    Value = (
        Covariance,
        ThreatCase,
        DVector<f64>,
        f64,
        DVector<f64>,
        Label,
    ),
> {
    covariance_and_threat().prop_flat_map(|(cov, case)| {
        let d = cov.dim();
        (
            Just(cov),
            Just(case),
            vector(d),
            -1.0f64..1.0,
            vector(d),
            prop::bool::ANY.prop_map(|b| if b { Label::Pos } else { Label::Neg }),
        )
    })
}

/// `Σ_i abs(w_i x_i) + abs(b)`: the size of the terms that make up a score,
/// against which the rounding of `wᵀx + b` is measured.
fn score_scale(clf: &LinearClassifier, x: &DVector<f64>) -> f64 {
    clf.weights().component_mul(x).abs().sum() + clf.bias().abs()
}

/// `‖w‖₂`, to size probing steps when the threat cannot reach the point.
fn w_scale(clf: &LinearClassifier) -> f64 {
    clf.weights().norm()
}

fn vec(v: &[f64]) -> DVector<f64> {
    DVector::from_vec(v.to_vec())
}

proptest! {
    /// §4 exactness: `x + δ` is on the boundary, `δ ∈ t*K` with the gauge
    /// attained, and `t* σ_K(w) = m`, so no budget below `t*` can flip
    /// (any `δ' ∈ tK` moves the score by at most `tσ_K(w) < m`; σ is checked
    /// against brute force in `tests/invariances_threats.rs`).
    #[test]
    fn attack_lands_on_the_boundary_with_the_minimal_budget(
        (cov, case, w, b, x, y) in attack_case()
    ) {
        let threat = case.build(&cov);
        prop_assume!(!matches!(threat, Err(Error::AmbiguousEigenspace { .. })));
        let threat = threat.unwrap();
        let clf = LinearClassifier::new(w.clone(), b).unwrap();
        let margin = clf.margin(&x, y);
        let support = case.support_by_hand(&cov, &w);
        match minimal_perturbation(&clf, &threat, &x, y).unwrap() {
            Perturbation::Misclassified => prop_assert!(margin <= 0.0),
            Perturbation::Unreachable => {
                prop_assert!(margin > 0.0);
                // The crate snaps supports below 1e-12‖w‖·radius to zero.
                prop_assert!(support <= 1e-9 * w.norm(), "support {support:e}");
            }
            Perturbation::Flip { delta, budget, latent } => {
                prop_assert!(margin > 0.0);
                let moved = &x + &delta;
                // (CLOSED_FORM: the score of x + δ is a sum of d + 1 terms
                // of size ≤ score_scale; rounding is a few ulps of that.)
                prop_assert!(
                    clf.score(&moved).abs() <= tol::CLOSED_FORM * score_scale(&clf, &moved),
                    "score after attack {:e}", clf.score(&moved)
                );
                // The budget attains the margin: t* σ_K(w) = m. (σ_K(w) = wᵀv*
                // carries a relative error ~ε‖w‖‖v*‖/σ, see
                // tests/invariances_threats.rs; δ/t* is ±v*.)
                let condition = (w.norm() * delta.norm() / budget / support).max(1.0);
                prop_assert!(
                    (budget * support - margin).abs() <= tol::CLOSED_FORM * condition * margin,
                    "t*σ = {:e}, m = {:e}", budget * support, margin
                );
                // δ lies on the boundary of t*K.
                let gauge = case.gauge(&cov, &delta);
                prop_assert!(
                    (gauge - budget).abs() <= case.gauge_tolerance() * budget,
                    "gauge {gauge:e} vs budget {budget:e}"
                );
                // Latent steps exist exactly for the ellipsoids with a factor
                // (not ℓ2, not unions), have norm t*, and map to δ.
                let latent_threat = matches!(
                    case,
                    ThreatCase::Generative
                        | ThreatCase::GenerativeRank(_)
                        | ThreatCase::Eigenspace(_)
                        | ThreatCase::OffManifold(_)
                        | ThreatCase::Ellipsoid(_)
                );
                prop_assert_eq!(latent.is_some(), latent_threat);
                if let Some(u) = latent {
                    prop_assert!((u.norm() - budget).abs() <= tol::IDENTITY * budget);
                    if let ThreatCase::Ellipsoid(a) = &case {
                        prop_assert!((a * &u - &delta).norm() <= tol::IDENTITY * delta.norm().max(budget));
                    }
                }
            }
        }
    }

    /// Random steps strictly inside `t*K` never flip the point.
    #[test]
    fn no_smaller_budget_flips((cov, case, w, b, x, _y) in attack_case(), seed in any::<u64>()) {
        use rand::{rngs::StdRng, SeedableRng};
        use rand_distr::{Distribution, StandardNormal};
        let threat = case.build(&cov);
        prop_assume!(threat.is_ok());
        let threat = threat.unwrap();
        let clf = LinearClassifier::new(w, b).unwrap();
        // Label the point as the classifier does, so it is correctly
        // classified and the attack has something to prove (a random label
        // made half the cases `Misclassified`, which checked nothing).
        prop_assume!(clf.score(&x) != 0.0);
        let y = clf.predict(&x);
        // Unreachable: no step of any size moves the score (σ_K(w) = 0), so
        // probe with large steps; a flip: steps of 99.99% of t*.
        let budget = match minimal_perturbation(&clf, &threat, &x, y).unwrap() {
            Perturbation::Flip { budget, .. } => budget,
            Perturbation::Unreachable => 1e6 * clf.margin(&x, y) / w_scale(&clf),
            Perturbation::Misclassified => {
                return Err(TestCaseError::fail("a correctly classified point was called misclassified"));
            }
        };
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..200 {
            let g = DVector::from_fn(cov.dim(), |_, _| StandardNormal.sample(&mut rng));
            let gauge = case.gauge(&cov, &g);
            if !gauge.is_finite() || gauge == 0.0 {
                continue; // outside a degenerate body's span
            }
            // Scale to 99.99% of the minimal budget, both signs.
            let step = &g * (0.9999 * budget / gauge);
            for s in [1.0, -1.0] {
                let m = clf.margin(&(&x + &step * s), y);
                prop_assert!(m > 0.0, "a smaller budget flipped: margin {m:e}");
            }
        }
    }

    /// The batch form agrees with the single-point attack, row by row.
    #[test]
    fn batch_agrees_with_single_points(
        (cov, case, w, b, _x, _y) in attack_case(),
        seed in any::<u64>(),
        overshoot in prop::sample::select(vec![0.0, 1e-3]),
    ) {
        use rand::{rngs::StdRng, SeedableRng};
        use rand_distr::{Distribution, StandardNormal};
        let threat = case.build(&cov);
        prop_assume!(threat.is_ok());
        let threat = threat.unwrap();
        let clf = LinearClassifier::new(w.clone(), b).unwrap();
        let d = cov.dim();
        let n = 12;
        let mut rng = StdRng::seed_from_u64(seed);
        let xs = DMatrix::from_fn(n, d, |_, _| StandardNormal.sample(&mut rng));
        let ys: Vec<Label> = (0..n).map(|i| if i % 3 == 0 { Label::Neg } else { Label::Pos }).collect();
        let options = AttackOptions::default().with_overshoot(overshoot);
        let batch = minimal_perturbations_with(&clf, &threat, &xs, &ys, &options).unwrap();
        prop_assert_eq!(batch.len(), n);
        let deltas = batch.deltas();
        prop_assert_eq!(deltas.shape(), (n, d));
        let mut counted = [0usize; 3];
        for (i, &y) in ys.iter().enumerate() {
            let x = xs.row(i).transpose();
            let single = minimal_perturbation_with(&clf, &threat, &x, y, &options).unwrap();
            let from_batch = batch.perturbation(i);
            match (&single, &from_batch) {
                (Perturbation::Misclassified, Perturbation::Misclassified) => {
                    counted[0] += 1;
                    prop_assert_eq!(batch.budgets()[i], 0.0);
                    prop_assert_eq!(batch.delta(i).norm(), 0.0);
                }
                (Perturbation::Unreachable, Perturbation::Unreachable) => {
                    counted[1] += 1;
                    prop_assert_eq!(batch.budgets()[i], f64::INFINITY);
                    prop_assert_eq!(batch.delta(i).norm(), 0.0);
                }
                (
                    Perturbation::Flip { delta, budget, latent },
                    Perturbation::Flip { delta: bd, budget: bb, latent: bl },
                ) => {
                    counted[2] += 1;
                    // Margins differ only in summation order (gemv vs dot).
                    let scale = score_scale(&clf, &x) / batch.support();
                    prop_assert!((budget - bb).abs() <= tol::CLOSED_FORM * scale);
                    prop_assert_eq!(batch.budgets()[i], *bb);
                    let tolerance = tol::CLOSED_FORM * scale * (1.0 + delta.norm() / budget);
                    prop_assert!((delta - bd).norm() <= tolerance);
                    prop_assert!((deltas.row(i).transpose() - bd).norm() <= tolerance);
                    prop_assert!((batch.delta(i) - bd).norm() == 0.0);
                    prop_assert_eq!(latent.is_some(), bl.is_some());
                    if let (Some(u), Some(v)) = (latent, bl) {
                        prop_assert!((u - v).norm() <= tolerance * (1.0 + u.norm() / delta.norm()));
                    }
                    // Every flip is a multiple of the shared direction: the
                    // step is formed as (m/σ̂)·(v*/2^k), σ̂ = σ/2^k (so that it
                    // cannot underflow), two roundings per entry from c_i v*.
                    let v = batch.direction().unwrap();
                    prop_assert!((bd - v * batch.step(i)).norm() <= 4.0 * f64::EPSILON * bd.norm());
                }
                (a, b) => prop_assert!(false, "single {:?} vs batch {:?}", a, b),
            }
        }
        prop_assert_eq!(counted, [batch.misclassified(), batch.unreachable(), batch.flipped()]);
        prop_assert_eq!(batch.direction().cloned(), threat.steepest(&w));
        prop_assert_eq!(
            batch.latent_direction().cloned(),
            threat.latent_steepest(&w).unwrap()
        );
    }

    /// Overshoot moves the point strictly across: score `−y m o`.
    #[test]
    fn overshoot_crosses_the_boundary(
        (cov, case, w, b, x, y) in attack_case(),
        overshoot in 1e-6f64..1.0,
    ) {
        let threat = case.build(&cov);
        prop_assume!(threat.is_ok());
        let threat = threat.unwrap();
        let clf = LinearClassifier::new(w, b).unwrap();
        let options = AttackOptions::default().with_overshoot(overshoot);
        let exact = minimal_perturbation(&clf, &threat, &x, y).unwrap();
        let over = minimal_perturbation_with(&clf, &threat, &x, y, &options).unwrap();
        prop_assert_eq!(exact.budget(), over.budget());
        if let Perturbation::Flip { delta, .. } = &over {
            let margin = clf.margin(&x, y);
            let moved = &x + delta;
            let expected = -y.sign() * margin * overshoot;
            let rounding = tol::CLOSED_FORM * score_scale(&clf, &moved);
            prop_assert!((clf.score(&moved) - expected).abs() <= rounding);
            if margin * overshoot > 2.0 * rounding {
                prop_assert_eq!(clf.predict(&moved), y.flip());
            }
        }
    }
}

/// Σ = I in d = 2, w = (3, −4), b = 1, x = (2, 0) with margin 7, worked
/// by hand for each row of the table.
#[test]
fn axis_aligned_values_by_hand() {
    let clf = LinearClassifier::new(vec(&[3.0, -4.0]), 1.0).unwrap();
    let x = vec(&[2.0, 0.0]);
    let close = |a: &DVector<f64>, b: &[f64]| (a - vec(b)).amax() < 1e-15;

    // ℓ2: σ = 5, t* = 7/5, δ = −1.4 (0.6, −0.8).
    let p = minimal_perturbation(&clf, &Threat::l2(), &x, Label::Pos).unwrap();
    assert!((p.budget() - 1.4).abs() < 1e-15);
    assert!(close(p.delta().unwrap(), &[-0.84, 1.12]));
    assert!(p.latent().is_none());
    // ℓ∞: σ = 7, t* = 1, δ = −(1, −1).
    let p = minimal_perturbation(&clf, &Threat::linf(), &x, Label::Pos).unwrap();
    assert_eq!(p.budget(), 1.0);
    assert!(close(p.delta().unwrap(), &[-1.0, 1.0]));
    // ℓ1: σ = 4, t* = 7/4, δ = 1.75 e₂ (the largest |w_j| is j = 2).
    let p = minimal_perturbation(&clf, &Threat::l1(), &x, Label::Pos).unwrap();
    assert_eq!(p.budget(), 1.75);
    assert!(close(p.delta().unwrap(), &[0.0, 1.75]));
    // As a negative point the margin is −7: already misclassified.
    let p = minimal_perturbation(&clf, &Threat::l2(), &x, Label::Neg).unwrap();
    assert_eq!(p, Perturbation::Misclassified);
    assert_eq!(p.budget(), 0.0);

    // Generative with Σ = diag(4, 1): σ = √(4·9 + 16) = √52, t* = 7/√52,
    // δ = −(7/52) Σw = −(7/52)(12, −4); latent u = −(7/52) Aᵀw = −(7/52)(6, −4)
    // (latent coordinates in descending variance: the variance-4 axis first).
    let cov = Covariance::diagonal(vec(&[4.0, 1.0])).unwrap();
    let p = minimal_perturbation(&clf, &Threat::generative(&cov), &x, Label::Pos).unwrap();
    assert!((p.budget() - 7.0 / 52f64.sqrt()).abs() < 1e-15);
    assert!(close(p.delta().unwrap(), &[-84.0 / 52.0, 28.0 / 52.0]));
    assert!(close(p.latent().unwrap(), &[-42.0 / 52.0, 28.0 / 52.0]));
    // Generative rank 1: only the variance-4 axis, σ = 2·3 = 6, t* = 7/6,
    // δ = −(7/6)(4·3/6) e₁ = (−7/3, 0).
    let g1 = Threat::generative_rank(&cov, 1).unwrap();
    let p = minimal_perturbation(&clf, &g1, &x, Label::Pos).unwrap();
    assert!((p.budget() - 7.0 / 6.0).abs() < 1e-15);
    assert!(close(p.delta().unwrap(), &[-7.0 / 3.0, 0.0]));
    assert!(close(p.latent().unwrap(), &[-7.0 / 6.0]));
    // Off-manifold (k = 1): only the variance-1 axis, σ = 4, t* = 7/4.
    let off = Threat::off_manifold(&cov, 1).unwrap();
    let p = minimal_perturbation(&clf, &off, &x, Label::Pos).unwrap();
    assert!(close(p.delta().unwrap(), &[0.0, 1.75]));
    // Union of 2·ℓ2 and ℓ∞: max(10, 7) = 10, so the ℓ2 part acts with t* = 0.7.
    let union = Threat::union(vec![(Threat::l2(), 2.0), (Threat::linf(), 1.0)]).unwrap();
    let p = minimal_perturbation(&clf, &union, &x, Label::Pos).unwrap();
    assert!((p.budget() - 0.7).abs() < 1e-15);
    assert!(close(p.delta().unwrap(), &[-0.84, 1.12]));
}

/// An eigenspace orthogonal to `w` cannot flip anything: a typed outcome,
/// infinite budgets in a batch, and no direction.
#[test]
fn eigenspace_orthogonal_to_the_weights_is_unreachable() {
    let cov = Covariance::diagonal(vec(&[4.0, 1.0, 0.5])).unwrap();
    let threat = Threat::eigenspace(&cov, 1).unwrap(); // the first axis only
    let clf = LinearClassifier::new(vec(&[0.0, 1.0, 1.0]), 0.0).unwrap();
    let x = vec(&[5.0, 1.0, 1.0]);
    assert_eq!(
        minimal_perturbation(&clf, &threat, &x, Label::Pos).unwrap(),
        Perturbation::Unreachable
    );
    assert_eq!(
        minimal_perturbation(&clf, &threat, &x, Label::Neg).unwrap(),
        Perturbation::Misclassified
    );
    let xs = DMatrix::from_row_slice(2, 3, &[5.0, 1.0, 1.0, 5.0, 1.0, 1.0]);
    let batch = minimal_perturbations(&clf, &threat, &xs, &[Label::Pos, Label::Neg]).unwrap();
    assert_eq!(batch.budgets().as_slice(), &[f64::INFINITY, 0.0]);
    assert!(batch.direction().is_none());
    assert_eq!(batch.deltas(), DMatrix::zeros(2, 3));
    assert_eq!(batch.unreachable(), 1);
    assert_eq!(batch.misclassified(), 1);
    assert!(batch.mean_energy_profile(&cov).unwrap().is_none());
    // The off-manifold body of the full rank d is {0}: nothing is reachable.
    let nothing = Threat::off_manifold(&cov, 3).unwrap();
    assert_eq!(
        minimal_perturbation(&clf, &nothing, &x, Label::Pos).unwrap(),
        Perturbation::Unreachable
    );
}

/// The batch's mean energy profile is the profile of `v*`, equal to the
/// literal average over the flipped points.
#[test]
fn batch_mean_energy_profile_is_the_profile_of_the_direction() {
    let gmm = manifold_robustness::default_model();
    let clf = gmm.bayes_classifier();
    let threat = Threat::l2();
    let xs = DMatrix::from_fn(30, 64, |i, j| ((i * 64 + j) as f64 * 0.37).sin());
    let ys: Vec<Label> = (0..30)
        .map(|i| if i % 2 == 0 { Label::Pos } else { Label::Neg })
        .collect();
    let batch = minimal_perturbations(&clf, &threat, &xs, &ys).unwrap();
    assert!(batch.flipped() > 5);
    let mean = batch
        .mean_energy_profile(gmm.covariance())
        .unwrap()
        .unwrap();
    let mut literal = DVector::zeros(64);
    for i in (0..30).filter(|&i| batch.is_flip(i)) {
        literal += energy_profile(gmm.covariance(), &batch.delta(i))
            .unwrap()
            .shares();
    }
    literal /= batch.flipped() as f64;
    assert!((literal - mean.shares()).amax() < tol::IDENTITY);
}

#[test]
fn bad_input_gets_typed_errors() {
    let clf = LinearClassifier::new(vec(&[1.0, 2.0]), 0.0).unwrap();
    let cov3 = Covariance::isotropic(3, 1.0).unwrap();
    let l2 = Threat::l2();
    let x = vec(&[1.0, 1.0]);
    // Point of the wrong dimension, non-finite point.
    assert!(matches!(
        minimal_perturbation(&clf, &l2, &vec(&[1.0, 1.0, 1.0]), Label::Pos),
        Err(Error::DimensionMismatch {
            name: "point",
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(
        minimal_perturbation(&clf, &l2, &vec(&[1.0, f64::NAN]), Label::Pos),
        Err(Error::NonFiniteEntry {
            name: "point",
            row: 1,
            column: None,
            ..
        })
    ));
    // A threat built for another dimension.
    assert!(matches!(
        minimal_perturbation(&clf, &Threat::generative(&cov3), &x, Label::Pos),
        Err(Error::DimensionMismatch {
            name: "threat",
            expected: 2,
            found: 3
        })
    ));
    // Overshoot must be finite and non-negative.
    for o in [-0.1, f64::NAN, f64::INFINITY] {
        let options = AttackOptions::default().with_overshoot(o);
        assert!(matches!(
            minimal_perturbation_with(&clf, &l2, &x, Label::Pos, &options),
            Err(Error::InvalidParameter {
                name: "overshoot",
                ..
            })
        ));
    }
    // Batches: columns, labels, non-finite entries, threat dimension.
    let xs = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 2.0, 0.0]);
    assert!(matches!(
        minimal_perturbations(&clf, &l2, &xs, &[Label::Pos]),
        Err(Error::DimensionMismatch {
            name: "labels",
            expected: 2,
            found: 1
        })
    ));
    assert!(matches!(
        minimal_perturbations(&clf, &l2, &DMatrix::zeros(2, 3), &[Label::Pos, Label::Pos]),
        Err(Error::DimensionMismatch {
            expected: 2,
            found: 3,
            ..
        })
    ));
    let mut bad = xs.clone();
    bad[(1, 1)] = f64::INFINITY;
    assert!(matches!(
        minimal_perturbations(&clf, &l2, &bad, &[Label::Pos, Label::Pos]),
        Err(Error::NonFiniteEntry {
            name: "points",
            row: 1,
            column: Some(1),
            ..
        })
    ));
    assert!(matches!(
        minimal_perturbations(
            &clf,
            &Threat::generative(&cov3),
            &xs,
            &[Label::Pos, Label::Pos]
        ),
        Err(Error::DimensionMismatch { name: "threat", .. })
    ));
    // A non-finite entry under a zero weight is still caught (0·NaN = NaN),
    // and finite points whose score overflows are named as such.
    let axis = LinearClassifier::new(vec(&[1.0, 0.0]), 0.0).unwrap();
    let mut hidden = xs.clone();
    hidden[(0, 1)] = f64::NAN;
    assert!(matches!(
        minimal_perturbations(&axis, &l2, &hidden, &[Label::Pos, Label::Pos]),
        Err(Error::NonFiniteEntry {
            name: "points",
            row: 0,
            column: Some(1),
            ..
        })
    ));
    // The score 3e308 of (1e308, 1e308) overflows, but the budget
    // 3e308/√5 does not: it is computed for w/2 = (0.5, 1).
    let huge = DMatrix::from_row_slice(1, 2, &[1e308, 1e308]);
    let expected = 1.5e308 / (1.25f64).sqrt();
    let batch = minimal_perturbations(&clf, &l2, &huge, &[Label::Pos]).unwrap();
    assert!((batch.budgets()[0] / expected - 1.0).abs() < 1e-15);
    let single = minimal_perturbation(&clf, &l2, &vec(&[1e308, 1e308]), Label::Pos).unwrap();
    assert!((single.budget() / expected - 1.0).abs() < 1e-15);
    // Entries at f64::MAX: even the normalized score overflows.
    let max = DMatrix::from_row_slice(1, 2, &[f64::MAX, f64::MAX]);
    assert!(matches!(
        minimal_perturbations(&clf, &l2, &max, &[Label::Pos]),
        Err(Error::NonFinite { name: "margins" })
    ));
    assert!(matches!(
        minimal_perturbation(&clf, &l2, &vec(&[f64::MAX, f64::MAX]), Label::Pos),
        Err(Error::NonFinite { name: "margins" })
    ));
    // An empty batch is fine.
    let empty = minimal_perturbations(&clf, &l2, &DMatrix::zeros(0, 2), &[]).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.deltas().shape(), (0, 2));

    // Threat constructors: k = 0 or k > d, p < 1, NaN p, a union of nothing,
    // non-finite factors, a non-positive relative budget.
    let cov = Covariance::diagonal(vec(&[3.0, 2.0, 1.0])).unwrap();
    for k in [0, 4] {
        assert!(matches!(
            Threat::generative_rank(&cov, k),
            Err(Error::InvalidRank { max: 3, .. })
        ));
        assert!(matches!(
            Threat::eigenspace(&cov, k),
            Err(Error::InvalidRank { max: 3, .. })
        ));
        assert!(matches!(
            Threat::off_manifold(&cov, k),
            Err(Error::InvalidRank { max: 3, .. })
        ));
    }
    for p in [0.0, 0.5, -1.0, f64::NAN, f64::NEG_INFINITY] {
        assert!(matches!(Threat::lp(p), Err(Error::InvalidNorm { .. })));
    }
    assert!(matches!(
        Threat::union(vec![]),
        Err(Error::Empty { name: "union" })
    ));
    assert!(matches!(
        Threat::union(vec![(Threat::l2(), 0.0)]),
        Err(Error::InvalidBudget { .. })
    ));
    assert!(matches!(
        Threat::union(vec![
            (Threat::generative(&cov), 1.0),
            (
                Threat::generative(&Covariance::isotropic(4, 1.0).unwrap()),
                1.0
            )
        ]),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        Threat::ellipsoid(DMatrix::from_row_slice(2, 1, &[1.0, f64::NAN])),
        Err(Error::NonFiniteEntry {
            name: "factor",
            row: 1,
            column: Some(0),
            ..
        })
    ));
    assert!(matches!(
        Threat::ellipsoid(DMatrix::zeros(2, 0)),
        Err(Error::Empty { .. })
    ));
    // Tied eigenvalues make the top-k eigenspace ambiguous.
    let tied = Covariance::diagonal(vec(&[2.0, 1.0, 1.0])).unwrap();
    assert!(matches!(
        Threat::eigenspace(&tied, 2),
        Err(Error::AmbiguousEigenspace { k: 2, .. })
    ));

    // Energy profiles: wrong dimension, non-finite, zero perturbation, bad k.
    assert!(matches!(
        energy_profile(&cov, &vec(&[1.0, 1.0])),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        energy_profile(&cov, &vec(&[1.0, f64::NAN, 0.0])),
        Err(Error::NonFiniteEntry {
            name: "delta",
            row: 1,
            ..
        })
    ));
    assert!(matches!(
        energy_profile(&cov, &DVector::zeros(3)),
        Err(Error::InvalidParameter { name: "delta", .. })
    ));
    let profile = energy_profile(&cov, &vec(&[1.0, 1.0, 1.0])).unwrap();
    assert!(matches!(
        profile.top_share(0),
        Err(Error::InvalidRank { k: 0, max: 3 })
    ));
    assert!(matches!(
        profile.top_share(4),
        Err(Error::InvalidRank { k: 4, max: 3 })
    ));
    // Spiked: a cut inside the noise block is ambiguous.
    let basis = DMatrix::from_row_slice(4, 1, &[1.0, 0.0, 0.0, 0.0]);
    let spiked = Covariance::spiked(basis, vec(&[5.0]), 1.0).unwrap();
    let profile = energy_profile(&spiked, &vec(&[1.0, 1.0, 1.0, 1.0])).unwrap();
    assert_eq!(profile.shares().as_slice(), &[0.25, 0.75]);
    assert_eq!(profile.top_share(1).unwrap(), 0.25);
    assert_eq!(profile.top_share(4).unwrap(), 1.0);
    assert!(matches!(
        profile.top_share(2),
        Err(Error::AmbiguousEigenspace { k: 2, .. })
    ));
    assert_eq!(profile.variance(), 0.25 * 5.0 + 0.75);
}

/// Energy profiles do not depend on the scale of δ, even at the edges of
/// the floating-point range.
#[test]
fn energy_profile_is_scale_free() {
    let cov = Covariance::diagonal(vec(&[3.0, 2.0, 1.0])).unwrap();
    let base = energy_profile(&cov, &vec(&[1.0, -2.0, 3.0])).unwrap();
    for scale in [1e-300, 1e-160, 1e160, 1e300] {
        let p = energy_profile(&cov, &(vec(&[1.0, -2.0, 3.0]) * scale)).unwrap();
        assert!((p.shares() - base.shares()).amax() < 1e-15);
    }
    // (1, 4, 9)/14 in the order of descending variance (axes 0, 1, 2).
    assert!((base.shares() - vec(&[1.0, 4.0, 9.0]) / 14.0).amax() < 1e-15);
    assert!((base.variance() - (3.0 + 8.0 + 9.0) / 14.0).abs() < 1e-15);
}
