//! Euclidean projections onto threat bodies and onto unions of them.
//!
//! **Unions.** The union body at budget `ε` is
//! `conv(∪ c_i K_i) = {Σ z_i : Σ_i γ_i(z_i)/c_i ≤ 1}` with `c_i = ε ε_i` and
//! `γ_i` the gauge of `K_i`. The solvers work on the tuple `(z_1, …, z_m)`
//! and need the projection onto `S = {Σ_i γ_i(z_i)/c_i ≤ 1}`. With a
//! multiplier `θ ≥ 0` it splits into proximal maps of the gauges,
//! `z_i(θ) = prox_{(θ/c_i)γ_i}(y_i)`, and `θ` solves the decreasing
//! equation `Σ_i γ_i(z_i(θ))/c_i = 1` on `[0, max_i c_i σ_i(y_i)]` (at the
//! right end every `z_i` is 0). The proximal maps, by Moreau's identity
//! `prox_{τγ}(y) = y − Π_{τK°}(y)` (`K°` the polar body):
//! - ℓ1 part (`γ = ‖·‖₁`): soft thresholding at `τ`;
//! - ℓ∞ part (`γ = ‖·‖_∞`): clipping at the ℓ1-projection threshold `λ(τ)`,
//!   and the gauge is `λ` itself;
//! - ℓ2 part: `y (1 − τ/‖y‖)⁺`;
//! - ℓp part: `y − Π_{τB_q}(y)`;
//! - ellipsoid `{Au}` in an orthonormal frame with squared semi-axes `m_j`
//!   (coordinates `c_j`): `z̃_j = c_j m_j γ/(m_j γ + τ)`, where the gauge `γ`
//!   solves `Σ_j m_j c_j²/(m_j γ + τ)² = 1` (zero if `‖y‖_M ≤ τ`) — the
//!   trust-region secular equation, solved by the crate's secular solver
//!   (`training::secular`, safeguarded Halley/Newton on the concave
//!   `1/g − 1/ε`; Moré & Sorensen 1983). Directions with `m_j = 0` (flat
//!   ellipsoids) are dropped.
//!
//! For the ℓ1 and ℓ∞ parts the absolute values are sorted once per
//! projection, so each evaluation of the `θ` equation costs `O(log d)`.

use nalgebra::{DMatrix, DVector};

use crate::covariance::EigenCoordinates;
use crate::error::Result;
use crate::roots::BrentSearch;
use crate::threat::{EllipsoidView, Threat};

mod balls;
mod ellipsoids;

use balls::{SortedAbs, lp_prox};
pub(crate) use balls::{conjugate, lp_norm, project_lp_ball};
pub(crate) use ellipsoids::Frame;
use ellipsoids::{ellipsoid_projection_multiplier, ellipsoid_prox_gauge};

/// One body of a (possibly one-part) union, with its budget `c_i = ε ε_i`.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// `{‖x‖_p ≤ 1}`, `p ∈ [1, ∞]`.
    Lp(f64),
    /// An ellipsoid `{Au : ‖u‖ ≤ 1}`.
    Ellipsoid(Frame),
}

/// A body with its budget.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) body: Body,
    pub(crate) budget: f64,
}

/// Flattens nested unions into parts `(K_i, c_i)` with `c_i = ε · Π ε`.
pub(crate) fn flatten(threat: &Threat, budget: f64, out: &mut Vec<Part>) -> Result<()> {
    if let Some(parts) = threat.union_parts() {
        for (inner, relative) in parts {
            flatten(inner, budget * relative, out)?;
        }
        return Ok(());
    }
    if let Some(p) = threat.lp_exponent() {
        out.push(Part {
            body: Body::Lp(p),
            budget,
        });
        return Ok(());
    }
    let body = match threat.ellipsoid_view() {
        Some(EllipsoidView::Identity) | None => Body::Lp(2.0),
        Some(EllipsoidView::Spectral(s)) => Body::Ellipsoid(Frame::Spectral {
            cov: s.covariance.clone(),
            weights: s.weights.clone(),
        }),
        Some(EllipsoidView::Factor(a)) => {
            let svd = a.clone().svd(true, false);
            let Some(u) = svd.u else {
                return Err(crate::error::Error::Decomposition("threat factor SVD"));
            };
            let s = &svd.singular_values;
            let s_max = s.max();
            let cutoff = (a.nrows().max(a.ncols()) as f64) * f64::EPSILON * s_max;
            let keep: Vec<usize> = (0..s.len()).filter(|&j| s[j] > cutoff).collect();
            let basis = DMatrix::from_fn(a.nrows(), keep.len(), |i, j| u[(i, keep[j])]);
            let axes = DVector::from_fn(keep.len(), |j, _| s[keep[j]] * s[keep[j]]);
            Body::Ellipsoid(Frame::Factor { basis, axes })
        }
    };
    out.push(Part { body, budget });
    Ok(())
}

