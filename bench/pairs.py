#!/usr/bin/env python3
"""The C = 2,000 figure against its floor, in interleaved pairs (issue 19).

Each pair runs, back to back on fresh mocks, the durable-output floor (bench/limit/
curl_multi_client.c with OUTPUT_DIR: one curl-multi thread, every image decoded and written
durably, nothing else) and reactor-worker (`throughput.py`'s run), both at N = 10,000, L = 1 s,
C = 2,000. The order alternates (floor first, then worker first, …) so a drift of the machine
during the command lands on both. Per pair: both efficiencies (ideal / makespan) and the
worker's share of the floor; then the median share and the spread (max − min) over the pairs.

Target: the worker at ≥ 0.97 of the floor, as the median of the pairs.

Run:  bench/pairs.py [--pairs 3] [--n 10000] [--c 2000]
"""

import argparse
import os
import statistics
import subprocess

import throughput
from lib import benchlib as b

HEADER = [
    ("pair", "pair", "{}"), ("order", "order", "{}"), ("floor efficiency", "floor", "{:.3f}"),
    ("worker efficiency", "worker", "{:.3f}"), ("worker / floor", "share", "{:.3f}"),
    ("worker rest of machine % core", "rest_percent", "{:.0f}"), ("note", "note", "{}"),
]


def floor_efficiency(program, count, capacity):
    directory = b.workspace("pairs-floor")
    mock = b.Mock(1, directory)
    outputs = os.path.join(directory, "outputs")
    os.mkdir(outputs)
    try:
        output = subprocess.run(
            [program, mock.base_url + "/v1/images/generations", str(count), str(capacity), outputs],
            check=True, capture_output=True, text=True, timeout=600).stdout
    finally:
        mock.stop()
        b.remove(directory)
    return b.ideal_makespan(count, capacity, 1) / float(b.name_values(output)["makespan"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--c", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=600)
    arguments = parser.parse_args()
    b.raise_open_file_limit()
    program = b.compile_c("curl_multi_client.c", "curl_multi_client", "-lcurl", "-lpthread")
    print(b.header_lines(HEADER), flush=True)
    shares = []
    for pair in range(1, arguments.pairs + 1):
        floor_first = pair % 2 == 1
        if floor_first:
            floor = floor_efficiency(program, arguments.n, arguments.c)
        run = throughput.one_run("reactor", arguments.n, 1, arguments.c, arguments.timeout, False)
        if not floor_first:
            floor = floor_efficiency(program, arguments.n, arguments.c)
        share = run["efficiency"] / floor if run["efficiency"] else float("nan")
        shares.append(share)
        b.emit("pairs", HEADER, {
            "pair": pair, "order": "floor, worker" if floor_first else "worker, floor", "floor": floor,
            "worker": run["efficiency"], "share": share, "rest_percent": run["rest_percent"], "note": run["note"],
        })
    print(f"\nmedian worker / floor {statistics.median(shares):.3f}, spread {max(shares) - min(shares):.3f} "
          f"over {len(shares)} pairs", flush=True)


if __name__ == "__main__":
    b.run_command(main)
