"""What encrypting each person's fields to their own key costs (crypto-shredding), in-process.

For every event type that names people, a pool of synthetic events (the demo's generator, sealed
as the SDK seals them) is Avro-encoded as the SDK encodes it — the floor every publish pays — and,
in the same run:

- **protect**: each person's fields encrypted to their key (keys already minted: a known person),
  then encoded — what a publish about a known person costs;
- **protect, new people**: the same with every person's key minted and wrapped to the master key
  first — a person's first event (the key's round trip to Kafka not included: it is one acked
  send, as the event's own);
- **reveal**: decoded and every block opened with the person's private key — what the router,
  replay and the views pay per event.

No Kafka and no registry: the cipher and the codec only, so the figures are the CPU a publisher
and a hub reader add per event. Percentiles in µs per event (HdrHistogram), sizes in bytes.

    python -m bench.shredding_bench [--events 2000] [--short: 300 events, make bench-all]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import fastavro
from rich.console import Console

from bench.harness import cli
from bench.harness.histograms import NS_HIGHEST, new_histogram, stage_summary
from bench.harness.results import load_average, run_header
from bench.harness.tables import markdown_table, num
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.domain.personal_data import PERSONS
from hub.domain.sealing import seal
from hub.security.shredding import mint, protect_record, reveal_record, wrap_for_hub
from hub.wire.codec import event_to_record
from hub.wire.schemas import event_schema
from producers.demo_data import generate

STAGES = ("encode only", "protect + encode", "protect + encode, new people", "decode + reveal")
RATIOS = {"protect_to_encode_p50": "protect + encode", "new_people_to_encode_p50": "protect + encode, new people",
          "reveal_to_encode_p50": "decode + reveal"}  # each stage's p50 ÷ the encode-only p50
SHORT = {"events": 300}  # `--short` (make bench-all)


class Keys:
    """Per-person key pairs, as a publisher (public halves) and the hub (private halves) hold them."""

    def __init__(self, master_public: bytes):
        self.master_public = master_public
        self.public: dict[str, tuple[str, bytes]] = {}
        self.private: dict[str, bytes] = {}

    def minted(self, subject: str) -> tuple[str, bytes]:
        pair = mint()
        wrap_for_hub(self.master_public, subject, pair)  # what a first event also pays
        self.public[subject] = (pair.key_id, pair.public_key)
        self.private[pair.key_id] = pair.private_key
        return self.public[subject]

    def known(self, subject: str) -> tuple[str, bytes]:
        return self.public.get(subject) or self.minted(subject)


def _encoder(schema) -> Callable[[dict], bytes]:
    def encode(record: dict) -> bytes:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, record)
        return out.getvalue()
    return encode


def _timed(hist, call):
    started = time.perf_counter_ns()
    value = call()
    hist.record_value(max(time.perf_counter_ns() - started, 1))
    return value


def ratios(event_types: dict[str, Any]) -> dict[str, Any]:
    """Each stage's p50 ÷ the encode-only p50, per event type, and the median over the types."""
    per_type = {t: {name: round(row["stages_us"][stage]["p50"] / row["stages_us"]["encode only"]["p50"], 3)
                    for name, stage in RATIOS.items()}
                for t, row in event_types.items()}
    medians = {name: round(statistics.median(r[name] for r in per_type.values()), 3) if per_type else None
               for name in RATIOS}
    return {**medians, "per_type": per_type}


def run(options: Any, console: Console) -> dict[str, Any]:
    rng, load_at_start = random.Random(options.seed), load_average()
    keys = Keys(mint().public_key)
    rows: dict[str, Any] = {}
    with console.status("encrypting") as status:
        for spec in CATALOGUE.values():
            if not PERSONS[spec.event_type]:
                continue
            status.update(f"{spec.event_type.value}: {options.events:,} events")
            schema = fastavro.parse_schema(event_schema(spec))
            encode = _encoder(schema)
            records = [event_to_record(seal(spec, spec.owner, generate(spec.event_type, rng)))
                       for _ in range(options.events)]
            hists = {stage: new_histogram(NS_HIGHEST) for stage in STAGES}
            clear_bytes = protected_bytes = 0
            for record in records:
                clear_bytes += len(_timed(hists["encode only"], lambda: encode(record)))
                _timed(hists["protect + encode, new people"],
                       lambda: encode(protect_record(record, keys.minted)))
                value = _timed(hists["protect + encode"], lambda: encode(protect_record(record, keys.known)))
                protected_bytes += len(value)

                def reveal(value=value):
                    decoded = fastavro.schemaless_reader(io.BytesIO(value), schema, None)
                    opened, erased = reveal_record(decoded, keys.private.get)
                    assert not erased
                    return opened
                _timed(hists["decode + reveal"], reveal)
            rows[spec.event_type.value] = {
                "people": len(PERSONS[spec.event_type]), "stages_us": stage_summary(hists),
                "bytes_clear": round(clear_bytes / len(records)), "bytes_protected": round(protected_bytes / len(records))}
    # No topics: the prefix is None, and the settings are only named in the environment.
    return {**run_header("prefix", None, options, HubSettings(), load_at_start,
                         packages=("cryptography",)),
            "event_types": rows, "ratios": ratios(rows), "problems": []}


def render(results: dict[str, Any]) -> str:
    header = ["event type", "people", *(f"{s}: p50 / p99 µs" for s in STAGES), "bytes clear → protected"]
    body = []
    for event_type, row in results["event_types"].items():
        stages = row["stages_us"]
        body.append([event_type, str(row["people"]),
                     *(f"{num(stages[s]['p50'], ',.0f')} / {num(stages[s]['p99'], ',.0f')}" for s in STAGES),
                     f"{row['bytes_clear']:,} → {row['bytes_protected']:,}"])
    return markdown_table(header, body)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser("shredding", __doc__)
    cli.option(parser, "--events", 2000, "events per event type")
    cli.add_seed(parser, 13)
    cli.add_json(parser, "shredding")
    args = cli.parse(parser, argv, SHORT)
    if args.events < 1:
        parser.error("--events must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return cli.run_main(args, run, render, cli.json_path(args, "shredding"))


if __name__ == "__main__":
    sys.exit(main())
