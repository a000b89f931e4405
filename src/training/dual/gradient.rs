//! Accelerated projected gradient on the split form of the dual.
//!
//! The dual `min_{z∈εK} ½‖μ − z‖²_{Σ⁻¹}` for `K = conv(∪ K_i)` is written
//! over tuples `(z_1, …, z_m)` with `z = Σ_i z_i` and the feasible set
//! `S = {Σ_i γ_i(z_i)/c_i ≤ 1}` (one part for a single body). The gradient
//! in every block is `−w`, `w = Σ⁻¹(μ − z)`, with Lipschitz constant
//! `L = m/λ_min(Σ)`. The method is FISTA (Beck & Teboulle, SIAM J. Imaging
//! Sci. 2(1), 2009) with the gradient restart of O'Donoghue & Candès,
//! "Adaptive restart for accelerated gradient schemes", Found. Comput.
//! Math. 15, 2015: momentum is reset whenever the step
//! `Z_{k+1} − Z_k` makes an obtuse angle with the gradient mapping.
//! The projection onto `S` is exact up to rounding (see `projection`).
//!
//! Since `w` is linear in the iterate, `w` at the extrapolated point is
//! the same combination of the `w` of the last two iterates: one
//! application of `Σ⁻¹` per iteration serves both the next gradient and
//! the certificate of the new iterate (upper bound `‖μ − z‖_{Σ⁻¹}`, lower
//! bound `ρ(w)`). Near the target the lower bound is also tried at `w`
//! with its near-kinks snapped (`Bounds::offer_snapped`). The method stops
//! as soon as the best bounds seen meet the target gap, or when the best
//! gap has not decreased by 0.1% for 2000 iterations (a floating-point
//! fixed point: the caller then reports the gap reached).
//!
//! The caller's second-order `finish` (see the parent module) is handed
//! the current `w` after 200 iterations, after 4 times as many each time
//! since, and once more when the method stalls; it offers its own
//! candidates to the same bounds, and its Newton steps count against the
//! same iteration cap.

use nalgebra::DVector;

use super::Bounds;
use super::metric::Metric;
use super::projection::{Part, project_union};

/// Runs the method from `start` (any tuple; it is projected first).
/// `support(w)` must return `ε σ_K(w)` for the whole body.
#[allow(clippy::too_many_arguments)]
pub(crate) fn accelerated_projected_gradient(
    metric: &Metric,
    mu: &DVector<f64>,
    parts: &[Part],
    start: &[DVector<f64>],
    support: &dyn Fn(&DVector<f64>) -> f64,
    tolerance: f64,
    max_iterations: usize,
    iterations: &mut usize,
    bounds: &mut Bounds,
    finish: &mut dyn FnMut(&DVector<f64>, &mut Bounds, usize) -> usize,
) {
    let m = parts.len();
    let step = metric.lambda_min / m as f64;
    let sum = |zs: &[DVector<f64>]| -> DVector<f64> {
        let mut z = DVector::zeros(mu.len());
        for zi in zs {
            z += zi;
        }
        z
    };
    let (mut zs, mut theta) = project_union(parts, start, None);
    let z = sum(&zs);
    let mut w = metric.solve(&(mu - &z));
    bounds.offer(mu, &z, &w, support);
    if bounds.met(tolerance) {
        return;
    }
    let mut zs_prev = zs.clone();
    let mut w_prev = w.clone();
    let mut t: f64 = 1.0;
    let mut stall = Stall::new(bounds.gap());
    let mut next_finish = FIRST_FINISH;
    let mut gradient_steps = 0;
    // The Newton finish, within the iteration budget (one iteration per solve).
    let mut try_finish = |w: &DVector<f64>, bounds: &mut Bounds, iterations: &mut usize| {
        if *iterations < max_iterations {
            let used = finish(w, bounds, max_iterations - *iterations);
            *iterations = (*iterations + used).min(max_iterations);
        }
        bounds.met(tolerance)
    };
    while *iterations < max_iterations {
        *iterations += 1;
        gradient_steps += 1;
        let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
        let beta = (t - 1.0) / t_next;
        let w_extra = &w + beta * (&w - &w_prev);
        let extrapolated: Vec<DVector<f64>> = zs
            .iter()
            .zip(&zs_prev)
            .map(|(a, b)| a + beta * (a - b))
            .collect();
        let targets: Vec<DVector<f64>> = extrapolated.iter().map(|y| y + step * &w_extra).collect();
        let (zs_new, theta_new) = project_union(parts, &targets, Some(theta));
        theta = theta_new;
        let z_new = sum(&zs_new);
        let w_new = metric.solve(&(mu - &z_new));
        bounds.offer(mu, &z_new, &w_new, support);
        if bounds.relative_gap() < 1e-6 && !bounds.met(tolerance) {
            bounds.offer_corrected(metric, mu, &w_new, parts, support);
        }
        if bounds.met(tolerance) {
            return;
        }
        if stall.stuck(bounds.gap()) {
            try_finish(&w_new, bounds, iterations);
            return;
        }
        if gradient_steps == next_finish {
            next_finish *= FINISH_GROWTH;
            if try_finish(&w_new, bounds, iterations) {
                return;
            }
        }
        // Gradient restart: (Y − Z_{k+1})ᵀ(Z_{k+1} − Z_k) > 0.
        let mut angle = 0.0;
        for i in 0..m {
            angle += (&extrapolated[i] - &zs_new[i]).dot(&(&zs_new[i] - &zs[i]));
        }
        t = if angle > 0.0 { 1.0 } else { t_next };
        zs_prev = std::mem::replace(&mut zs, zs_new);
        w_prev = std::mem::replace(&mut w, w_new);
    }
}

/// Gradient steps before the first Newton finish (`active_set`); later
/// attempts follow at geometrically growing counts, and one more when
/// the method stalls.
const FIRST_FINISH: usize = 200;

/// Growth factor of the Newton-finish schedule.
const FINISH_GROWTH: usize = 4;

/// The method stops when the best gap has not decreased by 0.1% for
/// `max(STALL_ITERATIONS, k/2)` of its `k` iterations: it has reached the
/// floating-point floor (the iterate is a fixed point to rounding). The
/// window grows with `k` because the lower bound can plateau for
/// thousands of iterations on ill-conditioned problems before it moves.
const STALL_ITERATIONS: usize = 2000;

/// Detects a best gap that stopped decreasing.
struct Stall {
    reference: f64,
    since: usize,
    total: usize,
}

impl Stall {
    fn new(gap: f64) -> Stall {
        Stall {
            reference: gap,
            since: 0,
            total: 0,
        }
    }

    fn stuck(&mut self, gap: f64) -> bool {
        self.total += 1;
        if gap < 0.999 * self.reference {
            self.reference = gap;
            self.since = 0;
        } else {
            self.since += 1;
        }
        self.since >= STALL_ITERATIONS.max(self.total / 2)
    }
}
