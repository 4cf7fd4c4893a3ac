"""Contract suites: one per port of :mod:`hub.domain.ports`, each run against the in-memory
adapter of :mod:`hub.memory` and against the real adapter, so the two cannot drift apart."""
