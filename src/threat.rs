//! Threat models: a budget `ε` times a convex, symmetric body `K` ([THEORY §3](crate::theory#3-threat-models)).
//!
//! Everything the theory needs from `K` is its support function
//! `σ_K(w) = max_{v∈K} wᵀv` and a steepest direction
//! `v*(w) ∈ argmax_{v∈K} wᵀv`:
//!
//! | threat | body `K` | `σ_K(w)` | `v*(w)` |
//! |---|---|---|---|
//! | ℓp, `1 ≤ p ≤ ∞` | `‖v‖_p ≤ 1` | `‖w‖_q`, `1/p + 1/q = 1` | `sign(w_i) (abs(w_i)/‖w‖_q)^{q−1}` |
//! | ℓ2 | `‖v‖ ≤ 1` | `‖w‖` | `w/‖w‖` |
//! | ℓ∞ | `‖v‖_∞ ≤ 1` | `‖w‖₁` | `sign(w)` |
//! | ℓ1 | `‖v‖₁ ≤ 1` | `‖w‖_∞` | `sign(w_j) e_j`, `j = argmax abs(w_j)` |
//! | ellipsoid, factor `A` | `{Au : ‖u‖ ≤ 1}` | `‖Aᵀw‖ = ‖w‖_M` | `Mw/‖Aᵀw‖`, latent `Aᵀw/‖Aᵀw‖` |
//! | generative (full latent) | `A = UΛ^{1/2}` | `‖w‖_Σ` | `Σw/‖w‖_Σ` |
//! | generative rank `k` | `A = U_kΛ_k^{1/2}` | `‖Λ_k^{1/2}U_kᵀw‖` | `U_kΛ_kU_kᵀw/σ` |
//! | eigenspace `k` | `A = U_k` | `‖U_kᵀw‖` | `U_kU_kᵀw/σ` |
//! | off-manifold `k` | `A = U_{k+1..d}` | `‖(I − U_kU_kᵀ)w‖` | `(I − U_kU_kᵀ)w/σ` |
//! | union `(K_i, ε_i)` | `conv(∪ ε_i K_i)` | `max_i ε_i σ_{K_i}(w)` | `ε_i v*_i` of the maximizer |
//!
//! The model-based threats (generative, generative rank `k`, eigenspace,
//! off-manifold) are ellipsoids whose matrix `M = AAᵀ` shares the
//! covariance's eigenvectors: `M = U diag(m) Uᵀ` with per-direction weights
//! `m_i = λ_i`, `λ_i 1[i ≤ k]`, `1[i ≤ k]` and `1[i > k]`. They are one
//! implementation over the covariance's spectral blocks, so they work for
//! dense, diagonal and spiked covariances at the cost of one
//! eigen-coordinate transform.
//!
//! **Latent coordinates.** For an ellipsoid the latent step is
//! `u* = Aᵀw/‖Aᵀw‖`. For the model-based threats `A = U diag(√m)`
//! restricted to the directions with `m_i > 0`, so the latent vector lists
//! `√m_i ũ_i`-coordinates in descending variance; for a spiked covariance
//! whose noise block has `m > 0`, the factor is completed by
//! `√m (I − U_kU_kᵀ)` and the latent vector ends with that `d`-vector part.

use std::fmt;

use nalgebra::{DMatrix, DVector};

use crate::covariance::Covariance;
use crate::error::{Error, Result, ensure_dim, ensure_finite};

/// A support value below `SUPPORT_ZERO_TOLERANCE · ‖w‖ · radius(K)` is
/// rounding noise (e.g. `w` orthogonal to an eigenspace up to the accuracy
/// of the eigenvectors) and is treated as exactly zero.
pub const SUPPORT_ZERO_TOLERANCE: f64 = 1e-12;

