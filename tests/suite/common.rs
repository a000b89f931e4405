//! Test-only helpers shared by the property tests: tolerances, the
//! by-hand threat bodies the crate is compared with, rounding bounds and
//! the skip counter.
//!
//! The random models, threats and budgets come from the crate's public
//! `strategies` module (feature `proptest`, on for the crate's own tests),
//! re-exported here so every test module draws from the same place and a
//! change of distribution reaches every test.
#![allow(dead_code)]

// The crate's own seeded rotations, so the tests draw the same matrices.
#[path = "../../src/seeded.rs"]
mod seeded;

pub use manifold_robustness::strategies::*;
pub use manifold_robustness::strategies::{
    ThreatSpec as ThreatCase, threat_pair as pair_on, threat_spec as threat_case,
};

use manifold_robustness::nalgebra::{self, DMatrix, DVector};
use manifold_robustness::{Covariance, Gmm};
use proptest::prelude::*;
pub(crate) use seeded::seeded_rotation;

/// Tolerances, each with the reason it has its size.
pub mod tol {
    /// Identities evaluated in O(d) floating-point steps on well-conditioned
    /// data (condition number ≤ 1e4 in the strategies below): a few hundred ulps.
    pub const IDENTITY: f64 = 1e-10;
    /// Exact closed forms compared with a different evaluation order.
    pub const CLOSED_FORM: f64 = 1e-12;
    /// Standard errors for Monte Carlo comparisons (binomial / CLT).
    pub const MONTE_CARLO_SIGMAS: f64 = 5.0;
}

/// Relative difference `|a − b| / max(|a|, |b|, floor)`.
pub fn rel_diff(a: f64, b: f64, floor: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(floor)
}

// ---------------------------------------------------------------------------
// Threats of the THEORY §3 table, rebuilt by hand (attacks, P2, P8).
// ---------------------------------------------------------------------------

use manifold_robustness::{Error, Threat};

/// The by-hand counterparts of a [`ThreatCase`] (a description of a
/// threat of the THEORY §3 table): each body rebuilt from the dense
/// covariance's own eigen-decomposition with nalgebra, so tests compare the
/// crate with an independent computation of the same body.
pub trait ByHand {
    /// A factor `A` with `K = {Au : ‖u‖ ≤ 1}`, by hand from the
    /// covariance's eigenvectors (`A = U diag(√m)`, plus `√m (I − U_kU_kᵀ)`
    /// for a weighted noise block); `None` for non-ellipsoids (ℓp with
    /// `p ≠ 2`, unions).
    fn factor(&self, cov: &Covariance) -> Option<DMatrix<f64>>;
    /// `σ_K(w)` by hand: `‖w‖_q`, `‖Aᵀw‖`, or the largest scaled part.
    fn support_by_hand(&self, cov: &Covariance, w: &DVector<f64>) -> f64;
    /// The gauge `min{t ≥ 0 : δ ∈ tK}` by hand (`f64::INFINITY` when `δ`
    /// leaves the span of an ellipsoid's factor). For a union this is the
    /// best single part, `min_i gauge_i(δ)/ε_i`: an upper bound of the
    /// union's gauge, exact for a part's own steepest step.
    fn gauge(&self, cov: &Covariance, delta: &DVector<f64>) -> f64;
    /// Relative tolerance for comparing [`ByHand::gauge`]: for a general
    /// factor the QR solve is backward stable, so its relative error is a
    /// modest multiple of `cond(A) · ε_mach`; `1e-12 · cond(A)` (about
    /// `4500 ε cond`) leaves room for that and still catches any wrong
    /// budget, which would be off by O(1).
    fn gauge_tolerance(&self) -> f64;
}

/// `(explicit eigenvectors, their eigenvalues, Some((I − U_kU_kᵀ, σ²)) for spiked)`.
pub type SpectralParts = (DMatrix<f64>, Vec<f64>, Option<(DMatrix<f64>, f64)>);

/// The covariance's eigen-directions as explicit matrices: the `d × k_e`
/// explicit eigenvectors (descending), their eigenvalues, and for a spiked
/// covariance the noise projector `I − U_kU_kᵀ` with the noise level.
pub fn spectral_parts(cov: &Covariance) -> SpectralParts {
    let d = cov.dim();
    let explicit = cov.explicit_directions();
    let basis = cov.leading_basis(explicit).unwrap();
    let values: Vec<f64> = cov.eigenvalues().iter().copied().collect();
    if explicit < d {
        let projector = DMatrix::identity(d, d) - &basis * basis.transpose();
        (
            basis,
            values[..explicit].to_vec(),
            Some((projector, values[explicit])),
        )
    } else {
        (basis, values, None)
    }
}

