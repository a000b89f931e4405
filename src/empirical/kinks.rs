//! The kink subspace `N = {w : Aᵀw = 0}` of an ellipsoidal threat
//! `K = A·B₂`, where `σ_K(w) = ‖Aᵀw‖` is not differentiable, and the
//! minimal-norm element of the robust loss's subdifferential there.

use nalgebra::{DMatrix, DVector};

use crate::covariance::Covariance;
use crate::error::Result;
use crate::threat::{EllipsoidView, SUPPORT_ZERO_TOLERANCE, Threat};
use crate::training::secular::SecularEquation;

/// Where a point sits relative to the kink subspace of an ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KinkState {
    /// Off the kink (or a threat of another kind): the loss is
    /// differentiable there, or handled by its own rule.
    Off,
    /// On the kink, and the minimal-norm subgradient lies in `N × ℝ`: the
    /// σ term absorbs the whole `range(A)` part of the smooth gradient, so
    /// the solver stays on `N`.
    Stay,
    /// On the kink, and the minimal-norm subgradient leaves `N`: moving off
    /// the kink decreases the loss.
    Leave,
}

/// The orthogonal split `ℝᵈ = ⊕_b V_b` in which an ellipsoid's matrix is
/// `M = AAᵀ = Σ_b m_b P_b`. The kink subspace `N = null(Aᵀ)` is the sum of
/// the blocks with `m_b = 0`.
pub(super) struct KinkSubspace<'a> {
    blocks: Blocks<'a>,
    /// `m_b` per block.
    weights: DVector<f64>,
}

enum Blocks<'a> {
    /// `M = I` (ℓ2): one block.
    Identity,
    /// `M = U diag(m) Uᵀ` on a covariance's spectral blocks.
    Spectral(&'a Covariance),
    /// `M = Q diag(s²) Qᵀ` from the thin SVD `A = Q S Vᵀ` of a general
    /// factor (`Q` is `d × r` for the numerical rank `r`): one block per
    /// column of `Q`, then the complement `I − QQᵀ` with `m = 0`.
    Factor(DMatrix<f64>),
}