/// A threat body `K` (the budget `ε` is passed separately).
///
/// # Example
/// ```
/// use manifold_robustness::Threat;
/// use manifold_robustness::nalgebra::DVector;
///
/// let w = DVector::from_vec(vec![3.0, -4.0]);
/// assert_eq!(Threat::l2().support(&w), 5.0);
/// assert_eq!(Threat::linf().support(&w), 7.0);
/// assert_eq!(Threat::l1().support(&w), 4.0);
/// assert_eq!(Threat::linf().steepest(&w).unwrap().as_slice(), &[1.0, -1.0]);
/// ```
#[derive(Debug, Clone)]
pub struct Threat {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// `‖v‖_p ≤ 1`, `p ∈ [1, ∞]`.
    Lp(f64),
    /// An ellipsoid whose matrix shares a covariance's eigenvectors.
    Spectral(SpectralEllipsoid),
    /// A general ellipsoid `{Au : ‖u‖ ≤ 1}`.
    Factor(DMatrix<f64>),
    /// `conv(∪ ε_i K_i)`.
    Union(Vec<(Threat, f64)>),
}

/// Which model-based ellipsoid a spectral threat is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum SpectralFamily {
    /// Generative attack in the full latent space, `M = Σ`.
    Generative,
    /// Generative attack in the leading `k` latent directions, `M = U_kΛ_kU_kᵀ`.
    GenerativeRank(usize),
    /// ℓ2 attack restricted to the top-`k` eigenspace, `M = U_kU_kᵀ`.
    Eigenspace(usize),
    /// ℓ2 attack restricted to the complement of the top-`k` eigenspace.
    OffManifold(usize),
}

/// An ellipsoid `M = U diag(m) Uᵀ` in the eigenbasis of a covariance.
#[derive(Debug, Clone)]
pub(crate) struct SpectralEllipsoid {
    pub(crate) covariance: Covariance,
    /// `m_b` per spectral block of the covariance.
    pub(crate) weights: DVector<f64>,
    pub(crate) family: SpectralFamily,
}

