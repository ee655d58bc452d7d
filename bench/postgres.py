#!/usr/bin/python3
"""Many workers on one PostgreSQL (issue 18), with SQLite's figures beside them, in one run.

Starts its own PostgreSQL 15 (initdb into a temporary folder as the `postgres` user, 127.0.0.1,
a free port, durable settings: fsync and synchronous_commit on, as a studio's server runs), and
one mock-providers per run. Per run: a fresh database (or jobs.db) with N image_generation/openai
jobs made by `reactor-worker enqueue`, then K workers started together with `run --drain`, each
with MAX_CONCURRENT_JOBS = C. Printed, one Markdown row per run:
  makespan     first started_at to last finished_at of the rows
  ideal        ceil(N / (K·C)) · L;  efficiency = ideal / makespan (blank when L = 0)
  jobs/s       N / makespan, all workers together
  ×1 worker    jobs/s ÷ the same store's one-worker jobs/s at the same L
  split        jobs per worker (from each one's "Processing job" lines)
  CPU          workers, mock and PostgreSQL server, as % of one core over the makespan
Then the pickup delay through LISTEN/NOTIFY: one idle worker, this script inserts --rows rows
one at a time (each its own committed transaction, --interval apart on average); delay =
the row's started_at minus the moment COMMIT returned; p50/p99/max. SQLite's pickup (inotify)
in the same run for comparison.

Needs: postgresql-15 (server binaries in /usr/lib/postgresql/15/bin) and python3-psycopg2 (apt),
and the release binaries (`swift build -c release --scratch-path .build-bench`).

Run:  bench/postgres.py                                   # the issue's runs (about 8 minutes)
      bench/postgres.py --runs pg:3:20000:1:500 --rows 0  # one run, no pickup
Each run is STORE:K:N:L:C (STORE sqlite or pg). BENCH_PG_CONF="name = value; …" adds server
settings (experiments: `synchronous_commit = off`, `shared_preload_libraries = 'pg_stat_statements'`);
with the latter, BENCH_PG_STATEMENTS=N prints the N statements run most often, per job.
"""

import argparse
import math
import os
import pwd
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

import psycopg2

from lib import benchlib as b

DEFAULT_RUNS = ",".join([
    "pg:1:20000:1:500", "pg:2:20000:1:500", "pg:3:20000:1:500", "sqlite:1:20000:1:500", "sqlite:3:20000:1:500",
    "pg:1:20000:0:64", "pg:3:20000:0:64", "sqlite:1:20000:0:64", "sqlite:3:20000:0:64",
])
PG_BIN = os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin")

HEADER = [
    ("store", "store", "{}"), ("workers", "workers", "{}"), ("N", "n", "{}"), ("L s", "latency", "{:g}"),
    ("C each", "c", "{}"), ("done", "completed", "{}"), ("makespan s", "makespan", "{:.2f}"),
    ("ideal s", "ideal", "{:g}"), ("efficiency", "efficiency", "{:.3f}"), ("jobs/s", "jobs_per_second", "{:.0f}"),
    ("×1 worker", "scaling", "{:.2f}"), ("split", "split", "{}"), ("workers % core", "worker_percent", "{:.0f}"),
    ("mock % core", "mock_percent", "{:.0f}"), ("postgres % core", "server_percent", "{:.0f}"),
    ("rest % core", "rest_percent", "{:.0f}"), ("note", "note", "{}"),
]
PICKUP_HEADER = [
    ("store", "store", "{}"), ("wake-up", "wakeup", "{}"), ("rows", "rows", "{}"), ("p50 ms", "p50_ms", "{:.1f}"),
    ("p99 ms", "p99_ms", "{:.1f}"), ("max ms", "max_ms", "{:.1f}"), ("rows > 10 ms", "late", "{}"),
    ("note", "note", "{}"),
]