/// The doubles of a space-separated field of a committed reference table.
pub fn table_numbers(field: &str) -> Vec<f64> {
    field
        .split_whitespace()
        .map(|v| v.parse::<f64>().expect("a double"))
        .collect()
}

/// Concatenates the columns of two matrices with the same number of rows.
pub fn hstack(a: &DMatrix<f64>, b: &DMatrix<f64>) -> DMatrix<f64> {
    let mut out = DMatrix::zeros(a.nrows(), a.ncols() + b.ncols());
    out.columns_mut(0, a.ncols()).copy_from(a);
    out.columns_mut(a.ncols(), b.ncols()).copy_from(b);
    out
}

/// `‖v‖_p` written out (no scaling tricks: test data are moderate).
pub fn lp_norm(v: &DVector<f64>, p: f64) -> f64 {
    if p == f64::INFINITY {
        v.amax()
    } else {
        v.iter().map(|x| x.abs().powf(p)).sum::<f64>().powf(1.0 / p)
    }
}

/// The Hölder conjugate `q` of `p`.
pub fn conjugate(p: f64) -> f64 {
    if p == 1.0 {
        f64::INFINITY
    } else if p == f64::INFINITY {
        1.0
    } else {
        p / (p - 1.0)
    }
}

impl ByHand for ThreatCase {
    /// A factor `A` with `K = {Au : ‖u‖ ≤ 1}`, by hand from the
    /// covariance's eigenvectors (`A = U diag(√m)`, plus `√m (I − U_kU_kᵀ)`
    /// for a weighted noise block); `None` for non-ellipsoids (ℓp with
    /// `p ≠ 2`, unions).
    fn factor(&self, cov: &Covariance) -> Option<DMatrix<f64>> {
        let d = cov.dim();
        let (basis, values, noise) = spectral_parts(cov);
        let weighted = |weight: &dyn Fn(usize, f64) -> f64, noise_weight: f64| {
            let cols = DMatrix::from_fn(d, basis.ncols(), |r, c| {
                basis[(r, c)] * weight(c, values[c]).sqrt()
            });
            match &noise {
                Some((projector, _)) if noise_weight > 0.0 => {
                    hstack(&cols, &(projector * noise_weight.sqrt()))
                }
                _ => cols,
            }
        };
        let noise_level = noise.as_ref().map_or(0.0, |(_, level)| *level);
        match self {
            ThreatCase::Lp(p) if *p == 2.0 => Some(DMatrix::identity(d, d)),
            ThreatCase::Lp(_) | ThreatCase::Union(_) => None,
            ThreatCase::Generative => Some(weighted(&|_, l| l, noise_level)),
            ThreatCase::GenerativeRank(k) => {
                Some(weighted(&|c, l| if c < *k { l } else { 0.0 }, 0.0))
            }
            ThreatCase::Eigenspace(k) => {
                Some(weighted(&|c, _| if c < *k { 1.0 } else { 0.0 }, 0.0))
            }
            ThreatCase::OffManifold(k) => {
                Some(weighted(&|c, _| if c >= *k { 1.0 } else { 0.0 }, 1.0))
            }
            ThreatCase::Ellipsoid(a) => Some(a.clone()),
        }
    }

    /// `σ_K(w)` by hand: `‖w‖_q`, `‖Aᵀw‖`, or the largest scaled part.
    fn support_by_hand(&self, cov: &Covariance, w: &DVector<f64>) -> f64 {
        match self {
            ThreatCase::Lp(p) if *p != 2.0 => lp_norm(w, conjugate(*p)),
            ThreatCase::Union(parts) => parts
                .iter()
                .map(|(c, b)| b * c.support_by_hand(cov, w))
                .fold(0.0, f64::max),
            _ => self.factor(cov).unwrap().tr_mul(w).norm(),
        }
    }

