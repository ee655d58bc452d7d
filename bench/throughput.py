#!/usr/bin/env python3
"""Throughput and overhead: N image_generation/openai jobs whose provider answers after L s, at
MAX_CONCURRENT_JOBS = C, through reactor-worker and through the thread-per-job baseline.

Per run: a fresh mock-providers (--latency L) and a fresh jobs.db with N queued rows, then
`run --drain` under /usr/bin/time. Printed, one Markdown row per run:
  makespan   first started_at to last finished_at of the rows (julianday)
  ideal      ceil(N/C)·L;  efficiency = ideal / makespan (blank when L = 0)
  jobs/s     completed / makespan
  CPU ms/job user+sys of the worker process over its whole life / N
  main thread, other threads: CPU of the worker's main thread (reactor: the loop; baseline:
             the poller) and of all its other threads, as % of one core over the worker's
             wall time (sampled every 0.2 s from /proc/PID/task) — near 100 % means that
             thread is the bottleneck
  mock       CPU of mock-providers over the same wall time (it shares the 2 cores)
  rest of machine  CPU used by everything else (other developers' builds and benches on a
             shared machine, the bench script itself): a large figure means a disturbed run
  peak RSS   maximum resident set size of the worker process
  ×baseline  reactor jobs/s ÷ baseline jobs/s in the same spec (baseline runs first)

Run:  bench/throughput.py                          # the issue's throughput runs
      bench/throughput.py --runs 20000:0:64        # overhead (L = 0, C = 64)
      bench/throughput.py --runs 2000:1:100 --only reactor
      bench/throughput.py --runs 10000:1:2000 --only reactor --no-fsync   # experiment, see below
`--no-fsync` preloads bench/limit/no_fsync.c into the worker: fsync returns at once, so the rows
show what the per-file flush of the output costs (the files are not durable; never for real use).
Each spec is N:L:C. Every run is killed after --timeout seconds (row marked "timeout").
"""

import argparse
import os
import sys

from lib import benchlib as b

DEFAULT_RUNS = "60:1:3,2000:1:100,10000:1:2000"

HEADER = [
    ("worker", "worker", "{}"), ("N", "n", "{}"), ("L s", "latency", "{:g}"), ("C", "c", "{}"),
    ("done", "completed", "{}"), ("makespan s", "makespan", "{:.2f}"), ("ideal s", "ideal", "{:g}"),
    ("efficiency", "efficiency", "{:.3f}"), ("jobs/s", "jobs_per_second", "{:.1f}"),
    ("CPU ms/job", "cpu_ms_per_job", "{:.3f}"), ("main thread % core", "main_percent", "{:.0f}"),
    ("other threads % core", "other_percent", "{:.0f}"), ("mock % core", "mock_percent", "{:.0f}"),
    ("rest of machine % core", "rest_percent", "{:.0f}"), ("peak RSS MB", "rss_mb", "{:.1f}"),
    ("peak anon MB", "anon_mb", "{:.1f}"), ("peak file-backed MB", "file_mb", "{:.1f}"), ("×baseline", "ratio", "{:.2f}"), ("note", "note", "{}"),
]


def one_run(implementation, count, latency, capacity, timeout, keep, extra=None):
    directory = b.workspace(f"{implementation}-{count}-{capacity}")
    mock = b.Mock(latency, directory)
    try:
        b.create_queue(directory, count)
        mock_before, machine_before = mock.cpu_seconds(), b.machine_busy_seconds()
        run = b.run_to_drain(implementation, directory, mock, capacity, timeout, extra)
        mock_cpu, machine_cpu = mock.cpu_seconds() - mock_before, b.machine_busy_seconds() - machine_before
    finally:
        mock.stop()
    figures = b.row_figures(directory + "/jobs.db")
    ideal = b.ideal_makespan(count, capacity, latency)
    makespan = figures["makespan"]
    row = {
        "worker": implementation, "n": count, "latency": latency, "c": capacity,
        "completed": figures["completed"], "makespan": makespan, "ideal": ideal,
        "efficiency": ideal / makespan if latency > 0 and makespan > 0 else None,
        "jobs_per_second": figures["completed"] / makespan if makespan > 0 else None,
        "cpu_ms_per_job": 1000 * run["cpu"] / count, "rss_mb": run["rss_mb"], "anon_mb": run["anon_mb"], "file_mb": run["file_mb"],
        "main_percent": 100 * run["main_cpu"] / run["wall"], "other_percent": 100 * run["other_cpu"] / run["wall"],
        "mock_percent": 100 * mock_cpu / run["wall"],
        "rest_percent": 100 * (machine_cpu - run["cpu"] - mock_cpu) / run["wall"],
        "note": "timeout" if run["timed_out"] else ("" if run["exit"] == 0 else f"exit {run['exit']}"),
    }
    if figures["completed"] != count:
        row["note"] = (row["note"] + f" statuses {figures['statuses']}").strip()
    if keep or row["note"]:
        row["note"] = (row["note"] + f" kept {directory}").strip()
    else:
        b.remove(directory)
    return row


def no_fsync_shim():
    """Compiles bench/limit/no_fsync.c into bench/out/ and returns the shared object's path."""
    return b.compile_c("no_fsync.c", "no_fsync.so", "-shared", "-fPIC")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=DEFAULT_RUNS, help="comma-separated N:L:C specs (default %(default)s)")
    parser.add_argument("--only", choices=b.IMPLEMENTATIONS, help="run one worker only")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a run is killed")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder (jobs.db, logs)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the workers (repeatable), e.g. MALLOC_ARENA_MAX=2")
    parser.add_argument("--no-fsync", action="store_true",
                        help="experiment: preload a shim that turns the worker's fsync into a no-op")
    arguments = parser.parse_args()
    if arguments.no_fsync:
        arguments.env.append(f"LD_PRELOAD={no_fsync_shim()}")
    b.raise_open_file_limit()
    implementations = [arguments.only] if arguments.only else ["baseline", "reactor"]
    print(b.header_lines(HEADER), flush=True)
    for spec in arguments.runs.split(","):
        count, latency, capacity = spec.split(":")
        count, latency, capacity = int(count), float(latency), int(capacity)
        baseline_rate = None
        for implementation in implementations:
            row = one_run(implementation, count, latency, capacity, arguments.timeout, arguments.keep,
                          dict(pair.split("=", 1) for pair in arguments.env))
            if arguments.no_fsync:
                row["note"] = ("fsync off (experiment) " + row["note"]).strip()
            elif arguments.env:
                row["note"] = (" ".join(arguments.env) + " " + row["note"]).strip()
            if implementation == "baseline":
                baseline_rate = row["jobs_per_second"]
            elif baseline_rate and row["jobs_per_second"]:
                row["ratio"] = row["jobs_per_second"] / baseline_rate
            b.emit("throughput", HEADER, row)


if __name__ == "__main__":
    b.run_command(main)
