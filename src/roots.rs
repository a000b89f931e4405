//! Bracketed, safeguarded scalar root finders: Brent's method, the one
//! the crate uses wherever a monotone equation has no closed-form inverse
//! and no cheap derivative (matched budgets, [THEORY §8](crate::theory#8-trade-offs); the ℓ1 dual
//! solver; the union projection; the bivariate normal's mode), and
//! [`Newton`], safeguarded Newton for increasing equations whose derivative
//! comes with the value (quantiles of the adversarial distance, the ℓp-ball
//! projection). The secular equation of ellipsoidal threats has its own
//! Halley/Newton iteration (`training::secular`), which exploits its
//! concavity and warm starts across a sweep.
//!
//! [`BrentSearch`] is the method in reverse-communication form: the caller
//! asks for the next point ([`BrentSearch::propose`]), evaluates `f` there
//! itself and reports the value ([`BrentSearch::observe`]), so it can stop
//! early on a certificate or carry state between evaluations (warm
//! starts). [`Brent::solve`] drives the same core with a closure, with an
//! iteration cap, an acceptance test and typed errors.

use crate::error::{Error, Result};

/// Brent's method for a root of `f` in a bracket `[a, b]` with
/// `f(a) f(b) ≤ 0` (R. P. Brent, *Algorithms for Minimization without
/// Derivatives*, 1973, ch. 4, procedure `zero`).
///
/// Each step takes inverse quadratic interpolation (or the secant) when it
/// stays inside the bracket and shrinks it fast enough, and bisection
/// otherwise, so the bracket never grows and at worst halves every other
/// step; for a smooth simple root convergence is superlinear. It needs
/// nothing from `f` but its sign changing across the bracket.
///
/// It stops when the bracket is narrower than
/// `2 · (relative · |x| + absolute)` around the best point `x` (the one with
/// the smallest `|f|`), when `f(x) = 0`, or when the caller's own acceptance
/// test on an evaluation holds (e.g. `|f|` below a certified error bound).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Brent {
    /// Absolute tolerance on the root.
    pub absolute: f64,
    /// Relative tolerance on the root.
    pub relative: f64,
    /// Iteration cap (evaluations of `f` inside the bracket).
    pub max_iterations: usize,
    /// Names the solver in a [`Error::NoConvergence`].
    pub name: &'static str,
}

/// Why [`Brent::solve`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The bracket shrank below the tolerance.
    Bracket,
    /// An exact zero, or the caller accepted the evaluation.
    Accepted,
}

/// The point [`Brent::solve`] returns and how it got there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Root {
    /// The best point found (smallest `|f|` among the bracket's ends).
    pub x: f64,
    /// `f(x)`.
    pub value: f64,
    /// Evaluations of `f` made by the solver (the bracket's ends are given).
    pub iterations: usize,
    /// Why it stopped.
    pub stop: Stop,
}

/// One evaluation: the function value and whether the caller accepts the
/// point as a root.
pub(crate) struct Evaluation {
    pub value: f64,
    pub accept: bool,
}

/// State of a bracketed Brent search for a sign change of `f`, in
/// reverse-communication form (see the module docs).
///
/// The bracket `[b, c]` always holds a sign change; `b` is the best point
/// (smallest `|f|`), `a` the previous `b`. A step is inverse quadratic
/// interpolation (or the secant) when it stays inside the bracket and
/// shrinks faster than the step before last, bisection otherwise; a
/// non-finite function value (e.g. an infinite gauge at one end) forces
/// bisection. The search is done when the bracket is narrower than
/// `2 · (2ε_mach|b| + relative·|b| + absolute)` or `f(b) = 0`.
#[derive(Debug, Clone)]
pub(crate) struct BrentSearch {
    a: f64,
    b: f64,
    c: f64,
    fa: f64,
    fb: f64,
    fc: f64,
    d: f64,
    e: f64,
    absolute: f64,
    relative: f64,
}

impl BrentSearch {
    /// A search on `[x0, x1]` where `f(x0)` and `f(x1)` have opposite signs
    /// (or one is zero), to the absolute and relative accuracy given.
    pub(crate) fn new(x0: f64, f0: f64, x1: f64, f1: f64, absolute: f64, relative: f64) -> Self {
        BrentSearch {
            a: x0,
            b: x1,
            c: x0,
            fa: f0,
            fb: f1,
            fc: f0,
            d: x1 - x0,
            e: x1 - x0,
            absolute,
            relative,
        }
    }