    /// The gauge `min{t ≥ 0 : δ ∈ tK}` by hand (`f64::INFINITY` when `δ`
    /// leaves the span of an ellipsoid's factor). For a union this is the
    /// best single part, `min_i gauge_i(δ)/ε_i`: an upper bound of the
    /// union's gauge, exact for a part's own steepest step.
    fn gauge(&self, cov: &Covariance, delta: &DVector<f64>) -> f64 {
        match self {
            ThreatCase::Lp(p) if *p != 2.0 => lp_norm(delta, *p),
            ThreatCase::Union(parts) => parts
                .iter()
                .map(|(c, b)| c.gauge(cov, delta) / b)
                .fold(f64::INFINITY, f64::min),
            ThreatCase::Ellipsoid(a) => factor_gauge(a, delta),
            _ => {
                // Structured: A = U diag(√m) (+ √m_noise (I − U_kU_kᵀ)), so
                // gauge² = Σ_{m_i>0} (u_iᵀδ)²/m_i, and δ must have no energy
                // where m_i = 0. (nalgebra's SVD is not used: it loses ~1e-8
                // on scaled permutation matrices, dimforge/nalgebra#1172.)
                let (basis, values, noise) = spectral_parts(cov);
                let weights =
                    spectral_weights(self, &values, noise.as_ref().map(|(_, level)| *level));
                let coords = basis.tr_mul(delta);
                let mut inside = 0.0;
                let mut outside = 0.0;
                for i in 0..coords.len() {
                    if weights[i] > 0.0 {
                        inside += coords[i] * coords[i] / weights[i];
                    } else {
                        outside += coords[i] * coords[i];
                    }
                }
                if let Some((projector, _)) = &noise {
                    let residual = (projector * delta).norm_squared();
                    let m = weights[coords.len()];
                    if m > 0.0 {
                        inside += residual / m;
                    } else {
                        outside += residual;
                    }
                }
                if outside.sqrt() > 1e-9 * delta.norm().max(1e-300) {
                    f64::INFINITY
                } else {
                    inside.sqrt()
                }
            }
        }
    }

    fn gauge_tolerance(&self) -> f64 {
        match self {
            ThreatCase::Lp(p) if *p != 2.0 => 1e-12,
            ThreatCase::Union(parts) => parts
                .iter()
                .map(|(c, _)| c.gauge_tolerance())
                .fold(0.0, f64::max),
            ThreatCase::Ellipsoid(a) => {
                // Only a rough condition number is needed here.
                let values = a.singular_values();
                let max = values.max();
                let min = values
                    .iter()
                    .copied()
                    .filter(|&v| v > 1e-10 * max)
                    .fold(f64::INFINITY, f64::min);
                1e-12 * (max / min).max(1.0)
            }
            // The structured gauge divides by m_i ≥ 1e-2: a few ulps.
            _ => 1e-12,
        }
    }
}

/// The weights `m_i` of a model-based ellipsoid (or ℓ2) per explicit
/// direction, then one for the noise block (if there is one).
fn spectral_weights(case: &ThreatCase, values: &[f64], noise_level: Option<f64>) -> Vec<f64> {
    let mut out: Vec<f64> = (0..values.len())
        .map(|i| match case {
            ThreatCase::Lp(_) => 1.0,
            ThreatCase::Generative => values[i],
            ThreatCase::GenerativeRank(k) => {
                if i < *k {
                    values[i]
                } else {
                    0.0
                }
            }
            ThreatCase::Eigenspace(k) => {
                if i < *k {
                    1.0
                } else {
                    0.0
                }
            }
            ThreatCase::OffManifold(k) => {
                if i >= *k {
                    1.0
                } else {
                    0.0
                }
            }
            _ => unreachable!("not a spectral case"),
        })
        .collect();
    if let Some(level) = noise_level {
        out.push(match case {
            ThreatCase::Lp(_) | ThreatCase::OffManifold(_) => 1.0,
            ThreatCase::Generative => level,
            _ => 0.0,
        });
    }
    out
}

/// `min{‖u‖ : Au = δ}` for a general factor, by Householder QR (∞ when
/// `δ` leaves the range of `A`).
pub fn factor_gauge(a: &DMatrix<f64>, delta: &DVector<f64>) -> f64 {
    let (d, m) = a.shape();
    if m <= d {
        // A = QR with R upper triangular m × m: u = R⁻¹Qᵀδ, range(A) = range(Q).
        let qr = a.clone().qr();
        let q = qr.q();
        let r = qr.r();
        let coefficients = q.tr_mul(delta);
        let off_span = (delta - &q * &coefficients).norm();
        if off_span > 1e-9 * delta.norm().max(1e-300) {
            return f64::INFINITY;
        }
        r.solve_upper_triangular(&coefficients)
            .map_or(f64::INFINITY, |u| u.norm())
    } else {
        // Aᵀ = QR with Q m × d: the least-norm u is Q R⁻ᵀ δ, of norm ‖R⁻ᵀδ‖.
        let qr = a.transpose().qr();
        let r = qr.r();
        r.transpose()
            .solve_lower_triangular(delta)
            .map_or(f64::INFINITY, |z| z.norm())
    }
}

