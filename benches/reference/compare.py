#!/usr/bin/env python3
"""Run the crate's `perf` bench and the numpy/scipy reference, side by side.

Called by `bash benches/compare.sh` (see benches/reference/README.md), which
runs it from the repository root. Steps:

1. The crate: `cargo bench --bench perf -- --warm-up-time 1
   --measurement-time 3` (criterion group "perf", one function per job),
   read back from `<target>/criterion/perf/<job>/new/estimates.json`
   (median point estimate, ns). Skipped, with "—" in the table, when
   `benches/perf.rs` does not exist or the bench fails.
2. The reference: `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3
   benches/reference/reference.py ...`. Only this side unsets the two
   variables (they pin numpy's OpenBLAS to an older, slower kernel); the
   kernel it then runs is reported through threadpoolctl.
3. Peak memory of the d = 1e6, k = 32 spiked pipeline under `/usr/bin/time
   -v`: the crate's `examples/spiked_pipeline.rs` (if it exists) and the
   reference job in a subprocess of its own.
4. A Markdown table `job | this crate | reference | ratio`, the growth
   exponents (log-log slopes of time against d), the issue's targets, and
   the same text written to `<target>/perf-table.md`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "benches" / "reference" / "reference.py"
RUST_BENCH = ROOT / "benches" / "perf.rs"
RUST_EXAMPLE = ROOT / "examples" / "spiked_pipeline.rs"
GROUP = "perf"
UNSET_OPENBLAS = ["env", "-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE"]
CARGO_BENCH = ["cargo", "bench", "--bench", "perf", "--", "--warm-up-time", "1", "--measurement-time", "3"]
MEMORY_JOB = "spiked_pipeline_1000000_32"
GNU_TIME = "/usr/bin/time"

# Jobs only the crate runs: the STREAM-like read kernel that measures the
# machine's achievable read bandwidth over the attack jobs' data.
BANDWIDTH_JOB = "read_bandwidth_100000x784"
CRATE_ONLY_JOBS = [BANDWIDTH_JOB]
ATTACK_BYTES = 100_000 * 784 * 8
# Bytes each memory-bound job must read at least (its unavoidable passes),
# and what they are, for the fraction of the read bandwidth it reaches.
MEMORY_BOUND = {
    BANDWIDTH_JOB: (ATTACK_BYTES, "X once (100,000×784 f64)"),
    "matvec_100000x784": (ATTACK_BYTES, "X once"),
    "attack_l2_784": (ATTACK_BYTES, "X once"),
    "attack_linf_784": (ATTACK_BYTES, "X once"),
    "attack_generative_784": (ATTACK_BYTES, "X once"),
    "spiked_pipeline_1000000_32": (
        4 * 1_000_000 * 32 * 8,
        "U three times (validation UᵀU, μ's coordinates Uᵀμ, the Bayes weights and "
        "μ's off-manifold part U[c, c/λ]) and the 32 points once",
    ),
}

DENSE_GROWTH = [(d, f"dense_pipeline_{d}") for d in (128, 256, 512, 1024, 2048, 4096)]
SPIKED_GROWTH = [(d, f"spiked_pipeline_{d}_32") for d in (10_000, 100_000, 1_000_000)]


def log(message: str) -> None:
    print(f"\n=== {message}", flush=True)


def run(cmd: list[str], **kwargs) -> int:
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, **kwargs).returncode


def target_dir() -> Path:
    """Cargo's target directory (honors CARGO_TARGET_DIR and config)."""
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout
        return Path(json.loads(out)["target_directory"])
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
        return ROOT / "target"


def reference_jobs(patterns: str | None) -> list[str]:
    """The reference's job names, filtered like reference.py filters them."""
    cmd = [sys.executable, str(REFERENCE), "--list"]
    names = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    if not patterns:
        return names
    import fnmatch

    wanted = [p.strip() for p in patterns.split(",")]
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in wanted)]


def crate_only_jobs(patterns: str | None) -> list[str]:
    """The crate-only jobs selected by `--jobs` (all of them without it)."""
    if not patterns:
        return list(CRATE_ONLY_JOBS)
    import fnmatch

    wanted = [p.strip() for p in patterns.split(",")]
    return [n for n in CRATE_ONLY_JOBS if any(fnmatch.fnmatchcase(n, p) for p in wanted)]


# --------------------------------------------------------------------------
# The crate's side
# --------------------------------------------------------------------------


def run_rust_bench(jobs: list[str], filtered: bool) -> tuple[bool, str]:
    if not RUST_BENCH.exists():
        return False, f"{RUST_BENCH.relative_to(ROOT)} does not exist yet"
    cmd = list(CARGO_BENCH)
    if filtered:
        cmd.append("^" + GROUP + "/(" + "|".join(map(re.escape, jobs)) + ")$")
    code = run(cmd)
    if code != 0:
        return False, f"`cargo bench` exited with status {code}; results written before the failure are used"
    return True, ""


