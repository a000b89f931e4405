//! Certified solvers for the dual problem of [P4](crate::theory#p4-robust-optimum) ([THEORY §7](crate::theory#7-adversarial-training)) for threats
//! without a closed form: ℓ∞, ℓ1, general ℓp and unions of any threats.
//!
//! # The problem and its certificate
//!
//! In the symmetric model (means `±μ`, prior `1/2`) the best robust error
//! at budget `ε` is `Φ(−r*)` with the adversarial Mahalanobis distance
//!
//! ```text
//! r* = min_{z ∈ εK} ‖μ − z‖_{Σ⁻¹},     w* = 2 Σ⁻¹ (μ − z*).
//! ```
//!
//! Every result is certified by weak duality ([P4](crate::theory#p4-robust-optimum)): any `w` gives the lower
//! bound `ρ(w) = (wᵀμ − ε σ_K(w)) / ‖w‖_Σ ≤ r*` (with the threat's own
//! support function `σ_K`), and any feasible `z ∈ εK` the upper bound
//! `‖μ − z‖_{Σ⁻¹} ≥ r*`. A solve succeeds when the duality gap
//! `‖μ − z‖_{Σ⁻¹} − ρ(w)` is at most `gap_tolerance · ρ(w)` (so at most
//! `gap_tolerance · r*`); otherwise it fails with
//! [`Error::NoConvergence`] carrying the gap reached. The bounds are
//! recomputed from scratch at the end (`‖μ − z‖²_{Σ⁻¹}` and `‖w‖²_Σ` as
//! spectral sums), so the reported gap does not depend on the solver's
//! bookkeeping. When `μ ∈ εK` the distance is 0 and no classifier beats
//! `1/2`: the weights are then all zero. This is certified exactly when
//! one body of the threat contains `μ` (a gauge check), and otherwise
//! when a feasible `z` comes within `gap_tolerance · ‖μ‖_{Σ⁻¹}` of `μ`;
//! the first such `z` tried is the boundary point `μ/γ(μ)` of the body
//! with the smallest gauge, which settles budgets on the covering radius
//! up to rounding (`ε = ‖μ‖₁` summed in another order than the gauge's).
//!
//! # Methods
//!
//! | threat | method | exact? |
//! |---|---|---|
//! | ℓ∞ | projected Newton on the box `abs(z_i) ≤ ε` (`box_qp`) | finite termination |
//! | ℓ1 | projected Newton on the primal box `abs(w_i) ≤ s` and Brent's method on `s` | finite per `s`, superlinear in `s` |
//! | ℓp, ellipsoids, unions | accelerated projected gradient with restarts on the split form `z = Σ z_i` (`gradient`), with a Newton finish | linear rate, then quadratic |
//!
//! *ℓ∞.* The dual is a box-constrained QP with Hessian `Σ⁻¹`. On a face
//! where the set `B` of coordinates sits at `±ε`, the minimizer is
//! `z_F = μ_F − (Σy)_F` with `y_B = Σ_BB⁻¹(μ_B − z_B)`, and then
//! `w = Σ⁻¹(μ − z) = y`: one solve with a principal block of `Σ` (never
//! `Σ⁻¹`), so an iteration costs `O(|B|³ + d²)` dense, `O(d)` diagonal and
//! `O(dk + |B|k²)` spiked.
//!
//! *ℓ1.* The primal `min_w ½wᵀΣw − μᵀw + ε‖w‖_∞` (whose value is `−r*²/2`)
//! is, at fixed `s = ‖w‖_∞`, a QP over the box `abs(w_i) ≤ s` with
//! Hessian `Σ`, solved by the same projected Newton method; its
//! multipliers are `z(s) = μ − Σw(s)`. The outer function
//! `s ↦ ‖z(s)‖₁ − ε` is continuous, decreasing and piecewise linear
//! (parametric QP), with a root in `(0, ‖Σ⁻¹μ‖_∞)` unless `‖μ‖₁ ≤ ε`;
//! Brent's method finds it. At every `s` the support `B = {abs(w_i) = s}`
//! and its signs select a face of the ℓ1 ball, on which the nearest point
//! is computed directly with a block of `Σ⁻¹` (`z_B = P_BB⁻¹((Pμ)_B − νσ_B)`,
//! `P = Σ⁻¹`): this avoids the cancellation in `μ − Σw(s)`, and on the
//! right face it is the exact optimum.
//!
//! *Everything else.* The union body is
//! `conv(∪ c_i K_i) = {Σ z_i : Σ γ_i(z_i)/c_i ≤ 1}` (`γ_i` the gauges,
//! `c_i = ε ε_i`, nested unions flattened); the dual is solved over the
//! tuple `(z_i)` by FISTA with adaptive restart and the exact projection
//! of `projection` (a single ℓp ball or ellipsoid is the one-part case).
//! For unions, the single-part optima of the ℓ∞ and ℓ1 parts are computed
//! first with their exact solvers: if one of them is already certified for
//! the union (the part dominates), it is the answer; otherwise the best of
//! them starts the gradient method. These warm starts get at most an
//! eighth of the iteration budget: on spectra spanning 12 decades the
//! ℓ∞ projected Newton can zig-zag between faces for the whole budget
//! (2 of 400 random unions at `κ = 1e12`), which left the union's own
//! method and its Newton finish no iteration at all.
//!
//! A first-order iterate `w_k = w* + O(δ)` loses `O(δ)` in `ρ` wherever
//! `σ_K` has a kink at `w*`: zero entries (ℓ∞ parts), tied maximal entries
//! (ℓ1 parts), and ties `c_i σ_i(w*) = c_j σ_j(w*)` between the active
//! parts of a union. Since any `w` gives a valid lower bound, near the
//! target the bound is also evaluated at `w_k` with its near-kinks snapped
//! and, for unions, moved back onto the tie set along directions that keep
//! the kinks (see `Bounds::offer_corrected`); there the loss is `O(δ²)`.
//! Without this the gap stalls at about `1e-8·r*` when `r*` is small.
//!
//! *Second-order finish.* FISTA needs about `√κ` iterations per factor
//! `e` (`κ` the condition number of `Σ`), and its `w = Σ⁻¹(μ − z)` is
//! worse still: on spectra spanning 8 decades, FISTA alone misses the
//! target within the iteration cap for 6–9% of random unions and ℓp
//! balls, and for about a quarter within 1% of the covering budget. After 200
//! iterations, then after 4 times as many each time, and when it stalls,
//! the gradient method hands its iterate to two Newton methods, whose
//! rate does not depend on `κ`:
//! - an active-set Newton finish (`active_set`): the structure of the
//!   optimum (active parts, zeros, tied maxima) read off the iterate, the
//!   smooth optimality conditions on it solved as in the polishing step,
//!   the structure repaired from the violated conditions (a primal–dual
//!   active-set iteration), and the dual shift built from the multipliers;
//! - once, a continuation (`smoothing`): damped Newton on the primal with
//!   each support replaced by a smooth lower approximation (parameter `τ`
//!   divided by 10 per stage), whose gradient is a feasible shift of the
//!   union for every `w`, so every stage gives a certificate with an
//!   `O(τ)` gap; it also settles budgets at which the union's hull covers
//!   `μ` while no single body does (`r* = 0`, where the first-order
//!   method converged only linearly to `z = μ`). Dimensions above 256
//!   skip it (dense `O(d³)` steps).
//!
//! Both only offer candidates to the same bounds; the certificate is the
//! one recomputed at the end. On random spectra spanning 2, 4, 6 and 8
//! decades, every threat family above, budgets anywhere and within 1% of
//! covering (16,800 solves), no solve failed.
//!
//! # Limits
//!
//! A relative target `gap_tolerance · r*` below the rounding of the
//! problem (`r*` a few ulps of `‖μ‖_{Σ⁻¹}` away from 0, but not 0) cannot
//! be certified in double precision; the solve then returns
//! [`Error::NoConvergence`] with the gap reached (pass a looser
//! `gap_tolerance`). Unions with general ℓp parts need nested
//! one-dimensional solves in every projection and are the slowest case.
//!
//! Measured costs are in `docs/design/solvers.md`.

