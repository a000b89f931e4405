//! `Serialize`/`Deserialize` for the types with invariants (feature
//! `serde`).
//!
//! Each such type goes through a plain *raw* mirror: serializing converts
//! the value to its raw form, deserializing reads the raw form and builds
//! the value with the same constructor (or validation) a caller would use,
//! so a deserialized value satisfies every invariant of a constructed one
//! — a non-positive-definite covariance in the input is an error naming the
//! field, never an invalid `Covariance`. Types without invariants (labels,
//! reports with public fields) derive the traits where they are defined.
//!
//! Vectors and matrices use nalgebra's own format (`serde-serialize`):
//! a matrix is `[[entries in column-major order…], rows, columns]`, a
//! vector `[[entries…], n, null]` (its one column is a type, not a number). Numbers that may be infinite (an ℓ∞ exponent,
//! an unreachable budget) have their own encoding, since JSON has no
//! infinity: `"linf"` for the threat, `null` for the budget.
//!
//! To give a new type the same treatment: write `XRaw` (derive
//! `Serialize, Deserialize`), `From<&X> for XRaw`, `TryFrom<XRaw> for X`
//! (through the constructors, returning [`Error`]), then
//! `via_raw!(X, XRaw, "x")`.

use nalgebra::{DMatrix, DVector};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::attack::{AttackOptions, BatchAttack, EnergyProfile};
use crate::classifier::LinearClassifier;
use crate::covariance::{Covariance, Representation};
use crate::empirical::{TrainingOptions, check_options};
use crate::error::{Error, Result, ensure_dim, ensure_finite, ensure_finite_value};
use crate::gmm::Gmm;
use crate::normal::{Estimate, OrthantOptions};
use crate::threat::{SpectralFamily, Threat};
use crate::training::SolverOptions;

/// `Serialize` through `From<&$ty> for $raw`, `Deserialize` through
/// `TryFrom<$raw> for $ty`; a failed conversion is a deserialization error
/// prefixed with `$name` (the field or type it came from).
macro_rules! via_raw {
    ($ty:ty, $raw:ty, $name:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                <$raw>::from(self).serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(
                deserializer: D,
            ) -> std::result::Result<Self, D::Error> {
                let raw = <$raw>::deserialize(deserializer)?;
                <$ty>::try_from(raw)
                    .map_err(|error: Error| D::Error::custom(format!("{}: {error}", $name)))
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Models.
// ---------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinearClassifierRaw {
    weights: DVector<f64>,
    bias: f64,
}

impl From<&LinearClassifier> for LinearClassifierRaw {
    fn from(clf: &LinearClassifier) -> Self {
        LinearClassifierRaw {
            weights: clf.weights().clone(),
            bias: clf.bias(),
        }
    }
}

impl TryFrom<LinearClassifierRaw> for LinearClassifier {
    type Error = Error;
    fn try_from(raw: LinearClassifierRaw) -> Result<Self> {
        LinearClassifier::new(raw.weights, raw.bias)
    }
}

via_raw!(LinearClassifier, LinearClassifierRaw, "classifier");

/// A covariance by its defining data, one variant per representation.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum CovarianceRaw {
    /// [`Covariance::dense`].
    Dense { matrix: DMatrix<f64> },
    /// [`Covariance::diagonal`], variances in axis order.
    Diagonal { variances: DVector<f64> },
    /// [`Covariance::spiked`].
    Spiked {
        basis: DMatrix<f64>,
        variances: DVector<f64>,
        noise: f64,
    },
}

impl From<&Covariance> for CovarianceRaw {
    fn from(cov: &Covariance) -> Self {
        match cov.representation() {
            Representation::Diagonal => CovarianceRaw::Diagonal {
                variances: cov
                    .diagonal_variances()
                    .expect("a diagonal covariance")
                    .clone(),
            },
            Representation::Spiked { rank } => {
                let values = cov.eigenvalues();
                CovarianceRaw::Spiked {
                    basis: cov.leading_basis(rank).expect("1 ≤ rank ≤ explicit"),
                    variances: values.rows(0, rank).into_owned(),
                    noise: values[rank],
                }
            }
            // Dense, and any later representation, by its matrix.
            _ => CovarianceRaw::Dense {
                matrix: cov.to_dense(),
            },
        }
    }
}

impl TryFrom<CovarianceRaw> for Covariance {
    type Error = Error;
    fn try_from(raw: CovarianceRaw) -> Result<Self> {
        match raw {
            CovarianceRaw::Dense { matrix } => Covariance::dense(matrix),
            CovarianceRaw::Diagonal { variances } => Covariance::diagonal(variances),
            CovarianceRaw::Spiked {
                basis,
                variances,
                noise,
            } => Covariance::spiked(basis, variances, noise),
        }
    }
}

via_raw!(Covariance, CovarianceRaw, "covariance");

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GmmRaw {
    mean_pos: DVector<f64>,
    mean_neg: DVector<f64>,
    covariance: Covariance,
    prior_pos: f64,
}

impl From<&Gmm> for GmmRaw {
    fn from(gmm: &Gmm) -> Self {
        GmmRaw {
            mean_pos: gmm.mean(crate::Label::Pos).clone(),
            mean_neg: gmm.mean(crate::Label::Neg).clone(),
            covariance: gmm.covariance().clone(),
            prior_pos: gmm.prior_pos(),
        }
    }
}

impl TryFrom<GmmRaw> for Gmm {
    type Error = Error;
    fn try_from(raw: GmmRaw) -> Result<Self> {
        Gmm::new(raw.mean_pos, raw.mean_neg, raw.covariance, raw.prior_pos)
    }
}

via_raw!(Gmm, GmmRaw, "model");

/// A threat by its family and what defines it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ThreatRaw {
    /// ℓp with a finite `p ≥ 1`.
    Lp {
        p: f64,
    },
    /// ℓ∞ (JSON has no infinity).
    Linf,
    Generative {
        covariance: Covariance,
    },
    GenerativeRank {
        covariance: Covariance,
        k: usize,
    },
    Eigenspace {
        covariance: Covariance,
        k: usize,
    },
    OffManifold {
        covariance: Covariance,
        k: usize,
    },
    Ellipsoid {
        factor: DMatrix<f64>,
    },
    /// Parts with their relative budgets `ε_i`.
    Union {
        parts: Vec<(Threat, f64)>,
    },
}

