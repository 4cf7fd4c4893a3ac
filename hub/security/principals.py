"""The principals of the hub: one per department, one per service of the hub itself.

A principal's name is what the broker authenticates (SASL username, ``User:<name>`` in ACLs)
and what its credentials file is called (``<state_dir>/credentials/<name>.properties``).
Names are lower case with hyphens (``civil-affairs``) so they read the same in a file name, an
ACL, a registry account and a log line.
"""

from __future__ import annotations

from enum import StrEnum

from hub.domain.departments import Department


class Service(StrEnum):
    """The hub's own processes, each with the least it needs (see ``hub.security.acl_plan``)."""

    ROUTER = "router"  # hub worker: reads event topics, writes inboxes, routing log, dead letters
    AUDITOR = "auditor"  # hub audit: reads what was disclosed, writes the audit chain
    PROJECTIONS = "projections"  # case, facts and timeline views: read-only
    GATEWAY = "gateway"  # hub serve: publishes for the department its token names, audits reads
    OPERATOR = "operator"  # people running the hub: topics, groups, ACLs, schemas, replays


# The operator administers the cluster: a super user of the broker and the registry's admin.
SUPER_USERS = frozenset({Service.OPERATOR.value})


def department_principal(department: Department) -> str:
    return department.value.lower().replace("_", "-")


def department_of(principal: str) -> Department | None:
    """The department a principal stands for, or None for a service."""
    try:
        return Department(principal.upper().replace("-", "_"))
    except ValueError:
        return None


def all_principals() -> list[str]:
    """Every principal the hub defines: departments first, then services."""
    return [*(department_principal(d) for d in Department), *(s.value for s in Service)]
