"""Where a benchmark's results go, and the header that says what machine they were measured on."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from hub.config import HubSettings

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"  # not tracked by git
# The client libraries whose versions move the figures; a benchmark may name more.
PACKAGES = ("kafka-python", "confluent-kafka", "fastavro", "pydantic", "pydantic-core")


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: on two shared cores they explain outliers."""
    return [round(x, 2) for x in os.getloadavg()]


def environment(settings: HubSettings, packages: Iterable[str] = ()) -> dict[str, Any]:
    """Python, platform, CPUs, load now, where the stack is, and the client library versions."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1_5_15": load_average(),
        "bootstrap_servers": settings.bootstrap_servers,
        "schema_registry_url": settings.schema_registry_url,
        "packages": {dist: version(dist) for dist in (*PACKAGES, *packages)},
    }


def options_dict(options: Any) -> dict[str, Any]:
    """A dataclass or argparse namespace of options as JSON values (paths as strings)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()}


def run_header(prefix_key: str, prefix: str, options: Any, settings: HubSettings,
               load_at_start: list[float], packages: Iterable[str] = ()) -> dict[str, Any]:
    """The first keys of a result file: when, which names, with what options, on what machine.

    The environment is taken now, at the end of the run, so its load average is the end's; the
    one at the start is kept beside it.
    """
    return {
        "finished": datetime.now(timezone.utc).isoformat(),
        prefix_key: prefix,
        "options": options_dict(options),
        "environment": {"load_average_at_start": load_at_start, **environment(settings, packages)},
    }


def default_json_path(name: str) -> Path:
    return RESULTS_DIR / f"{name}-{datetime.now():%Y%m%d-%H%M%S}.json"


def public(results: Mapping[str, Any]) -> dict[str, Any]:
    """The results without the keys that start with ``_`` (histograms kept for the report)."""
    return {k: v for k, v in results.items() if not k.startswith("_")}


def write_json(results: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(public(results), indent=2, ensure_ascii=False) + "\n")