    #[cfg(test)]
    /// The best point so far (smallest `|f|` among the bracket's ends) and
    /// its value.
    pub(crate) fn best(&self) -> (f64, f64) {
        if self.fc.abs() < self.fb.abs() {
            (self.c, self.fc)
        } else {
            (self.b, self.fb)
        }
    }

    /// The two ends of the current bracket with their function values.
    pub(crate) fn ends(&self) -> [(f64, f64); 2] {
        [(self.b, self.fb), (self.c, self.fc)]
    }

    /// The width of the current bracket.
    pub(crate) fn width(&self) -> f64 {
        (self.c - self.b).abs()
    }

    /// The half-width below which the bracket counts as converged at `b`.
    fn tolerance(&self) -> f64 {
        2.0 * f64::EPSILON * self.b.abs() + self.relative * self.b.abs() + self.absolute
    }

    /// Makes `b` the best end; true when the bracket is within tolerance or
    /// `f(b) = 0`.
    pub(crate) fn converged(&mut self) -> bool {
        if self.fc.abs() < self.fb.abs() {
            self.a = self.b;
            self.b = self.c;
            self.c = self.a;
            self.fa = self.fb;
            self.fb = self.fc;
            self.fc = self.fa;
        }
        0.5 * (self.c - self.b).abs() <= self.tolerance() || self.fb == 0.0
    }

    /// The next point to evaluate, or `None` when the search has
    /// [`converged`](Self::converged).
    pub(crate) fn propose(&mut self) -> Option<f64> {
        if self.converged() {
            return None;
        }
        let tol = self.tolerance();
        let m = 0.5 * (self.c - self.b);
        let finite = self.fa.is_finite() && self.fb.is_finite() && self.fc.is_finite();
        if !finite || self.e.abs() < tol || self.fa.abs() <= self.fb.abs() {
            self.d = m;
            self.e = m;
        } else {
            // Interpolation: the secant if only two points are distinct,
            // else inverse quadratic.
            let s = self.fb / self.fa;
            let (mut p, mut q);
            if self.a == self.c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let qa = self.fa / self.fc;
                let r = self.fb / self.fc;
                p = s * (2.0 * m * qa * (qa - r) - (self.b - self.a) * (r - 1.0));
                q = (qa - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            // Accept only a step inside the bracket that shrinks faster
            // than the step before last.
            let previous = self.e;
            self.e = self.d;
            if 2.0 * p < 3.0 * m * q - (tol * q).abs() && p < (0.5 * previous * q).abs() {
                self.d = p / q;
            } else {
                self.d = m;
                self.e = m;
            }
        }
        self.a = self.b;
        self.fa = self.fb;
        self.b += if self.d.abs() > tol {
            self.d
        } else {
            tol.copysign(m)
        };
        Some(self.b)
    }

    /// Records `f` at the point last returned by [`propose`](Self::propose).
    pub(crate) fn observe(&mut self, fx: f64) {
        self.fb = fx;
        if (self.fb > 0.0 && self.fc > 0.0) || (self.fb < 0.0 && self.fc < 0.0) {
            self.c = self.a;
            self.fc = self.fa;
            self.d = self.b - self.a;
            self.e = self.d;
        }
    }
}

impl Brent {
    /// Finds a root of `f` in `[a, b]`, given `fa = f(a)` and `fb = f(b)` of
    /// opposite signs (or one of them zero), by driving a [`BrentSearch`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the ends do not bracket a root or are
    /// not finite; [`Error::NoConvergence`] at the iteration cap (its `gap`
    /// holds the bracket width reached); any error of `f`.
    pub fn solve<F>(&self, mut f: F, a: f64, b: f64, fa: f64, fb: f64) -> Result<Root>
    where
        F: FnMut(f64) -> Result<Evaluation>,
    {
        let finite = a.is_finite() && b.is_finite();
        if !finite || fa.is_nan() || fb.is_nan() {
            return Err(Error::InvalidParameter {
                name: "bracket",
                value: if a.is_finite() { b } else { a },
                reason: "the bracket's ends and values must be finite",
            });
        }
        if fa == 0.0 || fb == 0.0 {
            let (x, value) = if fa == 0.0 { (a, fa) } else { (b, fb) };
            return Ok(Root {
                x,
                value,
                iterations: 0,
                stop: Stop::Accepted,
            });
        }
        if (fa > 0.0) == (fb > 0.0) {
            return Err(Error::InvalidParameter {
                name: "bracket",
                value: fa,
                reason: "f must change sign across the bracket",
            });
        }
        let mut search = BrentSearch::new(a, fa, b, fb, self.absolute, self.relative);
        for iteration in 0..self.max_iterations {
            let Some(x) = search.propose() else {
                return Ok(search.root(iteration));
            };
            let evaluation = f(x)?;
            if evaluation.value.is_nan() {
                return Err(Error::InvalidParameter {
                    name: "root finder",
                    value: x,
                    reason: "the function returned NaN inside the bracket",
                });
            }
            search.observe(evaluation.value);
            if evaluation.accept {
                return Ok(Root {
                    x,
                    value: evaluation.value,
                    iterations: iteration + 1,
                    stop: Stop::Accepted,
                });
            }
        }
        if search.converged() {
            return Ok(search.root(self.max_iterations));
        }
        Err(Error::NoConvergence {
            solver: self.name,
            iterations: self.max_iterations,
            residual: "bracket width",
            gap: search.width(),
            target: self.relative * search.b.abs() + self.absolute,
        })
    }
}

impl BrentSearch {
    /// The converged search as a [`Root`] after `iterations` evaluations.
    fn root(&self, iterations: usize) -> Root {
        Root {
            x: self.b,
            value: self.fb,
            iterations,
            stop: if self.fb == 0.0 {
                Stop::Accepted
            } else {
                Stop::Bracket
            },
        }
    }
}

/// Safeguarded Newton for a root of a non-decreasing `f` in a bracket
/// `[lo, hi]` with `f(lo) ≤ 0 ≤ f(hi)` (the `rtsafe` safeguard of Press et
/// al., *Numerical Recipes*, §9.4).
///
/// Each evaluation returns `(f(x), f'(x))` and narrows the bracket by the
/// sign of `f(x)`. The Newton step `x − f/f'` is taken when `f' > 0`, it
/// lands strictly inside the bracket, and it is at most half the step
/// before last or continues the last step in the same direction without
/// growing; otherwise the bracket is bisected. So either the bracket
/// halves at least every other step, or the iterates approach the root
/// monotonically from one side with non-increasing steps (Newton on a
/// convex or concave stretch, which needs no safeguard); near a simple
/// root convergence is quadratic. It stops when `f(x) = 0`, when a
/// step (Newton's, or a bisection) moves `x` by at most the tolerance
/// `relative · |x| + absolute` (returning the new point), or
/// when the bracket is narrower than the tolerance at its larger end
/// (returning its midpoint).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Newton {
    /// Absolute tolerance on the root.
    pub absolute: f64,
    /// Relative tolerance on the root.
    pub relative: f64,
    /// Iteration cap (evaluations of `f`).
    pub max_iterations: usize,
    /// Names the solver in a [`Error::NoConvergence`].
    pub name: &'static str,
}

