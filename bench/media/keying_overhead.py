#!/usr/bin/env python3
"""Keying overhead: one 10 s 720p green-screen clip keyed through reactor-worker and by the same
ffmpeg command run alone, alternately, in one run; the worker's overhead goes into
bench/RESULTS.md (media section).

The worker's time for a job runs from its "Processing job N..." log line to its "Completed job
N" line (claim, ffprobe for the duration, spawning ffmpeg, reading its progress, rename, result
written). The ffmpeg command run alone is the very one the worker logged (LOG_LEVEL=debug), with
only the output path changed; its time is the child's wall time. Medians of --rounds rounds.

Run: bench/media/keying_overhead.py [--rounds 3] [--format webm|mov] [--no-write]
Needs ffmpeg and a built reactor-worker (BENCH_BIN_DIR, default .build-media/release; build it
with `swift build -c release --scratch-path .build-media`).
"""

import argparse
import datetime
import os
import platform
import re
import resource
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCH)
BIN = os.path.abspath(os.environ.get("BENCH_BIN_DIR", os.path.join(ROOT, ".build-media", "release")))
RESULTS = os.path.join(BENCH, "RESULTS.md")
START, END = "<!-- media:start -->", "<!-- media:end -->"
STAMP = r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z"


def make_clip(path, seconds=10):
    """A 1280x720, 30 fps clip: ffmpeg's testsrc2 pattern moving over a #00FF00 background."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"color=c=0x00FF00:s=1280x720:r=30:d={seconds}",
         "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=30:d={seconds}",
         "-filter_complex", "[0][1]overlay=x='mod(t*120,960)':y=240:shortest=1",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", path],
        check=True)


def children_cpu():
    """User + system CPU seconds of every finished child and grandchild that was waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def log_time(line):
    found = re.match(STAMP, line)
    return datetime.datetime.fromisoformat(found.group(1)).timestamp() if found else None


