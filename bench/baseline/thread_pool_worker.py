#!/usr/bin/env python3
"""The design reactor-worker replaces, kept only to be measured against (bench/README.md).

A thread pool of MAX_CONCURRENT_JOBS threads, one job per thread. A main loop polls the
`jobs` table at a fixed interval (POLL_SECONDS, default 0.5 s); each pass claims as many
queued rows as there are idle threads (video_keying first), one UPDATE per row, and hands each
to the pool. A job thread opens its own SQLite connection, runs the whole job with blocking
calls, writes the result, and closes its connection. Statuses (`processing`,
`keying_processing` for keying, `completed`, `failed`; a failed attempt goes back to `queued`
until its third), timestamps, result JSON, output paths and the two log lines per job are the
ones reactor-worker writes, so the same bench queries read both.

What each job type does in its thread (requests, params and result keys as reactor-worker's
provider clients and media jobs; docs/mock-providers.md, PROVIDERS.md):
  image_generation  openai: one blocking urllib POST (a new TCP connection each time), the
                      b64 image written through a temporary name, then renamed (the benched
                      throughput workload; unchanged, so no fsync);
                    leonardo: POST, then GET polls with time.sleep between them, then each
                      image URL downloaded; bytedance (Seedream on Ark): POST, URLs downloaded
  background_removal  bria: POST (image as raw base64 or its URL), status polls, the cut-out
                      downloaded as cutout.png
  animation         kling (a fresh HS256 JWT per request) or seedance: POST the task, poll it
                      with time.sleep, download the video (64 KiB reads) as video.mp4
  video_keying      ffprobe, then ffmpeg as a subprocess with the worker's chromakey/despill
                      command (KeyingOptions.swift), progress read from `-progress pipe:1`
  video_stitching   ffprobe of each input, then ffmpeg with the worker's concat/xfade graph
                      (StitchingPlan.swift)
Every file except the openai path's is written to `.NAME.PID.tmp`, fsynced and renamed, as
the worker does. Polls follow `<PROVIDER>_POLL_SECONDS` / `<PROVIDER>_POLL_MAX_SECONDS` (the
worker's defaults and growth); every request, poll loop and ffmpeg run has a deadline
(JOB_TIMEOUT_SECONDS, default 3600). There is no media pool: a keying or stitching job runs its
ffmpeg in its own thread, so up to MAX_CONCURRENT_JOBS of them run at once. Inputs may be a
path, an http(s) URL (downloaded first) or {"job": ID}. No leases, crash recovery, rate caps,
budgets or lost-submit handling: the design being measured had none.

Run (the bench scripts do this):
    JOBS_DB=jobs.db OUTPUT_DIR=outputs MAX_CONCURRENT_JOBS=3 \
    OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 OPENAI_API_KEY=sk-… \
    python3 bench/baseline/thread_pool_worker.py [--drain]
(plus LEONARDO_BASE_URL, ARK_BASE_URL, BRIA_BASE_URL, KLING_BASE_URL and their keys for the
other providers.) SIGTERM/SIGINT: stop claiming, let running jobs finish, exit 0.
"""

import argparse
import base64
import hashlib
import hmac
import json
import logging
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
log = logging.getLogger("baseline")

# Base URLs and poll schedules (base, maximum) as reactor-worker's clients default them.
DEFAULT_URLS = {
    "LEONARDO_BASE_URL": "https://cloud.leonardo.ai/api/rest/v1",
    "ARK_BASE_URL": "https://ark.ap-southeast.bytepluses.com/api/v3",
    "BRIA_BASE_URL": "https://engine.prod.bria-api.com",
    "KLING_BASE_URL": "https://api-singapore.klingai.com",
}
POLLS = {"LEONARDO": (3, 15), "BRIA": (2, 10), "KLING": (5, 30), "SEEDANCE": (5, 30)}
LEONARDO_MODEL = "6bef9f1b-29cb-40c7-b9df-32b51c1f67d3"
SEEDREAM_MODEL = "seedream-4-0-250828"
SEEDANCE_MODEL = "seedance-1-0-pro-250528"
KLING_MODEL = "kling-v1"


class Permanent(Exception):
    """A failure another attempt cannot fix (bad params, the provider's final no)."""