/// A point `y_i` prepared for repeated proximal evaluations.
enum Prepared<'a> {
    L1(SortedAbs),
    Linf(SortedAbs),
    L2(f64),
    Lp(&'a DVector<f64>, f64),
    Ellipsoid {
        frame: &'a Frame,
        /// Block energies `e_j` (squared coordinates, or the squared norm of
        /// a spiked noise block) with their weights `m_j`.
        energies: Vec<(f64, f64)>,
        coords: EigenCoordinates,
        off_frame: bool,
    },
}

impl<'a> Prepared<'a> {
    fn new(body: &'a Body, y: &'a DVector<f64>) -> Prepared<'a> {
        match body {
            Body::Lp(p) if *p == 1.0 => Prepared::L1(SortedAbs::new(y)),
            Body::Lp(p) if *p == f64::INFINITY => Prepared::Linf(SortedAbs::new(y)),
            Body::Lp(p) if *p == 2.0 => Prepared::L2(y.norm()),
            Body::Lp(p) => Prepared::Lp(y, *p),
            Body::Ellipsoid(frame) => {
                let (coords, energies, off_frame) = frame.prepare(y);
                Prepared::Ellipsoid {
                    frame,
                    energies,
                    coords,
                    off_frame,
                }
            }
        }
    }

    /// `σ_K(y)`: from this value of `τ` on, the proximal point is 0.
    fn support(&self) -> f64 {
        match self {
            Prepared::L1(s) => s.values.first().copied().unwrap_or(0.0),
            Prepared::Linf(s) => s.total(),
            Prepared::L2(n) => *n,
            Prepared::Lp(y, p) => lp_norm(y, conjugate(*p)),
            Prepared::Ellipsoid { energies, .. } => {
                energies.iter().map(|(e, m)| m * e).sum::<f64>().sqrt()
            }
        }
    }

    /// The gauge `γ(y)` itself: infinite off the span of a flat ellipsoid.
    fn gauge(&self) -> f64 {
        match self {
            Prepared::Ellipsoid {
                off_frame: true, ..
            } => f64::INFINITY,
            _ => self.prox_gauge(0.0),
        }
    }

    /// `γ(prox_{τγ}(y))`; at `τ = 0` the limit `τ → 0+` (for a flat
    /// ellipsoid, the gauge of the projection of `y` onto its span).
    fn prox_gauge(&self, tau: f64) -> f64 {
        match self {
            Prepared::L1(s) => s.excess_over(tau),
            Prepared::Linf(s) => {
                if tau == 0.0 {
                    s.values.first().copied().unwrap_or(0.0)
                } else {
                    s.l1_threshold(tau)
                }
            }
            Prepared::L2(n) => (n - tau).max(0.0),
            Prepared::Lp(y, p) => lp_norm(&lp_prox(y, *p, tau), *p),
            Prepared::Ellipsoid { energies, .. } => ellipsoid_prox_gauge(energies, tau),
        }
    }

    /// `prox_{τγ}(y)` and its gauge.
    fn prox(&self, y: &DVector<f64>, tau: f64) -> (DVector<f64>, f64) {
        match self {
            Prepared::L1(s) => {
                let z = y.map(|v| v.signum() * (v.abs() - tau).max(0.0));
                (z, s.excess_over(tau))
            }
            Prepared::Linf(s) => {
                let lambda = if tau == 0.0 {
                    s.values.first().copied().unwrap_or(0.0)
                } else {
                    s.l1_threshold(tau)
                };
                (y.map(|v| v.clamp(-lambda, lambda)), lambda)
            }
            Prepared::L2(n) => {
                if *n <= tau {
                    (DVector::zeros(y.len()), 0.0)
                } else {
                    (y * ((n - tau) / n), n - tau)
                }
            }
            Prepared::Lp(_, p) => {
                let z = lp_prox(y, *p, tau);
                let g = lp_norm(&z, *p);
                (z, g)
            }
            Prepared::Ellipsoid {
                frame,
                energies,
                coords,
                ..
            } => {
                let gamma = ellipsoid_prox_gauge(energies, tau);
                let weights = frame.weights();
                let factor = |m: f64| {
                    if m > 0.0 && gamma > 0.0 {
                        m * gamma / (m * gamma + tau)
                    } else {
                        0.0
                    }
                };
                let k = coords.explicit.len();
                let explicit = DVector::from_fn(k, |j, _| coords.explicit[j] * factor(weights[j]));
                let residual = coords.residual.as_ref().map(|r| r * factor(weights[k]));
                let z = frame.rebuild(&EigenCoordinates { explicit, residual });
                (z, gamma)
            }
        }
    }
}

