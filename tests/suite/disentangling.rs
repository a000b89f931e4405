//! THEORY §5: where regular and generative attacks put their energy
//! (P1 for the Bayes classifier, P2 for every linear classifier).

use crate::common::{covariance, model_and_weights, symmetric_model, tol};
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::{
    Covariance, EnergyProfile, Gmm, Label, LinearClassifier, Perturbation, Threat,
    attack_energy_summary, energy_profile, minimal_perturbation,
};
use proptest::prelude::*;

/// Block energies of `v` in the covariance's eigenbasis, by hand from the
/// public eigen-coordinates: `(u_iᵀv)²`, then `‖(I − U_kU_kᵀ)v‖²` for spiked.
fn block_energies(cov: &Covariance, v: &DVector<f64>) -> DVector<f64> {
    cov.eigen_coordinates(v).unwrap().block_energies()
}

/// The distribution proportional to `weight_b · energy_b`.
fn normalized(weights: impl Fn(usize) -> f64, energies: &DVector<f64>) -> DVector<f64> {
    let raw = DVector::from_fn(energies.len(), |b, _| weights(b) * energies[b]);
    let total = raw.sum();
    raw / total
}

/// The ranks `k` at which a top-`k` share is defined: every `k ≤ k_e`, and `d`.
fn ranks(cov: &Covariance) -> Vec<usize> {
    let mut ks: Vec<usize> = (1..=cov.explicit_directions()).collect();
    if cov.explicit_directions() < cov.dim() {
        ks.push(cov.dim());
    }
    ks
}

/// The profile of the minimal perturbation of the class-`+` mean.
fn attack_profile(gmm: &Gmm, clf: &LinearClassifier, threat: &Threat) -> Option<EnergyProfile> {
    let x = gmm.mean(Label::Pos).clone() * 3.0 + DVector::from_element(gmm.dim(), 0.1);
    let y = clf.predict(&x);
    match minimal_perturbation(clf, threat, &x, y).unwrap() {
        Perturbation::Flip { delta, .. } => Some(energy_profile(gmm.covariance(), &delta).unwrap()),
        _ => None,
    }
}

/// The `k` at which the top-`k` shares differ most, and that difference.
fn largest_share_gap(cov: &Covariance, high: &EnergyProfile, low: &EnergyProfile) -> f64 {
    ranks(cov)
        .into_iter()
        .map(|k| high.top_share(k).unwrap() - low.top_share(k).unwrap())
        .fold(f64::NEG_INFINITY, f64::max)
}

