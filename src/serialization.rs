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
//! Vectors and matrices are plain JSON: a vector is an array of numbers
//! (`[1.0, 2.0]`), a matrix an array of its rows (`[[1.0, 0.0], [0.0,
//! 1.0]]`); rows of different lengths are an error naming the field. Numbers
//! that may be infinite (an ℓ∞ exponent, an unreachable budget, a multiplier
//! past the budget limit) have their own encoding, since JSON has no
//! infinity: `"linf"` for the threat, `null` for the budget and the
//! multiplier.
//!
//! # Results that hold a prepared solver problem
//!
//! [`RobustOptimum`], [`ExtendedCovariance`] and [`ConflictMatrix`] keep a
//! prepared problem (a decomposition, a secular equation) that cannot be
//! rebuilt from their public numbers. They are written as their *inputs*
//! (model, threat, budget, solver options) together with their *results*
//! (distance, certified gap, multiplier, …). Reading one solves the problem
//! again from the inputs and checks the stored results against the new
//! solution: distances must agree within the two certified gaps plus
//! rounding, a multiplier to [`MULTIPLIER_TOLERANCE`] relative, the rest as
//! stated on each type; a disagreement is an error naming the field. The
//! value read keeps the stored results (so a round trip is exact, warm
//! starts of a sweep included) on the re-solved problem.
//!
//! Their results depend on the solver, so these three types carry a layout
//! version, written first as `"format": 1` ([`FORMAT`]). A file of the
//! current format is checked as above. A file of an older format — one
//! without the field was written before versioning and counts as format 0
//! — is read from its inputs alone: the problem is solved again and the
//! value read holds the *new* results; the stored ones are parsed but
//! neither checked nor kept (they came from another solver, whose results
//! agree with today's only within the certified gaps, not to the last
//! digit). A file of a newer format is an [`Error::UnsupportedFormat`]
//! naming both versions, raised as soon as the field is read.
//! When a change to the solver or the layout makes old files disagree,
//! [`FORMAT`] goes up by one, and the raw structs keep reading every older
//! layout.
//!
//! To give a new type the same treatment: write `XRaw` (derive
//! `Serialize, Deserialize`), `From<&X> for XRaw`, `TryFrom<XRaw> for X`
//! (through the constructors, returning [`Error`]), then
//! `via_raw!(X, XRaw, "x")`.

use std::sync::Arc;

use nalgebra::{DMatrix, DVector};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::attack::{AttackOptions, BatchAttack, EnergyProfile};
use crate::classifier::LinearClassifier;
use crate::covariance::{Covariance, Representation};
use crate::empirical::{TrainingOptions, check_options};
use crate::error::{Error, Result, ensure_dim, ensure_finite, ensure_finite_value};
use crate::gmm::Gmm;
use crate::multiclass::attacks::Decision;
use crate::multiclass::{
    BatchAttack as MulticlassBatchAttack, FacetAttacks, MulticlassClassifier, MulticlassGmm,
};
use crate::normal::{Estimate, OrthantOptions};
use crate::threat::{SpectralFamily, Threat};
use crate::tradeoff::{ConflictMatrix, MATCH_TOLERANCE, cross_and_conflicts};
use crate::training::{ExtendedCovariance, GrowthBasis, RobustOptimum, Solution, SolverOptions};

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
// Plain vectors and matrices.
// ---------------------------------------------------------------------------

/// `#[serde(with = "crate::serialization::plain_vector")]`: a `DVector` as
/// an array of numbers.
pub(crate) mod plain_vector {
    use nalgebra::DVector;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        vector: &DVector<f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(vector.iter())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DVector<f64>, D::Error> {
        Vec::<f64>::deserialize(deserializer).map(DVector::from_vec)
    }
}

/// `#[serde(with = "crate::serialization::plain_option_vector")]`: an
/// optional `DVector` as an array of numbers or `null`.
pub(crate) mod plain_option_vector {
    use nalgebra::DVector;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        vector: &Option<DVector<f64>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match vector {
            Some(v) => serializer.serialize_some(v.as_slice()),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DVector<f64>>, D::Error> {
        Option::<Vec<f64>>::deserialize(deserializer).map(|v| v.map(DVector::from_vec))
    }
}

/// A vector as it is written: an array of numbers.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Plain(Vec<f64>);

impl Plain {
    fn of(vector: &DVector<f64>) -> Plain {
        Plain(vector.as_slice().to_vec())
    }

