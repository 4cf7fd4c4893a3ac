"""The router's and the inbox's per-event work, timed in-process with no broker (ns histograms)."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import fastavro
from hdrh.histogram import HdrHistogram

from bench.harness.histograms import NS_HIGHEST, new_histogram
from bench.workload import WireRecord
from hub.domain.catalogue import spec_for_publisher
from hub.domain.departments import Department
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import DecisionKind, WorkItem, decision_for, route
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.wire.codec import event_to_record
from hub.wire.schemas import event_schema
from hub.wire.serde import event_deserializer, model_deserializer, model_serializer

STAGES = {
    "avro": "fastavro decode alone (reader = writer schema)",
    "decode": "decode: `WireReader` → `Event` (pydantic)",
    "to_dict": "`event_to_record` (`Event` → dict again)",
    "route": "`route` + `decision_for`",
    "encode": "encode items + decision (AvroSerializer)",
    "process": "`RouterProcessor.process` whole, no log output",
    "process_logged": "`process` + its INFO line to a file (as the worker runs)",
}
INBOX_STAGES = {
    "item_decode": "inbox: decode a WorkItem (`WireReader` + pydantic)",
    "outcomes": "inbox: DELIVERED + COMPLETED outcomes built and encoded",
    "handler": "agency handler (one SQLite transaction, WAL)",
}


def spec_for_publisher_of(record: WireRecord):
    headers = dict(record.headers)
    return spec_for_publisher(headers["oncehub.event_type"].decode(),
                              Department(headers["oncehub.source_department"].decode()))


def measure_router_stages(clients: Clients, records: Sequence[WireRecord], warm: int,
                          workdir: Path) -> dict[str, HdrHistogram]:
    """Time the router's per-event work in-process (ns histograms); the first ``warm`` untimed."""
    from hub.worker.processor import RouterProcessor, SourceRecord

    rules, names, registry = load_rules(), TopicNames(clients.settings.topic_prefix), clients.registry
    used = {spec_for_publisher_of(r).event_type for r in records}
    specs = {t: spec for t, spec in names.event_specs().items() if spec.event_type in used}
    decoders = {spec.event_type: event_deserializer(registry, spec) for spec in specs.values()}
    parsed = {spec.event_type: fastavro.parse_schema(event_schema(spec)) for spec in specs.values()}
    encode_item = model_serializer(registry, "WorkItem")
    encode_decision = model_serializer(registry, "RoutingDecision")
    processor = RouterProcessor(
        rules=rules, names=names,
        decode=lambda spec, data, topic: event_to_record(decoders[spec.event_type](data, topic)),
        specs_by_topic=specs, encode_item=encode_item, encode_decision=encode_decision,
        encode_dead_letter=model_serializer(registry, "DeadLetter"), routed={}, held={},
    )
    hists = {name: new_histogram(NS_HIGHEST) for name in STAGES}
    proc_log = logging.getLogger("hub.worker.processor")
    handler = logging.FileHandler(workdir / "stages-processor.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)s] [%(levelname)s] %(message)s"))
    clock = time.perf_counter_ns
    level, propagate = proc_log.level, proc_log.propagate
    try:
        for i, rec in enumerate(records):
            spec = specs[rec.topic]
            source = SourceRecord(rec.topic, 0, i, rec.key, rec.value)
            t0 = clock()
            fastavro.schemaless_reader(io.BytesIO(rec.value[5:]), parsed[spec.event_type])
            t1 = clock()
            event = decoders[spec.event_type](rec.value, rec.topic)
            t2 = clock()
            as_dict = event_to_record(event)
            t3 = clock()
            work = route(as_dict, rules, None)
            decision = decision_for(as_dict, DecisionKind.ROUTED, work)
            t4 = clock()
            for w in work:
                encode_item(w, names.inbox(w.department))
            encode_decision(decision, names.routing_log)
            t5 = clock()
            proc_log.setLevel(logging.WARNING)
            processor.process(source)
            t6 = clock()
            proc_log.addHandler(handler)
            proc_log.setLevel(logging.INFO)
            proc_log.propagate = False
            processor.process(source)
            t7 = clock()
            proc_log.removeHandler(handler)
            proc_log.propagate = propagate
            if i >= warm:
                for name, took in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4,
                                                t6 - t5, t7 - t6)):
                    hists[name].record_value(max(took, 1))
    finally:
        proc_log.setLevel(level)
        proc_log.propagate = propagate
        proc_log.removeHandler(handler)
        handler.close()
    return hists


def measure_inbox_stages(clients: Clients, records: Sequence[WireRecord], limit: int,
                         workdir: Path) -> dict[str, HdrHistogram]:
    """Time the inbox's per-item work in-process (ns): decode, outcomes, the reference agency.

    Items come from routing ``records`` here; each agency writes to a fresh SQLite file in
    ``workdir``. The first item per department is untimed (table creation, first statements).
    """
    from consumers.reference_agencies import reference_agencies
    from hub.domain.outcomes import Completed

    rules, names, registry = load_rules(), TopicNames(clients.settings.topic_prefix), clients.registry
    encode_item = model_serializer(registry, "WorkItem")
    decode_item = model_deserializer(registry, "WorkItem", WorkItem)
    encode_outcome = model_serializer(registry, "Outcome")
    decoders: dict[str, Any] = {}
    work = []
    for rec in records:
        spec = spec_for_publisher_of(rec)
        decode = decoders.setdefault(rec.topic, event_deserializer(registry, spec))
        for item in route(event_to_record(decode(rec.value, rec.topic)), rules, None):
            topic = names.inbox(item.department)
            work.append((topic, encode_item(item, topic)))
        if len(work) >= limit:
            break
    agencies = reference_agencies(workdir / "stage-agencies")
    hists = {name: new_histogram(NS_HIGHEST) for name in INBOX_STAGES}
    seen: set[Department] = set()
    clock, now = time.perf_counter_ns, lambda: datetime.now(timezone.utc)
    try:
        for topic, value in work:
            t0 = clock()
            item = decode_item(value, topic)
            t1 = clock()
            encode_outcome(Outcome.for_item(item, OutcomeStatus.DELIVERED, now()),
                           names.outcomes_of(item.department))
            t2 = clock()
            result = agencies[item.department](item)
            t3 = clock()
            reference = result.reference if isinstance(result, Completed) else None
            encode_outcome(Outcome.for_item(item, OutcomeStatus.COMPLETED, now(), reference=reference,
                                            attempts=1), names.outcomes_of(item.department))
            t4 = clock()
            if item.department in seen:
                hists["item_decode"].record_value(max(t1 - t0, 1))
                hists["outcomes"].record_value(max(t2 - t1 + t4 - t3, 1))
                hists["handler"].record_value(max(t3 - t2, 1))
            seen.add(item.department)
    finally:
        for agency in agencies.values():
            agency.close()
    return hists
