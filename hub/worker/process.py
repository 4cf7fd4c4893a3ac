"""Run `hub worker` as a child process (demo, tests, kill -9 drills)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from hub.config import HubSettings
from hub.errors import HubError


def settings_env(settings: HubSettings) -> dict[str, str]:
    """The environment that makes a child process see ``settings`` — every field, the principal
    and its credentials file included (a child never falls back to another principal)."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        key = f"HUB_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


class WorkerProcess:
    """``with WorkerProcess(settings) as worker:`` — the router runs until the block ends."""

    def __init__(self, settings: HubSettings, log_file: Path | None = None, loglevel: str = "warning",
                 metrics_port: int | None = None):
        self.settings, self.loglevel, self.metrics_port = settings, loglevel, metrics_port
        self.log_file = log_file or Path(settings.state_dir) / "logs" / f"worker-{settings.topic_prefix}.log"
        self._proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "worker", "--loglevel", self.loglevel,
                 *(["--metrics-port", str(self.metrics_port)] if self.metrics_port else [])],
                env=settings_env(self.settings), stdout=log, stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final commit — the crash the design must survive."""
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=30)

    def stop(self, timeout_s: float = 30.0) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()

    def check_alive(self) -> None:
        """Raise with the end of the worker's log if the worker has exited."""
        if self._proc is not None and self._proc.poll() is not None:
            tail = self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            raise HubError(f"the router exited with code {self._proc.returncode}; "
                           f"last lines of {self.log_file}:\n" + "\n".join(tail))

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> "WorkerProcess":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