/// How an ellipsoidal threat is represented (for the training solvers).
pub(crate) enum EllipsoidView<'a> {
    /// `M = I` (regular ℓ2).
    Identity,
    /// `M = U diag(m) Uᵀ` in a covariance's eigenbasis.
    Spectral(&'a SpectralEllipsoid),
    /// `M = AAᵀ` for a general factor.
    Factor(&'a DMatrix<f64>),
}

impl Threat {
    /// Regular ℓ2 threat, `K = {‖v‖₂ ≤ 1}`.
    pub fn l2() -> Threat {
        Threat {
            kind: Kind::Lp(2.0),
        }
    }

    /// Regular ℓ∞ threat, `K = {‖v‖_∞ ≤ 1}`.
    pub fn linf() -> Threat {
        Threat {
            kind: Kind::Lp(f64::INFINITY),
        }
    }

    /// Regular ℓ1 threat, `K = {‖v‖₁ ≤ 1}`.
    pub fn l1() -> Threat {
        Threat {
            kind: Kind::Lp(1.0),
        }
    }

    /// Regular ℓp threat for `1 ≤ p ≤ ∞` (`f64::INFINITY` for ℓ∞).
    ///
    /// # Errors
    /// [`Error::InvalidNorm`] when `p < 1` or `p` is NaN.
    pub fn lp(p: f64) -> Result<Threat> {
        if p >= 1.0 {
            Ok(Threat { kind: Kind::Lp(p) })
        } else {
            Err(Error::InvalidNorm { p })
        }
    }

    /// Generative threat in the full latent space: `A = UΛ^{1/2}`, `M = Σ`.
    pub fn generative(cov: &Covariance) -> Threat {
        let weights = cov.eigenvalues().clone();
        Threat::spectral(cov, weights, SpectralFamily::Generative)
    }

    /// Generative threat in the leading `k` latent directions:
    /// `A = U_kΛ_k^{1/2}`. For a spiked covariance `k` may not exceed the
    /// number of explicit directions.
    ///
    /// # Errors
    /// [`Error::InvalidRank`] unless `1 ≤ k ≤ d` (`≤ k_spiked` for spiked),
    /// [`Error::AmbiguousEigenspace`] when `λ_k = λ_{k+1}`.
    pub fn generative_rank(cov: &Covariance, k: usize) -> Result<Threat> {
        let max = cov.explicit_directions();
        if k == 0 || k > max {
            return Err(Error::InvalidRank { k, max });
        }
        cov.check_eigenspace_cut(k)?;
        let values = cov.eigenvalues();
        let weights = DVector::from_fn(values.len(), |b, _| if b < k { values[b] } else { 0.0 });
        Ok(Threat::spectral(
            cov,
            weights,
            SpectralFamily::GenerativeRank(k),
        ))
    }

    /// ℓ2 threat restricted to the top-`k` eigenspace (on-manifold): `A = U_k`.
    ///
    /// # Errors
    /// [`Error::InvalidRank`] unless `1 ≤ k ≤ d` (`≤ k_spiked`, or `= d`,
    /// for spiked), [`Error::AmbiguousEigenspace`] when `λ_k = λ_{k+1}`.
    pub fn eigenspace(cov: &Covariance, k: usize) -> Result<Threat> {
        cov.check_eigenspace_cut(k)?;
        let explicit = cov.explicit_directions();
        let blocks = cov.eigenvalues().len();
        let weights = DVector::from_fn(blocks, |b, _| {
            if b < k.min(explicit) || k == cov.dim() {
                1.0
            } else {
                0.0
            }
        });
        Ok(Threat::spectral(
            cov,
            weights,
            SpectralFamily::Eigenspace(k),
        ))
    }

    /// ℓ2 threat restricted to the orthogonal complement of the top-`k`
    /// eigenspace (off-manifold): `A = U_{k+1..d}`.
    ///
    /// # Errors
    /// [`Error::InvalidRank`] unless `1 ≤ k ≤ d`,
    /// [`Error::AmbiguousEigenspace`] when `λ_k = λ_{k+1}`.
    pub fn off_manifold(cov: &Covariance, k: usize) -> Result<Threat> {
        cov.check_eigenspace_cut(k)?;
        let blocks = cov.eigenvalues().len();
        let weights = DVector::from_fn(
            blocks,
            |b, _| if b >= k && k < cov.dim() { 1.0 } else { 0.0 },
        );
        Ok(Threat::spectral(
            cov,
            weights,
            SpectralFamily::OffManifold(k),
        ))
    }

    fn spectral(cov: &Covariance, weights: DVector<f64>, family: SpectralFamily) -> Threat {
        Threat {
            kind: Kind::Spectral(SpectralEllipsoid {
                covariance: cov.clone(),
                weights,
                family,
            }),
        }
    }

    /// A general ellipsoid `K = {A u : ‖u‖ ≤ 1}` from a `d × m` factor
    /// (`M = AAᵀ`). The latent step lives in `ℝᵐ`.
    ///
    /// # Errors
    /// [`Error::Empty`] for a `0`-row or `0`-column factor, [`Error::NonFinite`].
    pub fn ellipsoid(factor: DMatrix<f64>) -> Result<Threat> {
        if factor.nrows() == 0 || factor.ncols() == 0 {
            return Err(Error::Empty { name: "factor" });
        }
        crate::error::ensure_finite_matrix("factor", &factor)?;
        Ok(Threat {
            kind: Kind::Factor(factor),
        })
    }

    /// The union `conv(∪ ε_i K_i)` of threats with relative budgets `ε_i`
    /// (the union at budget `ε` lets the adversary use `ε ε_i K_i`).
    ///
    /// Unions are flattened at construction: a part that is itself a union
    /// contributes its parts with the budgets multiplied, so
    /// [`union_parts`](Self::union_parts) never holds a union and building
    /// or evaluating a union costs time linear in its parts, however deep
    /// the caller nested it.
    ///
    /// # Errors
    /// [`Error::Empty`] for no parts, [`Error::InvalidBudget`] for a
    /// relative budget that is not finite and positive (also when the
    /// product of nested budgets over- or underflows),
    /// [`Error::DimensionMismatch`] for parts of different dimensions.
    pub fn union(parts: Vec<(Threat, f64)>) -> Result<Threat> {
        if parts.is_empty() {
            return Err(Error::Empty { name: "union" });
        }
        let mut dim: Option<usize> = None;
        let mut flat = Vec::with_capacity(parts.len());
        for (threat, budget) in parts {
            if !(budget.is_finite() && budget > 0.0) {
                return Err(Error::InvalidBudget { value: budget });
            }
            if let Some(part_dim) = threat.dim() {
                match dim {
                    Some(d) => ensure_dim("union part", d, part_dim)?,
                    None => dim = Some(part_dim),
                }
            }
            // conv(∪ εᵢ conv(∪ εᵢⱼ Kᵢⱼ)) = conv(∪ εᵢεᵢⱼ Kᵢⱼ): a union part is
            // replaced by its own (already flat) parts, so no union nests
            // and nothing recurses deeper than one level.
            match threat.kind {
                Kind::Union(inner) => {
                    for (part, inner_budget) in inner {
                        let product = budget * inner_budget;
                        if !(product.is_finite() && product > 0.0) {
                            return Err(Error::InvalidBudget { value: product });
                        }
                        flat.push((part, product));
                    }
                }
                kind => flat.push((Threat { kind }, budget)),
            }
        }
        Ok(Threat {
            kind: Kind::Union(flat),
        })
    }

    /// The dimension the threat is tied to, or `None` for ℓp threats (which
    /// apply in any dimension).
    pub fn dim(&self) -> Option<usize> {
        match &self.kind {
            Kind::Lp(_) => None,
            Kind::Spectral(s) => Some(s.covariance.dim()),
            Kind::Factor(a) => Some(a.nrows()),
            Kind::Union(parts) => parts.iter().find_map(|(t, _)| t.dim()),
        }
    }

    /// The exponent `p` of a regular ℓp threat.
    pub fn lp_exponent(&self) -> Option<f64> {
        match self.kind {
            Kind::Lp(p) => Some(p),
            _ => None,
        }
    }

    /// The model-based family, for generative / eigenspace / off-manifold threats.
    pub fn spectral_family(&self) -> Option<SpectralFamily> {
        match &self.kind {
            Kind::Spectral(s) => Some(s.family),
            _ => None,
        }
    }

    /// The covariance a model-based threat was built from.
    pub fn covariance(&self) -> Option<&Covariance> {
        match &self.kind {
            Kind::Spectral(s) => Some(&s.covariance),
            _ => None,
        }
    }

    /// The parts of a union with their relative budgets.
    pub fn union_parts(&self) -> Option<&[(Threat, f64)]> {
        match &self.kind {
            Kind::Union(parts) => Some(parts),
            _ => None,
        }
    }

    /// True for ellipsoidal bodies (ℓ2, the model-based threats, general
    /// factors): those have a latent step and a closed-form robust optimum.
    pub fn is_ellipsoid(&self) -> bool {
        self.ellipsoid_view().is_some()
    }

    pub(crate) fn ellipsoid_view(&self) -> Option<EllipsoidView<'_>> {
        match &self.kind {
            Kind::Lp(p) if *p == 2.0 => Some(EllipsoidView::Identity),
            Kind::Spectral(s) => Some(EllipsoidView::Spectral(s)),
            Kind::Factor(a) => Some(EllipsoidView::Factor(a)),
            _ => None,
        }
    }

    /// The factor `A` of a general ellipsoid (`None` for the other kinds).
    #[cfg(feature = "serde")]
    pub(crate) fn factor(&self) -> Option<&DMatrix<f64>> {
        match &self.kind {
            Kind::Factor(a) => Some(a),
            _ => None,
        }
    }

    /// Checks `w` against the threat's dimension and for finiteness.
    pub(crate) fn check_weights(&self, w: &DVector<f64>) -> Result<()> {
        if let Some(d) = self.dim() {
            ensure_dim("weights", d, w.len())?;
        }
        ensure_finite("weights", w.as_slice())
    }

    /// The support function `σ_K(w) = max_{v∈K} wᵀv`.
    ///
    /// Values below [`SUPPORT_ZERO_TOLERANCE`]` · ‖w‖ · radius(K)` are
    /// returned as exactly `0`.
    ///
    /// # Panics
    /// If `w` does not match the threat's dimension or is not finite;
    /// [`try_support`](Self::try_support) returns an error instead.
    pub fn support(&self, w: &DVector<f64>) -> f64 {
        self.try_support(w)
            .expect("invalid weights for this threat")
    }

    /// The support function `σ_K(w)`, checking the input.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`].
    pub fn try_support(&self, w: &DVector<f64>) -> Result<f64> {
        self.check_weights(w)?;
        Ok(self.support_unchecked(w))
    }

    /// `σ_K(w)`, computed as `2^k σ_K(w/2^k)` with `w/2^k` of size one
    /// (the support is positively homogeneous), so it overflows only when
    /// the value itself does.
    pub(crate) fn support_unchecked(&self, w: &DVector<f64>) -> f64 {
        match crate::linalg::normalize(w) {
            None => 0.0,
            Some((unit, k)) => crate::linalg::ldexp(self.unit_support(&unit), k),
        }
    }

    /// `σ_K(w)` for `w` normalized to `max |w_i| ∈ [1, 2)`.
    fn unit_support(&self, w: &DVector<f64>) -> f64 {
        match &self.kind {
            Kind::Lp(p) => dual_norm(w, *p),
            Kind::Spectral(s) => {
                let value = s
                    .covariance
                    .spectral_norm_unchecked(w, |b, _| s.weights[b].max(0.0));
                let radius = s.weights.max().max(0.0).sqrt();
                snap_to_zero(value, crate::linalg::norm(w.as_slice()) * radius)
            }
            Kind::Factor(a) => {
                // A may be huge or tiny: ‖Aᵀw‖ = 2^j ‖(A/2^j)ᵀw‖.
                let Some(j) = factor_exponent(a) else {
                    return 0.0;
                };
                let scaled = a.map(|x| crate::linalg::ldexp(x, -j));
                let value = crate::linalg::norm(scaled.tr_mul(w).as_slice());
                let radius = crate::linalg::norm(scaled.as_slice());
                crate::linalg::ldexp(
                    snap_to_zero(value, crate::linalg::norm(w.as_slice()) * radius),
                    j,
                )
            }
            Kind::Union(parts) => parts
                .iter()
                .map(|(t, budget)| budget * t.unit_support(w))
                .fold(0.0, f64::max),
        }
    }

    /// A steepest direction `v*(w) ∈ argmax_{v∈K} wᵀv` (so
    /// `wᵀv* = σ_K(w)`), or `None` when `σ_K(w) = 0`.
    ///
    /// # Panics
    /// If `w` does not match the threat's dimension or is not finite;
    /// [`try_steepest`](Self::try_steepest) returns an error instead.
    pub fn steepest(&self, w: &DVector<f64>) -> Option<DVector<f64>> {
        self.try_steepest(w)
            .expect("invalid weights for this threat")
    }

    /// A steepest direction `v*(w)`, checking the input.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`].
    pub fn try_steepest(&self, w: &DVector<f64>) -> Result<Option<DVector<f64>>> {
        self.check_weights(w)?;
        Ok(self.steepest_unchecked(w).map(|(v, _)| v))
    }

    /// The latent step `u* = Aᵀw/‖Aᵀw‖` of an ellipsoidal threat (see the
    /// module docs for the latent coordinates); `None` for non-ellipsoids
    /// and when `σ_K(w) = 0`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`].
    pub fn latent_steepest(&self, w: &DVector<f64>) -> Result<Option<DVector<f64>>> {
        self.check_weights(w)?;
        Ok(self.steepest_unchecked(w).and_then(|(_, latent)| latent))
    }

    /// `(v*(w), latent u*)`; `None` when the support is zero. Both are
    /// invariant to the scale of `w`, so they are computed from `w/2^k`
    /// with entries of size one.
    pub(crate) fn steepest_unchecked(
        &self,
        w: &DVector<f64>,
    ) -> Option<(DVector<f64>, Option<DVector<f64>>)> {
        let (unit, _) = crate::linalg::normalize(w)?;
        self.unit_steepest(&unit)
    }

    fn unit_steepest(&self, w: &DVector<f64>) -> Option<(DVector<f64>, Option<DVector<f64>>)> {
        let support = self.unit_support(w);
        if support == 0.0 {
            return None;
        }
        match &self.kind {
            Kind::Lp(p) => Some((lp_steepest(w, *p, support), None)),
            Kind::Spectral(s) => {
                let cov = &s.covariance;
                let coords = cov.coordinates_unchecked(w);
                let mut direction = coords.clone();
                let k = coords.explicit.len();
                let mut latent = Vec::new();
                for b in 0..k {
                    let m = s.weights[b];
                    direction.explicit[b] *= m / support;
                    if m > 0.0 {
                        latent.push(m.sqrt() * coords.explicit[b] / support);
                    }
                }
                if let (Some(residual), Some(r)) =
                    (direction.residual.as_mut(), coords.residual.as_ref())
                {
                    let m = s.weights[k];
                    *residual *= m / support;
                    if m > 0.0 {
                        latent.extend(r.iter().map(|x| m.sqrt() * x / support));
                    }
                }
                let v = cov.from_coordinates_unchecked(&direction);
                Some((v, Some(DVector::from_vec(latent))))
            }
            Kind::Factor(a) => {
                // u = Aᵀw/‖Aᵀw‖ does not depend on the scale of A; v = A u does.
                let j = factor_exponent(a)?;
                let scaled = a.map(|x| crate::linalg::ldexp(x, -j));
                let projected = scaled.tr_mul(w);
                let u = &projected / crate::linalg::norm(projected.as_slice());
                let v = (&scaled * &u).map(|x| crate::linalg::ldexp(x, j));
                Some((v, Some(u)))
            }
            Kind::Union(parts) => {
                let mut best: Option<(&Threat, f64, f64)> = None;
                for (threat, budget) in parts {
                    let value = budget * threat.unit_support(w);
                    if best.is_none_or(|(_, _, top)| value > top) {
                        best = Some((threat, *budget, value));
                    }
                }
                let (threat, budget, _) = best?;
                threat.unit_steepest(w).map(|(v, _)| (v * budget, None))
            }
        }
    }
}

