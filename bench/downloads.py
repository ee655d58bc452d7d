#!/usr/bin/env python3
"""Video downloads at scale (issue 19): the worker against a bare curl-multi client, in one run.

Each case runs --jobs animation jobs (default 200, Kling, tasks of 1 s) whose videos are
--video-mb MB (default 20) and all download at once, at MAX_CONCURRENT_JOBS = jobs, against
mock-providers serving the videos (`--video-bytes`, and `--video-rate` for a per-connection cap).
Then, against the same mock, bench/limit/curl_multi_download.c fetches the same number of files
of the same size at once into files (write as they arrive, fsync and rename): the floor.

Cases:
  fast    the mock sends as fast as the client reads (loopback: the machine is the limit)
  paced   each download capped at --rate MB/s (default 1), as a CDN caps one connection

Per row: aggregate MB/s, and its ratio to the floor's; CPU ms per MB on the loop thread and on
the other threads (the download queues, writers and curl's resolver); peak RSS; the loop's
longest iteration (`reactor_worker_loop_longest_iteration_seconds`: the most any timer or socket
waited); the peak bytes held for the disk (`reactor_worker_output_bytes_waiting`, sampled).
The worker's MB/s counts from the first task's ready time (created_at + task time, from the
mock) to the last job's finished_at, so its polls (KLING_POLL_SECONDS = 0.05) count against it.

Targets: ≥ 0.9 of the bare client's MB/s, RSS ≤ 100 MB with 200 downloads in flight, no loop
iteration over 50 ms.

Case slow (asked for by name): --slow-videos videos (default 20) and --images image jobs
(default 200, OpenAI answering in 1 s) at once, OUTPUT_DIR on a FUSE mount whose writes all pass
one throttle of --disk-mbps MB/s (bench/limit/slow_disk.py; needs fusepy and libfuse2): peak
RSS and bytes held for the disk (the budgets), the images' p50/p95 run time against their 1 s.
Run:  bench/downloads.py                 # fast and paced
      bench/downloads.py fast --jobs 200 --video-mb 20
"""

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

from lib import benchlib as b

HEADER = [
    ("case", "case", "{}"), ("client", "client", "{}"), ("files", "files", "{}"), ("MB each", "video_mb", "{:g}"),
    ("cap MB/s per file", "rate", "{}"), ("done", "completed", "{}"), ("span s", "span", "{:.2f}"),
    ("MB/s", "mb_per_second", "{:.0f}"), ("/ floor", "ratio", "{:.3f}"),
    ("loop CPU ms/MB", "loop_ms_per_mb", "{:.2f}"), ("other CPU ms/MB", "other_ms_per_mb", "{:.2f}"),
    ("peak RSS MB", "rss_mb", "{:.1f}"), ("longest loop iteration ms", "stall_ms", "{:.1f}"),
    ("peak bytes for disk MB", "waiting_mb", "{:.1f}"), ("mock CPU s", "mock_cpu", "{:.1f}"),
    ("note", "note", "{}"),
]
ANIMATION = json.dumps({"provider": "kling", "prompt": "waves rolling onto a beach at dawn"})
TASK_SECONDS = 1.0


class Mock(b.Mock):
    """The bench mock serving videos of a given size and rate, with Kling pointed at it."""

    def __init__(self, directory, video_bytes, rate):
        arguments = ["--task-seconds", str(TASK_SECONDS), "--video-bytes", str(video_bytes)]
        if rate:
            arguments += ["--video-rate", str(rate)]
        super().__init__(0, directory, arguments)

    def environment(self):
        return {
            "KLING_BASE_URL": self.base_url, "KLING_ACCESS_KEY": "test-kling-access",
            "KLING_SECRET_KEY": "test-kling-secret", "KLING_POLL_SECONDS": "0.05",
            "KLING_POLL_MAX_SECONDS": "0.05",
        }

    def task_ready_times(self):
        with urllib.request.urlopen(self.base_url + "/_mock/tasks", timeout=10) as answer:
            return [task["created_at"] + TASK_SECONDS for task in json.loads(answer.read())]


