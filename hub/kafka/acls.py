"""Apply an ACL plan (``hub.security.acl_plan``) to the cluster, idempotently.

``apply`` describes the ACLs that exist for the hub's principals, creates the planned ones that
are missing and deletes those on the prefix's own topics and groups that the plan no longer
has (a department that lost an event type loses the right to write it). ACLs on other resources,
or for principals the hub does not define, are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType,
                         ACLResourcePatternType, ResourcePattern, ResourcePatternFilter,
                         ResourceType)

from hub.kafka.clients import Clients
from hub.security.acl_plan import Permission, owned_by_prefix
from hub.security.principals import all_principals


@dataclass(frozen=True)
class AclChange:
    created: list[Permission]
    deleted: list[tuple[str, str, str, str, str]]
    unchanged: int


def _acl(p: Permission) -> ACL:
    return ACL(f"User:{p.principal}", "*", ACLOperation[p.operation.value],
               ACLPermissionType.ALLOW,
               ResourcePattern(ResourceType[p.resource.value], p.name,
                               ACLResourcePatternType[p.pattern.value]))


def _key(acl: ACL) -> tuple[str, str, str, str, str]:
    pattern = acl.resource_pattern
    return (acl.principal.removeprefix("User:"), pattern.resource_type.name,
            pattern.resource_name, pattern.pattern_type.name, acl.operation.name)


def existing(admin) -> list[ACL]:
    """Every ACL of one of the hub's principals, on any resource (one request for all)."""
    acls, error = admin.describe_acls(ACLFilter(
        None, None, ACLOperation.ANY, ACLPermissionType.ANY,
        ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)))
    if error is not None and error.errno != 0:
        raise RuntimeError(f"describing ACLs failed: {error}")
    ours = {f"User:{principal}" for principal in all_principals()}
    return [acl for acl in acls if acl.principal in ours]


def apply(clients: Clients, prefix: str, planned: list[Permission]) -> AclChange:
    """Make the cluster's ACLs for ``prefix`` equal ``planned``."""
    with clients.administering("oncehub-acl") as admin:
        current = {_key(a): a for a in existing(admin)}
        wanted = {p.key(): p for p in planned}
        missing = [p for k, p in wanted.items() if k not in current]
        stale = [a for k, a in current.items()
                 if k not in wanted and owned_by_prefix(prefix, a.resource_pattern.resource_name)]
        if missing:
            result = admin.create_acls([_acl(p) for p in missing])
            if result.get("failed"):
                raise RuntimeError(f"creating ACLs failed: {result['failed'][:3]}")
        if stale:
            admin.delete_acls([ACLFilter(a.principal, a.host, a.operation, a.permission_type,
                                         ResourcePatternFilter(a.resource_pattern.resource_type,
                                                               a.resource_pattern.resource_name,
                                                               a.resource_pattern.pattern_type))
                               for a in stale])
    return AclChange(missing, [_key(a) for a in stale], len(wanted) - len(missing))


