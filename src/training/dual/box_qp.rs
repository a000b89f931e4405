//! Projected Newton for convex quadratic programs over a cube
//! `{x : |x_i| ≤ u}`, with exact solves on the free face.
//!
//! Method: Bertsekas, "Projected Newton methods for optimization problems
//! with simple constraints", SIAM J. Control Optim. 20(2), 1982. At `x`
//! with gradient `g`, the ε-active set
//! `B = {i : |x_i| ≥ u − δ and g pushes x_i outward}`,
//! `δ = min(‖x − P(x − g/L)‖_∞, u/10)`, is held at the bounds and the
//! free coordinates jump to the exact minimizer of the quadratic on that
//! face (a Newton step, computed with one principal-submatrix solve). The
//! step is taken along the projection arc `P(x_B + α(x_N − x_B))`,
//! halving `α` until the Armijo condition holds; if no `α` works, one
//! projected-gradient step with step `1/L` (which always decreases `q`,
//! Beck & Teboulle 2009, Lemma 2.3) is taken instead. The method stops
//! when the face minimizer is feasible and every multiplier on `B` has
//! the right sign: then it is the exact optimum (up to rounding), so the
//! method terminates finitely once the optimal face is identified.
//!
//! Two problems use it:
//! - the ℓ∞ dual `min ½(μ − z)ᵀΣ⁻¹(μ − z)`, `|z_i| ≤ ε` ([`AdversaryBox`]),
//!   whose face minimizer is `z_F = μ_F − (Σ y)_F`, `y = Σ_BB⁻¹(μ_B − z_B)`
//!   on `B` (and `w = Σ⁻¹(μ − z) = y`);
//! - the ℓ1 primal at fixed `s = ‖w‖_∞`: `min ½wᵀΣw − μᵀw`, `|w_i| ≤ s`
//!   ([`WeightBox`]), whose face minimizer is
//!   `w_F = Σ_FF⁻¹(μ_F − Σ_FB w_B)`.

use nalgebra::DVector;

use super::metric::Metric;
use crate::error::Result;

/// A convex quadratic `q` over a cube, with exact face minimizers.
pub(crate) trait BoxProblem {
    /// Gradient and value of `q` at `x`.
    fn evaluate(&self, x: &DVector<f64>) -> (DVector<f64>, f64);
    /// The minimizer of `q` over the face where the coordinates in `bound`
    /// keep their values in `x` and those in `free` move; with its
    /// gradient and value.
    fn face_minimizer(
        &self,
        bound: &[usize],
        free: &[usize],
        x: &DVector<f64>,
    ) -> Result<(DVector<f64>, DVector<f64>, f64)>;
    /// A Lipschitz constant of the gradient (the largest Hessian eigenvalue).
    fn lipschitz(&self) -> f64;
}

/// The ℓ∞ dual: `q(z) = ½(μ − z)ᵀΣ⁻¹(μ − z)`; the gradient is `−w`,
/// `w = Σ⁻¹(μ − z)`.
pub(crate) struct AdversaryBox<'a> {
    pub(crate) metric: &'a Metric<'a>,
    pub(crate) mu: &'a DVector<f64>,
}

impl BoxProblem for AdversaryBox<'_> {
    fn evaluate(&self, z: &DVector<f64>) -> (DVector<f64>, f64) {
        let residual = self.mu - z;
        let w = self.metric.solve(&residual);
        let q = 0.5 * residual.dot(&w);
        (-w, q)
    }

    fn face_minimizer(
        &self,
        bound: &[usize],
        free: &[usize],
        z: &DVector<f64>,
    ) -> Result<(DVector<f64>, DVector<f64>, f64)> {
        let r = DVector::from_fn(bound.len(), |a, _| self.mu[bound[a]] - z[bound[a]]);
        let y_bound = self.metric.principal_solve(bound, &r)?;
        let mut y = DVector::zeros(z.len());
        for (a, &i) in bound.iter().enumerate() {
            y[i] = y_bound[a];
        }
        let v = self.metric.mul(&y);
        let mut out = z.clone();
        for &i in free {
            out[i] = self.mu[i] - v[i];
        }
        // μ − z = Σy, so q = ½(μ − z)ᵀy = ½ rᵀy_B.
        let q = 0.5 * r.dot(&y_bound);
        Ok((out, -y, q))
    }

    fn lipschitz(&self) -> f64 {
        1.0 / self.metric.lambda_min
    }
}

