#!/usr/bin/env bash
# Every bench in one go, in the order RESULTS.md shows them: the limits, throughput,
# overhead, idle and pickup. Output is printed and kept in bench/out/run-<time>.md.
# Needs the release build: swift build -c release --scratch-path .build-bench
# Run: bench/run_all.sh        (about 15 minutes on the 2-core bench machine)
set -euo pipefail
cd "$(dirname "$0")"
ulimit -n "$(ulimit -Hn)"
mkdir -p out
report="out/run-$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "# bench run $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
    echo; echo "## limits"; ./limits.py
    echo; echo "## throughput"; ./throughput.py
    echo; echo "## overhead"; ./overhead.sh
    echo; echo "## idle and pickup"; ./idle_pickup.py
} 2>&1 | tee "$report"
echo "kept in bench/$report"
