"""``hub agencies run --department …``: a fleet of some agencies only (one agency per process is
how the fault drills take a single agency down)."""

from __future__ import annotations

import pytest

from consumers.reference_agencies.fleet import AgencyFleet
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.memory.kafka import InMemoryClients


def test_a_fleet_runs_only_the_departments_it_is_given(tmp_path):
    fleet = AgencyFleet(HubSettings(state_dir=tmp_path), tmp_path / "agencies",
                        departments=frozenset({Department.TAX}),
                        clients={Department.TAX: InMemoryClients()})
    try:
        assert set(fleet.agencies) == set(fleet.inboxes) == {Department.TAX}
    finally:
        for agency in fleet.agencies.values():
            agency.close()


def test_a_department_without_a_reference_agency_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="no reference agency for CIVIL_AFFAIRS"):
        AgencyFleet(HubSettings(state_dir=tmp_path), tmp_path / "agencies",
                    departments=frozenset({Department.CIVIL_AFFAIRS}))
