"""Where the SDK's time goes, in-process with no broker: each stage timed alone, per event.

The same pass captures the SDK's exact bytes, which the raw modes then replay.
"""

from __future__ import annotations

import io
import time

import fastavro
from hdrh.histogram import HdrHistogram

from bench.harness.histograms import NS_HIGHEST, new_histogram
from bench.workload import Job, WireRecord, capturing_publishers
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE, spec_for_publisher
from hub.domain.sealing import seal
from hub.kafka.topic_names import TopicNames
from hub.wire.codec import event_to_record
from hub.wire.schemas import event_schema
from hub.wire.serde import event_serializer

STAGES = {
    "seal": "validate + seal (pydantic)",
    "to_dict": "`event_to_record` (model_dump)",
    "fastavro": "fastavro encode alone",
    "serialise": "serialise: AvroSerializer whole (to_dict + encode + framing)",
    "publish": "`publish_raw` end to end, null producer",
}

ns = time.perf_counter_ns


def measure_stages(
    settings: HubSettings, warmup: list[Job], jobs: list[Job]
) -> tuple[dict[str, HdrHistogram], list[WireRecord], list[WireRecord]]:
    """Time each SDK stage per job in-process (ns histograms) and capture the SDK's bytes.

    Returns the stage histograms, then the wire records of ``warmup`` and of ``jobs``, in order.
    """
    # Protected as the SDK publishes live, so the raw modes replay bytes of the same shapes; the
    # raw modes send the events only, not the people's keys the SDK writes first.
    clients, publishers = capturing_publishers(settings, protect=True)
    capture = clients.capture
    event_topics = set(TopicNames(settings.topic_prefix).all_events())
    by_type: dict[str, tuple] = {}
    names = TopicNames(settings.topic_prefix)
    for spec in CATALOGUE.values():
        parsed = fastavro.parse_schema(event_schema(spec))
        by_type[spec.event_type.value] = (event_serializer(clients.registry, spec), parsed)
    hists = {name: new_histogram(NS_HIGHEST) for name in STAGES}

    def one(job: Job, record: bool) -> None:
        spec = spec_for_publisher(job.event_type, job.department)
        serialize, parsed = by_type[job.event_type]
        topic = names.events(spec, job.department)  # the publisher's own topic
        t0 = ns()
        event = seal(spec, job.department, dict(job.submission))
        t1 = ns()
        avro_record = event_to_record(event)
        t2 = ns()
        fastavro.schemaless_writer(io.BytesIO(), parsed, avro_record)
        t3 = ns()
        serialize(event, topic)
        t4 = ns()
        publishers[job.department].publish_raw(job.event_type, job.submission)
        t5 = ns()
        if record:
            for name, took in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                hists[name].record_value(max(took, 1))

    for job in warmup:  # first calls fetch schema ids from the registry: never timed
        one(job, record=False)
    warm_records = [r for r in capture.sent if r.topic in event_topics]
    capture.sent.clear()
    for job in jobs:
        one(job, record=True)
    return hists, warm_records, [r for r in capture.sent if r.topic in event_topics]
