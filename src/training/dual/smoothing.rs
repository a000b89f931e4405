//! Newton's method on a smoothed primal, followed along a decreasing
//! smoothing parameter: the second-order fallback of the first-order path.
//!
//! # The smoothed problem
//!
//! The primal of the dual problem is `min_w F(w) = ½wᵀΣw − μᵀw + h(w)` with
//! `h(w) = max_i c_i σ_i(w)` (value `−r*²/2`). Each support is replaced by a
//! smooth lower approximation `σ_i^τ ≤ σ_i`, within `O(τ)` of it:
//!
//! | body (`σ`) | `σ^τ` | `∇σ^τ` |
//! |---|---|---|
//! | ℓ∞ ball (`‖w‖₁`) | `Σ (√(w_i² + τ²) − τ)` | `w_i/√(w_i² + τ²)` |
//! | ℓ1 ball (`‖w‖_∞`) | `τ ln Σ_i (e^{w_i/τ} + e^{−w_i/τ}) − τ ln 2d` | `p⁺ − p⁻` (soft-max weights) |
//! | ℓp ball (`‖w‖_q`) | `‖u‖_q − τ d^{1/q}`, `u_i = √(w_i² + τ²)` | `(u_i/N)^{q−1} w_i/u_i` |
//! | ellipsoid (`√(wᵀMw)`) | `√(wᵀMw + τ²λ_M) − τ√λ_M` | `Mw/√(wᵀMw + τ²λ_M)` |
//!
//! and the maximum over the parts by `T ln Σ_i e^{c_iσ_i^τ/T}`
//! (`T = τ max_i c_i`), whose gradient is `Σ π_i c_i ∇σ_i^τ` with soft-max
//! weights `π`. Every `∇σ_i^τ(w)` lies in `K_i` (each row of the table has
//! gauge below 1), so `z_τ = Σ_i π_i c_i ∇σ_i^τ(w)` is a feasible shift of
//! the union for every `w`; at the smoothed optimum `z_τ = μ − Σw`, and
//! the duality gap of `(w, z_τ)` is `O(τ)`.
//!
//! # The method
//!
//! `F_τ` is smooth and strongly convex; damped Newton (Cholesky of
//! `Σ + ∇²h_τ`, Armijo backtracking) converges quadratically whatever the
//! conditioning of `Σ`. The parameter starts at `τ = ‖w₀‖_∞/10` and is
//! divided by 10 per stage down to `1e-14‖w₀‖_∞`, warm-started; after each
//! stage the pair `(w, z_τ)` is offered to the bounds, and from `τ ≤
//! 1e-5‖w₀‖_∞` on the active-set Newton finish (`active_set`) is run from
//! `w`, which then identifies the exact structure. It stops as soon as the
//! bounds meet the target. Each step costs a dense `d × d` Hessian and its
//! Cholesky factor, `O(d³)`; problems with `d > MAX_DIM` skip it.

use nalgebra::{DMatrix, DVector};

use super::projection::{self, Body, Part, conjugate};
use super::{Bounds, Context, active_set};

/// Largest dimension handled (dense `O(d³)` Newton steps).
const MAX_DIM: usize = 256;

/// Smoothing stages: `τ = ‖w₀‖_∞ · 10^{−k}`, `k = 1 … STAGES`.
const STAGES: i32 = 14;

/// Newton steps per stage.
const STEPS: usize = 40;

/// Stages from which the active-set finish is tried (`τ ≤ 1e-5‖w₀‖_∞`).
const FINISH_FROM_STAGE: i32 = 5;

/// One part in dense form.
struct SmoothPart<'a> {
    part: &'a Part,
    /// `M` of an ellipsoid with a bound on its largest eigenvalue (the
    /// largest absolute row sum), the scale `λ_M` of its smoothing.
    matrix: Option<(DMatrix<f64>, f64)>,
}

/// Value, gradient and Hessian of `c σ^τ` at `w`.
struct Local {
    value: f64,
    gradient: DVector<f64>,
    hessian: DMatrix<f64>,
}

