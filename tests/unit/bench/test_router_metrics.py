"""The latency bench's reading of the router's stage histograms: differences between two scrapes."""

from bench.route.router_metrics import summarise

INF = float("inf")


def test_the_difference_between_two_scrapes_per_stage_with_bucket_bounds():
    before = ({"wait": {0.005: 10, 0.02: 10, 0.05: 10, INF: 10}}, {"wait": 0.03})
    after = ({"wait": {0.005: 60, 0.02: 100, 0.05: 109, INF: 110},
              "send": {0.005: 0, 0.02: 0, INF: 3}}, {"wait": 1.03, "send": 0.3})
    got = summarise(before, after)
    assert got["wait"] == {"count": 100, "mean_ms": 10.0, "p50_le_ms": 5.0, "p99_le_ms": 50.0}
    assert got["send"] == {"count": 3, "mean_ms": 100.0, "p50_le_ms": None, "p99_le_ms": None}
    assert "prepare" not in got  # nothing observed: no row