impl From<&Threat> for ThreatRaw {
    fn from(threat: &Threat) -> Self {
        if let Some(p) = threat.lp_exponent() {
            return if p == f64::INFINITY {
                ThreatRaw::Linf
            } else {
                ThreatRaw::Lp { p }
            };
        }
        if let Some(parts) = threat.union_parts() {
            return ThreatRaw::Union {
                parts: parts.to_vec(),
            };
        }
        if let Some(factor) = threat.factor() {
            return ThreatRaw::Ellipsoid {
                factor: factor.clone(),
            };
        }
        let covariance = threat
            .covariance()
            .expect("a model-based threat has a covariance")
            .clone();
        match threat.spectral_family().expect("a model-based threat") {
            SpectralFamily::Generative => ThreatRaw::Generative { covariance },
            SpectralFamily::GenerativeRank(k) => ThreatRaw::GenerativeRank { covariance, k },
            SpectralFamily::Eigenspace(k) => ThreatRaw::Eigenspace { covariance, k },
            SpectralFamily::OffManifold(k) => ThreatRaw::OffManifold { covariance, k },
        }
    }
}

impl TryFrom<ThreatRaw> for Threat {
    type Error = Error;
    fn try_from(raw: ThreatRaw) -> Result<Self> {
        match raw {
            ThreatRaw::Lp { p } => Threat::lp(p),
            ThreatRaw::Linf => Ok(Threat::linf()),
            ThreatRaw::Generative { covariance } => Ok(Threat::generative(&covariance)),
            ThreatRaw::GenerativeRank { covariance, k } => Threat::generative_rank(&covariance, k),
            ThreatRaw::Eigenspace { covariance, k } => Threat::eigenspace(&covariance, k),
            ThreatRaw::OffManifold { covariance, k } => Threat::off_manifold(&covariance, k),
            ThreatRaw::Ellipsoid { factor } => Threat::ellipsoid(factor),
            ThreatRaw::Union { parts } => Threat::union(parts),
        }
    }
}

via_raw!(Threat, ThreatRaw, "threat");

// ---------------------------------------------------------------------------
// Options: the fields as written, checked as the functions taking them do.
// ---------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttackOptionsRaw {
    overshoot: f64,
}

impl From<&AttackOptions> for AttackOptionsRaw {
    fn from(options: &AttackOptions) -> Self {
        AttackOptionsRaw {
            overshoot: options.overshoot,
        }
    }
}

impl TryFrom<AttackOptionsRaw> for AttackOptions {
    type Error = Error;
    fn try_from(raw: AttackOptionsRaw) -> Result<Self> {
        let options = AttackOptions::default().with_overshoot(raw.overshoot);
        options.validate()?;
        Ok(options)
    }
}

