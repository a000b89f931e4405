//! Ellipsoids in an orthonormal frame: their coordinates, and the
//! trust-region secular equations of their projections and of the
//! proximal maps of their gauges.

use nalgebra::{DMatrix, DVector};

use crate::covariance::{Covariance, EigenCoordinates};

/// An ellipsoid in an orthonormal frame: `K = {x : Σ_j x̃_j²/m_j ≤ 1}` on
/// the directions with `m_j > 0`, flat elsewhere.
#[derive(Debug, Clone)]
pub(crate) enum Frame {
    /// Blocks of a covariance's eigenbasis with weights `m_b` (the threat's
    /// own covariance, not necessarily the model's).
    Spectral {
        cov: Covariance,
        weights: DVector<f64>,
    },
    /// Orthonormal columns `P` (from the SVD of the factor `A = P S Qᵀ`)
    /// and `m_j = s_j²`.
    Factor {
        basis: DMatrix<f64>,
        axes: DVector<f64>,
    },
}

/// Off-frame energy below this fraction of `‖y‖²` (rounding in a frame
/// change) still counts as inside a flat ellipsoid's span.
pub(super) const OFF_FRAME_TOLERANCE: f64 = 1e-24;

impl Frame {
    pub(super) fn prepare(&self, y: &DVector<f64>) -> (EigenCoordinates, Vec<(f64, f64)>, bool) {
        let total = y.norm_squared();
        match self {
            Frame::Spectral { cov, weights } => {
                let coords = cov.coordinates_unchecked(y);
                let mut energies = Vec::with_capacity(weights.len());
                let mut off = 0.0;
                let k = coords.explicit.len();
                for j in 0..k {
                    let e = coords.explicit[j] * coords.explicit[j];
                    energies.push((e, weights[j]));
                    if weights[j] <= 0.0 {
                        off += e;
                    }
                }
                if let Some(r) = &coords.residual {
                    let e = r.norm_squared();
                    energies.push((e, weights[k]));
                    if weights[k] <= 0.0 {
                        off += e;
                    }
                }
                (coords, energies, off > OFF_FRAME_TOLERANCE * total)
            }
            Frame::Factor { basis, axes } => {
                let c = basis.tr_mul(y);
                let off = (y - basis * &c).norm_squared();
                let energies = (0..c.len()).map(|j| (c[j] * c[j], axes[j])).collect();
                let coords = EigenCoordinates {
                    explicit: c,
                    residual: None,
                };
                (coords, energies, off > OFF_FRAME_TOLERANCE * total)
            }
        }
    }

    pub(super) fn rebuild(&self, coords: &EigenCoordinates) -> DVector<f64> {
        match self {
            Frame::Spectral { cov, .. } => cov.from_coordinates_unchecked(coords),
            Frame::Factor { basis, .. } => basis * &coords.explicit,
        }
    }

    pub(super) fn weights(&self) -> &DVector<f64> {
        match self {
            Frame::Spectral { weights, .. } => weights,
            Frame::Factor { axes, .. } => axes,
        }
    }
}

/// The root `x ≥ 0` of `Σ_j a_j/(p_j x + q_j)² = 1` (terms with `a_j = 0`
/// ignored, `p_j > 0`, `q_j ≥ 0`), given that the sum exceeds 1 at
/// `x = 0`. With `x ↦ Σ a_j/(p_j x + q_j)²` written as
/// `Σ (a_j/p_j²)/(x + q_j/p_j)²`, the reciprocal square root
/// `ψ(x) = φ(x)^{-1/2}` is concave (Moré & Sorensen 1983), so Newton on
/// `ψ = 1` from `x = 0` increases monotonically to the root. The scaling
/// `s = min_j (p_j x + q_j)`, `r_j = s/(p_j x + q_j) ≤ 1`, `A = Σ a_j r_j²`,
/// `B = Σ a_j p_j r_j³` gives `ψ = s/√A` and `ψ' = B/A^{3/2}` without
/// overflow when some `q_j` are tiny or zero.
fn secular_root(terms: &[(f64, f64, f64)]) -> f64 {
    let mut x: f64 = 0.0;
    for _ in 0..200 {
        let s = terms
            .iter()
            .filter(|(a, _, _)| *a > 0.0)
            .map(|(_, p, q)| p * x + q)
            .fold(f64::INFINITY, f64::min);
        if s == 0.0 {
            // x = 0 with a zero q_j: the sum is infinite; step off zero.
            let scale = terms
                .iter()
                .map(|(a, p, _)| a.sqrt() / p)
                .fold(0.0, f64::max);
            x = 1e-300_f64.max(1e-16 * scale);
            continue;
        }
        let mut a_sum = 0.0;
        let mut b_sum = 0.0;
        for &(a, p, q) in terms {
            if a > 0.0 {
                let r = s / (p * x + q);
                a_sum += a * r * r;
                b_sum += a * p * r * r * r;
            }
        }
        let psi = s / a_sum.sqrt();
        let dpsi = b_sum / (a_sum * a_sum.sqrt());
        let next = (x + (1.0 - psi) / dpsi).max(0.0);
        let done = (next - x).abs() <= 4.0 * f64::EPSILON * next;
        x = next;
        if done {
            break;
        }
    }
    x
}

/// The gauge `γ > 0` of the proximal point of an ellipsoid's gauge:
/// `Σ_j m_j e_j/(m_j γ + τ)² = 1`, or 0 when `Σ m_j e_j ≤ τ²` (then the
/// proximal point is 0).
pub(super) fn ellipsoid_prox_gauge(energies: &[(f64, f64)], tau: f64) -> f64 {
    let support_sq: f64 = energies.iter().map(|(e, m)| m * e).sum();
    if support_sq <= tau * tau {
        return 0.0;
    }
    if tau == 0.0 {
        let g: f64 = energies
            .iter()
            .filter(|(_, m)| *m > 0.0)
            .map(|(e, m)| e / m)
            .sum();
        return g.sqrt();
    }
    let terms: Vec<(f64, f64, f64)> = energies
        .iter()
        .filter(|(_, m)| *m > 0.0)
        .map(|&(e, m)| (m * e, m, tau))
        .collect();
    secular_root(&terms)
}

/// The multiplier `ν` of the projection onto `{Σ_j x̃_j²/m_j ≤ c²}`
/// (`x̃_j = ỹ_j m_j/(m_j + ν)`): the root of `Σ_j m_j e_j/(m_j + ν)² = c²`,
/// or 0 when the in-frame part of `y` is inside.
pub(super) fn ellipsoid_projection_multiplier(energies: &[(f64, f64)], c: f64) -> f64 {
    let inside: f64 = energies
        .iter()
        .filter(|(_, m)| *m > 0.0)
        .map(|(e, m)| e / m)
        .sum();
    if inside <= c * c {
        return 0.0;
    }
    let terms: Vec<(f64, f64, f64)> = energies
        .iter()
        .filter(|(_, m)| *m > 0.0)
        .map(|&(e, m)| (m * e / (c * c), 1.0, m))
        .collect();
    secular_root(&terms)
}