def connect(path):
    # One connection per job, as the old design did; autocommit, explicit transactions.
    connection = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def number(value):
    """A number as KeyingOptions.number writes it into filter graphs: at most 4 decimals, no trailing zeros."""
    return re.sub(r"\.?0+$", "", f"{value:.4f}")


def poll_interval(base, maximum, elapsed, steady=30.0):
    """PollSchedule.interval: `base` for the first `steady` seconds, then growing with the wait."""
    if elapsed <= steady:
        return base
    return min(max(maximum, base), base * elapsed / steady)


class ThreadPoolWorker:
    def __init__(self, db, output_dir, capacity, poll_seconds, base_url, api_key, drain, environment=None):
        self.db = db
        self.output_dir = os.path.abspath(output_dir)
        self.capacity = capacity
        self.poll_seconds = poll_seconds
        self.url = base_url.rstrip("/") + "/images/generations"
        self.api_key = api_key
        self.drain = drain
        self.environment = dict(os.environ if environment is None else environment)
        self.job_timeout = float(self.environment.get("JOB_TIMEOUT_SECONDS", "3600"))
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
                    "SELECT id, job_type, params, attempts FROM jobs WHERE status = 'queued' AND run_after <= ? "
                    "ORDER BY (job_type = 'video_keying') DESC, priority DESC, id LIMIT ?",
                    (time.time(), free)).fetchall()
                for job_id, job_type, params, attempts in rows:
                    claimed = poller.execute(
                        f"UPDATE jobs SET status = CASE WHEN job_type = 'video_keying' THEN 'keying_processing' "
                        f"ELSE 'processing' END, attempts = attempts + 1, progress = 0, "
                        f"started_at = {NOW}, updated_at = {NOW} WHERE id = ? AND status = 'queued'",
                        (job_id,)).rowcount
                    if claimed:
                        self.submit(job_id, job_type, params, attempts + 1)
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

    def submit(self, job_id, job_type, params, attempt):
        with self.lock:
            slot = self.free_slots.pop()
            active = self.capacity - len(self.free_slots)
        log.info("Submitted job %d to worker thread pool (%d/%d active)", job_id, active, self.capacity)
        self.pool.submit(self.run_job, job_id, job_type, params, attempt, slot)

    # --- pool threads: one job each ------------------------------------------------------

    def run_job(self, job_id, job_type, params, attempt, slot):
        log.info("[Thread-JobWorker-%d] Processing job %d...", slot, job_id)
        started = time.monotonic()
        connection = connect(self.db)
        try:
            result = self.handle(job_id, job_type, json.loads(params), connection)
            connection.execute(
                f"UPDATE jobs SET status = 'completed', result = ?, error = NULL, progress = 1, "
                f"finished_at = {NOW}, updated_at = {NOW} WHERE id = ?", (json.dumps(result), job_id))
            log.info("[Thread-JobWorker-%d] Completed job %d in %.2f s", slot, job_id, time.monotonic() - started)
        except Exception as error:  # one job's failure never stops the worker
            retry = attempt < 3 and not isinstance(error, Permanent)
            connection.execute(
                f"UPDATE jobs SET status = ?, error = ?, finished_at = CASE WHEN ? THEN NULL ELSE {NOW} END, "
                f"updated_at = {NOW} WHERE id = ?",
                ("queued" if retry else "failed", str(error), retry, job_id))
            log.warning("[Thread-JobWorker-%d] Job %d failed: %s", slot, job_id, error)
        finally:
            connection.close()
            with self.lock:
                self.free_slots.append(slot)

    def handle(self, job_id, job_type, params, connection):
        provider = params.get("provider")
        deadline = time.monotonic() + self.job_timeout
        if job_type == "image_generation":
            if provider == "openai":
                return self.generate(job_id, params)
            if provider == "leonardo":
                return self.leonardo(job_id, params, deadline)
            if provider == "bytedance":
                return self.seedream(job_id, params, deadline)
        elif job_type == "background_removal" and provider in (None, "bria"):
            return self.bria(job_id, params, deadline, connection)
        elif job_type == "animation":
            if provider == "kling":
                return self.kling(job_id, params, deadline)
            if provider == "seedance":
                return self.seedance(job_id, params, deadline)
        elif job_type == "video_keying":
            return self.keying(job_id, params, deadline, connection)
        elif job_type == "video_stitching":
            return self.stitching(job_id, params, deadline, connection)
        raise Permanent(f"the baseline does not implement {job_type} with provider {provider!r}")

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

    # --- HTTP helpers (blocking urllib, a new connection per request) ------------------------

    def setting(self, name, default=None):
        value = self.environment.get(name, "")
        return value if value else default

    def credential(self, name):
        value = self.setting(name)
        if not value:
            raise Permanent(f"{name} is not set")
        return value

    @staticmethod
    def remaining(deadline, cap):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Permanent("the job ran past JOB_TIMEOUT_SECONDS")
        return min(left, cap)

    def call(self, method, url, headers, body=None, deadline=None, timeout=600):
        """One request; returns (status, response headers, parsed JSON). HTTP errors raise with the body."""
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(headers, Accept="application/json")
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        limit = self.remaining(deadline, timeout) if deadline else timeout
        try:
            with urllib.request.urlopen(request, timeout=limit) as response:
                return response.status, response.headers, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            text = error.read()[:300].decode(errors="replace")
            failure = Permanent if 400 <= error.code < 500 and error.code not in (408, 429) else RuntimeError
            raise failure(f"{method} {url.split('?')[0]} failed with HTTP {error.code}: {text}") from None

    def poll(self, provider, fetch, deadline):
        """Calls `fetch()` until it returns a value other than None, sleeping this thread between calls."""
        base, maximum = POLLS[provider]
        base = float(self.setting(f"{provider}_POLL_SECONDS", base))
        maximum = float(self.setting(f"{provider}_POLL_MAX_SECONDS", max(maximum, base)))
        started = time.monotonic()
        while True:
            self.remaining(deadline, 1)
            time.sleep(min(poll_interval(base, maximum, time.monotonic() - started),
                           max(0.0, deadline - time.monotonic())))
            value = fetch()
            if value is not None:
                return value

    def folder(self, job_id):
        path = os.path.join(self.output_dir, str(job_id))
        os.makedirs(path, exist_ok=True)
        return path

    @staticmethod
    def commit(temporary, final):
        """fsync, then rename into place (a job marked completed never points at an empty file)."""
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.rename(temporary, final)
        return final

    def download(self, url, folder, name, deadline):
        """Streams `url` into `folder/name` through `.name.PID.tmp` (64 KiB reads), then commits it."""
        temporary = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
        try:
            with urllib.request.urlopen(url, timeout=self.remaining(deadline, 120)) as response, \
                    open(temporary, "wb") as file:
                while True:
                    chunk = response.read(65536)
                    if not chunk:
                        break
                    file.write(chunk)
                    if time.monotonic() > deadline:
                        raise Permanent("the job ran past JOB_TIMEOUT_SECONDS while downloading")
            return self.commit(temporary, os.path.join(folder, name))
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    @staticmethod
    def image_name(number, url):
        extension = os.path.splitext(url.split("?")[0])[1].lower().lstrip(".")
        return f"image-{number}.{extension if extension in ('png', 'jpg', 'jpeg', 'webp') else 'png'}"

    @staticmethod
    def provider_result(provider, task_id, started, files, extra=None):
        result = dict(extra or {})
        result.update({"files": files, "provider": provider, "provider_task_id": task_id,
                       "provider_seconds": round(time.monotonic() - started, 3)})
        return result

    def input_path(self, value, key, connection):
        """A local path for an input given as a path or {"job": ID} (URLs are handled by the caller)."""
        if isinstance(value, dict):
            row = connection.execute("SELECT status, result FROM jobs WHERE id = ?", (value.get("job"),)).fetchone()
            if not row or row[0] != "completed":
                raise Permanent(f"params.{key}: job {value.get('job')} is not completed")
            files = json.loads(row[1] or "{}").get("files") or []
            if not files:
                raise Permanent(f"params.{key}: job {value.get('job')} has no file in its result")
            return files[0]
        if not isinstance(value, str):
            raise Permanent(f"params.{key} must be a path, a URL or {{\"job\": ID}}")
        path = os.path.abspath(value.strip())
        if not os.path.isfile(path):
            raise Permanent(f"params.{key}: file {path} does not exist")
        return path

    # --- image_generation: leonardo, bytedance -----------------------------------------------

    def leonardo(self, job_id, params, deadline):
        base = self.setting("LEONARDO_BASE_URL", DEFAULT_URLS["LEONARDO_BASE_URL"]).rstrip("/")
        headers = {"Authorization": f"Bearer {self.credential('LEONARDO_API_KEY')}"}
        body = {"prompt": params["prompt"], "modelId": params.get("model", LEONARDO_MODEL)}
        for key in ("width", "height", "num_images", "negative_prompt", "seed"):
            if key in params:
                body[key] = params[key]
        body.update(params.get("options") or {})
        started = time.monotonic()
        _, _, answer = self.call("POST", f"{base}/generations", headers, body, deadline)
        generation = answer["sdGenerationJob"]["generationId"]

        def fetch():
            _, _, polled = self.call("GET", f"{base}/generations/{generation}", headers, deadline=deadline, timeout=60)
            record = polled.get("generations_by_pk")
            if record is None:
                raise Permanent(f"Leonardo has no generation {generation}")
            if record["status"] == "FAILED":
                raise Permanent(f"Leonardo generation {generation} ended FAILED; no images were made")
            return record["generated_images"] if record["status"] == "COMPLETE" else None

        images = self.poll("LEONARDO", fetch, deadline)
        folder = self.folder(job_id)
        files = [self.download(image["url"], folder, self.image_name(index + 1, image["url"]), deadline)
                 for index, image in enumerate(images)]
        return self.provider_result("leonardo", generation, started, files)

    def seedream(self, job_id, params, deadline):
        base = self.setting("ARK_BASE_URL", DEFAULT_URLS["ARK_BASE_URL"]).rstrip("/")
        headers = {"Authorization": f"Bearer {self.credential('ARK_API_KEY')}"}
        body = {"model": params.get("model", SEEDREAM_MODEL), "prompt": params["prompt"],
                "response_format": "url", "watermark": False}
        if "width" in params and "height" in params:
            body["size"] = f"{params['width']}x{params['height']}"
        if params.get("num_images", 1) > 1:
            body["sequential_image_generation"] = "auto"
            body["sequential_image_generation_options"] = {"max_images": params["num_images"]}
        if "seed" in params:
            body["seed"] = params["seed"]
        body.update(params.get("options") or {})
        started = time.monotonic()
        _, response_headers, answer = self.call("POST", f"{base}/images/generations", headers, body, deadline,
                                                timeout=300)
        folder = self.folder(job_id)
        files = [self.download(item["url"], folder, self.image_name(index + 1, item["url"]), deadline)
                 for index, item in enumerate(item for item in answer["data"] if item.get("url"))]
        extra = {"model": answer["model"]} if answer.get("model") else {}
        return self.provider_result("bytedance", response_headers.get("x-request-id"), started, files, extra)

    # --- background_removal: bria ------------------------------------------------------------

    def bria(self, job_id, params, deadline, connection):
        base = self.setting("BRIA_BASE_URL", DEFAULT_URLS["BRIA_BASE_URL"]).rstrip("/")
        headers = {"api_token": self.credential("BRIA_API_TOKEN")}
        image = params.get("image")
        if isinstance(image, str) and image.strip().startswith(("http://", "https://")):
            encoded = image.strip()
        else:
            with open(self.input_path(image, "image", connection), "rb") as file:
                encoded = base64.b64encode(file.read()).decode()
        body = {"image": encoded, "sync": False, "preserve_alpha": True}
        body.update(params.get("options") or {})
        started = time.monotonic()
        _, _, answer = self.call("POST", f"{base}/v2/image/edit/remove_background", headers, body, deadline)
        request_id = answer["request_id"]
        given = answer.get("status_url") or ""
        status_url = given if given.startswith(base + "/") else f"{base}/v2/status/{request_id}"

        def fetch():
            _, _, status = self.call("GET", status_url, headers, deadline=deadline, timeout=60)
            if status.get("status") in ("ERROR", "UNKNOWN"):
                raise Permanent(f"BRIA request {request_id} ended {status['status']}: {status.get('error')}")
            return status["result"]["image_url"] if status.get("status") == "COMPLETED" else None

        url = self.poll("BRIA", fetch, deadline)
        files = [self.download(url, self.folder(job_id), "cutout.png", deadline)]
        return self.provider_result("bria", request_id, started, files)

    # --- animation: kling, seedance ----------------------------------------------------------

    def kling_token(self):
        """Kling's JWT: HS256 over {iss: access key, exp: now + 1800, nbf: now - 5}, made per request."""
        def encode(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        now = int(time.time())
        claims = {"iss": self.credential("KLING_ACCESS_KEY"), "exp": now + 1800, "nbf": now - 5}
        signing = encode(b'{"alg":"HS256","typ":"JWT"}') + "." + encode(json.dumps(claims).encode())
        signature = hmac.new(self.credential("KLING_SECRET_KEY").encode(), signing.encode(), hashlib.sha256).digest()
        return f"{signing}.{encode(signature)}"

    def kling(self, job_id, params, deadline):
        base = self.setting("KLING_BASE_URL", DEFAULT_URLS["KLING_BASE_URL"]).rstrip("/")
        family = "image2video" if "image" in params else "text2video"
        body = {"model_name": params.get("model", KLING_MODEL), "duration": str(params.get("duration", 5)),
                "mode": params.get("mode", "std"), "external_task_id": f"baseline-{job_id}-{time.time_ns()}"}
        if family == "image2video":
            image = params["image"]
            if not (isinstance(image, str) and image.startswith(("http://", "https://"))):
                with open(os.path.abspath(image), "rb") as file:
                    image = base64.b64encode(file.read()).decode()
            body["image"] = image
            if "prompt" in params:
                body["prompt"] = params["prompt"]
        else:
            body["prompt"] = params["prompt"]
            if "aspect_ratio" in params:
                body["aspect_ratio"] = params["aspect_ratio"]
        if "negative_prompt" in params:
            body["negative_prompt"] = params["negative_prompt"]
        body.update(params.get("options") or {})
        started = time.monotonic()
        _, _, answer = self.call("POST", f"{base}/v1/videos/{family}",
                                 {"Authorization": f"Bearer {self.kling_token()}"}, body, deadline)
        if answer.get("code") != 0:
            raise Permanent(f"Kling refused the task: {answer.get('code')} {answer.get('message')}")
        task_id = answer["data"]["task_id"]

        def fetch():
            _, _, polled = self.call("GET", f"{base}/v1/videos/{family}/{task_id}",
                                     {"Authorization": f"Bearer {self.kling_token()}"}, deadline=deadline, timeout=60)
            data = polled["data"]
            if data["task_status"] == "failed":
                raise Permanent(f"Kling task {task_id} failed: {data.get('task_status_msg')}")
            return data["task_result"]["videos"][0]["url"] if data["task_status"] == "succeed" else None

        url = self.poll("KLING", fetch, deadline)
        files = [self.download(url, self.folder(job_id), "video.mp4", deadline)]
        return self.provider_result("kling", task_id, started, files)

    def seedance(self, job_id, params, deadline):
        base = self.setting("ARK_BASE_URL", DEFAULT_URLS["ARK_BASE_URL"]).rstrip("/") + "/contents/generations/tasks"
        headers = {"Authorization": f"Bearer {self.credential('ARK_API_KEY')}"}
        commands = [f"--dur {params.get('duration', 5)}"]
        if "aspect_ratio" in params:
            commands.append(f"--rt {params['aspect_ratio']}")
        commands.append("--wm false")
        content = [{"type": "text", "text": " ".join(([params["prompt"]] if params.get("prompt") else []) + commands)}]
        if "image" in params:
            image = params["image"]
            if not (isinstance(image, str) and image.startswith(("http://", "https://"))):
                with open(os.path.abspath(image), "rb") as file:
                    image = "data:image/png;base64," + base64.b64encode(file.read()).decode()
            content.append({"type": "image_url", "image_url": {"url": image}, "role": "first_frame"})
        body = {"model": params.get("model", SEEDANCE_MODEL), "content": content}
        body.update(params.get("options") or {})
        started = time.monotonic()
        _, _, answer = self.call("POST", base, headers, body, deadline)
        task_id = answer["id"]

        def fetch():
            _, _, task = self.call("GET", f"{base}/{task_id}", headers, deadline=deadline, timeout=60)
            if task["status"] in ("failed", "cancelled", "expired"):
                raise Permanent(f"Seedance task {task_id} ended {task['status']}: {task.get('error')}")
            return task["content"]["video_url"] if task["status"] == "succeeded" else None

        url = self.poll("SEEDANCE", fetch, deadline)
        files = [self.download(url, self.folder(job_id), "video.mp4", deadline)]
        return self.provider_result("seedance", task_id, started, files)

    # --- video_keying, video_stitching: ffmpeg in this thread ------------------------------------

    def tool(self, name):
        path = self.setting(name.upper() + "_PATH") or shutil.which(name, path=self.setting("PATH", "/usr/bin:/bin"))
        if not path:
            raise Permanent(f"{name} is not installed")
        return path

    def media_inputs(self, values, key, indexed, folder, deadline, connection):
        """Local paths of the inputs (URLs downloaded into the job folder first) and the downloads to delete."""
        paths, downloads = [], []
        for index, value in enumerate(values):
            name = f"{key}[{index}]" if indexed else key
            if isinstance(value, str) and value.strip().startswith(("http://", "https://")):
                temporary = os.path.join(folder, f".input-{index + 1}.{os.getpid()}.tmp")
                with urllib.request.urlopen(value.strip(), timeout=self.remaining(deadline, 120)) as response, \
                        open(temporary, "wb") as file:
                    shutil.copyfileobj(response, file, 65536)
                downloads.append(temporary)
                paths.append(temporary)
            else:
                paths.append(self.input_path(value, name, connection))
        return paths, downloads

    def probe(self, path, key, deadline):
        """MediaProbe: ffprobe's JSON read into width, height, frame rate, duration, audio."""
        arguments = ["-v", "error", "-show_entries",
                     "stream=codec_type,width,height,r_frame_rate,avg_frame_rate,duration,pix_fmt:"
                     "stream_disposition=attached_pic:format=duration,format_name", "-of", "json", path]
        done = subprocess.run([self.tool("ffprobe")] + arguments, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, env=self.media_environment(),
                              timeout=self.remaining(deadline, 300))
        if done.returncode != 0:
            raise Permanent(f"params.{key}: {path} is not a video ffprobe can read: {done.stderr.strip()[-300:]}")
        answer = json.loads(done.stdout)
        streams = answer.get("streams", [])
        videos = [stream for stream in streams if stream.get("codec_type") == "video"
                  and (stream.get("disposition") or {}).get("attached_pic") != 1]
        if not videos or not videos[0].get("width"):
            raise Permanent(f"params.{key}: {path} has no video stream")
        video = videos[0]
        duration = video.get("duration") or (answer.get("format") or {}).get("duration")
        if not duration or float(duration) <= 0:
            raise Permanent(f"params.{key}: {path} has no known duration")
        rate = video.get("r_frame_rate", "0/0")
        if rate.startswith("0/") or rate.endswith("/0"):
            rate = video.get("avg_frame_rate", "25/1")
        if rate.startswith("0/") or rate.endswith("/0"):
            rate = "25/1"
        return {"width": int(video["width"]), "height": int(video["height"]), "frame_rate": rate,
                "duration": float(duration), "has_audio": any(s.get("codec_type") == "audio" for s in streams)}

    def media_environment(self):
        # As MediaTools: the children get PATH and the C locale, never the provider keys.
        return {"PATH": self.setting("PATH", "/usr/local/bin:/usr/bin:/bin"), "LC_ALL": "C"}

    def encode(self, job_id, arguments, duration, name, deadline, connection):
        """Runs ffmpeg (writing `.name.PID.tmp`), writes its progress to the row about once a
        second, then commits the file; a failed run leaves no file behind."""
        folder = self.folder(job_id)
        temporary = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen([self.tool("ffmpeg")] + arguments + [temporary], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=errors, text=True,
                                       env=self.media_environment())
            watchdog = threading.Timer(max(0.1, deadline - time.monotonic()), process.kill)
            watchdog.start()
            try:
                reported, block = 0.0, None
                for line in process.stdout:
                    key, _, value = line.strip().partition("=")
                    if key in ("out_time_us", "out_time_ms") and value.isdigit():
                        block = int(value) / 1e6
                    elif key == "progress" and block is not None and duration > 0 \
                            and time.monotonic() - reported >= 1:
                        reported = time.monotonic()
                        connection.execute(f"UPDATE jobs SET progress = ?, updated_at = {NOW} WHERE id = ?",
                                           (min(max(block / duration, 0), 1), job_id))
                status = process.wait(timeout=self.remaining(deadline, 60))
            finally:
                watchdog.cancel()
                if process.poll() is None:
                    process.kill()
                    process.wait()
            if status != 0:
                if os.path.exists(temporary):
                    os.unlink(temporary)
                if time.monotonic() >= deadline:
                    raise Permanent("ffmpeg ran past JOB_TIMEOUT_SECONDS and was killed")
                errors.seek(0)
                tail = "\n".join(errors.read().decode(errors="replace").strip().splitlines()[-8:])
                raise (RuntimeError if status in (-9, 255) else Permanent)(f"ffmpeg exited with status {status}:\n{tail}")
        return self.commit(temporary, os.path.join(folder, name))

    def keying(self, job_id, params, deadline, connection):
        """KeyingOptions + VideoKeyingHandler: chromakey (+ despill), VP9 WebM or ProRes 4444 MOV."""
        color = str(params.get("key_color", "#00FF00")).strip()
        digits = color[1:] if color.startswith("#") else color[2:] if color.lower().startswith("0x") else color
        if len(digits) == 3:
            digits = "".join(character * 2 for character in digits)
        if not re.fullmatch(r"[0-9a-fA-F]{6}", digits):
            raise Permanent(f"params.key_color must be a hex colour such as #00FF00, got '{color}'")
        key = "0x" + digits.upper()
        similarity = float(params.get("similarity", 0.1))
        blend = float(params.get("blend", 0.05))
        despill = params.get("despill", True)
        form = str(params.get("format", "webm")).lower()
        if form not in ("webm", "mov"):
            raise Permanent(f"params.format must be webm or mov, got '{params.get('format')}'")
        if "input" not in params:
            raise Permanent("params.input is required for video_keying: a video path, a URL or {\"job\": ID}")
        pixel_format = "yuva420p" if form == "webm" else "yuva444p10le"
        red, green, blue = int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
        spill = "green" if green > red and green > blue else "blue" if blue > red and blue > green else None
        chain = [f"chromakey=color={key}:similarity={number(similarity)}:blend={number(blend)}"]
        if despill and spill:
            chain.append(f"despill=type={spill}")
        chain.append(f"format={pixel_format}")
        folder = self.folder(job_id)
        paths, downloads = self.media_inputs([params["input"]], "input", False, folder, deadline, connection)
        try:
            info = self.probe(paths[0], "input", deadline)
            started = time.monotonic()
            arguments = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-y", "-i", paths[0],
                         "-filter_complex", "[0:v]" + ",".join(chain) + "[keyed]", "-map", "[keyed]", "-map", "0:a?"]
            if form == "webm":
                arguments += ["-c:v", "libvpx-vp9", "-pix_fmt", pixel_format, "-b:v", "0", "-crf", "30", "-deadline",
                              "good", "-cpu-used", "4", "-row-mt", "1", "-c:a", "libopus", "-b:a", "128k", "-f", "webm"]
            else:
                arguments += ["-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", pixel_format, "-c:a", "pcm_s16le",
                              "-f", "mov"]
            arguments += ["-progress", "pipe:1"]
            file = self.encode(job_id, arguments, info["duration"], f"keyed.{form}", deadline, connection)
        finally:
            for path in downloads:
                os.unlink(path)
        return {"files": [file], "format": form, "codec": "vp9" if form == "webm" else "prores_4444",
                "pixel_format": pixel_format, "width": info["width"], "height": info["height"],
                "duration": info["duration"], "key_color": "#" + digits.upper(),
                "ffmpeg_seconds": round(time.monotonic() - started, 3)}

    def stitching(self, job_id, params, deadline, connection):
        """StitchingOptions + StitchingPlan: scale/pad/fps each input, then concat or xfade, H.264/AAC MP4."""
        inputs = params.get("inputs")
        if not isinstance(inputs, list) or len(inputs) < 2:
            raise Permanent("params.inputs is required for video_stitching: a list of at least 2 videos")
        transition = str(params.get("transition", "cut")).lower()
        if transition not in ("cut", "crossfade"):
            raise Permanent(f"params.transition must be cut or crossfade, got '{params.get('transition')}'")
        fade = float(params.get("transition_seconds", 0.5))
        folder = self.folder(job_id)
        paths, downloads = self.media_inputs(inputs, "inputs", True, folder, deadline, connection)
        try:
            infos = [self.probe(path, f"inputs[{index}]", deadline) for index, path in enumerate(paths)]
            first = infos[0]
            width = int(params.get("width") or first["width"]) & ~1
            height = int(params.get("height") or first["height"]) & ~1
            frame_rate = number(float(params["fps"])) if params.get("fps") else first["frame_rate"]
            parts = [float(part) for part in frame_rate.split("/")]
            rate = parts[0] / parts[1] if len(parts) == 2 and parts[1] > 0 else parts[0] if parts[0] > 0 else 25
            has_audio = any(info["has_audio"] for info in infos)
            # Whole frames, as `fps` makes them (Swift's rounded(): halves away from zero).
            segments = [max(math.floor(info["duration"] * rate + 0.5), 1) / rate for info in infos]
            crossfading = transition == "crossfade"
            if crossfading:
                for index, length in enumerate(segments):
                    if length < (fade if index in (0, len(segments) - 1) else 2 * fade):
                        raise Permanent(f"params.transition_seconds ({number(fade)} s) is too long for "
                                        f"inputs[{index}], which lasts {number(length)} s")
            graph = []
            for index, info in enumerate(infos):
                hold = ",tpad=stop_mode=clone:stop=2" if crossfading and index < len(infos) - 1 else ""
                graph.append(f"[{index}:v]setpts=PTS-STARTPTS,scale={width}:{height}:force_original_aspect_ratio="
                             f"decrease,pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,"
                             f"fps={frame_rate},format=yuv420p{hold}[v{index}]")
                if not has_audio:
                    continue
                length = number(segments[index])
                if info["has_audio"]:
                    graph.append(f"[{index}:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:"
                                 f"channel_layouts=stereo,apad,atrim=duration={length}[a{index}]")
                else:
                    graph.append(f"anullsrc=channel_layout=stereo:sample_rate=48000,aformat=sample_fmts=fltp,"
                                 f"atrim=duration={length}[a{index}]")
            count = len(infos)
            if not crossfading:
                labels = "".join(f"[v{i}][a{i}]" if has_audio else f"[v{i}]" for i in range(count))
                graph.append(f"{labels}concat=n={count}:v=1:a={1 if has_audio else 0}[v]" + ("[a]" if has_audio else ""))
            else:
                for stream in ("v", "a") if has_audio else ("v",):
                    previous, elapsed = f"{stream}0", 0.0
                    for index in range(1, count):
                        elapsed += segments[index - 1] - fade
                        label = stream if index == count - 1 else f"{stream}x{index}"
                        step = (f"xfade=transition=fade:duration={number(fade)}:offset={number(elapsed)}"
                                if stream == "v" else f"acrossfade=d={number(fade)}")
                        graph.append(f"[{previous}][{stream}{index}]{step}[{label}]")
                        previous = label
            duration = sum(segments) - ((count - 1) * fade if crossfading else 0)
            arguments = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-y"]
            for path in paths:
                arguments += ["-i", path]
            arguments += ["-filter_complex", ";".join(graph), "-map", "[v]"]
            if has_audio:
                arguments += ["-map", "[a]", "-c:a", "aac", "-b:a", "160k"]
            arguments += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                          "-movflags", "+faststart", "-f", "mp4", "-progress", "pipe:1"]
            started = time.monotonic()
            file = self.encode(job_id, arguments, duration, "stitched.mp4", deadline, connection)
        finally:
            for path in downloads:
                os.unlink(path)
        return {"files": [file], "width": width, "height": height, "frame_rate": frame_rate,
                "duration": round(duration, 3), "transition": transition, "has_audio": has_audio,
                "inputs": count, "ffmpeg_seconds": round(time.monotonic() - started, 3)}


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
