//! The robust optimum for ellipsoidal threats: the secular equation
//! ([THEORY §7](crate::theory#7-adversarial-training), "Ellipsoidal threats in closed form", and [P5](crate::theory#p5-adversarial-training-extends-the-data-distribution)).
//!
//! For `K = {Au : ‖u‖ ≤ 1}`, `M = AAᵀ`, the robust-optimal classifier of
//! the symmetric model is
//!
//! ```text
//! w*(ε) = (Σ + λM)⁻¹(μ₊ − μ₋),
//! ```
//!
//! where `λ ≥ 0` solves the secular equation `g(λ) = ε`. In the
//! generalized eigenbasis `Σ^{−1/2} M Σ^{−1/2} = V D Vᵀ`, with
//! `m = Vᵀ Σ^{−1/2} μ` and `t_j = 1/(1 + λ d_j)`,
//!
//! ```text
//! g(λ)²  = Σ_j d_j m_j² λ² t_j²            (strictly increasing in λ)
//! ε_max² = Σ_{d_j>0} m_j² / d_j            (= g(∞)²)
//! r*(λ)² = Σ_j m_j² t_j²                   (strictly decreasing in λ)
//! ```
//!
//! and for `ε ≥ ε_max` the root is `λ = ∞`: only the `d_j = 0` part of the
//! mean survives, `r*² = Σ_{d_j=0} m_j²` (zero when `M` has full rank: then
//! nothing beats a robust error of 1/2).
//!
//! # Where the pencil comes from
//!
//! * When `M` shares `Σ`'s eigenvectors (ℓ2: `M = I`; the generative,
//!   eigenspace and off-manifold threats: `M = U diag(ω) Uᵀ`), the pencil is
//!   diagonal in `Σ`'s own eigenbasis: one entry per spectral block, with
//!   `d_b = ω_b/λ_b` and `m_b² = ‖P_b μ‖²/λ_b` — the noise block of a spiked
//!   covariance is a single entry however large `d − k` is. Preparing costs one
//!   eigen-coordinate transform of `μ`; every budget then costs `O(blocks)`.
//! * For a general factor `A` (`d × p`), `B = Σ^{−1/2}A` and the eigenvalues
//!   of the smaller of `BᵀB` (`p × p`, when `p ≤ d`) and `BBᵀ` (`d × d`) give
//!   `D` and `V`; done once per `(Σ, A)` pair and reused for every budget.
//!   Eigenvalues below `max(d, p) · ε_mach · d_max` count as zero (the Gram
//!   matrix squares `B`'s condition number, so a direction with
//!   `d_j/d_max ≈ 1e-8` carries a relative error of about `ε_mach d_max/d_j`).
//! * A model-based threat built from a *different* covariance than the
//!   model's does not share its eigenbasis. For a dense model its matrix
//!   `M` is formed and treated like a general factor; for a diagonal or
//!   spiked model that would need a `d × d` matrix, so it is
//!   [`Error::Unsupported`]: build the threat from the model's own
//!   covariance, or pass an explicit factor through `Threat::ellipsoid`.
//!   Two covariance handles count as the same when they share their data or
//!   hold bit-identical spectra and eigenvectors.
//!
//! # Solving `g(λ) = ε`
//!
//! [`SecularEquation`] works in `s = 1/λ`, where
//! `g = ‖p(s)‖` with `p_j(s) = √(d_j) m_j/(s + d_j)` — the secular equation
//! of trust-region methods, `‖(D + sI)⁻¹b‖ = ε`. It finds the root of
//!
//! ```text
//! φ(s) = 1/g(s) − 1/ε,
//! ```
//!
//! which is increasing and *concave* on `s > −min d_j` (Reinsch 1971; Moré &
//! Sorensen 1983, "Computing a trust region step", §4): with
//! `q_j = 1/(s + d_j)`, `φ' = Σa_j²q_j³/g³ > 0` and
//! `φ'' = 3((Σa_j²q_j³)² − Σa_j²q_j² · Σa_j²q_j⁴)/g⁵ ≤ 0` by Cauchy–Schwarz.
//! That shape is why the iteration converges from anywhere in the bracket
//! `[0, ∞)`: a Newton step from either side of the root lands at or left of
//! it (the tangent of a concave function lies above it), and from the left
//! Newton's iterates increase monotonically to the root. Each step is
//! Halley's `−2φφ'/(2φ'² − φφ'')` (cubic convergence, one more sum in the
//! same pass), used while it lies within one to two Newton steps and
//! replaced by Newton's otherwise; any step that leaves the bracket given
//! by the signs of `φ` seen so far is replaced by a bisection. Where all
//! `d_j` are equal `φ` is linear and the first step is exact (this covers
//! the full-latent generative threat).
//!
//! A cold start is the best of the lower bounds
//!
//! ```text
//! s* ≥ max(0, d_min(ε_max/ε − 1), ‖√D m‖/ε − d_max)
//! ```
//!
//! (clipped to the matching upper bounds). In a sweep the budgets are
//! visited in decreasing order, so each root `s_prev` lies left of the next
//! one, and `φ`'s derivatives there do not depend on the budget: the first
//! step for the next budget is taken from `s_prev` with
//! `φ(s_prev) = 1/g(s_prev) − 1/ε` and no new evaluation (see
//! `docs/design/solvers.md` for the evaluation counts measured). Each
//! evaluation is one pass over contiguous arrays of the non-zero terms
//! that also accumulates the moments of the certificate, so the last
//! evaluation is the only one at the root.
//!
//! The variable `s` resolves both ends of the budget range: near
//! `ε → ε_max` the root `s* ≈ (ε_max − ε)/ε_max · d` stays a normal
//! floating-point number where `λ = 1/s` would need `1 − ε/ε_max` digits,
//! and near `ε → 0` the budget `ε ≤ 2⁻⁶⁰ ‖√D m‖/d_max` is answered by
//! `λ = ε/‖√D m‖` (exact to `2⁻⁶⁰` relative). Iteration stops when
//! `|g − ε| ≤ 4 ε_mach ε` or a step moves `s` by less than `4 ε_mach s`.
//! Contract: `|g(λ) − ε| ≤ SECULAR_TOLERANCE · ε = 1e-13 ε`
//! ([THEORY §11](crate::theory#11-numerical-contract)) for
//! `ε/ε_max ∈ [1e-12, 1 − 1e-12]`, or [`Error::NoConvergence`]. The pencil
//! eigenvalues must lie within about `1e±130` of each other and of the
//! budget scale (beyond that `q_j⁴` over- or underflows and the solver
//! reports [`Error::NoConvergence`] rather than a wrong root).
//!
//! # Certificate
//!
//! With `w ∝ Σ^{−1/2} V (t ∘ m)` (plus the `d_j = 0` part of `m`) and the
//! feasible shift `z = ε M w/‖Aᵀw‖`, the primal ratio `ρ(w)` and the dual
//! value `‖μ − z‖_{Σ⁻¹}` bound `r*` from below and above ([THEORY P4](crate::theory#p4-robust-optimum)). Written
//! with the secular residual `δ = ε − g(λ)` and
//! `T_k = Σ_j m_j² d_j^k t_j²`, `σ = √T₁ = ‖Aᵀw‖`, `N² = T₀ + Σ_{d_j=0} m_j²`,
//! they are exactly
//!
//! ```text
//! ρ(w)               = (N² − δσ)/N
//! ‖μ − z‖²_{Σ⁻¹}     = T₀ − 2δσ + δ² T₂/T₁ + Σ_{d_j=0} m_j²,
//! ```
//!
//! identities valid for every `λ` that avoid the cancellation of the direct
//! evaluation `wᵀμ − εσ_K(w)` (which loses all digits as `ε → ε_max`).
//! Their difference, the gap, is of second order in `δ`.

