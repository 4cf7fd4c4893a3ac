"""`hub worker`: the faust-streaming router.

One agent consumes every registration topic (concurrency 1: faust-streaming can commit past an
in-flight event with concurrency > 1, issue #606) and, for each record, waits until every
output — inbox items, routing decision, or dead letter — is acknowledged by Kafka before the
event is acknowledged, so its offset is committed only after its effects are durable.

Crashes and rebalances may re-route an event (faust #502, #517); that is harmless by design:
work items are deterministic (same ids, same bytes), and agencies apply each item id once.
The "routed before" table (event id → departments, and who published the event, its type,
primary subject and content fingerprint), the "held" table (events accepted with documents
missing, 容缺受理) and the "case openers" table (case id → the department that opened it) live
in changelog-backed faust tables, co-partitioned with the event topics because corrections and
supplements keep their original's key. (A case joined by an event about another subject is
looked up across partitions: with several router processes, one that does not hold the case's
partition sees it as new — run one router, or give the table a global store, before relying on
the case rule there.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import logging

import faust
from faust.types import TP

from hub.config import HubSettings
from hub.kafka.clients import Clients
from hub.domain.catalogue import CATALOGUE
from hub.kafka.topic_names import TopicNames
from hub.projections.deadlines import DeadlineWatch
from hub.rules import load_rules
from hub.wire.codec import event_to_record
from hub.wire.serde import event_deserializer, model_serializer
from hub.worker.processor import RouterProcessor, SourceRecord
from hub.worker.stall_guard import StallGuard

log = logging.getLogger(__name__)


def raw_topic(app: faust.App, *names: str):
    """Topics read and written as bytes: the router decodes and encodes with the registry itself."""
    return app.topic(*names, key_type=bytes, value_type=bytes,
                     key_serializer="raw", value_serializer="raw")


async def _process_retrying(processor: RouterProcessor, record: SourceRecord) -> list:
    """Process one record; while the registry is unreachable, wait and try again (the
    partition waits rather than parking good records)."""
    delay = 0.5
    while True:
        try:
            return processor.process(record)
        except Exception as exc:  # noqa: BLE001 - only transient errors reach here
            log.warning("registry unavailable for %s[%d]@%d (%s); retrying in %.1fs",
                        record.topic, record.partition, record.offset, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


def create_app(clients: Clients) -> faust.App:
    """The router app on ``clients``; rules are validated here, before anything starts."""
    settings = clients.settings
    rules = load_rules()  # RuleError stops the worker with the rule and the reason
    names = TopicNames(settings.topic_prefix)
    datadir = Path(settings.state_dir) / "faust" / settings.topic_prefix
    datadir.parent.mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    app = faust.App(
        f"{settings.topic_prefix}-router",
        **clients.faust_broker(),
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        table_cleanup_interval=3600.0,
        # A crashed worker's partitions move to the survivors after this long (faust's 60 s
        # default keeps items waiting a minute after a kill -9).
        # Table state files live with the hub's other state, not in the working directory.
        datadir=str(datadir),
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
    )
    registry = clients.registry
    specs = names.event_specs()
    decoders = {spec.event_type: event_deserializer(registry, spec) for spec in CATALOGUE.values()}
    routed = app.Table("routed-events", default=None, partitions=settings.topic_partitions)
    held = app.Table("held-events", default=None, partitions=settings.topic_partitions)
    cases = app.Table("case-openers", default=None, partitions=settings.topic_partitions)
    processor = RouterProcessor(
        rules=rules, names=names,
        decode=lambda spec, data, topic: event_to_record(decoders[spec.event_type](data, topic)),
        specs_by_topic=specs,
        encode_item=model_serializer(registry, "WorkItem"),
        encode_decision=model_serializer(registry, "RoutingDecision"),
        encode_dead_letter=model_serializer(registry, "DeadLetter"),
        routed=routed,
        held=held,
        cases=cases,
        early_supplements=True,  # the topics are read side by side: see RouterProcessor
    )
    sinks = {t: raw_topic(app, t) for t in names.internal()}

    guard = StallGuard(clients, app.conf.id, grace_s=30.0)
    event_topics = set(names.all_events())

    async def handle(record: SourceRecord) -> None:
        outputs = await _process_retrying(processor, record)
        pending = [await sinks[o.topic].send(key=o.key, value=o.value) for o in outputs]
        for future in pending:
            await future  # durable before this event's offset can be committed

    next_offset: dict[tuple[str, int], int] = {}

    @app.agent(raw_topic(app, *names.all_events()), concurrency=1)
    async def route_events(stream):
        loop = asyncio.get_running_loop()
        async for event in stream.events():
            msg = event.message
            key = (msg.topic, msg.partition)
            guard.progressed(*key)
            if key not in next_offset:
                next_offset[key] = await loop.run_in_executor(None, guard.committed, *key)
            if msg.offset > next_offset[key]:
                # faust can skip a record around start-up and rebalances (and then commit past
                # it): read the skipped ones directly and route them first. Routing is
                # deterministic, so re-routing one that was in fact handled is harmless.
                missed = await loop.run_in_executor(
                    None, guard.read_range, msg.topic, msg.partition, next_offset[key], msg.offset)
                for rec in missed:
                    log.warning("routing %s[%d]@%d, which faust skipped", rec.topic, rec.partition, rec.offset)
                    await handle(SourceRecord(rec.topic, rec.partition, rec.offset, rec.key, rec.value))
            await handle(SourceRecord(msg.topic, msg.partition, msg.offset, msg.key, msg.value))
            next_offset[key] = max(next_offset[key], msg.offset + 1)

    @app.timer(interval=guard.grace_s / 2)
    async def resume_stalled_partitions():
        assigned = [(tp.topic, tp.partition) for tp in app.consumer.assignment()
                    if tp.topic in event_topics]
        stalled = await asyncio.get_running_loop().run_in_executor(None, guard.stalled, assigned)
        for (topic, partition), offset in stalled.items():
            log.warning("partition %s[%d] has unprocessed records and no progress; "
                        "seeking back to its committed offset %d", topic, partition, offset)
            guard.progressed(topic, partition)  # give the re-read its grace period
            await app.consumer.seek(TP(topic, partition), offset)

    watch = DeadlineWatch(clients)

    @app.timer(interval=settings.deadline_check_s, on_leader=True)
    async def check_deadlines():
        # kafka-python is blocking: run the watch off the event loop.
        await asyncio.get_running_loop().run_in_executor(None, watch.tick)

    return app


def run_worker(settings: HubSettings, loglevel: str = "warning") -> None:
    """Run the router until interrupted (SIGINT/SIGTERM stop it cleanly)."""
    clients = Clients(settings)
    try:
        worker = faust.Worker(create_app(clients), loglevel=loglevel, quiet=True)
        worker.execute_from_commandline()
    finally:
        clients.close()
