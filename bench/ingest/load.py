"""The timed passes: C HTTP clients against ``hub serve`` (the minimal client of
:mod:`.rawhttp`, or httpx), and C threads calling the SDK.

Both keep C requests (or calls) in flight, each client taking the next event as soon as its
previous one is answered (a closed loop). Every request's latency goes into one HdrHistogram
(µs), whatever its answer; the rate is events ÷ the wall time from the first send to the last
answer. CPU is read from ``/proc`` at the same two moments.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from hdrh.histogram import HdrHistogram

from bench.harness.histograms import ms_summary, new_histogram, record_us
from bench.harness.progress import Advance
from bench.ingest.inputs import Request, auth_headers
from bench.ingest.measure import cpu_use, snap
from bench.ingest.rawhttp import BadAnswer, Connection, request_bytes
from bench.workload import PROGRESS_EVERY, Job
from hub.domain.departments import Department
from producers.publisher import Publisher

ns = time.perf_counter_ns
PERCENTILES = (50, 90, 99, 99.9)
EXAMPLES = 5  # failures kept word for word per pass; the rest are counted


class Tally:
    """What one pass's answers were: latencies, receipts, failures. Thread-safe."""

    def __init__(self, progressed: Advance):
        self.hist = new_histogram()
        self.receipts: dict[str, str] = {}  # event id -> the topic its receipt names
        self.accepted = 0
        self.failed: Counter[str] = Counter()  # "HTTP 503", "ReadTimeout", "PublishUnavailable"…
        self.examples: list[str] = []
        self._progressed = progressed
        self._done = 0
        self._lock = threading.Lock()

    def ok(self, took_ns: int, event_id: str, topic: str) -> None:
        with self._lock:
            record_us(self.hist, took_ns)
            self.accepted += 1
            if event_id in self.receipts:  # two receipts for one id: counted, the check says more
                self.failed["duplicate receipt"] += 1
            self.receipts[event_id] = topic
            self._advance()

    def fail(self, took_ns: int, what: str, detail: str) -> None:
        with self._lock:
            record_us(self.hist, took_ns)
            self.failed[what] += 1
            if len(self.examples) < EXAMPLES:
                self.examples.append(f"{what}: {detail[:300]}")
            self._advance()

    def _advance(self) -> None:
        self._done += 1
        if self._done % PROGRESS_EVERY == 0:
            self._progressed(PROGRESS_EVERY)

    def finish(self) -> None:
        self._progressed(self._done % PROGRESS_EVERY)


@dataclass
class Pass:
    """One mode's timed pass over a list of events."""

    mode: str
    concurrency: int
    events: int
    elapsed_s: float
    tally: Tally = field(repr=False)
    cpu: dict[str, Any]

    @property
    def hist(self) -> HdrHistogram:
        return self.tally.hist

    def summary(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "events": self.events,
            "accepted": self.tally.accepted,
            "failed": dict(self.tally.failed),
            "failure_examples": self.tally.examples,
            "elapsed_s": round(self.elapsed_s, 4),
            "events_per_s": self.events / self.elapsed_s if self.elapsed_s > 0 else None,
            "latency_ms": ms_summary(self.hist, PERCENTILES),
            "cpu": self.cpu,
        }


# -- HTTP ------------------------------------------------------------------------------------------


async def http_pass(client: httpx.AsyncClient, mode: str, requests: Sequence[Request],
                    headers: Mapping[Department, Mapping[str, str]], concurrency: int,
                    pids: Mapping[str, int | None], progressed: Advance) -> Pass:
    """``concurrency`` tasks POST ``requests``, each the next one as soon as its last is answered."""
    tally = Tally(progressed)
    feed = iter(requests)  # shared: next() never awaits, so each request goes out once

    async def client_loop() -> None:
        for req in feed:
            t0 = ns()
            try:
                answer = await client.post(req.path, content=req.body, headers=headers[req.department])
            except httpx.HTTPError as exc:
                tally.fail(ns() - t0, type(exc).__name__, str(exc) or repr(exc))
                continue
            took = ns() - t0
            if answer.status_code == 202:
                receipt = answer.json()
                tally.ok(took, receipt["event_id"], receipt["topic"])
            else:
                tally.fail(took, f"HTTP {answer.status_code}", answer.text)

    started = snap(pids)
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    ended = snap(pids)
    tally.finish()
    return Pass(mode, concurrency, len(requests), (ended.at_ns - started.at_ns) / 1e9, tally,
                cpu_use(started, ended, len(requests)))


# Below uvicorn's timeout_keep_alive (5 s, which `hub serve` keeps). At httpx's default, also 5 s,
# a connection the pool left idle that long is closed by the server just as httpx reuses it: the
# POST fails with ReadError (1 in 2,000 in a run). A client drops its idle connection first.
HTTPX_KEEPALIVE_EXPIRY_S = 2.0