def through_worker(worker, clip, directory, fmt):
    """Keys `clip` with `run --drain`; returns (job seconds, the ffmpeg child's seconds inside the job,
    process seconds, CPU seconds of the worker with its ffprobe and ffmpeg, logged ffmpeg command)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": directory, "LOG_LEVEL": "debug",
           "JOBS_DB": os.path.join(directory, "jobs.db"), "OUTPUT_DIR": os.path.join(directory, "out"),
           "MEDIA_POOL_SIZE": "1"}
    params = '{"input": "%s", "format": "%s"}' % (clip, fmt)
    subprocess.run([worker, "enqueue", "video_keying", "--params", params], env=env, cwd=directory,
                   check=True, stdout=subprocess.DEVNULL)
    started, cpu = time.monotonic(), children_cpu()
    run = subprocess.run([worker, "run", "--drain"], env=env, cwd=directory, stderr=subprocess.PIPE,
                         text=True, timeout=1800)
    process_seconds, cpu_seconds = time.monotonic() - started, children_cpu() - cpu
    lines = run.stderr.splitlines()
    begin = next((log_time(x) for x in lines if "] Processing job " in x), None)
    end = next((log_time(x) for x in lines if "] Completed job " in x), None)
    command = next((x.split(": ", 1)[1] for x in lines if "ffmpeg command for job" in x), None)
    if run.returncode != 0 or begin is None or end is None or command is None:
        raise SystemExit("the worker did not key the clip:\n" + run.stderr[-3000:])
    with sqlite3.connect(env["JOBS_DB"]) as db:
        child_seconds = db.execute("SELECT json_extract(result, '$.ffmpeg_seconds') FROM jobs").fetchone()[0]
    return end - begin, child_seconds, process_seconds, cpu_seconds, command


def alone(command, output):
    """Runs the worker's ffmpeg command with the output changed; returns its wall and CPU seconds."""
    arguments = shlex.split(command)
    arguments[-1] = output
    started, cpu = time.monotonic(), children_cpu()
    # Same environment and the same reading of -progress pipe:1 as the worker.
    subprocess.run(arguments, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return time.monotonic() - started, children_cpu() - cpu


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(x.split(":", 1)[1].strip() for x in info if x.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo") as info:
        memory = int(next(x.split()[1] for x in info if x.startswith("MemTotal"))) / 1024 / 1024
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split(" Copyright")[0]
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.system()} {platform.release()}, {ffmpeg}"


def write_results(section):
    text = open(RESULTS).read() if os.path.exists(RESULTS) else "# Bench results\n"
    block = f"{START}\n{section}{END}\n"
    if START in text and END in text:
        text = text[:text.index(START)] + block + text[text.index(END) + len(END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(RESULTS, "w") as out:
        out.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--format", choices=["webm", "mov"], default="webm")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    options = parser.parse_args()
    worker = os.path.join(BIN, "reactor-worker")
    if not os.access(worker, os.X_OK):
        raise SystemExit(f"{worker} is missing: swift build -c release --scratch-path .build-media")
    directory = tempfile.mkdtemp(prefix="rw-bench-media-")
    try:
        clip = os.path.join(directory, "green-720p.mp4")
        make_clip(clip)
        rows = []
        for round_number in range(1, options.rounds + 1):
            run_dir = os.path.join(directory, f"round-{round_number}")
            os.makedirs(run_dir)
            # The first round learns the command; later rounds alternate which goes first, so a
            # trend in the neighbours' load does not favour one side.
            solo_output = os.path.join(run_dir, "alone." + options.format)
            if round_number % 2 == 0:
                solo, solo_cpu = alone(command, solo_output)
                job, child, process, cpu, command = through_worker(worker, clip, run_dir, options.format)
            else:
                job, child, process, cpu, command = through_worker(worker, clip, run_dir, options.format)
                solo, solo_cpu = alone(command, solo_output)
            rows.append((solo, job, child, process, solo_cpu, cpu))
            print(f"round {round_number}: ffmpeg alone {solo:.3f} s ({solo_cpu:.3f} s CPU), worker job {job:.3f} s "
                  f"(its ffmpeg {child:.3f} s), worker process {process:.3f} s ({cpu:.3f} s CPU)", flush=True)
        # Each round pairs a worker run with the ffmpeg run right after it, so a busy neighbour on
        # the machine slows both; the median of the paired ratios is the headline.
        paired = statistics.median((r[1] / r[0] - 1) * 100 for r in rows)
        added = statistics.median(r[1] - r[2] for r in rows)
        solo_median = statistics.median(r[0] for r in rows)
        # CPU seconds do not grow when a neighbour takes the cores, so they compare cleanly.
        cpu_overhead = statistics.median((r[5] / r[4] - 1) * 100 for r in rows)
        load = os.getloadavg()[2]
        shown = shlex.split(command)
        shown[shown.index("-i") + 1], shown[-1] = "CLIP.mp4", "OUT.tmp"
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        section = (
            "## Media: keying overhead (10 s 720p clip)\n\n"
            f"- date: {now}\n- machine: {machine()}\n"
            f"- command: `bench/media/keying_overhead.py --rounds {options.rounds} --format {options.format}` "
            f"(release build, MEDIA_POOL_SIZE=1; each round runs both, the order alternating)\n"
            f"- ffmpeg command (as the worker logged it): `{shlex.join(shown)}`\n\n"
            "| round | ffmpeg alone: wall (s) | CPU (s) | worker job: wall (s) | its ffmpeg (s) "
            "| worker process: wall (s) | CPU (s) | job vs alone, wall | worker vs alone, CPU |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
            + "".join(f"| {i} | {s:.3f} | {sc:.3f} | {j:.3f} | {c:.3f} | {p:.3f} | {pc:.3f} "
                      f"| {(j / s - 1) * 100:+.2f} % | {(pc / sc - 1) * 100:+.2f} % |\n"
                      for i, (s, j, c, p, sc, pc) in enumerate(rows, 1))
            + "\n"
            f"**Worker overhead: {added / solo_median * 100:.2f} % of wall time** — the time a job spends "
            f"in the worker around its ffmpeg child (claim, ffprobe, spawn, rename, result; job − child, "
            f"median {added:.3f} s) against ffmpeg alone (median {solo_median:.3f} s); **{cpu_overhead:+.2f} % "
            f"of CPU time** (the whole worker process with its ffprobe and ffmpeg against ffmpeg alone, median "
            f"of rounds). Aim: < 3 %. Whole wall times, worker job against the ffmpeg-alone run of the same round: "
            f"median {paired:+.2f} % — on this shared 2-core machine (15-minute load average {load:.1f} "
            f"during the run) neighbours' builds swing single encodes by tens of per cent either way, so the "
            f"two figures above are the measurement and this one is context.\n")
        print(section)
        if not options.no_write:
            write_results(section)
            print(f"written to {os.path.relpath(RESULTS, ROOT)}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
