//! Active-set Newton finish of the first-order dual method.
//!
//! # Why
//!
//! The accelerated projected gradient of `gradient` converges at the rate
//! `1 − 1/√κ` per iteration, `κ = λ_max/λ_min` of `Σ`: at `κ = 1e8` that
//! is about `1e4` iterations per factor `e`, and the lower bound
//! `ρ(w)` of an iterate `w = Σ⁻¹(μ − z)` is worse still, since an error `δ`
//! in `z` becomes `δ/λ_min` in `w`. On spectra spanning 8 decades the
//! gradient method alone ran into its iteration cap, or stalled, in about
//! 8% of random unions and ℓp balls (and far more often near the covering
//! radius). Newton's method on the optimality conditions is invariant to
//! the conditioning; it needs the active structure (active parts, zeros of
//! ℓ∞ parts, tied maxima of ℓ1 parts), which an iterate identifies long
//! before it is accurate.
//!
//! # The method
//!
//! From an iterate `w`, the structure is read off with the thresholds of
//! `polish` and the square system of `polish` (stationarity on the smooth
//! piece, ties between the active parts, `Σ α_i = 1`) is solved by Newton's
//! method. If the conditions left out of the piece fail, the structure is
//! repaired as in a primal–dual active-set method, all violations at once:
//! a part with `α_i < 0` leaves the active set, a part above the maximum
//! joins it; a zero of an ℓ∞ part whose multiplier leaves the box is freed
//! (with the multiplier's sign), a free entry that changed sign becomes a
//! zero (ℓ∞ active) or flips; a free entry above the tied maximum joins
//! the ties, a tie with a multiplier of the wrong sign is freed. At most
//! [`MAX_REPAIRS`] structures are tried per threshold.
//!
//! # The certificate
//!
//! Any `w` gives the lower bound `ρ(w)`. The upper bound needs a feasible
//! shift: from the Newton solution `(w, α)` the split
//! `z_i = α_i c_i ∇σ_i(w)` (smooth parts, gauge `α_i`), the ℓ∞ parts
//! `s·Σα c` on the non-zeros and the remaining multiplier `μ − Σw − …`
//! clipped into the box on the zeros, and the ℓ1 parts that remainder on
//! the ties with the sign of `w` (`α_i c_i` in ℓ1 norm at the optimum).
//! The tuple is divided by its union gauge when that exceeds 1 and offered
//! as any other feasible point, so the certificate is the same as for the
//! gradient iterates (and is recomputed from scratch at the end).

use nalgebra::DVector;

use super::polish::{self, Structure, is_l1_ball, is_linf_ball};
use super::projection::{self, Part};
use super::{Bounds, Context};
use crate::linalg::sign;

/// Structures tried per threshold (each one Newton solve).
const MAX_REPAIRS: usize = 8;

/// Relative tolerance of the repair tests (as `polish`'s checks).
const REPAIR_TOLERANCE: f64 = 1e-8;

/// Tries to certify from the iterate `w`; offers every Newton solution
/// and its dual shift to `bounds`. Returns the number of Newton solves.
pub(super) fn newton_finish(
    ctx: &Context,
    parts: &[Part],
    w: &DVector<f64>,
    bounds: &mut Bounds,
) -> usize {
    let mut solves = 0;
    if !w.iter().all(|v| v.is_finite()) || w.amax() == 0.0 {
        return solves;
    }
    let mut tried: Vec<Structure> = Vec::new();
    for delta in polish::THRESHOLDS {
        let mut structure = Structure::identify(parts, w, delta);
        let mut start = w.clone();
        for _ in 0..MAX_REPAIRS {
            if tried.contains(&structure) || !consistent(parts, &structure) {
                break;
            }
            tried.push(structure.clone());
            solves += 1;
            let Some((w_new, alpha)) = polish::newton(ctx, parts, &structure, &start) else {
                break;
            };
            offer(ctx, parts, &structure, &w_new, &alpha, bounds);
            if bounds.met(ctx.tolerance) || structure.verify(ctx, parts, &w_new, &alpha) {
                return solves;
            }
            let Some(next) = repair(ctx, parts, &structure, &w_new, &alpha) else {
                break;
            };
            structure = next;
            start = w_new;
        }
    }
    solves
}

/// A structure the Newton system can be written for: at least one active
/// part, ties exactly when an ℓ1 part is active, and a non-empty piece.
fn consistent(parts: &[Part], s: &Structure) -> bool {
    let l1 = s.active.iter().any(|&i| is_l1_ball(&parts[i]));
    !s.active.is_empty() && l1 != s.tied.is_empty() && s.dim() > 0
}

/// Offers `ρ(w)` and the dual shift built from `(w, α)` (module docs).
fn offer(
    ctx: &Context,
    parts: &[Part],
    structure: &Structure,
    w: &DVector<f64>,
    alpha: &DVector<f64>,
    bounds: &mut Bounds,
) {
    let zs = dual_split(ctx, parts, structure, w, alpha);
    offer_pair(ctx, parts, w, &zs, bounds);
}

/// Offers the lower bound `ρ(w)` and the upper bound of the shift
/// `Σ_i z_i` of a tuple with `z_i ∈ t_i c_i K_i`, `Σ t_i ≈ 1`: the sum is
/// divided by the tuple's computed union gauge when that exceeds 1 (a
/// non-finite tuple is not offered).
pub(super) fn offer_pair(
    ctx: &Context,
    parts: &[Part],
    w: &DVector<f64>,
    zs: &[DVector<f64>],
    bounds: &mut Bounds,
) {
    let norm = ctx.metric.quadratic(w).sqrt();
    if norm > 0.0 {
        bounds.offer_lower(w, (w.dot(ctx.mu) - ctx.threat_support(w)) / norm);
    }
    let gauge = projection::union_gauge(parts, zs);
    if !gauge.is_finite() {
        return;
    }
    let mut z = DVector::zeros(w.len());
    for zi in zs {
        z += zi;
    }
    if gauge > 1.0 {
        z /= gauge;
    }
    if z.iter().all(|v| v.is_finite()) {
        let distance = ctx.metric.inverse_quadratic(&(ctx.mu - &z)).sqrt();
        bounds.offer_upper(&z, distance);
    }
}