def rust_medians(criterion: Path, since: float | None) -> dict[str, float]:
    """Median seconds per job from criterion's estimates (fresh ones only if `since`)."""
    medians = {}
    group = criterion / GROUP
    if not group.is_dir():
        return medians
    for estimates in sorted(group.glob("*/new/estimates.json")):
        if since is not None and estimates.stat().st_mtime < since:
            continue  # left over from an earlier run
        try:
            data = json.loads(estimates.read_text())
            medians[estimates.parent.parent.name] = data["median"]["point_estimate"] * 1e-9
        except (ValueError, KeyError, TypeError):
            print(f"warning: cannot read {estimates}", file=sys.stderr)
    return medians


# --------------------------------------------------------------------------
# The reference side
# --------------------------------------------------------------------------


def run_reference(out: Path, meta: Path, jobs: list[str], filtered: bool, quick: bool) -> bool:
    cmd = UNSET_OPENBLAS + [sys.executable, str(REFERENCE), "--out", str(out), "--meta", str(meta)]
    if quick:
        cmd.append("--quick")
    if filtered:
        if not jobs:
            return True  # only crate-only jobs were selected
        cmd += ["--jobs", ",".join(jobs)]
    return run(cmd) == 0


# --------------------------------------------------------------------------
# Peak memory
# --------------------------------------------------------------------------


