//! Ellipsoids in an orthonormal frame: their coordinates, and the
//! trust-region secular equations of their projections and of the
//! proximal maps of their gauges, solved by the crate's one secular solver
//! ([`SecularEquation`], safeguarded Halley/Newton on `1/g − 1/ε`).

use nalgebra::{DMatrix, DVector};

use crate::covariance::{Covariance, EigenCoordinates};
use crate::training::secular::SecularEquation;

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

/// The root `s ≥ 0` of `Σ_j d_j c_j/(s + d_j)² = ε²`, the trust-region
/// form of the crate's [`SecularEquation`] (energies `c_j ≥ 0`, pencil
/// eigenvalues `d_j > 0`): `f64::INFINITY` at `ε = 0`, 0 once `ε` reaches
/// `ε_max = √(Σ c_j/d_j)`. Inputs are finite (the dual solver works on a
/// normalized problem); if they are not, the answer is NaN, which the
/// solver's checks reject like any other non-finite iterate.
///
/// A projection is an inner step of the dual solver, whose result is
/// certified on its own (`dual::finish`), so a root that misses the
/// secular tolerance after the iteration cap is used as it stands
/// ([`SecularEquation::solve_inner`]).
fn secular_shift(energies: &[f64], eigenvalues: &[f64], eps: f64) -> f64 {
    SecularEquation::new(energies, eigenvalues)
        .and_then(|equation| equation.solve_inner(eps))
        .map_or(f64::NAN, |root| root.shift())
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
    // Σ_j m_j e_j/(m_j γ + τ)² = Σ_j d_j e_j/(γ + d_j)² / τ with d_j = τ/m_j:
    // the secular equation in γ with energies e_j and budget √τ.
    let (e, d): (Vec<f64>, Vec<f64>) = energies
        .iter()
        .filter(|(_, m)| *m > 0.0)
        .map(|&(e, m)| (e, tau / m))
        .unzip();
    secular_shift(&e, &d, tau.sqrt())
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
    // The secular equation in ν itself: energies e_j, eigenvalues m_j, budget c.
    let (e, d): (Vec<f64>, Vec<f64>) = energies
        .iter()
        .filter(|(_, m)| *m > 0.0)
        .map(|&(e, m)| (e, m))
        .unzip();
    secular_shift(&e, &d, c)
}
