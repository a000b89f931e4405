//! The prepared ellipsoidal problem: the pencil `(M, Σ)` in its
//! generalized eigenbasis, the secular equation built from it, and the
//! weights, adversary and extended covariance at a multiplier.

use nalgebra::{DMatrix, DVector};

use super::{Perturbation, SecularEquation, ThreatError};
use crate::covariance::{Covariance, EigenCoordinates, Representation, symmetric_eigen_descending};
use crate::error::{Error, Result};
use crate::threat::{EllipsoidView, SpectralEllipsoid, SpectralFamily};
use crate::training::dual::rounding::{self, CovarianceError};

/// An ellipsoidal robust-training problem, prepared once per `(Σ, μ, M)`
/// and shared (through an `Arc`) by every optimum of a sweep.
#[derive(Debug)]
pub(crate) struct EllipsoidProblem {
    covariance: Covariance,
    equation: SecularEquation,
    geometry: Geometry,
}

#[derive(Debug)]
enum Geometry {
    /// `M = U diag(ω) Uᵀ` in the covariance's own eigenbasis.
    Shared {
        /// `μ` in the eigenbasis.
        mu: EigenCoordinates,
        /// `ω_b` per spectral block.
        weights: DVector<f64>,
    },
    /// The generalized eigenbasis of `(M, Σ)`, in whitened coordinates.
    Generalized {
        /// `V₊`: orthonormal `d × r`, the directions with `d_j > 0`.
        directions: DMatrix<f64>,
        /// `d_j > 0`, descending.
        pencil: DVector<f64>,
        /// `m₊ = V₊ᵀ Σ^{−1/2} μ`.
        mean: DVector<f64>,
        /// `(I − V₊V₊ᵀ) Σ^{−1/2} μ`: the part no budget can remove.
        null_part: DVector<f64>,
        /// `M` (or its factor), for the extended covariance.
        threat: ThreatMatrix,
    },
}

#[derive(Debug)]
enum ThreatMatrix {
    Factor(DMatrix<f64>),
    Dense(DMatrix<f64>),
}

impl ThreatMatrix {
    fn to_dense(&self) -> DMatrix<f64> {
        match self {
            ThreatMatrix::Factor(a) => a * a.transpose(),
            ThreatMatrix::Dense(m) => m.clone(),
        }
    }
}

/// The per-direction data of an [`ExtendedCovariance`](super::ExtendedCovariance):
/// variances before and after, their ratio, multiplicities, and whether the
/// directions are the covariance's own eigenbasis.
pub(crate) struct GrowthData {
    pub before: DVector<f64>,
    pub after: DVector<f64>,
    pub growth: DVector<f64>,
    pub multiplicities: Vec<usize>,
    pub shared: bool,
}

impl EllipsoidProblem {
    /// Prepares the pencil of `(M, Σ)` and the secular equation.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a model-based threat built from a different
    /// covariance than a non-dense model's; [`Error::Decomposition`].
    ///
    /// `mu_coordinates` are `μ`'s eigen-coordinates in `covariance`, which
    /// the model caches, so a sweep on a shared eigenbasis costs no pass over
    /// the basis at all.
    pub(crate) fn prepare(
        covariance: &Covariance,
        mu: &DVector<f64>,
        mu_coordinates: &EigenCoordinates,
        view: EllipsoidView<'_>,
    ) -> Result<EllipsoidProblem> {
        let blocks = covariance.eigenvalues().len();
        match view {
            EllipsoidView::Identity => Self::shared(
                covariance,
                mu_coordinates,
                DVector::from_element(blocks, 1.0),
                ThreatError::Exact,
                None,
            ),
            EllipsoidView::Spectral(threat) => {
                if shares_eigenbasis(covariance, &threat.covariance) {
                    let quadratic = matches!(
                        threat.family,
                        SpectralFamily::Generative | SpectralFamily::GenerativeRank(_)
                    );
                    let leaks = rounding::spectral_leaks(covariance, &threat.weights, quadratic);
                    Self::shared(
                        covariance,
                        mu_coordinates,
                        threat.weights.clone(),
                        ThreatError::Measured {
                            quadratic,
                            sensitivity: leaks.sensitivity,
                        },
                        Some(&leaks.per_block),
                    )
                } else if covariance.representation() == Representation::Dense {
                    let m = spectral_matrix(threat);
                    let sensitivity = rounding::weight_sensitivity(
                        threat.covariance.eigenvalues(),
                        &threat.weights,
                    );
                    // M from the threat's own decomposition: ‖M' − M‖ ≤ 2√ω_max L_√f e_Σ.
                    let own = CovarianceError::of(&threat.covariance);
                    let top = threat.weights.amax().max(f64::MIN_POSITIVE);
                    let extra = 2.0 * sensitivity * own.absolute() / top.sqrt();
                    Self::generalized(covariance, mu, ThreatMatrix::Dense(m), extra)
                } else {
                    Err(Error::Unsupported(
                        "a model-based threat built from a different covariance than the \
                         model's diagonal or spiked one has no shared eigenbasis; build it \
                         from the model's covariance or pass its factor to Threat::ellipsoid"
                            .into(),
                    ))
                }
            }
            EllipsoidView::Factor(a) => {
                Self::generalized(covariance, mu, ThreatMatrix::Factor(a.clone()), 0.0)
            }
        }
    }

