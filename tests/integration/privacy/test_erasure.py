"""Erasing a person on the real stack (issue 13, point 4): `hub erase` as an operator runs it.

Two enterprises are registered, each with its own legal representative, and a marriage; the
router, the six reference agencies and the auditor run. Then:

- a bad request and a request the law refuses (a spouse: marriage files are kept permanently)
  are refused, naming the argument or the registration type and the law, and write nothing;
- the first legal representative is erased: every department that received the enterprise's
  items gets an ERASURE item and the reference agencies erase their rows; the hub's own master
  key no longer opens the person's fields on the event topic; the facts (the live projection and
  one rebuilt from the log), a replay to a file and the timeline show them as erased; the audit
  chain verifies; the other enterprise's representative is untouched everywhere.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from hub.audit.auditor import Auditor
from hub.demo.back_office import wait_for_cases
from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import EventType
from hub.domain.erasure import is_erasure
from hub.domain.personal_data import ERASED
from hub.kafka.clients import Clients
from hub.kafka.key_feed import FieldsUnopened, KeyFeed
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.projections.facts import FactsProjection
from hub.wire.serde import event_decoders
from producers.demo_data import generate
from tests.integration.audited_flow import FLOW_TIMEOUT_S, hub_env
from tests.integration.flow_helpers import (
    Departments, back_office, enterprise, inbox_items, open_agencies, read_all, read_topics, wait_until)

BASIS = "PIPL art. 47(1): the purpose of processing is achieved"
REP = "payload.legal_representative.name"


def _hub(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def _ends(settings) -> dict[str, int]:
    """How many records each topic an erasure writes holds now."""
    names = TopicNames(settings.topic_prefix)
    topics = [names.subject_keys, names.audit_intake, *names.all_inboxes()]
    counts = dict.fromkeys(topics, 0)
    for record in read_topics(settings, topics):
        counts[record.topic] += 1
    return counts


def _facts_of(projection: FactsProjection, uscc: str) -> list[dict]:
    projection.catch_up()
    return [f.values for f in projection.facts_for(uscc)]


@pytest.mark.timeout(900)
def test_an_erased_person_reads_erased_everywhere_and_the_departments_are_told(settings, tmp_path):
    rng = random.Random(4747)
    erased_one, kept_one = enterprise(rng, foreign=True), enterprise(rng, foreign=False)
    marriage = generate(EventType.MARRIAGE_REGISTERED, rng)
    person = erased_one["payload"]["legal_representative"]
    spouse = marriage["payload"]["spouse_a"]["id_number"]
    env = {**os.environ, **hub_env(settings, tmp_path / "operator"), "COLUMNS": "400"}
    start = datetime.now(timezone.utc) - timedelta(minutes=1)
    cases = CaseProjection(Clients(settings), tmp_path / "cases.sqlite")
    live_facts = FactsProjection(Clients(settings), tmp_path / "facts-live.sqlite")
    auditor = Auditor(Clients(settings), anchor_every_s=3600)
    try:
        with auditor.running():
            with back_office(settings, tmp_path), Departments(settings) as departments:
                receipts = [departments.publish(EventType.ENTERPRISE_REGISTERED, erased_one),
                            departments.publish(EventType.ENTERPRISE_REGISTERED, kept_one),
                            departments.publish(EventType.MARRIAGE_REGISTERED, marriage)]
                wait_for_cases(cases, [r.case_id for r in receipts], FLOW_TIMEOUT_S)
                [before] = _facts_of(live_facts, erased_one["payload"]["uscc"])
                assert before[REP] == person["name"]

                ends = _ends(settings)
                bad = _hub(env, "erase", "12345", "--basis", f"asked by {person['id_number']}")
                held = _hub(env, "erase", spouse, "--basis", BASIS)
                dry = _hub(env, "erase", person["id_number"], "--basis", BASIS, "--dry-run", "--json")
                assert _ends(settings) == ends  # refused, or a dry run: nothing written

                erased = _hub(env, "erase", person["id_number"], "--basis", BASIS, "--json")
                assert erased.returncode == 0, erased.stderr
                result = json.loads(erased.stdout)
                erasures = wait_until(lambda: _erasures_done(settings, tmp_path, result["items_sent"]), 120,
                                      "the agencies to answer every ERASURE item")
            auditor.wait_idle(60)
    finally:
        cases.close()

    assert bad.returncode == 2
    assert "SUBJECT_ID: must be an identity number" in bad.stderr and "--basis: must not contain" in bad.stderr
    assert person["id_number"] not in bad.stdout + bad.stderr
    assert held.returncode == 1
    assert dry.returncode == 0 and json.loads(dry.stdout) == {**result, "dry_run": True}
    assert "marriage_registered" in held.stderr and "kept permanently" in held.stderr

    # Every department that received the enterprise's items was told, once per item.
    sent = {w.item_id: w for items in inbox_items(settings).values() for _, w in items
            if w.case_id == receipts[0].case_id and not is_erasure(w)}
    assert result["keys_erased"] == 1 and result["items_sent"] == len(sent) == len(erasures)
    assert {e.refers_to_item_id for e in erasures} == set(sent)
    assert sorted(result["departments"]) == sorted({w.department.value for w in sent.values()})
    with open_agencies(tmp_path) as agencies:
        for item_id, item in sent.items():
            row = agencies[item.department].get(item_id)
            assert (row.status, row.data, row.subject) == ("ANNULLED", {}, "erased")
        kept_rows = [r for a in agencies.values() for r in a.rows() if r.case_id == receipts[1].case_id]
        assert kept_rows and all(r.status == "ACTIVE" and r.data for r in kept_rows)

    # Even the hub's master key no longer opens the person's fields; the other person's open.
    names = TopicNames(settings.topic_prefix)
    [topic] = names.topics_of(CATALOGUE[EventType.ENTERPRISE_REGISTERED])
    feed = KeyFeed(Clients(settings))
    decode = event_decoders(Clients(settings).registry, feed.reveal)[EventType.ENTERPRISE_REGISTERED]
    records = {r.key.decode(): r for r in read_all(settings, topic)}
    with pytest.raises(FieldsUnopened, match="legal_representative"):
        decode(records[erased_one["payload"]["uscc"]].value, topic)
    other = decode(records[kept_one["payload"]["uscc"]].value, topic)
    assert other.payload.legal_representative.name == kept_one["payload"]["legal_representative"]["name"]
    assert person["name"].encode() not in records[erased_one["payload"]["uscc"]].value
    feed.close()

    # The facts: the live projection forgets as one rebuilt from the log does.
    [live] = _facts_of(live_facts, erased_one["payload"]["uscc"])
    rebuilt_facts = FactsProjection(Clients(settings), tmp_path / "facts-rebuilt.sqlite")
    [rebuilt] = _facts_of(rebuilt_facts, erased_one["payload"]["uscc"])
    assert live[REP] == rebuilt[REP] == ERASED
    assert live["payload.legal_representative.id_number"] == ERASED
    assert live["payload.enterprise_name"] == erased_one["payload"]["enterprise_name"]  # the organisation's
    assert [f[REP] for f in _facts_of(rebuilt_facts, kept_one["payload"]["uscc"])] == [
        kept_one["payload"]["legal_representative"]["name"]]
    # A rebuild in place keeps the index of sealed fields whole; a file from before it is told.
    assert rebuilt_facts.rebuild() > 0 and rebuilt_facts.sealed_index_complete()
    assert [f[REP] for f in _facts_of(rebuilt_facts, erased_one["payload"]["uscc"])] == [ERASED]
    live_facts.connection().execute("DELETE FROM projection_meta WHERE key = 'sealed_indexed'")
    live_facts.close()
    rebuilt_facts.close()
    older = FactsProjection(Clients(settings), tmp_path / "facts-live.sqlite")
    assert not older.sealed_index_complete()
    older.close()

    # A replay sends the person's fields as erased, never the old values.
    replayed_file = tmp_path / "replayed.jsonl"
    replay = _hub(env, "replay", "--from", start.isoformat(),
                  "--to", (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat(),
                  "--event-type", "enterprise_registered", "--to-file", str(replayed_file))
    assert replay.returncode == 0, replay.stderr
    replayed = [json.loads(line) for line in replayed_file.read_text().splitlines()]
    reps = {i["case_id"]: i["data"].get(REP) for i in replayed if REP in i["data"]}
    assert reps[receipts[0].case_id] == ERASED
    assert reps[receipts[1].case_id] == kept_one["payload"]["legal_representative"]["name"]
    assert person["name"] not in replayed_file.read_text()

    # The timeline names the erasure; the chain verifies.
    timeline = _hub(env, "audit", "subject", person["id_number"], "--json")
    assert timeline.returncode == 0, timeline.stderr
    [noted] = json.loads(timeline.stdout)["erasures"]
    assert (noted["keys_erased"], noted["items_sent"], noted["basis"]) == (1, len(sent), BASIS)
    verified = _hub(env, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _erasures_done(settings, base_dir, expected: int):
    """The ERASURE items once each has been answered by its agency, else None."""
    erasures = [w for items in inbox_items(settings).values() for _, w in items if is_erasure(w)]
    if len(erasures) < expected:
        return None
    with open_agencies(base_dir) as agencies:
        if any(agencies[e.department].get(e.item_id) is None for e in erasures):
            return None
    return erasures
