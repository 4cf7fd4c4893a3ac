"""In-memory adapters of the hub's ports (:mod:`hub.domain.ports`), for unit tests and examples.

Each behaves as its real adapter does — the contract tests in ``tests/contract/`` run the same
suite against both — but holds its state in a dict or a list and needs no server.
"""

from hub.memory.audit_notes import InMemoryAuditNotes

__all__ = ["InMemoryAuditNotes"]