use nalgebra::DVector;

use crate::covariance::{Covariance, Representation};
use crate::error::{Error, Result, ensure_budget, ensure_dim};
use crate::threat::Threat;

mod active_set;
mod bounds;
mod box_qp;
mod gradient;
mod metric;
mod polish;
pub(crate) mod projection;
pub(crate) mod rounding;
mod smoothing;
#[cfg(test)]
mod tests;

use crate::linalg::ldexp;
use crate::roots::BrentSearch;
use bounds::Bounds;
use box_qp::{AdversaryBox, WeightBox, projected_newton};
use metric::Metric;
use projection::{Body, Part, flatten};

/// Stopping rules of the certified solvers.
///
/// Built from the defaults with the `with_…` methods; the solvers reject a
/// negative or non-finite gap tolerance with [`Error::InvalidParameter`].
///
/// # Example
/// ```
/// use manifold_robustness::SolverOptions;
///
/// let options = SolverOptions::default().with_gap_tolerance(1e-6);
/// assert_eq!(options.gap_tolerance, 1e-6);
/// assert_eq!(options.max_iterations, 100_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SolverOptions {
    /// Target optimization gap relative to `r*`. A solve stops when the
    /// duality gap of its iterate, evaluated in floating point, is at most
    /// `gap_tolerance` times its lower bound, or at most the bound on the
    /// rounding error of those evaluations (no further iteration can then
    /// be certified to improve it). The reported
    /// [`gap`](crate::RobustOptimum::gap) is that optimization gap plus the
    /// rounding bound [`rounding`](crate::RobustOptimum::rounding): with
    /// `lower = distance()`,
    /// `gap − rounding ≤ max(gap_tolerance · (lower + rounding), rounding)`.
    /// One exception: a shift within `gap_tolerance · ‖μ‖_{Σ⁻¹}` of `μ`
    /// counts as covering (`r* = 0` to the tolerance); then there is no
    /// classifier, `distance() = 0` and
    /// `gap − rounding ≤ gap_tolerance · ‖μ‖_{Σ⁻¹}`.
    /// The rounding bound is about `12 d ε_mach κ(Σ) ‖μ‖_{Σ⁻¹}` for a dense
    /// covariance (`κ` its condition number; a few ulps for a diagonal one),
    /// so at large `κ` it, not the tolerance, sets the width.
    pub gap_tolerance: f64,
    /// Iteration cap; reaching it gives [`Error::NoConvergence`] with the gap reached.
    pub max_iterations: usize,
}

