"""A minimal HTTP/1.1 keep-alive client on asyncio streams: the load generator's floor.

On two cores the load generator competes with the server it measures. httpx (pure Python,
httpcore's connection pool) spends several times the server's own CPU per request, so it would
measure itself; this client spends almost nothing: every request's bytes are built before the
clock starts, one connection per client is opened before it starts too, and an answer is read
as a status line, headers and a ``content-length`` body (what uvicorn sends for the hub's JSON
answers). Anything else (chunked bodies, a closed connection) is a failed request, and the
connection is opened again for the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from bench.ingest.inputs import Request
from hub.domain.departments import Department


class BadAnswer(Exception):
    """An answer this client does not read (no content-length, or not HTTP/1.1)."""


def request_bytes(req: Request, host: str, headers: Mapping[Department, Mapping[str, str]]) -> bytes:
    """The whole request on the wire: request line, headers, body."""
    lines = [f"POST {req.path} HTTP/1.1", f"host: {host}",
             *(f"{k}: {v}" for k, v in headers[req.department].items()),
             f"content-length: {len(req.body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + req.body


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """(status, content length, whether the server will close) from an answer's head."""
    if not head.startswith(b"HTTP/1.1 "):
        raise BadAnswer(f"not an HTTP/1.1 answer: {head[:40]!r}")
    status, length, close = int(head[9:12]), None, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            raise BadAnswer(f"transfer-encoding {value.strip().decode()!r} is not read here")
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    if length is None:
        raise BadAnswer("answer without content-length")
    return status, length, close


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request; (status, body) of its answer. On any error the connection is closed
        (the next send opens a new one) and the error raised."""
        if self._writer is None:
            await self.open()
        try:
            self._writer.write(raw)
            head = await self._reader.readuntil(b"\r\n\r\n")
            status, length, close = parse_head(head)
            body = await self._reader.readexactly(length)
        except BaseException:
            await self.close()
            raise
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self._writer is not None:
            writer, self._writer, self._reader = self._writer, None, None
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
