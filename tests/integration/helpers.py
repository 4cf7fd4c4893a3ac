"""Reading raw records back for assertions, with no hub code on the decoding path; test prefixes
(made, dated, and deleted with their topics, subjects, ACLs and groups) and the sweep of leftovers."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import secrets
import signal
import time
import urllib.request
import warnings

import pytest
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ACLFilter, OffsetSpec, ResourcePatternFilter

from hub.kafka import acls
from hub.kafka.admin import hub_topics
from hub.kafka.clients import Clients
from hub.config import HubSettings
from hub.schema_registry.subjects import value_subject


def read_record(settings: HubSettings, topic: str, partition: int, offset: int):
    """The raw Kafka record at ``topic[partition]@offset``."""
    consumer = KafkaConsumer(**Clients(settings).connection(), enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        for _ in range(40):
            for rec in consumer.poll(timeout_ms=500).get(tp, []):
                if rec.offset == offset:
                    return rec
        raise AssertionError(f"no record at {topic}[{partition}]@{offset}")
    finally:
        consumer.close()


def third_party_decode(settings: HubSettings, topic: str, value: bytes) -> dict:
    """Decode with confluent-kafka's AvroDeserializer and the writer's registered schema only."""
    client = SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": 10})
    return AvroDeserializer(client)(value, SerializationContext(topic, MessageField.VALUE))


# -- test prefixes: named, dated, and deleted with everything they own -----------------------------
#
# A test's prefix is ``t`` + its creation time (8 hex digits of Unix seconds) + 6 random
# hex digits, so a leftover can be dated from its name alone. Prefixes made before they were dated
# (``t`` + 10 random hex digits) are dated by the registry and the log instead.

_DATED = re.compile(r"^(t([0-9a-f]{8})[0-9a-f]{6})[.-]")
_UNDATED = re.compile(r"^(t[0-9a-f]{10})[.-]")
# No test or test module holds its prefix this long; older ones are leftovers of runs that died.
LEFTOVER_AGE_S = float(os.environ.get("HUB_TEST_LEFTOVER_AGE_S", 3600))


def new_prefix(now: float | None = None) -> str:
    """A fresh test prefix, dated ``now`` (default: the present)."""
    return f"t{int(time.time() if now is None else now):08x}{secrets.token_hex(3)}"


def prefix_of(name: str) -> str | None:
    """The test prefix a topic or subject name belongs to, or None if it is no test's."""
    match = _DATED.match(name) or _UNDATED.match(name)
    return match.group(1) if match else None


def _dated(prefix: str) -> float | None:
    match = _DATED.match(prefix + ".")
    return float(int(match.group(2), 16)) if match else None


def _owned(prefix: str, name: str) -> bool:
    return name.startswith((f"{prefix}.", f"{prefix}-"))


@dataclass
class Removed:
    """What a clean-up deleted."""
    prefixes: set[str] = field(default_factory=set)
    topics: int = 0
    partitions: int = 0
    subjects: int = 0
    acls: int = 0
    groups: int = 0

    def __str__(self) -> str:
        return (f"{len(self.prefixes)} test prefix(es): {self.topics} topics ({self.partitions} "
                f"partitions), {self.subjects} registry subjects, {self.acls} ACLs, "
                f"{self.groups} consumer groups")