/// Where a [`Newton`] search ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NewtonRoot {
    /// The root found (at the iteration cap: the last iterate).
    pub x: f64,
    /// The final bracket: `f(lo) ≤ 0 ≤ f(hi)` as far as the evaluations showed.
    pub lo: f64,
    /// See `lo`.
    pub hi: f64,
    /// False when the iteration cap was reached first.
    pub converged: bool,
}

impl Newton {
    /// Searches `[lo, hi]` from `start` (clamped into the bracket) and
    /// returns where the search ended, converged or not (for inner steps
    /// whose caller has its own fallback; see [`Newton::solve`]).
    pub fn search<F>(&self, mut f: F, mut lo: f64, mut hi: f64, start: f64) -> NewtonRoot
    where
        F: FnMut(f64) -> (f64, f64),
    {
        let done = |x: f64, lo: f64, hi: f64| NewtonRoot {
            x,
            lo,
            hi,
            converged: true,
        };
        // An empty bracket (or a NaN end): nothing to search.
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            return done(lo, lo, hi);
        }
        let mut x = start.clamp(lo, hi);
        let mut step_before_last = hi - lo;
        let mut last_step = step_before_last;
        for _ in 0..self.max_iterations {
            let (value, slope) = f(x);
            if value == 0.0 {
                return done(x, lo, hi);
            }
            if value < 0.0 {
                lo = x;
            } else {
                hi = x;
            }
            let tolerance = |x: f64| self.relative * x.abs() + self.absolute;
            if hi - lo <= tolerance(hi.abs().max(lo.abs())) {
                return done(0.5 * (lo + hi), lo, hi);
            }
            let newton = x - value / slope;
            let step = newton - x;
            if slope > 0.0 && step.abs() <= tolerance(x) {
                // A Newton step below the resolution asked for: converged.
                return done(newton.clamp(lo, hi), lo, hi);
            }
            let shrinking = 2.0 * step.abs() <= step_before_last.abs();
            let monotone = step * last_step > 0.0 && step.abs() <= last_step.abs();
            let accept = slope > 0.0 && newton > lo && newton < hi && (shrinking || monotone);
            let next = if accept { newton } else { 0.5 * (lo + hi) };
            if (next - x).abs() <= tolerance(next) {
                return done(next, lo, hi);
            }
            step_before_last = last_step;
            last_step = next - x;
            x = next;
        }
        NewtonRoot {
            x,
            lo,
            hi,
            converged: false,
        }
    }

    /// As [`Newton::search`], with a typed error at the iteration cap.
    ///
    /// # Errors
    /// [`Error::NoConvergence`] at the iteration cap (its `gap` holds the
    /// bracket width reached).
    pub fn solve<F>(&self, f: F, lo: f64, hi: f64, start: f64) -> Result<f64>
    where
        F: FnMut(f64) -> (f64, f64),
    {
        let root = self.search(f, lo, hi, start);
        if root.converged {
            return Ok(root.x);
        }
        Err(Error::NoConvergence {
            solver: self.name,
            iterations: self.max_iterations,
            residual: "bracket width",
            gap: root.hi - root.lo,
            target: self.relative * root.hi.abs().max(root.lo.abs()) + self.absolute,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(value: f64) -> Result<Evaluation> {
        Ok(Evaluation {
            value,
            accept: false,
        })
    }

    const BRENT: Brent = Brent {
        absolute: 0.0,
        relative: 0.0,
        max_iterations: 200,
        name: "test",
    };

    #[test]
    fn finds_the_cube_root_of_two_to_rounding() {
        let f = |x: f64| x * x * x - 2.0;
        let root = BRENT.solve(|x| plain(f(x)), 0.0, 2.0, -2.0, 6.0).unwrap();
        let exact = 2f64.cbrt();
        assert!((root.x - exact).abs() <= 4.0 * f64::EPSILON * exact);
        assert!(root.iterations < 20, "{} iterations", root.iterations);
    }

    #[test]
    fn decreasing_functions_and_flat_tails() {
        // f(x) = max(1 − x, 0)³ − 1/8 has its root at 1/2 and is flat past 1.
        let f = |x: f64| (1.0 - x).max(0.0).powi(3) - 0.125;
        let root = BRENT
            .solve(|x| plain(f(x)), 0.0, 10.0, f(0.0), f(10.0))
            .unwrap();
        assert!((root.x - 0.5).abs() <= 4.0 * f64::EPSILON);
    }

    #[test]
    fn acceptance_stops_early() {
        let mut calls = 0;
        let root = BRENT
            .solve(
                |x| {
                    calls += 1;
                    Ok(Evaluation {
                        value: x - 0.3,
                        accept: (x - 0.3).abs() < 0.1,
                    })
                },
                0.0,
                1.0,
                -0.3,
                0.7,
            )
            .unwrap();
        assert_eq!(root.stop, Stop::Accepted);
        assert!((root.x - 0.3).abs() < 0.1);
        assert_eq!(calls, root.iterations);
    }

    #[test]
    fn rejects_a_bad_bracket() {
        let err = BRENT.solve(plain, 1.0, 2.0, 1.0, 2.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid bracket = 1: f must change sign across the bracket"
        );
        assert!(BRENT.solve(plain, f64::NAN, 2.0, -1.0, 2.0).is_err());
    }

    #[test]
    fn reports_the_iteration_cap() {
        let capped = Brent {
            max_iterations: 3,
            ..BRENT
        };
        let err = capped
            .solve(|x| plain(x.powi(9) - 1e-30), 0.0, 1.0, -1e-30, 1.0)
            .unwrap_err();
        assert!(matches!(err, Error::NoConvergence { iterations: 3, .. }));
    }

    /// Drives the reverse-communication core alone, as the dual solvers do.
    fn find_root(
        mut f: impl FnMut(f64) -> f64,
        lo: f64,
        f_lo: f64,
        hi: f64,
        f_hi: f64,
        max_evaluations: usize,
    ) -> f64 {
        let mut search = BrentSearch::new(lo, f_lo, hi, f_hi, 0.0, 0.0);
        for _ in 0..max_evaluations {
            match search.propose() {
                Some(x) => search.observe(f(x)),
                None => break,
            }
        }
        search.best().0
    }

    #[test]
    fn reverse_communication_finds_roots_of_smooth_and_kinked_functions() {
        let cube = |x: f64| x * x * x - 2.0;
        let root = find_root(cube, 0.0, -2.0, 2.0, 6.0, 200);
        assert!((root - 2f64.cbrt()).abs() < 4e-16);
        // Piecewise linear with a kink right of the root.
        let kinked = |x: f64| {
            if x < 0.3 {
                1.0 - 5.0 * x
            } else {
                -0.5 - (x - 0.3)
            }
        };
        let root = find_root(kinked, 0.0, 1.0, 1.0, -1.2, 200);
        assert!((root - 0.2).abs() < 1e-15);
    }

    #[test]
    fn reverse_communication_survives_an_infinite_end_value() {
        let f = |x: f64| {
            if x == 0.0 {
                f64::INFINITY
            } else {
                1.0 / x - 4.0
            }
        };
        let root = find_root(f, 0.0, f64::INFINITY, 1.0, -3.0, 500);
        assert!((root - 0.25).abs() < 1e-15);
    }

    const NEWTON: Newton = Newton {
        absolute: 0.0,
        relative: 4.0 * f64::EPSILON,
        max_iterations: 200,
        name: "test",
    };

    #[test]
    fn newton_finds_the_cube_root_of_two_quadratically() {
        let mut calls = 0;
        let x = NEWTON
            .solve(
                |x| {
                    calls += 1;
                    (x * x * x - 2.0, 3.0 * x * x)
                },
                0.0,
                2.0,
                1.0,
            )
            .unwrap();
        let exact = 2f64.cbrt();
        assert!((x - exact).abs() <= 4.0 * f64::EPSILON * exact);
        // From 1: 1.33, 1.263, 1.25999, … doubles the correct digits each step.
        assert!(calls <= 8, "{calls} evaluations");
    }

    #[test]
    fn newton_falls_back_to_bisection_where_it_would_cycle() {
        // arctan: Newton from more than 1.39 away from the root overshoots
        // and diverges; the bracket keeps every step inside and the root is
        // still found.
        let f = |x: f64| ((x - 0.3).atan(), 1.0 / (1.0 + (x - 0.3).powi(2)));
        let x = NEWTON.solve(f, -3.0, 10.0, 9.0).unwrap();
        assert!((x - 0.3).abs() <= 4.0 * f64::EPSILON, "{x:e}");
    }

    #[test]
    fn newton_takes_monotone_steps_from_a_convex_side() {
        // e^x − 1e-3 from x = 0 (convex, increasing): Newton creeps left in
        // steps of about 1 before converging quadratically. The monotone
        // steps are kept, so it needs no more evaluations than plain
        // Newton (13), where bisection on [−50, 0] would need ~55.
        let mut calls = 0;
        let x = NEWTON
            .solve(
                |x: f64| {
                    calls += 1;
                    (x.exp() - 1e-3, x.exp())
                },
                -50.0,
                0.0,
                0.0,
            )
            .unwrap();
        assert!((x - 1e-3f64.ln()).abs() <= 4.0 * f64::EPSILON * 7.0);
        assert!(calls <= 14, "{calls} evaluations");
    }

    #[test]
    fn newton_reports_the_iteration_cap() {
        let capped = Newton {
            max_iterations: 3,
            ..NEWTON
        };
        let err = capped
            .solve(|x: f64| (x.powi(9) - 1e-30, 9.0 * x.powi(8)), 0.0, 1.0, 1.0)
            .unwrap_err();
        assert!(matches!(err, Error::NoConvergence { iterations: 3, .. }));
        let root = capped.search(|x: f64| (x.powi(9) - 1e-30, 9.0 * x.powi(8)), 0.0, 1.0, 1.0);
        assert!(!root.converged && root.lo <= root.x && root.x <= root.hi);
    }

    #[test]
    fn both_drivers_take_the_same_steps() {
        let f = |x: f64| (x - 0.3).powi(3) + 0.01 * (x - 0.3);
        let (f0, f1) = (f(0.0), f(1.0));
        let mut closure_points = Vec::new();
        BRENT
            .solve(
                |x| {
                    closure_points.push(x);
                    plain(f(x))
                },
                0.0,
                1.0,
                f0,
                f1,
            )
            .unwrap();
        let mut search = BrentSearch::new(0.0, f0, 1.0, f1, 0.0, 0.0);
        let mut points = Vec::new();
        while let Some(x) = search.propose() {
            points.push(x);
            search.observe(f(x));
        }
        assert_eq!(points, closure_points);
    }
}
