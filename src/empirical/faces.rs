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
    /// The single point `v = scale·v*_{K_i}(w)` of a part whose support is
    /// differentiable at `w` (ℓp for `1 < p < ∞`, ellipsoids).
    Smooth {
        threat: &'a Threat,
        scale: f64,
        v: DVector<f64>,
    },
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
    /// The largest value `vᵀw` over the piece's own pieces of `σ_K`: a lower
    /// bound on `σ_K(w)` that equals it while no other piece of `σ_K`
    /// overtakes the face (the tied coordinates of `‖·‖_∞`, the fixed signs
    /// of `‖·‖₁`, a smooth part's own support).
    fn value(&self, w: &DVector<f64>) -> f64 {
        match self {
            Piece::Smooth { threat, scale, .. } => scale * threat.support_unchecked(w),
            Piece::Ties { scale, coords } => {
                scale
                    * coords
                        .iter()
                        .map(|&(i, s)| s * w[i])
                        .fold(f64::NEG_INFINITY, f64::max)
            }
            Piece::Box { scale, signs, free } => {
                let mut sum: f64 = (0..w.len()).map(|i| signs[i] * w[i]).sum();
                for &i in free {
                    sum += w[i].abs() - signs[i] * w[i];
                }
                scale * sum
            }
            Piece::Whole { threat, scale } => scale * threat.support_unchecked(w),
        }
    }

    /// One vertex of the piece, and the differences of its vertices (whose
    /// span every vertex difference lies in); `None` for a whole body.
    fn affine_hull(&self, d: usize) -> Option<(DVector<f64>, Vec<DVector<f64>>)> {
        match self {
            Piece::Smooth { v, .. } => Some((v.clone(), Vec::new())),
            Piece::Ties { scale, coords } => {
                let &(first, first_sign) = coords.first()?;
                let vertex =
                    DVector::from_fn(d, |i, _| if i == first { scale * first_sign } else { 0.0 });
                let rows = coords[1..]
                    .iter()
                    .map(|&(i, s)| {
                        let mut row = -&vertex;
                        row[i] += scale * s;
                        row
                    })
                    .collect();
                Some((vertex, rows))
            }
            Piece::Box { scale, signs, free } => {
                let mut vertex = signs * *scale;
                for &i in free {
                    vertex[i] = 0.0;
                }
                let rows = free
                    .iter()
                    .map(|&i| DVector::from_fn(d, |j, _| if j == i { 1.0 } else { 0.0 }))
                    .collect();
                Some((vertex, rows))
            }
            Piece::Whole { .. } => None,
        }
    }

    /// A vertex minimizing `rᵀv` over the piece.
    fn minimize(&self, r: &DVector<f64>) -> DVector<f64> {
        match self {
            Piece::Smooth { v, .. } => v.clone(),
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

    /// The largest piece value at `w` (see [`Piece::value`]): equal to
    /// `σ_K(w)` while no piece outside the face overtakes it.
    pub(super) fn value(&self, w: &DVector<f64>) -> f64 {
        self.pieces
            .iter()
            .map(|p| p.value(w))
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// The tie subspace of the face (see [`TieSubspace`]); `None` when a
    /// part's support vanishes at `w` (its face is a whole body).
    pub(super) fn tie_subspace(&self, d: usize) -> Option<TieSubspace> {
        let mut vertex = None;
        let mut rows = Vec::new();
        for piece in &self.pieces {
            let (v, mut inner) = piece.affine_hull(d)?;
            rows.append(&mut inner);
            match &vertex {
                None => vertex = Some(v),
                Some(first) => rows.push(v - first),
            }
        }
        Some(TieSubspace::new(vertex?, rows))
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

/// The *tie subspace* `U` of an η-face: the orthogonal complement of the
/// span `V` of the differences of its vertices. Every vertex `v` of the face
/// has the same inner product with a `u ∈ U`, so on `w + U` the pieces of
/// the face stay tied and `σ_K` is the single linear function `v̄ᵀ(·)` (to
/// first order for a smooth part), until a piece outside the face overtakes
/// them. For the ℓ1 ball the tied coordinates `sᵢwᵢ = m` move as one
/// variable `m`; for the ℓ∞ ball the zero coordinates stay zero; for a union
/// the tied parts keep their tie. Linear pieces are positively homogeneous,
/// so `U` itself is the set where they tie exactly.
pub(super) struct TieSubspace {
    /// An orthonormal basis of `V`.
    basis: Vec<DVector<f64>>,
    /// One vertex `v̄` of the face.
    vertex: DVector<f64>,
}

impl TieSubspace {
    fn new(vertex: DVector<f64>, rows: Vec<DVector<f64>>) -> TieSubspace {
        // Modified Gram–Schmidt, twice (reorthogonalization), dropping rows
        // that lie in the span of the earlier ones.
        let mut basis: Vec<DVector<f64>> = Vec::with_capacity(rows.len());
        for row in rows {
            let size = row.norm();
            if !(size > 0.0 && size.is_finite()) {
                continue;
            }
            let mut q = row / size;
            for _ in 0..2 {
                for b in &basis {
                    let c = b.dot(&q);
                    q.axpy(-c, b, 1.0);
                }
            }
            let rest = q.norm();
            if rest > 1e-10 {
                basis.push(q / rest);
            }
        }
        TieSubspace { basis, vertex }
    }

    /// The dimension of `V` (the number of independent ties).
    #[cfg(test)]
    pub(super) fn rank(&self) -> usize {
        self.basis.len()
    }

    /// One vertex `v̄` of the face.
    pub(super) fn vertex(&self) -> &DVector<f64> {
        &self.vertex
    }

    /// The orthogonal projection onto `U` of the first `d` entries of `x`
    /// (the weights); further entries (the bias) are kept.
    pub(super) fn project(&self, x: &DVector<f64>) -> DVector<f64> {
        let mut out = x.clone();
        for b in &self.basis {
            let c: f64 = (0..b.len()).map(|i| b[i] * out[i]).sum();
            for i in 0..b.len() {
                out[i] -= c * b[i];
            }
        }
        out
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
                out.push(Piece::Smooth {
                    threat,
                    scale,
                    v: v * scale,
                });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn v(values: &[f64]) -> DVector<f64> {
        DVector::from_row_slice(values)
    }

    /// ℓ1 ball: three tied maxima (signs +, −, +) make two independent
    /// ties; on `U` they move as one magnitude and the other coordinates
    /// are free. Projecting a point with near ties makes them exact.
    #[test]
    fn tied_maxima_of_the_l1_ball_move_as_one_magnitude() {
        let threat = Threat::l1();
        let w = v(&[2.0, -2.0 + 1e-12, 0.5, 2.0, 0.0]);
        let face = Face::new(&threat, &w, 1e-9 * 2.0);
        let ties = face.tie_subspace(5).unwrap();
        assert_eq!(ties.rank(), 2);
        let u = ties.project(&v(&[1.0, 2.0, 3.0, -1.0, 4.0]));
        // s_i u_i equal on the tie set {0, 1, 3}: (1 − 2 − 1)/3.
        for (i, s) in [(0, 1.0), (1, -1.0), (3, 1.0)] {
            assert!((s * u[i] + 2.0 / 3.0).abs() <= 1e-15, "{u}");
        }
        assert_eq!((u[2], u[4]), (3.0, 4.0));
        let snapped = ties.project(&w);
        assert_eq!(snapped[0], -snapped[1]);
        assert!((snapped[0] - snapped[3]).abs() <= 4.0 * f64::EPSILON);
        // On U the face value is σ_K: every tied coordinate is maximal.
        assert_eq!(face.value(&snapped), threat.support(&snapped));
    }

    /// The union `conv(B₁ ∪ ½B_∞)` at a tie of its parts: the ℓ∞ part's
    /// zero coordinate stays zero and the parts stay tied on `U`.
    #[test]
    fn a_tie_between_union_parts_keeps_zeros_and_the_tie() {
        let threat = Threat::union(vec![(Threat::l1(), 1.0), (Threat::linf(), 0.5)]).unwrap();
        // ‖w‖_∞ = 1 = ½‖w‖₁, with w₂ = 0.
        let w = v(&[1.0, -0.375, 0.0, 0.625]);
        let sigma = threat.support(&w);
        assert_eq!(sigma, 1.0);
        let face = Face::new(&threat, &w, 1e-9 * sigma);
        let ties = face.tie_subspace(4).unwrap();
        // One tie between the parts, one zero coordinate.
        assert_eq!(ties.rank(), 2);
        let u = ties.project(&v(&[0.3, -0.7, 1.0, 0.2]));
        assert_eq!(u[2], 0.0);
        for t in [1e-3, 1e-2, -1e-2] {
            let moved = &w + &u * t;
            let (inf, one) = (moved.amax(), 0.5 * moved.abs().sum());
            assert!((inf - one).abs() <= 1e-15, "{inf} vs {one}");
            assert_eq!(face.value(&moved), threat.support(&moved));
        }
    }
}
