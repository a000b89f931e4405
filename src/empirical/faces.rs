//! The subdifferential `∂σ_K(w)` — the face of `K` exposed by `w` — where
//! `σ_K` has ties: approximate faces for ℓ1 threats and unions, the
//! minimal-norm element of `g + τ·face` (the stationarity certificate of
//! those threats), and the gauge of `K` (the test for the zero optimum).
//!
//! An *η-face* of `K` at `w` is a set of points `v ∈ K` with
//! `vᵀw ≥ σ_K(w) − η`, i.e. a subset of the η-subdifferential `∂_η σ_K(w)`.
//! For the robust loss `L = h(σ_K(w), w, b)`, with `h` jointly convex and
//! increasing in its first argument with slope `τ = ε s̄`, any such `v`
//! gives `L(θ') ≥ L(θ) + (∇F + τ(v, 0))ᵀ(θ' − θ) − τη` for every `θ'`, so a
//! small `‖∇F + τ(v, 0)‖` certifies `θ` up to `τη`.

use nalgebra::DVector;

use super::objective::sign;
use crate::threat::Threat;

/// One piece of an η-face: the convex hull of a few vertices, given by a
/// linear minimization oracle.
enum Piece<'a> {
    /// A single point.
    Vertex(DVector<f64>),
    /// `conv{scale·sᵢeᵢ}` over the listed `(i, sᵢ)`: the near-maximal
    /// coordinates of `‖w‖_∞` (ℓ1 ball).
    Ties {
        scale: f64,
        coords: Vec<(usize, f64)>,
    },
    /// `scale·{v : vᵢ = sign(wᵢ), except vᵢ ∈ [−1, 1] for i in free}`: the
    /// near-zero coordinates of `‖w‖₁` (ℓ∞ ball).
    Box {
        scale: f64,
        signs: DVector<f64>,
        free: Vec<usize>,
    },
    /// `scale·K` for a part whose support vanishes at `w`.
    Whole { threat: &'a Threat, scale: f64 },
}

impl Piece<'_> {
    /// A vertex minimizing `rᵀv` over the piece.
    fn minimize(&self, r: &DVector<f64>) -> DVector<f64> {
        match self {
            Piece::Vertex(v) => v.clone(),
            Piece::Ties { scale, coords } => {
                let (i, s) = coords
                    .iter()
                    .copied()
                    .min_by(|a, b| (a.1 * r[a.0]).total_cmp(&(b.1 * r[b.0])))
                    .expect("a tie set is never empty");
                let mut v = DVector::zeros(r.len());
                v[i] = scale * s;
                v
            }
            Piece::Box { scale, signs, free } => {
                let mut v = signs.clone();
                for &i in free {
                    v[i] = -sign(r[i]);
                }
                v * *scale
            }
            Piece::Whole { threat, scale } => match threat.steepest_unchecked(r) {
                Some((v, _)) => v * -*scale,
                None => DVector::zeros(r.len()),
            },
        }
    }
}

/// An η-face of `K` at `w`, as a union of pieces (its convex hull is the face).
pub(super) struct Face<'a> {
    pieces: Vec<Piece<'a>>,
}

