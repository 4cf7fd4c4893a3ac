"""``hub serve`` as a child process on a free loopback port, for one run's prefix.

It is started as an operator starts it (``python -m hub.cli serve --port P``), with the run's
settings in the ``HUB_*`` environment (the principal included: the operator, as everywhere in
the benchmarks, since a fresh prefix has no ACLs for the gateway principal) and a tokens file of
its own in the run's work directory. Its output (uvicorn's access log) goes to a log file there.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import httpx

from hub.api.local_server import free_port
from hub.api.tokens import issue_token
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.errors import HubError
from hub.worker.process import settings_env

TOKEN_LIFETIME = timedelta(hours=6)  # longer than any run; the tokens file goes with the run


class IngestServer:
    """``with IngestServer(settings, workdir) as server:`` serves until the block ends.

    Issue tokens (:meth:`issue_tokens`) before entering: the server reads the file as it starts
    (and again whenever it changes).
    """

    def __init__(self, settings: HubSettings, workdir: Path, start_timeout_s: float = 90.0):
        self.workdir = workdir
        self.tokens_file = workdir / "tokens.json"
        self.log_file = workdir / "serve.log"
        self.settings = settings.model_copy(update={"tokens_file": self.tokens_file})
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen | None = None
        self.ready_s: float | None = None  # from start to the first 200 on /healthz

    def issue_tokens(self, departments: Iterable[Department] = tuple(Department)) -> dict[Department, str]:
        """One department token per department, in this server's tokens file."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        return {d: issue_token(self.tokens_file, d, label="ingest benchmark", expires_in=TOKEN_LIFETIME)
                for d in departments}

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> "IngestServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "hub.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(argv, env=settings_env(self.settings), stdout=log,
                                          stderr=subprocess.STDOUT)
        return self

    def wait_ready(self) -> float:
        """Wait until ``/healthz`` answers 200; returns the seconds it took. Raises with the end
        of the server's log if it exits or does not answer within ``start_timeout_s``."""
        started = time.monotonic()
        with httpx.Client(base_url=self.base_url, timeout=2, trust_env=False) as http:
            while True:
                if self._proc is None or self._proc.poll() is not None:
                    raise HubError(f"hub serve exited before answering; {self.log_tail()}")
                try:
                    if http.get("/healthz").status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                if time.monotonic() - started > self.start_timeout_s:
                    raise HubError(f"hub serve did not answer on port {self.port} within "
                                   f"{self.start_timeout_s:g}s; {self.log_tail()}")
                time.sleep(0.1)

    def log_tail(self, lines: int = 15) -> str:
        try:
            tail = self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        except OSError:
            return f"no log at {self.log_file}"
        return f"last lines of {self.log_file}:\n" + "\n".join(tail)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM (uvicorn shuts down gracefully), SIGKILL after ``timeout_s``; the exit code."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=timeout_s)
        return self._proc.returncode

    def __enter__(self) -> "IngestServer":
        self.start()
        try:
            self.ready_s = self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
