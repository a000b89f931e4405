//! L-BFGS with a backtracking Armijo line search, adapted to the kinks of
//! the robust loss (OWL-QN orthants for ℓ∞, the kink subspace of an
//! ellipsoid, the tie subspace of the face of `K` for ℓ1 threats and
//! unions).

use std::collections::VecDeque;

use nalgebra::DVector;

use super::kinks::KinkState;
use super::objective::{Gradient, Kinks, Objective, Point, Ties, sign};
use super::{LBFGS_MEMORY, Stationarity, TrainingOptions, TrainingReport};
use crate::error::{Error, Result};

/// Armijo sufficient-decrease constant `c` in `L(θ + t d) ≤ L(θ) + c t ∇Lᵀd`.
const ARMIJO: f64 = 1e-4;

/// Backtracking steps before a line search gives up (the step shrinks by at
/// least 2 each time, so this reaches `2⁻⁶⁰` of the first trial).
const MAX_BACKTRACKS: usize = 60;

/// Relative slack `η/σ_K(w)` of the η-subdifferential that certifies a
/// point on a tie: the certificate bounds `L(θ) − min L` by `εs̄η` plus the
/// residual times the distance to the minimizer.
const CERTIFICATE_SLACK: f64 = 1e-9;

/// Relative slacks of the η-subdifferentials whose minimal-norm elements
/// are tried as descent directions at a stalled tie, widest first (a wider
/// face allows a longer step before another piece becomes active).
const DESCENT_SLACKS: [f64; 4] = [1e-2, 1e-4, 1e-6, 1e-9];

/// Relative size of a loss change that is rounding noise: the mean of `n`
/// softplus terms carries a relative error of order `√n · 2⁻⁵³`, below this
/// for any `n` up to 10⁶.
const LOSS_ROUNDING: f64 = 1e-12;
/// One curvature pair `(s, y, 1/sᵀy)`.
struct Pair {
    s: DVector<f64>,
    y: DVector<f64>,
    rho: f64,
}

pub(super) struct Lbfgs<'o, 'a> {
    objective: &'o Objective<'a>,
    tolerance: f64,
    max_iterations: usize,
    memory: VecDeque<Pair>,
    data_passes: usize,
}

/// Outcome of one line search.
enum Step {
    Accepted(Point, Gradient),
    Failed,
}

/// Outcome of [`Lbfgs::escape_tie`].
enum Escape {
    /// A small element of the η-subdifferential certifies the point.
    Certified(f64),
    /// A step along the negative minimal-norm element decreased the loss.
    Moved(Point, Gradient),
    /// Neither; the residual reached.
    Stalled(f64),
}

/// Outcome of one trial point of a line search.
enum Trial {
    Accepted(Point, Gradient),
    /// Rejected, with the loss change (non-finite if the loss was).
    Rejected(f64),
}

impl<'o, 'a> Lbfgs<'o, 'a> {
    pub(super) fn new(objective: &'o Objective<'a>, options: &TrainingOptions) -> Lbfgs<'o, 'a> {
        Lbfgs {
            objective,
            tolerance: options.gradient_tolerance,
            max_iterations: options.max_iterations,
            memory: VecDeque::with_capacity(LBFGS_MEMORY),
            data_passes: 0,
        }
    }

    fn evaluate(&mut self, theta: DVector<f64>) -> Point {
        self.data_passes += 1;
        self.objective.evaluate(theta)
    }

    fn gradient(&mut self, point: &Point) -> Result<Gradient> {
        self.data_passes += 1;
        self.objective.gradient(point)
    }

