#!/usr/bin/env python3
"""Mixed studio queue (issue 19, part 2): reactor-worker and the thread-per-job baseline on one
realistic mix, one after the other in one run, each against a fresh mock and a fresh jobs.db
holding the same queue.

The queue (all enqueued before the worker starts, with `reactor-worker enqueue`), at
MAX_CONCURRENT_JOBS = --c (default 50) and MEDIA_POOL_SIZE = --media-pool-size (default: cores):
  --images 200      image_generation, split evenly over openai, leonardo and bytedance (Seedream)
  --animations 40   animation, text-to-video, split evenly over kling and seedance; each task
                    takes a time the mock draws from --video-task-seconds (default 20:60), and each
                    video is --video-mb MB (default 20; --video-bytes gives bytes exactly)
  --cutouts 20      background_removal (bria) of a 512x512 PNG
  --keying 10       video_keying of one --clip-seconds (10) s green-screen clip (--clip-size
                    640x360, 25 fps, a red box moving over #00FF00, as the E2E tests make them)
  --stitching 5     video_stitching of three 3 s clips (one with a tone), cut and crossfade alternating
  --animation-priority 0   the animations' priority (the rest 0): 1 is a studio saying the long
                    waits go first, which both implementations honour
in five rounds (each round a fifth of every kind, images first, then animations, cut-outs,
keying, stitching), so the kinds are interleaved as a studio's web app would add them. The clips
and the PNG are made once with ffmpeg into a shared inputs folder; every run enqueues the same
rows (same order, params and ids) into its own jobs.db, so created_at is that run's.

The mock (`mock-providers --seed 19`): every provider request answers after --latency (0.2 s);
OpenAI after --openai-seconds (2 s); Leonardo and BRIA tasks take --task-seconds (2 s); Kling and
Seedance as above. Both workers poll every async task every --poll-seconds (0.5 s; the
<PROVIDER>_POLL_SECONDS and _POLL_MAX_SECONDS of LEONARDO, BRIA, KLING and SEEDANCE).

Per implementation:
  makespan = max(finished_at) − min(started_at) over the rows (from the first created_at: JSON
    only, `makespan_from_created`).
  bound = max(chain, media work / MEDIA_POOL_SIZE, slot work / MAX_CONCURRENT_JOBS), where
    chain = max(A, S):
      A = max over the run's completed animations of: the task time the mock drew for its task
          (GET /_mock/tasks, matched by the row's provider_task_id) + --latency (the answer of
          the poll that sees it done) + video bytes / the lone-download rate (one video fetched by
          this script from that run's fresh mock just before the worker starts, written, fsynced;
          the faster of two);
      S = the longest job work of any job other than an animation;
    media work = Σ job work of the keying and stitching jobs;
    slot work = Σ job work of all jobs (every running job holds one of the C slots; this
      covers "total image work / C" and the API jobs' share too);
    a job's work = its shortest run (finished_at − started_at) over the runs of this invocation
      (the same id is the same job in each run's jobs.db).
  Why the shortest: reactor-worker's gate runs at most MEDIA_POOL_SIZE media jobs at once, so
  its media rows time one ffmpeg with the pool full, which is what "media work / pool size"
  means; the baseline has no pool and runs all its ffmpeg children at once on the same cores, so
  its rows include one another's waits (its own sum shows as "own media work s") and a bound
  from them alone would be too high. Each job's fastest run keeps every term at or below what
  either run showed that job needs, and both rows share every term but A (the mock's draws are shared with Ark's image
  requests and polls, so which task gets which time differs from run to run). With `--only`,
  one run's rows are all there is; for the baseline the note says its bound is then too high.
  makespan / bound ≥ 1; the closer to 1, the less the worker adds.
  Per job type: p50 and p95 of time in queue (started_at − created_at) and running
  (finished_at − started_at), and the longest run.
  Worker CPU s: the worker process's own threads (/proc, sampled every 0.2 s); "with children":
  /usr/bin/time's user+system, which adds its ffmpeg/ffprobe children. Peak RSS: the worker
  process's VmHWM (/usr/bin/time's %M can be an ffmpeg child's). Machine CPU s: all processes on
  the machine during the run (the machine is shared: a disturbed row shows here).
  A failed job is a bench error: its error is printed, the run folder kept, the exit status 1.

What the bound ignores: the poll granularity (up to --poll-seconds per task) and the submit's
latency; the order of claims (a worker claiming in id order starts the longest animation when its
turn comes, not at once, and a media job claimed last cannot overlap the rest); that the API
jobs, the downloads and the mock take CPU from ffmpeg on the same cores (the media rows include
that); that 40 videos downloading at once share the loopback and the disk (it assumes the
lone-download rate for the longest one alone). It is a lower bound only as far as the measured
job work is: noise between the runs moves it.

Run:  bench/studio.py                       # full size, both implementations
      bench/studio.py --images 6 --animations 2 --cutouts 2 --keying 1 --stitching 1 \\
          --video-task-seconds 2:4 --video-mb 2        # a small smoke run
"""

