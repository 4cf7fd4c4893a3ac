"""Fixtures of the contract suites: the clients a real adapter runs on, and readers under test."""

from __future__ import annotations

import pytest

from hub.config import HubSettings
from hub.kafka.clients import Clients
from hub.memory.kafka import InMemoryClients
from tests.contract.harness import IN_MEMORY, REAL, REAL_ON_KAFKA, Feed, LogWriter, cut_off


@pytest.fixture
def clients_for(request, tmp_path):
    """``clients_for(kind)``: clients for a real adapter — in memory (``real``: every topic of
    the prefix created, every schema registered) or on the running stack (``real-on-kafka``: a
    fresh, provisioned prefix). Closed when the test ends."""
    made: list[Clients] = []

    def make(kind: str) -> Clients:
        if kind == REAL:
            clients = InMemoryClients.provisioned(HubSettings(topic_prefix="contract", state_dir=tmp_path))
        elif kind == REAL_ON_KAFKA:
            clients = Clients(request.getfixturevalue("settings"))
        else:
            raise ValueError(f"no clients for a {kind!r} implementation")
        made.append(clients)
        return clients

    yield make
    for clients in made:
        clients.close()


@pytest.fixture
def reader_feed(clients_for, tmp_path):
    """``reader_feed(kind, in_memory, projection)``: a :class:`Feed` of the in-memory reader
    class ``in_memory``, or of the SQLite ``projection`` class reading the topics a
    :class:`LogWriter` writes to (in memory, or on the stack)."""
    opened = []

    def make(kind: str, in_memory: type, projection: type) -> Feed:
        if kind == IN_MEMORY:
            reader = in_memory()
            return Feed(reader, reader.add, reader.refuse)
        clients = clients_for(kind)
        reader = projection(clients, tmp_path / f"{projection.name}-{kind}-{len(opened)}.sqlite")
        opened.append(reader)
        return Feed(reader, LogWriter(clients).write, cut_off(clients))

    yield make
    for reader in opened:
        reader.close()