def peak_rss(cmd: list[str]) -> tuple[float | None, float | None, str]:
    """(peak RSS in bytes, wall seconds, the command's stdout) under GNU time -v."""
    print("$ " + " ".join([GNU_TIME, "-v"] + cmd), flush=True)
    proc = subprocess.run([GNU_TIME, "-v"] + cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.stdout:
        print(proc.stdout, end="", flush=True)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    if proc.returncode != 0 or rss is None:
        print(proc.stderr[-2000:], file=sys.stderr)
        return None, None, proc.stdout
    seconds = None
    if wall:
        hours, minutes, secs = wall.groups()
        seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
    return int(rss.group(1)) * 1024.0, seconds, proc.stdout


def measure_memory(target: Path, run_rust: bool) -> dict:
    result = {}
    if run_rust and RUST_EXAMPLE.exists():
        if run(["cargo", "build", "--release", "--example", "spiked_pipeline"]) == 0:
            binary = target / "release" / "examples" / "spiked_pipeline"
            rss, wall, _ = peak_rss([str(binary)])
            shown = binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary
            result["crate"] = {"rss": rss, "wall": wall, "command": f"{GNU_TIME} -v {shown}"}
    elif run_rust:
        result["crate_note"] = f"{RUST_EXAMPLE.relative_to(ROOT)} does not exist yet"
    scratch = target / "perf-memory-reference.json"
    scratch_meta = target / "perf-memory-reference-meta.json"
    cmd = UNSET_OPENBLAS + [sys.executable, str(REFERENCE), "--jobs", MEMORY_JOB, "--repeats", "1",
                            "--trace-memory", "--out", str(scratch), "--meta", str(scratch_meta)]
    rss, wall, _ = peak_rss(cmd)
    traced = None
    if rss is not None and scratch_meta.exists():
        traced = json.loads(scratch_meta.read_text())["jobs"][MEMORY_JOB].get("traced_peak_bytes")
    result["reference"] = {"rss": rss, "wall": wall, "traced": traced}
    # The interpreter with numpy and scipy loaded, for scale.
    base, _, _ = peak_rss([sys.executable, "-c", "import numpy, scipy.optimize, scipy.special, threadpoolctl"])
    result["reference_imports"] = base
    return result


# --------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def fmt_bytes(size: float | None) -> str:
    if size is None:
        return "—"
    if size >= 2**30:
        return f"{size / 2**30:.2f} GiB"
    return f"{size / 2**20:.0f} MiB"


def ratio(reference: float | None, crate: float | None) -> str:
    if reference is None or crate is None or crate <= 0.0:
        return "—"
    return f"{reference / crate:.2f}×"


def loglog_slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log t against log d (needs two points)."""
    if len(points) < 2:
        return None
    xs = [math.log(d) for d, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def growth_section(title: str, series, crate: dict, ref: dict) -> list[str]:
    lines = [f"### {title}", "", "| d | this crate | reference |", "|---:|---:|---:|"]
    for d, job in series:
        lines.append(f"| {d:,} | {fmt_time(crate.get(job))} | {fmt_time(ref.get(job))} |")
    exps = []
    for side, data in (("this crate", crate), ("reference", ref)):
        slope = loglog_slope([(d, data[job]) for d, job in series if data.get(job)])
        exps.append(f"{side} {slope:.2f}" if slope is not None else f"{side} —")
    lines += ["", f"Observed exponent (log-log slope of time against d): {'; '.join(exps)}.", ""]
    return lines


def bandwidth_section(crate: dict) -> list[str]:
    """Each memory-bound job's bytes per second as a fraction of the read kernel's."""
    peak = crate.get(BANDWIDTH_JOB)
    if peak is None:
        return []
    bandwidth = ATTACK_BYTES / peak
    lines = ["## Memory-bound passes against the read bandwidth", "",
             f"Read bandwidth (`{BANDWIDTH_JOB}`: a sum over the attack data, eight partial sums, "
             f"every core): **{bandwidth / 1e9:.1f} GB/s**.", "",
             "| job | bytes it must read | this crate | GB/s | fraction of the read bandwidth |",
             "|---|---|---:|---:|---:|"]
    for job, (size, what) in MEMORY_BOUND.items():
        t = crate.get(job)
        if job == BANDWIDTH_JOB or t is None:
            continue
        lines.append(f"| {job} | {size / 1e6:,.0f} MB: {what} | {fmt_time(t)} | "
                     f"{size / t / 1e9:.1f} | {size / t / bandwidth:.0%} |")
    return lines + [""]


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**not met**")


def targets_section(crate: dict, ref: dict, memory: dict) -> list[str]:
    """The targets of issue 14 (ratios are reference time / crate time)."""
    rows = []

    def at_least(job: str, minimum: float, label: str, ref_job: str | None = None) -> None:
        c, r = crate.get(job), ref.get(ref_job or job)
        ok = None if c is None or r is None else r / c >= minimum
        rows.append((label, "—" if ok is None else f"{r / c:.2f}×", verdict(ok)))

    for d in (1024, 3072):
        at_least(f"cov_dense_{d}", 0.95, f"eigendecomposition d = {d} at least 0.95× numpy.linalg.eigh")
    for kind in ("l2", "linf", "generative"):
        at_least(f"attack_{kind}_784", 1.0, f"attack_{kind}_784 at least 1.0× numpy")
    at_least("matvec_100000x784", 1.0, "one matrix–vector pass at least 1.0× numpy's X @ w")
    at_least(MEMORY_JOB, 1.0, "spiked pipeline d = 10⁶ at least 1.0× numpy")
    at_least("monte_carlo_1000000_64", 2.0, "Monte Carlo robust error at least 2× numpy")
    at_least("sweep_generative_1024", 1.0,
             "1,000-budget generative sweep at least 1.0× numpy's closed form",
             "sweep_generative_closed_form_1024")
    at_least("sweep_l2_1024", 100.0, "1,000-budget ℓ2 sweep at least 100× brentq")
    at_least("sweep_linf_256", 50.0, "20 certified ℓ∞ optima at least 50× L-BFGS-B")
    peak = crate.get(BANDWIDTH_JOB)
    for job in ("matvec_100000x784", "attack_l2_784", MEMORY_JOB):
        t = crate.get(job)
        ok = None if t is None or peak is None else (MEMORY_BOUND[job][0] / t) / (ATTACK_BYTES / peak) >= 0.9
        rows.append((f"{job} at ≥ 90% of the read bandwidth",
                     "—" if ok is None else f"{(MEMORY_BOUND[job][0] / t) / (ATTACK_BYTES / peak):.0%}",
                     verdict(ok)))
    rss = memory.get("crate", {}).get("rss")
    rows.append(("spiked pipeline peak RSS under 1.5 GiB (example binary)", fmt_bytes(rss),
                 verdict(None if rss is None else rss < 1.5 * 2**30)))
    lines = ["## The issue's targets", "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return lines + [""]


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} cores, load average {load:.2f} at the start"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def report(jobs, filtered, crate, ref, meta, memory, notes, machine) -> str:
    lines = [
        "# perf: this crate vs numpy/scipy",
        "",
        f"- {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, commit {git_commit()}, {machine}.",
        "- Medians: criterion's median for the crate "
        f"(`{' '.join(CARGO_BENCH)}`), the median of repeated runs for the reference "
        "(`benches/reference/reference.py`).",
    ]
    if meta:
        blas = "; ".join(
            f"{lib.get('prefix')} {lib.get('version')} kernel **{lib.get('architecture')}**, "
            f"{lib.get('num_threads')} threads" for lib in meta.get("blas", [])
        )
        env = meta.get("env", {})
        lines.append(
            f"- Reference: Python {meta.get('python')}, numpy {meta.get('numpy')}, "
            f"scipy {meta.get('scipy')}; {blas} (OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE')}, "
            f"OPENBLAS_L2_SIZE={env.get('OPENBLAS_L2_SIZE')}){' — quick mode' if meta.get('quick') else ''}."
        )
    lines += [f"- Note: {n}" for n in notes]
    lines += ["", "| job | this crate | reference | ratio (reference / crate) |", "|---|---:|---:|---:|"]
    extra = [j for j in crate if j not in jobs and (not filtered or j in CRATE_ONLY_JOBS)]
    for job in jobs + extra:
        lines.append(f"| {job} | {fmt_time(crate.get(job))} | {fmt_time(ref.get(job))} | "
                     f"{ratio(ref.get(job), crate.get(job))} |")
    lines.append("")
    lines += bandwidth_section(crate)
    lines.append("## Cost growth")
    lines.append("")
    lines += growth_section("Dense pipeline (validate + eigendecomposition, Bayes, 100-budget ℓ2 sweep)",
                            DENSE_GROWTH, crate, ref)
    lines += growth_section("Spiked pipeline, k = 32", SPIKED_GROWTH, crate, ref)
    if memory:
        lines += ["## Peak memory, spiked pipeline d = 1,000,000, k = 32 (`/usr/bin/time -v`)", "",
                  "| side | maximum resident set size | wall time of the process |", "|---|---:|---:|"]
        c = memory.get("crate")
        if c:
            lines.append(f"| this crate (`{c['command']}`) | {fmt_bytes(c['rss'])} | {fmt_time(c['wall'])} |")
        else:
            lines.append(f"| this crate | — ({memory.get('crate_note', 'not run')}) | — |")
        r = memory.get("reference", {})
        lines.append(f"| reference (`reference.py --jobs {MEMORY_JOB} --repeats 1`) | "
                     f"{fmt_bytes(r.get('rss'))} | {fmt_time(r.get('wall'))} |")
        lines += ["",
                  "Both processes include generating the inputs (U: d×k and the 32 points: "
                  "256 MB each in f64). The Python interpreter with numpy and scipy loaded "
                  f"takes {fmt_bytes(memory.get('reference_imports'))} on its own; the reference "
                  f"pipeline itself allocates at most {fmt_bytes(r.get('traced'))} beyond its inputs "
                  "(tracemalloc).", ""]
    lines += targets_section(crate, ref, memory)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run both sides of the perf comparison and print the table.")
    parser.add_argument("--quick", action="store_true", help="fewer repeats on the reference side")
    parser.add_argument("--jobs", help="comma-separated job names or patterns (e.g. 'sweep_*,cov_dense_1024')")
    parser.add_argument("--skip-rust", action="store_true",
                        help="do not run cargo; use the criterion results already on disk")
    parser.add_argument("--skip-reference", action="store_true",
                        help="do not run the reference; use <target>/perf-reference.json")
    parser.add_argument("--skip-memory", action="store_true", help="do not measure peak memory")
    args = parser.parse_args()

    probe = subprocess.run([sys.executable, "-c", "import numpy, scipy, threadpoolctl"], capture_output=True)
    if probe.returncode != 0:
        sys.exit("numpy/scipy/threadpoolctl missing: pip install -r benches/reference/requirements.txt")

    machine = machine_line()
    target = target_dir()
    target.mkdir(parents=True, exist_ok=True)
    ref_out, ref_meta = target / "perf-reference.json", target / "perf-reference-meta.json"
    table_path = target / "perf-table.md"
    jobs = reference_jobs(args.jobs)
    notes: list[str] = []

    since = None
    if not args.skip_rust:
        log("this crate: criterion bench `perf`")
        since = time.time() - 1.0
        ran, why = run_rust_bench(jobs + crate_only_jobs(args.jobs), bool(args.jobs))
        if not ran:
            print(f"note: {why}", flush=True)
            notes.append(why)
    else:
        notes.append("crate results read from an earlier `cargo bench` run (--skip-rust)")

    if not args.skip_reference:
        log("reference: numpy/scipy with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")
        if not run_reference(ref_out, ref_meta, jobs, bool(args.jobs), args.quick):
            notes.append("the reference run failed; its table entries are missing")
    else:
        notes.append("reference results read from an earlier run (--skip-reference)")
    ref = json.loads(ref_out.read_text()) if ref_out.exists() else {}
    meta = json.loads(ref_meta.read_text()) if ref_meta.exists() else {}

    memory = {}
    if not args.skip_memory and MEMORY_JOB in jobs:
        if shutil.which(GNU_TIME) is None and not Path(GNU_TIME).exists():
            notes.append(f"{GNU_TIME} missing (apt-get install time): peak memory not measured")
        else:
            log("peak memory of the d = 1e6 spiked pipeline")
            memory = measure_memory(target, not args.skip_rust)

    crate = rust_medians(target / "criterion", since)
    text = report(jobs, bool(args.jobs), crate, ref, meta, memory, notes, machine)
    table_path.write_text(text + "\n")
    log(f"results (also in {table_path})")
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