import argparse
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request

from lib import benchlib as b

HEADER = [
    ("implementation", "implementation", "{}"), ("jobs", "jobs", "{}"), ("done", "completed", "{}"),
    ("failed", "failed", "{}"), ("makespan s", "makespan", "{:.1f}"), ("chain s", "chain", "{:.1f}"),
    ("media work / pool s", "media_term", "{:.1f}"), ("slot work / C s", "slot_term", "{:.1f}"),
    ("bound s", "bound", "{:.1f}"), ("makespan / bound", "ratio", "{:.3f}"),
    ("worker CPU s", "process_cpu", "{:.1f}"), ("with children CPU s", "cpu", "{:.1f}"),
    ("peak RSS MB", "rss_mb", "{:.1f}"), ("own media work s", "own_media_work", "{:.1f}"),
    ("lone download MB/s", "download_mb_per_second", "{:.0f}"), ("mock CPU s", "mock_cpu", "{:.1f}"),
    ("machine CPU s", "machine_cpu", "{:.1f}"), ("note", "note", "{}"),
]
TYPE_HEADER = [
    ("implementation", "implementation", "{}"), ("job type", "type", "{}"), ("jobs", "jobs", "{}"),
    ("queue p50 s", "queue_p50", "{:.2f}"), ("queue p95 s", "queue_p95", "{:.2f}"),
    ("run p50 s", "run_p50", "{:.2f}"), ("run p95 s", "run_p95", "{:.2f}"), ("run max s", "run_max", "{:.2f}"),
]
TYPES = ("image_generation", "animation", "background_removal", "video_keying", "video_stitching")
MEDIA_TYPES = ("video_keying", "video_stitching")
VIDEO_TASK_KINDS = ("image2video", "text2video", "seedance")
ROUNDS = 5


class StudioMock(b.Mock):
    """The mock with every provider of the queue pointed at it, fake keys, fixed seed."""

    def __init__(self, directory, arguments):
        super().__init__(arguments.latency, directory, [
            "--seed", str(arguments.seed), "--latency-openai", str(arguments.openai_seconds),
            "--task-seconds", str(arguments.task_seconds), "--video-task-seconds", arguments.video_task_seconds,
            "--video-bytes", str(arguments.video_bytes)])
        self.poll_seconds = arguments.poll_seconds
        self.media_pool_size = arguments.media_pool_size

    def environment(self):
        environment = {
            "OPENAI_BASE_URL": self.base_url + "/v1", "OPENAI_API_KEY": b.API_KEY,
            "LEONARDO_BASE_URL": self.base_url + "/api/rest/v1", "LEONARDO_API_KEY": "bench-leonardo-key",
            "ARK_BASE_URL": self.base_url + "/api/v3", "ARK_API_KEY": "bench-ark-key",
            "BRIA_BASE_URL": self.base_url, "BRIA_API_TOKEN": "bench-bria-token",
            "KLING_BASE_URL": self.base_url, "KLING_ACCESS_KEY": "test-kling-access",
            "KLING_SECRET_KEY": "test-kling-secret", "MEDIA_POOL_SIZE": str(self.media_pool_size),
        }
        for provider in ("LEONARDO", "BRIA", "KLING", "SEEDANCE"):
            environment[f"{provider}_POLL_SECONDS"] = str(self.poll_seconds)
            environment[f"{provider}_POLL_MAX_SECONDS"] = str(self.poll_seconds)
        return environment

    def video_task_seconds(self):
        with urllib.request.urlopen(self.base_url + "/_mock/tasks", timeout=30) as answer:
            return {task["id"]: task["seconds"] for task in json.loads(answer.read())
                    if task.get("kind") in VIDEO_TASK_KINDS}


