//! Where attacks go in the data's eigenbasis: the numbers behind claim 1
//! of the seed ([THEORY §5](crate::theory#5-disentangling), [P1–P2](crate::theory#5-disentangling)).
//!
//! [`attack_energy_summary`] attacks a batch with one threat and reports,
//! over the flipped points, the mean top-`k` shares `S_k(δ)` and the mean
//! variance `R(δ) = δᵀΣδ/‖δ‖²` of the perturbations. Regular attacks
//! score low on both (they are pulled toward small-variance directions,
//! weight `w̃_i²`), generative ones high (weight `λ_i² w̃_i²`), for every
//! linear classifier ([P2](crate::theory#p2-dominance-for-any-linear-classifier)).
//!
//! For a linear classifier every flip is a multiple of the shared direction
//! `v*(w)`, so these means equal the profile of `v*` exactly; the batch
//! decides only how many points are flipped and their mean budget.

use nalgebra::DVector;

use crate::attack::{EnergyProfile, minimal_perturbations};
use crate::classifier::{Label, LinearClassifier, Points};
use crate::covariance::Covariance;
use crate::error::{Result, ensure_dim};
use crate::gmm::Gmm;
use crate::threat::Threat;

/// One row of the claim-1 table: how one threat's minimal attacks on a
/// batch spread their energy over the eigen-directions.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct AttackEnergySummary {
    /// The threat's name (its `Display`).
    pub threat: String,
    /// Points in the batch.
    pub points: usize,
    /// Points flipped by a finite positive budget.
    pub flipped: usize,
    /// Mean minimal budget over the flipped points (`None` if none).
    pub mean_budget: Option<f64>,
    /// `(k, mean S_k)` over the flipped points, for each requested `k`
    /// (`None` if nothing was flipped).
    pub top_shares: Option<Vec<(usize, f64)>>,
    /// Mean Rayleigh quotient `R(δ)` over the flipped points (`None` if none).
    pub variance: Option<f64>,
    /// The mean variance of the data, `tr Σ / d`: the expected `R` of a
    /// uniformly random direction, for scale.
    pub mean_data_variance: f64,
}

/// Attacks every row of `xs` (labels `ys`) with `threat` and summarizes the
/// energy of the flips in the eigenbasis of `gmm`'s covariance: mean top-`k`
/// shares for each `k` in `ks` and the mean Rayleigh variance.
///
/// Cost: one batch attack (one matrix–vector product) and one energy
/// profile; nothing `n × d` is built.
///
/// # Example
/// ```
/// use manifold_robustness::{attack_energy_summary, default_model, Threat};
/// use manifold_robustness::rand::{rngs::StdRng, SeedableRng};
///
/// let gmm = default_model();
/// let clf = gmm.bayes_classifier();
/// let (xs, ys) = gmm.sample(200, &mut StdRng::seed_from_u64(1));
/// let regular = attack_energy_summary(&gmm, &clf, &Threat::l2(), &xs, &ys, &[8])?;
/// let generative = attack_energy_summary(&gmm, &clf, &Threat::generative(gmm.covariance()), &xs, &ys, &[8])?;
/// // Claim 1: the generative attack lives in the large-variance directions.
/// // P1 on the default model (λ_i = i^{−1.5}, μ̃_i all equal): the generative
/// // attack follows μ₊ − μ₋, equal energy everywhere, so S_8 = 8/64; the
/// // regular one follows Σ⁻¹(μ₊ − μ₋), energy ∝ 1/λ_i² = i³, so
/// // S_8 = (Σ_{i≤8} i³)/(Σ_{i≤64} i³) = 36²/2080².
/// let share = |s: &manifold_robustness::AttackEnergySummary| s.top_shares.as_ref().unwrap()[0].1;
/// assert!((share(&generative) - 0.125).abs() < 1e-12);
/// assert!((share(&regular) - 1296.0 / 4_326_400.0).abs() < 1e-15);
/// // Variances: the mean of λ_i, versus Σ i^{1.5} / Σ i³, about 12× smaller.
/// let mean_lambda = (1..=64).map(|i| (i as f64).powf(-1.5)).sum::<f64>() / 64.0;
/// assert!((generative.variance.unwrap() - mean_lambda).abs() < 1e-12);
/// assert!(generative.variance.unwrap() > 11.9 * regular.variance.unwrap());
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] and [`crate::Error::NonFinite`] as
/// [`minimal_perturbations`] (and when the classifier does not match the
/// model); [`crate::Error::InvalidRank`] or
/// [`crate::Error::AmbiguousEigenspace`] for a `k` that
/// [`EnergyProfile::top_share`] rejects (checked even when nothing is
/// flipped).
pub fn attack_energy_summary<'a>(
    gmm: &Gmm,
    clf: &LinearClassifier,
    threat: &Threat,
    xs: impl Points<'a>,
    ys: &[Label],
    ks: &[usize],
) -> Result<AttackEnergySummary> {
    ensure_dim("classifier", gmm.dim(), clf.dim())?;
    let cov = gmm.covariance();
    let batch = minimal_perturbations(clf, threat, xs, ys)?;
    // Validate every k against the spectrum, whatever the batch does.
    check_ranks(cov, clf.weights(), ks)?;
    let flipped = batch.flipped();
    // Mean of the budgets, each divided by the count first: the sum of
    // budgets near f64::MAX would overflow where their mean does not.
    let mean_budget = (flipped > 0).then(|| {
        (0..batch.len())
            .filter(|&i| batch.is_flip(i))
            .map(|i| batch.budgets()[i] / flipped as f64)
            .sum::<f64>()
    });
    let profile: Option<EnergyProfile> = batch.mean_energy_profile(cov)?;
    summary_of_profile(
        threat,
        cov,
        (batch.len(), flipped, mean_budget),
        profile.as_ref(),
        ks,
    )
}

/// Checks every `k` of `ks` against the spectrum (through the profile of
/// a non-zero `probe`), so a bad `k` is reported even when nothing flips.
pub(crate) fn check_ranks(cov: &Covariance, probe: &DVector<f64>, ks: &[usize]) -> Result<()> {
    let probe = crate::attack::energy_profile(cov, probe)?;
    for &k in ks {
        probe.top_share(k)?;
    }
    Ok(())
}

/// The summary row of flips that all share one energy profile (`None`
/// when nothing was flipped): `counts` is `(points, flipped, mean budget)`.
pub(crate) fn summary_of_profile(
    threat: &Threat,
    cov: &Covariance,
    counts: (usize, usize, Option<f64>),
    profile: Option<&EnergyProfile>,
    ks: &[usize],
) -> Result<AttackEnergySummary> {
    let (points, flipped, mean_budget) = counts;
    let top_shares = match profile {
        Some(p) => Some(
            ks.iter()
                .map(|&k| p.top_share(k).map(|share| (k, share)))
                .collect::<Result<Vec<_>>>()?,
        ),
        None => None,
    };
    Ok(AttackEnergySummary {
        threat: threat.to_string(),
        points,
        flipped,
        mean_budget,
        top_shares,
        variance: profile.map(EnergyProfile::variance),
        mean_data_variance: mean_variance(cov),
    })
}

/// `tr Σ / d = Σ_b λ_b (m_b/d)`, with each eigenvalue weighted before the
/// sum (the trace itself may overflow where the mean does not).
pub(crate) fn mean_variance(cov: &Covariance) -> f64 {
    let d = cov.dim() as f64;
    let values = cov.eigenvalues();
    (0..values.len())
        .map(|b| values[b] * (cov.multiplicity(b) as f64 / d))
        .sum()
}
