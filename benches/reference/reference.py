#!/usr/bin/env python3
"""numpy/scipy reference side of the `perf` benchmark.

Each job below is the computation a researcher would otherwise write with
numpy and scipy, written the way a competent one would: vectorized numpy,
`numpy.linalg.eigh` for the spectrum, `scipy.optimize.brentq` for secular
equations, `scipy.optimize.minimize(method="L-BFGS-B")` for the ℓ∞ dual and
`scipy.special.ndtr` for Φ. The crate's criterion bench `benches/perf.rs`
(group "perf") runs the same jobs under the same names; `compare.py` puts the
two side by side.

Usage (from the repository root; `bash benches/compare.sh` runs both sides):

    pip install -r benches/reference/requirements.txt
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python3 benches/reference/reference.py --out target/perf-reference.json

Options: `--jobs a,b` (names or fnmatch patterns such as `sweep_*`),
`--quick` (fewer repeats), `--repeats N` (exactly N timed runs, no warm-up),
`--meta PATH` (versions, BLAS kernel, per-job statistics, checks and the
1-minute load average), `--trace-memory` (record in the meta file the peak
memory each job allocates while it runs, by tracemalloc, which sees numpy's
arrays), `--list` (print the job names).

Timing: inputs are generated first (not timed); then one warm-up run, then
repeated runs with the garbage collector paused (as `timeit` does) until
about 3 s have been spent (at least 5 and at most 200 runs; `--quick`:
about 1 s, 3 to 20 runs). The output file maps each job to its median
wall time in seconds. After timing, each job's result is checked once (a
secular-equation residual, a certified duality gap, a Monte Carlo z-score)
so the numbers describe a correct computation.

The models (the crate's bench builds the same sizes and spectra from its own
seeded generators; the data need not be bit-identical):

* Dense power-law model (`power_law_model`, as the crate's
  `power_law_model(d, 1.5, 0.01, seed)`): `λ_i = i^-1.5`, a Haar-random
  rotation `Q` (QR of a Gaussian matrix, signs fixed), `Σ = Q diag(λ) Qᵀ`,
  symmetric means `±μ` with `μ̃ = Qᵀμ` equal in every eigen-direction and
  scaled so the Bayes error `Φ(−‖μ‖_{Σ⁻¹})` is 1%.
* Spiked model (`spiked_model`): `Σ = U diag(λ) Uᵀ + σ²(I − UUᵀ)` with
  `λ_i = i^-1.5` for `i = 1..k`, noise `σ² = (k+1)^-1.5` (the power law's
  next value), `U` the Q factor of a Gaussian `d×k` matrix, `μ` a standard
  Gaussian vector scaled so the Bayes error is 1%.

The jobs (the timed part; THEORY.md gives the formulas):

* `cov_dense_<d>`: finiteness and symmetry checks, `eigh`, positivity of
  the smallest eigenvalue, spectrum sorted descending.
* `matvec_100000x784`: `X @ w`, the baseline for the batch attacks.
* `attack_{l2,linf,generative}_784`: margins `m = y(Xw + b)`, budgets
  `t = m/σ_K(w)` (0 where `m ≤ 0`) and the shared direction `v*(w)`, for
  100,000 points of the dense model at d = 784 and its Bayes classifier
  (generative: `Σ = UΛUᵀ` precomputed, `σ = ‖Λ^{1/2}Uᵀw‖`, `v* = U Λ Uᵀw/σ`).
* `sweep_l2_1024`, `sweep_generative_1024`: given the eigendecomposition,
  1,000 budgets evenly spaced in (0, ε_max), each solved by `brentq` on the
  secular equation, then `r*` and `Φ(−r*)`. Both use one generic solver of
  `g(λ)² = Σ_j d_j m_j² λ²/(1 + λ d_j)²` (THEORY §7): for ℓ2
  `d_j = 1/λ_j`, for the generative threat `d_j = 1`. The generative
  equation has the closed form `λ = ε/(a − ε)`; the job still uses brentq,
  as the issue asks, and the reference-only job
  `sweep_generative_closed_form_1024` times the closed form for context.
* `sweep_linf_256`: the ℓ∞ dual `min (μ−z)ᵀΣ⁻¹(μ−z)` over `|z_i| ≤ ε` by
  L-BFGS-B with the analytic gradient (Σ⁻¹ applied through the
  eigendecomposition; start at `clip(μ, −ε, ε)`, `ftol = 0`,
  `gtol = 1e-12`), for 20 budgets in (0, ‖μ‖_∞); `r*`, `Φ(−r*)` and the
  certified duality gap of P4. L-BFGS-B reaches a gap of about 1e-5·r* at
  best here; the check reports it.
* `spiked_pipeline_<d>_32` (d = 1e4, 1e5, 1e6): validate `U` (finiteness,
  `max|UᵀU − I| ≤ 1e-10`) and the variances (finite, descending, above
  the noise), Bayes classifier `w = Σ⁻¹(2μ)` by the spiked formula, Bayes
  error, a 32-point ℓ2 batch attack, 100-budget ℓ2 and generative sweeps
  on the (k+1)-block secular equation.
* `monte_carlo_1000000_64`: draw 1,000,000 labeled points of the dense
  model at d = 64, margins of its Bayes classifier, and the fraction with
  `m ≤ ε‖w‖` at `ε = ‖μ‖/10` (ℓ2); compared with the closed form.
* `dense_pipeline_<d>` (d = 128, 256, … , 4096): validate + `eigh`, Bayes
  classifier and error, 100-budget ℓ2 sweep.
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import json
import math
import os
import platform
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy
import scipy.linalg
from scipy.optimize import brentq, minimize
from scipy.special import ndtr, ndtri
from threadpoolctl import threadpool_info

SEED = 20210601
BAYES_ERROR = 0.01
DECAY = 1.5

# brentq stops when the bracket is below xtol + rtol·|λ|. rtol = 4·eps is the
# smallest scipy accepts and xtol is negligible, so λ is found to about
# machine precision relative to itself. Since 0 < λ g'(λ)/g(λ) ≤ 1, that is
# also the relative accuracy of g(λ): the crate's contract (THEORY §11,
# 1e-13 relative in g), so both sides deliver the same accuracy.
BRENT_RTOL = 4.0 * np.finfo(float).eps
BRENT_XTOL = 1e-300

# Tolerance of the orthonormality check of the spiked basis, max|UᵀU − I|.
ORTHONORMAL_TOL = 1e-10


# --------------------------------------------------------------------------
# Models (generated once per job, never timed)
# --------------------------------------------------------------------------


def haar_rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-random orthogonal matrix: Q of a Gaussian matrix, signs of R moved into Q."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def power_law_model(d: int, seed: int):
    """Dense symmetric model: returns (Σ, μ, Q, λ) with λ descending."""
    rng = np.random.default_rng(seed)
    lam = np.arange(1, d + 1, dtype=float) ** -DECAY
    q = haar_rotation(d, rng)
    sigma = (q * lam) @ q.T
    sigma = 0.5 * (sigma + sigma.T)
    # ‖μ‖²_{Σ⁻¹} = c² Σ 1/λ_i must equal Φ⁻¹(err)².
    c = -ndtri(BAYES_ERROR) / math.sqrt(np.sum(1.0 / lam))
    mu = q @ np.full(d, c)
    return sigma, mu, q, lam


def spiked_model(d: int, k: int, seed: int):
    """Spiked model: returns (U, λ, σ², μ) with U d×k orthonormal."""
    rng = np.random.default_rng(seed)
    # QR in place (a Fortran-ordered Gaussian d×k matrix, overwritten by Q)
    # keeps the set-up's memory at one d×k matrix, as the pipeline's inputs.
    gaussian = rng.standard_normal((k, d)).T
    basis = scipy.linalg.qr(gaussian, mode="economic", overwrite_a=True, check_finite=False)[0]
    lam = np.arange(1, k + 1, dtype=float) ** -DECAY
    noise = float(k + 1) ** -DECAY
    mu = rng.standard_normal(d)
    mu_t = basis.T @ mu
    off = mu - basis @ mu_t
    norm_inv = math.sqrt(np.sum(mu_t**2 / lam) + off @ off / noise)
    mu *= -ndtri(BAYES_ERROR) / norm_inv
    return basis, lam, noise, mu


def sample_dense(mu, q, lam, n, rng):
    """n labeled points x = yμ + Q Λ^{1/2} z of the symmetric dense model."""
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    factor = q * np.sqrt(lam)  # A = Q Λ^{1/2}, x = yμ + A z
    x = rng.standard_normal((n, len(mu))) @ factor.T
    x += y[:, None] * mu
    return x, y


def sample_spiked(basis, lam, noise, mu, n, rng):
    """n labeled points of the spiked model, rows of an n×d matrix.

    x = yμ + U Λ^{1/2} z + σ (I − UUᵀ) g, built row by row so the set-up
    needs no n×d temporaries.
    """
    d, k = basis.shape
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    x = np.empty((n, d))
    for i in range(n):
        g = rng.standard_normal(d)
        g -= basis @ (basis.T @ g)  # off-manifold part, variance σ²
        g *= math.sqrt(noise)
        g += basis @ (np.sqrt(lam) * rng.standard_normal(k))
        g += y[i] * mu
        x[i] = g
    return x, y


# --------------------------------------------------------------------------
# The computations a researcher would write
# --------------------------------------------------------------------------


def validated_eigh(sigma: np.ndarray):
    """Check a dense covariance and return its spectrum, descending."""
    if not np.all(np.isfinite(sigma)):
        raise ValueError("covariance has non-finite entries")
    scale = np.max(np.abs(sigma))
    if np.max(np.abs(sigma - sigma.T)) > 1e-12 * scale:
        raise ValueError("covariance is not symmetric")
    lam, u = np.linalg.eigh(sigma)
    if lam[0] <= 0.0:
        raise ValueError("covariance is not positive definite")
    # A contiguous copy: matmul with a reversed (negative-stride) view of U
    # bypasses BLAS and runs about 40 times slower.
    return lam[::-1].copy(), np.ascontiguousarray(u[:, ::-1])


def secular_sweep(d_j, m2, budgets):
    """Robust optimum of an ellipsoidal threat for each budget (THEORY §7).

    `d_j` are the generalized eigenvalues of Σ^{-1/2} M Σ^{-1/2} (all > 0
    here) and `m2 = m_j²`. Solves g(λ) = ε with
    g(λ)² = Σ_j d_j m_j² λ²/(1 + λ d_j)², then r*² = Σ_j m_j²/(1 + λ d_j)².
    Returns (λ, r*, Φ(−r*)) as arrays.
    """
    dm2 = d_j * m2

    def excess(lam, eps):
        return lam * math.sqrt(np.sum(dm2 / (1.0 + lam * d_j) ** 2)) - eps

    lams = np.empty(len(budgets))
    for i, eps in enumerate(budgets):
        hi = 1.0
        while excess(hi, eps) <= 0.0:
            hi *= 2.0
        lams[i] = brentq(excess, 0.0, hi, args=(eps,), xtol=BRENT_XTOL, rtol=BRENT_RTOL)
    r = np.array([math.sqrt(np.sum(m2 / (1.0 + lam * d_j) ** 2)) for lam in lams])
    return lams, r, ndtr(-r)


def l2_sweep(lam, energies, budgets):
    """ℓ2 threat (M = I): d_j = 1/λ_j, m_j² = μ̃_j²/λ_j."""
    return secular_sweep(1.0 / lam, energies / lam, budgets)


def generative_sweep(lam, energies, budgets):
    """Full-latent generative threat (M = Σ): d_j = 1, m_j² = μ̃_j²/λ_j."""
    return secular_sweep(np.ones_like(lam), energies / lam, budgets)


def interior_budgets(limit: float, count: int) -> np.ndarray:
    """`count` budgets evenly spaced in (0, limit), endpoints excluded."""
    return np.linspace(0.0, limit, count + 2)[1:-1]


def batch_attack(x, y, w, b, support, direction):
    """Minimal flipping budgets t = m/σ_K(w) (0 if misclassified) and v*(w)."""
    margins = y * (x @ w + b)
    budgets = np.where(margins > 0.0, margins / support, 0.0)
    return budgets, direction


def linf_dual(mu, u, lam, eps):
    """min_{|z_i| ≤ ε} (μ−z)ᵀΣ⁻¹(μ−z) by L-BFGS-B; returns (r*, Φ(−r*), gap).

    ftol = 0 lets L-BFGS-B run until it can make no more progress in double
    precision (its line search then stops it); with ftol = 1e-12 it stops
    early on this ill-conditioned problem (cond Σ = d^1.5) with a duality gap
    of up to 12% of r*, which would not be the same job as the crate's
    certified solve.
    """

    def objective(z):
        resid = mu - z
        solved = u @ ((u.T @ resid) / lam)  # Σ⁻¹(μ − z) through the eigenbasis
        return resid @ solved, -2.0 * solved

    res = minimize(
        objective,
        np.clip(mu, -eps, eps),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-eps, eps)] * len(mu),
        options={"ftol": 0.0, "gtol": 1e-12, "maxiter": 100_000, "maxfun": 100_000},
    )
    distance = math.sqrt(max(res.fun, 0.0))
    # Certificate (THEORY P4): w = 2Σ⁻¹(μ − z*) gives the lower bound
    # ρ(w) = (wᵀμ − ε‖w‖₁)/‖w‖_Σ ≤ r*.
    w = 2.0 * (u @ ((u.T @ (mu - res.x)) / lam))
    w_sigma = math.sqrt(np.sum(lam * (u.T @ w) ** 2))
    rho = (w @ mu - eps * np.sum(np.abs(w))) / w_sigma
    return distance, ndtr(-distance), distance - rho


def spiked_pipeline(basis, lam, noise, mu, x, y, n_budgets=100):
    """Validate, Bayes classifier and error, batch ℓ2 attack, two sweeps."""
    d, k = basis.shape
    if not (np.all(np.isfinite(basis)) and np.all(np.isfinite(lam)) and math.isfinite(noise)):
        raise ValueError("spiked covariance has non-finite entries")
    gram_error = np.max(np.abs(basis.T @ basis - np.eye(k)))
    if gram_error > ORTHONORMAL_TOL:
        raise ValueError(f"basis is not orthonormal (max|UᵀU − I| = {gram_error:.2e})")
    if np.any(np.diff(lam) > 0.0) or lam[-1] <= noise or noise <= 0.0:
        raise ValueError("variances must be descending and above the noise level")

    # Block spectrum: the k spikes, then the noise block with the energy of
    # the off-manifold part ‖(I − UUᵀ)μ‖².
    mu_t = basis.T @ mu
    off = mu - basis @ mu_t
    block_lam = np.append(lam, noise)
    energies = np.append(mu_t**2, off @ off)

    # Bayes classifier w = Σ⁻¹(2μ) = U(Λ⁻¹ − σ⁻²)Uᵀ(2μ) + σ⁻²(2μ).
    w = basis @ ((1.0 / lam - 1.0 / noise) * (2.0 * mu_t)) + (2.0 / noise) * mu
    bayes_error = ndtr(-math.sqrt(np.sum(energies / block_lam)))

    w_norm = math.sqrt(w @ w)
    budgets, direction = batch_attack(x, y, w, 0.0, w_norm, w / w_norm)

    l2 = l2_sweep(block_lam, energies, interior_budgets(math.sqrt(mu @ mu), n_budgets))
    limit_gen = math.sqrt(np.sum(energies / block_lam))
    gen = generative_sweep(block_lam, energies, interior_budgets(limit_gen, n_budgets))
    return bayes_error, budgets, direction, l2, gen


def dense_pipeline(sigma, mu, n_budgets=100):
    """Validate + eigh, Bayes classifier and error, ℓ2 sweep."""
    lam, u = validated_eigh(sigma)
    mu_t = u.T @ mu
    w = u @ (2.0 * mu_t / lam)
    bayes_error = ndtr(-math.sqrt(np.sum(mu_t**2 / lam)))
    sweep = l2_sweep(lam, mu_t**2, interior_budgets(math.sqrt(mu @ mu), n_budgets))
    return w, bayes_error, sweep


# --------------------------------------------------------------------------
# Checks run once after timing (never timed)
# --------------------------------------------------------------------------


def secular_residual(d_j, m2, budgets, lams):
    """Largest relative error |g(λ) − ε|/ε over a sweep."""
    g = np.array(
        [lam * math.sqrt(np.sum(d_j * m2 / (1.0 + lam * d_j) ** 2)) for lam in lams]
    )
    return float(np.max(np.abs(g - budgets) / budgets))


# --------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------


@dataclass
class Job:
    """A timed computation and a check of its result."""

    run: Callable[[], object]
    check: Callable[[object], dict] = field(default=lambda _: {})


def job_cov_dense(d):
    def setup():
        sigma, _, _, lam_true = power_law_model(d, SEED + d)

        def check(out):
            lam, u = out
            sample = u[:, :: max(1, d // 64)]
            return {
                "max_eigenvalue_error": float(np.max(np.abs(lam - lam_true))),
                "max_orthogonality_error_sampled": float(
                    np.max(np.abs(sample.T @ sample - np.eye(sample.shape[1])))
                ),
            }

        return Job(lambda: validated_eigh(sigma), check)

    return setup


_ATTACK_DATA = {}


def attack_data():
    """100,000 points of the d = 784 dense model, its Bayes classifier and Σ's eigenpairs."""
    if not _ATTACK_DATA:
        d, n = 784, 100_000
        _, mu, q, lam = power_law_model(d, SEED + d)
        x, y = sample_dense(mu, q, lam, n, np.random.default_rng(SEED + 1))
        w = q @ (2.0 * (q.T @ mu) / lam)
        _ATTACK_DATA.update(x=x, y=y, w=w, b=0.0, q=q, lam=lam)
    return _ATTACK_DATA


