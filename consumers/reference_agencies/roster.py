"""The six reference agencies of the seed scenarios, each with its own database file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from consumers.reference_agencies.base import REFERENCE_PREFIXES, ReferenceAgency, utc_now
from hub.domain.departments import Department

# The departments that receive follow-on items (routing.yaml), in the seed table's order.
AGENCY_DEPARTMENTS: tuple[Department, ...] = tuple(REFERENCE_PREFIXES)


def agency_db_path(base_dir: Path, department: Department) -> Path:
    return Path(base_dir) / f"{Department(department).value}.sqlite3"


def reference_agencies(base_dir: Path, clock: Callable[[], datetime] = utc_now
                       ) -> dict[Department, ReferenceAgency]:
    """A :class:`ReferenceAgency` per receiving department, at ``<base_dir>/<DEPARTMENT>.sqlite3``.

    Opening an existing directory resumes the agencies' registers (and their idempotency
    records); the caller closes them (``for a in agencies.values(): a.close()``).
    """
    Path(base_dir).mkdir(parents=True, exist_ok=True)
    return {d: ReferenceAgency(d, agency_db_path(base_dir, d), clock=clock) for d in AGENCY_DEPARTMENTS}
