//! The best certificate found so far, and the corrections that move a
//! first-order iterate onto the kinks of the support function before its
//! lower bound is evaluated.

use nalgebra::DVector;

use super::metric::Metric;
use super::projection::{self, Part};

/// The best certificate found so far: an upper bound with its feasible
/// `z`, a lower bound with its `w`.
pub(crate) struct Bounds {
    pub(super) upper: f64,
    pub(super) z: Option<DVector<f64>>,
    lower: f64,
    pub(super) w: Option<DVector<f64>>,
    /// `‖μ‖_{Σ⁻¹}`: an upper bound below `tolerance · scale` counts as `r* = 0`.
    scale: f64,
}

impl Bounds {
    pub(super) fn new(scale: f64) -> Bounds {
        Bounds {
            upper: f64::INFINITY,
            z: None,
            lower: f64::NEG_INFINITY,
            w: None,
            scale,
        }
    }

    /// Offers a feasible `z` and `w = Σ⁻¹(μ − z)`; then
    /// `‖μ − z‖²_{Σ⁻¹} = ‖w‖²_Σ = (μ − z)ᵀw` needs no further product.
    pub(crate) fn offer(
        &mut self,
        mu: &DVector<f64>,
        z: &DVector<f64>,
        w: &DVector<f64>,
        support: &dyn Fn(&DVector<f64>) -> f64,
    ) {
        let norm = (mu - z).dot(w).max(0.0).sqrt();
        self.offer_upper(z, norm);
        if norm > 0.0 {
            self.offer_lower(w, (w.dot(mu) - support(w)) / norm);
        }
    }

    /// Offers `w` with its near-kinks snapped (see [`snap`]) and, for
    /// unions, with the tie between its active parts restored (see
    /// [`restore_tie`]). Any `w` gives a valid lower bound; at a kink of
    /// `σ_K` an iterate's error and its rounding noise cost a first-order
    /// loss in `ρ(w)`, which these corrections remove.
    pub(crate) fn offer_corrected(
        &mut self,
        metric: &Metric,
        mu: &DVector<f64>,
        w: &DVector<f64>,
        parts: &[Part],
        support: &dyn Fn(&DVector<f64>) -> f64,
    ) {
        for delta in [1e-12, 1e-10, 1e-8] {
            let snapped = snap(w, delta);
            let mut candidates = vec![];
            if parts.len() > 1 {
                if let Some(tied) = restore_tie(&snapped, parts) {
                    candidates.push(tied);
                }
            }
            if snapped != *w {
                candidates.push(snapped);
            }
            for candidate in candidates {
                let norm = metric.quadratic(&candidate).sqrt();
                if norm > 0.0 {
                    self.offer_lower(&candidate, (candidate.dot(mu) - support(&candidate)) / norm);
                }
            }
        }
    }

    /// `upper − max(lower, 0)` of the best bounds.
    pub(crate) fn gap(&self) -> f64 {
        self.upper - self.lower.max(0.0)
    }

    /// The relative gap of the best bounds (infinite without a positive lower bound).
    pub(crate) fn relative_gap(&self) -> f64 {
        if self.lower > 0.0 {
            (self.upper - self.lower) / self.lower
        } else {
            f64::INFINITY
        }
    }

    pub(super) fn offer_upper(&mut self, z: &DVector<f64>, value: f64) {
        if value < self.upper {
            self.upper = value;
            self.z = Some(z.clone());
        }
    }

    pub(super) fn offer_lower(&mut self, w: &DVector<f64>, value: f64) {
        if value > self.lower {
            self.lower = value;
            self.w = Some(w.clone());
        }
    }

    /// The internal stopping rule: half the target gap (the final,
    /// recomputed certificate may differ by rounding), or `r* = 0`.
    pub(crate) fn met(&self, tolerance: f64) -> bool {
        let relative = self.lower > 0.0 && self.upper - self.lower <= 0.5 * tolerance * self.lower;
        relative || self.upper <= 0.5 * tolerance * self.scale
    }
}

/// `w` with entries below `δ‖w‖_∞` set to 0 (the kink of ‖·‖₁, the
/// support of ℓ∞) and entries above `(1 − δ)‖w‖_∞` set to `±‖w‖_∞` (the
/// kink of ‖·‖_∞, the support of ℓ1).
fn snap(w: &DVector<f64>, delta: f64) -> DVector<f64> {
    let top = w.amax();
    w.map(|v| {
        if v.abs() <= delta * top {
            0.0
        } else if v.abs() >= (1.0 - delta) * top {
            v.signum() * top
        } else {
            v
        }
    })
}

/// Moves `w` so that its active union parts (those within `1e-6` of the
/// largest `c_i σ_i(w)`) tie exactly. At the optimum they tie, and on the
/// tie set `ρ_union` equals the smooth Lagrangian ratio `ρ_t`, which is
/// stationary at `w*`; so an iterate with an `O(δ)` error, moved back onto
/// the tie set by an `O(δ)` step that keeps its zeros and its maximal
/// entries, loses only `O(δ²)`. The steps are along `d_j = w ∘ (abs(w)/‖w‖_∞)^j`,
/// `j = 1 … k−1` (they keep zeros at zero and equal maximal entries equal),
/// with a few Newton iterations on the `k − 1` tie equations
/// (forward-difference Jacobian).
fn restore_tie(w: &DVector<f64>, parts: &[Part]) -> Option<DVector<f64>> {
    let top = w.amax();
    if top == 0.0 {
        return None;
    }
    let values = |v: &DVector<f64>| -> Vec<f64> {
        parts
            .iter()
            .map(|p| projection::part_support(p, v))
            .collect()
    };
    let start = values(w);
    let largest = start.iter().copied().fold(0.0, f64::max);
    let active: Vec<usize> = (0..parts.len())
        .filter(|&i| start[i] >= (1.0 - 1e-6) * largest)
        .collect();
    let k = active.len();
    if k < 2 {
        return None;
    }
    let directions: Vec<DVector<f64>> = (1..k)
        .map(|j| w.map(|v| v * (v.abs() / top).powi(j as i32)))
        .collect();
    let mismatch = |v: &DVector<f64>| -> DVector<f64> {
        let s = values(v);
        DVector::from_fn(k - 1, |a, _| s[active[a + 1]] - s[active[0]])
    };
    let at = |beta: &DVector<f64>| -> DVector<f64> {
        let mut v = w.clone();
        for (j, d) in directions.iter().enumerate() {
            v += beta[j] * d;
        }
        v
    };
    let mut beta = DVector::zeros(k - 1);
    for _ in 0..4 {
        let point = at(&beta);
        let f = mismatch(&point);
        if f.amax() <= 1e-15 * largest {
            break;
        }
        let h = 1e-7;
        let mut jacobian = nalgebra::DMatrix::zeros(k - 1, k - 1);
        for j in 0..k - 1 {
            let mut shifted = beta.clone();
            shifted[j] += h;
            let column = (mismatch(&at(&shifted)) - &f) / h;
            jacobian.set_column(j, &column);
        }
        let step = jacobian.lu().solve(&(-&f))?;
        beta += step;
    }
    let out = at(&beta);
    out.iter().all(|v| v.is_finite()).then_some(out)
}