impl<'a> Face<'a> {
    /// The η-face of `threat` at `w` for `η = slack` (absolute, in the units
    /// of `σ_K(w)`).
    pub(super) fn new(threat: &'a Threat, w: &DVector<f64>, slack: f64) -> Face<'a> {
        let mut pieces = Vec::new();
        collect(threat, 1.0, w, slack, &mut pieces);
        Face { pieces }
    }

    fn minimize(&self, r: &DVector<f64>) -> DVector<f64> {
        let mut best: Option<(f64, DVector<f64>)> = None;
        for piece in &self.pieces {
            let v = piece.minimize(r);
            let value = r.dot(&v);
            if best.as_ref().is_none_or(|(b, _)| value < *b) {
                best = Some((value, v));
            }
        }
        best.expect("a face has at least one piece").1
    }

    /// The minimal-norm element `e = g + τ v*` of `g + τ·conv(face)` by the
    /// away-step Frank–Wolfe method (linear convergence on polytopes), with
    /// the norm taken together with the fixed bias component `g_b`.
    ///
    /// Stops as soon as `√(‖e‖² + g_b²) ≤ target`, or when the Frank–Wolfe
    /// gap proves the minimum exceeds it, or after `max_iterations`. Returns
    /// `e`, `√(‖e‖² + g_b²)` (an upper bound on the minimal norm: `e` is an
    /// element of the set) and `β = min_{x ∈ set} xᵀe + g_b²`, the
    /// guaranteed decrease rate along `−(e, g_b)` (`β > 0` makes it a
    /// descent direction for every element).
    pub(super) fn minimal_element(
        &self,
        g: &DVector<f64>,
        g_bias: f64,
        tau: f64,
        target: f64,
        max_iterations: usize,
    ) -> (DVector<f64>, f64, f64) {
        let first = self.minimize(g);
        let mut v = first.clone();
        let mut atoms: Vec<(DVector<f64>, f64)> = vec![(first, 1.0)];
        let mut e = g + &v * tau;
        let bias_sq = g_bias * g_bias;
        for _ in 0..max_iterations {
            let norm_sq = e.norm_squared();
            if (norm_sq + bias_sq).sqrt() <= target || tau == 0.0 {
                break;
            }
            let s = self.minimize(&e);
            // Frank–Wolfe gap of ½‖e‖²: ‖e*‖² ≥ ‖e‖² − 2τ eᵀ(v − s).
            let gap = tau * e.dot(&(&v - &s));
            if norm_sq - 2.0 * gap + bias_sq > target * target || gap <= 0.0 {
                break;
            }
            let (away, away_weight) = atoms
                .iter()
                .enumerate()
                .max_by(|a, b| e.dot(&a.1.0).total_cmp(&e.dot(&b.1.0)))
                .map(|(i, a)| (i, a.1))
                .expect("the active set is never empty");
            let away_gap = tau * e.dot(&(&atoms[away].0 - &v));
            let (direction, max_step, toward) = if gap >= away_gap {
                (&s - &v, 1.0, true)
            } else {
                (
                    &v - &atoms[away].0,
                    away_weight / (1.0 - away_weight),
                    false,
                )
            };
            let curvature = tau * tau * direction.norm_squared();
            if curvature.is_nan() || curvature <= 0.0 {
                break;
            }
            let step = (-tau * e.dot(&direction) / curvature).clamp(0.0, max_step);
            if step == 0.0 {
                break;
            }
            if toward {
                for atom in atoms.iter_mut() {
                    atom.1 *= 1.0 - step;
                }
                match atoms.iter_mut().find(|a| a.0 == s) {
                    Some(atom) => atom.1 += step,
                    None => atoms.push((s, step)),
                }
            } else {
                for atom in atoms.iter_mut() {
                    atom.1 *= 1.0 + step;
                }
                atoms[away].1 -= step;
            }
            atoms.retain(|a| a.1 > 0.0);
            v += &direction * step;
            e = g + &v * tau;
        }
        let norm = (e.norm_squared() + bias_sq).sqrt();
        // min over the set of xᵀe is attained at the vertex minimizing eᵀv.
        let s = self.minimize(&e);
        let descent = e.dot(&(g + &s * tau)) + bias_sq;
        (e, norm, descent)
    }
}

/// Adds the pieces of the `slack`-face of `scale·K` at `w`.
fn collect<'a>(
    threat: &'a Threat,
    scale: f64,
    w: &DVector<f64>,
    slack: f64,
    out: &mut Vec<Piece<'a>>,
) {
    if let Some(parts) = threat.union_parts() {
        let supports: Vec<f64> = parts
            .iter()
            .map(|(t, budget)| budget * t.support_unchecked(w))
            .collect();
        let top = supports.iter().copied().fold(0.0, f64::max);
        for ((part, budget), support) in parts.iter().zip(&supports) {
            let excess = slack - (top - support);
            if excess >= 0.0 {
                collect(part, scale * budget, w, excess / budget, out);
            }
        }
        return;
    }
    let support = threat.support_unchecked(w);
    if support == 0.0 {
        out.push(Piece::Whole { threat, scale });
        return;
    }
    match threat.lp_exponent() {
        Some(1.0) => {
            let top = w.amax();
            let coords = (0..w.len())
                .filter(|&i| w[i].abs() >= top - slack && w[i] != 0.0)
                .map(|i| (i, w[i].signum()))
                .collect();
            out.push(Piece::Ties { scale, coords });
        }
        Some(p) if p == f64::INFINITY => {
            // Freeing coordinate i lowers vᵀw by up to 2|wᵢ|: free the
            // smallest while the total stays within the slack.
            let mut order: Vec<usize> = (0..w.len()).collect();
            order.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()));
            let mut used = 0.0;
            let mut free = Vec::new();
            for i in order {
                used += 2.0 * w[i].abs();
                if used > slack && w[i] != 0.0 {
                    break;
                }
                free.push(i);
            }
            let signs = w.map(sign);
            out.push(Piece::Box { scale, signs, free });
        }
        _ => {
            if let Some((v, _)) = threat.steepest_unchecked(w) {
                out.push(Piece::Vertex(v * scale));
            }
        }
    }
}

/// An upper bound on the gauge `γ_K(g) = min{t ≥ 0 : g ∈ tK}`, exact for
/// ℓp balls (`γ = ‖g‖_p`, the support of the conjugate ball) and for unions
/// of them with one part (`γ_{conv ∪ εᵢKᵢ} ≤ minᵢ γ_{Kᵢ}/εᵢ` in general);
/// `∞` for other bodies. `w = 0` minimizes the robust loss iff
/// `γ_K(∇_w F) ≤ ε s̄` at the best bias for `w = 0`.
pub(super) fn gauge_bound(threat: &Threat, g: &DVector<f64>) -> f64 {
    if let Some(parts) = threat.union_parts() {
        return parts
            .iter()
            .map(|(t, budget)| gauge_bound(t, g) / budget)
            .fold(f64::INFINITY, f64::min);
    }
    match threat.lp_exponent() {
        Some(p) => {
            let conjugate = if p == 1.0 {
                f64::INFINITY
            } else if p == f64::INFINITY {
                1.0
            } else {
                p / (p - 1.0)
            };
            Threat::lp(conjugate)
                .map(|t| t.support_unchecked(g))
                .unwrap_or(f64::INFINITY)
        }
        None => f64::INFINITY,
    }
}