    fn shared(
        covariance: &Covariance,
        mu_coordinates: &EigenCoordinates,
        weights: DVector<f64>,
        threat: ThreatError,
        leak: Option<&[f64]>,
    ) -> Result<EllipsoidProblem> {
        // The energies of μ/t for a power of two t near its largest
        // coordinate: exact, and free of overflow in the squares.
        let mut scaled = mu_coordinates.clone();
        let largest = scaled
            .explicit
            .amax()
            .max(scaled.residual.as_ref().map_or(0.0, |r| r.amax()));
        // (From the exponent of the largest coordinate itself: its square
        // overflows beyond 1e154 and underflows below 1e-154, and a scale
        // of 1 then left energies that over- or underflowed.)
        let t = if largest > 0.0 && largest.is_finite() {
            crate::linalg::ldexp(1.0, crate::linalg::exponent(largest))
        } else {
            1.0
        };
        scaled.explicit /= t;
        if let Some(r) = scaled.residual.as_mut() {
            *r /= t;
        }
        let energies = scaled.block_energies();
        let values = covariance.eigenvalues();
        let c: Vec<f64> = (0..values.len()).map(|b| energies[b] / values[b]).collect();
        let d: Vec<f64> = (0..values.len()).map(|b| weights[b] / values[b]).collect();
        let spread: Vec<f64> = values.iter().map(|l| values[0] / l).collect();
        let mut equation = SecularEquation::with_spread(&c, &d, Some(&spread), leak)?;
        equation.rescale_energy(t);
        equation.perturbation = Perturbation {
            covariance: Some(CovarianceError::of(covariance)),
            threat,
            uniform_spread: None,
        };
        Ok(EllipsoidProblem {
            covariance: covariance.clone(),
            equation,
            geometry: Geometry::Shared {
                mu: mu_coordinates.clone(),
                weights,
            },
        })
    }