proptest! {
    /// P1: for the Bayes classifier `e_i(regular ℓ2) ∝ μ̃_i²/λ_i²` and
    /// `e_i(generative) ∝ μ̃_i²`, on real attacked points.
    #[test]
    fn p1_bayes_attacks_follow_inverse_and_plain_mean_energy(gmm in symmetric_model()) {
        let cov = gmm.covariance();
        let clf = gmm.bayes_classifier();
        let mu_energy = block_energies(cov, &gmm.half_difference());
        let values = cov.eigenvalues().clone();
        let regular_expected = normalized(|b| 1.0 / (values[b] * values[b]), &mu_energy);
        let generative_expected = normalized(|_| 1.0, &mu_energy);
        let regular = attack_profile(&gmm, &clf, &Threat::l2()).unwrap();
        let generative = attack_profile(&gmm, &clf, &Threat::generative(cov)).unwrap();
        // Shares are in [0, 1]; Σ⁻¹ with condition ≤ 1e4 costs a few
        // thousand ulps at most (IDENTITY).
        prop_assert!((regular.shares() - &regular_expected).amax() < tol::IDENTITY);
        prop_assert!((generative.shares() - &generative_expected).amax() < tol::IDENTITY);
        // The regular attack is pulled toward small variance: its variance is
        // the 1/λ²-weighted mean of λ, below the μ̃²-weighted one.
        prop_assert!(regular.variance() <= generative.variance() * (1.0 + tol::IDENTITY));
    }

    /// P2: for every `w` and every `k`, `S_k(generative) ≥ S_k(regular ℓ2)`
    /// and `R(generative) ≥ R(regular)`; the shares follow `λ_i² w̃_i²` and
    /// `w̃_i²`, and the largest gap is their total-variation distance.
    #[test]
    fn p2_generative_energy_dominates_regular((gmm, w) in model_and_weights(), b in -1.0f64..1.0) {
        let cov = gmm.covariance();
        let clf = LinearClassifier::new(w.clone(), b).unwrap();
        let regular = attack_profile(&gmm, &clf, &Threat::l2()).unwrap();
        let generative = attack_profile(&gmm, &clf, &Threat::generative(cov)).unwrap();
        let energy = block_energies(cov, &w);
        let values = cov.eigenvalues().clone();
        let gen_expected = normalized(|b| values[b] * values[b], &energy);
        let reg_expected = normalized(|_| 1.0, &energy);
        prop_assert!((generative.shares() - &gen_expected).amax() < tol::IDENTITY);
        prop_assert!((regular.shares() - &reg_expected).amax() < tol::IDENTITY);
        for k in ranks(cov) {
            prop_assert!(
                generative.top_share(k).unwrap() >= regular.top_share(k).unwrap() - tol::IDENTITY,
                "k = {}: {} < {}", k, generative.top_share(k).unwrap(), regular.top_share(k).unwrap()
            );
        }
        prop_assert!(generative.variance() >= regular.variance() * (1.0 - tol::IDENTITY));
        // First-order dominance: the largest gap of the cumulative shares is
        // the total-variation distance ½ Σ |e_i(gen) − e_i(reg)|, because the
        // likelihood ratio λ_i²/Z crosses 1 once, in descending variance.
        let tv = 0.5 * (&gen_expected - &reg_expected).abs().sum();
        prop_assert!((largest_share_gap(cov, &generative, &regular) - tv).abs() < tol::IDENTITY);
    }

    /// P2 for the rank-k generative and eigenspace threats: both dominate
    /// the regular attack at every rank, and their top-k share is 1.
    #[test]
    fn p2_rank_k_and_eigenspace_attacks_dominate_regular(
        (gmm, w) in model_and_weights(),
        k_fraction in 0.0f64..1.0,
    ) {
        let cov = gmm.covariance();
        let k = 1 + ((cov.explicit_directions() as f64) * k_fraction) as usize;
        let k = k.min(cov.explicit_directions());
        let clf = LinearClassifier::new(w, 0.0).unwrap();
        let regular = attack_profile(&gmm, &clf, &Threat::l2()).unwrap();
        for threat in [
            Threat::generative_rank(cov, k).unwrap(),
            Threat::eigenspace(cov, k).unwrap(),
        ] {
            let Some(profile) = attack_profile(&gmm, &clf, &threat) else {
                continue; // w orthogonal to the top-k eigenspace
            };
            prop_assert!((profile.top_share(k).unwrap() - 1.0).abs() < tol::IDENTITY);
            for j in ranks(cov) {
                prop_assert!(profile.top_share(j).unwrap() >= regular.top_share(j).unwrap() - tol::IDENTITY);
            }
            prop_assert!(profile.variance() >= regular.variance() * (1.0 - tol::IDENTITY));
        }
    }

    /// P2's equality case: when `w̃` lives on one eigenvalue block the two
    /// profiles coincide.
    #[test]
    fn p2_equality_when_weights_live_on_one_eigenvalue(
        cov in covariance(),
        block_fraction in 0.0f64..1.0,
        scale in prop::sample::select(vec![-3.0, 0.5, 2.0]),
    ) {
        let blocks = cov.eigenvalues().len();
        let block = ((blocks as f64 * block_fraction) as usize).min(blocks - 1);
        let d = cov.dim();
        // A vector in block `block`: an explicit eigenvector, or for the
        // noise block of a spiked covariance a vector orthogonal to U_k.
        let w = match cov.eigenvector(block) {
            Some(u) => u * scale,
            None => {
                let basis = cov.leading_basis(cov.explicit_directions()).unwrap();
                let g = DVector::from_fn(d, |i, _| (i as f64 + 1.0).sin());
                (&g - &basis * basis.tr_mul(&g)) * scale
            }
        };
        let gmm = Gmm::symmetric(w.clone(), cov.clone()).unwrap();
        let clf = LinearClassifier::new(w, 0.0).unwrap();
        let regular = attack_profile(&gmm, &clf, &Threat::l2()).unwrap();
        let generative = attack_profile(&gmm, &clf, &Threat::generative(&cov)).unwrap();
        prop_assert!((regular.shares() - generative.shares()).amax() < tol::IDENTITY);
        prop_assert!((regular.variance() - generative.variance()).abs() < tol::IDENTITY * regular.variance());
    }

    /// P2's strict case, with a quantified margin: if `w̃` has shares
    /// `p, 1 − p` on two eigenvalues `λ_i > λ_j`, the generative top-`i`
    /// share exceeds the regular one by exactly
    /// `p(1 − p)(ρ² − 1)/(pρ² + 1 − p)`, `ρ = λ_i/λ_j`.
    #[test]
    fn p2_strict_dominance_off_the_equality_case(
        values in prop::collection::vec(-2.0f64..2.0, 2..=6),
        p in 0.05f64..0.95,
        pick in (0.0f64..1.0, 0.0f64..1.0),
    ) {
        let mut values: Vec<f64> = values.iter().map(|e| 10f64.powf(*e)).collect();
        values.sort_by(|a, b| b.total_cmp(a));
        let d = values.len();
        let i = ((d - 1) as f64 * pick.0) as usize; // 0..d-2
        let j = (i + 1 + ((d - 1 - i) as f64 * pick.1) as usize).min(d - 1);
        let rho = values[i] / values[j];
        prop_assume!(rho > 1.0 + 1e-3);
        // Diagonal covariance in scrambled axis order.
        let axes: Vec<usize> = (0..d).map(|a| (2 * d - 1 - a + d / 2) % d).collect();
        let mut diag = DVector::zeros(d);
        for (rank, &axis) in axes.iter().enumerate() {
            diag[axis] = values[rank];
        }
        let cov = Covariance::diagonal(diag).unwrap();
        let mut w = DVector::zeros(d);
        w[axes[i]] = p.sqrt();
        w[axes[j]] = -(1.0 - p).sqrt();
        let gmm = Gmm::symmetric(w.clone(), cov.clone()).unwrap();
        let clf = LinearClassifier::new(w, 0.0).unwrap();
        let regular = attack_profile(&gmm, &clf, &Threat::l2()).unwrap();
        let generative = attack_profile(&gmm, &clf, &Threat::generative(&cov)).unwrap();
        let expected_gap = p * (1.0 - p) * (rho * rho - 1.0) / (p * rho * rho + 1.0 - p);
        let gap = generative.top_share(i + 1).unwrap() - regular.top_share(i + 1).unwrap();
        prop_assert!((gap - expected_gap).abs() < tol::IDENTITY, "gap {gap} vs {expected_gap}");
        // (ρ ≥ 1.001 and p ∈ [0.05, 0.95] make the gap ≥ 9e-5 ≫ IDENTITY.)
        prop_assert!(gap > 1e-5);
        prop_assert!(generative.variance() > regular.variance());
    }
}

