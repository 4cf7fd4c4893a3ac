"""`hub worker`: the faust-streaming router.

One agent consumes every registration topic (concurrency 1: faust-streaming can commit past an
in-flight event with concurrency > 1, issue #606), a batch of records at a time (those read
within a few milliseconds, at most ``route_batch_max``), and waits until every output of the
batch — inbox items, routing decisions, dead letters — is acknowledged by Kafka before its
events are acknowledged, so an offset is committed only after its record's effects are durable.

Crashes and rebalances may re-route an event (faust #502, #517); that is harmless by design:
work items are deterministic (same ids, same bytes), and agencies apply each item id once.
The "routed before" table (event id → departments, and who published the event, its type,
primary subject, the subject it is filed under and content fingerprint), the "held" table
(events accepted with documents missing, 容缺受理, and supplements read before their event) and
the "case openers" table (case id → the department that opened it) are changelog-backed faust
tables kept in RocksDB (bounded memory, restarts that read only the changelog's tail),
co-partitioned with the event topics: corrections, annulments and supplements are filed under
their original's subject, so several routers can share the partitions. (A case joined by an
event about another subject is looked up across partitions: with several router processes,
one that does not hold the case's partition sees it as new — the case view, which reads the
routing log keyed by case, still refuses the join.)

Blocking work (registry lookups, kafka-python consumers) runs off faust's event loop, and no
timer or record can crash the app: see :mod:`hub.worker.resilience`.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import subprocess
import sys
import time
import weakref
from pathlib import Path

import faust
import faust.streams as faust_streams
from faust.types import TP

from hub.config import HubSettings
from hub.errors import ConfigurationError
from hub.kafka.clients import Clients
from hub.kafka.failures import is_not_registered, is_transient
from hub.kafka.key_feed import KeyFeed
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.schema_registry.subjects import value_subject
from hub.wire.codec import event_to_record
from hub.wire.serde import event_decoders, model_serializer
from hub.worker import table_store
from hub.worker.process import settings_env
from hub.worker.metering import RouterMeter
from hub.worker.processor import RouterProcessor, SourceRecord
from hub.worker.resilience import keep_going, off_loop, until_done
from hub.worker.stall_guard import StallGuard
from hub.worker.state_dir import claim_slot

log = logging.getLogger(__name__)


def raw_topic(app: faust.App, *names: str):
    """Topics read and written as bytes: the router decodes and encodes with the registry itself."""
    return app.topic(*names, key_type=bytes, value_type=bytes,
                     key_serializer="raw", value_serializer="raw")


def unregistered_subjects(registry, topics: list[str]) -> list[str]:
    """The value subjects of ``topics`` the registry does not have (blocking)."""
    missing = []
    for topic in topics:
        try:
            registry.get_latest_version(value_subject(topic))
        except Exception as exc:  # noqa: BLE001 - anything but "not registered" is checked later
            # A 404 of another code (confluent-kafka's mock registry says 40400) is missing too.
            if is_not_registered(exc) or getattr(exc, "http_status_code", None) == 404:
                missing.append(value_subject(topic))
            elif is_transient(exc):
                log.warning("schema registry unavailable at start-up (%s); the subjects are "
                            "checked when the router first writes", exc)
                return []
            else:
                raise
    return missing


def written_by_router(names: TopicNames) -> list[str]:
    """Every topic the router writes with one of the hub's schemas."""
    return [*names.all_inboxes(), names.routing_log, names.dead_letters, names.deadlines]


# RocksDB's defaults (a 2 GiB block cache and 3 x 64 MiB write buffers per database, one
# database per table and partition) would let the router grow to gigabytes; these keep a table
# partition to a few MiB of memory, the rest on disk. Reads hit recent keys (corrections and
# supplements come soon after their event), so a small cache loses little.
# Per database; the block cache and the memtables' total are one budget for the process
# (hub.worker.table_store).
TABLE_OPTIONS = {"write_buffer_size": 2 * 1024 * 1024, "max_write_buffer_number": 2, "driver": "rocksdict"}