impl SmoothPart<'_> {
    fn eval(&self, w: &DVector<f64>, tau: f64) -> Local {
        let d = w.len();
        let c = self.part.budget;
        let (value, gradient, hessian) = match (&self.part.body, &self.matrix) {
            (_, Some((m, lambda))) => {
                let v = m * w;
                let floor = tau * tau * lambda;
                let s = (w.dot(&v).max(0.0) + floor).sqrt();
                let g = &v / s;
                let h = (m - &g * g.transpose()) / s;
                (s - floor.sqrt(), g, h)
            }
            (Body::Lp(p), None) if *p == f64::INFINITY => {
                let u = w.map(|x| x.hypot(tau));
                let value = (0..d).map(|i| u[i] - tau).sum();
                let g = DVector::from_fn(d, |i, _| w[i] / u[i]);
                let h = DMatrix::from_diagonal(&DVector::from_fn(d, |i, _| {
                    let r = tau / u[i];
                    r * r / u[i]
                }));
                (value, g, h)
            }
            (Body::Lp(p), None) if *p == 1.0 => {
                let top = w.amax();
                let plus = w.map(|x| ((x - top) / tau).exp());
                let minus = w.map(|x| ((-x - top) / tau).exp());
                let total = plus.sum() + minus.sum();
                let value = top + tau * total.ln() - tau * (2.0 * d as f64).ln();
                let (plus, minus) = (plus / total, minus / total);
                let g = &plus - &minus;
                let h = (DMatrix::from_diagonal(&(&plus + &minus)) - &g * g.transpose()) / tau;
                (value, g, h)
            }
            (Body::Lp(p), None) => {
                let q = conjugate(*p);
                let u = w.map(|x| x.hypot(tau));
                let n = projection::lp_norm(&u, q);
                let g = DVector::from_fn(d, |i, _| (u[i] / n).powf(q - 1.0) * w[i] / u[i]);
                let diag = DVector::from_fn(d, |i, _| {
                    let r = u[i] / n;
                    r.powf(q - 2.0) * ((q - 1.0) * w[i] * w[i] + tau * tau) / (u[i] * u[i]) / n
                });
                let h = DMatrix::from_diagonal(&diag) - &g * g.transpose() * ((q - 1.0) / n);
                (n - tau * (d as f64).powf(1.0 / q), g, h)
            }
            (Body::Ellipsoid(_), None) => unreachable!("ellipsoids carry their matrix"),
        };
        Local {
            value: c * value,
            gradient: gradient * c,
            hessian: hessian * c,
        }
    }
}

/// `h_τ` with its gradient and Hessian.
struct Smoothed {
    value: f64,
    gradient: DVector<f64>,
    hessian: DMatrix<f64>,
}

fn smoothed(parts: &[SmoothPart], w: &DVector<f64>, tau: f64, temperature: f64) -> Smoothed {
    let locals: Vec<Local> = parts.iter().map(|p| p.eval(w, tau)).collect();
    let (value, weights) = soft_max(&locals, temperature);
    let d = w.len();
    let mut gradient = DVector::zeros(d);
    let mut hessian = DMatrix::zeros(d, d);
    for (l, &pi) in locals.iter().zip(&weights) {
        gradient += &l.gradient * pi;
        hessian += &l.hessian * pi;
        if locals.len() > 1 {
            hessian += &l.gradient * l.gradient.transpose() * (pi / temperature);
        }
    }
    if locals.len() > 1 {
        hessian -= &gradient * gradient.transpose() / temperature;
    }
    Smoothed {
        value,
        gradient,
        hessian,
    }
}

