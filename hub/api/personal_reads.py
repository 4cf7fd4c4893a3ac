"""What every HTTP read of personal data goes through: who asks, how often, and the audit note.

A read of cases or of a timeline is (1) refused with 401 without a good token — unknown, expired
or revoked, the reason says which; (2) refused with 429 and ``Retry-After`` past the token's read
limit (:mod:`hub.api.read_limit`); (3) scoped to what the caller may see
(:mod:`hub.domain.disclosure_scope`); (4) audited — a :class:`~hub.domain.audit_entries.ReadNote`
naming the token id, role, department, route and the case ids returned, the subject only by pseudonym —
and only then answered. An answer whose note cannot be posted is not given: 503
(:class:`~hub.errors.NotAudited`), nothing disclosed. A read that finds nothing the caller may see
(404) is audited too, but a failure to post that note is only logged: the answer discloses
nothing (and an unknown case and another department's case get the same 404 either way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from uuid import uuid4

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.api.read_limit import ReadLimiter
from hub.api.responses import authenticate, problem
from hub.api.tokens import Caller, Role, TokenStore
from hub.domain.audit_entries import ReadNote
from hub.domain.disclosure_scope import Scope
from hub.domain.ports import AuditNoteSink
from hub.domain.pseudonyms import Pseudonyms
from hub.domain.redaction import error_text
from hub.domain.sealing import utc_now
from hub.errors import NotAudited

log = logging.getLogger(__name__)


def scope_of(caller: Caller) -> Scope:
    """Operators and auditors see everything; a department its own share."""
    if caller.role is Role.DEPARTMENT and caller.department is not None:
        return Scope.of(caller.department)
    return Scope.everything()


def too_many_reads(limiter: ReadLimiter, caller: Caller) -> JSONResponse | None:
    """429 with ``Retry-After`` if ``caller``'s token is past its read limit (the read counts)."""
    wait = limiter.admit(caller.token_id)
    if wait is None:
        return None
    log.warning("token %s (%s) over its read limit of %s", caller.token_id, caller.role.value,
                limiter.describe())
    return problem(429, "read_rate_limit",
                   f"more than {limiter.describe()} reads of personal data with this token; "
                   f"retry after {wait} s", {"Retry-After": str(wait)})


class PersonalReads:
    """The gate and the audit of the case and timeline routes."""

    def __init__(self, tokens: TokenStore, limiter: ReadLimiter, audit_intake: AuditNoteSink,
                 pseudonyms: Pseudonyms, clock: Callable[[], datetime] = utc_now):
        self.tokens, self.limiter, self.audit_intake, self.clock = tokens, limiter, audit_intake, clock
        self.pseudonyms = pseudonyms

    def admit(self, request: Request) -> Caller | JSONResponse:
        """The caller, or the 401 / 429 that refuses the read (nothing read, nothing noted)."""
        caller = authenticate(self.tokens, request)
        if isinstance(caller, JSONResponse):
            return caller
        return too_many_reads(self.limiter, caller) or caller

    def note(self, caller: Caller, route: str, case_ids: list[str], *, subject: str | None = None,
             requested_case_id: str | None = None) -> ReadNote:
        return ReadNote(read_id=str(uuid4()), at=self.clock(), token_id=caller.token_id,
                        role=caller.role.value,
                        department=caller.department.value if caller.department else None,
                        route=route,
                        subject_ref=self.pseudonyms.of(subject) if subject is not None else None,
                        requested_case_id=requested_case_id, case_ids=sorted(set(case_ids)),
                        disclosed=bool(case_ids))

    async def disclosing(self, note: ReadNote) -> None:
        """Post the note of an answer; :class:`NotAudited` (503, nothing disclosed) if it is not
        durable, whatever the reason."""
        try:
            await run_in_threadpool(self.audit_intake.post, note)
        except Exception as exc:  # noqa: BLE001 - any failure: an unaudited disclosure must not happen
            log.warning("%s read by token %s not answered: audit intake unavailable: %s",
                        note.route, note.token_id, error_text(exc))
            raise NotAudited("the read cannot be audited now; nothing was disclosed") from exc
        log.info("%s read %s by token %s (%s %s): %d case(s)", note.route, note.read_id,
                 note.token_id, note.role, note.department or "-", len(note.case_ids))

    async def withholding(self, note: ReadNote) -> None:
        """Post the note of a read that found nothing to show; a failure is logged, not raised."""
        try:
            await run_in_threadpool(self.audit_intake.post, note)
        except Exception:  # noqa: BLE001 - the 404 discloses nothing: it stands, the gap is logged
            log.exception("could not audit a %s read by token %s that disclosed nothing",
                          note.route, note.token_id)
