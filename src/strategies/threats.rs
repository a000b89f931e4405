//! Threats of every family, and budgets relative to a threat's reach.

use nalgebra::DMatrix;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::covariances::covariance;
use super::models::uncentered_model;
use crate::covariance::Covariance;
use crate::error::{Error, Result};
use crate::gmm::Gmm;
use crate::threat::Threat;
use crate::training::dual::projection::conjugate;

/// A threat of the [THEORY §3](crate::theory#3-threat-models) table,
/// described apart from any covariance: [`ThreatSpec::build`] makes the
/// crate's [`Threat`] for a covariance. Tests can rebuild the same body by
/// hand from the description (an independent computation to compare with).
#[derive(Debug, Clone, PartialEq)]
pub enum ThreatSpec {
    /// `‖v‖_p ≤ 1` (`f64::INFINITY` for ℓ∞).
    Lp(f64),
    /// `A = UΛ^{1/2}`.
    Generative,
    /// `A = U_kΛ_k^{1/2}`.
    GenerativeRank(usize),
    /// `A = U_k`.
    Eigenspace(usize),
    /// `A = U_{k+1..d}`.
    OffManifold(usize),
    /// A general factor `A` (`K = {Au : ‖u‖ ≤ 1}`).
    Ellipsoid(DMatrix<f64>),
    /// `conv(∪ ε_i K_i)` with relative budgets `ε_i`.
    Union(Vec<(ThreatSpec, f64)>),
}

impl ThreatSpec {
    /// The crate's threat for this description and covariance.
    ///
    /// # Errors
    /// As the [`Threat`] constructors: [`Error::InvalidRank`],
    /// [`Error::AmbiguousEigenspace`] for a cut inside a tie of the
    /// spectrum, and so on.
    pub fn build(&self, cov: &Covariance) -> Result<Threat> {
        Ok(match self {
            ThreatSpec::Lp(p) => Threat::lp(*p)?,
            ThreatSpec::Generative => Threat::generative(cov),
            ThreatSpec::GenerativeRank(k) => Threat::generative_rank(cov, *k)?,
            ThreatSpec::Eigenspace(k) => Threat::eigenspace(cov, *k)?,
            ThreatSpec::OffManifold(k) => Threat::off_manifold(cov, *k)?,
            ThreatSpec::Ellipsoid(a) => Threat::ellipsoid(a.clone())?,
            ThreatSpec::Union(parts) => Threat::union(
                parts
                    .iter()
                    .map(|(c, b)| c.build(cov).map(|t| (t, *b)))
                    .collect::<Result<Vec<_>>>()?,
            )?,
        })
    }

    /// True for ellipsoids (ℓ2 and every factor-based family): the threats
    /// with a closed-form robust optimum.
    pub fn is_ellipsoid(&self) -> bool {
        match self {
            ThreatSpec::Lp(p) => *p == 2.0,
            ThreatSpec::Union(_) => false,
            _ => true,
        }
    }
}

/// A random threat description for a covariance: ℓp with
/// `p ∈ {1, 1.5, 2, 3, ∞}`, the four model-based families with ranks up to
/// the number of explicit directions, general factors with 1 to `d + 1`
/// columns and entries in `[−1, 1]`, and (one draw in seven) unions of two
/// of these with relative budgets in `[0.2, 2)`. A rank may cut a tie of
/// the spectrum, which [`ThreatSpec::build`] rejects.
pub fn threat_spec(cov: &Covariance) -> impl Strategy<Value = ThreatSpec> + use<> {
    let d = cov.dim();
    let explicit = cov.explicit_directions();
    let simple = prop_oneof![
        prop::sample::select(vec![1.0, 1.5, 2.0, 3.0, f64::INFINITY]).prop_map(ThreatSpec::Lp),
        Just(ThreatSpec::Generative),
        (1..=explicit).prop_map(ThreatSpec::GenerativeRank),
        (1..=explicit).prop_map(ThreatSpec::Eigenspace),
        (1..=explicit).prop_map(ThreatSpec::OffManifold),
        (1..=d + 1).prop_flat_map(move |m| {
            prop::collection::vec(-1.0f64..1.0, d * m)
                .prop_map(move |v| ThreatSpec::Ellipsoid(DMatrix::from_vec(d, m, v)))
        }),
    ];
    let simple_for_union = simple.clone();
    prop_oneof![
        6 => simple,
        1 => prop::collection::vec((simple_for_union, 0.2f64..2.0), 2)
            .prop_map(ThreatSpec::Union),
    ]
}

