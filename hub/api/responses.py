"""How the HTTP API reads a caller's token and answers a refusal or a failure.

Every error body has one shape, ``{"errors": [{field, rule, message}]}``. Routes answer their
own refusals (401, 413, 429, …) with :func:`problem`; a :class:`~hub.errors.HubError` raised
while serving a request is answered through the one table :data:`STATUS_CODES`, by the
exception handler :func:`install_error_answers` puts on the app — no route maps errors itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import NamedTuple, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub.api.tokens import Caller, TokenStore
from hub.domain.departments import Department
from hub.domain.redaction import redact
from hub.errors import (
    Conflict,
    FieldError,
    HubError,
    InvalidEvent,
    InvalidOption,
    NotAudited,
    NotFound,
    NotOwner,
    TopicMissing,
    PublishOutcomeUnknown,
    Unavailable,
    UnknownEventType,
    caused_by,
)

log = logging.getLogger(__name__)

# Retry-After (seconds) of a 503 whose error carries no hint of its own.
RETRY_AFTER_S = 5
# The message of a 500: the error itself goes to the log, not to the caller.
INTERNAL_MESSAGE = "the hub could not answer; the failure is in its log"

E = TypeVar("E", bound=BaseException)


class Answer(NamedTuple):
    """One row of :data:`STATUS_CODES`: errors of ``kind`` are answered ``status`` / ``rule``."""

    kind: type[HubError]
    status: int
    rule: str


# First match wins; an error matches a row if it, or an error that caused it, is of that kind
# (so the caller's mistakes come first, and a NotAudited caused by Unavailable keeps its rule).
# Every 503 carries Retry-After. An InvalidEvent is answered with its own field errors.
STATUS_CODES: tuple[Answer, ...] = (
    Answer(InvalidEvent, 422, "invalid_event"),
    Answer(InvalidOption, 422, "invalid_option"),
    Answer(UnknownEventType, 404, "unknown_event_type"),
    Answer(NotFound, 404, "not_found"),
    Answer(NotOwner, 403, "event_type_owner"),
    Answer(Conflict, 409, "conflict"),
    Answer(NotAudited, 503, "audit_unavailable"),
    # Sent, not acknowledged: the message names the event id to publish again.
    Answer(PublishOutcomeUnknown, 503, "outcome_unknown"),
    Answer(Unavailable, 503, "unavailable"),
    # A view's topic not provisioned yet: all the caller can do is retry, as with Unavailable.
    Answer(TopicMissing, 503, "unavailable"),
    Answer(HubError, 500, "internal"),
)


class _Error(BaseModel):
    field: str
    rule: str
    message: str


# The body of every refusal and failure, for ``responses=`` in the OpenAPI document (no
# docstring: it would become the schema's description and change the published document).
class Problems(BaseModel):
    errors: list[_Error]


def errors_response(status: int, errors: list[FieldError],
                    headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [e.as_dict() for e in errors]}, status, headers=headers)


def problem(status: int, rule: str, message: str,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """A refusal of the request as a whole (field ``(request)``)."""
    return errors_response(status, [FieldError("(request)", rule, message)], headers)


def unauthorised(reason: str = "missing or unknown bearer token") -> JSONResponse:
    """401: no good token; ``reason`` says which way (unknown, expired, revoked), naming no one."""
    return problem(401, "bearer_token", reason, {"WWW-Authenticate": "Bearer"})


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header (scheme case-insensitive)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def caller_department(tokens: TokenStore, request: Request) -> Department | None:
    """The department whose good department token the request carries; None otherwise."""
    token = bearer_token(request)
    return tokens.department_for(token) if token else None


def authenticate(tokens: TokenStore, request: Request) -> Caller | JSONResponse:
    """The caller the request's token stands for, or the 401 that refuses it (with why)."""
    checked = tokens.check(bearer_token(request))
    return checked if isinstance(checked, Caller) else unauthorised(checked.reason)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it, in the order :func:`hub.errors.caused_by` looks."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _first(exc: BaseException, kind: type[E]) -> E | None:
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def answer_for(exc: HubError) -> Answer:
    """The row of :data:`STATUS_CODES` that answers ``exc``."""
    return next(row for row in STATUS_CODES if caused_by(exc, (row.kind,)))


def retry_after_s(exc: BaseException) -> int:
    """The hint of the Unavailable that caused ``exc``, else :data:`RETRY_AFTER_S`."""
    unavailable = _first(exc, Unavailable)
    return unavailable.retry_after_s if unavailable else RETRY_AFTER_S


def hub_error_response(exc: HubError) -> JSONResponse:
    """``exc`` answered through :data:`STATUS_CODES`."""
    row = answer_for(exc)
    headers = {"Retry-After": str(retry_after_s(exc))} if row.status == 503 else None
    return errors_response(row.status, _errors_of(exc, row), headers)


def _errors_of(exc: HubError, row: Answer) -> list[FieldError]:
    """What the body lists: an invalid event's own field errors, else one ``(request)`` error."""
    invalid = _first(exc, InvalidEvent)
    if row.kind is InvalidEvent and invalid is not None:
        return invalid.errors
    message = INTERNAL_MESSAGE if row.status == 500 else redact(str(exc))
    return [FieldError("(request)", row.rule, message)]


async def _answer_hub_error(request: Request, exc: HubError) -> JSONResponse:
    response = hub_error_response(exc)
    if response.status_code == 500:
        # No route expects these: the caller gets no detail, the operator the whole error.
        log.error("%s %s failed", request.method, _route_of(request), exc_info=exc)
    return response


def _route_of(request: Request) -> str:
    """The route's template (``/v1/subjects/{subject_id}/facts``), so no subject id is logged."""
    route = request.scope.get("route")
    return getattr(route, "path", "?")


def install_error_answers(app: FastAPI) -> None:
    """Answer every :class:`HubError` a route raises through :data:`STATUS_CODES`."""
    app.add_exception_handler(HubError, _answer_hub_error)