def job_matvec():
    data = attack_data()
    x, w = data["x"], data["w"]
    return Job(lambda: x @ w)


def job_attack(kind):
    def setup():
        data = attack_data()
        x, y, w, b, q, lam = (data[key] for key in ("x", "y", "w", "b", "q", "lam"))

        if kind == "l2":

            def run():
                support = math.sqrt(w @ w)
                return batch_attack(x, y, w, b, support, w / support)

        elif kind == "linf":

            def run():
                return batch_attack(x, y, w, b, np.sum(np.abs(w)), np.sign(w))

        else:

            def run():
                w_t = q.T @ w
                support = math.sqrt(np.sum(lam * w_t**2))
                return batch_attack(x, y, w, b, support, q @ (lam * w_t) / support)

        def check(out):
            budgets, direction = out
            flipped = x + (-(y * budgets))[:, None] * direction
            residual = np.abs(flipped @ w + b)[budgets > 0]
            return {
                "misclassified": int(np.sum(budgets == 0.0)),
                "max_score_after_flip": float(np.max(residual)),
            }

        return Job(run, check)

    return setup


def job_sweep_ellipsoid(kind, d=1024, count=1000):
    def setup():
        sigma, mu, _, _ = power_law_model(d, SEED + d)
        lam, u = validated_eigh(sigma)

        if kind == "l2":
            limit = math.sqrt(mu @ mu)

            def run():
                mu_t = u.T @ mu
                budgets = interior_budgets(limit, count)
                return budgets, mu_t, l2_sweep(lam, mu_t**2, budgets)

            d_of = lambda lam_: 1.0 / lam_  # noqa: E731

        elif kind == "generative":

            def run():
                mu_t = u.T @ mu
                budgets = interior_budgets(math.sqrt(np.sum(mu_t**2 / lam)), count)
                return budgets, mu_t, generative_sweep(lam, mu_t**2, budgets)

            d_of = np.ones_like

        else:  # the closed form λ = ε/(a − ε), r* = a − ε, for context

            def run():
                mu_t = u.T @ mu
                a = math.sqrt(np.sum(mu_t**2 / lam))
                budgets = interior_budgets(a, count)
                r = a - budgets
                return budgets, mu_t, (budgets / r, r, ndtr(-r))

            d_of = np.ones_like

        def check(out):
            budgets, mu_t, (lams, r, err) = out
            return {
                "max_rel_secular_residual": secular_residual(
                    d_of(lam), mu_t**2 / lam, budgets, lams
                ),
                "robust_error_range": [float(err[0]), float(err[-1])],
            }

        return Job(run, check)

    return setup


