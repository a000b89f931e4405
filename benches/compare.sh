#!/usr/bin/env bash
# Side-by-side performance comparison: this crate vs a numpy/scipy reference.
#
#   bash benches/compare.sh            # everything (dense_pipeline_2048/4096 take tens of minutes:
#                                      # the certificate's O(d³) residual; leave them out with --jobs)
#   bash benches/compare.sh --quick    # fewer repeats on the reference side
#   bash benches/compare.sh --jobs 'sweep_*,cov_dense_1024' --skip-memory
#   bash benches/compare.sh --skip-rust  # reuse target/criterion from an earlier run
#
# Prerequisites (once):
#   pip install -r benches/reference/requirements.txt   # numpy, scipy, threadpoolctl (pinned)
#   apt-get install time                                # GNU /usr/bin/time, for peak memory
#
# What it does (details in benches/reference/README.md):
#   1. cargo bench --bench perf -- --warm-up-time 1 --measurement-time 3
#      (the crate; criterion group "perf", one function per job)
#   2. env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benches/reference/reference.py ...
#      (the reference; only this side unsets the two variables, and the BLAS kernel
#      it then runs is printed via threadpoolctl)
#   3. peak RSS of the d = 1e6, k = 32 spiked pipeline on both sides under /usr/bin/time -v
#   4. prints a Markdown table (job | this crate | reference | ratio), the growth
#      exponents and the issue's targets, and writes it to target/perf-table.md
#
#   bash benches/compare.sh --orthant [--accuracies 1e-6]
#      the multi-class robust error's orthant probabilities instead: runs
#      `cargo bench --bench orthant` (the crate, criterion medians and each
#      robust error with its bound), then scipy's multivariate_normal.cdf on
#      the same inputs under `nice` (benches/reference/orthant_reference.py),
#      and prints both side by side (target/orthant-table.md): K = 3, 5, 10 at
#      ε = 0, 1 and both accuracies (1e-6, 1e-7) by default, in one command.
#      --reuse FILE takes scipy's rows from an earlier run's JSON (--out)
#      instead of running scipy again (most of the time at 1e-7).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--orthant" ]]; then
    shift
    crate_log="$(mktemp)"
    cargo bench --bench orthant -- --warm-up-time 1 --measurement-time 3 | tee "$crate_log"
    exec nice -n 19 python3 benches/reference/orthant_reference.py --crate-log "$crate_log" "$@"
fi
exec python3 benches/reference/compare.py "$@"
