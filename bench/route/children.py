"""The routing benchmark's child processes: the raw pass-through baselines and the agency fleet.

    python -m bench.route.children faust <sink> [fan-out.json]
    python -m bench.route.children kafka-python <sink>
    python -m bench.route.children quix <sink>
    python -m bench.route.children fleet <dir>

Each runs in a process of its own, as the router does, so its CPU can be read from /proc and it
competes for the two cores as the router would. The parent starts and stops them with
:class:`BenchChild`, which gives them the run's settings through the ``HUB_*`` environment.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub.config import REPO_ROOT, HubSettings
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.worker.process import WorkerProcess, settings_env

LAST = "bench.last"  # header on the fan-out's last copy of an event (where the router's decision is)
# The faust settings create_app() passes; the pass-through copies their values from its conf.
ROUTER_CONF = ("broker", "broker_credentials", "store", "web_enabled", "topic_partitions", "topic_replication_factor",
               "producer_acks", "consumer_auto_offset_reset", "processing_guarantee",
               "table_cleanup_interval")


class BenchChild(WorkerProcess):
    """One of this module's roles, started and stopped like ``WorkerProcess``'s router."""

    def __init__(self, settings: HubSettings, role: str, *args: str, log_file: Path, cwd: Path):
        super().__init__(settings, log_file)
        self.argv = [sys.executable, "-m", "bench.route.children", role, *args]
        self.cwd = cwd

    def start(self) -> "BenchChild":
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.cwd.mkdir(parents=True, exist_ok=True)
        path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(self.argv, env=settings_env(self.settings) | {"PYTHONPATH": path},
                                          stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd)
        return self


def passthrough_app(clients: Clients, sink: str, fanout: Mapping[str, int] | None = None):
    """A faust app with the router's settings that copies every event record to ``sink``.

    The same raw topics (``hub.worker.app.raw_topic``), concurrency 1, and each event's sends
    awaited before the next event, as the router does; only decode, route and encode are missing.
    With ``fanout`` (event id → its number of work items), each event is written items + 1
    times, as many records as the router writes for it, under keys spread like the router's
    (the input key plus a copy number); the last copy carries a ``bench.last`` header.
    """
    import faust

    from hub.worker.app import raw_topic, create_app

    settings = clients.settings
    router_conf = create_app(clients).conf  # built only to read its settings; never started
    # One app (so one consumer group) per sink: each pass-through reads the backlog from the start.
    app = faust.App(sink_group(settings.topic_prefix, sink),
                    **{name: getattr(router_conf, name) for name in ROUTER_CONF})
    out = raw_topic(app, sink)

    @app.agent(raw_topic(app, *TopicNames(settings.topic_prefix).all_events()), concurrency=1)
    async def pass_through(stream):
        async for event in stream.events():
            msg = event.message
            if fanout is None:
                future = await out.send(key=msg.key, value=msg.value)
                await future  # acknowledged before the next event, like the router's outputs
                continue
            copies = fanout_copies(fanout, msg.headers)
            pending = [await out.send(key=msg.key + bytes([j]), value=msg.value,
                                      headers=[(LAST, b"1")] if j == copies - 1 else None)
                       for j in range(copies)]
            for future in pending:
                await future

    return app


def sink_group(prefix: str, sink: str) -> str:
    """The consumer group of the pass-through writing to ``sink``: one per sink, so each reads
    the backlog from the start (``<prefix>.passthrough-quix`` → ``<prefix>-passthrough-quix``)."""
    return f"{prefix}-{sink.rsplit('.', 1)[-1]}"


def fanout_copies(fanout: Mapping[str, int], headers: Any) -> int:
    """Records the router writes for the event with these headers: its items, plus the decision."""
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    event_id = next((v for k, v in pairs if k == "oncehub.event_id"), b"").decode()
    return fanout.get(event_id, 0) + 1


def serve_kafka_python(clients: Clients, sink: str, stop: threading.Event) -> None:
    """Poll the event topics; send each record to ``sink`` and wait for its ack; commit per batch."""
    prefix = clients.settings.topic_prefix
    consumer = clients.consumer(*TopicNames(prefix).all_events(),
                                group_id=f"{prefix}-passthrough-kafka-python",
                                auto_offset_reset="earliest", client_id="oncehub-bench-passthrough")
    producer = clients.producer()  # the SDK's producer config
    timeout_s = clients.settings.publish_timeout_s + 1
    try:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    producer.send(sink, key=record.key, value=record.value).get(timeout=timeout_s)
            if batches:
                consumer.commit()
    finally:
        producer.close(timeout=5)
        consumer.close(autocommit=False)


def quix_app(clients: Clients, sink: str):
    """A Quix Streams app that copies every event record's key and value bytes to ``sink``.

    Bytes in, bytes out (no deserialization), one StreamingDataFrame per event topic, read from
    the beginning in the sink's own group. Quix's default at-least-once guarantee: records are
    produced without waiting (librdkafka batches them, idempotent producer) and every
    ``commit_interval`` (5 s) a checkpoint flushes the producer, then commits the offsets. No
    state, so no changelog; ``auto_create_topics=False``, so it creates nothing.
    """
    from quixstreams import Application
    from quixstreams.kafka.configuration import ConnectionConfig

    prefix = clients.settings.topic_prefix
    app = Application(
        broker_address=ConnectionConfig.from_librdkafka_dict(clients.librdkafka_connection(), ignore_extras=True),
        consumer_group=sink_group(prefix, sink),
        auto_offset_reset="earliest",
        processing_guarantee="at-least-once",
        auto_create_topics=False,
        use_changelog_topics=False,
        loglevel="INFO",
    )
    out = app.topic(sink, key_serializer="bytes", value_serializer="bytes")
    for name in TopicNames(prefix).all_events():
        source = app.topic(name, key_deserializer="bytes", value_deserializer="bytes")
        # Quix gives an output record its input's timestamp; 0 lets librdkafka stamp it when it
        # appends the record, as faust and kafka-python do (the rates come from CreateTime).
        app.dataframe(source).set_timestamp(_now_at_append).to_topic(out)
    return app


def _now_at_append(value: Any, key: Any, timestamp: int, headers: Any) -> int:
    return 0


def serve_fleet(settings: HubSettings, base_dir: Path, stop: threading.Event) -> None:
    """The six reference agencies on their inboxes until ``stop``."""
    from consumers.reference_agencies.fleet import AgencyFleet

    with AgencyFleet(settings, base_dir):
        while not stop.wait(0.5):
            pass


def serve_child(argv: list[str]) -> int:
    """Run one role (see the module's docstring) until SIGTERM."""
    role, arg = argv[0], argv[1]
    settings = HubSettings()  # from the HUB_* environment BenchChild gives
    if role == "faust":
        import faust

        fanout = json.loads(Path(argv[2]).read_text()) if len(argv) > 2 else None
        # Exactly how run_worker starts the router (WorkerProcess passes --loglevel info).
        faust.Worker(passthrough_app(Clients(settings), arg, fanout), loglevel="info",
                     quiet=True).execute_from_commandline()
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if role == "kafka-python":
        with Clients(settings) as clients:
            serve_kafka_python(clients, arg, stop)
    elif role == "quix":
        with Clients(settings) as clients:
            quix_app(clients, arg).run()  # until SIGTERM (Quix's own handler: checkpoint, leave)
    elif role == "fleet":
        serve_fleet(settings, Path(arg), stop)
    else:
        raise SystemExit(f"unknown child role {role!r}")
    return 0


if __name__ == "__main__":
    sys.exit(serve_child(sys.argv[1:]))
