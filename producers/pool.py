"""One publisher per department over a single shared producer and registry client.

A server publishing for many departments needs one Kafka connection pool and one schema-id
cache, not one per department: every publisher of the pool uses the same :class:`Clients`.
"""

from __future__ import annotations

import threading

from hub.domain.departments import Department
from hub.kafka.clients import Clients
from producers.publisher import Publisher


class PublisherPool:
    """Callable ``pool(department) -> Publisher``. The clients belong to the caller, who closes
    them; ``close()`` forgets the publishers."""

    def __init__(self, clients: Clients):
        self._clients = clients
        self._lock = threading.Lock()
        self._publishers: dict[Department, Publisher] = {}

    @property
    def settings(self):
        return self._clients.settings

    def __call__(self, department: Department) -> Publisher:
        with self._lock:
            if department not in self._publishers:
                self._publishers[department] = Publisher(department, clients=self._clients,
                                                         shared=True)
            return self._publishers[department]

    def close(self) -> None:
        with self._lock:
            for publisher in self._publishers.values():
                publisher.close()
            self._publishers.clear()
