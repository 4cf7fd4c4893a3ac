"""``GET /v1/subjects/{subject_id}/facts``: the shared-data query (数据共享查询), audited.

A department asks what the registrations say about a subject (e.g. the provident fund checks
a marital status itself instead of asking the citizen for a certificate, seed 002) and gets only
the fields the routing rules grant it, each with its legal basis. Every query is audited through
the audit intake — refusals too — and an answer is given only after its audit note is durable:
if the note cannot be posted the answer is 503 and nothing is disclosed.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from uuid import uuid4

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from kafka.errors import KafkaError
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hub.api.app import _bearer, _problem, _unauthorised
from hub.api.refusal_throttle import RefusalThrottle
from hub.api.tokens import TokenStore
from hub.domain.audit_entries import FactQueryNote
from hub.domain.departments import Department
from hub.domain.facts import VisibleFact, disclosed_fields, grants_anything, visible_to
from hub.domain.identifiers import mask_id
from hub.domain.rules import RuleBook
from hub.domain.sealing import utc_now
from hub.schema_registry.client import is_transient
from hub.rules import load_rules

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
# What reading the log up to now raises when Kafka, the registry or the projection file is away.
_UNAVAILABLE = (KafkaError, OSError, LookupError, sqlite3.OperationalError)


class SubjectFacts(BaseModel):
    """The answer: the subject's current facts, limited to the caller's granted fields."""

    subject_id: str
    department: Department
    query_id: str  # the audit note's id: cite it when asked why the data was used
    facts: list[VisibleFact]


class _Error(BaseModel):
    field: str
    rule: str
    message: str


class Problems(BaseModel):
    errors: list[_Error]


RESPONSES = {
    200: {"model": SubjectFacts,
          "description": "The subject's facts, granted fields only, each with its legal basis "
                         "(an empty list when nothing the caller may see is known)."},
    401: {"model": Problems, "description": "Missing or unknown bearer token (audited)."},
    403: {"model": Problems,
          "description": "The caller's department is granted no field by the routing rules "
                         "(rule `fact_grant`; audited)."},
    429: {"model": Problems,
          "description": "Too many refused queries without a valid token from this address "
                         "(rule `unauthenticated_audit_limit`): not audited one by one, counted "
                         "in the next audited refusal. Retry after `Retry-After` seconds."},
    503: {"model": Problems,
          "description": "Kafka, the registry or the audit intake is unavailable; nothing is "
                         "disclosed. Retry after `Retry-After` seconds."},
}


def _unavailable(rule: str, message: str) -> JSONResponse:
    return _problem(503, rule, message, {"Retry-After": str(RETRY_AFTER_S)})


def install_facts_routes(app: FastAPI, tokens: TokenStore, facts, audit_intake,
                         rules: RuleBook | None = None,
                         clock: Callable[[], datetime] = utc_now,
                         throttle: RefusalThrottle | None = None) -> None:
    """``facts``: a :class:`~hub.projections.facts.FactsProjection` (``catch_up``, ``facts_for``);
    ``audit_intake``: an :class:`~hub.audit.intake.AuditIntake` (``post(note)``, durable on return);
    ``throttle``: how many refusals without a valid token each address gets audited one by one."""
    if audit_intake is None:
        raise ValueError("the facts query needs an audit intake: no query may go unaudited")
    rules = rules or load_rules()
    throttle = throttle or RefusalThrottle()

    def note(subject_id: str, department: Department | None, allowed: bool, **more) -> FactQueryNote:
        return FactQueryNote(query_id=str(uuid4()), at=clock(), subject_id=subject_id,
                             department=department.value if department else None,
                             allowed=allowed, **more)

    async def refuse(refusal: JSONResponse, subject_id: str, department: Department | None,
                     reason: str) -> JSONResponse:
        """Audit a refused query, then refuse it (a refusal discloses nothing, so it is given
        even when the note cannot be posted; that failure is logged)."""
        try:
            await run_in_threadpool(audit_intake.post, note(subject_id, department, False, reason=reason))
        except Exception:  # noqa: BLE001 - any failure: the refusal stands, the gap is logged
            log.exception("could not audit a refused fact query for %s by %s", mask_id(subject_id),
                          department.value if department else "an unknown caller")
        log.info("fact query for %s by %s refused: %s", mask_id(subject_id),
                 department.value if department else "an unknown caller", reason)
        return refusal

    @app.get("/v1/subjects/{subject_id}/facts", summary="Shared-data query: what the "
             "registrations say about this person or organisation (granted fields only)",
             response_model=SubjectFacts, responses=RESPONSES)
    async def subject_facts(subject_id: str, request: Request):
        token = _bearer(request)
        department = tokens.department_for(token) if token else None
        if department is None:
            caller = request.client.host if request.client else "unknown"
            admission = throttle.admit(caller)
            if not admission.audit:
                return _problem(429, "unauthenticated_audit_limit",
                                f"too many refused queries from {caller}; retry later",
                                {"Retry-After": str(admission.retry_after_s)})
            reason = "missing or unknown bearer token"
            if admission.untold:
                reason += (f"; {admission.untold} earlier refusal(s) from {caller} were over "
                           f"{throttle.item} and not audited one by one")
            return await refuse(_unauthorised(), subject_id, None, reason)
        if not grants_anything(rules, department):
            reason = f"the routing rules grant {department.value} no field of any event type"
            return await refuse(_problem(403, "fact_grant", reason), subject_id, department, reason)
        try:
            await run_in_threadpool(facts.catch_up)
            found = await run_in_threadpool(facts.facts_for, subject_id)
        except Exception as exc:
            if not (isinstance(exc, _UNAVAILABLE) or is_transient(exc)):
                raise
            log.warning("fact query for %s by %s: cannot read the log: %s", mask_id(subject_id),
                        department.value, exc)
            return _unavailable("unavailable", f"cannot read the registrations now: {exc}")
        shown = visible_to(department, found, rules)
        allowed = note(subject_id, department, True, fields=disclosed_fields(shown))
        try:
            await run_in_threadpool(audit_intake.post, allowed)
        except Exception as exc:  # noqa: BLE001 - any failure: an unaudited disclosure must not happen
            log.warning("fact query for %s by %s not answered: audit intake unavailable: %s",
                        mask_id(subject_id), department.value, exc)
            return _unavailable("audit_unavailable", "the query cannot be audited now; nothing "
                                                     "was disclosed")
        log.info("fact query %s for %s by %s: %d fact(s), %d field(s)", allowed.query_id,
                 mask_id(subject_id), department.value, len(shown), len(allowed.fields))
        answer = SubjectFacts(subject_id=subject_id, department=department,
                              query_id=allowed.query_id, facts=shown)
        return JSONResponse(answer.model_dump(mode="json"))
