"""Nothing personal in any log, error or output (issue 13, point 1), on the real stack.

The hub's processes run as operators run them — `hub worker`, `hub serve --verbose` (uvicorn's
access log on), `hub agencies run` — each writing its log to a file, and the flows a
data-protection reviewer would try go through them: good and bad submissions over HTTP and the
CLI, a record the router must dead-letter whose validation error would quote an identity number
and a name, listing and re-driving dead letters, a replay by subject, refused and unauthenticated
shared-data queries, a timeline read whose URL carries the identity number, erasure requests
refused for their basis and for a legal hold. Every log line and
every output or HTTP error body is then searched for every identity number, certificate number,
credit code and name the test used: none may appear. (Successful answers to an entitled caller
carry data by design and are not searched.)
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from hub.api.local_server import free_port
from hub.api.tokens import Role, issue, issue_token
from hub.demo.back_office import wait_for_cases
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.identifiers import mask_id
from hub.domain.sealing import seal
from hub.projections.cases import CaseProjection
from hub.wire.serde import event_serializer
from hub.worker.process import WorkerProcess
from producers.demo_data import generate
from tests.integration.audited_flow import hub_env
from tests.integration.flow_helpers import dead_letters, identifiers_of, wait_until

MARRIAGE = CATALOGUE[EventType.MARRIAGE_REGISTERED]
BIRTH = CATALOGUE[EventType.BIRTH_CERTIFIED]
POISON_NAME = "测试毒丸"  # a synthetic name no pattern can recognise: only the sources keep it out


def personal_values(payload) -> set[str]:
    """Identity, certificate and credit-code numbers and names anywhere in a payload."""
    found = set(identifiers_of(payload))
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "name" and isinstance(value, str):
                found.add(value)
            elif isinstance(value, dict | list):
                found |= personal_values(value)
    elif isinstance(payload, list):
        for value in payload:
            found |= personal_values(value)
    return found


class Processes:
    """The hub's long-running processes for one prefix, each logging to its own file."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs, self._procs = env, logs, []
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            self._procs.append(subprocess.Popen([sys.executable, "-m", "hub.cli", "--verbose", *args],
                                                env=self.env, stdout=log, stderr=subprocess.STDOUT))

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "hub.cli", "--verbose", *args], env=self.env,
                              input=stdin, capture_output=True, text=True, timeout=120)
        # What the command printed (not the command line: that is what the operator typed).
        (self.logs / f"cli-{args[0]}-{len(list(self.logs.glob('cli-*')))}.log").write_text(
            f"{done.stdout}\n{done.stderr}\n(exit {done.returncode})\n")
        return done

    def stop(self) -> None:
        for proc in self._procs:
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _poison(settings, clients, rng) -> tuple[bytes, set[str]]:
    """A marriage whose bytes fit the schema but whose spouse's identity number breaks its check
    character: the router's validation error would quote the number and the name."""
    event = seal(MARRIAGE, MARRIAGE.owner, generate(EventType.MARRIAGE_REGISTERED, rng))
    spouse = event.payload.spouse_a
    number = spouse.id_number[:17] + ("0" if spouse.id_number[-1] != "0" else "1")
    broken = spouse.model_copy(update={"id_number": number, "name": POISON_NAME})
    bad = event.model_copy(update={"payload": event.payload.model_copy(update={"spouse_a": broken})})
    topic = MARRIAGE.topic(settings.topic_prefix)
    value = event_serializer(clients.registry, MARRIAGE)(bad, topic)
    return value, personal_values(bad.model_dump(mode="json")["payload"]) | {number}


