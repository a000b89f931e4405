//! Polishing the direction of a certified dual solution by Newton's
//! method on the optimality conditions of the identified smooth piece.
//!
//! # Why
//!
//! The certificate bounds `r*` by `ρ(w) ≤ r* ≤ ‖μ − z‖_{Σ⁻¹}`, and `ρ` is
//! stationary at `w*`: a direction with angle error `δ` loses only `O(δ²)`
//! in `ρ`. A gap of `1e-9·r*` therefore only promises `δ ≈ 3e-5`, and the
//! clean error of the classifier (not stationary) is off by as much.
//! Here the solver's `w` is used to identify the active structure of the
//! optimum, on which the optimality conditions are smooth equations, and
//! Newton's method solves them to rounding.
//!
//! # The equations
//!
//! With the union's parts `c_i K_i` (`c_i = ε ε_i`, one part for a single
//! body), `w*` (undoubled, `w* = Σ⁻¹(μ − z*)`) minimizes
//! `½wᵀΣw − μᵀw + max_i c_i σ_i(w)`, whose optimality condition is
//!
//! ```text
//! Σw − μ + Σ_{i∈A} α_i c_i g_i = 0,   g_i ∈ ∂σ_i(w),   α ≥ 0,  Σ α_i = 1,
//! c_i σ_i(w) = max_j c_j σ_j(w)  for i ∈ A   (the active parts).
//! ```
//!
//! The structure read off the solver's `w` (relative threshold `δ`): the
//! active parts `A = {i : c_iσ_i(w) ≥ (1 − δ) max_j c_jσ_j(w)}`; if an ℓ∞
//! ball (σ = ‖·‖₁) is active, the zeros `Z = {abs(w_i) ≤ δ‖w‖_∞}` and the
//! signs `s` of the other entries; if an ℓ1 ball (σ = ‖·‖_∞) is active, the
//! tied maximal entries `B = {abs(w_i) ≥ (1 − δ)‖w‖_∞}` with signs `s_B`.
//! On that piece `w = Pθ`: `w_Z = 0`, `w_B = t s_B`, the other entries
//! free, `θ = (w_F, t)`; the polyhedral supports are linear there
//! (`‖w‖₁ = sᵀw`, `‖w‖_∞ = t`) and the others smooth (ℓ2: `∇ = w/‖w‖`;
//! ℓp with `q = p/(p − 1)`, `N = ‖w‖_q`: `∇_i = sign(w_i)(abs(w_i)/N)^{q−1}`,
//! `∇² = (q − 1)/N (diag((abs(w_i)/N)^{q−2}) − ∇∇ᵀ)`; ellipsoids
//! `σ = √(wᵀMw)`: `∇ = Mw/σ`, `∇² = (M − ∇∇ᵀ)/σ`). The square system in
//! `(θ, α)`,
//!
//! ```text
//! Pᵀ(ΣPθ − μ + Σ_{i∈A} α_i c_i ∇σ_i(Pθ)) = 0,
//! c_i σ_i(Pθ) − c_{a} σ_{a}(Pθ) = 0  (i ∈ A, i ≠ a, a the first active part),
//! Σ_{i∈A} α_i = 1,
//! ```
//!
//! is solved by Newton's method (dense LU of the `(dim θ + |A|)`-square
//! Jacobian, steps halved until the scaled residual decreases; with an
//! active ℓp part, `p > 2`, in the variables `u_i = sign(w_i) abs(w_i)^{q−1}`
//! on the free entries, where its gradient is smooth), from `w`
//! scaled to its best length `ρ(w)/‖w‖_Σ` and `α` fitted by least squares.
//! For a single ℓ∞ ball the system is linear (`Σ_SS w_S = μ_S − c s_S`);
//! for a single ℓ1 ball it is the face equation of the ℓ1 solver.
//!
//! A Newton solution is the optimum when the conditions left out of the
//! smooth piece hold too (checked to `1e-8` relative): `α ≥ 0`, inactive
//! parts below the maximum, the signs kept (where an ℓ∞ part is active,
//! and on the ties), free entries below `t`, and
//! the multipliers of the kinks feasible — `abs(μ − Σw − others)_Z ≤ Σ α_i c_i`
//! over the active ℓ∞ balls, and `s_B ∘ (μ − Σw − others)_B ≥ 0` for the
//! ℓ1 balls. The thresholds `δ ∈ {1e-6, 1e-4, 1e-8, 1e-2}` are tried in
//! turn until one passes; otherwise the candidate with the largest `ρ` is
//! kept.
//!
//! # Acceptance
//!
//! Any `w` gives the valid lower bound `ρ(w) ≤ r*`, so the polished `w`
//! replaces the solver's only if `ρ(w_new) ≥ ρ(w_old)`, both evaluated by
//! the certificate's formula. One exception: a polished `w` that passed
//! the check above is also accepted when `ρ(w_new)` falls short by no more
//! than the rounding error of evaluating `ρ` (`4(d + 2)u` times the
//! magnitudes summed, see `rounding`). Then `ρ(w_old)` is already
//! `r*` to rounding while `w_old` can still be `1e-6` off in angle (`ρ` is
//! flat there), and the two values differ by less than either's own
//! rounding error. The polished shift `z` (single bodies: `c∇σ(w)` for
//! smooth bodies, `μ − Σw` with the face's exact entries for polyhedral
//! ones, scaled into `cK` by its gauge) replaces the solver's only if its
//! distance `‖μ − z‖_{Σ⁻¹}` is not larger. For unions the polished shift
//! is the split of the active-set finish built from the verified `(w, α)`
//! (`z_i = α_i c_i ∇σ_i(w)` for smooth parts, the kink multipliers for
//! polyhedral ones), divided by its union gauge, under the same rule.

