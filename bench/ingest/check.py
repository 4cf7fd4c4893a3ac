"""After each mode: is every acknowledged event on its topic, exactly once, and nothing else?"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from hub.kafka.clients import Clients
from hub.kafka.log_reader import read_from_start

EVENT_ID = "oncehub.event_id"


def events_on(clients: Clients, topics: list[str]) -> list[tuple[str, str]]:
    """(event id, topic) of every message on ``topics``, from the start to today's end."""
    found = []
    for message in read_from_start(clients, topics):
        event_id = dict(message.headers or ()).get(EVENT_ID, b"").decode()
        found.append((event_id, message.topic))
    return found


def problems(on_topics: Iterable[tuple[str, str]], receipts: Mapping[str, str],
             acknowledged: Iterable[str]) -> list[str]:
    """What is wrong with what the topics hold.

    ``receipts``: every receipt of the run so far (event id → its topic); ``acknowledged``: the
    ids this check is about (one mode's). Each must be on the topics exactly once, on its
    receipt's topic; no id on the topics may be one that no receipt names.
    """
    seen: dict[str, list[str]] = defaultdict(list)
    for event_id, topic in on_topics:
        seen[event_id].append(topic)
    mine = list(acknowledged)
    missing = [i for i in mine if i not in seen]
    repeated = Counter({i: len(seen[i]) for i in mine if len(seen.get(i, ())) > 1})
    elsewhere = [i for i in mine if i in seen and any(t != receipts[i] for t in seen[i])]
    unknown = [i for i in seen if i not in receipts]
    out = []
    if missing:
        out.append(f"{len(missing)} acknowledged event(s) not on the topics (e.g. {missing[0]})")
    if repeated:
        out.append(f"{len(repeated)} event(s) on the topics more than once "
                   f"({sum(repeated.values()) - len(repeated)} extra copies)")
    if elsewhere:
        out.append(f"{len(elsewhere)} event(s) on another topic than their receipt names")
    if unknown:
        out.append(f"{len(unknown)} event id(s) on the topics that no receipt names")
    return out