    fn into_vector(self) -> DVector<f64> {
        DVector::from_vec(self.0)
    }
}

/// A vector that may hold `+∞` (past a budget limit), written as an array
/// of numbers with `null` for `+∞`.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct PlainExtended(Vec<Option<f64>>);

impl PlainExtended {
    fn of(vector: &DVector<f64>) -> PlainExtended {
        PlainExtended(
            vector
                .iter()
                .map(|&v| (v != f64::INFINITY).then_some(v))
                .collect(),
        )
    }

    fn into_vector(self) -> DVector<f64> {
        DVector::from_iterator(
            self.0.len(),
            self.0.into_iter().map(|v| v.unwrap_or(f64::INFINITY)),
        )
    }
}

/// A matrix as it is written: an array of its rows.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Rows(Vec<Vec<f64>>);

impl Rows {
    fn of(matrix: &DMatrix<f64>) -> Rows {
        Rows(
            matrix
                .row_iter()
                .map(|row| row.iter().copied().collect())
                .collect(),
        )
    }

    /// The matrix, or [`Error::DimensionMismatch`] naming `name` when a row
    /// is not as long as the first.
    fn into_matrix(self, name: &'static str) -> Result<DMatrix<f64>> {
        let rows = self.0.len();
        let columns = self.0.first().map_or(0, Vec::len);
        for row in &self.0 {
            ensure_dim(name, columns, row.len())?;
        }
        Ok(DMatrix::from_row_iterator(
            rows,
            columns,
            self.0.into_iter().flatten(),
        ))
    }
}

// ---------------------------------------------------------------------------
// Models.
// ---------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinearClassifierRaw {
    weights: Plain,
    bias: f64,
}

impl From<&LinearClassifier> for LinearClassifierRaw {
    fn from(clf: &LinearClassifier) -> Self {
        LinearClassifierRaw {
            weights: Plain::of(clf.weights()),
            bias: clf.bias(),
        }
    }
}

impl TryFrom<LinearClassifierRaw> for LinearClassifier {
    type Error = Error;
    fn try_from(raw: LinearClassifierRaw) -> Result<Self> {
        LinearClassifier::new(raw.weights.into_vector(), raw.bias)
    }
}

via_raw!(LinearClassifier, LinearClassifierRaw, "classifier");

/// A covariance by its defining data, one variant per representation.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum CovarianceRaw {
    /// [`Covariance::dense`].
    Dense { matrix: Rows },
    /// [`Covariance::diagonal`], variances in axis order.
    Diagonal { variances: Plain },
    /// [`Covariance::spiked`].
    Spiked {
        basis: Rows,
        variances: Plain,
        noise: f64,
    },
}

impl From<&Covariance> for CovarianceRaw {
    fn from(cov: &Covariance) -> Self {
        match cov.representation() {
            Representation::Diagonal => CovarianceRaw::Diagonal {
                variances: Plain::of(cov.diagonal_variances().expect("a diagonal covariance")),
            },
            Representation::Spiked { rank } => {
                let values = cov.eigenvalues();
                CovarianceRaw::Spiked {
                    basis: Rows::of(&cov.leading_basis(rank).expect("1 ≤ rank ≤ explicit")),
                    variances: Plain(values.as_slice()[..rank].to_vec()),
                    noise: values[rank],
                }
            }
            // Dense, and any later representation, by its matrix.
            _ => CovarianceRaw::Dense {
                matrix: Rows::of(&cov.to_dense()),
            },
        }
    }
}

impl TryFrom<CovarianceRaw> for Covariance {
    type Error = Error;
    fn try_from(raw: CovarianceRaw) -> Result<Self> {
        match raw {
            CovarianceRaw::Dense { matrix } => Covariance::dense(matrix.into_matrix("matrix")?),
            CovarianceRaw::Diagonal { variances } => Covariance::diagonal(variances.into_vector()),
            CovarianceRaw::Spiked {
                basis,
                variances,
                noise,
            } => Covariance::spiked(basis.into_matrix("basis")?, variances.into_vector(), noise),
        }
    }
}

via_raw!(Covariance, CovarianceRaw, "covariance");

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GmmRaw {
    mean_pos: Plain,
    mean_neg: Plain,
    covariance: Covariance,
    prior_pos: f64,
}

