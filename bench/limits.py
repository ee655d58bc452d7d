#!/usr/bin/env python3
"""What the machine allows, so the worker's figures read as fractions of it.

  sqlite  bench/limit/sqlite_claim_complete.c (gcc -O2, system libsqlite3) on a fresh jobs.db
          of --jobs queued rows made by `reactor-worker enqueue`: the worker's claim and
          completion statements, WAL + synchronous=NORMAL, batch 1 (claim and complete each
          in its own transaction) and batches of 64 and 256 (one transaction completes the
          previous batch and claims the next).
  files   the output-file discipline of one image job, in python3 (the time is in the
          system calls): mkdir OUTPUT_DIR/<id>, write the mock's 12,420-byte PNG to a
          temporary name, fsync, close, rename; --files files with 1 and 4 threads, with
          and without the fsync.
  http    wrk (apt-get install -y wrk) against mock-providers --latency 0 on 127.0.0.1:
          POST /v1/images/generations with the worker's headers and body
          (bench/limit/openai_images.lua), 64 connections, for --seconds each, with 1 and
          2 wrk threads (wrk shares the 2 cores with the mock, as the worker does).

  client  bench/limit/curl_multi_client.c (gcc -O2, system libcurl): one thread driving
          curl-multi with epoll, the worker's request and curl options, against mock-providers;
          nothing else per job (no SQLite, JSON, file or log). N = 10,000 at L = 1 s, C = 2,000
          (the efficiency target's run) and N = 20,000 at L = 0, C = 64 (the overhead run):
          how close to the ideal any single-loop worker can come with this mock on these cores.
          Then the same runs with durable output files: each answer's b64_json decoded and
          written as the files rows do (mkdir, write, fsync, rename) by 8 writer threads, the
          next request started once the file is in place: the least any worker that keeps
          its images durably does per job, still without SQLite or a log.

Run:  bench/limits.py [--jobs 20000] [--files 4000] [--seconds 10]
"""

import argparse
import itertools
import os
import re
import shutil
import subprocess
import sys
import threading
import time

from lib import benchlib as b

HEADER = [("limit", "limit", "{}"), ("setting", "setting", "{}"), ("per second", "rate", "{:.0f}"),
          ("unit", "unit", "{}"), ("detail", "detail", "{}")]


def sqlite_rows(jobs):
    program = b.compile_c("sqlite_claim_complete.c", "sqlite_claim_complete", "-lsqlite3")
    for batch in (1, 64, 256):
        directory = b.workspace(f"sqlite-{batch}")
        database = b.create_queue(directory, jobs)
        output = subprocess.run([program, database, str(batch)], check=True, capture_output=True, text=True,
                                timeout=600).stdout
        figures = b.name_values(output)
        b.remove(directory)
        yield {"limit": "sqlite claim+complete", "setting": f"batch {batch}",
               "rate": float(figures["jobs_per_second"]), "unit": "jobs",
               "detail": f"{figures['jobs']} jobs in {figures['seconds']} s, "
                         f"{figures['commits_per_second']} commits/s"}


def write_outputs(root, ids, sync):
    data = os.urandom(12420)  # the size of the mock's PNG
    for job in ids:
        folder = os.path.join(root, str(job))
        os.mkdir(folder)
        temporary = os.path.join(folder, f".image-1.png.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(descriptor, data)
        if sync:
            os.fsync(descriptor)
        os.close(descriptor)
        os.rename(temporary, os.path.join(folder, "image-1.png"))


def file_rows(count):
    for threads, sync in ((1, True), (4, True), (1, False), (4, False)):
        directory = b.workspace("files")
        os.sync()  # start with no dirty pages left by an earlier run
        started = time.monotonic()
        workers = [threading.Thread(target=write_outputs, args=(directory, range(i, count, threads), sync))
                   for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.monotonic() - started
        b.remove(directory)
        yield {"limit": "output files", "setting": f"{threads} thread{'s' if threads > 1 else ''}"
               + ("" if sync else ", no fsync"), "rate": count / seconds, "unit": "files",
               "detail": f"{count} × (mkdir, write 12,420 B, {'fsync, ' if sync else ''}rename) in {seconds:.2f} s"}


def http_rows(seconds):
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    script = os.path.join(b.BENCH, "limit", "openai_images.lua")
    for threads in (1, 2):
        directory = b.workspace("wrk")
        mock = b.Mock(0, directory)
        try:
            output = subprocess.run(
                ["wrk", f"-t{threads}", "-c64", f"-d{seconds:g}s", "-s", script, mock.base_url],
                check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
        finally:
            mock.stop()
            b.remove(directory)
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
        latency = re.search(r"Latency\s+(\S+)", output).group(1)
        errors = re.search(r"non2xx=(\d+)", output).group(1)
        yield {"limit": "mock-providers HTTP", "setting": f"wrk -t{threads} -c64", "rate": rate, "unit": "requests",
               "detail": f"mean latency {latency}, non-2xx {errors}"}


def client_rows():
    program = b.compile_c("curl_multi_client.c", "curl_multi_client", "-lcurl", "-lpthread")
    for (count, latency, capacity), durable in itertools.product(((10000, 1, 2000), (20000, 0, 64)), (False, True)):
        directory = b.workspace("client")
        mock = b.Mock(latency, directory)
        command = [program, mock.base_url + "/v1/images/generations", str(count), str(capacity)]
        if durable:
            os.mkdir(os.path.join(directory, "outputs"))
            command.append(os.path.join(directory, "outputs"))
        try:
            output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600).stdout
        finally:
            mock.stop()
            b.remove(directory)
        figures = b.name_values(output)
        makespan = float(figures["makespan"])
        detail = f"makespan {makespan:.2f} s"
        if latency:
            ideal = b.ideal_makespan(count, capacity, latency)
            detail += f", efficiency {ideal / makespan:.3f} (ideal {ideal:g} s)"
        unit = "job" if durable else "request"
        detail += f", CPU {float(figures['cpu_seconds']) * 1000 / count:.3f} ms/{unit}"
        yield {"limit": "curl-multi client, " + ("durable output files" if durable else "HTTP only"),
               "setting": f"N {count}, L {latency}, C {capacity}", "rate": float(figures["per_second"]),
               "unit": unit + "s", "detail": detail}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20000, help="rows for each SQLite run")
    parser.add_argument("--files", type=int, default=4000, help="files for each output-file run")
    parser.add_argument("--seconds", type=float, default=10, help="duration of each wrk run")
    arguments = parser.parse_args()
    b.raise_open_file_limit()
    print(b.header_lines(HEADER), flush=True)
    for row in itertools.chain(sqlite_rows(arguments.jobs), file_rows(arguments.files),
                               http_rows(arguments.seconds), client_rows()):
        b.emit("limits", HEADER, row)


if __name__ == "__main__":
    b.run_command(main)