    /// `extra` is a relative error of `M` itself (beyond the pencil's),
    /// for a matrix `M` that comes from another decomposition.
    fn generalized(
        covariance: &Covariance,
        mu: &DVector<f64>,
        threat: ThreatMatrix,
        extra: f64,
    ) -> Result<EllipsoidProblem> {
        let dim = covariance.dim();
        let whiten = |v: &DVector<f64>| covariance.map_spectrum_unchecked(v, |_, l| 1.0 / l.sqrt());
        let whitened_mu = whiten(mu);
        let (values, directions) = match &threat {
            ThreatMatrix::Factor(a) if a.ncols() <= dim => {
                let b = whiten_columns(a, &whiten);
                let (values, w) = symmetric_eigen_descending(&b.tr_mul(&b))?;
                let rank = numerical_rank(&values, dim.max(a.ncols()));
                let mut v = &b * w.columns(0, rank);
                for j in 0..rank {
                    let scale = 1.0 / values[j].sqrt();
                    v.column_mut(j).scale_mut(scale);
                }
                (values.rows(0, rank).into_owned(), v)
            }
            ThreatMatrix::Factor(a) => {
                let b = whiten_columns(a, &whiten);
                let c = &b * b.transpose();
                eigen_range(&((&c + c.transpose()) * 0.5), dim.max(a.ncols()))?
            }
            ThreatMatrix::Dense(m) => {
                // C = Σ^{−1/2} M Σ^{−1/2}, one side at a time.
                let half = whiten_columns(m, &whiten).transpose();
                let c = whiten_columns(&half, &whiten);
                eigen_range(&((&c + c.transpose()) * 0.5), dim)?
            }
        };
        let rank = values.len();
        let mean = directions.tr_mul(&whitened_mu);
        let null_part = if rank == dim {
            DVector::zeros(dim)
        } else {
            let mut rest = whitened_mu.clone();
            rest.gemv(-1.0, &directions, &mean, 1.0);
            rest
        };
        let mut c: Vec<f64> = mean.iter().map(|m| m * m).collect();
        let mut d: Vec<f64> = values.iter().copied().collect();
        c.push(null_part.norm_squared());
        d.push(0.0);
        let mut equation = SecularEquation::new(&c, &d)?;
        let cov_error = CovarianceError::of(covariance);
        let kappa = cov_error.lambda_max / cov_error.lambda_min;
        let size = match &threat {
            ThreatMatrix::Factor(a) => dim.max(a.ncols()),
            ThreatMatrix::Dense(_) => dim,
        } as f64;
        // The Gram matrix and its eigensolver: |σ'² − σ²| ≤ 8 size ε_mach ‖B‖²‖y‖²
        // (which also covers the eigenvalues cut as zero); the whitening
        // B = Σ^{−1/2}A errs by c_U √κ ‖B‖.
        equation.perturbation = Perturbation {
            covariance: Some(cov_error),
            threat: ThreatError::Pencil {
                gram: 8.0 * size * rounding::EPS + extra * kappa,
                whitening: cov_error.coordinates * kappa.sqrt(),
            },
            uniform_spread: Some(kappa),
        };
        Ok(EllipsoidProblem {
            covariance: covariance.clone(),
            equation,
            geometry: Geometry::Generalized {
                directions,
                pencil: values,
                mean,
                null_part,
                threat,
            },
        })
    }

    pub(crate) fn equation(&self) -> &SecularEquation {
        &self.equation
    }

    pub(crate) fn dim(&self) -> usize {
        self.covariance.dim()
    }

    /// `w*(λ) = 2(Σ + λM)⁻¹μ`, or `None` when it vanishes (`λ = ∞` and `M`
    /// covers the whole mean: `r* = 0`).
    pub(crate) fn weights(&self, lambda: f64) -> Option<DVector<f64>> {
        if lambda == f64::INFINITY && self.equation.null_energy == 0.0 {
            return None;
        }
        let w = match &self.geometry {
            Geometry::Shared { mu, weights } => {
                let values = self.covariance.eigenvalues();
                let factor = |b: usize| {
                    if lambda == f64::INFINITY {
                        if weights[b] > 0.0 {
                            0.0
                        } else {
                            2.0 / values[b]
                        }
                    } else {
                        2.0 / (values[b] + lambda * weights[b])
                    }
                };
                self.scaled_coordinates(mu, factor)
            }
            Geometry::Generalized {
                directions,
                pencil,
                mean,
                null_part,
                ..
            } => {
                let kept = DVector::from_fn(mean.len(), |j, _| mean[j] * shrink(lambda, pencil[j]));
                let mut y = null_part.clone();
                y.gemv(1.0, directions, &kept, 1.0);
                self.covariance
                    .map_spectrum_unchecked(&y, |_, l| 2.0 / l.sqrt())
            }
        };
        Some(w)
    }

