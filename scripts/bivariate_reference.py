#!/usr/bin/env python3
"""Reference values for the bivariate normal distribution function
`normal::bivariate_cdf` in `src/normal.rs`.

How to regenerate (from the repository root):

    pip install mpmath
    python3 scripts/bivariate_reference.py

This writes `tests/data/bivariate_reference.csv` with columns `h,k,rho,cdf`:
Phi2(h, k; rho) = P(X <= h, Y <= k) for standard normals with correlation rho,
on a grid covering the center, the far lower tails (values down to 1e-300),
correlations up to |rho| = 1 - 1e-6, and seeded pseudo-random points.

Every input is a double printed with `repr`, so it reads back as exactly the
same double; rho is rounded to a double *before* the reference is computed.
The value is computed by mpmath at 30 significant digits as the integral

    Phi2(h, k; rho) = int_{-inf}^{h} phi(x) Phi((k - rho x) / sqrt(1 - rho^2)) dx,

and again with the roles of h and k swapped; the two quadratures must agree to
1e-20 relative or the point is rejected (the script stops). Values below
1e-300 are not written (outside the accuracy contract). The output is
deterministic (fixed random seed).
"""

import os
import random

import mpmath
from mpmath import mp, mpf

mp.dps = 30

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")


def fmt(v):
    if v == 0:
        return "0"
    return mpmath.nstr(v, 17, min_fixed=0, max_fixed=0, strip_zeros=False)


def Phi(x):
    return mpmath.erfc(-x / mpmath.sqrt(2)) / 2


def phi(x):
    return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def one_way(h, k, rho):
    """int_{-inf}^{h} phi(x) Phi((k - rho x)/s) dx with breakpoints at the
    mode of the log-concave integrand and around the transition x = k/rho."""
    s = mpmath.sqrt((1 - rho) * (1 + rho))

    def f(x):
        return phi(x) * Phi((k - rho * x) / s)

    def dlog(x):
        z = (k - rho * x) / s
        return -x - (rho / s) * phi(z) / Phi(z)

    # Mode of the log-concave integrand on (-inf, h].
    if dlog(h) >= 0:
        mode = h
    else:
        lo = min(h, mpf(0)) - 1
        while dlog(lo) <= 0:
            lo = h - 2 * (h - lo)
        hi = h
        for _ in range(200):
            mid = (lo + hi) / 2
            if dlog(mid) > 0:
                lo = mid
            else:
                hi = mid
        mode = (lo + hi) / 2
    pts = {mode}
    # Geometric scales: the peak's width lies between 1/|g'(h)| and 1, and
    # the transition around x = k/rho has width s.
    scales = [mpf(4) ** e for e in range(-7, 4)]
    widths = scales + [s * t for t in scales]
    for w in widths:
        pts.add(mode - w)
        pts.add(mode + w)
    if rho != 0:
        c = k / rho
        for w in [0] + widths:
            pts.add(c - w)
            pts.add(c + w)
    lower = mode - 60
    pts = sorted(p for p in pts if lower < p < h)
    pts = [-mpmath.inf, lower] + pts + [h]
    # mpmath's quadrature stops on an absolute error of about 10^-dps, so the
    # integrand is scaled to a peak of about 1 (values go down to 1e-300).
    peak = f(mode)
    return peak * mpmath.quad(lambda x: f(x) / peak, pts, maxdegree=10)


def reference(h, k, rho):
    a = one_way(mpf(h), mpf(k), mpf(rho))
    b = one_way(mpf(k), mpf(h), mpf(rho))
    if abs(a - b) > mpf("1e-20") * abs(a):
        raise SystemExit(f"quadratures disagree at {h!r},{k!r},{rho!r}: {a} vs {b}")
    return (a + b) / 2


def main():
    rng = random.Random(20261203)
    rhos = [-(1.0 - 1e-6), -0.9999, -0.99, -0.7, -0.3, 0.0, 0.3, 0.7, 0.99, 0.9999,
            1.0 - 1e-6]
    hs = [-37.0, -26.0, -12.0, -5.0, -1.5, 0.0, 0.3, 1.0, 3.0, 8.0]
    points = []
    for rho in rhos:
        for h in hs:
            for k in hs:
                if k < h:
                    continue
                points.append((h, k, rho))
    for _ in range(150):
        h = rng.uniform(-38.0, 8.0)
        k = rng.uniform(-38.0, 8.0)
        u = rng.random()
        if u < 0.2:
            rho = 1.0 - 10 ** rng.uniform(-6, -1)
        elif u < 0.4:
            rho = -1.0 + 10 ** rng.uniform(-6, -1)
        else:
            rho = rng.uniform(-0.99, 0.99)
        points.append((h, k, rho))
    os.makedirs(DATA, exist_ok=True)
    out = os.path.join(DATA, "bivariate_reference.csv")
    written = 0
    with open(out, "w") as f:
        f.write("h,k,rho,cdf\n")
        for h, k, rho in points:
            v = reference(h, k, rho)
            if v < mpf("1e-300"):
                continue
            f.write(f"{h!r},{k!r},{rho!r},{fmt(v)}\n")
            written += 1
    print(f"wrote {written} rows to {out}")


if __name__ == "__main__":
    main()