def job_sweep_linf(d=256, count=20):
    def setup():
        sigma, mu, _, _ = power_law_model(d, SEED + d)
        lam, u = validated_eigh(sigma)
        budgets = interior_budgets(np.max(np.abs(mu)), count)

        def run():
            return np.array([linf_dual(mu, u, lam, eps) for eps in budgets])

        def check(out):
            return {
                "max_relative_gap": float(np.max(out[:, 2] / out[:, 0])),
                "min_relative_gap": float(np.min(out[:, 2] / out[:, 0])),
                "robust_error_range": [float(out[0, 1]), float(out[-1, 1])],
            }

        return Job(run, check)

    return setup


def job_spiked(d, k=32, n_points=32):
    def setup():
        basis, lam, noise, mu = spiked_model(d, k, SEED + d + k)
        x, y = sample_spiked(basis, lam, noise, mu, n_points, np.random.default_rng(SEED + 2))

        def check(out):
            bayes_error, budgets, _, l2, gen = out
            block_lam = np.append(lam, noise)
            mu_t = basis.T @ mu
            off = mu - basis @ mu_t
            energies = np.append(mu_t**2, off @ off)
            l2_budgets = interior_budgets(math.sqrt(mu @ mu), len(l2[0]))
            gen_budgets = interior_budgets(math.sqrt(np.sum(energies / block_lam)), len(gen[0]))
            return {
                "bayes_error": float(bayes_error),
                "misclassified_of_32": int(np.sum(budgets == 0.0)),
                "max_rel_secular_residual_l2": secular_residual(
                    1.0 / block_lam, energies / block_lam, l2_budgets, l2[0]
                ),
                "max_rel_secular_residual_generative": secular_residual(
                    np.ones(k + 1), energies / block_lam, gen_budgets, gen[0]
                ),
            }

        return Job(lambda: spiked_pipeline(basis, lam, noise, mu, x, y), check)

    return setup


