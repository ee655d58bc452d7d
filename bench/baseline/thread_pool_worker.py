#!/usr/bin/env python3
"""The design reactor-worker replaces, kept only to be measured against (bench/README.md).

A thread pool of MAX_CONCURRENT_JOBS threads, one job per thread. A main loop polls the
`jobs` table at a fixed interval (POLL_SECONDS, default 0.5 s); each pass claims as many
queued rows as there are idle threads, one UPDATE per row, and hands each to the pool.
A job thread opens its own SQLite connection, makes a blocking HTTP call (urllib, a new TCP
connection each time), writes the output file (temporary name, then rename) and the result,
and closes its connection. Statuses, timestamps, result JSON, output paths and the two log
lines per job are the ones reactor-worker writes, so the same bench queries read both.

Only `image_generation` with provider `openai` is implemented: that is the benched workload.

Run (the bench scripts do this):
    JOBS_DB=jobs.db OUTPUT_DIR=outputs MAX_CONCURRENT_JOBS=3 \
    OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 OPENAI_API_KEY=sk-… \
    python3 bench/baseline/thread_pool_worker.py [--drain]
SIGTERM/SIGINT: stop claiming, let running jobs finish, exit 0.
"""

import argparse
import base64
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
log = logging.getLogger("baseline")


def connect(path):
    # One connection per job, as the old design did; autocommit, explicit transactions.
    connection = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


class ThreadPoolWorker:
    def __init__(self, db, output_dir, capacity, poll_seconds, base_url, api_key, drain):
        self.db = db
        self.output_dir = os.path.abspath(output_dir)
        self.capacity = capacity
        self.poll_seconds = poll_seconds
        self.url = base_url.rstrip("/") + "/images/generations"
        self.api_key = api_key
        self.drain = drain
        self.pool = ThreadPoolExecutor(max_workers=capacity, thread_name_prefix="JobWorker")
        self.lock = threading.Lock()
        self.free_slots = list(range(capacity - 1, -1, -1))  # pop() hands out slot 0 first
        self.stopping = threading.Event()

    # --- main thread: fixed poll ---------------------------------------------------------

    def run(self):
        poller = connect(self.db)
        log.info("baseline worker started: MAX_CONCURRENT_JOBS=%d, poll %.2f s, pid %d",
                 self.capacity, self.poll_seconds, os.getpid())
        while not self.stopping.is_set():
            with self.lock:
                free = len(self.free_slots)
            if free > 0:
                rows = poller.execute(
                    "SELECT id, params, attempts FROM jobs WHERE status = 'queued' AND run_after <= ? "
                    "ORDER BY (job_type = 'video_keying') DESC, priority DESC, id LIMIT ?",
                    (time.time(), free)).fetchall()
                for job_id, params, attempts in rows:
                    claimed = poller.execute(
                        f"UPDATE jobs SET status = 'processing', attempts = attempts + 1, progress = 0, "
                        f"started_at = {NOW}, updated_at = {NOW} WHERE id = ? AND status = 'queued'",
                        (job_id,)).rowcount
                    if claimed:
                        self.submit(job_id, params, attempts + 1)
            if self.drain and self.is_drained(poller):
                log.info("Queue drained: nothing queued or active; exiting")
                break
            self.stopping.wait(self.poll_seconds)
        self.pool.shutdown(wait=True)
        poller.close()

    def is_drained(self, poller):
        with self.lock:
            if len(self.free_slots) < self.capacity:
                return False
        return poller.execute("SELECT count(*) FROM jobs WHERE status = 'queued'").fetchone()[0] == 0

    def submit(self, job_id, params, attempt):
        with self.lock:
            slot = self.free_slots.pop()
            active = self.capacity - len(self.free_slots)
        log.info("Submitted job %d to worker thread pool (%d/%d active)", job_id, active, self.capacity)
        self.pool.submit(self.run_job, job_id, params, attempt, slot)

    # --- pool threads: one job each ------------------------------------------------------

    def run_job(self, job_id, params, attempt, slot):
        log.info("[Thread-JobWorker-%d] Processing job %d...", slot, job_id)
        started = time.monotonic()
        connection = connect(self.db)
        try:
            result = self.generate(job_id, json.loads(params))
            connection.execute(
                f"UPDATE jobs SET status = 'completed', result = ?, error = NULL, progress = 1, "
                f"finished_at = {NOW}, updated_at = {NOW} WHERE id = ?", (json.dumps(result), job_id))
            log.info("[Thread-JobWorker-%d] Completed job %d in %.2f s", slot, job_id, time.monotonic() - started)
        except Exception as error:  # one job's failure never stops the worker
            retry = attempt < 3
            connection.execute(
                f"UPDATE jobs SET status = ?, error = ?, finished_at = CASE WHEN ? THEN NULL ELSE {NOW} END, "
                f"updated_at = {NOW} WHERE id = ?",
                ("queued" if retry else "failed", str(error), retry, job_id))
            log.warning("[Thread-JobWorker-%d] Job %d failed: %s", slot, job_id, error)
        finally:
            connection.close()
            with self.lock:
                self.free_slots.append(slot)

    def generate(self, job_id, params):
        body = {"model": params.get("model", "gpt-image-1"), "prompt": params["prompt"]}
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"})
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=600) as response:
            answer = json.loads(response.read())
        seconds = time.monotonic() - started
        folder = os.path.join(self.output_dir, str(job_id))
        os.makedirs(folder, exist_ok=True)
        files = []
        for index, image in enumerate(answer["data"]):
            final = os.path.join(folder, f"image-{index + 1}.png")
            temporary = os.path.join(folder, f".image-{index + 1}.png.{os.getpid()}.tmp")
            with open(temporary, "wb") as file:
                file.write(base64.b64decode(image["b64_json"]))
            os.rename(temporary, final)
            files.append(final)
        result = {"provider": "openai", "model": answer.get("model", body["model"]),
                  "provider_seconds": round(seconds, 3), "files": files}
        if "usage" in answer:
            result["usage"] = answer["usage"]
        return result


def main():
    parser = argparse.ArgumentParser(description="Thread-per-job baseline worker (bench only).")
    parser.add_argument("--drain", action="store_true", help="exit once nothing is queued or active")
    arguments = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s.%(msecs)03dZ %(levelname)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    logging.Formatter.converter = time.gmtime
    worker = ThreadPoolWorker(
        db=os.environ.get("JOBS_DB", "./jobs.db"),
        output_dir=os.environ.get("OUTPUT_DIR", "./outputs"),
        capacity=int(os.environ.get("MAX_CONCURRENT_JOBS", "3")),
        poll_seconds=float(os.environ.get("POLL_SECONDS", "0.5")),
        base_url=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
        api_key=os.environ.get("OPENAI_API_KEY", ""),
        drain=arguments.drain)
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: worker.stopping.set())
    worker.run()


if __name__ == "__main__":
    main()
