#!/usr/bin/env bash
# Overhead: the most jobs per second through the whole life of a job (claim, HTTP round trip
# to mock-providers with no latency, output file, result written), MAX_CONCURRENT_JOBS = 64,
# reactor-worker and the thread-per-job baseline. Compare with bench/limits.py.
# Run: bench/overhead.sh [N]            (default N = 20000; extra throughput.py flags may follow)
set -euo pipefail
cd "$(dirname "$0")"
count="${1:-20000}"
shift || true
exec ./throughput.py --runs "${count}:0:64" "$@"
