//! A bracketed, safeguarded scalar root finder (Brent's method), used where
//! a monotone equation has no closed-form inverse (matched budgets,
//! [THEORY §8](crate::theory#8-trade-offs)).

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

impl Brent {
    /// Finds a root of `f` in `[a, b]`, given `fa = f(a)` and `fb = f(b)` of
    /// opposite signs (or one of them zero).
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
        // Brent's variables: b is the best point, c the other end of the
        // bracket [b, c], a the previous b.
        let (mut a, mut b, mut fa, mut fb) = (a, b, fa, fb);
        let (mut c, mut fc) = (a, fa);
        let mut d = b - a;
        let mut e = d;
        for iteration in 0..=self.max_iterations {
            if (fb > 0.0) == (fc > 0.0) {
                c = a;
                fc = fa;
                d = b - a;
                e = d;
            }
            if fc.abs() < fb.abs() {
                a = b;
                b = c;
                c = a;
                fa = fb;
                fb = fc;
                fc = fa;
            }
            let tol = 2.0 * f64::EPSILON * b.abs() + self.relative * b.abs() + self.absolute;
            let half = 0.5 * (c - b);
            if half.abs() <= tol || fb == 0.0 {
                return Ok(Root {
                    x: b,
                    value: fb,
                    iterations: iteration,
                    stop: if fb == 0.0 {
                        Stop::Accepted
                    } else {
                        Stop::Bracket
                    },
                });
            }
            if iteration == self.max_iterations {
                break;
            }
            if e.abs() >= tol && fa.abs() > fb.abs() {
                // Interpolation: the secant if only two points are distinct,
                // else inverse quadratic.
                let s = fb / fa;
                let (mut p, mut q);
                if a == c {
                    p = 2.0 * half * s;
                    q = 1.0 - s;
                } else {
                    let qa = fa / fc;
                    let r = fb / fc;
                    p = s * (2.0 * half * qa * (qa - r) - (b - a) * (r - 1.0));
                    q = (qa - 1.0) * (r - 1.0) * (s - 1.0);
                }
                if p > 0.0 {
                    q = -q;
                } else {
                    p = -p;
                }
                // Accept only a step inside the bracket that shrinks faster
                // than the step before last.
                if 2.0 * p < (3.0 * half * q - (tol * q).abs()).min((e * q).abs()) {
                    e = d;
                    d = p / q;
                } else {
                    d = half;
                    e = d;
                }
            } else {
                d = half;
                e = d;
            }
            a = b;
            fa = fb;
            b += if d.abs() > tol { d } else { tol.copysign(half) };
            let evaluation = f(b)?;
            fb = evaluation.value;
            if fb.is_nan() {
                return Err(Error::InvalidParameter {
                    name: "root finder",
                    value: b,
                    reason: "the function returned NaN inside the bracket",
                });
            }
            if evaluation.accept {
                return Ok(Root {
                    x: b,
                    value: fb,
                    iterations: iteration + 1,
                    stop: Stop::Accepted,
                });
            }
        }
        Err(Error::NoConvergence {
            solver: self.name,
            iterations: self.max_iterations,
            residual: "bracket width",
            gap: (c - b).abs(),
            target: self.relative * b.abs() + self.absolute,
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
}
