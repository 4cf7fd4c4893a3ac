"""One fault drill: a fresh prefix on the drill stack, two routers, the reference agencies (the
victim agency in a process of its own), a steady load, one fault in the middle of it, and then
the figures: items lost, rows doubled, cases not completed, time until the flow resumed, and
publishes refused (each with its error; none written later)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from consumers.reference_agencies import reference_agencies
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.domain.outcomes import OutcomeStatus
from hub.kafka.clients import Clients
from hub.kafka.log_reader import read_from_start
from hub.kafka.topic_names import TopicNames
from hub.schema_registry.provisioning import provision_catalogue
from hub.worker.process import WorkerProcess, settings_env
from tests.faults.drill_stack import DrillStack
from tests.faults.load import Load
from tests.faults.proxy import DelayProxy
from tests.faults.watch import FlowWatch
from tests.integration.flow_helpers import expected_items

VICTIM = Department.TAX  # the agency taken down: it has items from most event types
EVENTS = 2_000
RATE = 25.0  # events per second: the load lasts 80 s
FAULT_AT_S = 15.0  # into the load
SETTLE_S = 240.0  # after the load, for every item to be registered


@dataclass
class Figures:
    fault: str
    stack: str
    run: int
    published: int = 0
    refused: int = 0
    refused_reasons: list[str] = field(default_factory=list)
    refused_written_later: int = 0
    unknown: int = 0  # sent, not acknowledged: published again with the same event id
    unknown_settled: int = 0  # of those, acknowledged when published again
    items_expected: int = 0
    items_lost: int = 0
    rows_doubled: int = 0
    cases_open: int = 0
    dead_letters: int = 0
    fault_s: float = 0.0  # how long the fault lasted
    resume_s: float | None = None  # fault end -> first item completed after it
    backlog_cleared_s: float | None = None  # fault end -> last item of events sent before it completed
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


class AgencyProcess:
    """``hub agencies run`` for some departments, as a child process (killable with -9)."""

    def __init__(self, settings: HubSettings, base_dir: Path, departments: list[Department], log: Path):
        self.cmd = [sys.executable, "-m", "hub.cli", "agencies", "run", "--dir", str(base_dir),
                    *[a for d in departments for a in ("--department", d.value)]]
        self.env, self.log = settings_env(settings), log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class Drill:
    def __init__(self, stack: DrillStack, proxy: DelayProxy, fault: str, run: int, work_dir: Path):
        self.stack, self.proxy, self.fault = stack, proxy, fault
        self.settings = stack.settings.model_copy(update={
            "bootstrap_servers": stack.bootstrap_servers,
            "schema_registry_url": f"http://127.0.0.1:{proxy.port}/apis/ccompat/v7",
            "topic_prefix": f"drill{uuid.uuid4().hex[:8]}",
            "topic_partitions": 6,
        })
        self.figures = Figures(fault, f"{stack.nodes}-node", run)
        self.dir = work_dir / f"{fault}-{run}"
        self.dir.mkdir(parents=True, exist_ok=True)
        agencies = self.dir / "agencies"
        others = [d for d in reference_agencies_departments() if d is not VICTIM]
        self.routers = [WorkerProcess(self.settings, log_file=self.dir / f"router-{n}.log") for n in range(2)]
        self.victim = AgencyProcess(self.settings, agencies, [VICTIM], self.dir / "agency-victim.log")
        self.others = AgencyProcess(self.settings, agencies, others, self.dir / "agencies.log")

    # -- the faults: each returns (monotonic time the fault ended, note) -----------------------

    def _inject(self) -> tuple[float, str]:
        if self.fault == "router_kill":
            self.routers[0].kill()
            ended = time.monotonic()  # nothing to repair: the survivor must take over by itself
            time.sleep(15)
            self.routers[0].start()  # as a supervisor would, later
            return ended, "router 1 of 2 killed; restarted 15 s later"
        if self.fault == "broker_kill":
            node = self.stack.kafka_node(2 if self.stack.nodes == 3 else 1)
            self.stack.kill(node)
            time.sleep(20)
            took = self.stack.restart()
            return time.monotonic(), f"{node} killed, restarted after 20 s (answering {took:.0f} s later)"
        if self.fault == "registry_restart":
            self.stack.kill("registry")
            took = self.stack.restart()
            return time.monotonic(), f"registry killed and started again (answering after {took:.0f} s)"
        if self.fault == "agency_down":
            self.victim.kill()
            time.sleep(60)
            self.victim.start()
            return time.monotonic(), f"{VICTIM.value} agency killed, started again 60 s later"
        if self.fault == "slow_registry":
            self.proxy.delay_s = 12.0
            time.sleep(30)
            self.proxy.delay_s = 0.0
            return time.monotonic(), "every registry answer held back 12 s, for 30 s"
        raise ValueError(f"unknown fault {self.fault}")

    def run(self) -> Figures:
        f = self.figures
        with Clients(self.settings) as clients:
            provision_catalogue(clients)
        for router in self.routers:
            router.start()
        self.others.start()
        self.victim.start()
        watch = FlowWatch(self.settings).start()
        load = Load(self.settings, EVENTS, RATE, seed=hash((self.fault, f.run)) & 0xFFFF)
        try:
            time.sleep(8)  # routers and agencies join their groups
            load.start()
            time.sleep(FAULT_AT_S)
            began = time.monotonic()
            ended, note = self._inject()
            f.fault_s, f.notes = round(ended - began, 1), [note]
            load.join(timeout=900)
            expected = [e for p in load.accepted
                        for e in expected_items(p.event_type, p.receipt or p.retry_receipt, p.submission["payload"])]
            self._settle(expected)
        finally:
            load.stop()
            watch.stop()
            for router in self.routers:
                router.stop(timeout_s=20)
            self.victim.stop()
            self.others.stop()
        self._figures(load, expected, watch, ended)
        return f

    def _settle(self, expected) -> None:
        want = Counter(e.department for e in expected)
        deadline = time.monotonic() + SETTLE_S
        agencies = reference_agencies(self.dir / "agencies")
        try:
            while time.monotonic() < deadline:
                if all(agencies[d].count() >= n for d, n in want.items()):
                    return
                time.sleep(1)
        finally:
            for agency in agencies.values():
                agency.close()

    def _figures(self, load: Load, expected, watch: FlowWatch, fault_ended: float) -> None:
        f = self.figures
        f.published, f.refused = len(load.accepted), len(load.refused)
        f.unknown = len(load.unknown)
        f.unknown_settled = sum(1 for p in load.unknown if p.retry_receipt is not None)
        f.refused_reasons = sorted(Counter(p.error.split(":")[0] + ": " + _first_words(p.error)
                                           for p in load.refused + load.unknown))
        refused_ids = {p.submission["event_id"] for p in load.refused}
        names = TopicNames(self.settings.topic_prefix)
        with Clients(self.settings) as clients:
            logged = {r.headers and dict(r.headers).get("oncehub.event_id", b"").decode()
                      for r in read_from_start(clients, names.all_events())}
            f.dead_letters = sum(1 for _ in read_from_start(clients, [names.dead_letters]))
        f.refused_written_later = len(refused_ids & logged)
        f.items_expected = len(expected)
        agencies = reference_agencies(self.dir / "agencies")
        try:
            rows = [r for a in agencies.values() for r in a.rows()]
        finally:
            for agency in agencies.values():
                agency.close()
        registered = Counter(r.item_id for r in rows)
        f.items_lost = len({e.item_id for e in expected} - set(registered))
        f.rows_doubled = sum(n - 1 for n in registered.values() if n > 1)
        decisions, outcomes = watch.decoded()
        final = {o.item_id for _, o in outcomes if o.status is OutcomeStatus.COMPLETED}
        cases: dict[str, set[str]] = {}
        for e in expected:
            cases.setdefault(e.case_id, set()).add(e.item_id)
        f.cases_open = sum(1 for items in cases.values() if not items <= final)
        flow = [(at, o) for at, o in outcomes if o.status is OutcomeStatus.COMPLETED
                and (self.fault != "agency_down" or o.department is VICTIM)]
        after = sorted(at for at, _ in flow if at >= fault_ended)
        f.resume_s = round(after[0] - fault_ended, 1) if after else None
        before = {p.submission["event_id"] for p in load.accepted if p.sent_at < fault_ended}
        done_at = [at for at, o in flow if o.event_id in before]
        f.backlog_cleared_s = round(max(done_at) - fault_ended, 1) if done_at else None


def reference_agencies_departments() -> list[Department]:
    from consumers.reference_agencies.roster import AGENCY_DEPARTMENTS
    return list(AGENCY_DEPARTMENTS)


def _first_words(error: str, words: int = 12) -> str:
    """The error's gist without identifiers: its first words after the type."""
    text = error.split(":", 1)[1] if ":" in error else error
    return " ".join(text.split()[:words])