//! # Accuracy and cost
//!
//! On the right structure Newton converges quadratically from the
//! solver's `δ ≈ 3e-5`, so two or three steps reach rounding: on
//! well-conditioned problems (κ(Σ) ≤ 1e4) `1 − cos(w, w*) ≲ 1e-14`. Each
//! step costs `dim θ` products with `Σ` (and with `M` for ellipsoidal
//! parts) and a dense LU, `O(d³)`; directions are polished only when
//! `dim θ ≤ 1024` (larger problems keep the solver's `w`). A wrong
//! structure (a kink misread) is caught by the check above and costs one
//! more Newton solve.

use crate::linalg::sign;
use nalgebra::{DMatrix, DVector};

use super::Context;
use super::projection::{self, Body, Part, conjugate, flatten, lp_norm};

/// Largest reduced dimension `dim θ` polished (dense `O(dim θ³)` steps).
const MAX_REDUCED_DIM: usize = 1024;

/// Relative thresholds `δ` for reading the structure off `w`, in the
/// order tried (the solver's `w` has a relative error of about `1e-5`).
pub(super) const THRESHOLDS: [f64; 4] = [1e-6, 1e-4, 1e-8, 1e-2];

/// Newton steps per structure (quadratic convergence needs 2–4).
const NEWTON_STEPS: usize = 12;

/// Relative tolerance of the checks of the left-out conditions.
const CHECK_TOLERANCE: f64 = 1e-8;

/// Returns the polished `(w, z)` (undoubled `w`), or the solver's own when
/// polishing does not improve them (see the module docs).
pub(super) fn polish(
    ctx: &Context,
    w: &DVector<f64>,
    z: &DVector<f64>,
) -> (DVector<f64>, DVector<f64>) {
    let unchanged = || (w.clone(), z.clone());
    if ctx.eps == 0.0 || !w.iter().all(|v| v.is_finite()) || w.amax() == 0.0 {
        return unchanged();
    }
    let mut parts = Vec::new();
    if flatten(ctx.threat, ctx.eps, &mut parts).is_err() {
        return unchanged();
    }
    let old_ratio = ratio(ctx, w);
    if old_ratio.is_nan() || old_ratio <= 0.0 {
        return unchanged();
    }
    // Only certified solutions are polished: the iteration cap and the
    // typed non-convergence error keep their meaning.
    let distance = |v: &DVector<f64>| ctx.metric.inverse_quadratic(&(ctx.mu - v)).sqrt();
    if distance(z) - old_ratio > ctx.tolerance * old_ratio {
        return unchanged();
    }
    let Some(candidate) = best_candidate(ctx, &parts, w) else {
        return unchanged();
    };
    let new_ratio = ratio(ctx, &candidate.w);
    let allowance = if candidate.verified {
        rounding(ctx, &candidate.w, new_ratio)
    } else {
        0.0
    };
    if new_ratio.is_nan() || new_ratio < old_ratio - allowance {
        return unchanged();
    }
    let mut z_out = z.clone();
    let shift = if parts.len() == 1 {
        single_part_shift(ctx, &parts, &candidate)
    } else {
        union_shift(ctx, &parts, &candidate)
    };
    if let Some(z_new) = shift {
        if distance(&z_new) <= distance(z) {
            z_out = z_new;
        }
    }
    (candidate.w, z_out)
}

