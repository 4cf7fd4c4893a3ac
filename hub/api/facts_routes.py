"""``GET /v1/subjects/{subject_id}/facts``: the shared-data query (数据共享查询), audited.

A department asks what the registrations say about a subject (e.g. the provident fund checks
a marital status itself instead of asking the citizen for a certificate, seed 002) and gets only
the fields the routing rules grant it, each with its legal basis. Every query is audited through
the audit intake — refusals too — and an answer is given only after its audit note is durable:
if the note cannot be posted the answer is 503 and nothing is disclosed. Queries count against
the token's read limit (429 past it, not audited: nothing was read); operator and auditor
tokens are granted no field (403, audited).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from uuid import uuid4

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hub.api.personal_reads import too_many_reads
from hub.api.read_limit import ReadLimiter
from hub.api.refusal_throttle import RefusalThrottle
from hub.api.responses import Problems, bearer_token, problem, unauthorised
from hub.api.tokens import Refused, TokenStore
from hub.domain.audit_entries import FactQueryNote
from hub.domain.departments import Department
from hub.domain.facts import Fact, VisibleFact, disclosed_fields, grants_anything, visible_to
from hub.domain.identifiers import mask_id
from hub.domain.ports import AuditNoteSink, FactsReader
from hub.domain.pseudonyms import Pseudonyms
from hub.domain.redaction import error_text
from hub.domain.rules import RuleBook
from hub.domain.sealing import utc_now
from hub.errors import HubError, NotAudited
from hub.rules import load_rules

log = logging.getLogger(__name__)


class SubjectFacts(BaseModel):
    """The answer: the subject's current facts, limited to the caller's granted fields."""

    subject_id: str
    department: Department
    query_id: str  # the audit note's id: cite it when asked why the data was used
    facts: list[VisibleFact]


RESPONSES = {
    200: {"model": SubjectFacts,
          "description": "The subject's facts, granted fields only, each with its legal basis "
                         "(an empty list when nothing the caller may see is known)."},
    401: {"model": Problems,
          "description": "Missing, unknown, expired or revoked bearer token (audited)."},
    403: {"model": Problems,
          "description": "The caller's department is granted no field by the routing rules, or "
                         "the token is no department's (rule `fact_grant`; audited)."},
    429: {"model": Problems,
          "description": "Too many refused queries without a valid token from this address "
                         "(rule `unauthenticated_audit_limit`): not audited one by one, counted "
                         "in the next audited refusal; or this token's read limit is reached "
                         "(rule `read_rate_limit`). Retry after `Retry-After` seconds."},
    503: {"model": Problems,
          "description": "Kafka, the registry or the audit intake is unavailable; nothing is "
                         "disclosed. Retry after `Retry-After` seconds."},
}


def _who(department: Department | None) -> str:
    return department.value if department else "an unknown caller"


class _FactQuery:
    """The query's steps: refuse (audited), read the log up to now, audit, then answer."""

    def __init__(self, tokens: TokenStore, facts: FactsReader, audit_intake: AuditNoteSink,
                 pseudonyms: Pseudonyms, rules: RuleBook, clock: Callable[[], datetime],
                 throttle: RefusalThrottle, limiter: ReadLimiter):
        self.tokens, self.facts, self.audit_intake, self.pseudonyms = tokens, facts, audit_intake, pseudonyms
        self.rules, self.clock, self.throttle, self.limiter = rules, clock, throttle, limiter

    async def subject_facts(self, subject_id: str, request: Request):
        caller = self.tokens.check(bearer_token(request))
        if isinstance(caller, Refused):
            return await self.refuse_unknown_caller(subject_id, request, caller.reason)
        if limited := too_many_reads(self.limiter, caller):
            return limited
        department = caller.department
        if department is None:
            reason = (f"{caller.role.value} token {caller.token_id}: the shared-data query answers "
                      "department tokens only")
            return await self.refuse(problem(403, "fact_grant", reason), subject_id, None, reason)
        if not grants_anything(self.rules, department):
            reason = f"the routing rules grant {department.value} no field of any event type"
            return await self.refuse(problem(403, "fact_grant", reason), subject_id, department, reason)
        shown = visible_to(department, await self.read(subject_id, department), self.rules)
        allowed = self.note(subject_id, department, True, fields=disclosed_fields(shown))
        await self.audit(allowed, department)
        log.info("fact query %s for %s by %s: %d fact(s), %d field(s)", allowed.query_id,
                 mask_id(subject_id), department.value, len(shown), len(allowed.fields))
        answer = SubjectFacts(subject_id=subject_id, department=department,
                              query_id=allowed.query_id, facts=shown)
        return JSONResponse(answer.model_dump(mode="json"))

    def note(self, subject_id: str, department: Department | None, allowed: bool,
             **more) -> FactQueryNote:
        # The subject by pseudonym: the note goes to Kafka and into the chain, which keeps it forever.
        return FactQueryNote(query_id=str(uuid4()), at=self.clock(),
                             subject_ref=self.pseudonyms.of(subject_id),
                             department=department.value if department else None,
                             allowed=allowed, **more)

    async def refuse_unknown_caller(self, subject_id: str, request: Request,
                                    reason: str = "missing or unknown bearer token") -> JSONResponse:
        """401, audited — or 429, not audited, once this address has had its share."""
        caller = request.client.host if request.client else "unknown"
        admission = self.throttle.admit(caller)
        if not admission.audit:
            return problem(429, "unauthenticated_audit_limit",
                           f"too many refused queries from {caller}; retry later",
                           {"Retry-After": str(admission.retry_after_s)})
        refusal = unauthorised(reason)
        if admission.untold:
            reason += (f"; {admission.untold} earlier refusal(s) from {caller} were over "
                       f"{self.throttle.item} and not audited one by one")
        return await self.refuse(refusal, subject_id, None, reason)

    async def refuse(self, refusal: JSONResponse, subject_id: str, department: Department | None,
                     reason: str) -> JSONResponse:
        """Audit a refused query, then refuse it (a refusal discloses nothing, so it is given
        even when the note cannot be posted; that failure is logged)."""
        try:
            await run_in_threadpool(self.audit_intake.post,
                                    self.note(subject_id, department, False, reason=reason))
        except Exception:  # noqa: BLE001 - any failure: the refusal stands, the gap is logged
            log.exception("could not audit a refused fact query for %s by %s",
                          mask_id(subject_id), _who(department))
        log.info("fact query for %s by %s refused: %s", mask_id(subject_id), _who(department), reason)
        return refusal

    async def read(self, subject_id: str, department: Department) -> list[Fact]:
        """The subject's facts once the log is read up to now. A reader that cannot read raises
        ``Unavailable`` / ``TopicMissing`` (503 by the status table); it is logged here, where
        the subject and the caller are known, and nothing is posted."""
        try:
            await run_in_threadpool(self.facts.catch_up)
            return await run_in_threadpool(self.facts.facts_for, subject_id)
        except HubError as exc:
            log.warning("fact query for %s by %s: cannot read the log: %s", mask_id(subject_id),
                        department.value, error_text(exc))
            raise

    async def audit(self, allowed: FactQueryNote, department: Department) -> None:
        """Post the note of an answer; :class:`NotAudited` (503, nothing disclosed) if it is
        not durable, whatever the reason."""
        try:
            await run_in_threadpool(self.audit_intake.post, allowed)
        except Exception as exc:  # noqa: BLE001 - any failure: an unaudited disclosure must not happen
            log.warning("fact query %s by %s not answered: audit intake unavailable: %s",
                        allowed.query_id, department.value, error_text(exc))
            raise NotAudited("the query cannot be audited now; nothing was disclosed") from exc


def install_facts_routes(app: FastAPI, tokens: TokenStore, facts: FactsReader,
                         audit_intake: AuditNoteSink | None, pseudonyms: Pseudonyms,
                         rules: RuleBook | None = None,
                         clock: Callable[[], datetime] = utc_now,
                         throttle: RefusalThrottle | None = None,
                         limiter: ReadLimiter | None = None) -> None:
    """``facts``: a :class:`~hub.projections.facts.FactsProjection` (``catch_up``, ``facts_for``);
    ``audit_intake``: a :class:`~hub.audit.intake.KafkaAuditIntake` (``post(note)``, durable on
    return); ``throttle``: how many refusals without a valid token each address gets audited one
    by one; ``limiter``: the per-token read limit (shared with the other read routes)."""
    if audit_intake is None:
        raise ValueError("the facts query needs an audit intake: no query may go unaudited")
    query = _FactQuery(tokens, facts, audit_intake, pseudonyms, rules or load_rules(), clock,
                       throttle or RefusalThrottle(), limiter or ReadLimiter())
    app.get("/v1/subjects/{subject_id}/facts", summary="Shared-data query: what the "
            "registrations say about this person or organisation (granted fields only)",
            response_model=SubjectFacts, responses=RESPONSES)(query.subject_facts)
