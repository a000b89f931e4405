//! Bracketed root finding by Brent's method, in reverse-communication
//! form so that callers can stop early (on a certificate) or carry state
//! between evaluations (warm starts).
//!
//! Brent, *Algorithms for Minimization without Derivatives* (1973),
//! ch. 4 (`zeroin`): inverse quadratic interpolation and secant steps,
//! safeguarded by bisection, so the bracket shrinks at least linearly and
//! the root is found to `2·ε_mach·|x| + tol` in every case. Non-finite
//! function values (e.g. an infinite gauge at one end of the bracket)
//! force a bisection step.

/// State of a bracketed Brent search for a sign change of `f`.
#[derive(Debug, Clone)]
pub(crate) struct Brent {
    a: f64,
    b: f64,
    c: f64,
    fa: f64,
    fb: f64,
    fc: f64,
    d: f64,
    e: f64,
    tolerance: f64,
}

impl Brent {
    /// A search on `[x0, x1]` where `f(x0)` and `f(x1)` have opposite signs
    /// (or one is zero); `tolerance` is the absolute accuracy wanted in `x`.
    pub(crate) fn new(x0: f64, f0: f64, x1: f64, f1: f64, tolerance: f64) -> Brent {
        Brent {
            a: x0,
            b: x1,
            c: x0,
            fa: f0,
            fb: f1,
            fc: f0,
            d: x1 - x0,
            e: x1 - x0,
            tolerance,
        }
    }

    /// The best point so far (smallest `|f|` among the bracket ends).
    #[cfg(test)]
    fn best(&self) -> f64 {
        if self.fc.abs() < self.fb.abs() {
            self.c
        } else {
            self.b
        }
    }

    /// The two ends of the current bracket with their function values.
    pub(crate) fn ends(&self) -> [(f64, f64); 2] {
        [(self.b, self.fb), (self.c, self.fc)]
    }

    /// The next point to evaluate, or `None` when the bracket is already
    /// within tolerance (or a zero was hit).
    pub(crate) fn propose(&mut self) -> Option<f64> {
        if self.fc.abs() < self.fb.abs() {
            self.a = self.b;
            self.b = self.c;
            self.c = self.a;
            self.fa = self.fb;
            self.fb = self.fc;
            self.fc = self.fa;
        }
        let tol = 2.0 * f64::EPSILON * self.b.abs() + 0.5 * self.tolerance;
        let m = 0.5 * (self.c - self.b);
        if m.abs() <= tol || self.fb == 0.0 {
            return None;
        }
        let finite = self.fa.is_finite() && self.fb.is_finite() && self.fc.is_finite();
        if !finite || self.e.abs() < tol || self.fa.abs() <= self.fb.abs() {
            self.d = m;
            self.e = m;
        } else {
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
        } else if m > 0.0 {
            tol
        } else {
            -tol
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

/// Finds a zero of `f` on `[lo, hi]` (a sign change is required) to an
/// absolute accuracy `tolerance`, using at most `max_evaluations` calls.
#[cfg(test)]
fn find_root(
    mut f: impl FnMut(f64) -> f64,
    lo: f64,
    f_lo: f64,
    hi: f64,
    f_hi: f64,
    tolerance: f64,
    max_evaluations: usize,
) -> f64 {
    let mut search = Brent::new(lo, f_lo, hi, f_hi, tolerance);
    for _ in 0..max_evaluations {
        match search.propose() {
            Some(x) => search.observe(f(x)),
            None => break,
        }
    }
    search.best()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_roots_of_smooth_and_kinked_functions() {
        let cube = |x: f64| x * x * x - 2.0;
        let root = find_root(cube, 0.0, -2.0, 2.0, 6.0, 0.0, 200);
        assert!((root - 2f64.cbrt()).abs() < 4e-16);
        // Piecewise linear with a kink right of the root.
        let kinked = |x: f64| {
            if x < 0.3 {
                1.0 - 5.0 * x
            } else {
                -0.5 - (x - 0.3)
            }
        };
        let root = find_root(kinked, 0.0, 1.0, 1.0, -1.2, 0.0, 200);
        assert!((root - 0.2).abs() < 1e-15);
    }

    #[test]
    fn survives_an_infinite_end_value() {
        let f = |x: f64| {
            if x == 0.0 {
                f64::INFINITY
            } else {
                1.0 / x - 4.0
            }
        };
        let root = find_root(f, 0.0, f64::INFINITY, 1.0, -3.0, 0.0, 500);
        assert!((root - 0.25).abs() < 1e-15);
    }
}
