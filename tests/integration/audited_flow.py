"""A whole flow with the auditor running: publish a mix, route, complete every item, audit it all."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from hub.kafka.clients import Clients
from hub.audit.auditor import Auditor
from hub.config import HubSettings
from hub.demo.back_office import wait_for_cases
from hub.projections.cases import CaseProjection
from producers.publisher import Receipt
from tests.integration.flow_helpers import Departments, back_office, unique_mix

# Generous: on a machine whose hypervisor takes a third of the CPU a three-wave flow with live
# catch-ups took over 120 s once (CI, 3 December 2026); alone it takes under 30 s.
FLOW_TIMEOUT_S = 240.0


def audited_flow(settings: HubSettings, base_dir: Path, count: int, seed: int, waves: int = 1,
                 during: Callable[[], None] = lambda: None,
                 before_idle: Callable[[], None] = lambda: None) -> list[Receipt]:
    """Publish ``count`` seed events (no identifier reused, so every item completes) with the
    router, the reference agencies (databases under ``base_dir``) and the auditor running; wait
    until every case is completed, stop the back office, and wait until all it wrote is audited.

    The events go out in ``waves``, each published once the previous one's cases are completed.
    ``during`` runs after each publish and on every poll while waiting; ``before_idle`` runs once
    every case is completed, before the last wait for the auditor.
    """
    cases = CaseProjection(Clients(settings), base_dir / "flow-cases.sqlite")
    auditor = Auditor(Clients(settings), anchor_every_s=3600)
    try:
        with auditor.running():
            with back_office(settings, base_dir), Departments(settings) as departments:
                receipts: list[Receipt] = []
                mix = unique_mix(count, random.Random(seed))
                for wave in range(waves):
                    for event_type, submission in mix[wave * count // waves:(wave + 1) * count // waves]:
                        receipts.append(departments.publish(event_type, submission))
                        during()
                    wait_for_cases(cases, [r.case_id for r in receipts], FLOW_TIMEOUT_S, alive=during)
                before_idle()
            auditor.wait_idle(60)  # the back office has stopped: nothing more will be written
    finally:
        cases.close()
    return receipts


def hub_env(settings: HubSettings, state_dir: Path) -> dict[str, str]:
    """The environment `hub` reads for this test's prefix, with its own state directory (and the
    test's principal, credentials, audit pseudonym keys and master key, which stay where they were
    made)."""
    return {"HUB_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "HUB_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
            "HUB_KAFKA_SECURITY": settings.kafka_security, "HUB_PRINCIPAL": settings.principal,
            "HUB_CREDENTIALS_FILE": str(settings.resolved_credentials_file),
            "HUB_PSEUDONYM_KEYS_FILE": str(settings.resolved_pseudonym_keys_file),
            # One master key for every process of the hub, as a deployment mounts one: what `hub
            # serve` publishes must open in the router.
            "HUB_MASTER_KEY_FILE": str(settings.resolved_master_key_file),
            "HUB_MASTER_PUBLIC_KEY_FILE": str(settings.resolved_master_public_key_file),
            "HUB_TOPIC_PREFIX": settings.topic_prefix, "HUB_STATE_DIR": str(state_dir)}
