"""A run's names on the dev stack: fresh ones to start with, read back, deleted at the end.

Every run works under names no other run uses (``bench-<uuid8>…``), so runs never see each
other's records and a run's leftovers can be found by name and deleted.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console

from hub.kafka.clients import Clients
from hub.kafka.log_reader import assign_from_start, drain

FETCH_BYTES = 4 * 1024 * 1024  # per partition and fetch: a raw read is bounded by the broker, not this


def fresh_prefix() -> str:
    return f"bench-{uuid.uuid4().hex[:8]}"


def named_after(names: Iterable[str], *heads: str) -> list[str]:
    """The ``names`` (topics, subjects, groups) that start with one of ``heads``, sorted."""
    return sorted(n for n in names if n.startswith(heads))


def run_names(names: Iterable[str], run_prefix: str) -> list[str]:
    """The names that belong to a run whose every prefix is ``<run_prefix>-…``."""
    return named_after(names, f"{run_prefix}-")


def cleanup(clients: Clients, heads: Iterable[str], console: Console, paths: Iterable[Path] = ()
            ) -> None:
    """Delete the consumer groups, topics and schema subjects named after ``heads``, and
    ``paths`` (best effort: warns, never raises — cleanup must not hide the results)."""
    heads = tuple(heads)
    try:
        with clients.administering(client_id="oncehub-bench") as admin:
            groups = named_after((g["group_id"] for g in admin.list_groups()), *heads)
            if groups:
                admin.delete_groups(groups)
            topics = named_after(admin.list_topics(), *heads)
            if topics:
                admin.delete_topics(topics)
    except Exception as exc:  # noqa: BLE001
        console.print(f"[yellow]could not delete the topics or groups of {', '.join(heads)}: {exc}")
    registry = clients.registry
    try:
        subjects = named_after(registry.get_subjects(), *heads)
    except Exception as exc:  # noqa: BLE001
        console.print(f"[yellow]could not list schema subjects: {exc}")
        subjects = []
    for subject in subjects:
        try:
            registry.delete_subject(subject)
            registry.delete_subject(subject, permanent=True)
        except Exception as exc:  # noqa: BLE001
            if getattr(exc, "http_status_code", None) != 404:  # already gone is fine
                console.print(f"[yellow]could not delete subject {subject}: {exc}")
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def raw_read(clients: Clients, topics: list[str]) -> tuple[int, float]:
    """Every record of ``topics`` from the beginning to today's end, with no group and nothing
    decoded: the floor under anything that reads the log. Returns (records, seconds reading)."""
    with clients.reading(group_id=None, max_partition_fetch_bytes=FETCH_BYTES) as consumer:
        assign_from_start(consumer, topics)
        started, count = time.perf_counter(), 0
        for _ in drain(consumer):
            count += 1
        return count, time.perf_counter() - started