def job_monte_carlo(n=1_000_000, d=64):
    def setup():
        _, mu, q, lam = power_law_model(d, SEED + d)
        w = q @ (2.0 * (q.T @ mu) / lam)
        eps = 0.1 * math.sqrt(mu @ mu)
        threshold = eps * math.sqrt(w @ w)  # ε σ_K(w), ℓ2
        w_sigma = math.sqrt(np.sum(lam * (q.T @ w) ** 2))
        closed_form = ndtr((threshold - w @ mu) / w_sigma)  # RE_ε, symmetric, b = 0

        def run():
            rng = np.random.default_rng(SEED + 3)
            x, y = sample_dense(mu, q, lam, n, rng)
            margins = y * (x @ w)
            return np.count_nonzero(margins <= threshold) / n

        def check(estimate):
            std = math.sqrt(closed_form * (1.0 - closed_form) / n)
            return {
                "estimate": float(estimate),
                "closed_form": float(closed_form),
                "z_score": float((estimate - closed_form) / std),
            }

        return Job(run, check)

    return setup


def job_dense_pipeline(d):
    def setup():
        sigma, mu, _, _ = power_law_model(d, SEED + d)

        def check(out):
            _, bayes_error, _ = out
            return {"bayes_error": float(bayes_error)}

        return Job(lambda: dense_pipeline(sigma, mu), check)

    return setup


