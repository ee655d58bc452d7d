#!/usr/bin/env python3
"""Where a throughput run lost time against the ideal, wave by wave, from its worker.log.

With C slots and N jobs the ideal is ceil(N/C) waves of exactly L seconds. Each slot's chain of
jobs is read from the log lines monitoring already greps (`[Thread-JobWorker-S] Processing job
J...` and `... Completed job J in X s`): the k-th job a slot number ran counts as wave k (slots
are handed out lowest first, so this is approximate once waves overlap). Printed per wave: how
many jobs and their duration, start to completion, p50 / p90 / max (the ideal: L each); then the
share of the C slots' time from first start to last completion that held a job (the ideal: 100 %).

Run:  bench/throughput.py --runs 10000:1:2000 --only reactor --keep   # prints the kept folder
      bench/waves.py /tmp/rw-bench-reactor-10000-2000-XXXX [--capacity 2000]
"""

import argparse
import collections
import datetime
import os
import re
import sys

from lib import benchlib as b

PROCESSING = re.compile(r"\[Thread-JobWorker-(\d+)\] Processing job (\d+)\.\.\.")
COMPLETED = re.compile(r"\[Thread-JobWorker-(\d+)\] Completed job (\d+) in ")


def timestamp(line):
    return datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def chains(log_path):
    """Per slot, its jobs in order as (start, end) seconds from the first start."""
    started = {}
    by_slot = collections.defaultdict(list)
    origin = None
    with open(log_path) as log:
        for line in log:
            if found := PROCESSING.search(line):
                origin = origin if origin is not None else timestamp(line)
                started[found.group(2)] = timestamp(line) - origin
            elif (found := COMPLETED.search(line)) and found.group(2) in started:
                by_slot[int(found.group(1))].append((started[found.group(2)], timestamp(line) - origin))
    return by_slot


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="a run folder kept by throughput.py --keep (holds worker.log)")
    parser.add_argument("--capacity", type=int, default=2000, help="the run's MAX_CONCURRENT_JOBS (C)")
    arguments = parser.parse_args()
    by_slot = chains(os.path.join(arguments.folder, "worker.log"))
    if not by_slot:
        sys.exit("no completed jobs in worker.log (LOG_LEVEL must be info or finer)")
    durations = collections.defaultdict(list)
    for jobs in by_slot.values():
        for wave, (start, end) in enumerate(jobs):
            durations[wave].append(end - start)
    print("| wave | jobs | duration p50 s | p90 s | max s |")
    print("| --- | --- | --- | --- | --- |")
    for wave in sorted(durations):
        values = durations[wave]
        print(f"| {wave + 1} | {len(values)} | {b.percentile(values, 0.5):.3f} | {b.percentile(values, 0.9):.3f} "
              f"| {max(values):.3f} |")
    last = max(end for jobs in by_slot.values() for _, end in jobs)
    busy = sum(end - start for jobs in by_slot.values() for start, end in jobs)
    print(f"\nfirst start to last completion {last:.2f} s; slot time holding a job "
          f"{busy / (arguments.capacity * last) * 100:.1f} % of {arguments.capacity} slots")


if __name__ == "__main__":
    main()