def create_app(clients: Clients, datadir: Path | None = None) -> faust.App:
    """The router app on ``clients``; rules are validated here, before anything starts.
    ``datadir``: where its tables live on disk (one directory per router process)."""
    settings = clients.settings
    rules = load_rules()  # RuleError stops the worker with the rule and the reason
    names = TopicNames(settings.topic_prefix)
    if datadir is None:
        datadir = Path(settings.state_dir) / "faust" / settings.topic_prefix / "router-0"
    datadir.parent.mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    app = faust.App(
        f"{settings.topic_prefix}-router",
        **clients.faust_broker(),
        store=table_store.register(),
        # The "which partition holds this key" cache of the RocksDB store (faust's default: 1M keys).
        table_key_index_size=10_000,
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
    # People's fields are opened as each event is decoded; the feed also copies the keys it reads
    # on the intakes to the hub's own key topic. Once the worker runs it follows the key topics as
    # they are written, so a new person's key is usually held before their event is routed.
    key_feed = KeyFeed(clients, copy_intakes=True)
    decoders = event_decoders(registry, key_feed.reveal)

    def table(name: str):
        return app.Table(name, default=None, partitions=settings.topic_partitions,
                         options=dict(TABLE_OPTIONS))  # faust pops keys from the dict it is given

    routed, held, cases = table("routed-events"), table("held-events"), table("case-openers")
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
    # The outputs go through librdkafka, not faust's producer (see hub.kafka.batch_producer);
    # faust's producer still writes the tables' changelogs. Made at the first send: building the
    # app connects to nothing.
    @functools.cache
    def outputs_producer():
        return clients.batch_producer()

    guard = StallGuard(clients, app.conf.id, grace_s=30.0)
    meter = RouterMeter(names)
    event_topics = set(names.all_events())

    def where(records: list[SourceRecord]) -> str:
        first = records[0]
        more = f" and {len(records) - 1} more" if len(records) > 1 else ""
        return f"routing {first.topic}[{first.partition}]@{first.offset}{more}"

    async def handle(records: list[SourceRecord], enter, timestamps: list[float] = ()) -> None:
        # Built on a thread (registry lookups block), written, and only then remembered: the
        # tables change once every output is durable, so a retry finds them as they were.
        # ``enter(n)``: record n's faust context, where its table changes are written.
        started = time.time()
        prepared = await until_done(where(records), lambda: off_loop(processor.prepare_batch, records))
        prepared_at = time.time()
        try:
            await until_done(where(records), lambda: send_all(prepared.outputs))
        except BaseException:
            prepared.discard()  # stopped or revoked: the records will be routed again
            raise
        prepared.commit(enter)
        meter.routed(records, prepared.outputs, timestamps, started, prepared_at, time.time())

    ack_bound_s = max(30.0, 3 * settings.publish_timeout_s)

    async def send_all(outputs) -> None:
        # Durable before these events' offsets can be committed. Bounded: an acknowledgement
        # that never comes (seen once after a broker restart: the worker then routed nothing
        # for minutes) becomes a failed attempt, and the outputs are sent again.
        await asyncio.wait_for(asyncio.shield(outputs_producer().send_all(outputs)), ack_bound_s)

    async def expire_early_supplements(partition: int, event) -> None:
        # After a batch, in the context of one of the partition's records (``event``): faust
        # writes a table only for the partition of the record being handled (a timer cannot),
        # and that is where these live.
        prepared = await until_done(f"expiring early supplements of partition {partition}", lambda: off_loop(
            processor.expire_early, settings.early_supplement_ttl_s, partition))
        try:
            await until_done("writing expired early supplements", lambda: send_all(prepared.outputs))
        except BaseException:
            prepared.discard()
            raise
        meter.expired(prepared.outputs)
        prepared.commit(lambda _: in_context_of(event))
        if prepared.outputs:
            log.warning("%d early supplement(s) of partition %d expired into the dead letters",
                        len(prepared.outputs), partition)

    sweep_every_s = min(settings.early_supplement_ttl_s / 4, 300.0)
    last_sweep: dict[int, float] = {}
    next_offset: dict[tuple[str, int], int] = {}

    async def records_of(events) -> tuple[list[SourceRecord], list]:
        """The batch's records in order, and for each the faust event in whose context it is
        remembered: records faust skipped come first, read directly (with their successor's)."""
        records, owners = [], []
        for event in events:
            msg = event.message
            key = (msg.topic, msg.partition)
            guard.progressed(*key)
            if key not in next_offset:
                next_offset[key] = await until_done(
                    f"reading the committed offset of {key[0]}[{key[1]}]", lambda: off_loop(guard.committed, *key))
            if msg.offset > next_offset[key]:
                # faust can skip a record around start-up and rebalances (and then commit past
                # it): read the skipped ones directly and route them first. Routing is
                # deterministic, so re-routing one that was in fact handled is harmless.
                missed = await until_done(
                    f"reading skipped records of {key[0]}[{key[1]}]",
                    lambda: off_loop(guard.read_range, msg.topic, msg.partition, next_offset[key], msg.offset))
                for rec in missed:
                    log.warning("routing %s[%d]@%d, which faust skipped", rec.topic, rec.partition, rec.offset)
                    records.append(SourceRecord(rec.topic, rec.partition, rec.offset, rec.key, rec.value))
                    owners.append(event)
            records.append(SourceRecord(msg.topic, msg.partition, msg.offset, msg.key, msg.value))
            owners.append(event)
            next_offset[key] = max(next_offset[key], msg.offset + 1)
        return records, owners

    @app.agent(raw_topic(app, *names.all_events()), concurrency=1)
    async def route_events(stream):
        # Batches: one thread hop, one round of produce requests and one wait for their
        # acknowledgements per batch instead of per record (the router was bound by them). faust
        # acknowledges a batch's events only after this body has handled all of them.
        async for events in stream.take_events(settings.route_batch_max, settings.route_batch_wait_s):
            timestamps = [event.message.timestamp for event in events]
            meter.taken(timestamps, time.time())
            records, owners = await records_of(events)
            await handle(records, lambda n: in_context_of(owners[n]), timestamps)
            now, latest = time.monotonic(), {event.message.partition: event for event in events}
            for partition, event in latest.items():
                if now - last_sweep.setdefault(partition, now) >= sweep_every_s:
                    last_sweep[partition] = now
                    await expire_early_supplements(partition, event)

    @app.timer(interval=guard.grace_s / 2)
    async def resume_stalled_partitions():
        assigned = [(tp.topic, tp.partition) for tp in app.consumer.assignment()
                    if tp.topic in event_topics]
        stalled = await keep_going("checking for stalled partitions", lambda: guard.stalled(assigned)) or {}
        for (topic, partition), offset in stalled.items():
            log.warning("partition %s[%d] has unprocessed records and no progress; "
                        "seeking back to its committed offset %d", topic, partition, offset)
            guard.give_grace(topic, partition)  # give the re-read its grace period
            await app.consumer.seek(TP(topic, partition), offset)

    @app.task
    async def follow_the_key_topics():
        await off_loop(key_feed.follow)

    @app.task
    async def freeze_start_up_objects():
        # Everything built at start-up (faust, pydantic models, the rules, the schemas) lives as
        # long as the process: out of the collector's sight, a full collection walks only what
        # routing allocates (the router paused 70-80 ms now and then with them in view).
        gc.collect()
        gc.freeze()

    @app.timer(interval=60.0)
    async def return_free_memory():
        trim_malloc()  # what the heap has free goes back to the system (see tune_malloc)

    @app.timer(interval=settings.deadline_check_s, on_leader=True)
    async def check_deadlines():
        # In a child process: the case projection it keeps grows with the open cases, and its
        # Python work would hold the router's GIL; a child returns both when it exits. A broker
        # outage fails a round, no more.
        await keep_going("the deadline check", lambda: run_deadline_check(settings))

    return app


def in_context_of(event) -> None:
    """Make ``event`` the record being handled, as faust's own stream iteration does: a table
    change goes to the changelog partition (and RocksDB database) of that record. The batches of
    ``Stream.take_events`` are handed over outside the iteration that read them, so the router
    sets the (task-local) context itself, before each record's changes."""
    faust_streams._current_event.set(weakref.ref(event))


def run_deadline_check(settings: HubSettings) -> None:
    """``hub deadline-check`` in a child process with the router's settings (blocking)."""
    bound_s = max(60.0, settings.deadline_check_s * 4)
    done = subprocess.run([sys.executable, "-m", "hub.cli", "deadline-check"], env=settings_env(settings),
                          capture_output=True, text=True, timeout=bound_s)
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise RuntimeError(f"hub deadline-check exited with {done.returncode}: {tail}")


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters
MMAP_THRESHOLD_BYTES = 128 * 1024


@functools.cache
def _libc():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return None


def tune_malloc(arenas: int = 2) -> None:
    """glibc's malloc, set for a long-running router (the memory benchmark; Linux with glibc only).

    - Two arenas: glibc gives each thread that allocates its own (up to 8 per core), and the
      router's threads (executor, Kafka clients, RocksDB) left about 100 MB sitting in them.
    - A fixed mmap threshold (128 KiB): RocksDB's memtables are built of 256 KiB blocks, freed at
      every flush. glibc raises its threshold whenever a large mapped block is freed, after which
      those blocks come from the heap, and the heap, holed by the blocks still in use, does not
      shrink: the router grew ~35 MB per 100,000 events with its RocksDB memory at its budget.
      Set explicitly, the threshold stays put: such blocks are mapped and unmapped, and go back to
      the system when freed.
    """
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return
    libc.mallopt(M_ARENA_MAX, arenas)
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    libc.mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD_BYTES)