def http_client(base_url: str, concurrency: int, timeout_s: float) -> httpx.AsyncClient:
    """One client, its pool holding ``concurrency`` keep-alive connections (HTTP/1.1)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency,
                          keepalive_expiry=HTTPX_KEEPALIVE_EXPIRY_S)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout_s, trust_env=False)


async def raw_pass(connections: Sequence[Connection], mode: str, wire: Sequence[bytes],
                   timeout_s: float, pids: Mapping[str, int | None], progressed: Advance) -> Pass:
    """One task per connection sends ``wire`` (whole requests), each the next one as soon as its
    last is answered."""
    tally = Tally(progressed)
    feed = iter(wire)  # shared: next() never awaits, so each request goes out once

    async def client_loop(conn: Connection) -> None:
        for raw in feed:
            t0 = ns()
            try:
                async with asyncio.timeout(timeout_s):
                    status, body = await conn.send(raw)
            except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError, BadAnswer) as exc:
                tally.fail(ns() - t0, type(exc).__name__, str(exc) or repr(exc))
                continue
            took = ns() - t0
            if status == 202:
                receipt = json.loads(body)
                tally.ok(took, receipt["event_id"], receipt["topic"])
            else:
                tally.fail(took, f"HTTP {status}", body.decode("utf-8", "replace"))

    started = snap(pids)
    await asyncio.gather(*(client_loop(conn) for conn in connections))
    ended = snap(pids)
    tally.finish()
    return Pass(mode, len(connections), len(wire), (ended.at_ns - started.at_ns) / 1e9, tally,
                cpu_use(started, ended, len(wire)))


CLIENTS = ("raw", "httpx")  # the load generators: rawhttp's minimal client, or httpx


def http_passes(base_url: str, tokens: Mapping[Department, str], warm: Sequence[Request],
                measured: Sequence[Request], concurrency: int, timeout_s: float,
                pids: Mapping[str, int | None], bar: Callable[[str, int], Advance],
                mode: str = "http", client: str = "raw") -> tuple[Pass, Pass]:
    """The warm-up, then the measured pass, with ``client`` as the load generator.

    ``raw``: one :class:`~bench.ingest.rawhttp.Connection` per client, opened before each pass
    starts, every request's bytes built before it. ``httpx``: one ``AsyncClient`` per pass whose
    pool holds ``concurrency`` keep-alive connections, opened as the pass starts, each dropped by
    the client after :data:`HTTPX_KEEPALIVE_EXPIRY_S` idle (uvicorn closes one idle for 5 s, and
    a request sent on it as it closes fails with ``ReadError``).
    """
    headers = auth_headers(dict(tokens))
    host = base_url.removeprefix("http://")
    hostname, port = host.rsplit(":", 1)

    async def raw_both() -> tuple[Pass, Pass]:
        out = []
        for label, reqs in ((f"{mode} warm-up", warm), (mode, measured)):
            wire = [request_bytes(r, host, headers) for r in reqs]
            connections = [Connection(hostname, int(port)) for _ in range(concurrency)]
            await asyncio.gather(*(c.open() for c in connections))
            try:
                out.append(await raw_pass(connections, label, wire, timeout_s, pids,
                                          bar(label if label == mode else f"warm-up · {mode}", len(reqs))))
            finally:
                await asyncio.gather(*(c.close() for c in connections))
        return out[0], out[1]

    async def httpx_both() -> tuple[Pass, Pass]:
        async with http_client(base_url, concurrency, timeout_s) as http:
            w = await http_pass(http, f"{mode} warm-up", warm, headers, concurrency, pids,
                                bar(f"warm-up · {mode}", len(warm)))
        async with http_client(base_url, concurrency, timeout_s) as http:
            m = await http_pass(http, mode, measured, headers, concurrency, pids,
                                bar(mode, len(measured)))
        return w, m

    if client not in CLIENTS:
        raise ValueError(f"unknown load generator {client!r}: one of {CLIENTS}")
    return asyncio.run(raw_both() if client == "raw" else httpx_both())


# -- SDK -------------------------------------------------------------------------------------------


def sdk_pass(publishers: Mapping[Department, Publisher], mode: str, jobs: Sequence[Job],
             concurrency: int, pids: Mapping[str, int | None], progressed: Advance) -> Pass:
    """``concurrency`` threads call ``publish_raw``, each the next job once its last returned."""
    tally = Tally(progressed)
    feed, feed_lock = iter(jobs), threading.Lock()
    gate = threading.Barrier(concurrency + 1)  # every thread started before the clock is

    def thread_loop() -> None:
        gate.wait()
        while True:
            with feed_lock:
                job = next(feed, None)
            if job is None:
                return
            t0 = ns()
            try:
                receipt = publishers[job.department].publish_raw(job.event_type, job.submission)
            except Exception as exc:  # noqa: BLE001 - counted and reported: a failed check
                tally.fail(ns() - t0, type(exc).__name__, str(exc))
                continue
            tally.ok(ns() - t0, receipt.event_id, receipt.topic)

    threads = [threading.Thread(target=thread_loop, name=f"sdk-{i}", daemon=True)
               for i in range(concurrency)]
    for thread in threads:
        thread.start()
    started = snap(pids)
    gate.wait()
    for thread in threads:
        thread.join()
    ended = snap(pids)
    tally.finish()
    return Pass(mode, concurrency, len(jobs), (ended.at_ns - started.at_ns) / 1e9, tally,
                cpu_use(started, ended, len(jobs)))
