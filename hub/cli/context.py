"""The command's settings and clients: read from the environment once per command, here.

The root command opens one :class:`CommandContext` per invocation (:func:`open_for`);
commands call :func:`settings` and :func:`clients` instead of building Kafka or registry
clients, and the clients are closed when the command ends (also when the same process runs
several commands, as tests do, each sees its own environment).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

import typer

from hub.config import HubSettings

if TYPE_CHECKING:  # the client libraries load only when a command asks for clients
    from hub.kafka.clients import Clients


class CommandContext:
    """Lazily built settings and clients of one command invocation."""

    def __init__(self) -> None:
        self._settings: HubSettings | None = None
        self._clients: Clients | None = None

    @property
    def settings(self) -> HubSettings:
        if self._settings is None:
            self._settings = HubSettings()
        return self._settings

    @property
    def clients(self) -> Clients:
        if self._clients is None:
            from hub.kafka.clients import Clients

            self._clients = Clients(self.settings)
        return self._clients

    def run_as(self, principal: str) -> None:
        """The command is a hub service: authenticate as ``principal`` (see
        :meth:`HubSettings.for_service`). Called before the command asks for clients."""
        if self._clients is not None:
            raise RuntimeError("run_as() must come before the command's first clients()")
        self._settings = self.settings.for_service(principal)

    def close(self) -> None:
        if self._clients is not None:
            self._clients.close()
            self._clients = None


_running: ContextVar[CommandContext | None] = ContextVar("hub_command", default=None)


def open_for(ctx: typer.Context) -> None:
    """Give the command ``ctx`` runs a fresh :class:`CommandContext`, closed when it ends."""
    command = CommandContext()
    _running.set(command)

    def close() -> None:
        if _running.get() is command:
            _running.set(None)
        command.close()

    ctx.call_on_close(close)


def _current() -> CommandContext:
    command = _running.get()
    if command is None:
        raise RuntimeError("settings() and clients() are for commands run through the hub app")
    return command


def settings() -> HubSettings:
    return _current().settings


def clients() -> Clients:
    return _current().clients


def run_as(principal: str) -> None:
    _current().run_as(principal)
