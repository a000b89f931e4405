#!/usr/bin/env python3
"""Reference values for the standard normal functions in `src/normal.rs`.

How to regenerate (from the repository root):

    pip install mpmath
    python3 scripts/normal_reference.py

This writes three files, all read by `tests/normal.rs`:

* `tests/data/normal_reference.csv` with columns `x,cdf,ln_cdf,pdf` on a dense
  grid of x in [-37, 8] (a regular grid plus seeded pseudo-random points and
  points either side of the branch boundaries of the Rust code);
* `tests/data/normal_ln_cdf_tail_reference.csv` with columns `x,ln_cdf` for
  x in [-1e6, -37), where Phi(x) itself underflows or nearly underflows a
  double and only ln Phi(x) is checked;
* `tests/data/normal_quantile_reference.csv` with columns `p,quantile` for p
  from 1e-300 up to 1 - 1e-16 (log-spaced in both tails, linear in the middle).

Every input (x or p) is a double, printed with `repr` so that it reads back as
exactly the same double; the reference value is computed by mpmath at 50
significant digits for that exact double and printed with 17 significant
digits. The output is deterministic (fixed random seed).
"""

import math
import os
import random

import mpmath
from mpmath import mp, mpf

mp.dps = 50

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")


def fmt(v):
    """A high-precision value printed with 17 significant digits."""
    if v == 0:
        return "0"
    return mpmath.nstr(v, 17, min_fixed=0, max_fixed=0, strip_zeros=False)


def cdf(x):
    x = mpf(x)
    return mpmath.erfc(-x / mpmath.sqrt(2)) / 2


def ln_cdf(x):
    x = mpf(x)
    if x > 0:
        return mpmath.log1p(-cdf(-x))
    return mpmath.log(cdf(x))


def pdf(x):
    x = mpf(x)
    return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def quantile(p):
    """Phi^{-1}(p) for the exact double p, by Newton's method in log space."""
    p = mpf(p)
    if p > mpf(1) / 2:
        return -quantile(1 - p)  # 1 - p is exact at this working precision
    if p == mpf(1) / 2:
        return mpf(0)
    import statistics

    x = mpf(statistics.NormalDist().inv_cdf(float(p)))
    target = mpmath.log(p)
    for _ in range(100):
        # h(x) = ln Phi(x) - ln p, h'(x) = phi(x) / Phi(x).
        c = cdf(x)
        step = (mpmath.log(c) - target) * c / pdf(x)
        x -= step
        if abs(step) <= abs(x) * mpf(10) ** (-45):
            break
    else:
        raise RuntimeError("Newton did not converge for p = %r" % float(p))
    return x


def main_grid():
    xs = set()
    # Regular grid, step 1/16, over [-37, 8].
    for k in range(-37 * 16, 8 * 16 + 1):
        xs.add(k / 16.0)
    # Seeded pseudo-random doubles (full 53-bit mantissas).
    rng = random.Random(20240607)
    for _ in range(300):
        xs.add(rng.uniform(-37.0, 8.0))
    for _ in range(60):
        xs.add(rng.uniform(-1.0, 1.0))
    # Tiny arguments.
    for e in (1e-300, 1e-100, 1e-20, 1e-16, 1e-12, 1e-8, 1e-4):
        xs.add(e)
        xs.add(-e)
    # Either side of the branch points of the Rust code.
    for b in (0.67448975, math.sqrt(32.0), 37.0):
        for off in (-1e-9, -1e-15, 0.0, 1e-15, 1e-9):
            for s in (1.0, -1.0):
                v = s * (b + off)
                if -37.0 <= v <= 8.0:
                    xs.add(v)
    return sorted(xs)


def tail_grid():
    xs = set()
    # Log-spaced from just below -37 down to -1e6.
    n = 160
    for k in range(n + 1):
        t = math.log10(37.0) + (6.0 - math.log10(37.0)) * k / n
        v = -(10.0 ** t)
        if v < -37.0:
            xs.add(v)
    xs.add(-1e6)
    rng = random.Random(7)
    for _ in range(40):
        xs.add(-rng.uniform(37.0, 60.0))
    return sorted(xs)


def quantile_grid():
    ps = set()
    # Lower tail: log-spaced from 1e-300 to 1e-2, several points per decade.
    for e in range(2, 301):
        for m in (1.0, 2.5, 5.0):
            v = m * 10.0 ** (-e)
            if 1e-300 <= v <= 1e-2:
                ps.add(v)
    # Middle: linear from 0.01 to 0.99.
    for k in range(1, 100):
        ps.add(k / 100.0)
    rng = random.Random(99)
    for _ in range(100):
        ps.add(rng.uniform(0.01, 0.99))
    # Very close to 1/2, where the quantile is tiny.
    for e in range(2, 53, 3):
        ps.add(0.5 + 2.0 ** (-e))
        ps.add(0.5 - 2.0 ** (-e))
    # Upper tail: 1 - q with q log-spaced from 1e-2 down to 1e-16.
    for e in range(2, 17):
        for m in (1.0, 2.5, 5.0):
            q = m * 10.0 ** (-e)
            v = 1.0 - q
            if v < 1.0:
                ps.add(v)
    ps.add(1.0 - 1e-16)
    ps = {p for p in ps if 0.0 < p < 1.0}
    return sorted(ps)


def main():
    os.makedirs(DATA, exist_ok=True)

    path = os.path.join(DATA, "normal_reference.csv")
    with open(path, "w") as f:
        f.write("x,cdf,ln_cdf,pdf\n")
        for x in main_grid():
            f.write("%r,%s,%s,%s\n" % (x, fmt(cdf(x)), fmt(ln_cdf(x)), fmt(pdf(x))))
    print("wrote", path)

    path = os.path.join(DATA, "normal_ln_cdf_tail_reference.csv")
    with open(path, "w") as f:
        f.write("x,ln_cdf\n")
        for x in tail_grid():
            f.write("%r,%s\n" % (x, fmt(ln_cdf(x))))
    print("wrote", path)

    path = os.path.join(DATA, "normal_quantile_reference.csv")
    with open(path, "w") as f:
        f.write("p,quantile\n")
        for p in quantile_grid():
            f.write("%r,%s\n" % (p, fmt(quantile(p))))
    print("wrote", path)


if __name__ == "__main__":
    main()
