"""Schemathesis against a live ``hub serve`` (a child process on the real stack, as an operator
starts it): every phase — the documented examples, coverage of each schema's edges, random
fuzzing, and stateful sequences along the document's links (publish → case → subject) — with
every check, as a department system's developer would try a generated client. It must find no
failure: no server error, no status or body the document does not describe.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.ingest.server import IngestServer
from hub.domain.departments import Department
from tests.integration.flow_helpers import fresh_settings

PHASES = "examples,coverage,fuzzing,stateful"
CONFIG = Path(__file__).with_name("schemathesis.toml")  # which check is off where, and why


@pytest.fixture(scope="module")
def served(endpoints, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("openapi-fuzz")
    server = IngestServer(fresh_settings(endpoints), workdir)
    token = server.issue_tokens([Department.CIVIL_AFFAIRS])[Department.CIVIL_AFFAIRS]
    with server:
        yield server, token


def _schemathesis(base_url: str, token: str, workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    argv = [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG),
            "run", f"{base_url}/openapi.json",  # every check (Schemathesis' default), as configured
            "--phases", PHASES, "--max-examples", "30", "--seed", "20261204",
            "-H", f"Authorization: Bearer {token}", "--workers", "1", "--request-timeout", "30",
            "--report", "junit", "--report-dir", str(workdir), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=1500)


def test_a_generated_client_finds_no_failure(served):
    server, token = served
    run = _schemathesis(server.base_url, token, server.workdir, "--exclude-path", "/metrics")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    print(run.stdout[-2500:])  # the summary, in the test's output
    for phase in ("Coverage", "Fuzzing", "Stateful"):  # each phase ran and passed, none skipped
        assert f"✅ {phase}" in run.stdout, run.stdout[-3000:]
