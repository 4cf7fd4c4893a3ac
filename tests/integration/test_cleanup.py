"""The suite cleans up after itself: a test module run on the stack leaves none of its topics,
registry subjects, ACLs, consumer groups or processes behind, pass or fail; and a session starts
by sweeping what earlier runs left, sparing the prefixes a running session still uses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka.schema_registry import Schema

from hub.config import HubSettings
from hub.kafka import acls
from hub.kafka.admin import ensure_topics
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.security.acl_plan import plan
from tests.integration.flow_helpers import wait_until
from tests.integration.helpers import (
    delete_prefixes, new_prefix, prefix_of, registry_subjects, sweep_leftovers,
)

REPO = Path(__file__).resolve().parents[2]


def _operator(endpoints, prefix: str = "unused") -> HubSettings:
    return HubSettings(bootstrap_servers=endpoints.bootstrap_servers,
                       schema_registry_url=endpoints.schema_registry_url,
                       kafka_security=endpoints.kafka_security, principal="operator",
                       topic_prefix=prefix)


def _left_of(clients: Clients, prefixes: set[str]) -> dict[str, list[str]]:
    """What the stack still holds of ``prefixes``: topics, subjects, ACLs, consumer groups."""
    ours = tuple(f"{p}{sep}" for p in prefixes for sep in ".-")
    with clients.administering() as admin:
        left = {"topics": sorted(t for t in admin.list_topics() if t.startswith(ours)),
                "groups": sorted(g["group_id"] for g in admin.list_groups()
                                 if g["group_id"].startswith(ours)),
                "acls": sorted(a.resource_pattern.resource_name for a in acls.existing(admin)
                               if a.resource_pattern.resource_name.startswith(ours))
                if clients.secured else []}
    left["subjects"] = sorted(s for s in registry_subjects(clients) if s.startswith(ours))
    return left


def _running_on(prefixes: set[str]) -> list[int]:
    """Processes of this machine whose environment names one of ``prefixes``."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            entries = set(environ.read_bytes().split(b"\0"))
        except OSError:
            continue
        if any(f"HUB_TOPIC_PREFIX={p}".encode() in entries for p in prefixes):
            found.append(int(environ.parent.name))
    return found


def test_a_test_module_leaves_nothing_of_its_prefixes(endpoints, tmp_path):
    """A module in a pytest of its own (a module-wide prefix with a router, a test that fails
    with a router still running, subjects without topics, ACLs, a group): once it has ended, the
    stack holds nothing named after any prefix it used, and no process runs on one.

    ``HUB_CLEANUP_PROBE_ROOT`` runs another checkout's fixtures (to show this fails without the
    clean-up)."""
    root = Path(os.environ.get("HUB_CLEANUP_PROBE_ROOT", REPO))
    log = tmp_path / "prefixes.txt"
    env = {**os.environ, "HUB_CLEANUP_PROBE_LOG": str(log),
           "HUB_STATE_DIR": str(HubSettings().state_dir)}  # the running stack, from any checkout
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/integration/cleanup_probe.py", "-q",
         "-p", "no:cacheprovider", "-o", "addopts=", f"--basetemp={tmp_path / 'probe'}"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert "1 failed, 2 passed" in out, out[-4000:]  # the failure is the probe's own, on purpose
    prefixes = set(log.read_text().split())
    assert len(prefixes) == 3 and all(prefix_of(f"{p}.x") == p for p in prefixes), prefixes

    nothing = {"topics": [], "groups": [], "acls": [], "subjects": []}
    with Clients(_operator(endpoints)) as clients:
        # (a topic's deletion is asynchronous on the broker: give it a moment)
        wait_until(lambda: _left_of(clients, prefixes) == nothing, 30,
                   f"nothing left of {sorted(prefixes)}",
                   describe=lambda: {k: v[:5] for k, v in _left_of(clients, prefixes).items()})
    assert _running_on(prefixes) == []
    assert "swept earlier runs' leftovers:" in out


def _make_prefix(clients: Clients, prefix: str, with_record: bool = False) -> None:
    """A prefix as a test leaves it: topics (with a record), a subject, the ACL plan."""
    ensure_topics(clients, [f"{prefix}.scratch", f"{prefix}-router-scratch-changelog"])
    clients.registry.register_schema(f"{prefix}.scratch-value", Schema('{"type": "string"}', "AVRO"))
    if clients.secured:
        acls.apply(clients, prefix, plan(TopicNames(prefix), load_rules()))
    if with_record:
        producer = clients.producer()
        producer.send(f"{prefix}.scratch", b"x").get(timeout=30)
        producer.close()


def test_the_sweep_deletes_stale_prefixes_and_spares_live_ones(endpoints):
    """Dated prefixes go by the date in their name; undated ones (made before prefixes were
    dated) by their last record and subject. Only the prefixes made here are swept (``among``):
    the stack is shared with sessions running now."""
    now = time.time()
    stale, live = new_prefix(now - 2 * 3600), new_prefix(now)
    undated = f"t{os.urandom(5).hex()}"
    mine = {stale, live, undated}
    with Clients(_operator(endpoints)) as clients:
        try:
            for prefix in mine:
                _make_prefix(clients, prefix, with_record=prefix == undated)

            first = sweep_leftovers(clients, older_than_s=3600, now=now, among=mine.__contains__)
            assert first.prefixes == {stale}
            assert first.topics == 2 and first.subjects >= 1
            left = _left_of(clients, mine)
            assert not any(prefix_of(t) == stale for t in left["topics"] + left["subjects"])
            assert {prefix_of(t) for t in left["topics"]} == {live, undated}
            assert {prefix_of(s) for s in left["subjects"]} == {live, undated}

            # Two hours on, the undated prefix's record and subject are old too; the dated one
            # made "now" is then as stale.
            later = sweep_leftovers(clients, older_than_s=3600, now=now + 2 * 3600,
                                    among=mine.__contains__)
            assert later.prefixes == {live, undated}
            wait_until(lambda: _left_of(clients, mine) == {"topics": [], "groups": [], "acls": [],
                                                          "subjects": []}, 30, "all swept")
        finally:
            delete_prefixes(clients, mine)
