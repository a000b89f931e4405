#!/usr/bin/env python3
"""Reference values for `normal::orthant_probability` and
`normal::exceedance_probability` (src/normal/orthant/mod.rs) on equicorrelated
normal vectors.

How to regenerate (from the repository root):

    pip install mpmath
    python3 scripts/orthant_reference.py

This writes `tests/data/orthant_reference.csv` with columns
`m,rho,h,orthant,exceedance`: for Z ~ N(0, C) in m dimensions with unit
variances and every correlation equal to rho >= 0, and thresholds h (the m
values joined by ';'),

    orthant    = P(Z_j <= h_j for all j)
               = int phi(x) prod_j Phi((h_j + sqrt(rho) x) / sqrt(1 - rho)) dx
    exceedance = 1 - orthant = P(Z_j > h_j for some j)

(write Z_j = sqrt(rho) X + sqrt(1 - rho) E_j with X, E_j independent standard
normals). The integral is computed by mpmath at 80 significant digits on
(-inf, inf), split at the points where the integrand changes fastest, and
again on a different split; the two must agree to 1e-40 relative (for both the
orthant and the exceedance) or the script stops. The exceedance is formed
from the 80-digit orthant, so it keeps at least 30 digits down to 1e-40.

Every input is a double printed with `repr`, so it reads back as exactly the
same double. The output is deterministic (fixed random seed).
"""

import os
import random

from mpmath import mp, mpf

mp.dps = 80

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "orthant_reference.csv")


def orthant(h, rho, splits):
    rho = mpf(rho)
    a, b = mp.sqrt(rho), mp.sqrt(1 - rho)
    hs = [mpf(v) for v in h]

    def f(x):
        p = mp.npdf(x)
        for v in hs:
            p *= mp.ncdf((v + a * x) / b)
        return p

    return mp.quad(f, splits)


def reference(h, rho):
    centers = sorted(set(-float(v) / max(float(mp.sqrt(rho)), 1e-3) for v in h))
    centers = [c for c in centers if abs(c) < 40]
    first = orthant(h, rho, [-mp.inf] + [mpf(c) for c in centers] + [0, mp.inf]
                    if 0 not in centers else [-mp.inf] + [mpf(c) for c in centers] + [mp.inf])
    second = orthant(h, rho, [-mp.inf, -10, -3, -1, 0, 1, 3, 10, mp.inf])
    # Both splits must agree, for the orthant and for its complement.
    for a, b in [(first, second), (1 - first, 1 - second)]:
        if abs(a - b) > mpf("1e-40") * abs(a):
            raise SystemExit(f"quadratures disagree at m={len(h)} rho={rho} h={h}: {a} vs {b}")
    return first


def fmt(v):
    return mp.nstr(v, 30, min_fixed=0, max_fixed=0) if v != 0 else "0"


def main():
    rng = random.Random(20261203)
    cases = []
    for m in (3, 4, 5, 7, 9, 12):
        for rho in (0.1, 0.3, 0.5, 0.8, 0.95):
            for level in (-1.0, 0.0, 0.7, 1.5, 2.5):
                cases.append((rho, [level] * m))
            cases.append((rho, [round(rng.uniform(-1.0, 3.0), 3) for _ in range(m)]))
    # Far tails: small exceedances (the robust-error regime).
    for m in (3, 5, 9):
        for rho in (0.3, 0.5, 0.9):
            for level in (4.0, 6.0, 9.0, 12.0):
                cases.append((rho, [level] * m))
            cases.append((rho, [round(rng.uniform(5.0, 9.0), 3) for _ in range(m)]))
    with open(OUT, "w") as out:
        out.write("m,rho,h,orthant,exceedance\n")
        for rho, h in cases:
            p = reference(h, rho)
            out.write(f"{len(h)},{rho!r},{';'.join(repr(v) for v in h)},{fmt(p)},{fmt(1 - p)}\n")
    print(f"wrote {len(cases)} rows to {OUT}")


if __name__ == "__main__":
    main()
