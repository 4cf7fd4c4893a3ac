"""Finding a topic's partitions while other topics come and go."""

from __future__ import annotations

import pytest
from kafka import TopicPartition
from kafka.errors import UnknownTopicOrPartitionError

from hub.errors import TopicMissing
from hub.kafka.log_reader import partitions_of


class Racing:
    """A consumer whose all-topics metadata fails ``fails`` times (a topic being deleted)."""

    def __init__(self, fails: int, partitions: dict[str, set[int]]):
        self.fails, self.partitions, self.asked = fails, partitions, 0

    def partitions_for_topic(self, topic: str):
        self.asked += 1
        if self.fails:
            self.fails -= 1
            raise UnknownTopicOrPartitionError("someone else's topic, mid-deletion")
        return self.partitions.get(topic)


def test_a_topic_deleted_elsewhere_mid_request_is_asked_about_again():
    consumer = Racing(2, {"p.routing": {1, 0}})
    assert partitions_of(consumer, ["p.routing"]) == [TopicPartition("p.routing", 0),
                                                       TopicPartition("p.routing", 1)]
    assert consumer.asked == 3


def test_a_missing_topic_is_named_and_a_persistent_error_surfaces():
    with pytest.raises(TopicMissing, match="p.nowhere"):
        partitions_of(Racing(0, {}), ["p.nowhere"])
    with pytest.raises(UnknownTopicOrPartitionError):
        partitions_of(Racing(99, {}), ["p.routing"])