class Server:
    """A throwaway PostgreSQL server; `stop()` (also at exit) removes it."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="rw-bench-pg-")
        self.data = os.path.join(self.folder, "data")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        user = pwd.getpwnam("postgres")
        os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.folder}'\n"
                       "max_connections = 200\nshared_buffers = 256MB\n" + os.environ.get("BENCH_PG_CONF", "").replace(";", "\n") + "\n")
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "server.log"), "-o",
                 f"-p {self.port}", "-w", "start")

    def run(self, tool, *arguments):
        command = [os.path.join(PG_BIN, tool), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--"] + command
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.folder)

    def url(self, database):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create(self, database):
        connection = psycopg2.connect(self.url("postgres"))
        connection.autocommit = True
        connection.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
        connection.cursor().execute(f"CREATE DATABASE {database}")
        connection.close()
        if STATEMENTS:
            connection = psycopg2.connect(self.url(database))
            connection.autocommit = True
            connection.cursor().execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            connection.close()
        return self.url(database)

    def cpu_seconds(self):
        """CPU of the server: the postmaster with its reaped backends (cutime, cstime) plus the
        backends alive now. A backend that exits moves from the second sum into the first."""
        with open(os.path.join(self.data, "postmaster.pid")) as file:
            postmaster = int(file.readline())
        total = 0.0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks = int(fields[11]) + int(fields[12])
            if int(entry) == postmaster:
                ticks += int(fields[13]) + int(fields[14])
            elif int(fields[1]) != postmaster:
                continue
            total += ticks / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self):
        try:
            self.run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


def rows_of(store, where):
    if store.startswith("postgres://"):
        connection = psycopg2.connect(store)
        cursor = connection.cursor()
        cursor.execute("SELECT status, count(*) FROM jobs GROUP BY status")
        statuses = dict(cursor.fetchall())
        cursor.execute(f"""SELECT extract(epoch FROM min(started_at::timestamptz)),
                                  extract(epoch FROM max(finished_at::timestamptz)) FROM jobs WHERE {where}""")
        first, last = cursor.fetchone()
        connection.close()
        return statuses, (float(last) - float(first)) if first is not None else float("nan")
    figures = b.row_figures(store)
    return figures["statuses"], figures["makespan"]


STATEMENTS = int(os.environ.get("BENCH_PG_STATEMENTS", "0"))


def print_statements(store, count):
    """The statements the server ran most, per job (BENCH_PG_STATEMENTS=N; needs
    `shared_preload_libraries = 'pg_stat_statements'` in BENCH_PG_CONF)."""
    connection = psycopg2.connect(store)
    cursor = connection.cursor()
    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    cursor.execute("""SELECT calls, total_exec_time, regexp_replace(left(query, 110), '\\s+', ' ', 'g')
                      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                      ORDER BY calls DESC LIMIT %s""", (STATEMENTS,))
    print("| calls/job | ms total | statement |\n| --- | --- | --- |")
    for calls, total, query in cursor.fetchall():
        print(f"| {calls / count:.2f} | {total:.0f} | `{query}` |")
    connection.close()


def one_run(server, store_kind, workers, count, latency, capacity, timeout):
    directory = b.workspace(f"{store_kind}-{workers}w-{count}-{capacity}")
    mock = b.Mock(latency, directory)
    note = ""
    try:
        if store_kind == "pg":
            store = server.create(f"bench_{workers}w_{int(latency * 1000)}_{capacity}")
            extra = {"JOBS_DATABASE_URL": store}
        else:
            store = os.path.join(directory, "jobs.db")
            extra = {}
        subprocess.run(
            [b.binary("reactor-worker"), "enqueue", "image_generation", "--params", b.PARAMS, "--count", str(count),
             "--db", store], check=True, stdout=subprocess.DEVNULL, cwd=directory)
        before = (mock.cpu_seconds(), server.cpu_seconds(), b.machine_busy_seconds())
        processes, logs = [], []
        for index in range(workers):
            log = open(os.path.join(directory, f"worker-{index + 1}.log"), "w")
            logs.append(log)
            processes.append(subprocess.Popen(
                b.worker_command("reactor"), env=b.worker_environment(directory, mock, capacity, extra),
                cwd=directory, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True))
        deadline = time.monotonic() + timeout
        cpu_of = {}
        while any(process.poll() is None for process in processes) and time.monotonic() < deadline:
            for process in processes:
                try:
                    cpu_of[process.pid] = b.process_cpu_seconds(process.pid)
                except (OSError, IndexError):
                    pass
            time.sleep(0.1)
        for process in processes:
            if process.poll() is None:
                note = "timeout"
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            if process.returncode not in (0, -9):
                note = (note + f" exit {process.returncode}").strip()
        worker_cpu = sum(cpu_of.values())
        mock_cpu = mock.cpu_seconds() - before[0]
        server_cpu = server.cpu_seconds() - before[1]
        machine_cpu = b.machine_busy_seconds() - before[2]
        for log in logs:
            log.close()
        statuses, makespan = rows_of(store, "status = 'completed'")
        if store_kind == "pg" and STATEMENTS:
            print_statements(store, count)
        split = []
        for index in range(workers):
            with open(os.path.join(directory, f"worker-{index + 1}.log")) as log:
                split.append(sum(1 for line in log if "] Processing job " in line))
    finally:
        mock.stop()
    completed = statuses.get("completed", 0)
    if completed != count:
        note = (note + f" statuses {statuses}").strip()
    ideal = math.ceil(count / (workers * capacity)) * latency
    b.remove(directory)
    return {
        "store": "PostgreSQL" if store_kind == "pg" else "SQLite", "workers": workers, "n": count,
        "latency": latency, "c": capacity, "completed": completed, "makespan": makespan, "ideal": ideal,
        "efficiency": ideal / makespan if latency > 0 else None, "jobs_per_second": completed / makespan,
        "split": "/".join(str(share) for share in split),
        "worker_percent": 100 * worker_cpu / makespan, "mock_percent": 100 * mock_cpu / makespan,
        "server_percent": 100 * server_cpu / makespan if store_kind == "pg" else None,
        "rest_percent": 100 * max(machine_cpu - worker_cpu - mock_cpu - server_cpu, 0) / makespan,
        "note": note,
    }


def pickup(server, store_kind, rows, interval):
    directory = b.workspace(f"pickup-{store_kind}")
    mock = b.Mock(0, directory)
    note = ""
    if store_kind == "pg":
        store = server.create("bench_pickup")
        extra = {"JOBS_DATABASE_URL": store}

        def connect():
            connection = psycopg2.connect(store)
            connection.autocommit = False
            return connection
    else:
        store = os.path.join(directory, "jobs.db")
        extra = {}

        def connect():
            return sqlite3.connect(store, timeout=10, isolation_level=None)
    subprocess.run(
        [b.binary("reactor-worker"), "enqueue", "image_generation", "--params", b.PARAMS, "--db", store],
        check=True, stdout=subprocess.DEVNULL, cwd=directory)
    log = open(os.path.join(directory, "worker.log"), "w")
    worker = subprocess.Popen(
        b.worker_command("reactor", drain=False), env=b.worker_environment(directory, mock, 32, extra),
        cwd=directory, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)

    def started():
        connection = connect()
        cursor = connection.cursor()
        if store_kind == "pg":
            cursor.execute("SELECT id, extract(epoch FROM started_at::timestamptz) FROM jobs WHERE started_at IS NOT NULL")
            found = {row[0]: float(row[1]) for row in cursor.fetchall()}
        else:
            found = {row[0]: b.julian_to_unix(row[1]) for row in cursor.execute(
                "SELECT id, julianday(started_at) FROM jobs WHERE started_at IS NOT NULL").fetchall()}
        connection.close()
        return found

    delays = []
    try:
        deadline = time.monotonic() + 30
        while len(started()) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        connection = connect()
        committed = {}
        for _ in range(rows):
            cursor = connection.cursor()
            if store_kind == "pg":
                cursor.execute("INSERT INTO jobs (job_type, params) VALUES ('image_generation', %s) RETURNING id",
                               (b.PARAMS,))
                new_id = cursor.fetchone()[0]
                connection.commit()
            else:
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute("INSERT INTO jobs (job_type, params) VALUES ('image_generation', ?)", (b.PARAMS,))
                new_id = cursor.lastrowid
                cursor.execute("COMMIT")
            committed[new_id] = time.time()
            time.sleep(random.uniform(0.5, 1.5) * interval)
        connection.close()
        deadline = time.monotonic() + 60
        found = started()
        while len(found) < rows + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
            found = started()
        if len(found) < rows + 1:
            note = "not every row was picked up within 60 s"
        delays = [1000 * (found[i] - t) for i, t in committed.items() if i in found]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
        mock.stop()
        log.close()
        b.remove(directory)
    return {
        "store": "PostgreSQL" if store_kind == "pg" else "SQLite",
        "wakeup": "LISTEN/NOTIFY" if store_kind == "pg" else "inotify on the WAL",
        "rows": len(delays), "p50_ms": b.percentile(delays, 0.5), "p99_ms": b.percentile(delays, 0.99),
        "max_ms": max(delays) if delays else None, "late": sum(1 for d in delays if d > 10), "note": note,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=DEFAULT_RUNS, help="comma-separated STORE:K:N:L:C")
    parser.add_argument("--rows", type=int, default=200, help="rows for the pickup measurement (0: none)")
    parser.add_argument("--interval", type=float, default=0.05, help="mean seconds between pickup inserts")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a run is killed")
    arguments = parser.parse_args()
    b.raise_open_file_limit()
    server = Server()
    try:
        print(b.header_lines(HEADER), flush=True)
        one_worker = {}
        for spec in arguments.runs.split(","):
            store_kind, workers, count, latency, capacity = spec.split(":")
            row = one_run(server, store_kind, int(workers), int(count), float(latency), int(capacity),
                          arguments.timeout)
            key = (store_kind, float(latency))
            if int(workers) == 1:
                one_worker[key] = row["jobs_per_second"]
            row["scaling"] = row["jobs_per_second"] / one_worker[key] if key in one_worker else None
            b.emit("postgres", HEADER, row)
        if arguments.rows:
            print(flush=True)
            print(b.header_lines(PICKUP_HEADER), flush=True)
            for store_kind in ("pg", "sqlite"):
                b.emit("postgres_pickup", PICKUP_HEADER, pickup(server, store_kind, arguments.rows, arguments.interval))
    finally:
        server.stop()


if __name__ == "__main__":
    b.run_command(main)
