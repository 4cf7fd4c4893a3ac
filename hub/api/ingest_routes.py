"""``POST /v1/events/{event_type}``: department systems in any language publish events here.

Status codes: 202 + receipt; 401 missing, unknown, expired or revoked token; 404 unknown event
type; 403 event type owned by another department, or a token that is no department's (operator,
auditor); 413 body over the limit; 422 ``{"errors": [{field, rule, message}]}`` for malformed
JSON (an integer of more than :data:`MAX_INT_DIGITS` digits included) or broken rules; 503 +
``Retry-After`` when Kafka or the
registry cannot be reached. Nothing is written unless the answer is 202. The 404, 403, 422 and
503 come from the errors the catalogue and the publisher raise, through the status table of
:mod:`hub.api.responses`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.api.openapi import submission_body_schema
from hub.api.ports import PublisherFor
from hub.api.metrics_routes import count_ingest
from hub.api.responses import answer_for, authenticate, problem
from hub.api.tokens import TokenStore
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE, spec_for_publisher
from hub.errors import FieldError, HubError, InvalidEvent
from hub.kafka.topic_names import TopicNames


# Python refuses to convert longer digit strings (CVE-2020-10735); the body is refused with 422.
MAX_INT_DIGITS = 4300


class _LongInteger:
    """Stands in, while parsing, for an integer too long to convert; remembers its length."""

    def __init__(self, digits: int):
        self.digits = digits


def _parse_int(text: str) -> int | _LongInteger:
    digits = len(text.lstrip("-"))
    return _LongInteger(digits) if digits > MAX_INT_DIGITS else int(text)


def _long_integer_at(value: Any, path: str = "") -> tuple[str, _LongInteger] | None:
    """Where in the parsed body the first too-long integer is (``payload.spouse_a.x``, ``items[2]``)."""
    if isinstance(value, _LongInteger):
        return path or "(body)", value
    children = value.items() if isinstance(value, dict) else \
        ((f"[{i}]", v) for i, v in enumerate(value)) if isinstance(value, list) else ()
    for key, child in children:
        where = f"{path}{key}" if key.startswith("[") else f"{path}.{key}" if path else key
        if found := _long_integer_at(child, where):
            return found
    return None


class BodyTooLarge(Exception):
    """The request body exceeded ``max_body_bytes``."""


async def read_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing as soon as it passes ``limit`` (never buffers more)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def submission_of(event_type: str, raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; :class:`InvalidEvent` (422, field ``(body)``) if it is not."""
    try:
        body = json.loads(raw, parse_int=_parse_int)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidEvent(event_type, [FieldError("(body)", "json_invalid",
                                                   f"malformed JSON: {exc}")]) from exc
    if found := _long_integer_at(body):
        field, number = found
        raise InvalidEvent(event_type, [FieldError(
            field, "integer_digits",
            f"integer of {number.digits} digits: at most {MAX_INT_DIGITS} digits are accepted")])
    if not isinstance(body, dict):
        raise InvalidEvent(event_type, [FieldError("(body)", "object_type",
                                                   "body must be a JSON object")])
    return body


def install_ingest_routes(app: FastAPI, settings: HubSettings, tokens: TokenStore,
                          publisher_for: PublisherFor) -> None:
    """The catalogue listing and the publish route."""

    @app.get("/v1/event-types", summary="The event catalogue: types, owners, topics")
    def event_types() -> list[dict]:
        names = TopicNames(settings.topic_prefix)
        return [
            {"event_type": s.event_type.value, "title": s.title_zh, "owner": s.owner.value,
             "publishers": sorted(d.value for d in s.publishers),
             # the owner's topic; with several publishers, each writes its own ("topics")
             "topic": s.topic(settings.topic_prefix),
             "topics": {d.value: names.events(s, d) for d in sorted(s.publishers)},
             "schema_version": s.schema_version}
            for s in CATALOGUE.values()
        ]

    @app.post(
        "/v1/events/{event_type}",
        status_code=202,
        summary="Publish a registration event",
        openapi_extra=submission_body_schema(),
        responses={401: {}, 403: {}, 404: {}, 413: {}, 422: {}, 503: {}},
    )
    async def publish(event_type: str, request: Request):
        # Counted for /metrics whatever the answer: accepted, or refused by which rule.
        who = "unauthenticated"
        try:
            caller = authenticate(tokens, request)
            if not isinstance(caller, JSONResponse):
                who = caller.department.value if caller.department else caller.role.value
            response = await _publish(event_type, request, caller)
        except HubError as exc:
            count_ingest(event_type, who, answer_for(exc).status)
            raise
        count_ingest(event_type, who, response.status_code)
        return response

    async def _publish(event_type: str, request: Request, caller):
        if isinstance(caller, JSONResponse):
            return caller
        department = caller.department
        if department is None:
            return problem(403, "role", f"an {caller.role.value} token publishes no event: "
                                        "use the owning department's token")
        # UnknownEventType (404) or NotOwner (403) before the body is read, however large it is.
        spec_for_publisher(event_type, department)
        try:
            raw = await read_limited(request, settings.max_body_bytes)
        except BodyTooLarge:
            return problem(413, "max_body_bytes", f"body exceeds {settings.max_body_bytes} bytes")
        body = submission_of(event_type, raw)
        receipt = await run_in_threadpool(publisher_for(department).publish_raw, event_type, body)
        return JSONResponse(receipt.model_dump(), 202)