impl SolverOptions {
    /// Checks the options as every solver does before it starts.
    pub(crate) fn validate(&self) -> Result<()> {
        let tolerance = self.gap_tolerance;
        if !(tolerance.is_finite() && tolerance >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "gap_tolerance",
                value: tolerance,
                reason: "must be finite and non-negative",
            });
        }
        Ok(())
    }
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions {
            gap_tolerance: 1e-9,
            max_iterations: 100_000,
        }
    }
}

impl SolverOptions {
    /// Sets the target duality gap relative to `r*` (default `1e-9`).
    pub fn with_gap_tolerance(mut self, gap_tolerance: f64) -> Self {
        self.gap_tolerance = gap_tolerance;
        self
    }

    /// Sets the iteration cap (default 100,000).
    pub fn with_max_iterations(mut self, max_iterations: usize) -> Self {
        self.max_iterations = max_iterations;
        self
    }
}

/// What a certified dual solve returns.
#[derive(Debug, Clone)]
pub struct DualSolution {
    /// `w* = 2Σ⁻¹(μ − z*)` (zero when `r* = 0`).
    pub weights: DVector<f64>,
    /// The adversary's shift `z* ∈ εK`.
    pub adversary: DVector<f64>,
    /// Upper bound on `r*`: `‖μ − z*‖_{Σ⁻¹}`.
    pub distance: f64,
    /// Lower bound on `r*`: the primal ratio `ρ(w*)`, clamped to
    /// `[0, distance]` (it exceeds the distance only by rounding).
    pub lower_bound: f64,
    /// `distance − lower_bound ≥ 0`: the optimization gap plus
    /// [`rounding`](Self::rounding) (see [`SolverOptions::gap_tolerance`]).
    pub gap: f64,
    /// The part of [`gap`](Self::gap) that bounds the floating-point error
    /// of the computed bounds (the widening of both ends that makes the
    /// interval contain the exact `r*` of the float64 inputs).
    pub rounding: f64,
    /// Iterations used.
    pub iterations: usize,
}

