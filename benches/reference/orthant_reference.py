#!/usr/bin/env python3
"""scipy side of the orthant-probability benchmark (`cargo bench --bench orthant`).

Reads `benches/reference/orthant_digits.csv` (written by the Rust bench with
ORTHANT_WRITE_INPUTS=1: for K = 3, 5, 10 digit classes and l2 budgets
eps = 0, 1, the K exceedance problems of the Bayes rule's robust error, one
per true class, with the class prior, thresholds h and the (K-1)x(K-1)
margin covariance C), and computes each robust error

    RE = sum_y prior_y * (1 - P(Z <= h_y)),   Z ~ N(0, C_y),

with `scipy.stats.multivariate_normal.cdf` (Genz's quasi-Monte Carlo) at
absolute error 1e-6 and 1e-7, timing each robust error (median of
`--repeats` runs, default 1: they take seconds). Prints a table and writes
it as JSON to `--out` (default target/orthant-reference.json).

Run from the repository root:

    python3 benches/reference/orthant_reference.py [--repeats 3] [--only 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import scipy
from scipy.stats import multivariate_normal

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "benches" / "reference" / "orthant_digits.csv"


def read_problems():
    groups: dict[tuple[int, float], list] = {}
    with open(INPUTS) as f:
        header = f.readline().strip()
        assert header == "K,y,epsilon,prior,m,h,C", header
        for line in f:
            k, y, eps, prior, m, h, c = line.strip().split(",")
            m = int(m)
            h = np.array([float(v) for v in h.split(";")])
            c = np.array([float(v) for v in c.split(";")]).reshape(m, m)
            groups.setdefault((int(k), float(eps)), []).append((float(prior), h, c))
    return groups


def robust_error(problems, accuracy, seed):
    total = 0.0
    for prior, h, c in problems:
        # scipy's default point budget (10^6 per dimension), no relative
        # criterion: absolute error `accuracy`.
        inside = multivariate_normal.cdf(
            h, mean=np.zeros(len(h)), cov=c, allow_singular=True,
            abseps=accuracy, releps=0.0, rng=np.random.default_rng(seed),
        )
        total += prior * (1.0 - inside)
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--only", type=int, default=None, help="only this K")
    parser.add_argument("--out", default=str(ROOT / "target" / "orthant-reference.json"))
    args = parser.parse_args()
    rows = []
    print(f"scipy {scipy.__version__}, numpy {np.__version__}, load {os.getloadavg()[0]:.2f}")
    print("K  eps  accuracy  robust error       median time")
    for (k, eps), problems in sorted(read_problems().items()):
        if args.only and k != args.only:
            continue
        for accuracy in (1e-6, 1e-7):
            times, values = [], []
            for r in range(args.repeats):
                start = time.perf_counter()
                values.append(robust_error(problems, accuracy, seed=r))
                times.append(time.perf_counter() - start)
            t = statistics.median(times)
            print(f"{k:2} {eps:4} {accuracy:8.0e}  {values[0]:.10f}  {t:10.3f} s  (load {os.getloadavg()[0]:.2f})", flush=True)
            rows.append({"K": k, "epsilon": eps, "accuracy": accuracy, "value": values[0], "seconds": t})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"scipy": scipy.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