use crate::error::{Error, Result, ensure_budget, ensure_dim, ensure_finite};

mod certificate;
mod inverse;
mod problem;

pub(crate) use certificate::{Perturbation, ThreatError};
pub(crate) use problem::EllipsoidProblem;

/// Accuracy the secular solver guarantees: `|g(λ) − ε| ≤ SECULAR_TOLERANCE · ε`
/// ([THEORY §11](crate::theory#11-numerical-contract)), or it reports [`Error::NoConvergence`].
pub(crate) const SECULAR_TOLERANCE: f64 = 1e-13;

/// Iteration cap of the secular solver; it only guards against a malformed
/// problem (typical counts: `docs/design/solvers.md`).
pub(crate) const MAX_SECULAR_ITERATIONS: usize = 100;

/// The iteration stops once the relative residual or the relative step is this small.
const STOP: f64 = 4.0 * f64::EPSILON;

/// `λ d_max` below which `g(λ) = λ‖√D m‖` to working precision.
const LINEAR_REGIME: f64 = 1.0 / (1u64 << 60) as f64;

/// Independent accumulators in the hot loops (lets the compiler vectorize
/// the sums, which a single accumulator would forbid).
const LANES: usize = 4;

/// The secular equation `g(λ) = ε` of an ellipsoidal threat, in the
/// generalized eigenbasis of `(M, Σ)`.
///
/// ```text
/// g(λ)² = Σ_j d_j m_j² λ²/(1 + λ d_j)²,    ε_max² = Σ_{d_j>0} m_j²/d_j
/// ```
///
/// Built from the energies `m_j² ≥ 0` of the whitened mean and the
/// eigenvalues `d_j ≥ 0` of `Σ^{−1/2} M Σ^{−1/2}`. Terms with `m_j = 0` are
/// dropped, terms with `d_j = 0` are merged (they only enter `r*`), and so
/// are neighboring terms with equal `d_j` (every sum sees them through
/// `Σ m_j²` alone), so each evaluation is one pass over the remaining
/// terms: one term for the full-latent generative threat (`d_j = 1`). See the module docs
/// for the method (safeguarded Halley/Newton on `1/g − 1/ε` in `s = 1/λ`)
/// and why it converges.
#[derive(Debug, Clone)]
pub(crate) struct SecularEquation {
    /// `d_j/D > 0` of the retained terms (normalized: the largest is about 1).
    d: Vec<f64>,
    /// `m_j²/C` of the retained terms.
    c: Vec<f64>,
    /// `d_j m_j²/(DC)` of the retained terms.
    a2: Vec<f64>,
    /// Per-term `c_j λ_max/λ_j`, with `λ_j` the covariance block behind the
    /// term (`λ_max/λ_j = 1` when unknown), summed over merged terms:
    /// weights `‖w‖²` in the rounding bound of the certificate.
    spread: Vec<f64>,
    /// Retained terms before equal `d_j` were merged (the summation
    /// length of the rounding bound).
    terms: usize,
    /// `Σ_{d_j = 0} m_j²/C`: the squared distance that no budget removes.
    null_energy: f64,
    /// `Σ_{d_j = 0} spread_j m_j²/C`.
    null_spread: f64,
    /// Per-term leaks `√(m_j²/C) ℓ_j` of a model-based threat, summed over
    /// merged terms (`ℓ_j` the leak coefficients; empty when there are
    /// none; see `dual::rounding`, "Model-based threats").
    leak: Vec<f64>,
    /// `Σ_{d_j = 0} ℓ_j m_j/√C`.
    null_leak: f64,
    /// `√(Σ_j c_j + null_energy) = r*(0)` of the normalized equation (the
    /// scale of the certificate's rounding bound, summed once).
    full_distance: f64,
    /// `ε_max` of the normalized equation.
    limit: f64,
    /// `‖√D m‖ = g'(0)` of the normalized equation.
    slope: f64,
    d_min: f64,
    d_max: f64,
    /// `√C`: distances and budgets of the normalized equation are in units of it.
    root_energy: f64,
    /// `√D`: budgets are in units of `√C/√D`, multipliers of `1/D`.
    root_pencil: f64,
    /// How far the terms may be from those of the user's inputs.
    pub(crate) perturbation: Perturbation,
}

