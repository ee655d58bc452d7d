#!/usr/bin/env bash
# Every bench in one go, in the order RESULTS.md shows them: the limits, throughput,
# overhead, what the disk's fsync costs (an experiment), idle and pickup. Output is printed and kept in bench/out/run-<time>.md.
# Needs the release build: swift build -c release --scratch-path .build-bench
# Run: bench/run_all.sh        (10–20 minutes on the 2-core bench machine, with the disk's mood)
set -euo pipefail
cd "$(dirname "$0")"
ulimit -n "$(ulimit -Hn)"
mkdir -p out
# Run folders are set aside and deleted once at the end, then the disk gets 61 s to forget
# the freed inodes (see TRASH in lib/benchlib.py).
export BENCH_KEEP_TRASH=1
trash="${TMPDIR:-/tmp}/rw-bench-trash"
empty_trash() { rm -rf "$trash"; sync; sleep 61; }
[ -d "$trash" ] && empty_trash
report="out/run-$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "# bench run $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
    echo; echo "## limits"; ./limits.py
    echo; echo "## throughput"; ./throughput.py
    echo; echo "## overhead"; ./overhead.sh
    echo; echo "## the same without fsync (experiment: what the per-file flush costs)"
    ./throughput.py --runs 10000:1:2000,20000:0:64 --only reactor --no-fsync | tail -n +3
    echo; echo "## idle and pickup"; ./idle_pickup.py
} 2>&1 | tee "$report"
empty_trash
echo "kept in bench/$report"
