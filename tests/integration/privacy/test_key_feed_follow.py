"""A following key feed (the router's) holds a new person's key as soon as it is written: the
event that names it is opened without reading the key topics on demand (which cost ~18 ms per
new person on the routing path)."""

from __future__ import annotations

import random

from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.kafka.key_feed import KeyFeed
from hub.kafka.log_reader import read_from_start
from hub.kafka.topic_names import TopicNames
from producers.demo_data import generate
from producers.publisher import Publisher
from tests.integration.flow_helpers import wait_until


def test_a_following_feed_holds_new_keys_without_reading_on_demand_and_copies_them(settings, clients):
    feed = KeyFeed(clients, copy_intakes=True)
    feed.catch_up()  # the first read, as the router's first event makes it
    on_demand = []
    real_catch_up = feed.catch_up
    feed.catch_up = lambda: on_demand.append(1) or real_catch_up()
    feed.follow()
    publisher = Publisher(Department.CIVIL_AFFAIRS, clients=clients)
    try:
        rng = random.Random(99)
        marriage = generate(EventType.MARRIAGE_REGISTERED, rng)
        spouses = [marriage["payload"][s]["id_number"] for s in ("spouse_a", "spouse_b")]
        key_ids = [publisher._key_for(subject)[0] for subject in spouses]  # written and acknowledged
        wait_until(lambda: all(feed._ring.private_key(k) is not None for k in key_ids), 15,
                   "the follower to read both keys")
        assert all(feed.private_key(k) is not None for k in key_ids)
        assert on_demand == []  # held before they were asked for: no read on demand
        copied = wait_until(lambda: {r.key.decode() for r in read_from_start(
            clients, [TopicNames(settings.topic_prefix).subject_keys])} >= set(key_ids) or None, 15,
            "the intake's keys to be copied to the hub's key topic")
        assert copied
    finally:
        feed.close()
        publisher.close()