/// Minimizes `‖μ − z‖_{Σ⁻¹}` over `z ∈ εK` with a certified gap.
///
/// Returns `w* = 2Σ⁻¹(μ − z*)`, the adversary's shift `z*`, and the
/// bounds `ρ(w*) ≤ r* ≤ ‖μ − z*‖_{Σ⁻¹}` with their gap (see the module
/// docs). Ellipsoidal threats are accepted too (as one-part bodies), but
/// their closed form ([THEORY §7](crate::theory#7-adversarial-training), secular equation) is faster.
/// Crate-internal: users reach it through `Gmm::robust_optimum_with`; an
/// example by hand is the unit test `tests::linf_example_by_hand`.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `μ` or the threat does not match
/// `Σ`, [`Error::NonFinite`] for a non-finite `μ`,
/// [`Error::InvalidBudget`] for a negative or non-finite `ε`,
/// [`Error::InvalidParameter`] for a negative or non-finite gap
/// tolerance, [`Error::NoConvergence`] when the iteration cap is reached
/// before the target gap (with the gap reached), and
/// [`Error::Decomposition`] if a principal block of `Σ` cannot be factored.
pub fn solve(
    cov: &Covariance,
    mu: &DVector<f64>,
    threat: &Threat,
    eps: f64,
    options: &SolverOptions,
) -> Result<DualSolution> {
    cov.check_vector("mu", mu)?;
    ensure_budget(eps)?;
    if let Some(d) = threat.dim() {
        ensure_dim("threat", cov.dim(), d)?;
    }
    options.validate()?;
    // Solve the rescaled problem Σ̂ = Σ/c², μ̂ = μ/(ca), ε̂ = ε/(ca) (powers
    // of two: exact), whose largest variance and largest mean entry are
    // about 1, and map back: r* = a r̂*, w* = (a/c) ŵ*, z* = ca ẑ*.
    let scaling = Scaling::new(cov, mu);
    let scaled_cov = scaling.covariance(cov)?;
    let scaled_mu = mu.map(|v| scaling.down(v));
    let scaled_eps = scaling.down(eps);
    let scaled = solve_scaled(
        scaled_cov.as_ref().unwrap_or(cov),
        &scaled_mu,
        threat,
        scaled_eps,
        options,
    );
    match scaled {
        Ok(sol) => Ok(scaling.map_back(sol)),
        Err(Error::NoConvergence {
            solver,
            iterations,
            residual,
            gap,
            target,
        }) => Err(Error::NoConvergence {
            solver,
            iterations,
            residual,
            gap: scaling.distance(gap),
            target: scaling.distance(target),
        }),
        Err(other) => Err(other),
    }
}

/// The exact power-of-two rescaling of [`solve`]: `c = 2^{c_exp}` with `c²`
/// near the largest variance, `a = 2^{a_exp}` near `‖μ‖_∞/c`.
struct Scaling {
    c_exp: i32,
    a_exp: i32,
}

impl Scaling {
    fn new(cov: &Covariance, mu: &DVector<f64>) -> Scaling {
        let exponent = |x: f64| {
            if x > 0.0 && x.is_finite() {
                x.log2().round() as i32
            } else {
                0
            }
        };
        let c_exp = exponent(cov.eigenvalues()[0]) / 2;
        let a_exp = exponent(mu.amax()) - c_exp;
        Scaling { c_exp, a_exp }
    }

    /// `x/(ca)`.
    fn down(&self, x: f64) -> f64 {
        ldexp(x, -(self.c_exp + self.a_exp))
    }

    /// A distance of the rescaled problem in the user's units: `a r̂`.
    fn distance(&self, x: f64) -> f64 {
        ldexp(x, self.a_exp)
    }

    /// `Σ/c²`, or `None` when `c = 1`.
    fn covariance(&self, cov: &Covariance) -> Result<Option<Covariance>> {
        if self.c_exp == 0 {
            return Ok(None);
        }
        let e = -2 * self.c_exp;
        let scale = |v: f64| ldexp(v, e);
        let values = cov.eigenvalues().map(scale);
        let scaled = match cov.representation() {
            Representation::Diagonal => {
                let ones = DVector::from_element(cov.dim(), 1.0);
                Covariance::diagonal(cov.map_spectrum_unchecked(&ones, |_, l| scale(l)))?
            }
            Representation::Dense => Covariance::dense_from_eigen(
                cov.to_dense().map(scale),
                values,
                cov.leading_basis(cov.dim())?,
            )?,
            Representation::Spiked { rank } => Covariance::spiked(
                cov.leading_basis(rank)?,
                values.rows(0, rank).into_owned(),
                values[rank],
            )?,
        };
        Ok(Some(scaled))
    }

    fn map_back(&self, sol: DualSolution) -> DualSolution {
        DualSolution {
            weights: sol.weights.map(|v| ldexp(v, self.a_exp - self.c_exp)),
            adversary: sol.adversary.map(|v| ldexp(v, self.c_exp + self.a_exp)),
            distance: self.distance(sol.distance),
            lower_bound: self.distance(sol.lower_bound),
            gap: self.distance(sol.gap),
            rounding: self.distance(sol.rounding),
            iterations: sol.iterations,
        }
    }
}