    /// Minimizes the loss from `start`; returns the parameters `θ = (w, b)`
    /// and the report (see the module docs for the outcomes).
    pub(super) fn run(mut self, start: DVector<f64>) -> Result<(DVector<f64>, TrainingReport)> {
        let objective = self.objective;
        // The zero optimum, certified before any iteration (an iterate can
        // only approach w = 0 for threats without kink handling there).
        let zero = self.evaluate(objective.zero_point());
        let zero_gradient = self.gradient(&zero)?;
        if objective.zero_is_optimal(&zero_gradient) {
            return Err(Error::ZeroOptimum {
                budget: objective.eps,
            });
        }
        let mut point = self.evaluate(start);
        let mut gradient = self.gradient(&point)?;
        let mut iterations = 0;
        loop {
            self.check_separable(&point)?;
            let mut norm = gradient.stationary.norm();
            // ℓ1 threats and unions: the pieces of σ_K tied at w, and the
            // gradient of the loss restricted to their tie subspace.
            let tied = if objective.kinks == Kinks::Ties && norm > self.tolerance {
                objective.ties(&point, CERTIFICATE_SLACK).map(|ties| {
                    let reduced = objective.reduced_gradient(&ties, &gradient);
                    (ties, reduced)
                })
            } else {
                None
            };
            let reduced_small = tied
                .as_ref()
                .is_some_and(|(_, reduced)| reduced.norm() <= self.tolerance);
            if objective.kinks == Kinks::Ties
                && norm > self.tolerance
                && (reduced_small || iterations % 10 == 0)
            {
                // At a tie v*(w) is one subgradient among many: look for a
                // small element of the certified face.
                let (_, tie_norm, _) =
                    objective.tie_element(&point, &gradient, CERTIFICATE_SLACK, self.tolerance);
                if tie_norm <= self.tolerance {
                    return self.finish(
                        point,
                        tie_norm,
                        iterations,
                        Stationarity::MinimalSubgradient,
                        true,
                    );
                }
                norm = norm.min(tie_norm);
            }
            if norm <= self.tolerance {
                let criterion = match (objective.kinks, gradient.kink) {
                    (Kinks::Orthants, _) | (_, KinkState::Stay | KinkState::Leave) => {
                        Stationarity::MinimalSubgradient
                    }
                    _ => Stationarity::Gradient,
                };
                return self.finish(point, norm, iterations, criterion, true);
            }
            if iterations == self.max_iterations {
                return Err(Error::TrainingNoConvergence {
                    iterations,
                    stationarity: norm,
                    tolerance: self.tolerance,
                    loss: point.loss,
                    reason: "iteration cap reached",
                });
            }
            iterations += 1;
            let mut step = match &tied {
                // Quasi-Newton on the tie subspace, where the loss is smooth;
                // once its gradient is small without a certificate, the
                // optimal multipliers lie outside the face and the point
                // must leave a tie (escape_tie below).
                Some((ties, reduced)) if !reduced_small => {
                    let mut step =
                        self.tied_line_search(&point, &gradient, ties, reduced, false)?;
                    if matches!(step, Step::Failed) && !self.memory.is_empty() {
                        self.memory.clear();
                        step = self.tied_line_search(&point, &gradient, ties, reduced, true)?;
                    }
                    step
                }
                Some(_) => Step::Failed,
                // At σ_K(w) = 0 the face is all of K: the subgradient v*(w)
                // of the line search does not exist, and the escape's
                // minimal-norm element over K is the steepest descent.
                None if objective.kinks == Kinks::Ties && point.support == 0.0 => Step::Failed,
                None => {
                    let mut step = self.line_search(&point, &gradient, false)?;
                    if matches!(step, Step::Failed) && !self.memory.is_empty() {
                        // Retry along the scaled negative (sub)gradient.
                        self.memory.clear();
                        step = self.line_search(&point, &gradient, true)?;
                    }
                    step
                }
            };
            if matches!(step, Step::Failed)
                && objective.kinks == Kinks::Subspace
                && gradient.kink == KinkState::Off
            {
                // Stalled near the kink of an ellipsoid: try the kink itself.
                let theta = objective.project_to_kink(&point.theta);
                if let Trial::Accepted(next, next_gradient) =
                    self.trial(&point, &gradient, theta)?
                {
                    step = Step::Accepted(next, next_gradient);
                }
            }
            match step {
                Step::Accepted(next, next_gradient) => {
                    match &tied {
                        Some((ties, reduced)) => {
                            // Curvature of the loss on the tie subspace.
                            let y = objective.reduced_gradient(ties, &next_gradient) - reduced;
                            self.remember_pair(&next.theta - &point.theta, y);
                        }
                        None => self.remember(&point, &gradient, &next, &next_gradient),
                    }
                    point = next;
                    gradient = next_gradient;
                }
                Step::Failed => {
                    if objective.kinks == Kinks::Ties {
                        match self.escape_tie(&point, &gradient)? {
                            Escape::Certified(residual) => {
                                return self.finish(
                                    point,
                                    residual,
                                    iterations,
                                    Stationarity::MinimalSubgradient,
                                    true,
                                );
                            }
                            Escape::Moved(next, next_gradient) => {
                                self.memory.clear();
                                point = next;
                                gradient = next_gradient;
                                continue;
                            }
                            Escape::Stalled(residual) => {
                                return self.finish(
                                    point,
                                    residual,
                                    iterations,
                                    Stationarity::LossStalled,
                                    false,
                                );
                            }
                        }
                    }
                    // Scores spread below 1e-6 make a constant predictor on
                    // the logistic scale.
                    let reason = if point.scores.amax() <= 1e-6 {
                        "the weights collapsed toward w = 0: the budget may be too large for any linear classifier to beat the constant prediction"
                    } else if objective.kinks == Kinks::Subspace {
                        "the line search cannot decrease the loss beyond rounding; loosen gradient_tolerance"
                    } else {
                        "the line search cannot decrease the loss beyond rounding; loosen gradient_tolerance, or the minimizer sits on a kink of σ_K (e.g. where σ_K(w) = 0)"
                    };
                    return Err(Error::TrainingNoConvergence {
                        iterations,
                        stationarity: norm,
                        tolerance: self.tolerance,
                        loss: point.loss,
                        reason,
                    });
                }
            }
        }
    }