impl From<&Gmm> for GmmRaw {
    fn from(gmm: &Gmm) -> Self {
        GmmRaw {
            mean_pos: Plain::of(gmm.mean(crate::Label::Pos)),
            mean_neg: Plain::of(gmm.mean(crate::Label::Neg)),
            covariance: gmm.covariance().clone(),
            prior_pos: gmm.prior_pos(),
        }
    }
}

impl TryFrom<GmmRaw> for Gmm {
    type Error = Error;
    fn try_from(raw: GmmRaw) -> Result<Self> {
        Gmm::new(
            raw.mean_pos.into_vector(),
            raw.mean_neg.into_vector(),
            raw.covariance,
            raw.prior_pos,
        )
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
        factor: Rows,
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
                factor: Rows::of(factor),
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
            ThreatRaw::Ellipsoid { factor } => Threat::ellipsoid(factor.into_matrix("factor")?),
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
    shares: Plain,
    eigenvalues: Plain,
    explicit: usize,
    dim: usize,
}

impl From<&EnergyProfile> for EnergyProfileRaw {
    fn from(profile: &EnergyProfile) -> Self {
        EnergyProfileRaw {
            shares: Plain::of(&profile.shares),
            eigenvalues: Plain::of(&profile.eigenvalues),
            explicit: profile.explicit,
            dim: profile.dim,
        }
    }
}

impl TryFrom<EnergyProfileRaw> for EnergyProfile {
    type Error = Error;
    fn try_from(raw: EnergyProfileRaw) -> Result<Self> {
        let (shares, eigenvalues) = (raw.shares.into_vector(), raw.eigenvalues.into_vector());
        // One block per explicit direction, plus a noise block when some
        // directions are not explicit.
        let blocks = raw.explicit + usize::from(raw.explicit < raw.dim);
        if raw.explicit == 0 || raw.explicit > raw.dim {
            return Err(Error::InvalidRank {
                k: raw.explicit,
                max: raw.dim,
            });
        }
        ensure_dim("shares", blocks, shares.len())?;
        ensure_dim("eigenvalues", blocks, eigenvalues.len())?;
        ensure_finite("shares", shares.as_slice())?;
        ensure_finite("eigenvalues", eigenvalues.as_slice())?;
        if let Some(&share) = shares.iter().find(|s| !(**s >= 0.0 && **s <= 1.0)) {
            return Err(Error::InvalidParameter {
                name: "shares",
                value: share,
                reason: "energy shares lie in [0, 1]",
            });
        }
        Ok(EnergyProfile {
            shares,
            eigenvalues,
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
    unit_margins: Plain,
    margins: Plain,
    signs: Vec<f64>,
    budgets: PlainExtended,
    support: f64,
    /// `σ_K` of the classifier at size one (the steps are computed from
    /// it); absent in older files, where `support` stands in.
    #[serde(default)]
    unit_support: Option<f64>,
    direction: Option<Plain>,
    latent_direction: Option<Plain>,
    overshoot: f64,
    dim: usize,
}

impl From<&BatchAttack> for BatchAttackRaw {
    fn from(batch: &BatchAttack) -> Self {
        BatchAttackRaw {
            unit_margins: Plain::of(&batch.unit_margins),
            margins: Plain::of(&batch.margins),
            signs: batch.signs.clone(),
            budgets: PlainExtended::of(&batch.budgets),
            support: batch.support,
            unit_support: Some(batch.unit_support),
            direction: batch.direction.as_ref().map(Plain::of),
            latent_direction: batch.latent_direction.as_ref().map(Plain::of),
            overshoot: batch.overshoot,
            dim: batch.dim,
        }
    }
}

impl TryFrom<BatchAttackRaw> for BatchAttack {
    type Error = Error;
    fn try_from(raw: BatchAttackRaw) -> Result<Self> {
        let (unit_margins, margins) = (raw.unit_margins.into_vector(), raw.margins.into_vector());
        let direction = raw.direction.map(Plain::into_vector);
        let latent_direction = raw.latent_direction.map(Plain::into_vector);
        let n = margins.len();
        ensure_dim("unit_margins", n, unit_margins.len())?;
        ensure_dim("signs", n, raw.signs.len())?;
        ensure_dim("budgets", n, raw.budgets.0.len())?;
        ensure_finite("margins", margins.as_slice())?;
        ensure_finite("unit_margins", unit_margins.as_slice())?;
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
        let unit_support = raw.unit_support.unwrap_or(raw.support);
        for (name, value) in [("support", raw.support), ("unit_support", unit_support)] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(Error::InvalidParameter {
                    name,
                    value,
                    reason: "a support value is finite and non-negative",
                });
            }
        }
        for (name, v) in [
            ("direction", &direction),
            ("latent_direction", &latent_direction),
        ] {
            if let Some(v) = v {
                ensure_finite(name, v.as_slice())?;
            }
        }
        if let Some(v) = &direction {
            ensure_dim("direction", raw.dim, v.len())?;
        }
        let budgets = raw.budgets.into_vector();
        if let Some(&budget) = budgets.iter().find(|b| b.is_nan() || **b < 0.0) {
            return Err(Error::InvalidBudget { value: budget });
        }
        Ok(BatchAttack {
            unit_margins,
            margins,
            signs: raw.signs,
            budgets,
            support: raw.support,
            unit_support,
            direction,
            latent_direction,
            overshoot: raw.overshoot,
            dim: raw.dim,
        })
    }
}

via_raw!(BatchAttack, BatchAttackRaw, "batch attack");

// ---------------------------------------------------------------------------
// Results that hold a prepared solver problem: inputs plus results, solved
// again when read (module docs).
// ---------------------------------------------------------------------------

/// The layout version written in the `format` field of the results that
/// are solved again when read (module docs: older formats are re-solved
/// with the stored results ignored, newer ones rejected).
pub(crate) const FORMAT: u32 = 1;

/// The `format` field of a re-solved result. Missing, it is 0 (written
/// before versioning); a number above [`FORMAT`] is an error as soon as it
/// is read, before any field whose layout may have changed.
#[derive(Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
struct Format(u32);

impl Format {
    /// The format this crate writes.
    const CURRENT: Format = Format(FORMAT);

