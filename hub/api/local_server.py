"""Run the ingest app on a loopback port in a background thread (demo and tests).

Production runs ``hub serve`` under uvicorn directly; this is for a process that needs a real
HTTP endpoint for a while, such as the demo publishing over HTTP.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from hub.errors import HubError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalServer:
    """``with LocalServer(app) as base_url: ...`` serves ``app`` until the block ends."""

    def __init__(self, app: FastAPI, start_timeout_s: float = 15.0):
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._start_timeout_s = start_timeout_s

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise HubError(f"ingest server on port {self.port} did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc_info) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