JOBS: dict[str, Callable[[], Job]] = {
    "cov_dense_256": job_cov_dense(256),
    "cov_dense_1024": job_cov_dense(1024),
    "cov_dense_3072": job_cov_dense(3072),
    "matvec_100000x784": job_matvec,
    "attack_l2_784": job_attack("l2"),
    "attack_linf_784": job_attack("linf"),
    "attack_generative_784": job_attack("generative"),
    "sweep_l2_1024": job_sweep_ellipsoid("l2"),
    "sweep_generative_1024": job_sweep_ellipsoid("generative"),
    "sweep_generative_closed_form_1024": job_sweep_ellipsoid("closed_form"),
    "sweep_linf_256": job_sweep_linf(),
    "spiked_pipeline_10000_32": job_spiked(10_000),
    "spiked_pipeline_100000_32": job_spiked(100_000),
    "spiked_pipeline_1000000_32": job_spiked(1_000_000),
    "monte_carlo_1000000_64": job_monte_carlo(),
    "dense_pipeline_128": job_dense_pipeline(128),
    "dense_pipeline_256": job_dense_pipeline(256),
    "dense_pipeline_512": job_dense_pipeline(512),
    "dense_pipeline_1024": job_dense_pipeline(1024),
    "dense_pipeline_2048": job_dense_pipeline(2048),
    "dense_pipeline_4096": job_dense_pipeline(4096),
}

