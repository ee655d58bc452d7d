#!/usr/bin/env python3
"""Two builds of reactor-worker against each other, in interleaved pairs (issue 14).

Each pair runs throughput.py's run of every N:L:C spec on build A, then on build B (the order
alternating pair by pair, so a drift of the machine lands on both), on fresh mocks from this
tree's mock-providers. Printed: every run's row, then per spec and figure the median of B / A
over the pairs and the spread of that ratio (max - min). Peak RSS comes apart into anonymous
memory (what the worker allocates) and file-backed pages (its binary and libraries).

Run:  bench/builds.py --old /work/wt-old/.build-bench/release [--new .build-bench/release] [--pairs 3]
The old build's folder needs only its reactor-worker; the mock is this tree's.
"""

import argparse
import os
import statistics
import tempfile

import throughput
from lib import benchlib as b

FIGURES = [("efficiency", "efficiency"), ("jobs/s", "jobs_per_second"), ("CPU ms/job", "cpu_ms_per_job"),
           ("peak RSS MB", "rss_mb"), ("peak anon MB", "anon_mb"), ("peak file-backed MB", "file_mb")]


def bin_dir(worker_folder):
    """A folder with the given build's reactor-worker and this tree's mock-providers."""
    folder = tempfile.mkdtemp(prefix="rw-build-")
    os.symlink(os.path.abspath(os.path.join(worker_folder, "reactor-worker")), os.path.join(folder, "reactor-worker"))
    os.symlink(os.path.abspath(os.path.join(b.BIN, "mock-providers")), os.path.join(folder, "mock-providers"))
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="folder with build A's reactor-worker")
    parser.add_argument("--new", default=b.BIN, help="folder with build B's reactor-worker (default this tree's)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--runs", default="60:1:3,10000:1:2000,20000:0:64", help="comma-separated N:L:C")
    parser.add_argument("--timeout", type=float, default=300)
    arguments = parser.parse_args()
    b.raise_open_file_limit()
    builds = {"old": bin_dir(arguments.old), "new": bin_dir(arguments.new)}
    specs = [tuple(float(x) if i == 1 else int(x) for i, x in enumerate(spec.split(":")))
             for spec in arguments.runs.split(",")]
    print(b.header_lines([("build", "build", "{}")] + throughput.HEADER), flush=True)
    rows = {}
    for pair in range(arguments.pairs):
        order = ["old", "new"] if pair % 2 == 0 else ["new", "old"]
        for build in order:
            b.BIN = builds[build]
            for count, latency, capacity in specs:
                row = throughput.one_run("reactor", count, latency, capacity, arguments.timeout, False)
                row["build"] = build
                rows.setdefault((count, latency, capacity), {}).setdefault(build, []).append(row)
                print(b.row_line([("build", "build", "{}")] + throughput.HEADER, row), flush=True)
    print("\n| N:L:C | figure | old (median) | new (median) | new / old, median of pairs | spread |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (count, latency, capacity), by_build in rows.items():
        for label, key in FIGURES:
            old = [row.get(key) for row in by_build["old"]]
            new = [row.get(key) for row in by_build["new"]]
            if any(value is None for value in old + new):
                continue
            ratios = [n / o for o, n in zip(old, new) if o]
            print(f"| {count}:{latency:g}:{capacity} | {label} | {statistics.median(old):.3f} | "
                  f"{statistics.median(new):.3f} | {statistics.median(ratios):.3f} | {max(ratios) - min(ratios):.3f} |")


if __name__ == "__main__":
    b.run_command(main)