via_raw!(AttackOptions, AttackOptionsRaw, "attack options");

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SolverOptionsRaw {
    gap_tolerance: f64,
    max_iterations: usize,
}

impl From<&SolverOptions> for SolverOptionsRaw {
    fn from(options: &SolverOptions) -> Self {
        SolverOptionsRaw {
            gap_tolerance: options.gap_tolerance,
            max_iterations: options.max_iterations,
        }
    }
}

impl TryFrom<SolverOptionsRaw> for SolverOptions {
    type Error = Error;
    fn try_from(raw: SolverOptionsRaw) -> Result<Self> {
        let options = SolverOptions {
            gap_tolerance: raw.gap_tolerance,
            max_iterations: raw.max_iterations,
        };
        options.validate()?;
        Ok(options)
    }
}

via_raw!(SolverOptions, SolverOptionsRaw, "solver options");

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainingOptionsRaw {
    l2_penalty: f64,
    gradient_tolerance: f64,
    max_iterations: usize,
    fit_bias: bool,
}

impl From<&TrainingOptions> for TrainingOptionsRaw {
    fn from(options: &TrainingOptions) -> Self {
        TrainingOptionsRaw {
            l2_penalty: options.l2_penalty,
            gradient_tolerance: options.gradient_tolerance,
            max_iterations: options.max_iterations,
            fit_bias: options.fit_bias,
        }
    }
}

impl TryFrom<TrainingOptionsRaw> for TrainingOptions {
    type Error = Error;
    fn try_from(raw: TrainingOptionsRaw) -> Result<Self> {
        let options = TrainingOptions {
            l2_penalty: raw.l2_penalty,
            gradient_tolerance: raw.gradient_tolerance,
            max_iterations: raw.max_iterations,
            fit_bias: raw.fit_bias,
        };
        check_options(&options)?;
        Ok(options)
    }
}

via_raw!(TrainingOptions, TrainingOptionsRaw, "training options");

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrthantOptionsRaw {
    absolute_error: f64,
    confidence: f64,
    seed: u64,
}

impl From<&OrthantOptions> for OrthantOptionsRaw {
    fn from(options: &OrthantOptions) -> Self {
        OrthantOptionsRaw {
            absolute_error: options.absolute_error,
            confidence: options.confidence,
            seed: options.seed,
        }
    }
}

impl TryFrom<OrthantOptionsRaw> for OrthantOptions {
    type Error = Error;
    fn try_from(raw: OrthantOptionsRaw) -> Result<Self> {
        let options = OrthantOptions::default()
            .with_absolute_error(raw.absolute_error)
            .with_confidence(raw.confidence)
            .with_seed(raw.seed);
        options.validate()?;
        Ok(options)
    }
}

via_raw!(OrthantOptions, OrthantOptionsRaw, "orthant options");

// ---------------------------------------------------------------------------
// Results: their data, checked for the consistency the methods rely on.
// ---------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EstimateRaw {
    value: f64,
    error_bound: f64,
    confidence: f64,
}

impl From<&Estimate> for EstimateRaw {
    fn from(estimate: &Estimate) -> Self {
        EstimateRaw {
            value: estimate.value(),
            error_bound: estimate.error_bound(),
            confidence: estimate.confidence(),
        }
    }
}

impl TryFrom<EstimateRaw> for Estimate {
    type Error = Error;
    fn try_from(raw: EstimateRaw) -> Result<Self> {
        ensure_finite_value("value", raw.value)?;
        if !(raw.error_bound >= 0.0 && raw.error_bound.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "error_bound",
                value: raw.error_bound,
                reason: "an error bound is finite and non-negative",
            });
        }
        if !(raw.confidence > 0.0 && raw.confidence <= 1.0) {
            return Err(Error::InvalidParameter {
                name: "confidence",
                value: raw.confidence,
                reason: "a confidence lies in (0, 1]",
            });
        }
        Ok(Estimate::with_bound(
            raw.value,
            raw.error_bound,
            raw.confidence,
        ))
    }
}

via_raw!(Estimate, EstimateRaw, "estimate");

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnergyProfileRaw {
    shares: DVector<f64>,
    eigenvalues: DVector<f64>,
    explicit: usize,
    dim: usize,
}

impl From<&EnergyProfile> for EnergyProfileRaw {
    fn from(profile: &EnergyProfile) -> Self {
        EnergyProfileRaw {
            shares: profile.shares.clone(),
            eigenvalues: profile.eigenvalues.clone(),
            explicit: profile.explicit,
            dim: profile.dim,
        }
    }
}