def ffmpeg(arguments):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *arguments], check=True, timeout=300,
                   stdin=subprocess.DEVNULL)


def green_screen_clip(path, size, seconds, box="red", tone=False):
    """A `box`-coloured square moving right over #00FF00 (MediaEndToEndSupport.greenScreenClip)."""
    width, height = (int(value) for value in size.split("x"))
    arguments = ["-f", "lavfi", "-i", f"color=c=0x00FF00:s={width}x{height}:r=25:d={seconds}",
                 "-f", "lavfi", "-i", f"color=c={box}:s={width // 4}x{height // 3}:r=25:d={seconds}"]
    if tone:
        arguments += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    arguments += ["-filter_complex", f"[0][1]overlay=x='{width // 16}+t*{width // 8}':y={height // 3}:shortest=1[v]",
                  "-map", "[v]"]
    if tone:
        arguments += ["-map", "2:a", "-c:a", "aac"]
    ffmpeg(arguments + ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path])
    return path


def make_inputs(directory, arguments):
    """The keying clip, three stitching clips and the cut-out PNG, made once for both runs."""
    inputs = {"clip": green_screen_clip(os.path.join(directory, "keying-clip.mp4"), arguments.clip_size,
                                        arguments.clip_seconds)}
    inputs["parts"] = [
        green_screen_clip(os.path.join(directory, f"part-{index + 1}.mp4"), arguments.clip_size, 3, box, index == 1)
        for index, box in enumerate(("red", "blue", "yellow"))]
    inputs["still"] = os.path.join(directory, "still.png")
    ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=512x512:d=1", "-frames:v", "1", inputs["still"]])
    return inputs


def split(total, parts):
    """`total` as `parts` whole numbers differing by at most one, larger first."""
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def queue_plan(arguments, inputs):
    """(job_type, params, count) in enqueue order: ROUNDS rounds of every kind."""
    images = dict(zip(("openai", "leonardo", "bytedance"), (split(n, ROUNDS) for n in split(arguments.images, 3))))
    animations = dict(zip(("kling", "seedance"), (split(n, ROUNDS) for n in split(arguments.animations, 2))))
    cutouts, keying = split(arguments.cutouts, ROUNDS), split(arguments.keying, ROUNDS)
    stitching = split(arguments.stitching, ROUNDS)
    plan, stitched = [], 0
    for round_number in range(ROUNDS):
        for provider, counts in images.items():
            plan.append(("image_generation", {"provider": provider,
                                              "prompt": f"a lighthouse at dusk, oil painting, take {round_number + 1}"},
                         counts[round_number]))
        for provider, counts in animations.items():
            plan.append(("animation", {"provider": provider,
                                       "prompt": f"waves rolling onto a beach at dawn, take {round_number + 1}"},
                         counts[round_number]))
        plan.append(("background_removal", {"provider": "bria", "image": inputs["still"]}, cutouts[round_number]))
        plan.append(("video_keying", {"input": inputs["clip"]}, keying[round_number]))
        for _ in range(stitching[round_number]):
            params = {"inputs": inputs["parts"], "transition": "crossfade" if stitched % 2 else "cut"}
            if stitched % 2:
                params["transition_seconds"] = 0.5
            plan.append(("video_stitching", params, 1))
            stitched += 1
    return [entry for entry in plan if entry[2] > 0]