/// The binary exponent of a factor's largest entry, `None` for `A = 0`.
fn factor_exponent(a: &DMatrix<f64>) -> Option<i32> {
    let largest = a.amax();
    (largest > 0.0).then(|| crate::linalg::exponent(largest))
}

fn snap_to_zero(value: f64, scale: f64) -> f64 {
    if value <= SUPPORT_ZERO_TOLERANCE * scale {
        0.0
    } else {
        value
    }
}

/// `‖w‖_q` with `1/p + 1/q = 1`, computed without overflow.
fn dual_norm(w: &DVector<f64>, p: f64) -> f64 {
    crate::linalg::lp_norm(w, crate::linalg::conjugate_exponent(p))
}

/// `v*(w)` of the ℓp ball, given `σ = ‖w‖_q > 0`.
fn lp_steepest(w: &DVector<f64>, p: f64, support: f64) -> DVector<f64> {
    if p == 1.0 {
        let j = w.iamax();
        let mut v = DVector::zeros(w.len());
        v[j] = w[j].signum();
        return v;
    }
    if p == f64::INFINITY {
        return w.map(|x| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        });
    }
    if p == 2.0 {
        return w / support;
    }
    // v_i = sign(w_i) r_i^{q−1} / S^{1/p} with r_i = abs(w_i)/max_j abs(w_j) and
    // S = Σ r_j^q, the same r and S as `dual_norm`. Dividing by the rounded
    // σ_K(w) instead and raising to q − 1 (huge for p near 1) amplified its
    // last-bit error by q − 1: at p = 1 + 1e-12 the step left the unit ball
    // by ~1e-4. For p ≥ ~1e16, q rounds to 1, so zero weights are mapped to
    // zero explicitly (0^0 = 1 would put them on the face).
    let q = p / (p - 1.0);
    let scale = w.amax();
    let sum: f64 = w.iter().map(|x| (x.abs() / scale).powf(q)).sum();
    let norm = sum.powf(1.0 / p);
    w.map(|x| {
        if x == 0.0 {
            0.0
        } else {
            x.signum() * (x.abs() / scale).powf(q - 1.0) / norm
        }
    })
}

