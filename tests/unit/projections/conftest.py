"""The projections' unit fixtures: the catalogue provisioned on in-memory Kafka and registry."""

from __future__ import annotations

import pytest

from hub.config import HubSettings
from hub.memory.kafka import InMemoryClients


@pytest.fixture
def clients(tmp_path):
    return InMemoryClients.provisioned(HubSettings(topic_prefix="unit", state_dir=tmp_path))