def enqueue(directory, plan, animation_priority=0):
    database = os.path.join(directory, "jobs.db")
    for job_type, params, count in plan:
        priority = animation_priority if job_type == "animation" else 0
        subprocess.run(
            [b.binary("reactor-worker"), "enqueue", job_type, "--params", json.dumps(params), "--count", str(count),
             "--priority", str(priority), "--db", database], check=True, stdout=subprocess.DEVNULL, cwd=directory,
            timeout=60)
    return database


def lone_download(base_url, directory):
    """Seconds and bytes of one video download from the mock by this script alone (the faster of
    two), written to a file and fsynced as a worker would: the rate the bound's chain uses."""
    path = os.path.join(directory, ".lone-download.mp4.tmp")
    best, size = math.inf, 0
    for _ in range(2):
        started = time.monotonic()
        with urllib.request.urlopen(base_url + "/_mock/files/videos/lone-download.mp4", timeout=120) as answer, \
                open(path, "wb") as file:
            while True:
                chunk = answer.read(1 << 16)
                if not chunk:
                    break
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        best = min(best, time.monotonic() - started)
        size = os.path.getsize(path)
        os.unlink(path)
    return best, size


def run_worker(implementation, directory, mock, capacity, timeout):
    """benchlib.run_to_drain, with the figures this bench reports: the worker process's own peak
    RSS (its ffmpeg children's are not its own) and its threads' CPU apart from its children's."""
    result = b.run_to_drain(implementation, directory, mock, capacity, timeout)
    return {"exit": result["exit"], "timed_out": result["timed_out"], "wall": result["wall"], "cpu": result["cpu"],
            "process_cpu": result["main_cpu"] + result["other_cpu"], "rss_mb": result["worker_rss_mb"],
            "time_max_rss_mb": result["rss_mb"]}


def read_rows(database):
    connection = sqlite3.connect(database, timeout=30)
    rows = []
    for row in connection.execute(
            "SELECT id, job_type, params, status, error, result, julianday(created_at), julianday(started_at), "
            "julianday(finished_at) FROM jobs ORDER BY id"):
        job_id, job_type, params, status, error, result, created, started, finished = row
        rows.append({
            "id": job_id, "type": job_type, "provider": json.loads(params).get("provider"), "status": status,
            "error": error, "result": json.loads(result) if result else {},
            "created": created and b.julian_to_unix(created), "started": started and b.julian_to_unix(started),
            "finished": finished and b.julian_to_unix(finished)})
    connection.close()
    return rows


def runs_of(rows, types=None):
    return [row["finished"] - row["started"] for row in rows
            if row["status"] == "completed" and (types is None or row["type"] in types)]


def type_figures(implementation, rows):
    figures = []
    for job_type in TYPES:
        done = [row for row in rows if row["type"] == job_type and row["status"] == "completed"]
        if not done:
            continue
        queue = [row["started"] - row["created"] for row in done]
        run = [row["finished"] - row["started"] for row in done]
        figures.append({
            "implementation": implementation, "type": job_type, "jobs": len(done),
            "queue_p50": b.percentile(queue, 0.5), "queue_p95": b.percentile(queue, 0.95),
            "run_p50": b.percentile(run, 0.5), "run_p95": b.percentile(run, 0.95), "run_max": max(run)})
    return figures


def shared_terms(runs):
    """The bound's terms from each job's work: its shortest run over `runs` (lists of rows)."""
    work = {}
    for rows in runs:
        for row in rows:
            if row["status"] == "completed":
                seconds = row["finished"] - row["started"]
                work[row["id"]] = (row["type"], min(seconds, work.get(row["id"], (None, math.inf))[1]))
    return {"longest_other": max((seconds for kind, seconds in work.values() if kind != "animation"), default=0.0),
            "media_work": sum(seconds for kind, seconds in work.values() if kind in MEDIA_TYPES),
            "slot_work": sum(seconds for _, seconds in work.values())}


