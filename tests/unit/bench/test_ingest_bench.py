"""The ingest benchmark's plumbing, without a broker: the request bodies, the two load loops
(the HTTP one against the real app over an in-process transport, the SDK one on the in-memory
broker), CPU from /proc, the read-back check and the report. No timing is asserted anywhere."""

from __future__ import annotations

import asyncio
import json
import os
import random
from datetime import datetime, timezone

import httpx
import pytest

from bench.ingest.check import events_on, problems
from bench.ingest.cli import SHORT, parse_args
from bench.ingest.inputs import as_request, as_requests, auth_headers
from bench.ingest.load import http_pass, http_passes, sdk_pass
from bench.ingest.measure import CpuSnap, cpu_use, snap
from bench.ingest.rawhttp import BadAnswer, parse_head, request_bytes
from bench.ingest.report import LABELS, checks_cell, modes_table, ratios, render, target
from bench.ingest.server import IngestServer
from bench.publish.inputs import make_jobs
from hub.api.app import create_app
from hub.api.local_server import LocalServer
from hub.api.tokens import TokenStore
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryClients
from hub.security.master_key import master_public_key
from producers.pool import PublisherPool

NOW = datetime.now(timezone.utc)  # generate() stamps instants from the real clock


@pytest.fixture
def clients(tmp_path):
    """A provisioned in-memory hub; its master key (people's keys are sealed to it) in tmp_path,
    made before any thread publishes: publishers of several departments making it together on
    first use can leave a torn public file (both write the same ``.tmp`` file)."""
    settings = HubSettings(topic_prefix="ingest", state_dir=tmp_path)
    master_public_key(settings)
    return InMemoryClients.provisioned(settings)


def topics(clients) -> list[str]:
    return TopicNames(clients.settings.topic_prefix).all_events()


def no_progress(_n: int) -> None:
    pass


# -- inputs ------------------------------------------------------------------------------------


def test_a_request_is_the_submission_as_json_on_its_types_route():
    jobs = make_jobs(20, random.Random(3), now=NOW)
    for job, req in zip(jobs, as_requests(jobs), strict=True):
        assert req.path == f"/v1/events/{job.event_type}" and req.department is job.department
        assert json.loads(req.body) == job.submission
        assert b"\\u" not in req.body and req == as_request(job)  # UTF-8 as sent, not \\u escapes
    headers = auth_headers({Department.HEALTH: "t0k"})
    assert headers == {Department.HEALTH: {"authorization": "Bearer t0k", "content-type": "application/json"}}


def test_the_servers_settings_name_its_own_tokens_file(tmp_path):
    server = IngestServer(HubSettings(topic_prefix="bench-x"), tmp_path / "work")
    tokens = server.issue_tokens([Department.HEALTH, Department.CIVIL_AFFAIRS])
    assert server.settings.tokens_file == tmp_path / "work" / "tokens.json"
    assert server.settings.topic_prefix == "bench-x" and server.base_url.startswith("http://127.0.0.1:")
    store = TokenStore.load(server.tokens_file)
    assert {store.department_for(t) for t in tokens.values()} == {Department.HEALTH, Department.CIVIL_AFFAIRS}
    assert server.stop() is None  # never started: nothing to stop


# -- the load loops ------------------------------------------------------------------------------


