"""A TCP proxy in front of the schema registry that can be told to answer slowly.

The fault "a slow registry (answers after 12 s)" needs a registry that accepts connections and
requests as usual but holds each answer back; no registry setting does that, so every hub
process of a drill reaches the registry through this proxy, and the drill switches the delay on
and off. Each connection's first bytes from the registry are held back by the delay in force
when the request came in.
"""

from __future__ import annotations

import asyncio
import threading


class DelayProxy:
    """``with DelayProxy(target_port) as proxy:`` — listens on ``proxy.port`` (loopback)."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.delay_s = 0.0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="registry-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> "DelayProxy":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the registry proxy did not start")
        return self

    def __exit__(self, *exc_info) -> None:
        async def shut() -> None:
            self._server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shut(), self._loop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, client_reader, client_writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()  # the registry is down: so is the proxy, for this connection
            return

        async def requests() -> None:
            while data := await client_reader.read(65536):
                held = self.delay_s  # the delay in force when the request came in
                upstream_writer.write(data)
                await upstream_writer.drain()
                if held:
                    answers_due.append(asyncio.get_running_loop().time() + held)
            upstream_writer.close()

        async def answers() -> None:
            while data := await upstream_reader.read(65536):
                if answers_due:
                    wait = answers_due.pop(0) - asyncio.get_running_loop().time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                client_writer.write(data)
                await client_writer.drain()
            client_writer.close()

        answers_due: list[float] = []
        try:
            await asyncio.gather(requests(), answers())
        except (ConnectionError, OSError):
            pass
        finally:
            for writer in (client_writer, upstream_writer):
                try:
                    writer.close()
                except RuntimeError:  # the proxy is shutting down: its loop is closed
                    pass