/// `ρ(w) = (wᵀμ − ε σ_K(w)) / ‖w‖_Σ`, as the certificate evaluates it.
fn ratio(ctx: &Context, w: &DVector<f64>) -> f64 {
    let norm = ctx.metric.quadratic(w).sqrt();
    (w.dot(ctx.mu) - ctx.threat_support(w)) / norm
}

/// A bound on the rounding error of evaluating `ρ(w)`: the numerator is a
/// sum of `d` products and a support of size `εσ(w)`, the norm a spectral
/// sum, each with relative error at most `d·u` (`u` the unit roundoff),
/// with a factor 4 to spare.
fn rounding(ctx: &Context, w: &DVector<f64>, value: f64) -> f64 {
    let d = w.len() as f64;
    let norm = ctx.metric.quadratic(w).sqrt();
    let magnitude = w
        .iter()
        .zip(ctx.mu.iter())
        .map(|(a, b)| (a * b).abs())
        .sum::<f64>();
    let unit = 0.5 * f64::EPSILON;
    4.0 * (d + 2.0) * unit * ((magnitude + ctx.threat_support(w)) / norm + value.abs())
}

/// A Newton solution on one structure.
struct Candidate {
    w: DVector<f64>,
    /// The multipliers of the active parts.
    alpha: DVector<f64>,
    structure: Structure,
    /// Whether the left-out conditions hold (then it is the optimum).
    verified: bool,
}

