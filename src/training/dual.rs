//! Certified solvers for the dual problem of P4 (THEORY §7), for threats
//! without a closed form (ℓ∞, ℓ1, general ℓp, unions). STUB: replaced by
//! the real solvers.
#![allow(dead_code, missing_docs)]

use nalgebra::DVector;

use crate::covariance::Covariance;
use crate::error::{Error, Result};
use crate::threat::Threat;

/// Stopping rules of the certified solvers.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverOptions {
    /// Target duality gap relative to `r*`: stop when `gap ≤ gap_tolerance · r*`.
    pub gap_tolerance: f64,
    /// Iteration cap; reaching it gives [`Error::NoConvergence`] with the gap reached.
    pub max_iterations: usize,
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions {
            gap_tolerance: 1e-9,
            max_iterations: 100_000,
        }
    }
}

/// What a certified dual solve returns.
#[derive(Debug, Clone)]
pub(crate) struct DualSolution {
    /// `w* = 2Σ⁻¹(μ − z*)` (zero when `r* = 0`).
    pub weights: DVector<f64>,
    /// The adversary's shift `z* ∈ εK`.
    pub adversary: DVector<f64>,
    /// Upper bound on `r*`: `‖μ − z*‖_{Σ⁻¹}`.
    pub distance: f64,
    /// Lower bound on `r*`: the primal ratio `ρ(w*)`, clamped at 0.
    pub lower_bound: f64,
    /// `distance − lower_bound ≥ 0`.
    pub gap: f64,
    /// Iterations used.
    pub iterations: usize,
}

/// Minimises `‖μ − z‖_{Σ⁻¹}` over `z ∈ εK` with a certified gap.
pub(crate) fn solve(
    _cov: &Covariance,
    _mu: &DVector<f64>,
    _threat: &Threat,
    _eps: f64,
    _options: &SolverOptions,
) -> Result<DualSolution> {
    Err(Error::Unsupported("dual solver not implemented yet".into()))
}