    fn check_separable(&self, point: &Point) -> Result<()> {
        if self.objective.lambda == 0.0 && point.min_robust_margin > 0.0 {
            Err(Error::LinearlySeparable {
                budget: self.objective.eps,
            })
        } else {
            Ok(())
        }
    }

    fn finish(
        &self,
        point: Point,
        norm: f64,
        iterations: usize,
        criterion: Stationarity,
        converged: bool,
    ) -> Result<(DVector<f64>, TrainingReport)> {
        let d = self.objective.dim();
        if point.theta.rows(0, d).iter().all(|&v| v == 0.0) {
            return Err(Error::ZeroOptimum {
                budget: self.objective.eps,
            });
        }
        let report = TrainingReport {
            iterations,
            loss: point.loss,
            gradient_norm: norm,
            converged,
            criterion,
            data_passes: self.data_passes,
        };
        Ok((point.theta, report))
    }

    /// At a stall on a tie (ℓ1 threats and unions): certifies the point by
    /// a small element of its η-subdifferential (`η = CERTIFICATE_SLACK ·
    /// σ_K(w)`), or descends along the negative minimal-norm element of a
    /// wider η-subdifferential (the ε-steepest descent of bundle methods:
    /// it descends for every subgradient of the pieces within η, so the
    /// step moves onto or along the ties), or reports the stall.
    fn escape_tie(&mut self, point: &Point, gradient: &Gradient) -> Result<Escape> {
        let objective = self.objective;
        let (_, residual, _) =
            objective.tie_element(point, gradient, CERTIFICATE_SLACK, self.tolerance);
        if residual <= self.tolerance {
            return Ok(Escape::Certified(residual));
        }
        for slack in DESCENT_SLACKS {
            let (element, norm, descent) =
                objective.tie_element(point, gradient, slack, self.tolerance);
            if !(descent > 0.0 && norm > 0.0) {
                continue;
            }
            // Start with a step the size of θ and halve.
            let mut t = point.theta.norm().max(f64::MIN_POSITIVE) / norm;
            for _ in 0..MAX_BACKTRACKS {
                let theta = &point.theta - &element * t;
                if theta.iter().all(|v| v.is_finite()) {
                    if (&theta - &point.theta).amax() <= f64::EPSILON * point.theta.amax() {
                        break;
                    }
                    let trial = self.evaluate(theta);
                    if trial.loss.is_finite() && trial.loss - point.loss <= -ARMIJO * t * descent {
                        let trial_gradient = self.gradient(&trial)?;
                        return Ok(Escape::Moved(trial, trial_gradient));
                    }
                }
                t *= 0.5;
            }
        }
        Ok(Escape::Stalled(residual))
    }

    /// The quasi-Newton direction `−H g` by the two-loop recursion; with an
    /// empty memory (or `steepest`), the negative gradient scaled to unit length.
    fn direction(&self, g: &DVector<f64>, steepest: bool) -> DVector<f64> {
        if steepest || self.memory.is_empty() {
            return -g / g.norm();
        }
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(self.memory.len());
        for pair in self.memory.iter().rev() {
            let alpha = pair.rho * pair.s.dot(&q);
            q.axpy(-alpha, &pair.y, 1.0);
            alphas.push(alpha);
        }
        let newest = self.memory.back().expect("memory is not empty");
        let gamma = newest.s.dot(&newest.y) / newest.y.norm_squared();
        q *= gamma;
        for (pair, alpha) in self.memory.iter().zip(alphas.iter().rev()) {
            let beta = pair.rho * pair.y.dot(&q);
            q.axpy(alpha - beta, &pair.s, 1.0);
        }
        -q
    }