    /// True for a file written by an older version: read from its inputs.
    fn is_older(self) -> bool {
        self.0 < FORMAT
    }
}

impl<'de> Deserialize<'de> for Format {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let found = u32::deserialize(deserializer)?;
        if found > FORMAT {
            return Err(D::Error::custom(Error::UnsupportedFormat {
                name: "format",
                found,
                supported: FORMAT,
            }));
        }
        Ok(Format(found))
    }
}

/// Relative agreement required between a stored multiplier `λ` and the
/// re-solved one: each is the root of the secular equation to `1e-13`
/// relative accuracy (`training`), so they differ by at most `2e-13`
/// relative; the factor 5 leaves room for the warm starts of a sweep.
pub(crate) const MULTIPLIER_TOLERANCE: f64 = 1e-12;

/// The solution part of a [`RobustOptimum`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum SolutionRaw {
    /// An ellipsoidal threat: the multiplier, `null` for `λ = ∞`.
    Ellipsoid { lambda: Option<f64> },
    /// Any other threat: the dual solver's weights and adversary.
    Dual { weights: Plain, adversary: Plain },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RobustOptimumRaw {
    #[serde(default)]
    format: Format,
    model: Gmm,
    threat: Threat,
    budget: f64,
    options: SolverOptions,
    distance: f64,
    gap: f64,
    rounding: f64,
    iterations: usize,
    solution: SolutionRaw,
}

impl From<&RobustOptimum> for RobustOptimumRaw {
    fn from(opt: &RobustOptimum) -> Self {
        let origin = &opt.placement.origin;
        RobustOptimumRaw {
            format: Format::CURRENT,
            model: origin.model.clone(),
            threat: origin.threat.clone(),
            budget: opt.budget,
            options: origin.options.clone(),
            distance: opt.distance,
            gap: opt.gap,
            rounding: opt.rounding,
            iterations: opt.iterations,
            solution: match &opt.solution {
                Solution::Ellipsoid { lambda, .. } => SolutionRaw::Ellipsoid {
                    lambda: lambda.is_finite().then_some(*lambda),
                },
                Solution::Dual { weights, adversary } => SolutionRaw::Dual {
                    weights: Plain::of(weights),
                    adversary: Plain::of(adversary),
                },
            },
        }
    }
}

/// A stored result that disagrees with the re-solved optimum.
fn disagrees(name: &'static str, value: f64) -> Error {
    Error::InvalidParameter {
        name,
        value,
        reason: "disagrees with the optimum solved again from the stored inputs",
    }
}

impl TryFrom<RobustOptimumRaw> for RobustOptimum {
    type Error = Error;
    fn try_from(raw: RobustOptimumRaw) -> Result<Self> {
        let fresh = raw
            .model
            .robust_optimum_with(&raw.threat, raw.budget, &raw.options)?;
        if raw.format.is_older() {
            // Results of an older solver: today's solution replaces them.
            return Ok(fresh);
        }
        ensure_finite_value("distance", raw.distance)?;
        if !(raw.gap >= 0.0 && raw.gap.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "gap",
                value: raw.gap,
                reason: "a certified gap is finite and non-negative",
            });
        }
        if !(raw.rounding >= 0.0 && raw.rounding <= raw.gap) {
            return Err(Error::InvalidParameter {
                name: "rounding",
                value: raw.rounding,
                reason: "the rounding part of a gap lies in [0, gap]",
            });
        }
        // Both certified intervals [distance, distance + gap] hold r*, so
        // they overlap (up to the rounding of the two lower ends).
        let rounding = 8.0 * f64::EPSILON * raw.distance.abs().max(fresh.distance.abs());
        if raw.distance > fresh.distance + fresh.gap + rounding {
            return Err(disagrees("distance", raw.distance));
        }
        if fresh.distance > raw.distance + raw.gap + rounding {
            return Err(disagrees("gap", raw.gap));
        }
        let RobustOptimumRaw { solution, .. } = raw;
        let stored = Stored {
            model: &raw.model,
            threat: &raw.threat,
            budget: raw.budget,
            distance: raw.distance,
            gap: raw.gap,
        };
        let solution = match (solution, &fresh.solution) {
            (
                SolutionRaw::Ellipsoid { lambda },
                Solution::Ellipsoid {
                    problem,
                    lambda: new,
                },
            ) => {
                let lambda = lambda.unwrap_or(f64::INFINITY);
                let agree = if lambda.is_infinite() || new.is_infinite() {
                    lambda == *new
                } else {
                    (lambda - new).abs() <= MULTIPLIER_TOLERANCE * lambda.abs().max(new.abs())
                };
                if !agree {
                    return Err(disagrees("lambda", lambda));
                }
                Solution::Ellipsoid {
                    problem: Arc::clone(problem),
                    lambda,
                }
            }
            (
                SolutionRaw::Dual { weights, adversary },
                Solution::Dual {
                    adversary: new_adversary,
                    ..
                },
            ) => {
                let (weights, adversary) = (weights.into_vector(), adversary.into_vector());
                check_dual(&stored, &fresh, &weights, &adversary, new_adversary)?;
                Solution::Dual { weights, adversary }
            }
            _ => {
                return Err(Error::InvalidParameter {
                    name: "solution",
                    value: f64::NAN,
                    reason: "an ellipsoidal threat has a multiplier, any other threat weights and an adversary",
                });
            }
        };
        Ok(RobustOptimum {
            budget: raw.budget,
            distance: raw.distance,
            gap: raw.gap,
            rounding: raw.rounding,
            iterations: raw.iterations,
            solution,
            placement: fresh.placement,
        })
    }
}

