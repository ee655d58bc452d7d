#!/usr/bin/env python3
"""Pipelines (issue 16): how fast a finished step's child starts, and a batch of chains against its ideal.

`handoff`: --handoff pipelines (default 500) of two steps, an OpenAI image and a BRIA cut-out of
it (`{"step": "still"}`), submitted with `reactor-worker submit`, run by one worker at
MAX_CONCURRENT_JOBS = C (default 200) against mock-providers (--latency L, default 0.2 s, on
every request). Per pipeline: the hand-off = the cut-out's started_at (claimed, `processing`)
minus the image's finished_at (the completion that released it, in the same transaction).
Printed: p50, p99 and max. Target: ≤ 10 / 50 ms, like the pickup of a row another program inserts.

`chain`: --chains pipelines (default 200) of four steps, image → cut-out → style analysis of the
cut-out → animation of the cut-out (Kling, tasks of --task-seconds), all at once at
MAX_CONCURRENT_JOBS = 4 × chains (every step can run when released). Printed: the makespan (first
started_at to last finished_at), the ideal, which is the same chain run alone first on the same
worker settings (the sum of its steps' latencies, polls and downloads included), and
ideal / makespan.

Run:  bench/pipelines.py                    # both
      bench/pipelines.py handoff --handoff 500
      bench/pipelines.py chain --chains 200
"""

import argparse
import json
import os
import sqlite3
import subprocess

from lib import benchlib as b

HANDOFF_HEADER = [
    ("pipelines", "pipelines", "{}"), ("steps", "steps", "{}"), ("C", "c", "{}"), ("L s", "latency", "{:g}"),
    ("done", "completed", "{}"), ("hand-off p50 ms", "p50_ms", "{:.1f}"), ("p99 ms", "p99_ms", "{:.1f}"),
    ("max ms", "max_ms", "{:.1f}"), ("note", "note", "{}"),
]
CHAIN_HEADER = [
    ("pipelines", "pipelines", "{}"), ("steps", "steps", "{}"), ("C", "c", "{}"), ("L s", "latency", "{:g}"),
    ("task s", "task_seconds", "{:g}"), ("done", "completed", "{}"), ("makespan s", "makespan", "{:.2f}"),
    ("ideal s (one alone)", "ideal", "{:.2f}"), ("ideal / makespan", "efficiency", "{:.3f}"),
    ("worker CPU s", "cpu", "{:.1f}"), ("peak RSS MB", "rss_mb", "{:.1f}"), ("note", "note", "{}"),
]


class Mock(b.Mock):
    """The bench mock with Kling task times, and every provider a pipeline uses pointed at it."""

    def __init__(self, latency, directory, task_seconds=1):
        super().__init__(latency, directory, ["--task-seconds", str(task_seconds)])

    def environment(self):
        return {
            "OPENAI_BASE_URL": self.base_url + "/v1", "OPENAI_API_KEY": b.API_KEY,
            "BRIA_BASE_URL": self.base_url, "BRIA_API_TOKEN": "bench-bria-token",
            "KLING_BASE_URL": self.base_url, "KLING_ACCESS_KEY": "test-kling-access",
            "KLING_SECRET_KEY": "test-kling-secret", "BRIA_POLL_SECONDS": "0.2", "KLING_POLL_SECONDS": "0.2",
            "FALLBACK_POLL_SECONDS": "5",
        }


def document(index, steps):
    chain = [
        {"id": "still", "job_type": "image_generation",
         "params": {"provider": "openai", "prompt": f"a fox in snow, take {index}"}},
        {"id": "cutout", "job_type": "background_removal", "params": {"image": {"step": "still"}}},
        {"id": "style", "job_type": "style_analysis", "params": {"image": {"step": "cutout"}}},
        {"id": "clip", "job_type": "animation",
         "params": {"provider": "kling", "prompt": "the fox turns its head", "image": {"step": "cutout"}}},
    ]
    return {"name": f"bench {index}", "steps": chain[:steps]}


def submit(directory, database, count, steps):
    """Submits `count` pipelines through `reactor-worker submit -` (one process per pipeline, before
    the worker starts, so none is claimed while the rest are being submitted)."""
    for index in range(count):
        subprocess.run(
            [b.binary("reactor-worker"), "submit", "-", "--db", database], input=json.dumps(document(index, steps)),
            text=True, check=True, stdout=subprocess.DEVNULL, cwd=directory)