/// The projection onto `c K` for bodies with a direct method: ℓp balls
/// (see [`project_lp_ball`]) and ellipsoids (`x̃_j = ỹ_j m_j/(m_j + ν)` in
/// the frame, 0 off it, with the secular equation for `ν`).
fn project_body(part: &Part, y: &DVector<f64>) -> Option<DVector<f64>> {
    let c = part.budget;
    match &part.body {
        Body::Lp(p) => Some(project_lp_ball(y, *p, c)),
        Body::Ellipsoid(frame) => {
            let (coords, energies, _) = frame.prepare(y);
            let nu = ellipsoid_projection_multiplier(&energies, c);
            let weights = frame.weights();
            let factor = |m: f64| if m > 0.0 { m / (m + nu) } else { 0.0 };
            let k = coords.explicit.len();
            let explicit = DVector::from_fn(k, |j, _| coords.explicit[j] * factor(weights[j]));
            let residual = coords.residual.as_ref().map(|r| r * factor(weights[k]));
            let mut z = frame.rebuild(&EigenCoordinates { explicit, residual });
            // Rounding can leave the gauge a hair above c.
            let (_, energies_z, _) = frame.prepare(&z);
            let gauge: f64 = energies_z
                .iter()
                .filter(|(_, m)| *m > 0.0)
                .map(|(e, m)| e / m)
                .sum::<f64>()
                .sqrt();
            if gauge > c {
                z *= c / gauge;
            }
            Some(z)
        }
    }
}

