"""Timing the timeline's answers: through the projection and through the HTTP API, and while
``hub rebuild timeline`` rebuilds the view beside them. Every answer is checked as well."""

from __future__ import annotations

import gc
import random
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import Any

from hdrh.histogram import HdrHistogram
from rich.console import Console

from bench.harness.histograms import ms_summary, new_histogram, timed_us
from bench.harness.results import load_average
from bench.timeline.trail import Trail, check_answer
from hub.worker.process import settings_env

US_HIGHEST = 60_000_000  # 60 s, in µs
PERCENTILES = (50, 95, 99)


def http_client(projection):
    """The FastAPI app on ``projection``, in-process, with one bearer token; and its header."""
    from fastapi.testclient import TestClient

    from hub.api.app import create_app
    from hub.api.tokens import Role, TokenRecord, TokenStore, token_hash
    from hub.memory.audit_notes import InMemoryAuditNotes

    # An auditor sees whole timelines; its read notes go to memory and the per-token limit is
    # lifted, so the figures are the timeline's own (the audit intake is measured elsewhere).
    tokens = TokenStore([TokenRecord(role=Role.AUDITOR, sha256=token_hash("bench"),
                                     issued_at=datetime.now(timezone.utc))])
    client = TestClient(create_app(projection.settings, tokens, lambda d: None, timeline=projection,
                                   audit_intake=InMemoryAuditNotes(), read_rate_limit="1000000/minute"))
    return client, {"Authorization": "Bearer bench"}


def answer_all(results: dict[str, Any], projection, trail: Trail, heavy: list[str], options: Any,
               rng: random.Random, console: Console) -> None:
    """Ask about random, heavy and unknown subjects both ways (then during a rebuild); add the
    answer times, sizes and problems to ``results``."""
    everyone = sorted(trail.expected)
    sample = rng.sample(everyone, min(options.queries, len(everyone)))
    unknown = [f"unknown-{i}" for i in range(100)]
    heavy_asks = [s for s in heavy for _ in range(options.heavy_repeats)]
    client, auth = http_client(projection)
    client.__enter__()  # one event loop for every request, as a running server has
    # The generator's bookkeeping (millions of objects) is no server's: keep the collector
    # from walking it during the answers.
    gc.collect()
    gc.freeze()
    hists: dict[str, HdrHistogram] = {}
    sizes: dict[str, list[int]] = {}
    for label, subjects in (("random", sample), ("heavy", heavy_asks), ("unknown", unknown)):
        for way in ("projection", "http"):
            hists[f"{way}/{label}"] = new_histogram(US_HIGHEST)
        for subject in subjects:
            answer = timed_us(hists[f"projection/{label}"], lambda: projection.subject_timeline(subject))
            response = timed_us(hists[f"http/{label}"],
                                lambda: client.get(f"/v1/audit/subjects/{subject}", headers=auth))
            if response.status_code != 200 or response.json() != answer:
                results["problems"].append(f"HTTP answer for {subject} differs ({response.status_code})")
            if problem := check_answer(answer, trail.expected.get(subject)):
                results["problems"].append(problem)
            sizes.setdefault(label, []).append(len(response.content))
    baseline = new_histogram(US_HIGHEST)
    for _ in range(200):
        timed_us(baseline, lambda: client.get("/healthz"))
    catch_up = new_histogram(US_HIGHEST)
    for _ in range(200):
        timed_us(catch_up, projection.catch_up)
    client.__exit__(None, None, None)
    if options.rebuild:
        hists["projection/during_rebuild"] = new_histogram(US_HIGHEST)
        results["rebuild"] = answer_during_rebuild(projection, trail, everyone, rng,
                                                   hists["projection/during_rebuild"],
                                                   options.rebuild_every_ms / 1000, console)
        results["problems"] += results["rebuild"].pop("problems")
    results["load_average_end"] = load_average()
    results["answers"] = {k: ms_summary(h, PERCENTILES) for k, h in hists.items()}
    results["answers"]["catch_up_noop"] = ms_summary(catch_up, PERCENTILES)
    results["answers"]["http/healthz"] = ms_summary(baseline, PERCENTILES)
    results["answer_bytes"] = {k: {"mean": round(sum(v) / len(v)), "max": max(v)} for k, v in sizes.items()}
    results["answer_records"] = {
        "random": round(sum(trail.expected[s].records for s in sample) / len(sample), 1),
        "heavy": round(sum(trail.expected[s].records for s in heavy) / max(1, len(heavy)), 1)}


def answer_during_rebuild(projection, trail: Trail, subjects: list[str], rng: random.Random,
                          hist: HdrHistogram, every_s: float, console: Console) -> dict[str, Any]:
    """Run ``hub rebuild timeline`` as a process of its own and keep answering meanwhile."""
    command = [sys.executable, "-m", "hub.cli", "rebuild", "timeline"]
    problems: list[str] = []
    answers = 0
    console.print("rebuilding the timeline projection in another process, answering meanwhile…")
    started = time.perf_counter()
    rebuild = subprocess.Popen(command, env=settings_env(projection.settings), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    while rebuild.poll() is None:
        subject = rng.choice(subjects)
        answer = timed_us(hist, lambda: projection.subject_timeline(subject))
        answers += 1
        if problem := check_answer(answer, trail.expected.get(subject)):
            problems.append(f"during the rebuild: {problem}")
        time.sleep(every_s)
    took = time.perf_counter() - started
    out, err = rebuild.communicate()
    match = re.search(r"^timeline: ([\d,]+) record\(s\) applied", out, re.MULTILINE)
    applied = int(match.group(1).replace(",", "")) if match else None
    if rebuild.returncode != 0 or applied != trail.written:
        problems.append(f"`hub rebuild timeline` exited {rebuild.returncode}, applied {applied} of "
                        f"{trail.written}: {err.strip()[-300:]}")
    after = projection.subject_timeline(subjects[0])  # the rebuilt view, once swapped in
    if problem := check_answer(after, trail.expected.get(subjects[0])):
        problems.append(f"after the rebuild: {problem}")
    return {"seconds": round(took, 1), "applied": applied, "answers": answers,
            "records_per_s": round(applied / took) if applied else None, "problems": problems}
