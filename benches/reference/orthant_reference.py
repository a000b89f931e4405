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

`bash benches/compare.sh --orthant` runs the crate's bench first and passes
its output as `--crate-log`: the table then has both sides (the crate's
criterion median and robust error with its bound, scipy's time and value,
their difference and the plain Monte Carlo sample count for the same
accuracy) and is also written to target/orthant-table.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
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
    parser.add_argument("--crate-log", help="output of `cargo bench --bench orthant`, for the side-by-side table")
    parser.add_argument("--accuracies", default="1e-6,1e-7",
                        help="comma-separated absolute errors (1e-7 at K = 10 takes minutes)")
    parser.add_argument("--out", default=str(ROOT / "target" / "orthant-reference.json"))
    parser.add_argument("--reuse", help="a JSON written by an earlier run (--out): print the side-by-side "
                        "table from its scipy rows instead of running scipy again")
    args = parser.parse_args()
    if args.reuse:
        saved = json.loads(Path(args.reuse).read_text())
        print(f"scipy rows reused from {args.reuse} (scipy {saved['scipy']})")
        rows = [r for r in saved["rows"] if not args.only or r["K"] == args.only]
        if args.crate_log:
            table = side_by_side(rows, Path(args.crate_log))
            print(table)
            (target_dir() / "orthant-table.md").write_text(table)
        return
    rows = []
    print(f"scipy {scipy.__version__}, numpy {np.__version__}, load {os.getloadavg()[0]:.2f}")
    # CPU time as well as wall time: run with `nice` on a shared machine,
    # the wall time measures the load more than scipy.
    print("K  eps  accuracy  robust error       median time   CPU time")
    for (k, eps), problems in sorted(read_problems().items()):
        if args.only and k != args.only:
            continue
        for accuracy in [float(a) for a in args.accuracies.split(",")]:
            times, cpu_times, values = [], [], []
            for r in range(args.repeats):
                start, cpu_start = time.perf_counter(), time.process_time()
                values.append(robust_error(problems, accuracy, seed=r))
                times.append(time.perf_counter() - start)
                cpu_times.append(time.process_time() - cpu_start)
            t, cpu = statistics.median(times), statistics.median(cpu_times)
            print(f"{k:2} {eps:4} {accuracy:8.0e}  {values[0]:.10f}  {t:10.3f} s  {cpu:10.3f} s  (load {os.getloadavg()[0]:.2f})", flush=True)
            rows.append({"K": k, "epsilon": eps, "accuracy": accuracy, "value": values[0],
                         "seconds": t, "cpu_seconds": cpu})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"scipy": scipy.__version__, "rows": rows}, f, indent=1)
    if args.crate_log:
        table = side_by_side(rows, Path(args.crate_log))
        print(table)
        (target_dir() / "orthant-table.md").write_text(table)


def target_dir() -> Path:
    """Cargo's target directory (honors CARGO_TARGET_DIR and config)."""
    try:
        out = subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return Path(json.loads(out)["target_directory"])
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
        return ROOT / "target"


# A line of the crate bench's report: K, eps, target, robust error, bound,
# single-run time, plain Monte Carlo samples and their estimated time.
CRATE_LINE = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+) ms\s+(\S+) samples")


def side_by_side(rows, crate_log: Path) -> str:
    crate = {}
    for line in crate_log.read_text().splitlines():
        m = CRATE_LINE.match(line)
        if m:
            k, eps, acc, value, bound, _, samples = m.groups()
            crate[(int(k), float(eps), float(acc))] = (float(value), float(bound), float(samples))
    criterion = target_dir() / "criterion" / "orthant"

    def median(k, eps, acc):
        name = f"robust_error_k{k}_eps{eps:g}_{acc:.0e}".replace("e-0", "e-")
        try:
            data = json.loads((criterion / name / "new" / "estimates.json").read_text())
            return data["median"]["point_estimate"] * 1e-9
        except (OSError, ValueError, KeyError):
            return None

    lines = [f"load {os.getloadavg()[0]:.2f}; scipy {scipy.__version__} (CPU time, run with nice), crate: criterion median (wall, 2 threads)", "",
             "| K | ε | target | crate: RE ± bound | crate time | scipy RE | scipy CPU time | ratio | difference | plain MC samples |",
             "|---|---|---|---|---:|---|---:|---:|---:|---:|"]
    largest = 0.0
    for r in rows:
        key = (r["K"], r["epsilon"], r["accuracy"])
        value, bound, samples = crate.get(key, (float("nan"),) * 3)
        t = median(*key)
        t_text = "—" if t is None else (f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s")
        ratio = "—" if t is None else f"{r['cpu_seconds'] / t:.0f}×"
        difference = abs(value - r["value"])
        if difference == difference:
            largest = max(largest, difference)
        lines.append(f"| {r['K']} | {r['epsilon']:g} | {r['accuracy']:.0e} | {value:.9f} ± {bound:.1e} | {t_text} | "
                     f"{r['value']:.9f} | {r['cpu_seconds']:.3g} s | {ratio} | {difference:.1e} | {samples:.1e} |")
    lines += ["", f"largest |crate − scipy| at the same target: {largest:.1e}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