/// Tries the thresholds in turn; the first verified candidate, else the
/// one with the largest `ρ`.
fn best_candidate(ctx: &Context, parts: &[Part], w: &DVector<f64>) -> Option<Candidate> {
    let norm = ctx.metric.quadratic(w).sqrt();
    let start = w * (ratio(ctx, w) / norm);
    let mut tried: Vec<Structure> = Vec::new();
    let mut best: Option<(f64, Candidate)> = None;
    for delta in THRESHOLDS {
        let structure = Structure::identify(parts, &start, delta);
        if structure.dim() > MAX_REDUCED_DIM || tried.contains(&structure) {
            continue;
        }
        tried.push(structure.clone());
        let Some(solved) = newton(ctx, parts, &structure, &start) else {
            continue;
        };
        let (w_new, alpha) = solved;
        let verified = structure.verify(ctx, parts, &w_new, &alpha);
        let candidate = Candidate {
            w: w_new,
            alpha,
            structure,
            verified,
        };
        if candidate.verified {
            return Some(candidate);
        }
        let value = ratio(ctx, &candidate.w);
        if best.as_ref().is_none_or(|(v, _)| value > *v) {
            best = Some((value, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// The piece of the optimality conditions read off `w` (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Structure {
    /// Active parts, by index.
    pub(super) active: Vec<usize>,
    /// Free coordinates (`θ_F`).
    pub(super) free: Vec<usize>,
    /// Tied maximal coordinates `B` (empty unless an ℓ1 ball is active).
    pub(super) tied: Vec<usize>,
    /// Signs of `w` on the free and tied coordinates, 0 on the zeros.
    pub(super) signs: Vec<f64>,
}

pub(super) fn is_linf_ball(part: &Part) -> bool {
    matches!(part.body, Body::Lp(p) if p == f64::INFINITY)
}

pub(super) fn is_l1_ball(part: &Part) -> bool {
    matches!(part.body, Body::Lp(p) if p == 1.0)
}

impl Structure {
    pub(super) fn identify(parts: &[Part], w: &DVector<f64>, delta: f64) -> Structure {
        let values: Vec<f64> = parts
            .iter()
            .map(|p| projection::part_support(p, w))
            .collect();
        let largest = values.iter().copied().fold(0.0, f64::max);
        let active: Vec<usize> = (0..parts.len())
            .filter(|&i| values[i] >= (1.0 - delta) * largest)
            .collect();
        let zeros = active.iter().any(|&i| is_linf_ball(&parts[i]));
        let ties = active.iter().any(|&i| is_l1_ball(&parts[i]));
        let top = w.amax();
        let mut free = Vec::new();
        let mut tied = Vec::new();
        let mut signs = vec![0.0; w.len()];
        for (i, &v) in w.iter().enumerate() {
            if zeros && v.abs() <= delta * top {
                continue;
            }
            signs[i] = sign(v);
            if ties && v.abs() >= (1.0 - delta) * top {
                tied.push(i);
            } else {
                free.push(i);
            }
        }
        Structure {
            active,
            free,
            tied,
            signs,
        }
    }

    /// `dim θ`.
    pub(super) fn dim(&self) -> usize {
        self.free.len() + usize::from(!self.tied.is_empty())
    }

    /// `w = Pθ`.
    fn expand(&self, theta: &DVector<f64>, d: usize) -> DVector<f64> {
        let mut w = DVector::zeros(d);
        for (j, &i) in self.free.iter().enumerate() {
            w[i] = theta[j];
        }
        if !self.tied.is_empty() {
            let t = theta[self.free.len()];
            for &i in &self.tied {
                w[i] = t * self.signs[i];
            }
        }
        w
    }

    /// `Pᵀx`.
    fn reduce(&self, x: &DVector<f64>) -> DVector<f64> {
        let mut out = DVector::zeros(self.dim());
        for (j, &i) in self.free.iter().enumerate() {
            out[j] = x[i];
        }
        if !self.tied.is_empty() {
            out[self.free.len()] = self.tied.iter().map(|&i| self.signs[i] * x[i]).sum();
        }
        out
    }

    /// `θ` for a `w` near the piece (the tied entries averaged).
    fn coordinates(&self, w: &DVector<f64>) -> DVector<f64> {
        let mut theta = DVector::zeros(self.dim());
        for (j, &i) in self.free.iter().enumerate() {
            theta[j] = w[i];
        }
        if !self.tied.is_empty() {
            let sum: f64 = self.tied.iter().map(|&i| self.signs[i] * w[i]).sum();
            theta[self.free.len()] = sum / self.tied.len() as f64;
        }
        theta
    }

    /// `c σ(w)` on the piece: linear for the polyhedral parts.
    fn value(&self, part: &Part, w: &DVector<f64>) -> f64 {
        let c = part.budget;
        match part.body {
            Body::Lp(p) if p == f64::INFINITY => {
                c * w.iter().zip(&self.signs).map(|(v, s)| v * s).sum::<f64>()
            }
            Body::Lp(1.0) => {
                let sum: f64 = self.tied.iter().map(|&i| self.signs[i] * w[i]).sum();
                c * sum / self.tied.len() as f64
            }
            _ => projection::part_support(part, w),
        }
    }

    /// `c ∇σ(w)` on the piece (for the ℓ1 ball the subgradient spread
    /// evenly over `B`, whose reduction is what matters).
    pub(super) fn gradient(&self, part: &Part, w: &DVector<f64>) -> DVector<f64> {
        let c = part.budget;
        match &part.body {
            Body::Lp(p) if *p == f64::INFINITY => DVector::from_column_slice(&self.signs) * c,
            Body::Lp(p) if *p == 1.0 => {
                let mut g = DVector::zeros(w.len());
                let share = c / self.tied.len() as f64;
                for &i in &self.tied {
                    g[i] = self.signs[i] * share;
                }
                g
            }
            Body::Lp(p) if *p == 2.0 => w * (c / w.norm()),
            Body::Lp(p) => {
                let q = conjugate(*p);
                let n = lp_norm(w, q);
                w.map(|v| c * sign(v) * (v.abs() / n).powf(q - 1.0))
            }
            Body::Ellipsoid(_) => {
                let mw = projection::ellipsoid_mul(part, w).expect("an ellipsoid");
                let sigma = w.dot(&mw).max(0.0).sqrt();
                mw * (c / sigma)
            }
        }
    }

    /// `c ∇²σ(w) v`; `None` where the piece is linear.
    fn hessian_mul(&self, part: &Part, w: &DVector<f64>, v: &DVector<f64>) -> Option<DVector<f64>> {
        let c = part.budget;
        match &part.body {
            Body::Lp(p) if *p == f64::INFINITY || *p == 1.0 => None,
            Body::Lp(p) if *p == 2.0 => {
                let n = w.norm();
                let u = w / n;
                Some((v - &u * u.dot(v)) * (c / n))
            }
            Body::Lp(p) => {
                let q = conjugate(*p);
                let n = lp_norm(w, q);
                let u = w.map(|x| sign(x) * (x.abs() / n).powf(q - 1.0));
                // Floor the entries so that q < 2 keeps a finite (huge) diagonal at zeros.
                let diag = DVector::from_fn(w.len(), |i, _| {
                    (w[i].abs() / n).max(1e-150).powf(q - 2.0) * v[i]
                });
                Some((diag - &u * u.dot(v)) * (c * (q - 1.0) / n))
            }
            Body::Ellipsoid(_) => {
                let mw = projection::ellipsoid_mul(part, w)?;
                let mv = projection::ellipsoid_mul(part, v)?;
                let sigma = w.dot(&mw).max(0.0).sqrt();
                let u = mw / sigma;
                Some((mv - &u * u.dot(v)) * (c / sigma))
            }
        }
    }

    /// The residual of the square system at `(θ, α)`, scaled by `‖μ‖` and
    /// the largest support, and the vectors it is built from.
    fn residual(
        &self,
        ctx: &Context,
        parts: &[Part],
        theta: &DVector<f64>,
        alpha: &DVector<f64>,
    ) -> (DVector<f64>, f64) {
        let d = ctx.mu.len();
        let w = self.expand(theta, d);
        let mut stationary = ctx.metric.mul(&w) - ctx.mu;
        let values: Vec<f64> = self
            .active
            .iter()
            .map(|&i| self.value(&parts[i], &w))
            .collect();
        for (a, &i) in self.active.iter().enumerate() {
            stationary += self.gradient(&parts[i], &w) * alpha[a];
        }
        let m = self.dim();
        let k = self.active.len();
        let mut out = DVector::zeros(m + k);
        out.rows_mut(0, m).copy_from(&self.reduce(&stationary));
        for a in 1..k {
            out[m + a - 1] = values[a] - values[0];
        }
        out[m + k - 1] = alpha.sum() - 1.0;
        let scale_mu = ctx.mu.norm();
        let scale_value = values
            .iter()
            .copied()
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let merit = (0..m + k)
            .map(|r| {
                let s = if r < m {
                    scale_mu
                } else if r < m + k - 1 {
                    scale_value
                } else {
                    1.0
                };
                (out[r] / s).powi(2)
            })
            .sum::<f64>()
            .sqrt();
        (out, merit)
    }

    /// The Jacobian of [`residual`](Self::residual) in `(θ, α)`.
    /// The Hessian of the active part at position `skip` (in `active`) is
    /// left out (see [`Substitution::chain`]).
    fn jacobian(
        &self,
        ctx: &Context,
        parts: &[Part],
        theta: &DVector<f64>,
        alpha: &DVector<f64>,
        skip: Option<usize>,
    ) -> DMatrix<f64> {
        let d = ctx.mu.len();
        let w = self.expand(theta, d);
        let m = self.dim();
        let k = self.active.len();
        let mut jac = DMatrix::zeros(m + k, m + k);
        for j in 0..m {
            let mut unit = DVector::zeros(m);
            unit[j] = 1.0;
            let column = self.expand(&unit, d);
            let mut image = ctx.metric.mul(&column);
            for (a, &i) in self.active.iter().enumerate() {
                if skip == Some(a) {
                    continue;
                }
                if let Some(h) = self.hessian_mul(&parts[i], &w, &column) {
                    image += h * alpha[a];
                }
            }
            jac.view_mut((0, j), (m, 1)).copy_from(&self.reduce(&image));
        }
        let gradients: Vec<DVector<f64>> = self
            .active
            .iter()
            .map(|&i| self.reduce(&self.gradient(&parts[i], &w)))
            .collect();
        for a in 0..k {
            jac.view_mut((0, m + a), (m, 1)).copy_from(&gradients[a]);
            jac[(m + k - 1, m + a)] = 1.0;
        }
        for a in 1..k {
            let row = &gradients[a] - &gradients[0];
            jac.view_mut((m + a - 1, 0), (1, m))
                .copy_from(&row.transpose());
        }
        jac
    }

    /// The multipliers left over for the kinks, `μ − Σw` minus the smooth
    /// active parts' `α_i c_i ∇σ_i(w)`, with the total weights `Σ α_i c_i`
    /// of the active ℓ∞ and of the active ℓ1 balls.
    pub(super) fn kink_multipliers(
        &self,
        ctx: &Context,
        parts: &[Part],
        w: &DVector<f64>,
        alpha: &DVector<f64>,
    ) -> (DVector<f64>, f64, f64) {
        let mut rest = ctx.mu - ctx.metric.mul(w);
        let mut linf_weight = 0.0;
        let mut l1_weight = 0.0;
        for (a, &i) in self.active.iter().enumerate() {
            let part = &parts[i];
            if is_linf_ball(part) {
                linf_weight += alpha[a] * part.budget;
            } else if is_l1_ball(part) {
                l1_weight += alpha[a] * part.budget;
            } else {
                rest -= self.gradient(part, w) * alpha[a];
            }
        }
        (rest, linf_weight, l1_weight)
    }

    /// The left-out conditions of the module docs at a Newton solution.
    pub(super) fn verify(
        &self,
        ctx: &Context,
        parts: &[Part],
        w: &DVector<f64>,
        alpha: &DVector<f64>,
    ) -> bool {
        let tol = CHECK_TOLERANCE;
        if alpha.iter().any(|&a| a < -tol) {
            return false;
        }
        let values: Vec<f64> = parts
            .iter()
            .map(|p| projection::part_support(p, w))
            .collect();
        let top_value = self
            .active
            .iter()
            .map(|&i| self.value(&parts[i], w))
            .fold(0.0, f64::max);
        if values.iter().any(|&v| v > top_value * (1.0 + tol)) {
            return false;
        }
        let top = w.amax();
        let t = self.tied.first().map_or(top, |&i| w[i].abs());
        let scale = ctx.mu.amax();
        let (rest, linf_weight, l1_weight) = self.kink_multipliers(ctx, parts, w, alpha);
        let polyhedral_signs = self.active.iter().any(|&i| is_linf_ball(&parts[i]));
        for (i, &s) in self.signs.iter().enumerate() {
            let on_tie = self.tied.contains(&i);
            if s == 0.0 {
                // A zero of an ℓ∞ part: its multiplier must fit in the box.
                if rest[i].abs() > linf_weight + tol * scale {
                    return false;
                }
                continue;
            }
            // The signs are part of the piece only where a support is
            // linear in them (an active ℓ∞ part, the ℓ1 ties); smooth
            // parts allow an entry to cross zero.
            if (polyhedral_signs || on_tie) && s * w[i] <= 0.0 {
                return false;
            }
            if on_tie {
                // ℓ1 ball: the tied multipliers share the sign of w.
                let own = rest[i] - linf_weight * s;
                if l1_weight > 0.0 && s * own < -tol * scale {
                    return false;
                }
            } else if !self.tied.is_empty() && w[i].abs() > t * (1.0 + tol) {
                return false;
            }
        }
        true
    }
}

/// Newton's method on the square system of `structure` from `start`;
/// returns `(w, α)` at the smallest residual reached.
///
/// When an active ℓp part has `p > 2` (its support `‖w‖_q`, `q < 2`, has
/// the gradient `sign(w_i)(abs(w_i)/N)^{q−1}`, whose slope is infinite at
/// `w_i = 0`), the free entries are solved for in the variables
/// `u_i = sign(w_i) abs(w_i)^{q−1}` (`w_i = sign(u_i) abs(u_i)^{p−1}`, see
/// [`Substitution`]): in `w` Newton's method oscillates around a root near
/// `w_i = 0` (on `abs(w)^{q−1}` it multiplies the distance to the root by
/// `1 − 1/(q − 1)`, of modulus above 1 for `q < 3/2`), while in `u` that
/// gradient is `u/‖u‖_p`, smooth. (Only when every entry is free: with an
/// active ℓ1 or ℓ∞ part the variables stay `θ`.)
pub(super) fn newton(
    ctx: &Context,
    parts: &[Part],
    structure: &Structure,
    start: &DVector<f64>,
) -> Option<(DVector<f64>, DVector<f64>)> {
    let d = ctx.mu.len();
    let substitution = Substitution::of(parts, structure);
    let theta0 = structure.coordinates(start);
    let w0 = structure.expand(&theta0, d);
    let mut alpha = fit_alpha(ctx, parts, structure, &w0);
    let mut u = substitution.to_u(&theta0);
    let (mut residual, mut merit) =
        structure.residual(ctx, parts, &substitution.to_theta(&u), &alpha);
    let m = structure.dim();
    for _ in 0..NEWTON_STEPS {
        if merit == 0.0 {
            break;
        }
        let theta = substitution.to_theta(&u);
        let mut jac = structure.jacobian(ctx, parts, &theta, &alpha, substitution.part);
        substitution.chain(parts, structure, &u, &alpha, &mut jac);
        let step = jac.lu().solve(&(-&residual))?;
        if !step.iter().all(|v| v.is_finite()) {
            return None;
        }
        let mut factor = 1.0;
        let mut improved = false;
        for _ in 0..20 {
            let u_try = &u + step.rows(0, m) * factor;
            let alpha_try = &alpha + step.rows(m, step.len() - m) * factor;
            let theta_try = substitution.to_theta(&u_try);
            let (r, value) = structure.residual(ctx, parts, &theta_try, &alpha_try);
            if value < merit {
                u = u_try;
                alpha = alpha_try;
                residual = r;
                merit = value;
                improved = true;
                break;
            }
            factor *= 0.5;
        }
        if !improved {
            break;
        }
    }
    let w = structure.expand(&substitution.to_theta(&u), d);
    w.iter().all(|v| v.is_finite()).then_some((w, alpha))
}

/// The change of variables of [`newton`]: `w_j = sign(u_j) abs(u_j)^e`
/// with `e = p − 1 = 1/(q − 1)` for the active ℓp part with the largest
/// `p > 2` (the steepest gradient), used when every entry of `w` is free
/// (no active ℓ1 or ℓ∞ part); otherwise the identity (`e = 1`). In `u`
/// that part's gradient is `c u/‖u‖_p`, with the Jacobian
/// `c (I − u φ(u)ᵀ/‖u‖_p^p)/‖u‖_p`, `φ(u) = sign(u) abs(u)^{p−1}`, finite
/// at `u_j = 0`; the other parts' gradients, `abs(w)^{q'−1}` with `q' ≥ q`,
/// are Lipschitz in `u`, and their Jacobians are the chain rule's.
struct Substitution {
    exponent: f64,
    /// The substituted part, by position in the structure's `active`.
    part: Option<usize>,
}

impl Substitution {
    fn of(parts: &[Part], structure: &Structure) -> Substitution {
        let identity = Substitution {
            exponent: 1.0,
            part: None,
        };
        if !structure.tied.is_empty() || structure.free.len() != structure.signs.len() {
            return identity;
        }
        let mut best = identity;
        for (a, &i) in structure.active.iter().enumerate() {
            if let Body::Lp(p) = parts[i].body {
                if p > 2.0 && p.is_finite() && p - 1.0 > best.exponent {
                    best = Substitution {
                        exponent: p - 1.0,
                        part: Some(a),
                    };
                }
            }
        }
        best
    }

    fn to_u(&self, theta: &DVector<f64>) -> DVector<f64> {
        theta.map(|v| sign(v) * v.abs().powf(1.0 / self.exponent))
    }

    fn to_theta(&self, u: &DVector<f64>) -> DVector<f64> {
        u.map(|v| sign(v) * v.abs().powf(self.exponent))
    }

    /// Turns the `θ`-Jacobian without the substituted part's Hessian into
    /// the `u`-Jacobian: the columns times `dθ_j/du_j = e abs(u_j)^{e−1}`,
    /// plus `α_a` times the substituted part's own `u`-Jacobian.
    fn chain(
        &self,
        parts: &[Part],
        structure: &Structure,
        u: &DVector<f64>,
        alpha: &DVector<f64>,
        jac: &mut DMatrix<f64>,
    ) {
        let Some(a) = self.part else { return };
        let n = u.len();
        for j in 0..n {
            let derivative = self.exponent * u[j].abs().powf(self.exponent - 1.0);
            jac.column_mut(j).scale_mut(derivative);
        }
        let p = self.exponent + 1.0;
        let c = parts[structure.active[a]].budget * alpha[a];
        let norm = lp_norm(u, p);
        let phi = u.map(|v| sign(v) * (v.abs() / norm).powf(p - 1.0));
        for j in 0..n {
            for i in 0..n {
                let identity = if i == j { 1.0 } else { 0.0 };
                jac[(i, j)] += c * (identity - u[i] / norm * phi[j]) / norm;
            }
        }
    }
}

/// Least-squares multipliers `α` of the stationarity equation at `w`
/// (equal shares when the fit is singular).
fn fit_alpha(
    ctx: &Context,
    parts: &[Part],
    structure: &Structure,
    w: &DVector<f64>,
) -> DVector<f64> {
    let k = structure.active.len();
    let fallback = DVector::from_element(k, 1.0 / k as f64);
    if k == 1 {
        return fallback;
    }
    let base = structure.reduce(&(ctx.metric.mul(w) - ctx.mu));
    let columns: Vec<DVector<f64>> = structure
        .active
        .iter()
        .map(|&i| structure.reduce(&structure.gradient(&parts[i], w)))
        .collect();
    let gram = DMatrix::from_fn(k, k, |a, b| columns[a].dot(&columns[b]));
    let rhs = DVector::from_fn(k, |a, _| -columns[a].dot(&base));
    gram.lu()
        .solve(&rhs)
        .filter(|a| a.iter().all(|v| v.is_finite()))
        .unwrap_or(fallback)
}

/// The polished shift of a union: the sum of the split `z_i` built from
/// the candidate's `(w, α)` as in the active-set finish
/// (`active_set::dual_split`), divided by its union gauge when that
/// exceeds 1; `None` unless the candidate passed the optimality check.
fn union_shift(ctx: &Context, parts: &[Part], candidate: &Candidate) -> Option<DVector<f64>> {
    if !candidate.verified {
        return None;
    }
    let zs = super::active_set::dual_split(
        ctx,
        parts,
        &candidate.structure,
        &candidate.w,
        &candidate.alpha,
    );
    let gauge = projection::union_gauge(parts, &zs);
    if !gauge.is_finite() {
        return None;
    }
    let mut z = DVector::zeros(candidate.w.len());
    for zi in &zs {
        z += zi;
    }
    if gauge > 1.0 {
        z /= gauge;
    }
    z.iter().all(|v| v.is_finite()).then_some(z)
}

/// The polished shift of a single body (see the module docs).
fn single_part_shift(ctx: &Context, parts: &[Part], candidate: &Candidate) -> Option<DVector<f64>> {
    let [part] = parts else { return None };
    let w = &candidate.w;
    let structure = &candidate.structure;
    let mut z = if is_linf_ball(part) {
        let mut z = ctx.mu - ctx.metric.mul(w);
        for (i, &s) in structure.signs.iter().enumerate() {
            if s != 0.0 {
                z[i] = s * part.budget;
            }
        }
        z
    } else if is_l1_ball(part) {
        let full = ctx.mu - ctx.metric.mul(w);
        let mut z = DVector::zeros(w.len());
        for &i in &structure.tied {
            z[i] = full[i];
        }
        z
    } else {
        structure.gradient(part, w)
    };
    let gauge = projection::union_gauge(parts, std::slice::from_ref(&z));
    if !gauge.is_finite() {
        return None;
    }
    if gauge > 1.0 {
        z /= gauge;
    }
    Some(z)
}