class MetricsSampler:
    """Reads the worker's metrics file every 0.25 s and keeps the peak of one gauge; the last
    file read gives the final values."""

    def __init__(self, path, gauge):
        self.path, self.gauge = path, gauge
        self.peak, self.last = 0.0, {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def read(self):
        values = {}
        try:
            with open(self.path) as file:
                for line in file:
                    if line and not line.startswith("#"):
                        name, _, value = line.rpartition(" ")
                        values[name] = float(value)
        except (OSError, ValueError):
            return
        self.last = values
        self.peak = max(self.peak, values.get(self.gauge, 0.0))

    def loop(self):
        while not self.done.wait(0.25):
            self.read()

    def stop(self):
        self.done.set()
        self.thread.join()
        self.read()
        return self.last


def enqueue(directory, count):
    database = os.path.join(directory, "jobs.db")
    subprocess.run(
        [b.binary("reactor-worker"), "enqueue", "animation", "--params", ANIMATION, "--count", str(count),
         "--db", database], check=True, stdout=subprocess.DEVNULL, cwd=directory)
    return database


def finished_times(database):
    connection = sqlite3.connect(database)
    rows = connection.execute(
        "SELECT julianday(finished_at) FROM jobs WHERE status = 'completed'").fetchall()
    statuses = dict(connection.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
    connection.close()
    return [b.julian_to_unix(row[0]) for row in rows], statuses


def run_worker(case, jobs, video_bytes, rate, timeout):
    directory = b.workspace(f"downloads-{case}")
    mock = Mock(directory, video_bytes, rate)
    metrics_dir = os.path.join(directory, "metrics")
    os.makedirs(metrics_dir)
    try:
        database = enqueue(directory, jobs)
        environment = dict(mock.environment(), METRICS_DIR=metrics_dir, METRICS_INTERVAL_SECONDS="0.25")
        sampler = MetricsSampler(os.path.join(metrics_dir, "reactor_worker.prom"),
                                 "reactor_worker_output_bytes_waiting")
        mock_before = mock.cpu_seconds()
        result = b.run_to_drain("reactor", directory, mock, jobs, timeout, environment)
        final = sampler.stop()
        mock_cpu = mock.cpu_seconds() - mock_before
        ready = mock.task_ready_times()
    finally:
        mock.stop()
    finished, statuses = finished_times(database)
    completed = statuses.get("completed", 0)
    span = max(finished) - min(ready) if finished and ready else float("nan")
    megabytes = completed * video_bytes / 1e6
    note = "" if result["exit"] == 0 and completed == jobs else f"exit {result['exit']}, {statuses}, kept {directory}"
    if not note:
        b.remove(directory)
    return {
        "client": "reactor-worker", "completed": completed, "span": span, "mb_per_second": megabytes / span,
        "loop_ms_per_mb": 1000 * result["main_cpu"] / megabytes if megabytes else None,
        "other_ms_per_mb": 1000 * result["other_cpu"] / megabytes if megabytes else None,
        "rss_mb": result["rss_mb"], "stall_ms": 1000 * final.get("reactor_worker_loop_longest_iteration_seconds", 0),
        "waiting_mb": sampler.peak / 1e6, "mock_cpu": mock_cpu, "note": note,
    }


def run_floor(case, jobs, video_bytes, rate):
    client = b.compile_c("curl_multi_download.c", "curl_multi_download", "-lcurl", "-lpthread")
    directory = b.workspace(f"downloads-floor-{case}")
    mock = Mock(directory, video_bytes, rate)
    files = os.path.join(directory, "files")
    os.makedirs(files)
    try:
        mock_before = mock.cpu_seconds()
        output = subprocess.run([client, mock.base_url + "/_mock/files/videos/floor.mp4", str(jobs), files],
                                capture_output=True, text=True, timeout=900)
        mock_cpu = mock.cpu_seconds() - mock_before
    finally:
        mock.stop()
    values = b.name_values(output.stdout.strip()) if output.returncode == 0 else {}
    note = "" if values else f"exit {output.returncode}: {output.stderr.strip()[:200]}, kept {directory}"
    if values:
        b.remove(directory)
    megabytes = float(values.get("bytes", "nan")) / 1e6
    cpu = float(values.get("cpu_seconds", "nan"))
    return {
        "client": "bare curl-multi", "completed": int(values.get("files", 0)),
        "span": float(values.get("makespan", "nan")), "mb_per_second": float(values.get("mb_per_second", "nan")),
        "loop_ms_per_mb": 1000 * cpu / megabytes if values else None, "rss_mb": float(values.get("rss_mb", "nan")),
        "mock_cpu": mock_cpu, "note": note,
    }


SLOW_HEADER = [
    ("case", "case", "{}"), ("disk MB/s", "disk", "{:g}"), ("videos", "videos", "{}"), ("MB each", "video_mb", "{:g}"),
    ("images beside", "images", "{}"), ("done", "completed", "{}"), ("videos MB/s", "mb_per_second", "{:.1f}"),
    ("image run p50 s", "image_p50", "{:.2f}"), ("image run p95 s", "image_p95", "{:.2f}"),
    ("peak RSS MB", "rss_mb", "{:.1f}"), ("peak bytes for disk MB", "waiting_mb", "{:.1f}"),
    ("longest loop iteration ms", "stall_ms", "{:.1f}"), ("note", "note", "{}"),
]
IMAGE_LATENCY = 1.0


def run_slow_disk(videos, video_bytes, images, disk_mbps, timeout):
    """Videos and images together, OUTPUT_DIR on a FUSE mount whose writes pass at disk_mbps."""
    directory = b.workspace("downloads-slow")
    mock = SlowDiskMock(directory, video_bytes)
    root, mount = os.path.join(directory, "disk"), os.path.join(directory, "outputs")
    os.makedirs(root)
    os.makedirs(mount)
    # The interpreter running this bench: the one `pip install fusepy` went to.
    disk_log = os.path.join(directory, "slow_disk.log")
    with open(disk_log, "w") as log:
        disk = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "limit", "slow_disk.py"),
                                 root, mount, "--mbps", str(disk_mbps)], stdout=log, stderr=subprocess.STDOUT)
    metrics_dir = os.path.join(directory, "metrics")
    os.makedirs(metrics_dir)
    deadline = time.monotonic() + 10
    while not os.path.ismount(mount) and disk.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not os.path.ismount(mount):
        # Without the mount the worker would write to the fast disk beneath and the row would
        # claim a slow disk it never saw.
        disk.kill()
        mock.stop()
        with open(disk_log) as log:
            reason = log.read().strip().splitlines()[-1:] or ["no output"]
        sys.exit(f"downloads.py slow: the throttled mount did not come up at {mount}: {reason[0]} "
                 "(needs `pip install fusepy` for this python and `apt-get install libfuse2`)")
    try:
        database = enqueue(directory, videos)
        subprocess.run(
            [b.binary("reactor-worker"), "enqueue", "image_generation", "--params", b.PARAMS, "--count", str(images),
             "--db", database], check=True, stdout=subprocess.DEVNULL, cwd=directory)
        environment = dict(mock.environment(), METRICS_DIR=metrics_dir, METRICS_INTERVAL_SECONDS="0.25",
                           OUTPUT_DIR=mount)
        sampler = MetricsSampler(os.path.join(metrics_dir, "reactor_worker.prom"),
                                 "reactor_worker_output_bytes_waiting")
        result = b.run_to_drain("reactor", directory, mock, videos + images, timeout, environment)
        final = sampler.stop()
        ready = mock.task_ready_times()
    finally:
        mock.stop()
        subprocess.run(["umount", mount], stderr=subprocess.DEVNULL)
        disk.wait(10)
    connection = sqlite3.connect(database)
    statuses = dict(connection.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
    video_done = [b.julian_to_unix(row[0]) for row in connection.execute(
        "SELECT julianday(finished_at) FROM jobs WHERE status = 'completed' AND job_type = 'animation'")]
    image_runs = sorted(86400 * row[0] for row in connection.execute(
        "SELECT julianday(finished_at) - julianday(started_at) FROM jobs "
        "WHERE status = 'completed' AND job_type = 'image_generation'"))
    connection.close()
    completed = statuses.get("completed", 0)
    span = max(video_done) - min(ready) if video_done and ready else float("nan")
    note = "" if result["exit"] == 0 and completed == videos + images else f"exit {result['exit']}, {statuses}, kept {directory}"
    if not note:
        b.remove(directory)
    return {
        "case": "slow disk", "disk": disk_mbps, "videos": videos, "video_mb": video_bytes / 1e6, "images": images,
        "completed": completed, "mb_per_second": len(video_done) * video_bytes / 1e6 / span,
        "image_p50": b.percentile(image_runs, 0.5), "image_p95": b.percentile(image_runs, 0.95),
        "rss_mb": result["rss_mb"], "waiting_mb": sampler.peak / 1e6,
        "stall_ms": 1000 * final.get("reactor_worker_loop_longest_iteration_seconds", 0), "note": note,
    }


class SlowDiskMock(Mock):
    """Kling's videos and OpenAI's images (IMAGE_LATENCY s each) from one mock."""

    def __init__(self, directory, video_bytes):
        b.Mock.__init__(self, 0, directory, ["--task-seconds", str(TASK_SECONDS), "--video-bytes", str(video_bytes),
                                             "--latency-openai", str(IMAGE_LATENCY)])

    def environment(self):
        return dict(Mock.environment(self), **b.Mock.environment(self))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Checked below, not with `choices`: Python 3.11's argparse tests an empty list against them.
    parser.add_argument("cases", nargs="*", help="fast, paced (default: both)")
    parser.add_argument("--jobs", type=int, default=200, help="downloads at once")
    parser.add_argument("--video-mb", type=float, default=20, help="size of each video in MB (10^6 bytes)")
    parser.add_argument("--rate", type=float, default=1, help="per-connection cap of the paced case, MB/s")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--disk-mbps", type=float, default=20, help="the slow disk's MB/s (case slow)")
    parser.add_argument("--slow-videos", type=int, default=20, help="videos in the slow-disk case")
    parser.add_argument("--images", type=int, default=200, help="image jobs beside them in the slow-disk case")
    arguments = parser.parse_args()
    b.raise_open_file_limit()
    video_bytes = int(arguments.video_mb * 1e6)
    print(b.header_lines(HEADER), flush=True)
    unknown = [case for case in arguments.cases if case not in ("fast", "paced", "slow")]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}: choose fast, paced or slow")
    for case in arguments.cases or ["fast", "paced"]:
        if case == "slow":
            continue
        rate = int(arguments.rate * 1e6) if case == "paced" else 0
        shared = {"case": case, "files": arguments.jobs, "video_mb": arguments.video_mb,
                  "rate": f"{arguments.rate:g}" if rate else "none"}
        floor = dict(shared, **run_floor(case, arguments.jobs, video_bytes, rate))
        worker = dict(shared, **run_worker(case, arguments.jobs, video_bytes, rate, arguments.timeout))
        worker["ratio"] = worker["mb_per_second"] / floor["mb_per_second"]
        floor["ratio"] = 1.0
        b.emit("downloads", HEADER, floor)
        b.emit("downloads", HEADER, worker)
    if "slow" in arguments.cases:
        print("\n" + b.header_lines(SLOW_HEADER), flush=True)
        b.emit("downloads_slow_disk", SLOW_HEADER, run_slow_disk(
            arguments.slow_videos, video_bytes, arguments.images, arguments.disk_mbps, arguments.timeout))


if __name__ == "__main__":
    b.run_command(main)
