//! Euclidean projections onto ℓp balls and the proximal maps of ℓp norms.
//!
//! **Balls.** `Π_{rB_p}(y)` for `p = 1` by the sort-and-threshold rule of
//! Duchi, Shalev-Shwartz, Singer & Chandra, "Efficient projections onto the
//! ℓ1-ball for learning in high dimensions", ICML 2008
//! (`x = sign(y)(abs(y) − λ)⁺` with `Σ(abs(y_i) − λ)⁺ = r`); for `p = ∞` by
//! clipping; for `p = 2` by scaling. For `1 < p < ∞` there is no closed
//! form: the KKT conditions give `x_i = sign(y_i) a_i` with
//! `a_i + ν a_i^{p−1} = abs(y_i)` (one increasing scalar equation per
//! coordinate), and the multiplier `ν` solves the decreasing equation
//! `‖a(ν)‖_p = r` on `[0, ‖y‖_q / r^{p−1}]` with the implicit derivative;
//! both by the crate's safeguarded Newton (`roots::Newton`).

use nalgebra::DVector;

use crate::roots::Newton;

pub(crate) use crate::linalg::{conjugate_exponent as conjugate, lp_norm};

/// Absolute values sorted in descending order with their prefix sums.
pub(super) struct SortedAbs {
    pub(super) values: Vec<f64>,
    /// `prefix[k] = Σ_{j<k} values[j]`.
    prefix: Vec<f64>,
}

impl SortedAbs {
    pub(super) fn new(y: &DVector<f64>) -> SortedAbs {
        let mut values: Vec<f64> = y.iter().map(|v| v.abs()).collect();
        values.sort_by(|a, b| b.total_cmp(a));
        let mut prefix = Vec::with_capacity(values.len() + 1);
        prefix.push(0.0);
        let mut s = 0.0;
        for v in &values {
            s += v;
            prefix.push(s);
        }
        SortedAbs { values, prefix }
    }

    pub(super) fn total(&self) -> f64 {
        self.prefix[self.values.len()]
    }