/// The claim-1 summary averages over the flipped points exactly as a
/// literal loop over single-point attacks does.
#[test]
fn attack_energy_summary_matches_literal_averages() {
    let gmm = manifold_robustness::default_model();
    let d = gmm.dim();
    // A classifier other than Bayes: Bayes weights plus a fixed tilt.
    let tilt = DVector::from_fn(d, |i, _| ((i as f64) * 0.7).cos() * 3.0);
    let clf = LinearClassifier::new(gmm.bayes_classifier().weights() + tilt, 0.2).unwrap();
    let xs = DMatrix::from_fn(40, d, |i, j| ((i * d + j) as f64 * 0.91).sin() * 0.3);
    let ys: Vec<Label> = (0..40)
        .map(|i| if i % 3 == 0 { Label::Neg } else { Label::Pos })
        .collect();
    let ks = [1, 4, 16, 64];
    for threat in [
        Threat::l2(),
        Threat::linf(),
        Threat::generative(gmm.covariance()),
        Threat::generative_rank(gmm.covariance(), 8).unwrap(),
    ] {
        let summary = attack_energy_summary(&gmm, &clf, &threat, &xs, &ys, &ks).unwrap();
        let mut shares = [0.0; 4];
        let mut variance = 0.0;
        let mut budget = 0.0;
        let mut flipped = 0;
        for (i, &y) in ys.iter().enumerate() {
            let x = xs.row(i).transpose();
            if let Perturbation::Flip {
                delta, budget: t, ..
            } = minimal_perturbation(&clf, &threat, &x, y).unwrap()
            {
                let profile = energy_profile(gmm.covariance(), &delta).unwrap();
                for (s, &k) in shares.iter_mut().zip(&ks) {
                    *s += profile.top_share(k).unwrap();
                }
                variance += profile.variance();
                budget += t;
                flipped += 1;
            }
        }
        assert!(flipped > 0);
        assert_eq!(summary.flipped, flipped);
        assert_eq!(summary.points, 40);
        assert_eq!(summary.threat, threat.to_string());
        let n = flipped as f64;
        let top = summary.top_shares.unwrap();
        for (idx, &k) in ks.iter().enumerate() {
            assert_eq!(top[idx].0, k);
            assert!((top[idx].1 - shares[idx] / n).abs() < tol::IDENTITY);
        }
        let v = summary.variance.unwrap();
        assert!((v - variance / n).abs() < tol::IDENTITY * v);
        let b = summary.mean_budget.unwrap();
        assert!((b - budget / n).abs() < tol::IDENTITY * b);
        assert!((summary.mean_data_variance - gmm.covariance().trace() / d as f64).abs() < 1e-15);
    }
    // Bad ranks are rejected even when they would not be used.
    assert!(attack_energy_summary(&gmm, &clf, &Threat::l2(), &xs, &ys, &[0]).is_err());
    assert!(attack_energy_summary(&gmm, &clf, &Threat::l2(), &xs, &ys, &[65]).is_err());
}

/// The summary of a batch with no flips says so instead of inventing shares.
#[test]
fn attack_energy_summary_without_flips() {
    let cov = Covariance::diagonal(DVector::from_vec(vec![4.0, 1.0])).unwrap();
    let gmm = Gmm::symmetric(DVector::from_vec(vec![0.0, 1.0]), cov.clone()).unwrap();
    let clf = gmm.bayes_classifier(); // w = (0, 2)
    let xs = DMatrix::from_row_slice(2, 2, &[0.0, 1.0, 0.0, -1.0]);
    let threat = Threat::eigenspace(&cov, 1).unwrap(); // only the first axis
    let summary =
        attack_energy_summary(&gmm, &clf, &threat, &xs, &[Label::Pos, Label::Neg], &[1]).unwrap();
    assert_eq!(summary.flipped, 0);
    assert_eq!(summary.mean_budget, None);
    assert_eq!(summary.top_shares, None);
    assert_eq!(summary.variance, None);
}