/// Projects `(y_1, …, y_m)` onto `{Σ_i γ_i(z_i)/c_i ≤ 1}`. `hint` is the
/// multiplier `θ` of a nearby earlier call (a warm start); the multiplier
/// found is returned with the projection (0 when `y` is feasible).
pub(crate) fn project_union(
    parts: &[Part],
    ys: &[DVector<f64>],
    hint: Option<f64>,
) -> (Vec<DVector<f64>>, f64) {
    if let ([part], [y]) = (parts, ys) {
        if let Some(z) = project_body(part, y) {
            return (vec![z], 0.0);
        }
    }
    let prepared: Vec<Prepared> = parts
        .iter()
        .zip(ys)
        .map(|(part, y)| Prepared::new(&part.body, y))
        .collect();
    let excess = |theta: f64| -> f64 {
        prepared
            .iter()
            .zip(parts)
            .map(|(pre, part)| pre.prox_gauge(theta / part.budget) / part.budget)
            .sum::<f64>()
            - 1.0
    };
    // At θ → 0+ every proximal point is y_i, or its projection onto the
    // span of a flat ellipsoid. If that is feasible it is the projection.
    let at_zero = excess(0.0);
    if at_zero <= 0.0 {
        let zs = prepared
            .iter()
            .zip(ys)
            .map(|(pre, y)| pre.prox(y, 0.0).0)
            .collect();
        return (zs, 0.0);
    }
    let theta_max = prepared
        .iter()
        .zip(parts)
        .map(|(pre, part)| part.budget * pre.support())
        .fold(0.0, f64::max);
    // Narrow the bracket with the warm start.
    let (mut lo, mut f_lo, mut hi, mut f_hi) = (0.0, at_zero, theta_max, -1.0);
    if let Some(h) = hint.filter(|h| *h > 0.0 && *h < theta_max) {
        for trial in [h * (1.0 - 1e-3), h * (1.0 + 1e-3)] {
            if trial <= lo || trial >= hi {
                continue;
            }
            let f = excess(trial);
            if f > 0.0 {
                lo = trial;
                f_lo = f;
            } else {
                hi = trial;
                f_hi = f;
            }
        }
    }
    let mut search = BrentSearch::new(lo, f_lo, hi, f_hi, 0.0, 0.0);
    for _ in 0..300 {
        match search.propose() {
            Some(t) => search.observe(excess(t)),
            None => break,
        }
    }
    // The end of the final bracket on the feasible side (excess ≤ 0).
    let theta = search
        .ends()
        .into_iter()
        .filter(|(_, f)| *f <= 0.0)
        .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map_or(theta_max, |(t, _)| t);
    let mut out = Vec::with_capacity(parts.len());
    let mut total = 0.0;
    for ((pre, part), y) in prepared.iter().zip(parts).zip(ys) {
        let (z, gauge) = pre.prox(y, theta / part.budget);
        total += gauge / part.budget;
        out.push(z);
    }
    if total > 1.0 {
        for z in &mut out {
            *z /= total;
        }
    }
    (out, theta)
}

/// `c σ_K(w)` for one part.
pub(crate) fn part_support(part: &Part, w: &DVector<f64>) -> f64 {
    part.budget * Prepared::new(&part.body, w).support()
}

/// A bound on the difference between [`part_support`] as computed and the
/// exact `c σ_K(w)` of the user's threat (see `rounding`): the rounding of
/// the norms for ℓp balls; for a model-based ellipsoid the error of the
/// covariance's decomposition, `‖M'^{1/2} − M^{1/2}‖ ≤ L_√f e_Σ`, and of the change of
/// basis; for a factor the backward error of its SVD, `8 max(d, p) ε_mach ‖A‖`.
pub(crate) fn part_support_error(part: &Part, w: &DVector<f64>, support: f64) -> f64 {
    let n = w.len();
    let rounded = super::rounding::summation(n) * support;
    let w_norm = w.norm();
    let extra = match &part.body {
        Body::Lp(_) => 0.0,
        Body::Ellipsoid(Frame::Spectral { cov, weights }) => {
            let error = super::rounding::CovarianceError::of(cov);
            let sensitivity = super::rounding::weight_sensitivity(cov.eigenvalues(), weights);
            let top = weights.amax().sqrt();
            part.budget * (sensitivity * error.absolute() + error.coordinates * top) * w_norm
        }
        Body::Ellipsoid(Frame::Factor { basis, axes }) => {
            let size = basis.nrows().max(basis.ncols()) as f64;
            part.budget * 8.0 * size * f64::EPSILON * axes.amax().sqrt() * w_norm
        }
    };
    rounded + extra
}

/// True for a body built from a covariance (its support moves with the
/// covariance's decomposition).
pub(crate) fn is_model_based(part: &Part) -> bool {
    matches!(part.body, Body::Ellipsoid(Frame::Spectral { .. }))
}

/// `M v` for an ellipsoidal part `K = {Au : ‖u‖ ≤ 1}`, `M = AAᵀ` (so that
/// `σ_K(w) = √(wᵀMw)`); `None` for ℓp balls.
pub(crate) fn ellipsoid_mul(part: &Part, v: &DVector<f64>) -> Option<DVector<f64>> {
    let Body::Ellipsoid(frame) = &part.body else {
        return None;
    };
    let (coords, _, _) = frame.prepare(v);
    let weights = frame.weights();
    let k = coords.explicit.len();
    let explicit = DVector::from_fn(k, |j, _| coords.explicit[j] * weights[j]);
    let residual = coords.residual.as_ref().map(|r| r * weights[k]);
    Some(frame.rebuild(&EigenCoordinates { explicit, residual }))
}

