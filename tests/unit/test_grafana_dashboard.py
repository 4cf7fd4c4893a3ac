"""The Grafana dashboard in docs/ asks only for metrics the hub exposes (names drift otherwise)."""

import json
import re
from pathlib import Path

from hub.api import metrics_routes
from hub.observability import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "oncehub.json"
SUFFIXES = ("_bucket", "_sum", "_count", "_total")


def _exposed() -> set[str]:
    names = {collector._name for collector in vars(metrics).values() if hasattr(collector, "_name")}
    names |= set(re.findall(r'"(oncehub_[a-z_]+)"', Path(metrics_routes.__file__).read_text()))
    return names


def test_every_metric_the_dashboard_queries_is_exposed():
    dashboard = json.loads(DASHBOARD.read_text())
    asked = {name for panel in dashboard["panels"] for target in panel["targets"]
             for name in re.findall(r"oncehub_[a-z_]+", target["expr"])}
    exposed = _exposed()
    missing = {name for name in asked
               if name not in exposed and not any(name.endswith(s) and name[: -len(s)] in exposed
                                                  for s in SUFFIXES)}
    assert asked and missing == set()