def test_sdk_pass_publishes_every_job_once_from_many_threads(clients):
    jobs = make_jobs(40, random.Random(7), now=NOW)
    pool = PublisherPool(clients)
    publishers = {d: pool(d) for d in Department}
    done = []
    result = sdk_pass(publishers, "sdk", jobs, 4, {"publisher": os.getpid()}, done.append)
    assert result.events == 40 and result.tally.accepted == 40 and not result.tally.failed
    assert result.hist.get_total_count() == 40 and sum(done) == 40
    assert result.cpu["publisher"] is not None and result.elapsed_s > 0
    assert problems(events_on(clients, topics(clients)), result.tally.receipts, result.tally.receipts) == []
    summary = result.summary()
    assert summary["accepted"] == 40 and summary["concurrency"] == 4
    assert {"p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "max_ms"} <= set(summary["latency_ms"])


def test_http_pass_posts_every_request_and_counts_refusals(clients, tmp_path):
    server = IngestServer(clients.settings, tmp_path / "work")
    tokens = server.issue_tokens()
    app = create_app(clients.settings, TokenStore.load(server.tokens_file), PublisherPool(clients))
    requests = as_requests(make_jobs(30, random.Random(9), now=NOW))

    async def drive(headers):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            return await http_pass(client, "http", requests, headers, 5, {}, no_progress)

    good = asyncio.run(drive(auth_headers(tokens)))
    assert good.tally.accepted == 30 and not good.tally.failed and good.hist.get_total_count() == 30
    assert problems(events_on(clients, topics(clients)), good.tally.receipts, good.tally.receipts) == []

    refused = asyncio.run(drive(auth_headers({d: "not-a-token" for d in Department})))
    assert refused.tally.accepted == 0 and refused.tally.failed == {"HTTP 401": 30}
    assert len(refused.tally.examples) == 5 and refused.hist.get_total_count() == 30  # every latency


@pytest.mark.parametrize("client", ["raw", "httpx"])
def test_both_load_generators_drive_a_real_server(clients, tmp_path, client):
    """The app under uvicorn on a loopback port (in a thread), driven as the benchmark drives
    ``hub serve``: warm-up and measured pass, every request accepted, every event on its topic."""
    server = IngestServer(clients.settings, tmp_path / "work")
    tokens = server.issue_tokens()
    app = create_app(clients.settings, TokenStore.load(server.tokens_file), PublisherPool(clients))
    rng = random.Random(11)
    warm, measured = as_requests(make_jobs(8, rng, now=NOW)), as_requests(make_jobs(25, rng, now=NOW))
    bars = []
    with LocalServer(app) as base_url:
        w, m = http_passes(base_url, tokens, warm, measured, 3, 30, {"client": os.getpid()},
                           lambda label, total: bars.append((label, total)) or no_progress,
                           mode="http", client=client)
    assert bars == [("warm-up · http", 8), ("http", 25)]
    assert (w.mode, w.tally.accepted, m.mode, m.tally.accepted) == ("http warm-up", 8, "http", 25)
    assert not w.tally.failed and not m.tally.failed and m.concurrency == 3
    receipts = {**w.tally.receipts, **m.tally.receipts}
    assert len(receipts) == 33
    assert problems(events_on(clients, topics(clients)), receipts, receipts) == []


def test_raw_requests_and_answers_on_the_wire():
    req = as_request(make_jobs(1, random.Random(2), now=NOW)[0])
    raw = request_bytes(req, "127.0.0.1:8000", auth_headers({req.department: "tok"}))
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == f"POST {req.path} HTTP/1.1" and "host: 127.0.0.1:8000" in lines
    assert "authorization: Bearer tok" in lines and f"content-length: {len(req.body)}" in lines
    assert body == req.body

    assert parse_head(b"HTTP/1.1 202 Accepted\r\ncontent-length: 17\r\nContent-Type: x\r\n\r\n") == (202, 17, False)
    assert parse_head(b"HTTP/1.1 503 X\r\nConnection: close\r\nContent-Length: 0\r\n\r\n") == (503, 0, True)
    for bad in (b"HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n",
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"):
        with pytest.raises(BadAnswer):
            parse_head(bad)


# -- CPU -------------------------------------------------------------------------------------------


def test_cpu_use_from_two_snaps():
    a = CpuSnap(0, {"publisher": 100, "client": None, "broker": 50}, (1_000, 4_000))
    b = CpuSnap(2_000_000_000, {"publisher": 250, "client": 7, "broker": 90}, (1_300, 4_400))
    use = cpu_use(a, b, events=300, tick_hz=100)
    assert use["publisher"] == {"cpu_s": 1.5, "pct_of_core": 75.0, "ms_per_event": 5.0}
    assert use["client"] is None and use["broker"]["pct_of_core"] == 20.0
    assert use["machine_busy_pct"] == 75.0
    mine = snap({"me": os.getpid(), "nobody": None})
    assert mine.ticks["me"] is not None and mine.ticks["nobody"] is None


# -- the check -------------------------------------------------------------------------------------


def test_problems_name_missing_repeated_misplaced_and_unknown_events():
    receipts = {"a": "t1", "b": "t1", "c": "t2", "d": "t2"}
    assert problems([("a", "t1"), ("b", "t1"), ("c", "t2"), ("d", "t2")], receipts, receipts) == []
    # Another mode's events on the same topics are fine; only the named ones are checked.
    assert problems([("a", "t1"), ("c", "t2"), ("d", "t2")], receipts, ["c", "d"]) == []
    found = problems([("a", "t1"), ("a", "t1"), ("c", "t1"), ("zz", "t2"), ("d", "t2")], receipts,
                     receipts)
    assert found == ["1 acknowledged event(s) not on the topics (e.g. b)",
                     "1 event(s) on the topics more than once (1 extra copies)",
                     "1 event(s) on another topic than their receipt names",
                     "1 event id(s) on the topics that no receipt names"]


# -- the report and options -------------------------------------------------------------------------


def summary(per_s: float, p50: float, p99: float, concurrency: int = 32, **extra) -> dict:
    return {"events": 2000, "concurrency": concurrency, "events_per_s": per_s, "accepted": 2000,
            "failed": {}, "problems": [],
            "latency_ms": {"p50_ms": p50, "p90_ms": p50 * 2, "p99_ms": p99, "max_ms": p99 * 2},
            "cpu": {"publisher": {"pct_of_core": 95.0, "ms_per_event": 3.2}, "client": None,
                    "broker": {"pct_of_core": 30.0}, "machine_busy_pct": 98.0}, **extra}


def test_ratios_target_and_table():
    modes = {"http": summary(250, 80, 500), "sdk": summary(500, 40, 200), "sdk_serial": summary(400, 2.5, 6, 1)}
    r = ratios(modes)
    assert r["http/sdk"] == {"mode": "http", "baseline": "sdk", "events_per_s": 0.5, "p50": 2.0, "p99": 2.5}
    assert r["http/sdk_serial"]["events_per_s"] == 0.625 and "http_httpx/sdk" not in r
    t = target(modes, r)
    assert (t["ratio"], t["ratio_met"], t["p99_ms"], t["p99_met"]) == (0.5, False, 500, False)
    assert ratios({"sdk": modes["sdk"]}) == {}
    table = modes_table(modes)
    assert LABELS["http"] in table and "| 250 | 80.0 | 160.0 | 500.0 | 1,000.0 | 95 | 3.20 | – | 30 | 98 | pass |" in table
    assert checks_cell(summary(1, 1, 1, failed={"HTTP 503": 2}, problems=["x"])) == "**FAIL**: 2 not accepted; x"

    results = {"options": {"events": 2000, "warmup": 200, "clients": 32, "seed": 1},
               "environment": {"packages": {"uvicorn": "0.1"}, "load_average_at_start": [1.0, 1, 1],
                               "load_average_1_5_15": [2.0, 1, 1], "cpus": 2},
               "server": {"http_stack": "h11 HTTP parser, asyncio event loop",
                          "runs": {"http": {"ready_s": 3.2}}},
               "body_bytes_mean": 420.0, "modes": modes, "ratios": r, "target": t, "problems": []}
    text = render(results)
    assert "**http ÷ sdk** (32 threads): requests/s **0.500×**" in text and "(1 thread)" in text
    assert "0.500×, **not met**" in text and "Checks passed" in text and "answered after 3.2 s" in text
    assert "**Check failed:** http: late" in render({**results, "problems": ["http: late"]})


def test_arguments_are_checked():
    options = parse_args(["--no-json"])
    assert (options.events, options.clients, options.warmup, options.json_path) == (2000, 32, 200, None)
    short = parse_args(["--short", "--no-json"])
    assert (short.events, short.warmup, short.short) == (SHORT["events"], SHORT["warmup"], True)
    assert parse_args(["--short", "--events", "50", "--no-json"]).events == 50
    with pytest.raises(SystemExit):
        parse_args(["--clients", "0"])