impl<'a> KinkSubspace<'a> {
    pub(super) fn new(threat: &'a Threat) -> Option<KinkSubspace<'a>> {
        Some(match threat.ellipsoid_view()? {
            EllipsoidView::Identity => KinkSubspace {
                blocks: Blocks::Identity,
                weights: DVector::from_element(1, 1.0),
            },
            EllipsoidView::Spectral(s) => KinkSubspace {
                blocks: Blocks::Spectral(&s.covariance),
                weights: s.weights.clone(),
            },
            EllipsoidView::Factor(a) => {
                let svd = a.clone().svd(true, false);
                let u = svd.u.expect("the left singular vectors were requested");
                let values = svd.singular_values;
                // Directions the threat's own zero snapping cannot tell
                // from 0 count as null.
                let threshold = SUPPORT_ZERO_TOLERANCE * a.norm();
                let keep: Vec<usize> = (0..values.len())
                    .filter(|&i| values[i] > threshold)
                    .collect();
                let basis = DMatrix::from_fn(a.nrows(), keep.len(), |r, c| u[(r, keep[c])]);
                let weights = DVector::from_iterator(
                    keep.len() + 1,
                    keep.iter().map(|&i| values[i] * values[i]).chain([0.0]),
                );
                KinkSubspace {
                    blocks: Blocks::Factor(basis),
                    weights,
                }
            }
        })
    }

    /// `‖P_b v‖²` per block.
    fn energies(&self, v: &DVector<f64>) -> DVector<f64> {
        match &self.blocks {
            Blocks::Identity => DVector::from_element(1, v.norm_squared()),
            Blocks::Spectral(cov) => cov.block_energies_unchecked(v),
            Blocks::Factor(q) => {
                let r = q.ncols();
                let c = q.tr_mul(v);
                let mut out = DVector::zeros(r + 1);
                for i in 0..r {
                    out[i] = c[i] * c[i];
                }
                // The complement from the residual vector itself, not
                // ‖v‖² − ‖Qᵀv‖² (which cancels for v near range(Q)).
                let mut residual = v.clone();
                residual.gemv(-1.0, q, &c, 1.0);
                out[r] = residual.norm_squared();
                out
            }
        }
    }

    /// `Σ_b f(b) P_b v`.
    fn scale(&self, v: &DVector<f64>, f: impl Fn(usize) -> f64) -> DVector<f64> {
        match &self.blocks {
            Blocks::Identity => v * f(0),
            Blocks::Spectral(cov) => cov.map_spectrum_unchecked(v, |b, _| f(b)),
            Blocks::Factor(q) => {
                let r = q.ncols();
                let rest = f(r);
                let mut c = q.tr_mul(v);
                for i in 0..r {
                    c[i] *= f(i) - rest;
                }
                let mut out = v * rest;
                out.gemv(1.0, q, &c, 1.0);
                out
            }
        }
    }

    /// The orthogonal projection of `v` onto `N`.
    pub(super) fn project(&self, v: &DVector<f64>) -> DVector<f64> {
        self.scale(v, |b| if self.weights[b] > 0.0 { 0.0 } else { 1.0 })
    }

    /// The minimal-norm element of `g + τ ∂σ_K(0) = {g + τAu : ‖u‖ ≤ 1}`,
    /// and whether it lies in `N` ([`KinkState::Stay`]).
    ///
    /// Block by block the element is `t_b P_b g` with `t_b = 1` on `N` and
    /// `t_b = ν/(ν + τ²m_b)`, where `ν ≥ 0` is the multiplier of `‖u‖ ≤ 1`:
    /// `ν = 0` (`t_b = 0`, the σ term cancels the whole `range(A)` part) when
    /// `Σ_{m_b>0} ‖P_b g‖²/(τ²m_b) ≤ 1`, otherwise the root of
    /// `Σ_b τ²m_b ‖P_b g‖²/(ν + τ²m_b)² = 1`. With `λ = 1/ν` this is the
    /// secular equation `g(λ) = 1` of [THEORY §7](crate::theory#7-adversarial-training) for the terms
    /// `(d_b, c_b) = (τ²m_b, ‖P_b g‖²)`, solved by [`SecularEquation`].
    pub(super) fn minimal_subgradient(
        &self,
        g: &DVector<f64>,
        tau: f64,
    ) -> Result<(DVector<f64>, KinkState)> {
        let energies = self.energies(g);
        let range_energy: f64 = (0..energies.len())
            .filter(|&b| self.weights[b] > 0.0)
            .map(|b| energies[b])
            .sum();
        if range_energy == 0.0 {
            return Ok((g.clone(), KinkState::Stay));
        }
        if tau == 0.0 {
            // No adversary weight left (every sigmoid underflowed): the
            // subdifferential is the smooth gradient alone.
            return Ok((g.clone(), KinkState::Leave));
        }
        let terms = self.weights.map(|m| tau * tau * m);
        let lambda = SecularEquation::new(energies.as_slice(), terms.as_slice())?
            .solve(1.0)?
            .lambda();
        if lambda == f64::INFINITY {
            return Ok((self.project(g), KinkState::Stay));
        }
        let element = self.scale(g, |b| 1.0 / (1.0 + lambda * terms[b]));
        Ok((element, KinkState::Leave))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The minimal-norm element of `{g + τAu : ‖u‖ ≤ 1}` for every kind of
    /// kink subspace, checked by its optimality certificate: `e = g + τAu`
    /// with `‖u‖ ≤ 1` (`u` from least squares on the explicit factor) and
    /// `eᵀ(c − e) ≥ 0` for every `c` of the set, i.e.
    /// `eᵀ(g − e) − τ‖Aᵀe‖ ≥ 0`. For two-column factors also against a
    /// brute-force polar grid over the disc.
    #[test]
    fn minimal_subgradient_is_the_projection_of_zero_onto_the_set() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let d = 4;
        let q = crate::default_model::seeded_rotation(d, 3);
        let values = [5.0, 3.0, 1.0, 0.5];
        let dense = Covariance::dense(
            &q * DMatrix::from_diagonal(&DVector::from_row_slice(&values)) * q.transpose(),
        )
        .unwrap();
        let spiked = Covariance::spiked(
            q.columns(0, 2).into_owned(),
            DVector::from_vec(vec![5.0, 3.0]),
            0.5,
        )
        .unwrap();
        let basis = |k: usize| dense.leading_basis(k).unwrap();
        let lead = basis(4);
        let scaled =
            |k: usize| DMatrix::from_fn(d, k, |r, c| lead[(r, c)] * dense.eigenvalues()[c].sqrt());
        let complement = |k: usize| lead.columns(k, d - k).into_owned();
        let noise_projector =
            DMatrix::identity(d, d) - q.columns(0, 2) * q.columns(0, 2).transpose();
        let general = DMatrix::from_row_slice(4, 2, &[1.0, 0.2, -0.5, 0.8, 0.3, 0.0, 0.0, 1.1]);
        let cases: Vec<(Threat, DMatrix<f64>)> = vec![
            (Threat::l2(), DMatrix::identity(d, d)),
            (Threat::generative(&dense), scaled(4)),
            (Threat::generative_rank(&dense, 2).unwrap(), scaled(2)),
            (Threat::eigenspace(&dense, 3).unwrap(), basis(3)),
            (Threat::off_manifold(&dense, 2).unwrap(), complement(2)),
            (Threat::off_manifold(&spiked, 2).unwrap(), noise_projector),
            (Threat::ellipsoid(general.clone()).unwrap(), general),
        ];
        let mut rng = StdRng::seed_from_u64(17);
        for (threat, a) in &cases {
            let subspace = KinkSubspace::new(threat).unwrap();
            let pseudo_inverse = a.clone().pseudo_inverse(1e-12).unwrap();
            let mut states = (0, 0);
            for draw in 0..40 {
                let g = DVector::from_fn(d, |_, _| rng.random::<f64>() * 2.0 - 1.0);
                let tau = 10f64.powf(rng.random::<f64>() * 2.0 - 1.5);
                let (e, state) = subspace.minimal_subgradient(&g, tau).unwrap();
                match state {
                    KinkState::Stay => states.0 += 1,
                    _ => states.1 += 1,
                }
                let u = &pseudo_inverse * (&e - &g) / tau;
                let rebuilt = &g + a * &u * tau;
                assert!(
                    (rebuilt - &e).norm() <= 1e-12 * g.norm(),
                    "{threat}: e ∉ g + τ range(A)"
                );
                assert!(u.norm() <= 1.0 + 1e-10, "{threat}: ‖u‖ = {}", u.norm());
                let certificate = e.dot(&(&g - &e)) - tau * (a.transpose() * &e).norm();
                assert!(
                    certificate >= -1e-12 * g.norm_squared(),
                    "{threat}: {certificate}"
                );
                // Stay means e ⊥ range(A), i.e. Aᵀe = 0.
                if state == KinkState::Stay {
                    assert!((a.transpose() * &e).norm() <= 1e-12 * g.norm());
                }
                if a.ncols() == 2 && draw % 4 == 0 {
                    let mut best = f64::INFINITY;
                    for i in 0..=200 {
                        for j in 0..400 {
                            let r = i as f64 / 200.0;
                            let phi = j as f64 * std::f64::consts::TAU / 400.0;
                            let u = DVector::from_vec(vec![r * phi.cos(), r * phi.sin()]);
                            best = best.min((&g + a * u * tau).norm());
                        }
                    }
                    // The grid spacing (1/200 in radius, 2π/400 in angle)
                    // bounds its excess over the true minimum by ~τ‖A‖/60.
                    assert!(
                        e.norm() <= best + 1e-14,
                        "{threat}: {} vs grid {best}",
                        e.norm()
                    );
                    assert!(best - e.norm() <= 0.02 * tau * a.norm(), "{threat}");
                }
            }
            // The τ range covers both outcomes for every threat.
            assert!(states.0 > 0 && states.1 > 0, "{threat}: {states:?}");
        }
    }
}