impl TryFrom<EnergyProfileRaw> for EnergyProfile {
    type Error = Error;
    fn try_from(raw: EnergyProfileRaw) -> Result<Self> {
        // One block per explicit direction, plus a noise block when some
        // directions are not explicit.
        let blocks = raw.explicit + usize::from(raw.explicit < raw.dim);
        if raw.explicit == 0 || raw.explicit > raw.dim {
            return Err(Error::InvalidRank {
                k: raw.explicit,
                max: raw.dim,
            });
        }
        ensure_dim("shares", blocks, raw.shares.len())?;
        ensure_dim("eigenvalues", blocks, raw.eigenvalues.len())?;
        ensure_finite("shares", raw.shares.as_slice())?;
        ensure_finite("eigenvalues", raw.eigenvalues.as_slice())?;
        if let Some(&share) = raw.shares.iter().find(|s| !(**s >= 0.0 && **s <= 1.0)) {
            return Err(Error::InvalidParameter {
                name: "shares",
                value: share,
                reason: "energy shares lie in [0, 1]",
            });
        }
        Ok(EnergyProfile {
            shares: raw.shares,
            eigenvalues: raw.eigenvalues,
            explicit: raw.explicit,
            dim: raw.dim,
        })
    }
}

via_raw!(EnergyProfile, EnergyProfileRaw, "energy profile");

/// A batch attack; an unreachable point's infinite budget is `None`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchAttackRaw {
    unit_margins: DVector<f64>,
    margins: DVector<f64>,
    signs: Vec<f64>,
    budgets: Vec<Option<f64>>,
    support: f64,
    direction: Option<DVector<f64>>,
    latent_direction: Option<DVector<f64>>,
    overshoot: f64,
    dim: usize,
}

impl From<&BatchAttack> for BatchAttackRaw {
    fn from(batch: &BatchAttack) -> Self {
        BatchAttackRaw {
            unit_margins: batch.unit_margins.clone(),
            margins: batch.margins.clone(),
            signs: batch.signs.clone(),
            budgets: batch
                .budgets
                .iter()
                .map(|&b| b.is_finite().then_some(b))
                .collect(),
            support: batch.support,
            direction: batch.direction.clone(),
            latent_direction: batch.latent_direction.clone(),
            overshoot: batch.overshoot,
            dim: batch.dim,
        }
    }
}

impl TryFrom<BatchAttackRaw> for BatchAttack {
    type Error = Error;
    fn try_from(raw: BatchAttackRaw) -> Result<Self> {
        let n = raw.margins.len();
        ensure_dim("unit_margins", n, raw.unit_margins.len())?;
        ensure_dim("signs", n, raw.signs.len())?;
        ensure_dim("budgets", n, raw.budgets.len())?;
        ensure_finite("margins", raw.margins.as_slice())?;
        ensure_finite("unit_margins", raw.unit_margins.as_slice())?;
        if let Some(&sign) = raw.signs.iter().find(|s| s.abs() != 1.0) {
            return Err(Error::InvalidParameter {
                name: "signs",
                value: sign,
                reason: "a label's sign is +1 or −1",
            });
        }
        AttackOptions::default()
            .with_overshoot(raw.overshoot)
            .validate()?;
        if !(raw.support >= 0.0 && raw.support.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "support",
                value: raw.support,
                reason: "a support value is finite and non-negative",
            });
        }
        for (name, v) in [
            ("direction", &raw.direction),
            ("latent_direction", &raw.latent_direction),
        ] {
            if let Some(v) = v {
                ensure_finite(name, v.as_slice())?;
            }
        }
        if let Some(v) = &raw.direction {
            ensure_dim("direction", raw.dim, v.len())?;
        }
        let budgets =
            DVector::from_iterator(n, raw.budgets.iter().map(|b| b.unwrap_or(f64::INFINITY)));
        if let Some(&budget) = budgets.iter().find(|b| b.is_nan() || **b < 0.0) {
            return Err(Error::InvalidBudget { value: budget });
        }
        Ok(BatchAttack {
            unit_margins: raw.unit_margins,
            margins: raw.margins,
            signs: raw.signs,
            budgets,
            support: raw.support,
            direction: raw.direction,
            latent_direction: raw.latent_direction,
            overshoot: raw.overshoot,
            dim: raw.dim,
        })
    }
}

via_raw!(BatchAttack, BatchAttackRaw, "batch attack");