/// The ℓ1 primal at fixed `‖w‖_∞ ≤ s`: `q(w) = ½wᵀΣw − μᵀw`; the gradient
/// is `Σw − μ = −z`.
pub(crate) struct WeightBox<'a> {
    pub(crate) metric: &'a Metric<'a>,
    pub(crate) mu: &'a DVector<f64>,
}

impl BoxProblem for WeightBox<'_> {
    fn evaluate(&self, w: &DVector<f64>) -> (DVector<f64>, f64) {
        let g = self.metric.mul(w) - self.mu;
        let q = 0.5 * w.dot(&(&g - self.mu));
        (g, q)
    }

    fn face_minimizer(
        &self,
        bound: &[usize],
        free: &[usize],
        w: &DVector<f64>,
    ) -> Result<(DVector<f64>, DVector<f64>, f64)> {
        let mut fixed = DVector::zeros(w.len());
        for &i in bound {
            fixed[i] = w[i];
        }
        let v = self.metric.mul(&fixed);
        let r = DVector::from_fn(free.len(), |a, _| self.mu[free[a]] - v[free[a]]);
        let w_free = self.metric.principal_solve(free, &r)?;
        let mut out = fixed;
        for (a, &i) in free.iter().enumerate() {
            out[i] = w_free[a];
        }
        let (g, q) = self.evaluate(&out);
        Ok((out, g, q))
    }

    fn lipschitz(&self) -> f64 {
        self.metric.lambda_max
    }
}

/// Where a projected-Newton run ended.
pub(crate) struct BoxOutcome {
    pub(crate) x: DVector<f64>,
    pub(crate) gradient: DVector<f64>,
    /// True when the face minimizer passed the exact optimality test.
    pub(crate) optimal: bool,
}

/// Relative slack in the final feasibility and multiplier-sign tests: a
/// face minimizer that leaves the cube by `1e-13·u` (rounding in the
/// solve) is clipped, and a multiplier of the wrong sign below
/// `1e-13·‖g‖_∞` counts as zero. Either changes the duality gap by far
/// less than the `1e-9` target.
const SLACK: f64 = 1e-13;

fn clip(x: &DVector<f64>, u: f64) -> DVector<f64> {
    x.map(|v| v.clamp(-u, u))
}