/// A root of the secular equation, as found by [`SecularEquation::solve`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SecularRoot {
    lambda: f64,
    /// The root in the trust-region variable, `s = 1/λ` (`∞` at `λ = 0`).
    shift: f64,
    /// The multiplier of the normalized equation, `λD`.
    scaled: f64,
    iterations: usize,
    /// `[T₀, T₁, T₂]` of the normalized equation at `λD` (module docs,
    /// "Certificate"), and `W = Σ_j spread_j t_j²`, the weight of the
    /// certificate's rounding bound.
    moments: [f64; 4],
    /// The local shape of `φ` at the root, for the next budget of a sweep.
    pub(crate) warm: Option<WarmStart>,
}

/// `φ` at a root `s`: `g(s)`, `φ'(s)` and `φ''(s)` (these two do not depend
/// on the budget), enough for a Halley step towards the root of a nearby
/// budget without a new evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WarmStart {
    s: f64,
    g: f64,
    slope: f64,
    curvature: f64,
}

impl SecularRoot {
    /// The multiplier `λ ∈ [0, ∞]` (`f64::INFINITY` for `ε ≥ ε_max`).
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The root in the trust-region variable `s = 1/λ`, the solution of
    /// `‖(D + sI)⁻¹ b‖ = ε` with `b_j = √(d_j) m_j` (`f64::INFINITY` at
    /// `ε = 0`, 0 for `ε ≥ ε_max`). Computed from the iterate itself, not
    /// as `1/λ`, so it carries no extra rounding.
    pub fn shift(&self) -> f64 {
        self.shift
    }

    /// Evaluations of `g` the solver used (0 for the closed-form cases
    /// `ε = 0`, `ε ≥ ε_max` and tiny `ε`).
    pub fn iterations(&self) -> usize {
        self.iterations
    }
}

/// The sums of one pass at `s`, with `q_j = 1/(s + d_j)` and `a_j² = d_j m_j²`:
/// `g² = Σ a_j² q_j²`, `h = Σ a_j² q_j³`, `k = Σ a_j² q_j⁴`, `s0 = Σ m_j² q_j²`,
/// `s2 = Σ a_j² d_j q_j²`.
#[derive(Debug, Clone, Copy)]
struct Sums {
    g2: f64,
    h: f64,
    k: f64,
    s0: f64,
    s2: f64,
    w: f64,
}

impl SecularEquation {
    /// The equation for energies `m_j²` and pencil eigenvalues `d_j`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for slices of different lengths,
    /// [`Error::NonFinite`], and [`Error::InvalidParameter`] for a negative
    /// entry.
    pub fn new(energies: &[f64], eigenvalues: &[f64]) -> Result<SecularEquation> {
        SecularEquation::with_spread(energies, eigenvalues, None, None)
    }