ATTACK_JOBS = {"matvec_100000x784", "attack_l2_784", "attack_linf_784", "attack_generative_784"}


# --------------------------------------------------------------------------
# Timing and the command line
# --------------------------------------------------------------------------


def timed(run):
    """Wall time of one run, with the garbage collector paused as timeit does."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        result = run()
        return time.perf_counter() - start, result
    finally:
        gc.enable()


def measure(job: Job, quick: bool, repeats: int | None):
    """Run a job repeatedly; returns (times, last result)."""
    if repeats is not None:
        runs = [timed(job.run) for _ in range(repeats)]
        return np.array([t for t, _ in runs]), runs[-1][1]
    target, low, high = (1.0, 3, 20) if quick else (3.0, 5, 200)
    first, result = timed(job.run)  # warm-up, also sizes the repeat count
    count = int(min(max(math.ceil(target / max(first, 1e-9)), low), high))
    times = []
    for _ in range(count):
        elapsed, result = timed(job.run)
        times.append(elapsed)
    return np.array(times), result


def blas_info():
    return [
        {key: lib.get(key) for key in ("prefix", "version", "architecture", "num_threads", "filepath")}
        for lib in threadpool_info()
    ]


def select(patterns):
    if not patterns:
        return list(JOBS)
    chosen = [name for name in JOBS if any(fnmatch.fnmatchcase(name, p) for p in patterns)]
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(n, p) for n in JOBS)]
    if unknown:
        sys.exit(f"unknown job(s): {', '.join(unknown)}; --list shows the names")
    return chosen


def format_seconds(s):
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="JSON file for {job: median_seconds}")
    parser.add_argument("--meta", help="JSON file for versions, BLAS kernel and per-job details")
    parser.add_argument("--jobs", help="comma-separated job names or fnmatch patterns")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (about 1 s per job)")
    parser.add_argument("--repeats", type=int, help="exactly this many timed runs, no warm-up")
    parser.add_argument("--list", action="store_true", help="print the job names and exit")
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="after timing, run each job once more under tracemalloc and record the peak "
        "memory it allocates beyond its inputs",
    )
    args = parser.parse_args()

    if args.list:
        print("\n".join(JOBS))
        return
    if not args.out:
        parser.error("--out is required")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    names = select([p.strip() for p in args.jobs.split(",")] if args.jobs else [])

    meta = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "blas": blas_info(),
        "env": {var: os.environ.get(var) for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "quick": args.quick,
        "jobs": {},
    }
    for lib in meta["blas"]:
        print(
            f"# {lib['prefix']} {lib['version']}: kernel {lib['architecture']}, "
            f"{lib['num_threads']} threads",
            flush=True,
        )
    print(f"# OPENBLAS_CORETYPE={meta['env']['OPENBLAS_CORETYPE']}, "
          f"OPENBLAS_L2_SIZE={meta['env']['OPENBLAS_L2_SIZE']}", flush=True)

    medians = {}
    for position, name in enumerate(names):
        job = JOBS[name]()
        times, result = measure(job, args.quick, args.repeats)
        checks = job.check(result)
        load = os.getloadavg()[0]
        median = float(np.median(times))
        medians[name] = median
        q1, q3 = np.percentile(times, [25, 75])
        meta["jobs"][name] = {
            "median": median,
            "q1": float(q1),
            "q3": float(q3),
            "min": float(times.min()),
            "repeats": len(times),
            "load_average_1min": load,
            "checks": checks,
        }
        if args.trace_memory:
            del result
            gc.collect()
            tracemalloc.start()
            job.run()
            meta["jobs"][name]["traced_peak_bytes"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            result = None
        print(
            f"{name:36s} {format_seconds(median):>11s}  "
            f"(IQR {format_seconds(q1)} – {format_seconds(q3)}, {len(times)} runs, "
            f"load {load:.1f})  {checks}",
            flush=True,
        )
        del job, result
        if not ATTACK_JOBS.intersection(names[position + 1 :]):
            _ATTACK_DATA.clear()  # free the 100,000×784 data set once no job needs it

    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(medians, f, indent=2)
    if args.meta:
        with open(args.meta, "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2)


if __name__ == "__main__":
    main()