def trim_malloc() -> None:
    """Hand free heap pages back to the system (glibc's malloc_trim; a few milliseconds)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def quiet_worker(app: faust.App, loglevel: str) -> faust.Worker:
    """A faust worker for ``app`` logging at ``loglevel`` and nothing below it."""
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    # faust's start-up spinner (on whenever the level is WARN or above) sets the root logger to
    # DEBUG to feed itself: every aiokafka debug line was then built and masked, per message
    # (a twentieth of the router's time).
    worker.spinner = None
    return worker


def run_worker(settings: HubSettings, loglevel: str = "warning") -> None:
    """Run the router until interrupted (SIGINT/SIGTERM stop it cleanly)."""
    tune_malloc()
    clients = Clients(settings)
    slot = claim_slot(Path(settings.state_dir) / "faust" / settings.topic_prefix)
    try:
        missing = unregistered_subjects(clients.registry, written_by_router(TopicNames(settings.topic_prefix)))
        if missing:
            raise ConfigurationError(
                f"the router cannot start: {len(missing)} subject(s) it writes are not registered in "
                f"the schema registry ({', '.join(missing[:4])}{', …' if len(missing) > 4 else ''}); "
                "run `hub schemas register` first")
        quiet_worker(create_app(clients, slot.path), loglevel).execute_from_commandline()
    finally:
        clients.close()
        slot.release()