def test_no_log_line_error_or_output_carries_personal_data(settings, clients, tmp_path):
    rng = random.Random(1313)
    state = tmp_path / "state"
    env = {**os.environ, **hub_env(settings, state), "COLUMNS": "400"}  # CLI error boxes unwrapped
    hub = Processes(env, tmp_path / "logs")
    tokens_file = state / "tokens.json"
    state.mkdir(parents=True)
    tokens = {d: issue_token(tokens_file, d, label="privacy test")
              for d in (MARRIAGE.owner, BIRTH.owner, Department.HEALTH)}
    operator = issue(tokens_file, Role.OPERATOR, None, "privacy test")[0]
    good = [generate(EventType.MARRIAGE_REGISTERED, rng), generate(EventType.BIRTH_CERTIFIED, rng)]
    bad = generate(EventType.MARRIAGE_REGISTERED, rng)
    bad["payload"]["spouse_b"]["name"] = "测试错误"
    bad["payload"]["spouse_b"]["id_number"] = bad["payload"]["spouse_b"]["id_number"][:17] + "Z"
    poison, poison_values = _poison(settings, clients, rng)
    secrets = poison_values | {v for body in (*good, bad) for v in personal_values(body["payload"])}
    subject = good[0]["payload"]["spouse_a"]["id_number"]
    error_bodies: list[str] = []
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    projection = CaseProjection(clients, tmp_path / "cases.sqlite")

    with ExitStack() as stack:
        stack.callback(projection.close)
        stack.enter_context(WorkerProcess(settings, log_file=hub.logs / "worker.log", loglevel="info"))
        hub.start("serve", "serve", "--port", str(port))
        hub.start("agencies", "agencies", "run", "--dir", str(tmp_path / "agencies"))
        stack.callback(hub.stop)
        http = stack.enter_context(httpx.Client(base_url=base, timeout=30))
        wait_until(lambda: _healthy(http), 60, "hub serve answering")

        def post(event_type, body, department):
            return http.post(f"/v1/events/{event_type.value}", json=body,
                             headers={"Authorization": f"Bearer {tokens[department]}"})

        receipts = []
        for event_type, body in zip((EventType.MARRIAGE_REGISTERED, EventType.BIRTH_CERTIFIED), good,
                                    strict=True):
            answer = post(event_type, body, CATALOGUE[event_type].owner)
            assert answer.status_code == 202, answer.text
            receipts.append(answer.json())
        refused = post(EventType.MARRIAGE_REGISTERED, bad, MARRIAGE.owner)
        assert refused.status_code == 422 and "payload.spouse_b.id_number" in refused.text
        not_owner = post(EventType.MARRIAGE_REGISTERED, bad, BIRTH.owner)
        assert not_owner.status_code in (400, 403, 422)
        unauthenticated = http.get(f"/v1/subjects/{subject}/facts")
        assert unauthenticated.status_code == 401
        ungranted = http.get(f"/v1/subjects/{subject}/facts",
                             headers={"Authorization": f"Bearer {tokens[Department.HEALTH]}"})
        assert ungranted.status_code in (403, 404)
        timeline = http.get(f"/v1/audit/subjects/{subject}", headers={"Authorization": f"Bearer {operator}"})
        assert timeline.status_code == 200, timeline.text
        error_bodies += [r.text for r in (refused, not_owner, unauthenticated, ungranted)]

        producer = clients.producer()
        producer.send(MARRIAGE.topic(settings.topic_prefix), key=b"poison", value=poison).get(timeout=30)
        producer.close()
        wait_for_cases(projection, [r["case_id"] for r in receipts], 120)
        [letter] = wait_until(lambda: dead_letters(settings) or None, 60, "the poison dead-lettered")
        assert "payload.spouse_a.id_number" in letter.reason  # the field and rule, not the value

        listed = hub.run("dlq", "list")
        assert listed.returncode == 0 and letter.dead_letter_id in listed.stdout
        assert hub.run("dlq", "list", "--json").returncode == 0
        assert hub.run("dlq", "redrive", letter.dead_letter_id).returncode == 0
        wait_until(lambda: len(dead_letters(settings)) >= 2 or None, 60, "the redriven poison parked again")
        now = datetime.now(timezone.utc)
        replayed = hub.run("replay", "--from", (now - timedelta(hours=1)).isoformat(),
                           "--to", (now + timedelta(minutes=1)).isoformat(), "--dry-run",
                           "--to-file", str(tmp_path / "replayed.jsonl"),
                           "--subject", subject, "--json")
        assert replayed.returncode == 0, replayed.stderr
        assert json.loads(replayed.stdout)["matched"] >= 1
        bad_file = tmp_path / "bad.json"
        bad_file.write_text(json.dumps(bad, ensure_ascii=False))
        cli_refused = hub.run("publish", "marriage_registered", "--department",
                              MARRIAGE.owner.value, "--file", str(bad_file))
        assert cli_refused.returncode == 2 and "payload.spouse_b.id_number" in cli_refused.stderr
        erase_refused = hub.run("erase", subject, "--basis", f"asked for by {subject}")
        assert erase_refused.returncode == 2 and "--basis: must not contain an identifier" in erase_refused.stderr
        erase_held = hub.run("erase", subject, "--basis", "PIPL art. 47(1): purpose achieved")
        assert erase_held.returncode == 1 and "kept permanently" in erase_held.stderr

    texts = {path.name: path.read_text(errors="replace") for path in sorted(hub.logs.iterdir())}
    texts |= {f"http error body {i}": body for i, body in enumerate(error_bodies)}
    leaks = {name: sorted(s for s in secrets if s in text) for name, text in texts.items()}
    assert {name: found for name, found in leaks.items() if found} == {}
    # The capture saw what it had to: the access log's line for the timeline, masked.
    assert f"/v1/audit/subjects/{mask_id(subject)}" in texts["serve.log"]
    assert "parking" in texts["worker.log"]


def _healthy(http: httpx.Client) -> bool | None:
    try:
        return http.get("/healthz").status_code == 200 or None
    except httpx.TransportError:
        return None