    /// The adversary's optimal shift `z* = λMw*/2 = μ − Σw*/2 ∈ εK`.
    pub(crate) fn adversary(&self, lambda: f64) -> DVector<f64> {
        match &self.geometry {
            Geometry::Shared { mu, weights } => {
                let values = self.covariance.eigenvalues();
                let factor = |b: usize| {
                    if weights[b] == 0.0 {
                        0.0
                    } else if lambda == f64::INFINITY {
                        1.0
                    } else {
                        lambda * weights[b] / (values[b] + lambda * weights[b])
                    }
                };
                self.scaled_coordinates(mu, factor)
            }
            Geometry::Generalized {
                directions,
                pencil,
                mean,
                ..
            } => {
                let taken = DVector::from_fn(mean.len(), |j, _| {
                    let t = shrink(lambda, pencil[j]);
                    mean[j] * (1.0 - t)
                });
                let y = directions * taken;
                self.covariance.map_spectrum_unchecked(&y, |_, l| l.sqrt())
            }
        }
    }

    /// `Σ_b f(b) P_b μ`: the mean with each spectral block scaled.
    fn scaled_coordinates(&self, mu: &EigenCoordinates, f: impl Fn(usize) -> f64) -> DVector<f64> {
        let mut coords = mu.clone();
        let k = coords.explicit.len();
        for b in 0..k {
            coords.explicit[b] *= f(b);
        }
        if let Some(residual) = coords.residual.as_mut() {
            *residual *= f(k);
        }
        self.covariance.from_coordinates_unchecked(&coords)
    }

    /// Per-direction variances of `Σ` and `Σ + λM` (module docs of
    /// `training`, `ExtendedCovariance`).
    pub(crate) fn growth(&self, lambda: f64) -> GrowthData {
        let grow = |d: f64| {
            if d == 0.0 { 1.0 } else { 1.0 + lambda * d }
        };
        match &self.geometry {
            Geometry::Shared { weights, .. } => {
                let values = self.covariance.eigenvalues();
                let n = values.len();
                let growth = DVector::from_fn(n, |b, _| grow(weights[b] / values[b]));
                let after = DVector::from_fn(n, |b, _| {
                    if weights[b] == 0.0 {
                        values[b]
                    } else {
                        values[b] + lambda * weights[b]
                    }
                });
                GrowthData {
                    before: values.clone(),
                    after,
                    growth,
                    multiplicities: (0..n).map(|b| self.covariance.multiplicity(b)).collect(),
                    shared: true,
                }
            }
            Geometry::Generalized { pencil, .. } => {
                let rank = pencil.len();
                let dim = self.dim();
                let n = rank + usize::from(rank < dim);
                let growth =
                    DVector::from_fn(n, |j, _| if j < rank { grow(pencil[j]) } else { 1.0 });
                let mut multiplicities = vec![1; rank];
                if rank < dim {
                    multiplicities.push(dim - rank);
                }
                GrowthData {
                    before: DVector::from_element(n, 1.0),
                    after: growth.clone(),
                    growth,
                    multiplicities,
                    shared: false,
                }
            }
        }
    }

    /// `Σ + λM` as a [`Covariance`] (see `ExtendedCovariance::to_covariance`).
    pub(crate) fn extended_covariance(&self, lambda: f64) -> Result<Covariance> {
        if !lambda.is_finite() {
            return Err(Error::Unsupported(
                "past the budget limit λ = ∞: Σ + λM is not a covariance".into(),
            ));
        }
        let cov = &self.covariance;
        match &self.geometry {
            Geometry::Shared { weights, .. } => {
                let values = cov.eigenvalues();
                let after = |b: usize| values[b] + lambda * weights[b];
                match cov.representation() {
                    Representation::Diagonal => {
                        let ones = DVector::from_element(cov.dim(), 1.0);
                        Covariance::diagonal(cov.map_spectrum_unchecked(&ones, |b, _| after(b)))
                    }
                    Representation::Dense => {
                        let basis = cov.leading_basis(cov.dim())?;
                        let scaled =
                            DMatrix::from_fn(cov.dim(), cov.dim(), |i, j| basis[(i, j)] * after(j));
                        let sigma = scaled * basis.transpose();
                        Covariance::dense((&sigma + sigma.transpose()) * 0.5)
                    }
                    Representation::Spiked { rank } => {
                        let noise = after(rank);
                        let mut order: Vec<usize> = (0..rank).collect();
                        order.sort_by(|&a, &b| after(b).total_cmp(&after(a)));
                        if after(order[rank - 1]) <= noise {
                            return Err(Error::Unsupported(
                                "the extension raises the noise level of this spiked covariance \
                                 above a leading variance, so Σ + λM is not a spiked covariance"
                                    .into(),
                            ));
                        }
                        let basis = cov.leading_basis(rank)?;
                        let sorted = DMatrix::from_fn(cov.dim(), rank, |i, j| basis[(i, order[j])]);
                        let variances = DVector::from_fn(rank, |j, _| after(order[j]));
                        Covariance::spiked(sorted, variances, noise)
                    }
                }
            }
            Geometry::Generalized { threat, .. } => {
                if cov.representation() != Representation::Dense {
                    return Err(Error::Unsupported(
                        "Σ + λAAᵀ for a general factor is only formed for a dense model \
                         (it would need a d × d matrix)"
                            .into(),
                    ));
                }
                let sigma = cov.to_dense() + threat.to_dense() * lambda;
                Covariance::dense((&sigma + sigma.transpose()) * 0.5)
            }
        }
    }
}