// ---------------------------------------------------------------------------
// General models (THEORY P4′) and pairs of threats (§8).
// ---------------------------------------------------------------------------

/// `max φ = 1/√(2π)`: a certified gap `g` on `r*` moves the optimal robust
/// error by at most `PDF_MAX · g` (mean value theorem: its derivative in `r`
/// is `−(π φ(r + β*) + (1 − π) φ(r − β*))`, a convex combination of values
/// of `φ`; `φ(r)` at prior 1/2).
pub const PDF_MAX: f64 = 0.398_942_280_401_432_7;

/// Rounding in a robust error evaluated two ways (directly as
/// `π Φ(−a − β) + (1 − π) Φ(−a + β)` from the built classifier, or through
/// the solver's certificate): `a = (wᵀμ − εσ_K(w))/‖w‖_Σ` has terms of size
/// up to `r*(0)` (`wᵀμ/‖w‖_Σ ≤ r*(0)` by Cauchy–Schwarz, `εσ_K(w) ≤ wᵀμ`
/// while `r* ≥ 0`), `β = (b + wᵀc)/‖w‖_Σ` a cancellation of terms up to
/// `‖c‖_{Σ⁻¹}` (again Cauchy–Schwarz) plus `ℓ/(2r*)`, whose relative
/// rounding moves the error by at most `φ(r − β)|β| ≤ 0.4(1 + r)`. Each
/// term carries the error of a transform to and from the eigenbasis, about
/// `d · ε_mach · cond(Σ)` relative, and for a general factor that of the
/// pencil's eigendecomposition, which squares `cond(A)` (the Gram matrix
/// `BᵀB`); times `φ ≤ 0.4`. Measured on symmetric models over 20 000 random
/// cases: at most `39 ε cond(Σ)(1 + r*(0))` for model-based threats and
/// `1.4 ε cond(Σ) cond(A)² (1 + r*(0))` for general factors.
pub fn rounding(gmm: &Gmm, cases: &[&ThreatCase]) -> f64 {
    let values = gmm.covariance().eigenvalues();
    let cond = values.max() / values.min();
    let factor = cases
        .iter()
        .map(|c| factor_conditioning(c))
        .fold(1.0, f64::max);
    let center = gmm
        .covariance()
        .inverse_quadratic_form(&gmm.center())
        .unwrap()
        .sqrt();
    64.0 * f64::EPSILON * cond * factor * (1.0 + full_distance(gmm) + center)
}

/// `cond(A)²` over the non-zero singular values of a general factor (1 for
/// the other cases; the largest part's for a union).
pub fn factor_conditioning(case: &ThreatCase) -> f64 {
    match case {
        ThreatCase::Ellipsoid(a) => {
            let values = a.singular_values();
            let top = values.max();
            let low = values
                .iter()
                .copied()
                .filter(|v| *v > 1e-10 * top)
                .fold(f64::INFINITY, f64::min);
            (top / low).powi(2)
        }
        ThreatCase::Union(parts) => parts
            .iter()
            .map(|(c, _)| factor_conditioning(c))
            .fold(1.0, f64::max),
        _ => 1.0,
    }
}

/// `r*(0) = ‖μ‖_{Σ⁻¹}`.
pub fn full_distance(gmm: &Gmm) -> f64 {
    gmm.separation() / 2.0
}

/// The covering budget of a built case (`strategies::covering_budget`):
/// `ε_max` for ellipsoids, `‖μ‖_p` for ℓp balls, the largest part's
/// `scale_i/ε_i` for unions.
pub fn budget_scale(gmm: &Gmm, _case: &ThreatCase, threat: &Threat) -> f64 {
    covering_budget(gmm, threat).unwrap()
}

/// True for the cases the closed-form solver handles (ellipsoids).
pub fn is_ellipsoid(case: &ThreatCase) -> bool {
    case.is_ellipsoid()
}