/// Checks a dual solver's stored weights and adversary against the
/// certificate: the weights must attain the stored distance as their primal
/// ratio `ρ(w) = (wᵀμ − εσ_K(w))/‖w‖_Σ` (up to the rounding of evaluating
/// it), and the adversary must lie within `√(2rg + g²)` of the minimizer
/// `z*` for each of the two certificates, in the metric `Σ⁻¹`, since
/// `‖μ − z‖² ≥ r*² + ‖z − z*‖²` for every feasible `z`.
/// The stored inputs and certificate of an optimum being read.
struct Stored<'a> {
    model: &'a Gmm,
    threat: &'a Threat,
    budget: f64,
    distance: f64,
    gap: f64,
}

fn check_dual(
    raw: &Stored<'_>,
    fresh: &RobustOptimum,
    weights: &DVector<f64>,
    adversary: &DVector<f64>,
    new_adversary: &DVector<f64>,
) -> Result<()> {
    let model = raw.model;
    let d = model.dim();
    ensure_dim("weights", d, weights.len())?;
    ensure_dim("adversary", d, adversary.len())?;
    ensure_finite("weights", weights.as_slice())?;
    ensure_finite("adversary", adversary.as_slice())?;
    let mu = model.half_difference();
    let support = raw.threat.try_support(weights)?;
    let scale = model.covariance().quadratic_form(weights)?.sqrt();
    let magnitude = weights.abs().dot(&mu.abs()) + raw.budget * support;
    if scale == 0.0 {
        // No classifier (r* = 0, past the covering budget).
        if raw.distance != 0.0 {
            return Err(disagrees("weights", 0.0));
        }
    } else {
        let ratio = (weights.dot(&mu) - raw.budget * support) / scale;
        let rounding = 16.0 * (d as f64 + 2.0) * f64::EPSILON * (magnitude / scale + raw.distance);
        if ratio.is_nan() || ratio < raw.distance - rounding {
            return Err(disagrees("weights", ratio));
        }
    }
    let reach = |r: f64, g: f64| (2.0 * r * g + g * g).sqrt();
    let allowed = reach(raw.distance, raw.gap)
        + reach(fresh.distance, fresh.gap)
        + 1e-12 * model.covariance().inverse_quadratic_form(&mu)?.sqrt();
    let apart = model
        .covariance()
        .inverse_quadratic_form(&(adversary - new_adversary))?
        .sqrt();
    if apart.is_nan() || apart > allowed {
        return Err(disagrees("adversary", apart));
    }
    Ok(())
}