    /// Backtracking Armijo search along the L-BFGS direction, adapted to the
    /// kinks: projected on the current orthant for ℓ∞ (OWL-QN); for an
    /// ellipsoid, projected on the kink subspace `N` when staying on it,
    /// replaced by the steepest descent direction `−g_min` when leaving it
    /// along the quasi-Newton direction does not descend, and clipped to `N`
    /// when a trial crosses it (see the module docs).
    fn line_search(&mut self, point: &Point, gradient: &Gradient, steepest: bool) -> Result<Step> {
        let objective = self.objective;
        let d = objective.dim();
        let g = &gradient.stationary;
        let mut direction = self.direction(g, steepest);
        let orthant = if objective.kinks == Kinks::Orthants {
            // Keep only the components that move downhill (OWL-QN), and
            // fix the orthant each weight may not leave.
            for i in 0..d {
                if direction[i] * g[i] >= 0.0 {
                    direction[i] = 0.0;
                }
            }
            Some(DVector::from_fn(d, |i, _| {
                let wi = point.theta[i];
                if wi != 0.0 { sign(wi) } else { -sign(g[i]) }
            }))
        } else {
            None
        };
        // Off the kink of an ellipsoid, a trial crosses N when the
        // linearization v*(w)ᵀw_t of σ_K at w is no longer positive.
        let mut crossing = None;
        match gradient.kink {
            KinkState::Stay => direction = objective.project_to_kink(&direction),
            KinkState::Leave => {
                if objective.directional_derivative(gradient, &direction) >= 0.0 {
                    direction = -g / g.norm();
                }
            }
            KinkState::Off if objective.kinks == Kinks::Subspace => {
                crossing = objective.threat.steepest(&objective.weights(&point.theta));
            }
            KinkState::Off => {}
        }
        let slope = objective.directional_derivative(gradient, &direction);
        if !(slope.is_finite() && slope < 0.0) {
            return Ok(Step::Failed);
        }
        self.backtrack(point, gradient, slope, 1.0, |t| {
            let mut theta = &point.theta + &direction * t;
            if let Some(xi) = &orthant {
                for i in 0..d {
                    if theta[i] * xi[i] <= 0.0 {
                        theta[i] = 0.0;
                    }
                }
            }
            if let Some(v) = &crossing {
                if v.dot(&theta.rows(0, d)) <= 0.0 {
                    theta = objective.project_to_kink(&theta);
                }
            }
            theta
        })
    }

    /// Backtracking from the step `t` along the trial points `at(t)` (a ray
    /// with slope `slope`, possibly clipped): the first that
    /// [`trial`](Self::trial) accepts, shrinking `t` by safeguarded
    /// quadratic interpolation of the loss.
    fn backtrack(
        &mut self,
        point: &Point,
        gradient: &Gradient,
        slope: f64,
        mut t: f64,
        at: impl Fn(f64) -> DVector<f64>,
    ) -> Result<Step> {
        for _ in 0..MAX_BACKTRACKS {
            let theta = at(t);
            if !theta.iter().all(|v| v.is_finite()) {
                t *= 0.5;
                continue;
            }
            let moved = &theta - &point.theta;
            if moved.amax() <= f64::EPSILON * point.theta.amax() {
                // The step no longer changes θ in floating point.
                return Ok(Step::Failed);
            }
            let change = match self.trial(point, gradient, theta)? {
                Trial::Accepted(next, next_gradient) => {
                    return Ok(Step::Accepted(next, next_gradient));
                }
                Trial::Rejected(change) => change,
            };
            let curvature = change - slope * t;
            let next = if change.is_finite() && curvature > 0.0 {
                -slope * t * t / (2.0 * curvature)
            } else {
                0.5 * t
            };
            t = next.clamp(0.1 * t, 0.5 * t);
        }
        Ok(Step::Failed)
    }

    /// Backtracking Armijo search on the tie subspace `U` of the point's
    /// face: the weights are first projected onto `U` (which makes the
    /// near ties exact), the L-BFGS direction of the reduced gradient is
    /// projected onto `U`, and the first step is cut where a piece of `σ_K`
    /// outside the face would overtake it (the new piece then ties exactly,
    /// as OWL-QN stops a weight at zero).
    fn tied_line_search(
        &mut self,
        point: &Point,
        gradient: &Gradient,
        ties: &Ties,
        reduced: &DVector<f64>,
        steepest: bool,
    ) -> Result<Step> {
        let objective = self.objective;
        let direction = ties.subspace.project(&self.direction(reduced, steepest));
        let slope = reduced.dot(&direction);
        if !(slope.is_finite() && slope < 0.0) {
            return Ok(Step::Failed);
        }
        let base = ties.subspace.project(&point.theta);
        let t = objective.crossing(ties, &base, &direction);
        let d = objective.dim();
        self.backtrack(point, gradient, slope, t, |t| {
            let mut theta = &base + &direction * t;
            // A weight that cancels to rounding residue (a tied magnitude
            // driven to zero at a crossing) is exactly zero: the residue is
            // no weight, and at w = 0 the face is the whole body K. The
            // residue of base + t·δ, with t to a relative 2⁻⁵², is below
            // 8u(|base_i| + t|δ_i|).
            for i in 0..d {
                let residue = 8.0 * f64::EPSILON * (base[i].abs() + t * direction[i].abs());
                if theta[i].abs() <= residue {
                    theta[i] = 0.0;
                }
            }
            theta
        })
    }