    /// As [`new`](Self::new), with the per-term `λ_max/λ_j` of the
    /// covariance blocks behind the terms (for the certificate's rounding bound).
    pub(crate) fn with_spread(
        energies: &[f64],
        eigenvalues: &[f64],
        spread: Option<&[f64]>,
        leak: Option<&[f64]>,
    ) -> Result<SecularEquation> {
        ensure_dim("eigenvalues", energies.len(), eigenvalues.len())?;
        ensure_finite("energies", energies)?;
        ensure_finite("eigenvalues", eigenvalues)?;
        let negative = |name: &'static str, values: &[f64]| match values.iter().find(|v| **v < 0.0)
        {
            Some(&value) => Err(Error::InvalidParameter {
                name,
                value,
                reason: "secular-equation terms must be non-negative",
            }),
            None => Ok(()),
        };
        negative("energies", energies)?;
        negative("eigenvalues", eigenvalues)?;
        // Normalize by powers of four (exact, with exact square roots): the
        // largest energy and the largest pencil eigenvalue become about 1,
        // so the equation's sums neither over- nor underflow at any scale
        // of the problem (only the spread of the terms matters).
        let top = |values: &mut dyn Iterator<Item = f64>| values.fold(0.0, f64::max);
        let kept = || energies.iter().zip(eigenvalues).filter(|(c, _)| **c > 0.0);
        let energy_scale = power_of_four(top(&mut kept().map(|(c, _)| *c)));
        let pencil_scale = power_of_four(top(&mut kept().map(|(_, d)| *d)));
        let mut eq = SecularEquation {
            d: Vec::with_capacity(energies.len()),
            c: Vec::with_capacity(energies.len()),
            a2: Vec::with_capacity(energies.len()),
            spread: Vec::with_capacity(energies.len()),
            terms: 0,
            null_energy: 0.0,
            null_spread: 0.0,
            leak: Vec::new(),
            null_leak: 0.0,
            full_distance: 0.0,
            limit: 0.0,
            slope: 0.0,
            d_min: f64::INFINITY,
            d_max: 0.0,
            root_energy: energy_scale.sqrt(),
            root_pencil: pencil_scale.sqrt(),
            perturbation: Perturbation::EXACT,
        };
        for (j, (&c, &d)) in energies.iter().zip(eigenvalues).enumerate() {
            if c == 0.0 {
                continue;
            }
            let c = c / energy_scale;
            let spread_j = spread.map_or(1.0, |s| s[j]);
            let leak_j = leak.map_or(0.0, |l| l[j]);
            if d == 0.0 {
                eq.null_energy += c;
                eq.null_spread += c * spread_j;
                eq.null_leak += c.sqrt() * leak_j;
            } else {
                let d = d / pencil_scale;
                eq.terms += 1;
                if eq.d.last() == Some(&d) {
                    // Equal neighboring d_j enter every sum as one term with
                    // the summed energy (the full-latent generative threat
                    // becomes a single term: O(1) per budget).
                    let last = eq.d.len() - 1;
                    eq.c[last] += c;
                    eq.a2[last] = eq.c[last] * d;
                    eq.spread[last] += c * spread_j;
                    if leak.is_some() {
                        eq.leak[last] += c.sqrt() * leak_j;
                    }
                } else {
                    eq.d.push(d);
                    eq.c.push(c);
                    eq.a2.push(c * d);
                    eq.spread.push(c * spread_j);
                    if leak.is_some() {
                        eq.leak.push(c.sqrt() * leak_j);
                    }
                }
                eq.d_min = eq.d_min.min(d);
                eq.d_max = eq.d_max.max(d);
            }
        }
        // ε_max through the same evaluation the solver uses, so that the
        // test `ε < ε_max` and the sign of φ(0) always agree.
        eq.limit = eq.evaluate(0.0).g2.sqrt();
        eq.slope = eq.a2.iter().sum::<f64>().sqrt();
        eq.full_distance = (eq.c.iter().sum::<f64>() + eq.null_energy).sqrt();
        if eq.d.is_empty() {
            eq.d_min = 0.0;
        }
        Ok(eq)
    }

    /// A budget of the normalized equation: `ε √D/√C`.
    fn to_scaled_budget(&self, eps: f64) -> f64 {
        eps / self.root_energy * self.root_pencil
    }

    /// A budget of the user's equation: `ε̂ √C/√D`.
    fn unscaled_budget(&self, eps: f64) -> f64 {
        eps * self.root_energy / self.root_pencil
    }

    /// `λ` of the user's equation from the normalized `λD`.
    fn unscaled_multiplier(&self, lambda: f64) -> f64 {
        lambda / self.root_pencil / self.root_pencil
    }

    /// The budget limit `ε_max = g(∞)`: from it on, `λ = ∞`.
    pub fn budget_limit(&self) -> f64 {
        self.unscaled_budget(self.limit)
    }

    /// `r*` past the limit: `√(Σ_{d_j=0} m_j²)` (0 when `M` has full rank on
    /// the mean's support).
    pub fn residual_distance(&self) -> f64 {
        self.null_energy.sqrt() * self.root_energy
    }

    #[cfg(test)]
    /// Number of terms an evaluation visits (non-zero `m_j` and `d_j`, equal
    /// neighboring `d_j` merged).
    pub fn active_terms(&self) -> usize {
        self.d.len()
    }

    #[cfg(test)]
    /// `g(λ) = λ √(Σ_j d_j m_j² t_j²)` for `λ ∈ [0, ∞]` (`g(∞) = ε_max`).
    pub fn value(&self, lambda: f64) -> f64 {
        if lambda == f64::INFINITY {
            return self.budget_limit();
        }
        let scaled = lambda * self.root_pencil * self.root_pencil;
        self.unscaled_budget(scaled * self.moments(scaled)[1].sqrt())
    }