/// Builds both threats and their budgets, or `None` when a case is not
/// valid for this covariance (an ambiguous eigenspace cut).
pub fn build_pair(
    gmm: &Gmm,
    a: &ThreatCase,
    b: &ThreatCase,
    fa: f64,
    fb: f64,
) -> Option<(Threat, f64, Threat, f64)> {
    let cov = gmm.covariance();
    let ta = a.build(cov).ok()?;
    let tb = b.build(cov).ok()?;
    let ea = fa * budget_scale(gmm, a, &ta);
    let eb = fb * budget_scale(gmm, b, &tb);
    Some((ta, ea, tb, eb))
}

/// Counts the cases of one property test and those the certified dual
/// solver ends with its typed [`Error::NoConvergence`] (its documented
/// failure mode on some hard unions and ℓp balls), and fails the test once
/// the skips exceed `2 + cases/16`: a skip is never a silent pass. Used
/// through [`solved!`], one `static` per test.
pub struct SkipCap {
    cases: AtomicUsize,
    skips: AtomicUsize,
}

use std::sync::atomic::{AtomicUsize, Ordering};

impl SkipCap {
    /// A fresh counter.
    pub const fn new() -> SkipCap {
        SkipCap {
            cases: AtomicUsize::new(0),
            skips: AtomicUsize::new(0),
        }
    }

    /// Counts one case.
    pub fn case(&self) {
        self.cases.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one skip; an error once they exceed the cap.
    pub fn skip(&self, error: &Error) -> Result<(), TestCaseError> {
        let skips = self.skips.fetch_add(1, Ordering::Relaxed) + 1;
        let cases = self.cases.load(Ordering::Relaxed);
        if skips > 2 + cases / 16 {
            Err(TestCaseError::fail(format!(
                "{skips} of {cases} cases skipped on NoConvergence (cap 2 + cases/16); last: {error}"
            )))
        } else {
            Ok(())
        }
    }
}

/// Unwraps a solver result inside a property test, or ends the case when
/// the certified dual solver stops with [`Error::NoConvergence`], counting
/// it in the test's [`SkipCap`] (which fails the test past its cap). Any
/// other error fails the test.
#[macro_export]
macro_rules! solved {
    ($skips:expr, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(error @ Error::NoConvergence { .. }) => return $skips.skip(&error),
            Err(other) => panic!("{other}"),
        }
    };
}

// ---------------------------------------------------------------------------
// The certified robust optimum of the symmetric model, through the public API.
// ---------------------------------------------------------------------------

/// The certified robust optimum of the symmetric model `N(±μ, Σ)`, in the
/// terms of THEORY P4: `w*`, the adversary `z*` and the bounds
/// `lower_bound ≤ r* ≤ distance` with `gap = distance − lower_bound`.
#[derive(Debug, Clone)]
pub struct Certified {
    /// `w* = 2Σ⁻¹(μ − z*)`; zero when there is no classifier (`r* = 0`).
    pub weights: DVector<f64>,
    /// The adversary's shift `z* ∈ εK`.
    pub adversary: DVector<f64>,
    /// Upper bound on `r*` (`RobustOptimum::distance() + gap()`).
    pub distance: f64,
    /// Lower bound on `r*`, the primal ratio of `w*` (`RobustOptimum::distance()`).
    pub lower_bound: f64,
    /// The certified gap.
    pub gap: f64,
    /// The rounding part of the gap (`RobustOptimum::rounding()`).
    pub rounding: f64,
}

/// [`Certified`] from `Gmm::symmetric(μ, Σ).robust_optimum_with(threat, ε,
/// options)`: the certified dual solver for threats without a closed form
/// (ℓ∞, ℓ1, ℓp with `p ≠ 2`, unions), the secular equation for ellipsoids.
/// Errors are those of the model's constructor or of the solver.
pub fn certified_optimum(
    cov: &Covariance,
    mu: &DVector<f64>,
    threat: &Threat,
    eps: f64,
    options: &manifold_robustness::SolverOptions,
) -> Result<Certified, Error> {
    let gmm = Gmm::symmetric(mu.clone(), cov.clone())?;
    let opt = gmm.robust_optimum_with(threat, eps, options)?;
    let weights = opt
        .classifier()
        .map_or_else(|| DVector::zeros(mu.len()), |c| c.weights().clone());
    Ok(Certified {
        weights,
        adversary: opt.adversary(),
        distance: opt.distance() + opt.gap(),
        lower_bound: opt.distance(),
        gap: opt.gap(),
        rounding: opt.rounding(),
    })
}
