"""`hub replay` options and exit codes, and the audit guarantee, with Kafka stood in for."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from kafka.errors import KafkaTimeoutError
from typer.testing import CliRunner

import hub.replay.run as replay_mod
from hub.cli.app import app
from hub.config import HubSettings
from hub.domain.common import CHINA_TZ
from hub.domain.envelope import EventType
from hub.domain.replay import ReplayRequest, ReplayWindow
from hub.errors import Unavailable
from hub.domain.replay import ReplayedItem
from hub.kafka.clients import Clients
from hub.memory import InMemoryAuditNotes
from hub.replay.run import ReplayNotAudited, ReplayUnavailable, run_replay
from tests.unit.replay.test_replay import START, WINDOW, _routed

OK = ["--from", "2026-11-02", "--to", "2026-11-03"]


def _run(*args: str):
    return CliRunner().invoke(app, ["replay", *args])


@pytest.mark.parametrize("args,option,rule", [
    (["--from", "yesterday", "--to", "2026-11-03", "--to-inbox"], "--from", "ISO 8601"),
    (["--from", "2026-11-02", "--to", "2026-13-01", "--to-inbox"], "--to", "ISO 8601"),
    (["--from", "2026-11-03", "--to", "2026-11-02", "--to-inbox"], "--to", "must be after --from"),
    (["--from", "2026-11-02T08:00", "--to", "2026-11-02T00:00:00Z", "--to-inbox"], "--to",
     "must be after --from"),  # the same instant: 08:00 China time is 00:00 UTC
    ([*OK], "--to-inbox / --to-file", "exactly one"),
    ([*OK, "--to-inbox", "--to-file", "x.jsonl"], "--to-inbox / --to-file", "exactly one"),
    ([*OK, "--to-file", "/no/such/dir/x.jsonl"], "--to-file", "existing directory"),
    ([*OK, "--to-inbox", "--event-type", "wedding"], "--event-type", "unknown event type"),
    ([*OK, "--to-inbox", "--department", "FINANCE"], "--department", "unknown department"),
    ([*OK, "--to-inbox", "--subject", "  "], "--subject", "must not be empty"),
    ([*OK, "--to-inbox", "--context-from", "2026-11-02T00:00:01"], "--context-from",
     "must not be after --from"),
], ids=["bad-from", "bad-to", "reversed", "same-instant", "no-target", "two-targets", "no-dir",
        "event-type", "department", "empty-subject", "context-after-window"])
def test_invalid_options_exit_2_naming_the_option_and_the_rule(args, option, rule):
    result = _run(*args)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())  # rich wraps the error box
    assert option in text and rule in text


@pytest.fixture
def fake_kafka(monkeypatch):
    """run_replay with the reading replaced (it "finds" two items) and the intake recorded."""
    notes, failing = [], {}
    items = _routed(EventType.MARRIAGE_REGISTERED)

    def fake_replay(settings, request, summary, sink, progress):
        if "replay" in failing:
            raise failing["replay"]
        for item in items:
            sink.emit(ReplayedItem(item, f"x.inbox.{item.department.value.lower()}", b"k"))
        summary.read = summary.matched = 1
        summary.emitted = len(items)
        sink.finish()

    real_post = replay_mod.post_note

    def post(audit, summary, who, now=None, **more):
        audit = InMemoryAuditNotes()  # as the Kafka intake behaves, without a broker
        if "note" in failing:
            audit.refuse(failing["note"])
        real_post(audit, summary, who, now, **more)
        notes.append((summary.status, summary.error, summary.emitted, who))

    monkeypatch.setattr(replay_mod, "_replay", fake_replay)
    monkeypatch.setattr(replay_mod, "post_note", post)
    return notes, failing, items


def test_a_file_is_put_in_place_only_once_the_replay_is_audited(fake_kafka, tmp_path):
    notes, failing, items = fake_kafka
    target = tmp_path / "out.jsonl"
    summary = run_replay(Clients(HubSettings()), ReplayRequest(WINDOW, to_file=target), requested_by="ops")
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [line["item_id"] for line in lines] == [i.item_id for i in items]
    assert {line["replay_id"] for line in lines} == {summary.replay_id}
    assert lines[0]["data"] == items[0].model_dump(mode="json")["data"]
    assert notes == [("completed", None, len(items), "ops")] and summary.audited

    failing["note"] = Unavailable("audit intake: KafkaConnectionError")
    again = tmp_path / "again.jsonl"
    with pytest.raises(ReplayNotAudited, match="NOT audited.*no file was written"):
        run_replay(Clients(HubSettings()), ReplayRequest(WINDOW, to_file=again))
    assert list(tmp_path.iterdir()) == [target]  # no file, no temporary left behind


def test_a_failed_replay_is_audited_as_failed_and_writes_no_file(fake_kafka, tmp_path):
    notes, failing, _ = fake_kafka
    failing["replay"] = KafkaTimeoutError("broker gone")
    with pytest.raises(ReplayUnavailable, match="broker gone"):
        run_replay(Clients(HubSettings(bootstrap_servers="broker-a:9092")),
                   ReplayRequest(WINDOW, to_file=tmp_path / "out.jsonl"))
    assert [n[:2] for n in notes] == [("failed", "ReplayUnavailable: Kafka at broker-a:9092 "
                                                 "unavailable: KafkaTimeoutError: broker gone")]
    assert list(tmp_path.iterdir()) == []


def test_the_cli_prints_the_summary_and_exits_non_zero_when_not_audited(fake_kafka, tmp_path):
    notes, failing, items = fake_kafka
    out = tmp_path / "out.jsonl"
    result = _run(*OK, "--to-file", str(out), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout[result.stdout.index("{"):])
    assert (body["read"], body["matched"], body["emitted"], body["audited"]) == (1, 1, len(items), True)
    assert body["window"]["from"] == START.isoformat()

    failing["note"] = Unavailable("audit intake: KafkaConnectionError")
    result = _run(*OK, "--to-file", str(tmp_path / "b.jsonl"))
    assert result.exit_code == 3 and "NOT audited" in result.output
    failing["note"] = PermissionError("intake refused")
    result = _run(*OK, "--dry-run", "--to-inbox")
    assert result.exit_code == 1 and "NOT audited (nothing was written)" in result.output


def test_a_naive_time_is_china_time():
    from hub.cli.replay import replay_request

    request = replay_request("2026-11-02T09:30", "2026-11-03", None, None, None, True, None, False, None)
    assert request.window.start == START + timedelta(hours=9, minutes=30)
    assert request.window.start.utcoffset() == CHINA_TZ.utcoffset(None)
    assert request.window == ReplayWindow(START + timedelta(hours=9, minutes=30),
                                          START + timedelta(days=1))