def registry_subjects(clients: Clients) -> dict[str, float | None]:
    """Every subject of the registry → when it was last created or changed (Unix seconds; None
    where the registry does not say). Apicurio's own search API pages through all of them with
    their dates; its Confluent-compatible listing stops at 1,000 and has none, so it is the
    fallback for another registry."""
    config = clients.registry_config()
    url = config["url"]
    if "/apis/ccompat/" in url:
        headers = {}
        if "basic.auth.user.info" in config:
            token = base64.b64encode(config["basic.auth.user.info"].encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        search = url.split("/apis/ccompat/")[0] + "/apis/registry/v3/search/artifacts"
        found: dict[str, float | None] = {}
        page = 500
        for offset in itertools.count(0, page):
            request = urllib.request.Request(f"{search}?limit={page}&offset={offset}",
                                             headers=headers)
            with urllib.request.urlopen(request, timeout=30) as response:
                body = json.load(response)
            for artifact in body.get("artifacts", []):
                stamp = artifact.get("modifiedOn") or artifact.get("createdOn")
                found[artifact["artifactId"]] = (
                    datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
                    if stamp else None)
            if offset + page >= body.get("count", 0):
                return found
    return {subject: None for subject in clients.registry.get_subjects()}


def delete_subjects(clients: Clients, subjects) -> int:
    """Delete ``subjects`` for good (soft, then permanently: the registry keeps a soft-deleted
    subject's versions); return how many existed."""
    deleted = 0
    for subject in subjects:
        try:
            clients.registry.delete_subject(subject)
        except SchemaRegistryError:
            continue  # none (or already gone)
        deleted += 1
        with contextlib.suppress(SchemaRegistryError):
            clients.registry.delete_subject(subject, permanent=True)
    return deleted


def delete_prefixes(clients: Clients, prefixes: set[str],
                    subjects: dict[str, float | None] | None = None) -> Removed:
    """Delete every topic, registry subject, ACL and consumer group of ``prefixes`` (each named
    ``<prefix>.…`` or ``<prefix>-…``, as the hub and faust name them). Processes using them must
    have stopped. ``subjects``: the registry's subjects if the caller has listed them already."""
    removed = Removed(prefixes=set(prefixes))
    if not prefixes:
        return removed
    ours = tuple(f"{p}{sep}" for p in prefixes for sep in ".-")
    with clients.administering("oncehub-test-cleanup") as admin:
        doomed = sorted(t for t in admin.list_topics() if t.startswith(ours))
        for start in range(0, len(doomed), 200):
            batch = doomed[start:start + 200]
            removed.partitions += sum(len(t["partitions"]) for t in admin.describe_topics(batch))
            admin.delete_topics(batch, timeout_ms=60_000, raise_errors=False)
        removed.topics = len(doomed)
        try:  # (a group still in use is refused: the rest goes all the same)
            groups = [g for g in _group_ids(admin) if g.startswith(ours)]
            if groups:
                result = admin.delete_groups(groups)
                errors = result.values() if isinstance(result, dict) else [e for _, e in result]
                removed.groups = sum(1 for error in errors if getattr(error, "errno", 0) == 0)
        except Exception as exc:  # noqa: BLE001
            warnings.warn(f"could not delete the consumer groups of {sorted(prefixes)[:3]}: {exc}",
                          stacklevel=2)
        if clients.secured:
            stale = [a for a in acls.existing(admin) if a.resource_pattern.resource_name.startswith(ours)]
            for start in range(0, len(stale), 500):
                admin.delete_acls([ACLFilter(a.principal, a.host, a.operation, a.permission_type,
                                             ResourcePatternFilter(a.resource_pattern.resource_type,
                                                                   a.resource_pattern.resource_name,
                                                                   a.resource_pattern.pattern_type))
                                   for a in stale[start:start + 500]])
            removed.acls = len(stale)
    # Every subject the hub would name after the prefixes' topics (whether or not the topic was
    # ever made), and every other subject the registry lists under the prefixes.
    candidates = {value_subject(t) for p in prefixes for t in hub_topics(p)}
    candidates |= {value_subject(t) for t in doomed}
    if subjects is None:
        try:
            subjects = registry_subjects(clients)
        except Exception as exc:  # noqa: BLE001 - the named candidates are still deleted
            warnings.warn(f"could not list the registry's subjects: {exc}", stacklevel=2)
            subjects = {}
    candidates |= {s for s in subjects if s.startswith(ours)}
    removed.subjects = delete_subjects(clients, sorted(candidates))
    return removed


def _group_ids(admin) -> list[str]:
    found = []
    for group in admin.list_groups():
        group_id = group.get("group_id") if isinstance(group, dict) else group[0]
        if group_id:
            found.append(group_id)
    return found


def prefixes_in_use(clients: Clients, subjects: dict[str, float | None]
                         ) -> dict[str, float | None]:
    """Every test prefix on the stack → when it was last seen in use (Unix seconds; None if
    nothing says). Dated prefixes: the date in their name. Undated ones: the newest of their
    subjects' registry dates and their topics' newest record (the broker's MAX_TIMESTAMP)."""
    with clients.administering("oncehub-test-cleanup") as admin:
        topics = [t for t in admin.list_topics() if prefix_of(t)]
        seen: dict[str, float | None] = {}
        for name in [*topics, *subjects]:
            prefix = prefix_of(name)
            if prefix is not None:
                seen.setdefault(prefix, _dated(prefix))
        undated = [t for t in topics if _dated(prefix_of(t)) is None]
        for subject, stamp in subjects.items():
            prefix = prefix_of(subject)
            if prefix and _dated(prefix) is None and stamp is not None:
                seen[prefix] = max(seen[prefix] or 0.0, stamp)
        for start in range(0, len(undated), 200):
            described = admin.describe_topics(undated[start:start + 200])
            specs = {TopicPartition(t["name"], p["partition_index"]): OffsetSpec.MAX_TIMESTAMP
                     for t in described for p in t["partitions"]}
            with contextlib.suppress(Exception):  # a topic deleted meanwhile: no date from it
                for tp, found in admin.list_partition_offsets(specs).items():
                    if found.timestamp is not None and found.timestamp >= 0:
                        prefix = prefix_of(tp.topic)
                        seen[prefix] = max(seen[prefix] or 0.0, found.timestamp / 1000)
    return seen


def sweep_leftovers(clients: Clients, older_than_s: float = LEFTOVER_AGE_S,
                    now: float | None = None, among=None) -> Removed:
    """Delete the test prefixes (topics, subjects, ACLs, groups) nobody has used for
    ``older_than_s``: what runs that were killed, or that predate per-test clean-up, left on the
    stack. A prefix some running session holds is younger than that and stays. ``among``: a
    predicate restricting the sweep to some prefixes (the tests of the sweep use it)."""
    now = time.time() if now is None else now
    subjects = registry_subjects(clients)
    stale = {prefix for prefix, last in prefixes_in_use(clients, subjects).items()
             if (last is None or last < now - older_than_s) and (among is None or among(prefix))}
    return delete_prefixes(clients, stale, subjects)


def stop_prefix_processes(prefix: str, timeout_s: float = 20.0) -> int:
    """Stop the child processes of this test process (at any depth) still running on ``prefix`` —
    a router or `hub` command a failing test left behind — so none writes to, or recreates, the
    topics about to be deleted: SIGTERM, then SIGKILL after ``timeout_s``. Returns how many.
    (Linux: read from /proc; elsewhere nothing is found.)"""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = status.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(status.parent.name))
    ours, todo = [], list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        with contextlib.suppress(OSError):
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            if f"HUB_TOPIC_PREFIX={prefix}".encode() in environ:
                ours.append(pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in ours:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout_s
        while any(_alive(p) for p in ours) and time.monotonic() < deadline:
            time.sleep(0.2)
    return len(ours)


def _alive(pid: int) -> bool:
    """Running (a zombie has ended: its parent just has not reaped it yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def run_only_when_asked(items, marker: str, variable: str, reason: str) -> None:
    """Skip the collected tests marked ``marker`` unless the environment sets ``variable=1``
    (slow suites with stacks of their own: the cluster tests, the fault drills)."""
    if os.environ.get(variable) == "1":
        return
    skip = pytest.mark.skip(reason=f"{reason}: set {variable}=1 to run")
    for item in items:
        if item.get_closest_marker(marker) is not None:
            item.add_marker(skip)