via_raw!(RobustOptimum, RobustOptimumRaw, "robust optimum");

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendedCovarianceRaw {
    #[serde(default)]
    format: Format,
    optimum: RobustOptimum,
    basis: GrowthBasis,
    variances_before: Plain,
    /// Infinite entries (past the budget limit) are `null`.
    variances_after: PlainExtended,
    relative_growth: PlainExtended,
    multiplicities: Vec<usize>,
}

impl From<&ExtendedCovariance> for ExtendedCovarianceRaw {
    fn from(ext: &ExtendedCovariance) -> Self {
        ExtendedCovarianceRaw {
            format: Format::CURRENT,
            optimum: ext.optimum.clone(),
            basis: ext.basis,
            variances_before: Plain::of(&ext.before),
            variances_after: PlainExtended::of(&ext.after),
            relative_growth: PlainExtended::of(&ext.growth),
            multiplicities: ext.multiplicities.clone(),
        }
    }
}

impl TryFrom<ExtendedCovarianceRaw> for ExtendedCovariance {
    type Error = Error;
    fn try_from(raw: ExtendedCovarianceRaw) -> Result<Self> {
        let Some(ext) = raw.optimum.extended_covariance() else {
            return Err(Error::InvalidParameter {
                name: "optimum",
                value: f64::NAN,
                reason: "an extended covariance belongs to an ellipsoidal threat's optimum",
            });
        };
        if raw.format.is_older() {
            // Entries of an older solver: the re-solved optimum's replace them.
            return Ok(ext);
        }
        if raw.basis != ext.basis {
            return Err(disagrees("basis", f64::NAN));
        }
        if raw.multiplicities != ext.multiplicities {
            return Err(disagrees("multiplicities", f64::NAN));
        }
        let growth = raw.relative_growth.into_vector();
        let after = raw.variances_after.into_vector();
        for (name, stored, new) in [
            (
                "variances_before",
                &raw.variances_before.into_vector(),
                &ext.before,
            ),
            ("variances_after", &after, &ext.after),
            ("relative_growth", &growth, &ext.growth),
        ] {
            ensure_dim(name, new.len(), stored.len())?;
            let largest = new
                .iter()
                .filter(|v| v.is_finite())
                .fold(0.0f64, |a, v| a.max(v.abs()));
            for (&s, &n) in stored.iter().zip(new.iter()) {
                let agree = if n.is_finite() {
                    (s - n).abs() <= 1e-12 * largest
                } else {
                    s == n
                };
                if !agree {
                    return Err(disagrees(name, s));
                }
            }
        }
        Ok(ext)
    }
}

via_raw!(
    ExtendedCovariance,
    ExtendedCovarianceRaw,
    "extended covariance"
);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConflictMatrixRaw {
    #[serde(default)]
    format: Format,
    target: f64,
    threats: Vec<Threat>,
    optima: Vec<RobustOptimum>,
    cross: Rows,
    conflicts: Rows,
}

impl From<&ConflictMatrix> for ConflictMatrixRaw {
    fn from(matrix: &ConflictMatrix) -> Self {
        ConflictMatrixRaw {
            format: Format::CURRENT,
            target: matrix.target,
            threats: matrix.threats.clone(),
            optima: matrix.optima.clone(),
            cross: Rows::of(&matrix.cross),
            conflicts: Rows::of(&matrix.conflicts),
        }
    }
}