    /// `r*(λ) = √(Σ_j m_j² t_j²)`, the distance left at multiplier `λ ∈ [0, ∞]`.
    pub fn distance(&self, lambda: f64) -> f64 {
        let scaled = lambda * self.root_pencil * self.root_pencil;
        (self.moments(scaled)[0] + self.null_energy).sqrt() * self.root_energy
    }

    /// Solves `g(λ) = ε` (see the module docs for the method).
    ///
    /// # Errors
    /// [`Error::InvalidBudget`] for a negative or non-finite `ε`;
    /// [`Error::NoConvergence`] if `|g(λ) − ε| > 1e-13 ε` after
    /// [`MAX_SECULAR_ITERATIONS`] (its residual is the relative secular
    /// residual `|g(λ) − ε|/ε`).
    pub fn solve(&self, eps: f64) -> Result<SecularRoot> {
        self.solve_from(eps, None)
    }

    /// As [`solve`](Self::solve), warm-started from the root of a larger
    /// budget (a start left of the new root).
    pub(crate) fn solve_from(&self, eps: f64, warm: Option<&WarmStart>) -> Result<SecularRoot> {
        match self.search(eps, warm)? {
            (root, None) => Ok(root),
            (_, Some(residual)) => Err(Error::NoConvergence {
                solver: "secular equation",
                iterations: MAX_SECULAR_ITERATIONS,
                residual: "relative secular residual |g(λ) − ε|/ε",
                gap: residual,
                target: SECULAR_TOLERANCE,
            }),
        }
    }

    /// As [`solve`](Self::solve), but after [`MAX_SECULAR_ITERATIONS`]
    /// without convergence it returns the last iterate instead of an error
    /// (still bracketed: between the largest `s` seen with `g > ε` and the
    /// smallest with `g < ε`). For inner steps of an iterative method whose
    /// own result is certified independently (the projections of the dual
    /// solver); never for a reported value.
    ///
    /// # Errors
    /// [`Error::InvalidBudget`] for a negative or non-finite `ε`.
    pub(crate) fn solve_inner(&self, eps: f64) -> Result<SecularRoot> {
        Ok(self.search(eps, None)?.0)
    }

    /// The iteration of [`solve_from`](Self::solve_from): the root, with the
    /// relative residual left when the iteration cap was reached first.
    fn search(&self, eps: f64, warm: Option<&WarmStart>) -> Result<(SecularRoot, Option<f64>)> {
        ensure_budget(eps)?;
        let eps = self.to_scaled_budget(eps);
        if eps == 0.0 {
            return Ok((self.closed_form(0.0), None));
        }
        if eps >= self.limit {
            return Ok((self.closed_form(f64::INFINITY), None));
        }
        // Here 0 < ε < ε_max, so some term is active and g'(0) > 0.
        let linear = eps / self.slope;
        if linear * self.d_max <= LINEAR_REGIME {
            return Ok((self.closed_form(linear), None));
        }
        let ratio = self.limit / eps - 1.0;
        let inverse = self.slope / eps;
        let lower = (self.d_min * ratio).max(inverse - self.d_max).max(0.0);
        let upper = (inverse - self.d_min).min(self.d_max * ratio);
        // Bracket from the signs of φ seen so far: φ(0) < 0 because ε < ε_max.
        let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
        let mut s = lower;
        if let Some(w) = warm.filter(|w| w.s > 0.0 && w.g > eps) {
            // φ for this budget at the old root is 1/g − 1/ε < 0: step from there.
            lo = w.s;
            s = s.max(w.s + self.step(1.0 / w.g - 1.0 / eps, w.slope, w.curvature));
        }
        if upper >= lower {
            s = s.min(upper);
        }
        if !(s > lo && s.is_finite()) {
            s = lower.max(lo).max(self.d_min * f64::EPSILON);
        }
        let mut last = None;
        for iteration in 1..=MAX_SECULAR_ITERATIONS {
            let sums = self.evaluate(s);
            let g = sums.g2.sqrt();
            let residual = (g - eps).abs() / eps;
            if residual <= STOP {
                return Ok((self.root(s, &sums, iteration), None));
            }
            last = Some((s, sums, residual));
            if g > eps {
                lo = s;
            } else {
                hi = s;
            }
            let (slope, curvature) = shape(&sums);
            let mut next = s + self.step(1.0 / g - 1.0 / eps, slope, curvature);
            if !(next > lo && next < hi) {
                next = if hi.is_finite() {
                    if lo > 0.0 { (lo * hi).sqrt() } else { 0.5 * hi }
                } else {
                    2.0 * s.max(self.d_min)
                };
            }
            if (next - s).abs() <= STOP * s {
                return Ok((self.root(s, &sums, iteration), None));
            }
            s = next;
        }
        let (s, sums, residual) = last.expect("at least one iteration");
        Ok((self.root(s, &sums, MAX_SECULAR_ITERATIONS), Some(residual)))
    }

    /// The step towards the root of `φ` from a point where `φ = f`,
    /// `φ' = slope > 0`, `φ'' = curvature ≤ 0`: Halley's
    /// `−2ff'/(2f'² − ff'')` (cubic convergence), kept within
    /// `[1, 2]` Newton steps `−f/f'`, else Newton's.
    fn step(&self, f: f64, slope: f64, curvature: f64) -> f64 {
        let newton = -f / slope;
        let denominator = 2.0 * slope * slope - f * curvature;
        let halley = -2.0 * f * slope / denominator;
        if denominator >= slope * slope && halley.is_finite() {
            halley
        } else {
            newton
        }
    }

