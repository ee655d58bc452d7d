#!/usr/bin/env python3
"""Profiles one drain of reactor-worker on the overhead workload (N jobs, L = 0 by default, C = 64)
under `perf record` (cpu-clock sampling: this VM has no hardware counters) or valgrind's
callgrind (instruction counts, repeatable, ~50× slower: keep N small), and prints the top
functions. Data and reports are kept in bench/out/profile-<tool>-<time>/.

Run:  bench/profile.py perf [--jobs 5000] [--latency 0] [--c 64]
      bench/profile.py callgrind [--jobs 500]
Reading: perf's report is by self time, per thread, then folded by shared object; callgrind's
annotate lists instructions (Ir) inclusive and exclusive per function.
"""

import argparse
import os
import subprocess
import sys
import time

from lib import benchlib as b


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tool", choices=["perf", "callgrind"])
    parser.add_argument("--jobs", type=int, default=None, help="jobs (default 5000 for perf, 500 for callgrind)")
    parser.add_argument("--latency", type=float, default=0)
    parser.add_argument("--c", type=int, default=64, help="MAX_CONCURRENT_JOBS")
    arguments = parser.parse_args()
    jobs = arguments.jobs or (5000 if arguments.tool == "perf" else 500)
    b.raise_open_file_limit()
    out = os.path.join(b.OUT, f"profile-{arguments.tool}-{time.strftime('%Y%m%dT%H%M%S')}")
    os.makedirs(out)
    directory = b.workspace("profile")
    mock = b.Mock(arguments.latency, directory)
    try:
        b.create_queue(directory, jobs)
        if arguments.tool == "perf":
            data = os.path.join(out, "perf.data")
            wrapper = ["perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-o", data, "--"]
            command = b.worker_command("reactor")
        else:
            data = os.path.join(out, "callgrind.out")
            # One output file per thread: the loop thread's cost can be read on its own.
            wrapper = ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={data}"]
            # Valgrind 3.19 gives up on Swift 6's DWARF 5; a copy without debug info keeps its symbols.
            stripped = os.path.join(out, "reactor-worker")
            subprocess.run(["strip", "--strip-debug", "-o", stripped, b.binary("reactor-worker")], check=True)
            command = [stripped] + b.worker_command("reactor")[1:]
        with open(os.path.join(out, "worker.log"), "w") as log:
            subprocess.run(wrapper + command, env=b.worker_environment(directory, mock, arguments.c),
                           cwd=directory, stdout=subprocess.DEVNULL, stderr=log, timeout=1800, check=True)
        figures = b.row_figures(os.path.join(directory, "jobs.db"))
        print(f"{figures['completed']} of {jobs} completed, makespan {figures['makespan']:.2f} s (under {arguments.tool})")
    finally:
        mock.stop()
        b.remove(directory)
    if arguments.tool == "perf":
        reports = {
            "by-symbol.txt": ["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "sym",
                              "-g", "none", "--percent-limit", "0.3"],
            "by-dso.txt": ["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso", "-g", "none"],
            "by-thread.txt": ["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "comm", "-g", "none"],
            "inclusive.txt": ["perf", "report", "-i", data, "--stdio", "--children", "--sort", "sym", "-g", "none",
                              "--percent-limit", "2"],
        }
    else:
        reports = {
            "annotate.txt": ["callgrind_annotate", "--threshold=99", data],
            "inclusive.txt": ["callgrind_annotate", "--inclusive=yes", "--threshold=99", data],
        }
    for name, command in reports.items():
        with open(os.path.join(out, name), "w") as file:
            subprocess.run(command, stdout=file, stderr=subprocess.DEVNULL, check=False)
    print(f"reports in {out}:")
    for name in reports:
        path = os.path.join(out, name)
        lines = [line for line in open(path) if line.strip() and not line.startswith("#")]
        print(f"--- {name} (first lines)")
        print("".join(lines[:25]))


if __name__ == "__main__":
    b.run_command(main)