/// `t = 1/(1 + λd)`, with `t = 0` at `λ = ∞`.
fn shrink(lambda: f64, d: f64) -> f64 {
    if lambda == f64::INFINITY {
        0.0
    } else {
        1.0 / (1.0 + lambda * d)
    }
}

fn whiten_columns(
    a: &DMatrix<f64>,
    whiten: &impl Fn(&DVector<f64>) -> DVector<f64>,
) -> DMatrix<f64> {
    let mut out = DMatrix::zeros(a.nrows(), a.ncols());
    for j in 0..a.ncols() {
        out.set_column(j, &whiten(&a.column(j).into_owned()));
    }
    out
}

/// Eigenvalues counted as non-zero: above `size · ε_mach · d_max`.
fn numerical_rank(values: &DVector<f64>, size: usize) -> usize {
    let top = values.iter().copied().fold(0.0, f64::max);
    if top <= 0.0 {
        return 0;
    }
    let tolerance = size as f64 * f64::EPSILON * top;
    values.iter().take_while(|&&v| v > tolerance).count()
}

/// The non-zero eigenpairs of a symmetric positive semi-definite matrix.
fn eigen_range(c: &DMatrix<f64>, size: usize) -> Result<(DVector<f64>, DMatrix<f64>)> {
    let (values, vectors) = symmetric_eigen_descending(c)?;
    let rank = numerical_rank(&values, size);
    Ok((
        values.rows(0, rank).into_owned(),
        vectors.columns(0, rank).into_owned(),
    ))
}

/// `M = Σ_b ω_b P_b` of a model-based threat as a dense matrix.
fn spectral_matrix(threat: &SpectralEllipsoid) -> DMatrix<f64> {
    let cov = &threat.covariance;
    let d = cov.dim();
    let mut m = DMatrix::zeros(d, d);
    let mut e = DVector::zeros(d);
    for j in 0..d {
        e[j] = 1.0;
        m.set_column(j, &cov.map_spectrum_unchecked(&e, |b, _| threat.weights[b]));
        e[j] = 0.0;
    }
    (&m + m.transpose()) * 0.5
}

/// True when two covariances have the same eigen-decomposition: the same
/// handle, or bit-identical representation, spectrum and eigenvectors.
fn shares_eigenbasis(a: &Covariance, b: &Covariance) -> bool {
    if a.same_as(b) {
        return true;
    }
    if a.dim() != b.dim()
        || a.representation() != b.representation()
        || a.eigenvalues() != b.eigenvalues()
    {
        return false;
    }
    match a.representation() {
        // The axis order: coordinates of (0, 1, …, d − 1) list the axes.
        Representation::Diagonal => {
            let probe = DVector::from_fn(a.dim(), |i, _| i as f64);
            a.coordinates_unchecked(&probe).explicit == b.coordinates_unchecked(&probe).explicit
        }
        _ => {
            let k = a.explicit_directions();
            matches!((a.leading_basis(k), b.leading_basis(k)), (Ok(x), Ok(y)) if x == y)
        }
    }
}