impl TryFrom<ConflictMatrixRaw> for ConflictMatrix {
    type Error = Error;
    fn try_from(raw: ConflictMatrixRaw) -> Result<Self> {
        let n = raw.threats.len();
        if n == 0 {
            return Err(Error::Empty { name: "threats" });
        }
        ensure_dim("optima", n, raw.optima.len())?;
        let model = &raw.optima[0].placement.origin.model;
        let r_target = crate::training::distance_for_error(raw.target, model.prior_pos())?;
        for (threat, optimum) in raw.threats.iter().zip(&raw.optima) {
            let origin = &optimum.placement.origin;
            if origin.model != *model || origin.threat != *threat {
                return Err(Error::InvalidParameter {
                    name: "optima",
                    value: optimum.budget,
                    reason: "optimum i is threat i's, and all optima are of one model",
                });
            }
            let off = (optimum.distance - r_target).abs();
            let reached =
                off <= optimum.gap + MATCH_TOLERANCE * r_target + 8.0 * f64::EPSILON * r_target;
            // An older file's optima were solved again: only its inputs count.
            if !reached && !raw.format.is_older() {
                return Err(disagrees("target", raw.target));
            }
        }
        let (cross, conflicts) = cross_and_conflicts(model, &raw.threats, &raw.optima)?;
        let stored_matrices = if raw.format.is_older() {
            // Computed by an older version: the new matrices replace them.
            Vec::new()
        } else {
            vec![
                ("cross", raw.cross, &cross),
                ("conflicts", raw.conflicts, &conflicts),
            ]
        };
        for (name, stored, new) in stored_matrices {
            let stored = stored.into_matrix(name)?;
            ensure_dim(name, n, stored.nrows())?;
            ensure_dim(name, n, stored.ncols())?;
            for (&s, &c) in stored.iter().zip(new.iter()) {
                let off = (s - c).abs();
                if off.is_nan() || off > 1e-12 * c.abs() {
                    return Err(disagrees(name, s));
                }
            }
        }
        Ok(ConflictMatrix {
            target: raw.target,
            threats: raw.threats,
            optima: raw.optima,
            cross,
            conflicts,
        })
    }
}

via_raw!(ConflictMatrix, ConflictMatrixRaw, "conflict matrix");

// ---------------------------------------------------------------------------
// Multi-class models and classifiers.
// ---------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MulticlassGmmRaw {
    means: Vec<Plain>,
    covariance: Covariance,
    priors: Plain,
}

impl From<&MulticlassGmm> for MulticlassGmmRaw {
    fn from(model: &MulticlassGmm) -> Self {
        MulticlassGmmRaw {
            means: model.means().iter().map(Plain::of).collect(),
            covariance: model.covariance().clone(),
            priors: Plain::of(model.priors()),
        }
    }
}

impl TryFrom<MulticlassGmmRaw> for MulticlassGmm {
    type Error = Error;
    fn try_from(raw: MulticlassGmmRaw) -> Result<Self> {
        MulticlassGmm::new(
            raw.means.into_iter().map(Plain::into_vector).collect(),
            raw.covariance,
            raw.priors.into_vector(),
        )
    }
}

via_raw!(MulticlassGmm, MulticlassGmmRaw, "multi-class model");

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MulticlassClassifierRaw {
    /// `K × d`, row `k` is `w_k`.
    weights: Rows,
    biases: Plain,
}

impl From<&MulticlassClassifier> for MulticlassClassifierRaw {
    fn from(clf: &MulticlassClassifier) -> Self {
        MulticlassClassifierRaw {
            weights: Rows::of(clf.weights()),
            biases: Plain::of(clf.biases()),
        }
    }
}

impl TryFrom<MulticlassClassifierRaw> for MulticlassClassifier {
    type Error = Error;
    fn try_from(raw: MulticlassClassifierRaw) -> Result<Self> {
        MulticlassClassifier::new(
            raw.weights.into_matrix("weights")?,
            raw.biases.into_vector(),
        )
    }
}

via_raw!(
    MulticlassClassifier,
    MulticlassClassifierRaw,
    "multi-class classifier"
);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FacetAttacksRaw {
    classifier: MulticlassClassifier,
    threat: Threat,
    overshoot: f64,
}

impl From<&FacetAttacks> for FacetAttacksRaw {
    fn from(attacks: &FacetAttacks) -> Self {
        FacetAttacksRaw {
            classifier: attacks.classifier().clone(),
            threat: attacks.threat().clone(),
            overshoot: attacks.overshoot(),
        }
    }
}

