//! Where multi-class attacks go in the data's eigenbasis: claim 1 facet by
//! facet ([THEORY M4](crate::theory#m4-disentangling-facet-by-facet)).
//!
//! Every flip of class `y` to class `j` is a multiple of the facet
//! direction `v*(w_y − w_j)`, so the flips of one facet share one energy
//! profile ([`energy_profile`](crate::energy_profile)), the two-class
//! profile of the facet classifier `w_y − w_j` (P1–P2 apply to it). The
//! aggregate over all flips weights each facet's profile by its number of
//! flips.

use nalgebra::DMatrix;

use super::{FacetAttacks, MulticlassClassifier, MulticlassGmm};
use crate::disentangle::{AttackEnergySummary, check_ranks, mean_variance, summary_of_profile};
use crate::error::{Result, ensure_dim};
use crate::threat::Threat;

/// The claim-1 numbers of one facet: the flips of class `from` to class `to`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct FacetEnergySummary {
    /// The true class of the points.
    pub from: usize,
    /// The class they are flipped to.
    pub to: usize,
    /// `points` counts the points of class `from`, `flipped` those flipped
    /// to `to`; shares and variance are those of `v*(w_from − w_to)`.
    pub summary: AttackEnergySummary,
}

/// The claim-1 numbers of a multi-class attack: per facet and over all flips.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct MulticlassEnergySummary {
    /// One entry per facet with at least one flip, by `(from, to)`.
    pub per_facet: Vec<FacetEnergySummary>,
    /// Over every flipped point: the mean top-`k` shares, variance and
    /// budget (each facet weighted by its number of flips).
    pub aggregate: AttackEnergySummary,
}

/// Attacks every row of `xs` (labels `ys`) exactly and summarizes where the
/// flips put their energy, per facet and in aggregate: top-`k` shares for
/// each `k` in `ks` and the variance `R(δ) = δᵀΣδ/‖δ‖²`.
///
/// Cost: one batch attack and one energy profile per facet that flips.
///
/// # Example
/// ```
/// use manifold_robustness::{default_model, MulticlassGmm, Threat};
/// use manifold_robustness::multiclass::attack_energy_summary;
/// use manifold_robustness::rand::{rngs::StdRng, SeedableRng};
///
/// let m = MulticlassGmm::from(&default_model());
/// let clf = m.bayes_classifier();
/// let (xs, ys) = m.sample(200, &mut StdRng::seed_from_u64(1));
/// let regular = attack_energy_summary(&m, &clf, &Threat::l2(), &xs, &ys, &[8])?;
/// let generative = attack_energy_summary(&m, &clf, &Threat::generative(m.covariance()), &xs, &ys, &[8])?;
/// // As in the two-class example of `attack_energy_summary`: S_8 = 8/64
/// // for the generative attack, 36²/2080² for the regular one.
/// let share = |s: &manifold_robustness::AttackEnergySummary| s.top_shares.as_ref().unwrap()[0].1;
/// assert!((share(&generative.aggregate) - 0.125).abs() < 1e-12);
/// assert!((share(&regular.aggregate) - 1296.0 / 4_326_400.0).abs() < 1e-14);
/// assert_eq!(regular.per_facet.len(), 2); // 0 → 1 and 1 → 0
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] when the classifier does not match
/// the model; as [`FacetAttacks::attack_batch`]; and
/// [`crate::Error::InvalidRank`] or [`crate::Error::AmbiguousEigenspace`]
/// for a `k` that [`crate::EnergyProfile::top_share`] rejects.
pub fn attack_energy_summary(
    model: &MulticlassGmm,
    clf: &MulticlassClassifier,
    threat: &Threat,
    xs: &DMatrix<f64>,
    ys: &[usize],
    ks: &[usize],
) -> Result<MulticlassEnergySummary> {
    ensure_dim("classifier", model.dim(), clf.dim())?;
    ensure_dim("classifier (classes)", model.classes(), clf.classes())?;
    let cov = model.covariance();
    let attacks = FacetAttacks::new(clf, threat)?;
    let batch = attacks.attack_batch(xs, ys)?;
    let (w, _) = clf.unit_facet(0, 1);
    check_ranks(cov, &w, ks)?;
    let k = clf.classes();
    let mut class_sizes = vec![0usize; k];
    for &y in ys {
        class_sizes[y] += 1;
    }
    let flips = batch.flip_matrix();
    let total = batch.flipped();
    let mut per_facet = Vec::new();
    let mut shares = vec![0.0; ks.len()];
    let mut variance = 0.0;
    let mut mean_budget = 0.0;
    for from in 0..k {
        for to in 0..k {
            let count = flips[(from, to)];
            if count == 0 {
                continue;
            }
            // Mean over the facet's flips, each divided by the count first.
            let budget = (0..batch.len())
                .filter(|&i| ys[i] == from && batch.to(i) == Some(to))
                .map(|i| batch.budget(i) / count as f64)
                .sum::<f64>();
            let direction = attacks
                .direction(from, to)?
                .expect("a facet that flips points has a steepest direction");
            let profile = crate::attack::energy_profile(cov, &direction)?;
            let summary = summary_of_profile(
                threat,
                cov,
                (class_sizes[from], count, Some(budget)),
                Some(&profile),
                ks,
            )?;
            let weight = count as f64 / total as f64;
            if let Some(top) = &summary.top_shares {
                for (a, (_, share)) in top.iter().enumerate() {
                    shares[a] += weight * share;
                }
            }
            variance += weight * profile.variance();
            mean_budget += weight * budget;
            per_facet.push(FacetEnergySummary { from, to, summary });
        }
    }
    let flipped_any = total > 0;
    let aggregate = AttackEnergySummary {
        threat: threat.to_string(),
        points: batch.len(),
        flipped: total,
        mean_budget: flipped_any.then_some(mean_budget),
        top_shares: flipped_any.then(|| ks.iter().copied().zip(shares).collect()),
        variance: flipped_any.then_some(variance),
        mean_data_variance: mean_variance(cov),
    };
    Ok(MulticlassEnergySummary {
        per_facet,
        aggregate,
    })
}
