"""The attacks of the hostile-department suite, and the table they fill.

Each attack returns an :class:`Attempt` saying whether the hub refused it and how. An attack is
*refused* only on positive evidence — an authorization error from the broker or the registry,
a dead letter for exactly the attacker's record, an unchanged case — never because nothing
happened within a timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kafka.errors import KafkaError
from confluent_kafka.schema_registry.error import SchemaRegistryError


@dataclass(frozen=True)
class Attempt:
    attack: str
    channel: str
    refused: bool
    evidence: str


RESULTS: list[Attempt] = []


def record(attack: str, channel: str, refused: bool, evidence: str) -> Attempt:
    attempt = Attempt(attack, channel, refused, evidence[:110])
    RESULTS.append(attempt)
    return attempt


def refused_by_error(attack: str, channel: str, action: Callable[[], object],
                     kinds: tuple[type[BaseException], ...] = (KafkaError, SchemaRegistryError)
                     ) -> Attempt:
    """Refused if ``action`` raises one of ``kinds`` (the broker's or registry's refusal);
    any other outcome — success, or an unrelated error — counts as not refused."""
    try:
        result = action()
    except kinds as exc:
        return record(attack, channel, True, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - not a refusal we recognise: reported as such
        return record(attack, channel, False, f"unexpected {type(exc).__name__}: {exc}")
    return record(attack, channel, False, f"accepted: {result!r}")


def librdkafka_attempt(conf: dict[str, str]) -> tuple[bool, list[str]]:
    """Connect with librdkafka (confluent-kafka: what kcat and most non-Java clients use) and
    ask for metadata: (connected, the errors it reported)."""
    from confluent_kafka import KafkaException, Producer

    errors: list[str] = []
    producer = Producer({**conf, "log_level": 0, "error_cb": lambda e: errors.append(e.str())})
    try:
        producer.list_topics(timeout=5)
        connected = True
    except KafkaException as exc:
        errors.append(str(exc))
        connected = False
    producer.poll(0.5)  # serve the error callbacks
    return connected, errors


def table(results: list[Attempt]) -> str:
    rows = [("attack", "channel", "refused", "evidence"), *(
        (r.attack, r.channel, "yes" if r.refused else "NO", r.evidence) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {c:<{widths[1]}}  {f:<{widths[2]}}  {e}"
                     for a, c, f, e in rows)