impl TryFrom<FacetAttacksRaw> for FacetAttacks {
    type Error = Error;
    fn try_from(raw: FacetAttacksRaw) -> Result<Self> {
        FacetAttacks::with_options(
            &raw.classifier,
            &raw.threat,
            &AttackOptions::default().with_overshoot(raw.overshoot),
        )
    }
}

via_raw!(FacetAttacks, FacetAttacksRaw, "facet attacks");

/// One point's decision in a multi-class batch attack: its nearest facet
/// with the facet margin at size one (from which the step is rebuilt).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum DecisionRaw {
    Misclassified,
    Unreachable,
    Flip {
        to: usize,
        budget: f64,
        margin: f64,
        tied: Vec<usize>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MulticlassBatchAttackRaw {
    attacks: FacetAttacks,
    labels: Vec<usize>,
    decisions: Vec<DecisionRaw>,
}

impl From<&MulticlassBatchAttack> for MulticlassBatchAttackRaw {
    fn from(batch: &MulticlassBatchAttack) -> Self {
        MulticlassBatchAttackRaw {
            attacks: batch.attacks.clone(),
            labels: batch.labels.clone(),
            decisions: batch
                .decisions
                .iter()
                .map(|decision| match decision {
                    Decision::Misclassified => DecisionRaw::Misclassified,
                    Decision::Unreachable => DecisionRaw::Unreachable,
                    Decision::Flip {
                        to,
                        budget,
                        margin,
                        tied,
                    } => DecisionRaw::Flip {
                        to: *to,
                        budget: *budget,
                        margin: *margin,
                        tied: tied.clone(),
                    },
                })
                .collect(),
        }
    }
}

/// A decision that the classifier and threat do not allow.
fn impossible_decision(index: usize) -> Error {
    Error::InvalidParameter {
        name: "decisions",
        value: index as f64,
        reason: "the decision of this point is impossible for the classifier and threat",
    }
}

impl TryFrom<MulticlassBatchAttackRaw> for MulticlassBatchAttack {
    type Error = Error;
    /// Checks every decision against the prepared facets: a flip goes to
    /// another class whose facet the threat can move, with a positive
    /// margin and the budget `margin / σ_K` the attack computes (to 8 ulps);
    /// its ties are other classes, ascending; an unreachable point has no
    /// movable facet. (Which facet is nearest needs the points, which are
    /// not stored.)
    fn try_from(raw: MulticlassBatchAttackRaw) -> Result<Self> {
        let attacks = raw.attacks;
        let classes = attacks.classifier().classes();
        ensure_dim("decisions", raw.labels.len(), raw.decisions.len())?;
        if let Some(index) = raw.labels.iter().position(|&l| l >= classes) {
            return Err(Error::LabelOutOfRange {
                name: "labels",
                index,
                label: raw.labels[index],
                classes,
            });
        }
        let mut decisions = Vec::with_capacity(raw.decisions.len());
        for (i, (decision, &y)) in raw.decisions.into_iter().zip(&raw.labels).enumerate() {
            decisions.push(match decision {
                DecisionRaw::Misclassified => Decision::Misclassified,
                DecisionRaw::Unreachable => {
                    if (0..classes).any(|j| j != y && attacks.unit_support(y, j) > 0.0) {
                        return Err(impossible_decision(i));
                    }
                    Decision::Unreachable
                }
                DecisionRaw::Flip {
                    to,
                    budget,
                    margin,
                    tied,
                } => {
                    let valid_class = |j: usize| j < classes && j != y;
                    let valid_margin = margin > 0.0 && margin.is_finite();
                    if !(valid_class(to) && valid_margin)
                        || tied.iter().any(|&j| !valid_class(j) || j == to)
                        || tied.windows(2).any(|p| p[0] >= p[1])
                    {
                        return Err(impossible_decision(i));
                    }
                    let support = attacks.unit_support(y, to);
                    let expected = margin / support;
                    if !(support > 0.0
                        && (budget - expected).abs() <= 8.0 * f64::EPSILON * expected)
                    {
                        return Err(Error::InvalidBudget { value: budget });
                    }
                    Decision::Flip {
                        to,
                        budget,
                        margin,
                        tied,
                    }
                }
            });
        }
        Ok(MulticlassBatchAttack {
            attacks,
            labels: raw.labels,
            decisions,
        })
    }
}

via_raw!(
    MulticlassBatchAttack,
    MulticlassBatchAttackRaw,
    "multi-class batch attack"
);