/// Two threats are equal when they are the same body: the same ℓp
/// exponent, the same model-based family on equal covariances, the same
/// factor, or unions of equal parts with equal relative budgets.
impl PartialEq for Threat {
    fn eq(&self, other: &Threat) -> bool {
        match (&self.kind, &other.kind) {
            (Kind::Lp(a), Kind::Lp(b)) => a == b,
            (Kind::Spectral(a), Kind::Spectral(b)) => {
                a.family == b.family && a.covariance == b.covariance
            }
            (Kind::Factor(a), Kind::Factor(b)) => a == b,
            (Kind::Union(a), Kind::Union(b)) => a == b,
            _ => false,
        }
    }
}

/// The threat's name (`ℓ∞`, `eigenspace 3`, `union(0.5·ℓ∞, 1·ℓ2)`). The
/// formatter's width, fill and alignment apply to the whole name (left
/// aligned by default, as for strings: `{:>12}` right-aligns it); a
/// precision sets the significant digits of a non-integer exponent and of
/// a union's relative budgets (`{:.2}`), and truncates nothing.
impl fmt::Display for Threat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name(f);
        crate::display::padded(f, &name)
    }
}

impl Threat {
    /// The name, with the formatter's precision for its parameters.
    fn name(&self, f: &fmt::Formatter<'_>) -> String {
        use crate::display::parameter;
        match &self.kind {
            Kind::Lp(p) if *p == f64::INFINITY => "ℓ∞".to_string(),
            Kind::Lp(p) if *p == 2.0 => "ℓ2".to_string(),
            Kind::Lp(p) if *p == 1.0 => "ℓ1".to_string(),
            Kind::Lp(p) => format!("ℓ{}", parameter(f, *p)),
            Kind::Spectral(s) => match s.family {
                SpectralFamily::Generative => "generative".to_string(),
                SpectralFamily::GenerativeRank(k) => format!("generative rank {k}"),
                SpectralFamily::Eigenspace(k) => format!("eigenspace {k}"),
                SpectralFamily::OffManifold(k) => format!("off-manifold {k}"),
            },
            Kind::Factor(a) => format!("ellipsoid ({}×{} factor)", a.nrows(), a.ncols()),
            Kind::Union(parts) => {
                let parts: Vec<String> = parts
                    .iter()
                    .map(|(t, b)| format!("{}·{}", parameter(f, *b), t.name(f)))
                    .collect();
                format!("union({})", parts.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vec(v: &[f64]) -> DVector<f64> {
        DVector::from_vec(v.to_vec())
    }

    #[test]
    fn lp_norms_by_hand() {
        let w = vec(&[3.0, -4.0, 0.0]);
        let l3 = Threat::lp(3.0).unwrap();
        // q = 3/2: (3^{1.5} + 4^{1.5})^{2/3}
        let expected = (3f64.powf(1.5) + 8.0).powf(2.0 / 3.0);
        assert!((l3.support(&w) - expected).abs() < 1e-14 * expected);
        let v = l3.steepest(&w).unwrap();
        assert!((w.dot(&v) - expected).abs() < 1e-13 * expected);
        let p_norm = v.iter().map(|x| x.abs().powi(3)).sum::<f64>().cbrt();
        assert!((p_norm - 1.0).abs() < 1e-14);
        assert_eq!(
            Threat::l1().steepest(&w).unwrap().as_slice(),
            &[0.0, -1.0, 0.0]
        );
    }

    #[test]
    fn lp_rejects_p_below_one() {
        assert!(matches!(Threat::lp(0.5), Err(Error::InvalidNorm { .. })));
        assert!(matches!(
            Threat::lp(f64::NAN),
            Err(Error::InvalidNorm { .. })
        ));
    }

    #[test]
    fn spectral_threats_on_a_diagonal_covariance() {
        let cov = Covariance::diagonal(vec(&[1.0, 4.0, 9.0])).unwrap();
        let w = vec(&[1.0, 1.0, 1.0]);
        // Generative: ‖w‖_Σ = √14.
        let g = Threat::generative(&cov);
        assert!((g.support(&w) - 14f64.sqrt()).abs() < 1e-15);
        let latent = g.latent_steepest(&w).unwrap().unwrap();
        assert!((latent.norm() - 1.0).abs() < 1e-15);
        // Rank 1: only the variance-9 axis.
        let g1 = Threat::generative_rank(&cov, 1).unwrap();
        assert_eq!(g1.support(&w), 3.0);
        assert_eq!(g1.steepest(&w).unwrap().as_slice(), &[0.0, 0.0, 3.0]);
        let e2 = Threat::eigenspace(&cov, 2).unwrap();
        assert!((e2.support(&w) - 2f64.sqrt()).abs() < 1e-15);
        let off = Threat::off_manifold(&cov, 2).unwrap();
        assert_eq!(off.support(&w), 1.0);
        assert_eq!(off.steepest(&w).unwrap().as_slice(), &[1.0, 0.0, 0.0]);
        let orthogonal = vec(&[0.0, 0.0, 1.0]);
        assert!(off.steepest(&orthogonal).is_none());
    }

    #[test]
    fn lp_steepest_stays_feasible_near_p_one() {
        // Ties at the maximum: the exact step is 2^{−1/p} on both entries.
        let w = vec(&[1.0, -1.0, 0.25]);
        for p in [1.0 + 1e-12, 1.0 + 1e-9, 1.000_001] {
            let threat = Threat::lp(p).unwrap();
            let v = threat.steepest(&w).unwrap();
            let p_norm = v.iter().map(|x| x.abs().powf(p)).sum::<f64>().powf(1.0 / p);
            assert!((p_norm - 1.0).abs() < 1e-14, "p = {p}: ‖v*‖_p = {p_norm}");
            let support = threat.support(&w);
            assert!((w.dot(&v) - support).abs() < 1e-14 * support);
        }
        // q rounds to 1 for huge p: zero weights must still get a zero step.
        let v = Threat::lp(1e300)
            .unwrap()
            .steepest(&vec(&[2.0, 0.0]))
            .unwrap();
        assert_eq!(v.as_slice(), &[1.0, 0.0]);
    }

    #[test]
    fn spiked_off_manifold_support_of_on_manifold_weights_is_zero() {
        // Regression: the noise-block energy was ‖w‖² − ‖Uᵀw‖², whose
        // cancellation left a spurious off-manifold support ~1e-8‖w‖ for
        // weights on span(U_k), above the zero-snapping threshold.
        let d = 6;
        let mut spurious = 0;
        for seed in 0..200u64 {
            let q = crate::default_model::seeded_rotation(d, seed);
            let basis = q.columns(0, 2).into_owned();
            let cov = Covariance::spiked(basis.clone(), vec(&[5.0, 2.0]), 0.5).unwrap();
            let w = &basis * vec(&[1.3 + seed as f64 * 0.01, -0.7]);
            let off = Threat::off_manifold(&cov, 2).unwrap();
            if off.support(&w) != 0.0 || off.steepest(&w).is_some() {
                spurious += 1;
            }
        }
        assert_eq!(spurious, 0);
    }

    #[test]
    fn union_takes_the_largest_scaled_support() {
        let u = Threat::union(vec![(Threat::l2(), 1.0), (Threat::linf(), 0.1)]).unwrap();
        let w = vec(&[1.0, 1.0, 1.0, 1.0]);
        assert_eq!(u.support(&w), 2.0);
        let w = vec(&[1.0; 900]);
        assert_eq!(u.support(&w), 90.0);
        assert!(matches!(Threat::union(vec![]), Err(Error::Empty { .. })));
        assert!(matches!(
            Threat::union(vec![(Threat::l2(), -1.0)]),
            Err(Error::InvalidBudget { .. })
        ));
    }
}