    /// `λ ≥ 0` with `Σ(abs(y_i) − λ)⁺ = r`, or 0 when `‖y‖₁ ≤ r`.
    pub(super) fn l1_threshold(&self, r: f64) -> f64 {
        if self.total() <= r {
            return 0.0;
        }
        // The largest k with S_k − k·a_k < r (a non-decreasing sequence in k).
        let (mut lo, mut hi) = (1usize, self.values.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if self.prefix[mid] - mid as f64 * self.values[mid - 1] < r {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        ((self.prefix[lo] - r) / lo as f64).max(0.0)
    }

    /// `Σ(abs(y_i) − τ)⁺`.
    pub(super) fn excess_over(&self, tau: f64) -> f64 {
        // Number of values strictly above τ.
        let k = self.values.partition_point(|&v| v > tau);
        (self.prefix[k] - k as f64 * tau).max(0.0)
    }
}

/// Euclidean projection onto `{‖x‖₁ ≤ r}`.
pub(crate) fn project_l1_ball(y: &DVector<f64>, r: f64) -> DVector<f64> {
    let lambda = SortedAbs::new(y).l1_threshold(r);
    if lambda == 0.0 && lp_norm(y, 1.0) <= r {
        return y.clone();
    }
    let mut x = y.map(|v| v.signum() * (v.abs() - lambda).max(0.0));
    // abs(y_i) − λ rounds relative to abs(y_i), not to r: rescale onto the ball.
    let norm = lp_norm(&x, 1.0);
    if norm > r {
        x *= r / norm;
    }
    x
}

/// The root `a ∈ (0, b]` of `a + ν a^{p−1} = b` (`b ≥ 0`, `ν ≥ 0`, `p > 1`).
///
/// In `t = ln a` the left side `e^t + ν e^{(p−1)t}` is convex and
/// increasing. Both `ln b` and `(ln b − ln ν)/(p − 1)` bound the root from
/// above, and one of the two terms is at least `b/2` at the root, so it
/// lies in `[t₀ − ln 2 · max(1, 1/(p − 1)), t₀]` with `t₀` the smaller
/// upper bound. Newton from `t₀` decreases monotonically to the root, with
/// quadratic convergence, however large `ν` is (tiny radii give `ν` up to
/// 1e90 inside the union projection); the crate's safeguarded [`Newton`]
/// takes exactly those steps.
fn lp_coordinate(b: f64, nu: f64, p: f64) -> f64 {
    if b == 0.0 || nu == 0.0 {
        return b;
    }
    let ln_b = b.ln();
    let hi = ln_b.min((ln_b - nu.ln()) / (p - 1.0));
    let lo = hi - std::f64::consts::LN_2 * (1.0 / (p - 1.0)).max(1.0);
    let side = |t: f64| {
        let first = t.exp();
        let second = nu * ((p - 1.0) * t).exp();
        (first + second - b, first + (p - 1.0) * second)
    };
    COORDINATE.search(side, lo, hi, hi).x.exp().min(b)
}

/// The coordinate equation of [`lp_coordinate`], in `t = ln a`.
const COORDINATE: Newton = Newton {
    absolute: 4.0 * f64::EPSILON,
    relative: 4.0 * f64::EPSILON,
    max_iterations: 200,
    name: "ℓp projection coordinate",
};

/// The multiplier equation of [`lp_multiplier`].
const MULTIPLIER: Newton = Newton {
    absolute: 0.0,
    relative: 4.0 * f64::EPSILON,
    max_iterations: 200,
    name: "ℓp projection multiplier",
};

/// The multiplier `ν ∈ [0, ν_hi]` with `S(ν) = Σ a_i(ν)^p = ρ^p`, where
/// `a_i(ν)` solves `a + ν a^{p−1} = b_i`. `S` decreases, like
/// `ν^{−p/(p−1)}` for large `ν`, so the crate's safeguarded [`Newton`]
/// runs from `ν = 0` on the nearly linear increasing
/// `φ(ν) = S(ν)^{−(p−1)/p} − ρ^{−(p−1)}`, with
/// `S'(ν) = −Σ p a_i^{2p−2} / (1 + ν(p−1) a_i^{p−2})` (implicit
/// differentiation). If it has not converged at its cap, the upper end of
/// its bracket is returned (a multiplier on the feasible side).
fn lp_multiplier(b: &[f64], p: f64, rho: f64, nu_hi: f64) -> f64 {
    let exponent = -(p - 1.0) / p;
    let target = rho.powf(1.0 - p);
    let excess = |nu: f64| {
        let mut sum = 0.0;
        let mut slope = 0.0;
        for &bi in b {
            let a = lp_coordinate(bi, nu, p);
            if a > 0.0 {
                let ap = a.powf(p);
                let a2 = a * a;
                sum += ap;
                slope -= p * ap * ap / a2 / (1.0 + nu * (p - 1.0) * ap / a2);
            }
        }
        let phi = sum.powf(exponent);
        (phi - target, exponent * phi / sum * slope)
    };
    let root = MULTIPLIER.search(excess, 0.0, nu_hi, 0.0);
    if root.converged {
        root.x.min(root.hi)
    } else {
        root.hi
    }
}

/// Euclidean projection onto `{‖x‖_p ≤ r}`, `p ∈ [1, ∞]`.
pub(crate) fn project_lp_ball(y: &DVector<f64>, p: f64, r: f64) -> DVector<f64> {
    if r <= 0.0 {
        return DVector::zeros(y.len());
    }
    if p == 1.0 {
        return project_l1_ball(y, r);
    }
    if p == f64::INFINITY {
        return y.map(|v| v.clamp(-r, r));
    }
    let norm = lp_norm(y, p);
    if norm <= r {
        return y.clone();
    }
    if p == 2.0 {
        return y * (r / norm);
    }
    // Work with b = abs(y)/max abs(y) ∈ [0, 1] and radius ρ.
    let scale = y.amax();
    let b: Vec<f64> = y.iter().map(|v| v.abs() / scale).collect();
    let rho = r / scale;
    let b_vec = DVector::from_vec(b.clone());
    let nu_hi = lp_norm(&b_vec, conjugate(p)) / rho.powf(p - 1.0);
    let nu = lp_multiplier(&b, p, rho, nu_hi);
    let mut a: DVector<f64> =
        DVector::from_iterator(b.len(), b.iter().map(|&bi| lp_coordinate(bi, nu, p)));
    let got = lp_norm(&a, p);
    if got > rho {
        a *= rho / got;
    }
    DVector::from_fn(y.len(), |i, _| y[i].signum() * a[i] * scale)
}

/// `prox_{τ‖·‖_p}(y) = y − Π_{τB_q}(y)`.
pub(super) fn lp_prox(y: &DVector<f64>, p: f64, tau: f64) -> DVector<f64> {
    y - project_lp_ball(y, conjugate(p), tau)
}