/// [`solve`] on a problem whose largest variance and mean entry are about 1.
fn solve_scaled(
    cov: &Covariance,
    mu: &DVector<f64>,
    threat: &Threat,
    eps: f64,
    options: &SolverOptions,
) -> Result<DualSolution> {
    let tolerance = options.gap_tolerance;
    let metric = Metric::new(cov)?;
    let scale = metric.inverse_quadratic(mu).sqrt();
    let mut parts = Vec::new();
    flatten(threat, eps, &mut parts)?;
    let context = Context {
        metric: &metric,
        mu,
        threat,
        eps,
        tolerance,
        scale,
        max_iterations: options.max_iterations,
        parts: &parts,
        error: rounding::CovarianceError::of(cov),
    };
    if scale == 0.0 {
        return Ok(context.covered(mu.clone(), 0));
    }
    if eps == 0.0 {
        let w = metric.solve(mu);
        return context.finish("closed form", &w, &DVector::zeros(mu.len()), 0);
    }
    // Coverage: one body contains μ (gauge ≤ 1), or its boundary point
    // μ/γ is within the target of μ. The second case is a budget on the
    // boundary up to rounding: the ℓ1 gauge sums sorted magnitudes, so at
    // `ε = ‖μ‖₁` summed in another order it can come out a few ulps above 1.
    let gauge = parts
        .iter()
        .map(|part| projection::union_gauge(std::slice::from_ref(part), std::slice::from_ref(mu)))
        .fold(f64::INFINITY, f64::min);
    if gauge <= 1.0 {
        return Ok(context.covered(mu.clone(), 0));
    }
    if gauge.is_finite() {
        let boundary = context.covered(mu / gauge, 0);
        if boundary.distance <= tolerance * scale {
            return Ok(boundary);
        }
    }
    if parts.len() == 1 {
        let mut iterations = 0;
        let part = &parts[0];
        let (name, bounds) = context.single(part, &mut iterations)?;
        return context.finish_bounds(name, bounds, iterations);
    }
    context.union(&parts)
}

/// Everything a solve needs, shared by the methods.
struct Context<'a> {
    metric: &'a Metric<'a>,
    mu: &'a DVector<f64>,
    threat: &'a Threat,
    eps: f64,
    tolerance: f64,
    scale: f64,
    max_iterations: usize,
    /// The threat's bodies with their budgets (one part for a single body).
    parts: &'a [Part],
    /// The covariance's error model, for the certificate.
    error: rounding::CovarianceError,
}

const LINF_SOLVER: &str = "ℓ∞ projected Newton";
const L1_SOLVER: &str = "ℓ1 projected Newton with Brent's method";
const GRADIENT_SOLVER: &str = "accelerated projected gradient";