    /// Evaluates a trial `θ_t` and accepts it on sufficient decrease,
    /// `L(θ_t) − L(θ) ≤ c L'(θ; θ_t − θ)` with `L'(θ; θ_t − θ) < 0`, or when
    /// the change is below rounding and a subgradient at `θ_t` certifies
    /// `L(θ_t) ≤ L(θ)`.
    fn trial(&mut self, point: &Point, gradient: &Gradient, theta: DVector<f64>) -> Result<Trial> {
        let moved = &theta - &point.theta;
        let trial = self.evaluate(theta);
        let predicted = self.objective.directional_derivative(gradient, &moved);
        let change = trial.loss - point.loss;
        if !trial.loss.is_finite() {
            return Ok(Trial::Rejected(f64::NAN));
        }
        if predicted < 0.0 && change <= ARMIJO * predicted {
            let trial_gradient = self.gradient(&trial)?;
            return Ok(Trial::Accepted(trial, trial_gradient));
        }
        if change <= LOSS_ROUNDING * point.loss.abs() {
            // The decrease is below rounding: decide by the slope at the
            // trial. For convex L, gᵀ(θ_t − θ) ≤ 0 with any subgradient
            // g at θ_t implies L(θ_t) ≤ L(θ) exactly.
            let trial_gradient = self.gradient(&trial)?;
            if self.objective.lowest_slope(&trial_gradient, &moved) <= 0.0 {
                return Ok(Trial::Accepted(trial, trial_gradient));
            }
        }
        Ok(Trial::Rejected(change))
    }

    fn remember(&mut self, old: &Point, old_g: &Gradient, new: &Point, new_g: &Gradient) {
        let objective = self.objective;
        let s = &new.theta - &old.theta;
        let y = if objective.kinks == Kinks::Orthants {
            // Curvature of the smooth function of the step's orthant.
            let d = objective.dim();
            let xi = DVector::from_fn(d, |i, _| {
                if new.theta[i] != 0.0 {
                    sign(new.theta[i])
                } else {
                    sign(old.theta[i])
                }
            });
            objective.orthant_gradient(new_g, &xi) - objective.orthant_gradient(old_g, &xi)
        } else {
            match (old_g.kink, new_g.kink) {
                (KinkState::Off, KinkState::Off) => &new_g.stationary - &old_g.stationary,
                // A step onto the kink of an ellipsoid from w, or off it to
                // w: along the step σ_K is exactly linear, v*(w)ᵀ(·) (its
                // range(A) part shrinks or grows in proportion), so the
                // curvature is that of the smooth piece F + εs̄ v*(w)ᵀ(·),
                // as OWL-QN uses the smooth piece of the step's orthant.
                (KinkState::Off, _) => match objective.linear_piece(old, new_g) {
                    Some(new_piece) => new_piece - &old_g.stationary,
                    None => return,
                },
                (_, KinkState::Off) => match objective.linear_piece(new, old_g) {
                    Some(old_piece) => &new_g.stationary - old_piece,
                    None => return,
                },
                // Along N the loss is the smooth part F: its curvature there.
                _ => objective.project_to_kink(&(&new_g.smooth - &old_g.smooth)),
            }
        };
        self.remember_pair(s, y);
    }

    /// Stores the curvature pair `(s, y)` if `sᵀy > 0` (kinks and rounding
    /// can break it).
    fn remember_pair(&mut self, s: DVector<f64>, y: DVector<f64>) {
        let sy = s.dot(&y);
        if sy > 1e-12 * s.norm() * y.norm() && sy.is_finite() {
            if self.memory.len() == LBFGS_MEMORY {
                self.memory.pop_front();
            }
            self.memory.push_back(Pair {
                s,
                y,
                rho: 1.0 / sy,
            });
        }
    }
}