    fn closed_form(&self, lambda: f64) -> SecularRoot {
        SecularRoot {
            lambda: self.unscaled_multiplier(lambda),
            shift: self.root_pencil * self.root_pencil / lambda,
            scaled: lambda,
            iterations: 0,
            moments: self.moments(lambda),
            warm: None,
        }
    }

    /// The root at an evaluated point `s`: `λ = 1/s`, and the moments
    /// `T_k = s² Σ m_j² d_j^k q_j²` from the same pass.
    fn root(&self, s: f64, sums: &Sums, iterations: usize) -> SecularRoot {
        let g = sums.g2.sqrt();
        let (slope, curvature) = shape(sums);
        let scaled = |x: f64| {
            let y = s * x.sqrt();
            y * y
        };
        SecularRoot {
            lambda: self.unscaled_multiplier(1.0 / s),
            shift: s * self.root_pencil * self.root_pencil,
            scaled: 1.0 / s,
            iterations,
            moments: [
                scaled(sums.s0),
                scaled(sums.g2),
                scaled(sums.s2),
                scaled(sums.w),
            ],
            warm: Some(WarmStart {
                s,
                g,
                slope,
                curvature,
            }),
        }
    }

    /// One pass over the terms at `s` (`LANES` independent accumulators,
    /// contiguous arrays without bounds checks, so the loop vectorizes).
    fn evaluate(&self, s: f64) -> Sums {
        let mut g2 = [0.0f64; LANES];
        let mut h = [0.0f64; LANES];
        let mut k = [0.0f64; LANES];
        let mut s0 = [0.0f64; LANES];
        let mut s2 = [0.0f64; LANES];
        let mut w = [0.0f64; LANES];
        let d = self.d.chunks_exact(LANES);
        let c = self.c.chunks_exact(LANES);
        let a2 = self.a2.chunks_exact(LANES);
        let e = self.spread.chunks_exact(LANES);
        let rest = (d.remainder(), c.remainder(), a2.remainder(), e.remainder());
        for (((d, c), a2), e) in d.zip(c).zip(a2).zip(e) {
            for l in 0..LANES {
                let q = 1.0 / (s + d[l]);
                let q2 = q * q;
                let a = a2[l] * q2;
                g2[l] += a;
                h[l] += a * q;
                k[l] += a * q2;
                s0[l] += c[l] * q2;
                s2[l] += a * d[l];
                w[l] += e[l] * q2;
            }
        }
        let tail = rest.0.iter().zip(rest.1).zip(rest.2).zip(rest.3);
        for (l, (((&d, &c), &a2), &e)) in tail.enumerate() {
            let q = 1.0 / (s + d);
            let q2 = q * q;
            let a = a2 * q2;
            g2[l] += a;
            h[l] += a * q;
            k[l] += a * q2;
            s0[l] += c * q2;
            s2[l] += a * d;
            w[l] += e * q2;
        }
        let total = |a: [f64; LANES]| (a[0] + a[1]) + (a[2] + a[3]);
        Sums {
            g2: total(g2),
            h: total(h),
            k: total(k),
            s0: total(s0),
            s2: total(s2),
            w: total(w),
        }
    }

    /// `[T₀, T₁, T₂, W]` with `T_k = Σ_j m_j² d_j^k t_j²`,
    /// `W = Σ_j spread_j t_j²`, `t_j = 1/(1 + λ d_j)` (all zero at `λ = ∞`).
    fn moments(&self, lambda: f64) -> [f64; 4] {
        if lambda == f64::INFINITY {
            return [0.0; 4];
        }
        let (mut t0, mut t1, mut t2, mut w) = (0.0, 0.0, 0.0, 0.0);
        let terms = self.d.iter().zip(&self.c).zip(&self.a2).zip(&self.spread);
        for (((&dj, &cj), &aj), &ej) in terms {
            let t = 1.0 / (1.0 + lambda * dj);
            let t2j = t * t;
            t0 += cj * t2j;
            t1 += aj * t2j;
            t2 += aj * dj * t2j;
            w += ej * t2j;
        }
        [t0, t1, t2, w]
    }
}

impl SecularEquation {
    /// The terms were built from `μ/t`: distances and budgets scale back by `t`.
    fn rescale_energy(&mut self, t: f64) {
        self.root_energy *= t;
    }

    /// `L_√f √λ_max` (units of `√d`) in the units of the normalized equation.
    fn scaled_sensitivity(&self, sensitivity: f64) -> f64 {
        sensitivity / self.root_pencil
    }
}

/// The power of four nearest to `x > 0` (1 for `x = 0`), within the normal range.
fn power_of_four(x: f64) -> f64 {
    if !(x > 0.0 && x.is_finite()) {
        return 1.0;
    }
    let exponent = (x.log2() / 2.0).round().clamp(-510.0, 510.0) as i32;
    let half = f64::from_bits(((exponent + 1023) as u64) << 52);
    half * half
}

