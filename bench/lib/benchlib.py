"""Shared pieces of the bench scripts: binaries, the mock, a fresh jobs.db, running a worker.

Not a bench itself; imported by bench/*.py. Everything here talks to 127.0.0.1 only and
every wait has a deadline, so a bench always ends by itself.
"""

import json
import math
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
# Release binaries from `swift build -c release --scratch-path .build-bench` unless told otherwise.
BIN = os.environ.get("BENCH_BIN_DIR", os.path.join(ROOT, ".build-bench", "release"))
BASELINE = os.path.join(BENCH, "baseline", "thread_pool_worker.py")
API_KEY = "sk-bench-openai-key"
PARAMS = json.dumps({"provider": "openai", "prompt": "a lighthouse at dusk, oil painting"})
IMPLEMENTATIONS = ("reactor", "baseline")


def binary(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        raise SystemExit(f"{path} is missing: run `swift build -c release --scratch-path .build-bench` first")
    return path


def raise_open_file_limit():
    """2,000 jobs in flight need 2,000+ sockets in the worker and the mock; children inherit this."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def workspace(name):
    """A fresh folder for one run (on the same disk as the repository, not tmpfs)."""
    os.makedirs(OUT, exist_ok=True)
    return tempfile.mkdtemp(prefix=f"rw-bench-{name}-")


# Finished run folders are moved here and deleted only when a bench command ends. Why not at
# once: on ext4 without a journal (this VM's disk) the inode allocator skips inodes freed in
# the last 60 s, or 360 s while their inode-table block is still dirty (`recently_deleted` in
# fs/ext4/ialloc.c), so creating files right after deleting 10,000 of them costs up to 1 ms per
# mkdir, which would land in the next run's figures. Hence: delete, sync, then wait 61 s.
TRASH = os.path.join(tempfile.gettempdir(), "rw-bench-trash")


def remove(path):
    """Sets a run's folder aside for `empty_trash` (a rename: frees no inodes now)."""
    os.makedirs(TRASH, exist_ok=True)
    os.rename(path, os.path.join(TRASH, os.path.basename(path)))


def empty_trash():
    """Deletes the set-aside folders and waits out the freed-inode window, unless BENCH_KEEP_TRASH
    is set (run_all.sh empties it once at the end)."""
    if os.environ.get("BENCH_KEEP_TRASH") or not os.path.isdir(TRASH):
        return
    print("(deleting the run folders, then 61 s for the disk's freed-inode window)", file=sys.stderr, flush=True)
    shutil.rmtree(TRASH, ignore_errors=True)
    os.sync()
    time.sleep(61)


class Mock:
    """`mock-providers --port 0` with a fixed latency; stopped by `stop()` or on exit."""

    def __init__(self, latency, directory, arguments=()):
        self.log = open(os.path.join(directory, "mock.log"), "w")
        # BENCH_MOCK_CPUS (e.g. "1"): the mock on those cores only, as a remote provider would be
        # on none of ours; an experiment to tell the worker's own cost from sharing cores with it.
        pin = ["taskset", "-c", os.environ["BENCH_MOCK_CPUS"]] if os.environ.get("BENCH_MOCK_CPUS") else []
        self.process = subprocess.Popen(
            [*pin, binary("mock-providers"), "--port", "0", "--latency", str(latency), "--log-limit", "1000",
             *arguments],
            stdout=subprocess.PIPE, stderr=self.log, text=True, start_new_session=True)
        line = self.process.stdout.readline()  # the one line it prints after binding
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if not found:
            self.stop()
            raise SystemExit(f"mock-providers did not start: {line!r}")
        self.base_url = found.group(1)

    def environment(self):
        return {"OPENAI_BASE_URL": self.base_url + "/v1", "OPENAI_API_KEY": API_KEY}

    def cpu_seconds(self):
        return process_cpu_seconds(self.process.pid)

    def stats(self):
        with urllib.request.urlopen(self.base_url + "/_mock/stats", timeout=10) as answer:
            return json.loads(answer.read())

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def create_queue(directory, count):
    """jobs.db with `count` queued image jobs, made by the worker's own `enqueue` (schema included)."""
    database = os.path.join(directory, "jobs.db")
    subprocess.run(
        [binary("reactor-worker"), "enqueue", "image_generation", "--params", PARAMS, "--count", str(count),
         "--db", database], check=True, stdout=subprocess.DEVNULL, cwd=directory)
    return database


def worker_command(implementation, drain=True):
    if implementation == "reactor":
        command = [binary("reactor-worker"), "run"]
    else:
        command = ["python3", BASELINE]
    return command + (["--drain"] if drain else [])


def worker_environment(directory, mock, capacity, extra=None):
    environment = dict(os.environ)
    environment.update(mock.environment())
    environment.update({
        "JOBS_DB": os.path.join(directory, "jobs.db"), "OUTPUT_DIR": os.path.join(directory, "outputs"),
        "MAX_CONCURRENT_JOBS": str(capacity), "LOG_LEVEL": "info",
        # The dashboard is measured by bench/web.py; elsewhere it stays off (and off port 5001).
        "WEB_ADDRESS": "off",
    })
    environment.update(extra or {})
    return environment


class ThreadSampler:
    """Samples the CPU time of each thread of a process (and of its single child, for a process
    wrapped in /usr/bin/time) every `period` s, keeping the last values; threads that end keep
    their last sample. `main` is the thread whose id is the process id (the loop thread of
    reactor-worker, the poll thread of the baseline). It also keeps the peaks of the process's
    anonymous memory (heap, stacks: what the worker allocates) and of its file-backed resident
    pages (the binary and libraries, clean and shared), which /usr/bin/time's peak RSS adds up,
    and the process's own peak RSS (VmHWM, which /usr/bin/time's can exceed with a child's)."""

    def __init__(self, pid, follow_child=False, period=0.2):
        self.pid, self.follow_child, self.period = pid, follow_child, period
        self.threads = {}
        self.worker_pid = None
        self.peak_kb = {"RssAnon": 0, "RssFile": 0, "VmHWM": 0}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        ticks = os.sysconf("SC_CLK_TCK")
        while not self.done.wait(self.period):
            try:
                pid = self.pid
                if self.follow_child:
                    with open(f"/proc/{pid}/task/{pid}/children") as file:
                        children = file.read().split()
                    if not children:
                        continue
                    pid = int(children[0])
                self.worker_pid = pid
                with open(f"/proc/{pid}/status") as file:
                    for line in file:
                        key, _, value = line.partition(":")
                        if key in self.peak_kb:
                            self.peak_kb[key] = max(self.peak_kb[key], int(value.split()[0]))
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/stat") as file:
                        fields = file.read().rsplit(")", 1)[1].split()
                    self.threads[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks
            except (OSError, ValueError):
                pass

    def stop(self):
        self.done.set()
        self.thread.join()
        main = self.threads.get(self.worker_pid, 0.0)
        return main, sum(self.threads.values()) - main


def run_to_drain(implementation, directory, mock, capacity, timeout, extra=None):
    """Runs a worker with --drain under /usr/bin/time; returns wall, CPU (total, main thread, other
    threads) and peak RSS. The worker's stderr goes to worker.log."""
    timing = os.path.join(directory, "time.txt")
    command = ["/usr/bin/time", "-o", timing, "-f", "%e %U %S %M"] + worker_command(implementation)
    with open(os.path.join(directory, "worker.log"), "w") as log:
        process = subprocess.Popen(
            command, env=worker_environment(directory, mock, capacity, extra), cwd=directory,
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        sampler = ThreadSampler(process.pid, follow_child=True)
        timed_out = False
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # Whatever ends the wait (a timeout, Ctrl-C, SIGTERM of the bench), the worker's
            # process group goes with it, ffmpeg children included.
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            main_cpu, other_cpu = sampler.stop()
    wall = user = system = rss_kb = float("nan")
    try:
        with open(timing) as file:
            wall, user, system, rss_kb = (float(value) for value in file.read().split()[-4:])
    except (OSError, ValueError):
        pass
    return {"exit": process.returncode, "timed_out": timed_out, "wall": wall, "cpu": user + system,
            "main_cpu": main_cpu, "other_cpu": other_cpu, "rss_mb": rss_kb / 1024,
            "anon_mb": sampler.peak_kb["RssAnon"] / 1024, "file_mb": sampler.peak_kb["RssFile"] / 1024,
            # The worker process's own peak: /usr/bin/time's can be a child's (ffmpeg).
            "worker_rss_mb": sampler.peak_kb["VmHWM"] / 1024}


def julian_to_unix(day):
    return (day - 2440587.5) * 86400.0


def row_figures(database):
    """Counts by status and the makespan: first started_at to last finished_at of completed rows."""
    connection = sqlite3.connect(database)
    statuses = dict(connection.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
    first, last = connection.execute(
        "SELECT min(julianday(started_at)), max(julianday(finished_at)) FROM jobs WHERE status = 'completed'"
    ).fetchone()
    connection.close()
    makespan = julian_to_unix(last) - julian_to_unix(first) if first is not None else float("nan")
    return {"statuses": statuses, "completed": statuses.get("completed", 0), "makespan": makespan}


def process_cpu_seconds(pid):
    """utime + stime of a running process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU seconds all processes have used since boot (all cores; /proc/stat minus idle and iowait)."""
    with open("/proc/stat") as file:
        values = [int(value) for value in file.readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def ideal_makespan(count, capacity, latency):
    return math.ceil(count / capacity) * latency


def compile_c(source_name, output_name, *flags):
    """gcc -O2 of bench/limit/<source_name> into bench/out/<output_name>; returns its path."""
    os.makedirs(OUT, exist_ok=True)
    output = os.path.join(OUT, output_name)
    # Flags after the source: libraries given before it are dropped by the linker (--as-needed).
    subprocess.run(["gcc", "-O2", "-o", output, os.path.join(BENCH, "limit", source_name), *flags], check=True)
    return output


def name_values(output):
    """The figures a bench/limit C program prints as one line of name=value pairs."""
    return dict(pair.split("=") for pair in output.split())


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def record(kind, row):
    """Appends one result row to bench/out/results.jsonl (git-ignored) for later reading."""
    os.makedirs(OUT, exist_ok=True)
    row = dict(row, bench=kind, at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    with open(os.path.join(OUT, "results.jsonl"), "a") as file:
        file.write(json.dumps(row) + "\n")


def emit(kind, header, row):
    """Keeps `row` in results.jsonl and prints it as a table row, at once (long commands)."""
    record(kind, row)
    print(row_line(header, row), flush=True)


def run_command(main):
    """Runs a bench command's `main`, then deletes its run folders whatever happened."""
    try:
        main()
    finally:
        empty_trash()


def header_lines(header):
    """The title and rule lines of a Markdown table; header is a list of (title, key, format)."""
    return ("| " + " | ".join(title for title, _, _ in header) + " |\n"
            + "| " + " | ".join("---" for _ in header) + " |")


def row_line(header, row):
    """One Markdown table row; a missing or NaN value prints as –."""
    cells = []
    for _, key, form in header:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            cells.append("–")
        else:
            cells.append(form.format(value))
    return "| " + " | ".join(cells) + " |"