/// The projection of `y` onto `c K` for one part.
pub(crate) fn part_start(part: &Part, y: &DVector<f64>) -> DVector<f64> {
    let (mut zs, _) = project_union(std::slice::from_ref(part), std::slice::from_ref(y), None);
    zs.pop().expect("one part in, one out")
}

/// `Σ_i γ_i(z_i)/c_i`, the union gauge of the tuple (for tests and checks).
pub(crate) fn union_gauge(parts: &[Part], zs: &[DVector<f64>]) -> f64 {
    parts
        .iter()
        .zip(zs)
        .map(|(part, z)| Prepared::new(&part.body, z).gauge() / part.budget)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::balls::project_l1_ball;
    use super::*;
    use crate::covariance::Covariance;
    use proptest::prelude::*;

    fn v(x: &[f64]) -> DVector<f64> {
        DVector::from_vec(x.to_vec())
    }

    /// Rounding slack of the projection tests: the projections are exact
    /// up to a root found to a few ulps, and the inner products below are
    /// of size `(‖y‖ + r)² ≤ 100`, so `1e-11` leaves ample room while a
    /// wrong threshold or multiplier (an error ≥ 1e-6) fails.
    const SLACK: f64 = 1e-11;

    fn vector(d: usize) -> impl Strategy<Value = DVector<f64>> {
        prop::collection::vec(-3.0f64..3.0, d).prop_map(DVector::from_vec)
    }

    /// A point of `{‖x‖_p ≤ r}`: `x` scaled onto the sphere, times `t ∈ [0, 1]`.
    fn point_in_lp_ball(x: &DVector<f64>, p: f64, r: f64, t: f64) -> DVector<f64> {
        let n = lp_norm(x, p);
        if n == 0.0 { x.clone() } else { x * (t * r / n) }
    }

    #[test]
    fn l1_projection_by_hand() {
        // Threshold λ = 1: (3, −2, 0.5) → (2, −1, 0), ‖·‖₁ = 3.
        let x = project_l1_ball(&v(&[3.0, -2.0, 0.5]), 3.0);
        assert_eq!(x.as_slice(), &[2.0, -1.0, 0.0]);
        let inside = v(&[0.1, -0.2]);
        assert_eq!(project_l1_ball(&inside, 1.0), inside);
        // A radius far below abs(y): the subtraction rounds at the scale
        // of abs(y) (found by the property test below).
        let x = project_l1_ball(&v(&[-2.525974902674962]), 0.016925462052846965);
        assert!(lp_norm(&x, 1.0) <= 0.016925462052846965);
    }

    #[test]
    fn ellipsoid_gauge_root_is_exact_for_one_axis() {
        // One axis m = 4, coordinate 3: φ(γ) = 36/(4γ + 1)² = 1, γ = 1.25.
        let g = ellipsoid_prox_gauge(&[(9.0, 4.0)], 1.0);
        assert!((g - 1.25).abs() < 1e-15);
        // The projection multiplier onto {x²/4 ≤ 1}: 36/(4 + ν)² = 1, ν = 2.
        let nu = ellipsoid_projection_multiplier(&[(9.0, 4.0)], 1.0);
        assert!((nu - 2.0).abs() < 1e-15);
    }

    #[test]
    fn flat_ellipsoid_projection_by_hand() {
        // K = {t(1, 1, 0) : |t| ≤ 1} at budget 1/2: the segment up to (½, ½, 0).
        let a = DMatrix::from_row_slice(3, 1, &[1.0, 1.0, 0.0]);
        let mut parts = Vec::new();
        flatten(&Threat::ellipsoid(a).unwrap(), 0.5, &mut parts).unwrap();
        let far = part_start(&parts[0], &v(&[2.0, 0.0, 1.0]));
        assert!((far - v(&[0.5, 0.5, 0.0])).amax() < 1e-15);
        let near = part_start(&parts[0], &v(&[0.1, 0.0, 1.0]));
        assert!((near - v(&[0.05, 0.05, 0.0])).amax() < 1e-15);
    }

    fn unit_part(kind: usize, factor: &DMatrix<f64>) -> Part {
        let d = factor.nrows();
        let threat = match kind {
            0 => Threat::l1(),
            1 => Threat::linf(),
            2 => Threat::l2(),
            3 => Threat::lp(3.0).unwrap(),
            4 => Threat::lp(1.4).unwrap(),
            5 => Threat::ellipsoid(factor.clone()).unwrap(),
            _ => {
                let variances = DVector::from_fn(d, |i, _| 0.5 + i as f64);
                Threat::generative_rank(&Covariance::diagonal(variances).unwrap(), d.div_ceil(2))
                    .unwrap()
            }
        };
        let mut out = Vec::new();
        flatten(&threat, 1.0, &mut out).unwrap();
        out.pop().unwrap()
    }

    proptest! {
        /// The proximal map of every gauge: `z = prox_{τγ}(y)` iff
        /// `y − z ∈ τ ∂γ(z)`, i.e. `σ_K(y − z) ≤ τ` and `⟨y − z, z⟩ = τ γ(z)`;
        /// and the returned gauge is `γ(z)`.
        #[test]
        fn gauge_proximal_maps_satisfy_their_optimality_conditions(
            (y, factor) in (2usize..7).prop_flat_map(|d| (
                vector(d),
                prop::collection::vec(-1.5f64..1.5, d * 2).prop_map(move |a| DMatrix::from_vec(d, 2, a)),
            )),
            kind in 0usize..7,
            tau in 0.01f64..3.0,
        ) {
            let part = unit_part(kind, &factor);
            let prepared = Prepared::new(&part.body, &y);
            let (z, gauge) = prepared.prox(&y, tau);
            let scale = 1.0 + y.norm_squared();
            let direct = union_gauge(std::slice::from_ref(&part), std::slice::from_ref(&z));
            prop_assert!((gauge - direct).abs() <= 1e-10 * (1.0 + gauge), "{} vs {}", gauge, direct);
            prop_assert!(prepared.prox_gauge(tau) == gauge);
            let residual = &y - &z;
            prop_assert!(part_support(&part, &residual) <= tau * (1.0 + 1e-10) + 1e-12);
            prop_assert!((residual.dot(&z) - tau * gauge).abs() <= 1e-10 * scale);
        }

        /// The ℓ1 ball is the hull of its 2d vertices ±r e_i, so the
        /// variational inequality at every vertex proves optimality.
        #[test]
        fn l1_projection_is_the_nearest_point_of_the_ball(
            y in (1usize..9).prop_flat_map(vector),
            r in 0.01f64..4.0,
        ) {
            let x = project_l1_ball(&y, r);
            prop_assert!(lp_norm(&x, 1.0) <= r * (1.0 + 1e-14));
            let residual = &y - &x;
            for i in 0..y.len() {
                for sign in [-1.0, 1.0] {
                    let mut vertex = DVector::zeros(y.len());
                    vertex[i] = sign * r;
                    prop_assert!(residual.dot(&(vertex - &x)) <= SLACK);
                }
            }
        }

        /// ℓp balls (`1 < p < ∞`): feasibility, the KKT conditions
        /// (`y − x` parallel to `∇‖x‖_p^p` with a non-negative factor), and
        /// no random point of the ball is closer.
        #[test]
        fn lp_projection_is_the_nearest_point_of_the_ball(
            (y, others) in (1usize..9).prop_flat_map(|d| (vector(d), prop::collection::vec((vector(d), 0.0f64..1.0), 20))),
            p in 1.05f64..10.0,
            r in 0.01f64..4.0,
        ) {
            let x = project_lp_ball(&y, p, r);
            let norm = lp_norm(&x, p);
            prop_assert!(norm <= r * (1.0 + 1e-13));
            let residual = &y - &x;
            if lp_norm(&y, p) > r {
                prop_assert!((norm - r).abs() <= 1e-12 * r);
                let gradient = x.map(|t| t.signum() * t.abs().powf(p - 1.0));
                let factor = residual.dot(&gradient) / gradient.norm_squared();
                prop_assert!(factor >= 0.0);
                prop_assert!((&residual - &gradient * factor).amax() <= 1e-9 * (1.0 + residual.amax()));
            } else {
                prop_assert_eq!(&x, &y);
            }
            let best = residual.norm();
            for (other, t) in &others {
                let candidate = point_in_lp_ball(other, p, r, *t);
                prop_assert!((&y - &candidate).norm() >= best - SLACK);
            }
        }

        /// Ellipsoids `{Au : ‖u‖ ≤ c}` with a random (often rank-deficient,
        /// i.e. flat) factor: the projection lies in the body and satisfies
        /// the variational inequality against random points `Au`.
        #[test]
        fn ellipsoid_projection_is_the_nearest_point_of_the_body(
            (y, factor, us) in (1usize..7).prop_flat_map(|d| (Just(d), 1..=d)).prop_flat_map(|(d, m)| (
                vector(d),
                prop::collection::vec(-2.0f64..2.0, d * m).prop_map(move |a| DMatrix::from_vec(d, m, a)),
                prop::collection::vec(vector(m), 20),
            )),
            c in 0.05f64..3.0,
        ) {
            let mut parts = Vec::new();
            flatten(&Threat::ellipsoid(factor.clone()).unwrap(), c, &mut parts).unwrap();
            let x = part_start(&parts[0], &y);
            // x = A u with ‖u‖ ≤ c; u by QR least squares (A has full column
            // rank here: m ≤ d and random entries; rank-deficient draws are
            // skipped).
            let qr = factor.clone().qr();
            let r = qr.r();
            let largest = r.diagonal().amax();
            prop_assume!(factor.ncols() <= factor.nrows() && r.diagonal().iter().all(|v| v.abs() > 1e-8 * largest));
            let u = r.solve_upper_triangular(&qr.q().tr_mul(&x)).unwrap();
            prop_assert!((&factor * &u - &x).amax() <= 1e-10 * (1.0 + x.amax()));
            prop_assert!(u.norm() <= c * (1.0 + 1e-10));
            let residual = &y - &x;
            for u_other in &us {
                let n = u_other.norm();
                let candidate = if n > c { &factor * (u_other * (c / n)) } else { &factor * u_other };
                prop_assert!(residual.dot(&(candidate - &x)) <= 1e-9);
            }
        }

        /// Unions: the projection onto `{Σ γ_i(z_i)/c_i ≤ 1}` is feasible and
        /// no random feasible tuple violates the variational inequality.
        #[test]
        fn union_projection_is_the_nearest_feasible_tuple(
            (ys, others, factor) in (2usize..6).prop_flat_map(|d| (
                prop::collection::vec(vector(d), 3),
                prop::collection::vec((prop::collection::vec(vector(d), 3), prop::collection::vec(0.01f64..1.0, 3)), 20),
                prop::collection::vec(-1.0f64..1.0, d * 2).prop_map(move |a| DMatrix::from_vec(d, 2, a)),
            )),
            kinds in prop::collection::vec(0usize..5, 2..=3),
            budgets in prop::collection::vec(0.05f64..2.0, 3),
        ) {
            let parts: Vec<Part> = kinds.iter().zip(&budgets).map(|(&k, &c)| {
                let threat = match k {
                    0 => Threat::l1(),
                    1 => Threat::linf(),
                    2 => Threat::l2(),
                    3 => Threat::lp(3.0).unwrap(),
                    _ => Threat::ellipsoid(factor.clone()).unwrap(),
                };
                let mut out = Vec::new();
                flatten(&threat, c, &mut out).unwrap();
                out.pop().unwrap()
            }).collect();
            let m = parts.len();
            let ys = &ys[..m];
            let (xs, _) = project_union(&parts, ys, None);
            prop_assert!(union_gauge(&parts, &xs) <= 1.0 + 1e-10);
            for (points, weights) in &others {
                // A feasible tuple: part i in t_i c_i K_i with t on the simplex.
                let total: f64 = weights[..m].iter().sum();
                let mut inner = 0.0;
                for i in 0..m {
                    let mut scaled = parts[i].clone();
                    scaled.budget *= weights[i] / total;
                    let candidate = part_start(&scaled, &points[i]);
                    inner += (&ys[i] - &xs[i]).dot(&(candidate - &xs[i]));
                }
                prop_assert!(inner <= 1e-9, "variational inequality violated by {}", inner);
            }
        }
    }
}
