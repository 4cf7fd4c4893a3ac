"""Consumer lag from committed offsets and partition ends (the broker's part is integration)."""

from hub.kafka.lag import PartitionLag, lag_per_group, lags_of


def test_lag_per_group_and_partition_sorted_and_never_negative():
    committed = {"p.router": {("p.events.a", 1): 7, ("p.events.a", 0): 10},
                 "p.agency.tax": {("p.inbox.tax", 0): 4, ("p.gone", 0): 3}}
    ends = {("p.events.a", 0): 10, ("p.events.a", 1): 12, ("p.inbox.tax", 0): 3}
    rows = lags_of(committed, ends)
    assert [(r.group, r.topic, r.partition, r.lag) for r in rows] == [
        ("p.agency.tax", "p.inbox.tax", 0, 0),  # committed past a stale end: no negative lag
        ("p.router", "p.events.a", 0, 0),
        ("p.router", "p.events.a", 1, 5),
    ]  # the deleted topic's partition is left out


def test_lag_summed_per_group():
    rows = [PartitionLag("g1", "t", 0, 1, 4), PartitionLag("g1", "t", 1, 5, 5), PartitionLag("g2", "t", 0, 0, 2)]
    assert lag_per_group(rows) == {"g1": 3, "g2": 2}