impl Context<'_> {
    /// `ε σ_K(w)` for the whole threat.
    fn threat_support(&self, w: &DVector<f64>) -> f64 {
        self.eps * self.threat.support_unchecked(w)
    }

    /// The solution for `μ ∈ εK` (up to rounding): `r* = 0`, zero weights.
    fn covered(&self, z: DVector<f64>, iterations: usize) -> DualSolution {
        let v = self.mu - &z;
        let distance = self.metric.inverse_quadratic(&v).sqrt();
        let rounding = self.upper_rounding(&v, distance, 0.0);
        let upper = distance + rounding;
        DualSolution {
            weights: DVector::zeros(self.mu.len()),
            adversary: z,
            distance: upper,
            lower_bound: 0.0,
            gap: upper,
            rounding,
            iterations,
        }
    }

    /// `ε σ_K(w)` from the parts (no snapping of small values) and a bound
    /// on its error, split into the model-based parts' share and the rest.
    fn certified_support(&self, w: &DVector<f64>) -> (f64, f64, f64) {
        let mut support: f64 = 0.0;
        let mut model: f64 = 0.0;
        let mut other: f64 = 0.0;
        for part in self.parts {
            let value = projection::part_support(part, w);
            let error = projection::part_support_error(part, w, value);
            support = support.max(value);
            if projection::is_model_based(part) {
                model = model.max(error);
            } else {
                other = other.max(error);
            }
        }
        (support, model, other)
    }

    /// How much the computed `‖v‖_{Σ⁻¹} = distance` may fall short of the
    /// exact dual value of a feasible shift (`rounding` module docs): the
    /// decomposition, `r² ≤ r'² + e_Σ‖Σ'⁻¹v‖²(1 + η)`; the change of basis,
    /// `c_U‖v‖/√λ_min`; the sum; the feasibility of `z` up to the rounding
    /// of the projection (see [`infeasibility`](Self::infeasibility)), which
    /// costs at most that fraction of `‖z‖_{Σ⁻¹} ≤ ‖μ‖_{Σ⁻¹} + r`; and twice
    /// the model-based parts' share `model` of the primal error (their body
    /// moves with the decomposition).
    fn upper_rounding(&self, v: &DVector<f64>, distance: f64, model: f64) -> f64 {
        let n = self.mu.len();
        let err = &self.error;
        let worst = err.worst_relative();
        let decomposition = if err.relative > 0.0 {
            if worst >= 1.0 {
                return f64::INFINITY;
            }
            let y = self.metric.solve(v).norm();
            let extra = err.absolute() * y * y * (1.0 + worst);
            (distance * distance + extra).sqrt() - distance
        } else {
            0.0
        };
        let coordinates = err.coordinates * v.norm() / err.lambda_min.sqrt();
        let sum = rounding::summation(n) * distance;
        let feasibility = self.infeasibility(&(self.mu - v)) * (self.scale + distance);
        decomposition + coordinates + sum + feasibility + 2.0 * model
    }

    /// How far the exact gauge of `z` may exceed 1: `z/(1 + τ)` is feasible.
    /// A single body's gauge is evaluated (exact for ℓ∞, within the
    /// rounding of a sum otherwise); for a union the split of `z` into its
    /// parts is not kept, and its projection is exact up to the rounding of
    /// the `m` parts' gauges, `τ ≤ m(n + 3)u`.
    fn infeasibility(&self, z: &DVector<f64>) -> f64 {
        let n = self.mu.len();
        match self.parts {
            [part] => {
                let gauge =
                    projection::union_gauge(std::slice::from_ref(part), std::slice::from_ref(z));
                let exact = matches!(part.body, Body::Lp(p) if p == f64::INFINITY);
                let rounding = if exact { 0.0 } else { rounding::summation(n) };
                (gauge * (1.0 + rounding) - 1.0).max(0.0)
            }
            parts => rounding::summation(n) * parts.len() as f64,
        }
    }

    /// Recomputes the certificate of `(w, z)`, accepts or rejects it, and
    /// widens it by the bound on its floating-point error (`rounding`).
    fn finish(
        &self,
        solver: &'static str,
        w: &DVector<f64>,
        z: &DVector<f64>,
        iterations: usize,
    ) -> Result<DualSolution> {
        // Newton on the identified active set: w to rounding, never a worse certificate.
        let (w, z) = &polish::polish(self, w, z);
        let v = self.mu - z;
        let distance = self.metric.inverse_quadratic(&v).sqrt();
        let norm_w = self.metric.quadratic(w).sqrt();
        let (support, model, other) = self.certified_support(w);
        let dot = w.dot(self.mu);
        // ρ(w) can exceed the distance by rounding (a few ulps) when the
        // two are equal; the reported bounds keep `lower ≤ distance`.
        let lower = if norm_w > 0.0 {
            ((dot - support) / norm_w).clamp(0.0, distance)
        } else {
            0.0
        };
        let gap = distance - lower;
        if lower > 0.0 {
            let n = self.mu.len();
            let abs_dot = w
                .iter()
                .zip(self.mu.iter())
                .map(|(a, b)| (a * b).abs())
                .sum::<f64>();
            let ratio = |support_error: f64| {
                rounding::ratio_error(&rounding::Ratio {
                    s: norm_w,
                    rho: lower,
                    dot_error: rounding::summation(n) * abs_dot,
                    support_error,
                    norm_error: rounding::norm_error(&self.error, norm_w, w.norm()),
                })
            };
            let below = ratio(model + other);
            let model_share = ratio(model) - ratio(0.0);
            let above = self.upper_rounding(&v, distance, model_share.max(0.0));
            // The optimization gap meets the target, or sits below the
            // rounding of its own evaluation (SolverOptions::gap_tolerance).
            if gap <= self.tolerance * lower || gap <= above + below.min(lower) {
                let upper = distance + above;
                let lower_bound = (lower - below).max(0.0);
                return Ok(DualSolution {
                    weights: w * 2.0,
                    adversary: z.clone(),
                    distance: upper,
                    lower_bound,
                    gap: upper - lower_bound,
                    rounding: upper - lower_bound - gap,
                    iterations,
                });
            }
        }
        if distance <= self.tolerance * self.scale {
            return Ok(self.covered(z.clone(), iterations));
        }
        Err(Error::NoConvergence {
            solver,
            iterations,
            residual: "duality gap",
            gap,
            target: self.tolerance * lower,
        })
    }

    fn finish_bounds(
        &self,
        solver: &'static str,
        bounds: Bounds,
        iterations: usize,
    ) -> Result<DualSolution> {
        match (bounds.w, bounds.z) {
            (Some(w), Some(z)) => self.finish(solver, &w, &z, iterations),
            (None, Some(z)) => self.finish(solver, &DVector::zeros(z.len()), &z, iterations),
            _ => Err(Error::NoConvergence {
                solver,
                iterations,
                residual: "duality gap",
                gap: f64::INFINITY,
                target: 0.0,
            }),
        }
    }

    /// Solves for one body (with its budget), returning the best bounds;
    /// the support used is the part's own.
    fn single(&self, part: &Part, iterations: &mut usize) -> Result<(&'static str, Bounds)> {
        let c = part.budget;
        match part.body {
            Body::Lp(p) if p == f64::INFINITY => Ok((LINF_SOLVER, self.linf(c, iterations)?)),
            Body::Lp(1.0) => Ok((L1_SOLVER, self.l1(c, iterations)?)),
            _ => {
                let support = |w: &DVector<f64>| projection::part_support(part, w);
                let mut bounds = Bounds::new(self.scale);
                let start = [projection::part_start(part, self.mu)];
                gradient::accelerated_projected_gradient(
                    self.metric,
                    self.mu,
                    std::slice::from_ref(part),
                    &start,
                    &support,
                    self.tolerance,
                    self.max_iterations,
                    iterations,
                    &mut bounds,
                    &mut self.finisher(std::slice::from_ref(part)),
                );
                Ok((GRADIENT_SOLVER, bounds))
            }
        }
    }

    /// The second-order finish of the gradient method: the active-set
    /// Newton finish from the iterate, and, the first time it does not
    /// certify, the smoothed Newton continuation (`smoothing`).
    fn finisher<'b>(
        &'b self,
        parts: &'b [Part],
    ) -> impl FnMut(&DVector<f64>, &mut Bounds, usize) -> usize + 'b {
        let mut smoothed = false;
        move |w, bounds, budget| {
            let mut used = active_set::newton_finish(self, parts, w, bounds);
            if !smoothed && !bounds.met(self.tolerance) && used < budget {
                smoothed = true;
                used += smoothing::continuation(self, parts, w, bounds, budget - used);
            }
            used
        }
    }

    /// ℓ∞ ball of radius `c`: projected Newton on the box.
    fn linf(&self, c: f64, iterations: &mut usize) -> Result<Bounds> {
        let problem = AdversaryBox {
            metric: self.metric,
            mu: self.mu,
        };
        let start = self.mu.map(|v| v.clamp(-c, c));
        let budget = self.max_iterations.saturating_sub(*iterations);
        let out = projected_newton(&problem, c, &start, budget, iterations)?;
        let w = -out.gradient;
        let mut bounds = Bounds::new(self.scale);
        bounds.offer(self.mu, &out.x, &w, &|w| {
            c * w.iter().map(|x| x.abs()).sum::<f64>()
        });
        Ok(bounds)
    }

    /// ℓ1 ball of radius `c`: box QPs in `w` at fixed `‖w‖_∞ = s`, Brent on `s`.
    fn l1(&self, c: f64, iterations: &mut usize) -> Result<Bounds> {
        let problem = WeightBox {
            metric: self.metric,
            mu: self.mu,
        };
        let mut bounds = Bounds::new(self.scale);
        let bayes = self.metric.solve(self.mu);
        let s_hi = bayes.amax();
        let l1 = |v: &DVector<f64>| v.iter().map(|x| x.abs()).sum::<f64>();
        let norm_mu = l1(self.mu);
        let f_lo = norm_mu - c;
        if f_lo <= 0.0 {
            // μ lies in the ball (up to the rounding of its norm, which the
            // covering check may have judged the other way): no sign change
            // to bracket, and r* = 0 up to rounding.
            let z = self.mu * (c / norm_mu).min(1.0);
            let upper = self.metric.inverse_quadratic(&(self.mu - &z)).sqrt();
            bounds.offer_upper(&z, upper);
            return Ok(bounds);
        }
        let mut search = BrentSearch::new(0.0, f_lo, s_hi, -c, 0.0, 0.0);
        let mut warm = bayes.clone();
        let mut warm_s = s_hi;
        while *iterations < self.max_iterations {
            let Some(s) = search.propose() else { break };
            let start = &warm * (s / warm_s);
            let budget = self.max_iterations - *iterations;
            let out = projected_newton(&problem, s, &start, budget, iterations)?;
            let z = -&out.gradient;
            let norm1 = l1(&z);
            // Certificate: w(s) for the lower bound, z(s) scaled into the ball.
            let norm_w = self.metric.quadratic(&out.x).sqrt();
            if norm_w > 0.0 {
                bounds.offer_lower(&out.x, (out.x.dot(self.mu) - c * out.x.amax()) / norm_w);
            }
            let feasible = if norm1 > c { &z * (c / norm1) } else { z };
            let upper = self.metric.inverse_quadratic(&(self.mu - &feasible)).sqrt();
            bounds.offer_upper(&feasible, upper);
            // The face is only meaningful at an exact inner optimum.
            let face = if out.optimal {
                self.l1_face_optimum(&bayes, &out.x, s, c)?
            } else {
                None
            };
            if let Some(face) = face {
                let w = self.metric.solve(&(self.mu - &face));
                bounds.offer(self.mu, &face, &w, &|v| c * v.amax());
            }
            if bounds.met(self.tolerance) {
                break;
            }
            search.observe(norm1 - c);
            warm = out.x;
            warm_s = s;
        }
        Ok(bounds)
    }

    /// The exact minimizer of `‖μ − z‖_{Σ⁻¹}` over the face of the ℓ1 ball
    /// of radius `c` selected by `w`: support `B = {i : abs(w_i) = s}`, signs
    /// `σ_B = sign(w_B)`, `σ_Bᵀz_B = c`. With `P = Σ⁻¹` the KKT conditions
    /// give `z_B = P_BB⁻¹((Pμ)_B − ν σ_B)` and
    /// `ν = (σ_Bᵀ P_BB⁻¹ (Pμ)_B − c) / (σ_Bᵀ P_BB⁻¹ σ_B)`. Returned only when
    /// the signs agree (then `z` lies on the ball). This computes `z`
    /// without the cancellation in `μ − Σw(s)`.
    fn l1_face_optimum(
        &self,
        bayes: &DVector<f64>,
        w: &DVector<f64>,
        s: f64,
        c: f64,
    ) -> Result<Option<DVector<f64>>> {
        let support: Vec<usize> = (0..w.len())
            .filter(|&i| w[i].abs() >= s * (1.0 - 1e-14))
            .collect();
        if support.is_empty() {
            return Ok(None);
        }
        let signs = DVector::from_fn(support.len(), |a, _| w[support[a]].signum());
        let rhs = DVector::from_fn(support.len(), |a, _| bayes[support[a]]);
        let a = self.metric.inverse_principal_solve(&support, &rhs)?;
        let b = self.metric.inverse_principal_solve(&support, &signs)?;
        let nu = (signs.dot(&a) - c) / signs.dot(&b);
        let z_face = a - nu * b;
        if nu.is_nan() || nu < 0.0 || (0..support.len()).any(|k| signs[k] * z_face[k] < 0.0) {
            return Ok(None);
        }
        let mut z = DVector::zeros(w.len());
        for (k, &i) in support.iter().enumerate() {
            z[i] = z_face[k];
        }
        let norm1: f64 = z.iter().map(|v| v.abs()).sum();
        if norm1 > c {
            z *= c / norm1;
        }
        Ok(Some(z))
    }

    /// Unions of two or more bodies.
    fn union(&self, parts: &[Part]) -> Result<DualSolution> {
        let mut iterations = 0;
        let mut best = Bounds::new(self.scale);
        let mut start: Vec<DVector<f64>> = parts
            .iter()
            .map(|_| DVector::zeros(self.mu.len()))
            .collect();
        let mut best_upper = f64::INFINITY;
        // Exact single-part optima of the polyhedral parts: a dominating
        // part is certified for the union; otherwise the best one starts
        // the gradient method.
        for (i, part) in parts.iter().enumerate() {
            if !matches!(part.body, Body::Lp(p) if p == 1.0 || p == f64::INFINITY) {
                continue;
            }
            // A warm start only: it may not take the union's whole budget
            // (projected Newton can crawl on ill-conditioned boxes).
            let warm = Context {
                max_iterations: iterations + self.max_iterations.saturating_sub(iterations) / 8,
                ..*self
            };
            let (_, bounds) = warm.single(part, &mut iterations)?;
            if let (Some(w), Some(z)) = (&bounds.w, &bounds.z) {
                let r = self.metric.solve(&(self.mu - z));
                best.offer(self.mu, z, &r, &|v| self.threat_support(v));
                let norm_w = self.metric.quadratic(w).sqrt();
                if norm_w > 0.0 {
                    best.offer_lower(w, (w.dot(self.mu) - self.threat_support(w)) / norm_w);
                }
                if bounds.upper < best_upper {
                    best_upper = bounds.upper;
                    for (j, s) in start.iter_mut().enumerate() {
                        *s = if j == i {
                            z.clone()
                        } else {
                            DVector::zeros(self.mu.len())
                        };
                    }
                }
            }
            if best.met(self.tolerance) {
                return self.finish_bounds(GRADIENT_SOLVER, best, iterations);
            }
        }
        if best_upper == f64::INFINITY {
            for (s, part) in start.iter_mut().zip(parts) {
                *s = projection::part_start(part, self.mu) / parts.len() as f64;
            }
        }
        let support = |w: &DVector<f64>| self.threat_support(w);
        gradient::accelerated_projected_gradient(
            self.metric,
            self.mu,
            parts,
            &start,
            &support,
            self.tolerance,
            self.max_iterations,
            &mut iterations,
            &mut best,
            &mut self.finisher(parts),
        );
        self.finish_bounds(GRADIENT_SOLVER, best, iterations)
    }
}