/// The split `(z_i)` of the dual shift of the module docs.
pub(super) fn dual_split(
    ctx: &Context,
    parts: &[Part],
    structure: &Structure,
    w: &DVector<f64>,
    alpha: &DVector<f64>,
) -> Vec<DVector<f64>> {
    let d = w.len();
    let mut zs: Vec<DVector<f64>> = parts.iter().map(|_| DVector::zeros(d)).collect();
    let shares = alpha.map(|a| a.max(0.0));
    let (mut rest, linf_weight, l1_weight) = structure.kink_multipliers(ctx, parts, w, &shares);
    for (a, &i) in structure.active.iter().enumerate() {
        let part = &parts[i];
        if !is_linf_ball(part) && !is_l1_ball(part) {
            zs[i] = structure.gradient(part, w) * shares[a];
        }
    }
    // The polyhedral parts: one shift for each kind, split by the weights.
    let mut box_shift = DVector::zeros(d);
    if linf_weight > 0.0 {
        for i in 0..d {
            let s = structure.signs[i];
            box_shift[i] = if s == 0.0 {
                rest[i].clamp(-linf_weight, linf_weight)
            } else {
                s * linf_weight
            };
        }
        rest -= &box_shift;
    }
    let mut tie_shift = DVector::zeros(d);
    if l1_weight > 0.0 {
        for &i in &structure.tied {
            let s = structure.signs[i];
            tie_shift[i] = s * (s * rest[i]).max(0.0);
        }
        let norm1: f64 = tie_shift.iter().map(|v| v.abs()).sum();
        if norm1 > l1_weight {
            tie_shift *= l1_weight / norm1;
        }
    }
    for (a, &i) in structure.active.iter().enumerate() {
        let part = &parts[i];
        let share = alpha[a].max(0.0) * part.budget;
        if is_linf_ball(part) && linf_weight > 0.0 {
            zs[i] = &box_shift * (share / linf_weight);
        } else if is_l1_ball(part) && l1_weight > 0.0 {
            zs[i] = &tie_shift * (share / l1_weight);
        }
    }
    zs
}

/// The next structure of the primal–dual active-set iteration (module
/// docs), or `None` when nothing can be changed.
fn repair(
    ctx: &Context,
    parts: &[Part],
    structure: &Structure,
    w: &DVector<f64>,
    alpha: &DVector<f64>,
) -> Option<Structure> {
    let tol = REPAIR_TOLERANCE;
    let d = w.len();
    let values: Vec<f64> = parts
        .iter()
        .map(|p| projection::part_support(p, w))
        .collect();
    let top_value = structure
        .active
        .iter()
        .map(|&i| values[i])
        .fold(0.0, f64::max);
    let mut active: Vec<usize> = structure
        .active
        .iter()
        .zip(alpha.iter())
        .filter(|(_, a)| **a >= -tol)
        .map(|(&i, _)| i)
        .collect();
    for (i, &v) in values.iter().enumerate() {
        if v > top_value * (1.0 + tol) && !active.contains(&i) {
            active.push(i);
        }
    }
    if active.is_empty() {
        active = structure.active.clone();
    }
    active.sort_unstable();
    let zeros = active.iter().any(|&i| is_linf_ball(&parts[i]));
    let ties = active.iter().any(|&i| is_l1_ball(&parts[i]));
    let (rest, linf_weight, l1_weight) = structure.kink_multipliers(ctx, parts, w, alpha);
    let scale = ctx.mu.amax();
    let top = w.amax();
    let t = structure.tied.first().map_or(top, |&i| w[i].abs());
    let mut free = Vec::new();
    let mut tied = Vec::new();
    let mut signs = vec![0.0; d];
    for i in 0..d {
        let s = structure.signs[i];
        let was_tied = structure.tied.contains(&i);
        let (keep_zero, sign_i, tie) = if s == 0.0 {
            // A zero stays one while its multiplier fits in the box.
            let leaves = rest[i].abs() > linf_weight + tol * scale;
            (zeros && !leaves, sign(rest[i]), false)
        } else if s * w[i] <= 0.0 {
            // A sign change: a zero where an ℓ∞ part allows one.
            (zeros, -s, false)
        } else if was_tied {
            let own = rest[i] - linf_weight * s;
            let wrong = l1_weight > 0.0 && s * own < -tol * scale;
            (false, s, !wrong)
        } else {
            let above = w[i].abs() > t * (1.0 + tol);
            (false, s, above)
        };
        if keep_zero {
            continue;
        }
        signs[i] = if sign_i == 0.0 { 1.0 } else { sign_i };
        if ties && tie {
            tied.push(i);
        } else {
            free.push(i);
        }
    }
    if ties && tied.is_empty() {
        // A newly active ℓ1 part: tie the largest entries.
        let best = w.iamax();
        free.retain(|&i| i != best);
        if signs[best] == 0.0 {
            signs[best] = if w[best] == 0.0 { 1.0 } else { sign(w[best]) };
        }
        tied.push(best);
    }
    free.sort_unstable();
    tied.sort_unstable();
    let next = Structure {
        active,
        free,
        tied,
        signs,
    };
    (next != *structure).then_some(next)
}