def run(implementation, arguments, plan):
    directory = b.workspace(f"studio-{implementation}")
    mock = StudioMock(directory, arguments)
    try:
        download_seconds, download_bytes = lone_download(mock.base_url, directory)
        database = enqueue(directory, plan, arguments.animation_priority)
        mock_before, machine_before = mock.cpu_seconds(), b.machine_busy_seconds()
        result = run_worker(implementation, directory, mock, arguments.c, arguments.timeout)
        mock_cpu, machine_cpu = mock.cpu_seconds() - mock_before, b.machine_busy_seconds() - machine_before
        task_seconds = mock.video_task_seconds()
    finally:
        mock.stop()
    rows = read_rows(database)
    completed = [row for row in rows if row["status"] == "completed"]
    failed = [row for row in rows if row["status"] == "failed"]
    for row in failed:
        print(f"{implementation}: job {row['id']} ({row['type']}, {row['provider']}) failed: {row['error']}",
              file=sys.stderr, flush=True)
    rate = download_bytes / download_seconds
    drawn = [task_seconds[row["result"].get("provider_task_id")] for row in completed
             if row["type"] == "animation" and row["result"].get("provider_task_id") in task_seconds]
    if not drawn and any(row["type"] == "animation" for row in rows):
        drawn = list(task_seconds.values())  # no row named its task: every video task the mock made
    chain_animation = max((seconds + arguments.latency + arguments.video_bytes / rate for seconds in drawn),
                          default=0.0)
    statuses = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    problems = []
    if result["timed_out"]:
        problems.append(f"timed out after {arguments.timeout:g} s")
    elif result["exit"] != 0:
        problems.append(f"exit {result['exit']}")
    if len(completed) != len(rows):
        problems.append(f"{statuses}")
    figure = {
        "implementation": implementation, "jobs": len(rows), "completed": len(completed), "failed": len(failed),
        "statuses": statuses, "c": arguments.c, "media_pool_size": arguments.media_pool_size,
        "makespan": (max(row["finished"] for row in completed) - min(row["started"] for row in completed)
                     if completed else float("nan")),
        "makespan_from_created": (max(row["finished"] for row in completed) - min(row["created"] for row in rows)
                                  if completed else float("nan")),
        "chain_animation": chain_animation, "longest_task_seconds": max(drawn, default=None),
        "download_seconds": download_seconds, "download_mb_per_second": rate / 1e6,
        "own_media_work": sum(runs_of(rows, MEDIA_TYPES)), "own_slot_work": sum(runs_of(rows)),
        "process_cpu": result["process_cpu"], "cpu": result["cpu"], "rss_mb": result["rss_mb"],
        "time_max_rss_mb": result["time_max_rss_mb"], "wall": result["wall"], "mock_cpu": mock_cpu,
        "machine_cpu": machine_cpu, "types": type_figures(implementation, rows),
        "settings": {key: getattr(arguments, key) for key in (
            "images", "animations", "cutouts", "keying", "stitching", "video_task_seconds", "video_bytes",
            "latency", "openai_seconds", "task_seconds", "poll_seconds", "seed", "clip_seconds", "clip_size")},
    }
    figure["bench_error"] = bool(problems)
    if problems:
        problems.append(f"kept {directory}")
        figure["note"] = "; ".join(problems)
    elif not arguments.keep:
        b.remove(directory)
    else:
        figure["note"] = f"kept {directory}"
    return figure, rows


