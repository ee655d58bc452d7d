#!/usr/bin/env python3
"""The dashboard: how fast its list answers on a big jobs.db, and whether open pages slow the worker.

`list` (default first): a jobs.db of 100,000 rows (made once by the worker's own `enqueue` for the
schema, then filled in one transaction: 85 % completed, 8 % failed, 3 % cancelled, 3 % queued,
1 % processing; six types, seven providers; prompts, results, errors; one row every 6 s back in
time), served by `reactor-worker web`. Each case is asked --requests times, one after another on
one keep-alive connection; printed per case: p50, p95 and max of the time from sending the
request to the last byte of the answer, and the answer's size. The cases: the list page (HTML
with its first page of jobs), `/api/jobs` alone and with each filter, a deep cursor, a text
search that matches and one that matches nothing (a scan), `count=1`, and `/api/stats`.
Target: p95 ≤ 100 ms for the list page and every `/api/jobs` case.

`sse`: the throughput run N = 2,000, L = 1 s, C = 100 (as bench/throughput.py) with the
dashboard on, three ways, alternated --repeat times: the dashboard off (WEB_ADDRESS=off),
on with no page open, and on with 50 pages listening to /api/events (50 reader threads that
read every event) plus one that opened the stream and never reads. The worker starts on an
empty jobs.db, the listeners connect, then the N rows are inserted in one transaction; the
makespan is first started_at to last finished_at. Printed per run: makespan, efficiency =
ceil(N/C)·L / makespan, worker CPU, events each listener got. Target: the efficiency with 50
listeners within 2 % of without.

Run:  bench/web.py                  # both
      bench/web.py list --rows 100000 --requests 200
      bench/web.py sse --repeat 3
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time

from lib import benchlib as b

LIST_HEADER = [
    ("case", "case", "{}"), ("requests", "requests", "{}"), ("p50 ms", "p50", "{:.1f}"),
    ("p95 ms", "p95", "{:.1f}"), ("max ms", "max", "{:.1f}"), ("answer KB", "kb", "{:.1f}"),
    ("jobs", "jobs", "{}"), ("note", "note", "{}"),
]

SSE_HEADER = [
    ("dashboard", "mode", "{}"), ("N", "n", "{}"), ("C", "c", "{}"), ("done", "completed", "{}"),
    ("makespan s", "makespan", "{:.2f}"), ("efficiency", "efficiency", "{:.3f}"),
    ("worker CPU s", "cpu", "{:.2f}"), ("events per listener", "events", "{}"),
    ("rest of machine % core", "rest_percent", "{:.0f}"), ("note", "note", "{}"),
]

WORDS = "fox lighthouse dusk neon city forest river cat dog robot castle ocean desert mountain portrait studio".split()
TYPES = [("image_generation", ["openai", "leonardo", "bytedance"], 50), ("background_removal", [None], 10),
         ("style_analysis", [None], 8), ("animation", ["kling", "seedance"], 20), ("video_keying", [None], 7),
         ("video_stitching", [None], 5)]


def fill(database, rows):
    """`rows` jobs of every type and status, newest last, in one transaction (seeded: repeatable)."""
    random.seed(15)
    now = time.time()
    stamp = lambda unix: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unix)) + ".%03dZ" % (int(unix * 1000) % 1000)
    values = []
    for index in range(rows):
        job_type, providers, _ = random.choices(TYPES, [weight for _, _, weight in TYPES])[0]
        provider = random.choice(providers)
        params = {"provider": provider} if provider else {}
        if job_type in ("image_generation", "animation"):
            params["prompt"] = " ".join(random.choice(WORDS) for _ in range(6))
        elif job_type == "video_stitching":
            params["inputs"] = [{"job": max(index - 2, 1)}, {"job": max(index - 1, 1)}]
        else:
            params["input" if job_type == "video_keying" else "image"] = {"job": random.randint(1, max(index, 1))}
        draw = random.random()
        status = ("completed" if draw < .85 else "failed" if draw < .93 else "cancelled" if draw < .96
                  else "queued" if draw < .99 else "processing")
        created = now - (rows - index) * 6
        started = created + random.uniform(0, 2)
        finished = started + random.uniform(2, 60)
        done = status in ("completed", "failed", "cancelled")
        result = json.dumps({"files": [f"/srv/outputs/{index + 2}/image-1.png"], "provider": provider or "bria",
                             "provider_task_id": f"task-{index}"}) if status == "completed" else None
        error = random.choice(["HTTP 429 rate limited by the provider; waited out Retry-After twice",
                               "params.image: file /in/missing.png does not exist",
                               "HTTP 500 from the provider: internal error"]) if status == "failed" else None
        values.append((job_type, status, json.dumps(params), result, error, stamp(created),
                       stamp(started) if status != "queued" else None, stamp(finished) if done else None,
                       stamp(finished if done else created)))
    connection = sqlite3.connect(database)
    connection.executemany(
        "INSERT INTO jobs (job_type, status, params, result, error, created_at, started_at, finished_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
    connection.commit()
    connection.close()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_dashboard(command, directory, environment, port):
    """Starts `reactor-worker <command>` with the dashboard on 127.0.0.1:port; waits for its URL."""
    log = open(os.path.join(directory, "worker.log"), "w")
    process = subprocess.Popen(command, env=environment, cwd=directory, stdout=subprocess.DEVNULL, stderr=log,
                               start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        with open(os.path.join(directory, "worker.log")) as text:
            if re.search(r"Dashboard on http://", text.read()):
                return process, log
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop(process)
    raise SystemExit(f"the dashboard did not start; see {directory}/worker.log")


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def list_cases(rows):
    deep = rows // 2
    return [
        ("list page /", "/"),
        ("list page /?status=failed", "/?status=failed"),
        ("/api/jobs", "/api/jobs"),
        ("status=completed", "/api/jobs?status=completed"),
        ("status=failed", "/api/jobs?status=failed"),
        ("status=queued", "/api/jobs?status=queued"),
        ("status=running", "/api/jobs?status=running"),
        ("status=failed,cancelled", "/api/jobs?status=failed,cancelled"),
        ("type=animation", "/api/jobs?type=animation"),
        ("type=video_stitching", "/api/jobs?type=video_stitching"),
        ("provider=kling", "/api/jobs?provider=kling"),
        ("provider=bria", "/api/jobs?provider=bria"),
        ("provider=ffmpeg (a type default)", "/api/jobs?provider=ffmpeg"),
        ("status+type+provider", "/api/jobs?status=failed&type=animation&provider=kling"),
        ("q=lighthouse (matches)", "/api/jobs?q=lighthouse%20ocean"),
        ("q=… (matches nothing: a scan)", "/api/jobs?q=no-such-words"),
        ("q + status=failed", "/api/jobs?status=failed&q=Retry-After"),
        (f"before={deep} (deep page)", f"/api/jobs?before={deep}"),
        ("status=completed, before (deep)", f"/api/jobs?status=completed&before={deep}"),
        ("limit=200", "/api/jobs?limit=200"),
        ("count=1 (+ 3 counts)", "/api/jobs?count=1"),
        ("count=1, status=failed", "/api/jobs?status=failed&count=1"),
        ("/api/stats", "/api/stats"),
    ]


def measure(port, path, requests):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times, size, jobs = [], 0, None
    for _ in range(requests + 3):
        started = time.perf_counter()
        connection.request("GET", path, headers={"Accept": "application/json"})
        answer = connection.getresponse()
        body = answer.read()
        times.append((time.perf_counter() - started) * 1000)
        if answer.status != 200:
            raise SystemExit(f"{path} answered {answer.status}: {body[:300]!r}")
        size = len(body)
        if path.startswith("/api/jobs"):
            jobs = len(json.loads(body)["jobs"])
    connection.close()
    times = times[3:]  # the first answers also warm SQLite's page cache
    return times, size, jobs


def bench_list(arguments):
    directory = b.workspace("web-list")
    database = os.path.join(directory, "jobs.db")
    subprocess.run([b.binary("reactor-worker"), "enqueue", "image_generation", "--params", b.PARAMS, "--db", database],
                   check=True, stdout=subprocess.DEVNULL, cwd=directory)
    fill(database, arguments.rows - 1)
    port = free_port()
    environment = dict(os.environ, JOBS_DB=database, OUTPUT_DIR=os.path.join(directory, "outputs"),
                       WEB_ADDRESS=f"127.0.0.1:{port}", LOG_LEVEL="info")
    process, log = start_dashboard([b.binary("reactor-worker"), "web"], directory, environment, port)
    # `web` migrates the schema (the dashboard's indexes) on its writing connection at start.
    deadline = time.time() + 120
    while time.time() < deadline:
        names = {row[0] for row in sqlite3.connect(database).execute("SELECT name FROM sqlite_master WHERE type='index'")}
        if "jobs_provider_id" in names:
            break
        time.sleep(0.2)
    print(b.header_lines(LIST_HEADER), flush=True)
    try:
        for case, path in list_cases(arguments.rows):
            times, size, jobs = measure(port, path, arguments.requests)
            b.emit("web-list", LIST_HEADER, {
                "case": case, "requests": len(times), "p50": b.percentile(times, 0.5), "p95": b.percentile(times, 0.95),
                "max": max(times), "kb": size / 1024, "jobs": jobs, "rows": arguments.rows,
                "note": "" if case == "/api/stats" or b.percentile(times, 0.95) <= 100 else "over 100 ms",
            })
    finally:
        stop(process)
        log.close()
    if arguments.keep:
        print(f"(kept {directory})")
    else:
        b.remove(directory)


class Listener(threading.Thread):
    """One open page: reads /api/events (or, `stalled`, opens it and never reads)."""

    def __init__(self, port, stalled=False):
        super().__init__(daemon=True)
        self.port, self.stalled = port, stalled
        self.events = 0
        self.connected = threading.Event()
        self.finished = threading.Event()

    def run(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.connected.set()
        if self.stalled:
            self.finished.wait()
            sock.close()
            return
        sock.settimeout(0.5)
        pending = b""
        while not self.finished.is_set():
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            pending += chunk
            self.events += pending.count(b"\nevent: ") + pending.startswith(b"event: ")
            pending = pending[pending.rfind(b"\n") + 1:] if b"\n" in pending else pending
        sock.close()


def wait_for_worker(database, process):
    """Until the worker has registered itself in the workers table (its start-up is over)."""
    deadline = time.time() + 60
    while time.time() < deadline and process.poll() is None:
        try:
            if sqlite3.connect(database, timeout=10).execute("SELECT count(*) FROM workers").fetchone()[0] > 0:
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    raise SystemExit("the worker did not register in the workers table within 60 s")


def one_sse_run(mode, count, latency, capacity, timeout):
    directory = b.workspace(f"web-sse-{mode}")
    mock = b.Mock(latency, directory)
    listeners = []
    process = log = None
    try:
        database = os.path.join(directory, "jobs.db")
        subprocess.run([b.binary("reactor-worker"), "enqueue", "image_generation", "--params", b.PARAMS, "--db",
                        database], check=True, stdout=subprocess.DEVNULL, cwd=directory)
        sqlite3.connect(database).execute("DELETE FROM jobs").connection.commit()
        port = free_port()
        environment = b.worker_environment(directory, mock, capacity, {
            "WEB_ADDRESS": "off" if mode == "off" else f"127.0.0.1:{port}"})
        command = [b.binary("reactor-worker"), "run"]
        if mode == "off":
            log = open(os.path.join(directory, "worker.log"), "w")
            process = subprocess.Popen(command, env=environment, cwd=directory, stdout=subprocess.DEVNULL, stderr=log,
                                       start_new_session=True)
        else:
            process, log = start_dashboard(command, directory, environment, port)
        wait_for_worker(database, process)
        if mode == "50 pages":
            listeners = [Listener(port) for _ in range(50)] + [Listener(port, stalled=True)]
            for listener in listeners:
                listener.start()
            for listener in listeners:
                listener.connected.wait(10)
        cpu_before, mock_before = b.process_cpu_seconds(process.pid), mock.cpu_seconds()
        machine_before, wall_before = b.machine_busy_seconds(), time.time()
        subprocess.run([b.binary("reactor-worker"), "enqueue", "image_generation", "--params", b.PARAMS, "--count",
                        str(count), "--db", database], check=True, stdout=subprocess.DEVNULL, cwd=directory)
        deadline = time.time() + timeout
        while time.time() < deadline:
            done = sqlite3.connect(database, timeout=10).execute(
                "SELECT count(*) FROM jobs WHERE status IN ('completed','failed','cancelled')").fetchone()[0]
            if done >= count:
                break
            time.sleep(0.2)
        cpu = b.process_cpu_seconds(process.pid) - cpu_before
        wall = time.time() - wall_before
        rest = b.machine_busy_seconds() - machine_before - cpu - (mock.cpu_seconds() - mock_before)
    finally:
        for listener in listeners:
            listener.finished.set()
        if process:
            stop(process)
        if log:
            log.close()
        mock.stop()
    figures = b.row_figures(database)
    ideal = b.ideal_makespan(count, capacity, latency)
    events = sorted(listener.events for listener in listeners if not listener.stalled)
    row = {
        "mode": mode, "n": count, "c": capacity, "completed": figures["completed"], "makespan": figures["makespan"],
        "efficiency": ideal / figures["makespan"] if figures["makespan"] > 0 else None, "cpu": cpu,
        "events": f"{events[0]}–{events[-1]}" if events else "", "rest_percent": 100 * rest / wall,
        "note": "" if figures["completed"] == count else f"statuses {figures['statuses']} kept {directory}",
    }
    if not row["note"]:
        b.remove(directory)
    return row


def bench_sse(arguments):
    print(b.header_lines(SSE_HEADER), flush=True)
    runs = {}
    for _ in range(arguments.repeat):
        for mode in ("off", "no pages", "50 pages"):
            row = one_sse_run(mode, arguments.jobs, 1.0, arguments.c, arguments.timeout)
            runs.setdefault(mode, []).append(row["efficiency"] or 0)
            b.emit("web-sse", SSE_HEADER, row)
    median = {mode: sorted(values)[len(values) // 2] for mode, values in runs.items()}
    print(f"\nmedian efficiency: " + ", ".join(f"{mode} {value:.3f}" for mode, value in median.items())
          + f"; 50 pages vs no pages: {100 * (median['50 pages'] / median['no pages'] - 1):+.2f} %")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", nargs="?", choices=["list", "sse", "both"], default="both")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in jobs.db for `list`")
    parser.add_argument("--requests", type=int, default=200, help="requests per case for `list`")
    parser.add_argument("--jobs", type=int, default=2000, help="N for `sse`")
    parser.add_argument("--c", type=int, default=100, help="MAX_CONCURRENT_JOBS for `sse`")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the three `sse` runs")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before an `sse` run gives up")
    parser.add_argument("--keep", action="store_true", help="keep the `list` folder")
    arguments = parser.parse_args()
    b.raise_open_file_limit()
    if arguments.part in ("list", "both"):
        bench_list(arguments)
    if arguments.part in ("sse", "both"):
        print()
        bench_sse(arguments)


if __name__ == "__main__":
    b.run_command(main)
