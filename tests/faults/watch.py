"""Watches the flow while a drill runs: every record of the routing log and the outcome topics,
stamped with the moment it was first seen (decoded afterwards, when the registry is sure to
answer), so "when did the flow resume" is read off the records, not guessed."""

from __future__ import annotations

import threading
import time

from kafka.errors import KafkaError

from hub.config import HubSettings
from hub.domain.outcomes import Outcome
from hub.domain.routing import RoutingDecision
from hub.kafka.clients import Clients
from hub.kafka.log_reader import assign_from_start
from hub.kafka.topic_names import TopicNames
from hub.wire.serde import model_deserializer


class FlowWatch:
    def __init__(self, settings: HubSettings):
        self.settings = settings
        self.names = TopicNames(settings.topic_prefix)
        self.seen: list[tuple[float, str, bytes]] = []  # (monotonic time, topic, value)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flow-watch", daemon=True)

    def start(self) -> "FlowWatch":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        topics = [self.names.routing_log, *self.names.all_outcomes()]
        with Clients(self.settings) as clients:
            consumer = clients.consumer(group_id=None, enable_auto_commit=False)
            assign_from_start(consumer, topics)
            while not self._stop.is_set():
                try:
                    batches = consumer.poll(timeout_ms=200)
                except KafkaError:  # a broker is down: the client finds the new leaders itself
                    time.sleep(0.5)
                    continue
                now = time.monotonic()
                for records in batches.values():
                    self.seen.extend((now, r.topic, r.value) for r in records)
            consumer.close()

    def decoded(self) -> tuple[list[tuple[float, RoutingDecision]], list[tuple[float, Outcome]]]:
        with Clients(self.settings) as clients:
            decision = model_deserializer(clients.registry, "RoutingDecision", RoutingDecision)
            outcome = model_deserializer(clients.registry, "Outcome", Outcome)
            decisions, outcomes = [], []
            for at, topic, value in list(self.seen):
                if topic == self.names.routing_log:
                    decisions.append((at, decision(value, topic)))
                else:
                    outcomes.append((at, outcome(value, topic)))
            return decisions, outcomes
