"""How fast `hub audit verify` walks the chain, against a raw read of the same topic.

Writes N well-formed chained audit records (the timeline benchmark's generator) to a fresh
prefix's audit topic, then, in the same run: (1) a raw kafka-python read of every record to the
end, doing nothing with them — the floor; (2) ``verify_chain`` over the whole topic (decode,
canonical re-encoding, SHA-256, link check). The topic is deleted afterwards.

    python -m bench.verify_bench [--records 1000000]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
import uuid
from typing import Any, Sequence

from kafka import KafkaConsumer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.publish_bench import RESULTS_DIR, environment, write_json
from bench.timeline_bench import Trail, cleanup, heavy_subjects, make_templates, produce
from hub.audit.verify import verify_chain
from hub.config import HubSettings
from hub.kafka.topic_names import TopicNames
from hub.kafka.admin import ensure_topics


def raw_read(settings: HubSettings, topic: str) -> tuple[int, float]:
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None,
                             enable_auto_commit=False, max_partition_fetch_bytes=4 * 1024 * 1024)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        started, count = time.perf_counter(), 0
        while any(consumer.position(tp) < end[tp] for tp in parts):
            for records in consumer.poll(timeout_ms=500).values():
                count += len(records)
        return count, time.perf_counter() - started
    finally:
        consumer.close()


def run(records: int, seed: int, console: Console) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    rng = random.Random(seed)
    settings = HubSettings(topic_prefix=f"bench-{uuid.uuid4().hex[:8]}")
    topic = TopicNames(settings.topic_prefix).audit
    ensure_topics(settings, [topic])
    trail = Trail(settings.topic_prefix, settings.topic_partitions, rng,
                  make_templates(rng, per_type=50), heavy_subjects(rng, 0), 0)
    results: dict[str, Any] = {"options": {"records": records, "seed": seed},
                               "environment": environment(settings)}
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            produce(settings, trail, records, progress)
            read, raw_s = raw_read(settings, topic)
            task = progress.add_task("verifying", total=None)
            started = time.perf_counter()
            verdict = verify_chain(settings, progress=lambda d, t: progress.update(task, completed=d, total=t))
            verify_s = time.perf_counter() - started
        if read != trail.written or verdict.count != trail.written:
            raise RuntimeError(f"wrote {trail.written:,} record(s) but the raw read saw {read:,} "
                               f"and verify counted {verdict.count:,}")
        results["raw_read"] = {"records": read, "seconds": round(raw_s, 2), "records_per_s": round(read / raw_s)}
        results["verify"] = {"ok": verdict.ok, "records": verdict.count, "seconds": round(verify_s, 2),
                             "records_per_s": round(verdict.count / verify_s),
                             "ratio_to_raw_read": round(raw_s / verify_s, 3)}
    finally:
        cleanup(settings, Path(tempfile.gettempdir()) / "verify-bench-unused", console)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    console = Console(stderr=True)
    results = run(args.records, args.seed, console)
    raw, verify = results["raw_read"], results["verify"]
    print(f"raw kafka-python read: {raw['records']:,} records in {raw['seconds']} s ({raw['records_per_s']:,}/s)")
    print(f"hub audit verify:      {verify['records']:,} records in {verify['seconds']} s "
          f"({verify['records_per_s']:,}/s) — {verify['ratio_to_raw_read']}x the raw read; ok={verify['ok']}")
    path = RESULTS_DIR / f"verify-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(results, path)
    console.print(f"results: {path}")
    return 0 if verify["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