/// Minimizes the problem over `|x_i| ≤ bound` from `start`, for at most
/// `budget` iterations; `iterations` is increased by the iterations used.
pub(crate) fn projected_newton<P: BoxProblem>(
    problem: &P,
    bound: f64,
    start: &DVector<f64>,
    budget: usize,
    iterations: &mut usize,
) -> Result<BoxOutcome> {
    let u = bound;
    let lipschitz = problem.lipschitz();
    let mut x = clip(start, u);
    let (mut g, mut q) = problem.evaluate(&x);
    for _ in 0..budget {
        *iterations += 1;
        let projected_step = x
            .iter()
            .zip(g.iter())
            .map(|(xi, gi)| (xi - (xi - gi / lipschitz).clamp(-u, u)).abs())
            .fold(0.0, f64::max);
        let delta = projected_step.min(0.1 * u);
        let mut bound_set = Vec::new();
        let mut free_set = Vec::new();
        let mut snapped = x.clone();
        for i in 0..x.len() {
            if x[i] >= u - delta && g[i] < 0.0 {
                bound_set.push(i);
                snapped[i] = u;
            } else if x[i] <= -u + delta && g[i] > 0.0 {
                bound_set.push(i);
                snapped[i] = -u;
            } else {
                free_set.push(i);
            }
        }
        let (newton, newton_gradient, newton_q) =
            problem.face_minimizer(&bound_set, &free_set, &snapped)?;
        let feasible = free_set
            .iter()
            .all(|&i| newton[i].abs() <= u * (1.0 + SLACK));
        let g_scale = newton_gradient.amax();
        let signs_ok = bound_set
            .iter()
            .all(|&i| newton[i].signum() * newton_gradient[i] <= SLACK * g_scale);
        if feasible && signs_ok {
            return Ok(BoxOutcome {
                x: clip(&newton, u),
                gradient: newton_gradient,
                optimal: true,
            });
        }
        // Armijo search along the projection arc from the snapped point.
        let direction = &newton - &snapped;
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let trial = clip(&(&snapped + alpha * &direction), u);
            let (tg, tq) = if alpha == 1.0 && feasible {
                (newton_gradient.clone(), newton_q)
            } else {
                problem.evaluate(&trial)
            };
            let predicted = g.dot(&(&trial - &x));
            if tq < q && tq <= q + 1e-4 * predicted {
                accepted = Some((trial, tg, tq));
                break;
            }
            alpha *= 0.5;
        }
        let (nx, ng, nq) = match accepted {
            Some(step) => step,
            None => {
                let trial = clip(&(&x - &g / lipschitz), u);
                let (tg, tq) = problem.evaluate(&trial);
                if tq >= q {
                    // No decrease is representable: x is optimal to rounding.
                    return Ok(BoxOutcome {
                        x,
                        gradient: g,
                        optimal: false,
                    });
                }
                (trial, tg, tq)
            }
        };
        x = nx;
        g = ng;
        q = nq;
    }
    Ok(BoxOutcome {
        x,
        gradient: g,
        optimal: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::Covariance;
    use nalgebra::DMatrix;
    use proptest::prelude::*;

    /// Brute force for d = 3: the smallest value among the 27 face
    /// minimizers (each coordinate free, at +u or at −u) that are feasible.
    /// The box optimum is one of them.
    fn enumerate_faces<P: BoxProblem>(problem: &P, u: f64) -> f64 {
        let mut best = f64::INFINITY;
        for code in 0..27usize {
            let mut bound = Vec::new();
            let mut free = Vec::new();
            let mut x = DVector::zeros(3);
            let mut c = code;
            for i in 0..3 {
                match c % 3 {
                    0 => free.push(i),
                    1 => {
                        bound.push(i);
                        x[i] = u;
                    }
                    _ => {
                        bound.push(i);
                        x[i] = -u;
                    }
                }
                c /= 3;
            }
            let (z, _, q) = problem.face_minimizer(&bound, &free, &x).unwrap();
            if z.amax() <= u * (1.0 + 1e-12) {
                best = best.min(q);
            }
        }
        best
    }

    fn covariance() -> impl Strategy<Value = Covariance> {
        prop::collection::vec(-1.0f64..1.0, 9).prop_map(|a| {
            let a = DMatrix::from_vec(3, 3, a);
            let sigma = &a * a.transpose() + DMatrix::identity(3, 3) * 0.05;
            Covariance::dense((&sigma + sigma.transpose()) * 0.5).unwrap()
        })
    }

    proptest! {
        /// Projected Newton reaches the best feasible face minimizer, for
        /// both box problems, with the exact optimality test passed.
        #[test]
        fn projected_newton_matches_the_enumeration_of_faces(
            cov in covariance(),
            mu in prop::collection::vec(-2.0f64..2.0, 3).prop_map(DVector::from_vec),
            u in 0.01f64..1.5,
        ) {
            let metric = Metric::new(&cov).unwrap();
            let adversary = AdversaryBox { metric: &metric, mu: &mu };
            let weights = WeightBox { metric: &metric, mu: &mu };
            let mut used = 0;
            let out = projected_newton(&adversary, u, &DVector::zeros(3), 100, &mut used).unwrap();
            prop_assert!(out.optimal);
            let (_, q) = adversary.evaluate(&out.x);
            let best = enumerate_faces(&adversary, u);
            prop_assert!((q - best).abs() <= 1e-12 * (1.0 + best.abs()), "{} vs {}", q, best);
            let out = projected_newton(&weights, u, &DVector::zeros(3), 100, &mut used).unwrap();
            prop_assert!(out.optimal);
            let (_, q) = weights.evaluate(&out.x);
            let best = enumerate_faces(&weights, u);
            prop_assert!((q - best).abs() <= 1e-12 * (1.0 + best.abs()), "{} vs {}", q, best);
        }
    }
}