/// `T ln Σ_i e^{v_i/T}` of the parts' values and the soft-max weights `π`
/// (the value itself and weight 1 for a single part).
fn soft_max(locals: &[Local], temperature: f64) -> (f64, Vec<f64>) {
    if let [only] = locals {
        return (only.value, vec![1.0]);
    }
    let top = locals
        .iter()
        .map(|l| l.value)
        .fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = locals
        .iter()
        .map(|l| ((l.value - top) / temperature).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    (
        top + temperature * total.ln(),
        weights.iter().map(|p| p / total).collect(),
    )
}

/// Runs the continuation from `start` (see the module docs); returns the
/// number of Newton steps taken.
pub(super) fn continuation(
    ctx: &Context,
    parts: &[Part],
    start: &DVector<f64>,
    bounds: &mut Bounds,
    budget: usize,
) -> usize {
    let d = ctx.mu.len();
    let scale = start.amax();
    if d > MAX_DIM || !(scale > 0.0 && scale.is_finite()) {
        return 0;
    }
    let sigma = dense(d, |v| ctx.metric.mul(v));
    let smooth_parts: Vec<SmoothPart> = parts
        .iter()
        .map(|part| {
            let matrix = projection::ellipsoid_mul(part, &DVector::zeros(d)).map(|_| {
                let m = dense(d, |v| {
                    projection::ellipsoid_mul(part, v).expect("an ellipsoid")
                });
                let m = (&m + m.transpose()) * 0.5;
                let bound = (0..d)
                    .map(|i| m.row(i).iter().map(|x| x.abs()).sum::<f64>())
                    .fold(0.0, f64::max);
                (m, bound)
            });
            SmoothPart { part, matrix }
        })
        .collect();
    let largest_budget = parts.iter().map(|p| p.budget).fold(0.0, f64::max);
    let objective = |w: &DVector<f64>, h: f64| 0.5 * w.dot(&(&sigma * w)) - ctx.mu.dot(w) + h;
    let mut w = start.clone();
    let mut steps = 0;
    for stage in 1..=STAGES {
        let tau = scale * 10f64.powi(-stage);
        let temperature = tau * largest_budget;
        for _ in 0..STEPS {
            if steps >= budget {
                return steps;
            }
            steps += 1;
            let s = smoothed(&smooth_parts, &w, tau, temperature);
            let gradient = &sigma * &w - ctx.mu + &s.gradient;
            let hessian = &sigma + &s.hessian;
            let hessian = (&hessian + hessian.transpose()) * 0.5;
            let Some(chol) = hessian.cholesky() else {
                break;
            };
            let step = -chol.solve(&gradient);
            let slope = gradient.dot(&step);
            let descends = slope < 0.0;
            if !descends || !step.iter().all(|v| v.is_finite()) {
                break;
            }
            let current = objective(&w, s.value);
            let mut factor = 1.0;
            let mut moved = false;
            for _ in 0..40 {
                let trial = &w + &step * factor;
                let value = objective(
                    &trial,
                    smoothed(&smooth_parts, &trial, tau, temperature).value,
                );
                if value <= current + 1e-4 * factor * slope {
                    w = trial;
                    moved = true;
                    break;
                }
                factor *= 0.5;
            }
            if !moved {
                // At the rounding floor of F_τ: a full step is still a Newton step.
                w += &step;
            }
            if step.amax() <= 1e-14 * w.amax().max(tau) || !moved {
                break;
            }
        }
        offer(ctx, parts, &smooth_parts, &w, tau, temperature, bounds);
        if bounds.met(ctx.tolerance) {
            return steps;
        }
        if stage >= FINISH_FROM_STAGE && steps < budget {
            steps += active_set::newton_finish(ctx, parts, &w, bounds);
            if bounds.met(ctx.tolerance) {
                return steps;
            }
        }
    }
    steps
}

/// The matrix of a linear map, column by column.
fn dense(d: usize, apply: impl Fn(&DVector<f64>) -> DVector<f64>) -> DMatrix<f64> {
    let mut out = DMatrix::zeros(d, d);
    for j in 0..d {
        let mut unit = DVector::zeros(d);
        unit[j] = 1.0;
        out.set_column(j, &apply(&unit));
    }
    out
}

/// Offers `ρ(w)` and the feasible shift `z_τ = Σ_i π_i c_i ∇σ_i^τ(w)`.
fn offer(
    ctx: &Context,
    parts: &[Part],
    smooth_parts: &[SmoothPart],
    w: &DVector<f64>,
    tau: f64,
    temperature: f64,
    bounds: &mut Bounds,
) {
    let locals: Vec<Local> = smooth_parts.iter().map(|p| p.eval(w, tau)).collect();
    let (_, weights) = soft_max(&locals, temperature);
    let zs: Vec<DVector<f64>> = locals
        .iter()
        .zip(&weights)
        .map(|(l, p)| &l.gradient * *p)
        .collect();
    active_set::offer_pair(ctx, parts, w, &zs, bounds);
}