def times(database):
    connection = sqlite3.connect(database)
    rows = connection.execute(
        """SELECT pipeline_id, step, status, julianday(started_at), julianday(finished_at) FROM jobs
           WHERE pipeline_id IS NOT NULL""").fetchall()
    connection.close()
    by_pipeline = {}
    for pipeline, step, status, started, finished in rows:
        by_pipeline.setdefault(pipeline, {})[step] = (
            status, started and b.julian_to_unix(started), finished and b.julian_to_unix(finished))
    return by_pipeline


def run(count, steps, capacity, latency, task_seconds, timeout):
    directory = b.workspace(f"pipelines-{count}x{steps}")
    mock = Mock(latency, directory, task_seconds)
    database = os.path.join(directory, "jobs.db")
    try:
        submit(directory, database, count, steps)
        result = b.run_to_drain("reactor", directory, mock, capacity, timeout, mock.environment())
    finally:
        mock.stop()
    by_pipeline = times(database)
    b.remove(directory)
    return result, by_pipeline


def handoff(arguments):
    result, by_pipeline = run(arguments.handoff, 2, arguments.c, arguments.latency, 1, arguments.timeout)
    delays, completed = [], 0
    for steps in by_pipeline.values():
        still, cutout = steps.get("still"), steps.get("cutout")
        if still and cutout and cutout[0] == "completed":
            completed += 1
            delays.append(1000 * (cutout[1] - still[2]))
    note = "" if result["exit"] == 0 else f"exit {result['exit']}"
    print(b.header_lines(HANDOFF_HEADER), flush=True)
    b.emit("pipeline_handoff", HANDOFF_HEADER, {
        "pipelines": arguments.handoff, "steps": 2, "c": arguments.c, "latency": arguments.latency,
        "completed": completed, "p50_ms": b.percentile(delays, 0.5), "p99_ms": b.percentile(delays, 0.99),
        "max_ms": max(delays) if delays else None, "note": note,
    })


def makespan(by_pipeline):
    starts = [step[1] for steps in by_pipeline.values() for step in steps.values() if step[1]]
    ends = [step[2] for steps in by_pipeline.values() for step in steps.values() if step[2]]
    return max(ends) - min(starts)


def chain(arguments):
    capacity = 4 * arguments.chains
    _, alone = run(1, 4, capacity, arguments.latency, arguments.task_seconds, arguments.timeout)
    ideal = makespan(alone)
    result, by_pipeline = run(arguments.chains, 4, capacity, arguments.latency, arguments.task_seconds,
                              arguments.timeout)
    completed = sum(1 for steps in by_pipeline.values() if all(step[0] == "completed" for step in steps.values()))
    span = makespan(by_pipeline)
    note = "" if result["exit"] == 0 else f"exit {result['exit']}"
    print(b.header_lines(CHAIN_HEADER), flush=True)
    b.emit("pipeline_chain", CHAIN_HEADER, {
        "pipelines": arguments.chains, "steps": 4, "c": capacity, "latency": arguments.latency,
        "task_seconds": arguments.task_seconds, "completed": completed, "makespan": span, "ideal": ideal,
        "efficiency": ideal / span, "cpu": result["cpu"], "rss_mb": result["rss_mb"], "note": note,
    })


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=["handoff", "chain", "both"], default="both")
    parser.add_argument("--handoff", type=int, default=500, help="two-step pipelines for the hand-off")
    parser.add_argument("--chains", type=int, default=200, help="four-step pipelines for the makespan")
    parser.add_argument("--c", type=int, default=200, help="MAX_CONCURRENT_JOBS for the hand-off")
    parser.add_argument("--latency", type=float, default=0.2, help="mock latency of every request")
    parser.add_argument("--task-seconds", type=float, default=2, help="Kling task time")
    parser.add_argument("--timeout", type=float, default=600)
    arguments = parser.parse_args()
    b.raise_open_file_limit()
    if arguments.what in ("handoff", "both"):
        handoff(arguments)
    if arguments.what in ("chain", "both"):
        chain(arguments)


if __name__ == "__main__":
    b.run_command(main)
