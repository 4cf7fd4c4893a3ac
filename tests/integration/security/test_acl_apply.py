"""`hub acl apply` on the real broker: creates the plan, is idempotent, removes only its prefix's."""

from __future__ import annotations

import pytest

from hub.kafka import acls
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.security.acl_plan import plan


def test_apply_converges_and_touches_no_other_prefix(endpoints, make_settings):
    if endpoints.kafka_security != "sasl_ssl":
        pytest.skip("the stack is not secured (throwaway containers run plaintext)")
    ours, neighbour = make_settings(), make_settings()
    with Clients(ours) as clients:
        theirs = acls.apply(clients, neighbour.topic_prefix,
                            plan(TopicNames(neighbour.topic_prefix), load_rules()))
        planned = plan(TopicNames(ours.topic_prefix), load_rules())
        first = acls.apply(clients, ours.topic_prefix, planned)
        again = acls.apply(clients, ours.topic_prefix, planned)
        emptied = acls.apply(clients, ours.topic_prefix, [])
        with clients.administering() as admin:
            left = {a.resource_pattern.resource_name.split(".")[0].split("-")[0]
                    for a in acls.existing(admin)}
        acls.apply(clients, neighbour.topic_prefix, [])
    assert len(first.created) == len(planned) == len(theirs.created)
    assert (again.created, again.deleted, again.unchanged) == ([], [], len(planned))
    assert len(emptied.deleted) == len(planned)
    assert ours.topic_prefix not in left and neighbour.topic_prefix in left