/// A random threat for a covariance: [`threat_spec`] built, leaving out
/// the descriptions the covariance rejects (cuts inside a tie).
pub fn threat(cov: &Covariance) -> BoxedStrategy<Threat> {
    let cov = cov.clone();
    threat_spec(&cov)
        .prop_filter_map("a cut inside a tie of the spectrum", move |spec| {
            spec.build(&cov).ok()
        })
        .boxed()
}

/// A covariance (the default [`covariance`]) with a random threat
/// description of its table.
pub fn covariance_and_threat() -> BoxedStrategy<(Covariance, ThreatSpec)> {
    covariance()
        .prop_flat_map(|cov| threat_spec(&cov).prop_map(move |t| (cov.clone(), t)))
        .boxed()
}

/// An [`uncentered_model`] with a random threat description of its table.
pub fn uncentered_model_and_threat() -> BoxedStrategy<(Gmm, ThreatSpec)> {
    uncentered_model()
        .prop_flat_map(|gmm| {
            let cov = gmm.covariance().clone();
            threat_spec(&cov).prop_map(move |t| (gmm.clone(), t))
        })
        .boxed()
}

/// The covering budget of a threat for a model (module docs, Budgets):
/// `ε_max` for an ellipsoid, `‖μ‖_p` for an ℓp ball, and for a union
/// `max_i covering_i/ε_i`.
///
/// # Errors
/// [`Error::DimensionMismatch`] when the threat's dimension is not the
/// model's; the errors of [`Gmm::robust_optimum`] at `ε = 0` for an
/// ellipsoid.
pub fn covering_budget(gmm: &Gmm, threat: &Threat) -> Result<f64> {
    if let Some(parts) = threat.union_parts() {
        let mut out: f64 = 0.0;
        for (part, budget) in parts {
            out = out.max(covering_budget(gmm, part)? / budget);
        }
        return Ok(out);
    }
    if let Some(d) = threat.dim()
        && d != gmm.dim()
    {
        return Err(Error::DimensionMismatch {
            name: "threat",
            expected: gmm.dim(),
            found: d,
        });
    }
    match threat.lp_exponent() {
        // ‖μ‖_p is the support function of the dual ball, the ℓq ball.
        Some(p) if p != 2.0 => Ok(Threat::lp(conjugate(p))?.support(&gmm.half_difference())),
        _ => {
            let optimum = gmm.robust_optimum(threat, 0.0)?;
            Ok(optimum
                .budget_limit()
                .expect("an ellipsoid's optimum has a budget limit"))
        }
    }
}

/// Budgets `f · covering_budget(gmm, threat)` with fractions `f` drawn
/// uniformly from `fractions` (for example `0.0..1.5` reaches past the
/// covering budget).
///
/// # Errors
/// As [`covering_budget`].
///
/// # Panics
/// When `fractions` is empty or has a negative end.
pub fn budget(
    gmm: &Gmm,
    threat: &Threat,
    fractions: std::ops::Range<f64>,
) -> Result<BoxedStrategy<f64>> {
    assert!(
        fractions.start >= 0.0 && fractions.start < fractions.end,
        "budget: need a non-empty range of non-negative fractions, got {fractions:?}"
    );
    let scale = covering_budget(gmm, threat)?;
    Ok(fractions.prop_map(move |f| f * scale).boxed())
}

/// A model of `models` with two threat descriptions of its table
/// (ellipsoids only if asked) and two budget fractions in `[0, 1.3)`, to
/// be scaled by each threat's [`covering_budget`].
pub fn threat_pair(
    models: impl Strategy<Value = Gmm>,
    ellipsoids_only: bool,
) -> impl Strategy<Value = (Gmm, ThreatSpec, ThreatSpec, f64, f64)> {
    models.prop_flat_map(move |gmm| {
        let cov = gmm.covariance().clone();
        let case = move || {
            threat_spec(&cov).prop_filter("ellipsoids only", move |c| {
                !ellipsoids_only || c.is_ellipsoid()
            })
        };
        (case(), case(), 0.0f64..1.3, 0.0f64..1.3)
            .prop_map(move |(a, b, fa, fb)| (gmm.clone(), a, b, fa, fb))
    })
}