/// `φ'` and `φ''` from one pass: with `r₁ = h/g²`, `r₂ = k/g²` (weighted
/// means of `q` and `q²`), `φ' = r₁/g` and `φ'' = 3(r₁² − r₂)/g ≤ 0`
/// (Cauchy–Schwarz: concavity).
fn shape(sums: &Sums) -> (f64, f64) {
    let g = sums.g2.sqrt();
    let r1 = sums.h / sums.g2;
    let r2 = sums.k / sums.g2;
    (r1 / g, 3.0 * (r1 * r1 - r2) / g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// THEORY §11: the secular equation is solved to `1e-13` relative accuracy.
    const SECULAR: f64 = 1e-13;

    /// Budget fractions `ε/ε_max` covering `[1e-12, 1 − 1e-12]`, dense at both ends.
    fn fractions() -> Vec<f64> {
        let mut f = Vec::new();
        for i in 0..=24 {
            f.push(10f64.powf(-12.0 + 11.0 * i as f64 / 24.0));
        }
        for i in 1..=24 {
            f.push(1.0 - 10f64.powf(-1.0 - 11.0 * i as f64 / 24.0));
        }
        f.push(0.5);
        f
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// THEORY §11 on the bare equation: random terms spread over 16 decades
        /// (some zero), `|g(λ) − ε| ≤ 1e-13 ε` for `ε/ε_max ∈ [1e-12, 1 − 1e-12]`.
        #[test]
        fn secular_equation_is_solved_to_1e13_over_the_whole_range(
            terms in prop::collection::vec((-8.0f64..8.0, -6.0f64..2.0, 0u8..8), 1..40)
        ) {
            let d: Vec<f64> = terms.iter().map(|t| if t.2 == 0 { 0.0 } else { 10f64.powf(t.0) }).collect();
            let c: Vec<f64> = terms.iter().map(|t| if t.2 == 1 { 0.0 } else { 10f64.powf(t.1) }).collect();
            let eq = SecularEquation::new(&c, &d).unwrap();
            let limit = eq.budget_limit();
            // Independent: ε_max² = Σ_{d>0} c/d.
            let expected: f64 = c.iter().zip(&d).filter(|(_, dj)| **dj > 0.0).map(|(cj, dj)| cj / dj).sum();
            prop_assert!((limit - expected.sqrt()).abs() <= 1e-14 * limit.max(1e-300));
            if limit == 0.0 {
                return Ok(()); // every term has c = 0 or d = 0: nothing to solve
            }
            for f in fractions() {
                let eps = f * limit;
                let root = eq.solve(eps).unwrap();
                let lambda = root.lambda();
                prop_assert!(lambda.is_finite() && lambda > 0.0);
                prop_assert!(root.iterations() < MAX_SECULAR_ITERATIONS);
                let g: f64 = c.iter().zip(&d).map(|(cj, dj)| {
                    let t = 1.0 / (1.0 + lambda * dj);
                    cj * dj * t * t
                }).sum::<f64>().sqrt() * lambda;
                prop_assert!((g - eps).abs() <= SECULAR * eps, "f = {f:e}: g = {g}, ε = {eps}");
            }
            prop_assert_eq!(eq.solve(limit).unwrap().lambda(), f64::INFINITY);
            prop_assert_eq!(eq.solve(0.0).unwrap().lambda(), 0.0);
        }
    }

    #[test]
    fn one_term_example() {
        // One term, m² = 9 and d = 4: g(λ) = 6λ/(1 + 4λ) and ε_max = m/√d = 1.5,
        // so g(λ) = 1 at λ = 1/2.
        let eq = SecularEquation::new(&[9.0], &[4.0]).unwrap();
        assert_eq!(eq.budget_limit(), 1.5);
        let root = eq.solve(1.0).unwrap();
        assert!((root.lambda() - 0.5).abs() < 1e-15);
        assert!((eq.value(root.lambda()) - 1.0).abs() < 1e-15);
        assert_eq!(eq.solve(2.0).unwrap().lambda(), f64::INFINITY);
        // r*(λ) = 3/(1 + 4λ): r* = 1 at λ = 1/2, where g = 1.
        assert!((eq.budget_for_distance(1.0).unwrap() - 1.0).abs() < 1e-15);
        assert_eq!(eq.budget_for_distance(3.0).unwrap(), 0.0);
        assert_eq!(eq.budget_for_distance(0.0).unwrap(), eq.budget_limit());
        assert!(eq.budget_for_distance(3.5).is_err());
    }

    #[test]
    fn single_term_is_solved_in_one_step() {
        // d = 4, m² = 9: g(λ) = 6λ/(1 + 4λ), ε_max = 1.5.
        let eq = SecularEquation::new(&[9.0], &[4.0]).unwrap();
        let root = eq.solve(0.75).unwrap();
        // 6λ/(1 + 4λ) = 0.75 ⇒ λ = 0.75/(6 − 3) = 0.25.
        assert!((root.lambda() - 0.25).abs() < 1e-16);
        assert!(root.iterations() <= 2);
    }

    #[test]
    fn zero_terms_are_dropped_and_merged() {
        let eq = SecularEquation::new(&[1.0, 0.0, 4.0, 2.0], &[1.0, 3.0, 0.0, 0.0]).unwrap();
        assert_eq!(eq.active_terms(), 1);
        assert_eq!(eq.budget_limit(), 1.0);
        assert_eq!(eq.residual_distance(), 6f64.sqrt());
        let root = eq.solve(1.0).unwrap();
        assert_eq!(root.lambda(), f64::INFINITY);
        let cert = eq.certify(1.0, &root);
        // Exact terms: only the rounding of the formulas, 4(n + 3)u r*(0)
        // on each side (n = 2 terms, r*(0) = √7).
        let rounding = 4.0 * 5.0 * f64::EPSILON / 2.0 * 7f64.sqrt();
        assert!(cert.lower <= 6f64.sqrt() && 6f64.sqrt() <= cert.upper);
        assert!(cert.upper - cert.lower <= 2.0 * rounding * (1.0 + 1e-12));
    }

    #[test]
    fn rejects_bad_terms() {
        assert!(matches!(
            SecularEquation::new(&[1.0], &[1.0, 2.0]),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            SecularEquation::new(&[-1.0], &[1.0]),
            Err(Error::InvalidParameter {
                name: "energies",
                ..
            })
        ));
        assert!(matches!(
            SecularEquation::new(&[1.0], &[f64::NAN]),
            Err(Error::NonFinite { .. } | Error::NonFiniteEntry { .. })
        ));
        let eq = SecularEquation::new(&[1.0], &[1.0]).unwrap();
        assert!(matches!(eq.solve(-1.0), Err(Error::InvalidBudget { .. })));
        assert!(matches!(
            eq.solve(f64::NAN),
            Err(Error::InvalidBudget { .. })
        ));
    }

    #[test]
    fn budget_for_distance_inverts_the_distance() {
        // Pencils spread over 16 decades, with and without a null part:
        // ε ↦ λ (secular solve) ↦ r = r*(λ) ↦ budget_for_distance must give
        // back ε as well as r determines it. r carries a relative rounding
        // error of a few ulps, and ε as a function of r has the condition
        // number |d ln ε/d ln r| = r/(ε |dr*/dε|) = λr²/ε² (the envelope
        // theorem: dr*/dε = −σ_K(w*)/‖w*‖_Σ = −√T₁/r and g = λ√T₁), large
        // near ε = 0 where r*(0) − r ∝ ε; the inversion itself adds a few
        // ulps (|d ln g/d ln λ| ≤ 1, |d ln r*/d ln λ| ≤ 1).
        let c = [0.3, 1.2, 0.01, 2.0, 0.7, 5.0];
        let d = [1e-8, 0.5, 10.0, 2.0, 1e8, 3e-3];
        for null in [0.0, 0.4] {
            let mut cs = c.to_vec();
            let mut ds = d.to_vec();
            cs.push(null);
            ds.push(0.0);
            let eq = SecularEquation::new(&cs, &ds).unwrap();
            for f in [1e-12, 1e-6, 0.01, 0.3, 0.5, 0.9, 0.999, 1.0 - 1e-9] {
                let eps = f * eq.budget_limit();
                let lambda = eq.solve(eps).unwrap().lambda();
                let r = eq.distance(lambda);
                let back = eq.budget_for_distance(r).unwrap();
                let condition = lambda * r * r / (eps * eps);
                assert!(
                    (back - eps).abs() <= 16.0 * f64::EPSILON * eps * (1.0 + condition),
                    "null {null}, f = {f}: {back:e} vs {eps:e} (condition {condition:e})"
                );
            }
            assert_eq!(eq.budget_for_distance(eq.distance(0.0)).unwrap(), 0.0);
            assert_eq!(
                eq.budget_for_distance(eq.residual_distance()).unwrap(),
                eq.budget_limit()
            );
            for bad in [
                f64::NAN,
                -1.0,
                eq.distance(0.0) * 1.01,
                eq.residual_distance() * 0.99,
            ] {
                if bad == 0.0 {
                    continue;
                }
                assert!(matches!(
                    eq.budget_for_distance(bad),
                    Err(Error::InvalidParameter {
                        name: "distance",
                        ..
                    })
                ));
            }
        }
    }

    #[test]
    fn certificate_is_tight_at_the_root() {
        let c = [0.3, 1.2, 0.01, 2.0, 0.7];
        let d = [1e-3, 0.5, 10.0, 2.0, 0.0];
        let eq = SecularEquation::new(&c, &d).unwrap();
        for f in [1e-9, 0.1, 0.5, 0.9, 1.0 - 1e-9] {
            let eps = f * eq.budget_limit();
            let root = eq.solve(eps).unwrap();
            let cert = eq.certify(eps, &root);
            let r = eq.distance(root.lambda());
            assert!(cert.lower <= r * (1.0 + 1e-14) && cert.upper >= r * (1.0 - 1e-14));
            // The second-order gap plus the formulas' rounding bound,
            // 3 · 4(n + 3)u r*(0) (n = 5 terms).
            let full = eq.distance(0.0);
            let rounding = 3.0 * 4.0 * 8.0 * f64::EPSILON / 2.0 * full;
            assert!(
                cert.gap() <= 1e-14 * r + rounding,
                "gap {} at f = {f}",
                cert.gap()
            );
        }
    }
}