def add_bound(figure, reference, runs):
    """Fills in the bound from this run's chain and the terms shared by all runs."""
    figure["longest_other"] = reference["longest_other"]
    figure["chain"] = max(figure["chain_animation"], reference["longest_other"])
    figure["media_term"] = reference["media_work"] / figure["media_pool_size"]
    figure["slot_term"] = reference["slot_work"] / figure["c"]
    figure["bound"] = max(figure["chain"], figure["media_term"], figure["slot_term"])
    figure["ratio"] = figure["makespan"] / figure["bound"] if figure["bound"] > 0 else None
    figure["bound_runs"] = runs
    if runs == ["baseline"]:
        note = "media and slot terms from the baseline's own overlapping rows (too high)"
        figure["note"] = f"{note}; {figure['note']}" if figure.get("note") else note


def interrupted(*_):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=b.IMPLEMENTATIONS, help="run one implementation")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--animations", type=int, default=40)
    parser.add_argument("--cutouts", type=int, default=20)
    parser.add_argument("--keying", type=int, default=10)
    parser.add_argument("--stitching", type=int, default=5)
    parser.add_argument("--c", type=int, default=50, help="MAX_CONCURRENT_JOBS")
    parser.add_argument("--media-pool-size", type=int, default=os.cpu_count() or 1, help="MEDIA_POOL_SIZE")
    parser.add_argument("--video-task-seconds", default="20:60", help="Kling/Seedance task time MIN:MAX")
    parser.add_argument("--video-mb", type=float, default=20, help="size of each video in MB (10^6 bytes)")
    parser.add_argument("--video-bytes", type=int, help="size of each video in bytes (overrides --video-mb)")
    parser.add_argument("--latency", type=float, default=0.2, help="mock latency of every provider request")
    parser.add_argument("--openai-seconds", type=float, default=2, help="OpenAI image latency")
    parser.add_argument("--task-seconds", type=float, default=2, help="Leonardo and BRIA task time")
    parser.add_argument("--poll-seconds", type=float, default=0.5, help="task poll interval of both workers")
    parser.add_argument("--seed", type=int, default=19, help="the mock's seed")
    parser.add_argument("--animation-priority", type=int, default=0,
                        help="priority of the animation rows (the others 0): 1 is a studio saying the long "
                             "waits go first")
    parser.add_argument("--clip-seconds", type=float, default=10, help="length of the keying clip")
    parser.add_argument("--clip-size", default="640x360", help="size of the keying and stitching clips")
    parser.add_argument("--timeout", type=float, default=1800, help="deadline of each worker run, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the run folders")
    arguments = parser.parse_args()
    if arguments.video_bytes is None:
        arguments.video_bytes = int(arguments.video_mb * 1e6)
    if arguments.c < 1 or arguments.media_pool_size < 1:
        parser.error("--c and --media-pool-size must be at least 1")
    b.raise_open_file_limit()
    # SIGTERM ends the bench like Ctrl-C: the finally blocks stop the worker and the mock.
    signal.signal(signal.SIGTERM, interrupted)
    inputs_dir = b.workspace("studio-inputs")
    inputs = make_inputs(inputs_dir, arguments)
    plan = queue_plan(arguments, inputs)
    print(f"queue: {sum(count for _, _, count in plan)} jobs at C = {arguments.c}, "
          f"MEDIA_POOL_SIZE = {arguments.media_pool_size}", file=sys.stderr, flush=True)
    print(b.header_lines(HEADER), flush=True)
    implementations = [arguments.only] if arguments.only else list(b.IMPLEMENTATIONS)
    results = [run(implementation, arguments, plan) for implementation in implementations]
    shared = shared_terms([rows for _, rows in results])
    types, errors = [], False
    for figure, _ in results:
        add_bound(figure, shared, implementations)
        b.emit("studio", HEADER, figure)
        types += figure["types"]
        errors = errors or figure["bench_error"]
    print("\n" + b.header_lines(TYPE_HEADER), flush=True)
    for row in types:
        print(b.row_line(TYPE_HEADER, row), flush=True)
    if not arguments.keep and not errors:
        b.remove(inputs_dir)  # a kept run folder's jobs name these inputs: kept with it
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    b.run_command(main)
