#!/usr/bin/env python3
"""Idle CPU and pickup delay of reactor-worker and of the thread-per-job baseline.

Per worker: a fresh jobs.db and mock-providers (latency 0), the worker started without
--drain (MAX_CONCURRENT_JOBS = 32, default poll settings). One warm-up job runs first.
  idle CPU   utime+stime from /proc/PID/stat over --idle seconds (default 30) with an empty
             queue, as % of one core
  pickup     this script inserts --rows rows (default 200) one at a time, each in its own
             committed transaction, --interval apart on average (default 50 ms, jittered);
             it notes time.time() right after each COMMIT returns. Delay = the row's
             started_at (the worker's `processing` mark) minus that commit time; p50/p99/max,
             and how many rows waited more than 10 ms.
Then SIGTERM, and the worker must exit 0.

Run:  bench/idle_pickup.py [--idle 30] [--rows 200] [--interval 0.05] [--only reactor]
"""

import argparse
import random
import signal
import sqlite3
import subprocess
import sys
import time

from lib import benchlib as b

HEADER = [
    ("worker", "worker", "{}"), ("idle s", "idle_seconds", "{:g}"), ("idle CPU % core", "idle_cpu_percent", "{:.3f}"),
    ("rows", "rows", "{}"), ("pickup p50 ms", "p50_ms", "{:.1f}"), ("p99 ms", "p99_ms", "{:.1f}"),
    ("max ms", "max_ms", "{:.1f}"), ("rows > 10 ms", "late", "{}"), ("note", "note", "{}"),
]


def wait_until(predicate, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def count(database, where):
    connection = sqlite3.connect(database, timeout=10)
    try:
        return connection.execute(f"SELECT count(*) FROM jobs WHERE {where}").fetchone()[0]
    finally:
        connection.close()


def measure(implementation, idle_seconds, rows, interval, keep):
    directory = b.workspace(f"idle-{implementation}")
    mock = b.Mock(0, directory)
    note = ""
    log = open(directory + "/worker.log", "w")
    try:
        database = b.create_queue(directory, 1)  # the warm-up job
        worker = subprocess.Popen(
            b.worker_command(implementation, drain=False), env=b.worker_environment(directory, mock, 32),
            cwd=directory, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            if not wait_until(lambda: count(database, "status = 'completed'") == 1, 30):
                raise RuntimeError("the warm-up job did not complete")
            time.sleep(1)  # let the completion's writes settle
            before = b.process_cpu_seconds(worker.pid)
            time.sleep(idle_seconds)
            idle_cpu = b.process_cpu_seconds(worker.pid) - before

            connection = sqlite3.connect(database, timeout=10, isolation_level=None)
            committed = {}
            for _ in range(rows):
                connection.execute("BEGIN IMMEDIATE")
                cursor = connection.execute(
                    "INSERT INTO jobs (job_type, params) VALUES ('image_generation', ?)", (b.PARAMS,))
                connection.execute("COMMIT")
                committed[cursor.lastrowid] = time.time()
                time.sleep(random.uniform(0.5, 1.5) * interval)
            connection.close()
            if not wait_until(lambda: count(database, "started_at IS NOT NULL") == rows + 1, 60):
                note = "not every row was picked up within 60 s"
            reader = sqlite3.connect(database)
            started = dict(reader.execute(
                "SELECT id, julianday(started_at) FROM jobs WHERE started_at IS NOT NULL").fetchall())
            reader.close()
            delays = [1000 * (b.julian_to_unix(started[i]) - t) for i, t in committed.items() if i in started]
            worker.send_signal(signal.SIGTERM)
            exit_code = worker.wait(60)
            if exit_code != 0:
                note = (note + f" exit {exit_code}").strip()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    finally:
        mock.stop()
        log.close()
    if keep or note:
        note = (note + f" kept {directory}").strip()
    else:
        b.remove(directory)
    return {
        "worker": implementation, "idle_seconds": idle_seconds, "idle_cpu_percent": 100 * idle_cpu / idle_seconds,
        "rows": len(delays), "p50_ms": b.percentile(delays, 0.50), "p99_ms": b.percentile(delays, 0.99),
        "max_ms": max(delays) if delays else None, "late": sum(1 for delay in delays if delay > 10), "note": note,
        "slowest": sorted(((round(d, 1), i) for i, d in zip(committed, delays)), reverse=True)[:5],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=float, default=30, help="seconds of idle CPU measurement")
    parser.add_argument("--rows", type=int, default=200, help="rows inserted one at a time")
    parser.add_argument("--interval", type=float, default=0.05, help="mean seconds between inserts")
    parser.add_argument("--only", choices=b.IMPLEMENTATIONS, help="run one worker only")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder")
    arguments = parser.parse_args()
    b.raise_open_file_limit()
    print(b.header_lines(HEADER), flush=True)
    for implementation in [arguments.only] if arguments.only else ["baseline", "reactor"]:
        row = measure(implementation, arguments.idle, arguments.rows, arguments.interval, arguments.keep)
        b.emit("idle_pickup", HEADER, row)


if __name__ == "__main__":
    b.run_command(main)
