"""The OpenAPI document: the ingest body (one JSON schema per event type, from the models), and
what a generated client needs beyond FastAPI's own document — the event types as an enum in the
publish path, the receipt and the error body (``{errors: [{field, rule, message}]}``) on every
response, every status a route can answer, the bearer-token scheme, and links from a receipt to
its case and from a case to its subjects' cases."""

from __future__ import annotations

import copy
from functools import lru_cache

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from hub.api.responses import Problems
from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import EventType
from hub.domain.receipts import Receipt

REF = "#/components/schemas/{model}"


@lru_cache(maxsize=1)
def _schemas() -> tuple[list[dict], dict]:
    """(one $ref per event type's submission, the component schemas they refer to)."""
    models = [spec.submission_model for spec in CATALOGUE.values()]
    mapping, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    return [mapping[(m, "validation")] for m in models], defs.get("$defs", {})


def submission_body_schema() -> dict:
    """``openapi_extra`` for the publish route: the body is one of the catalogue's submissions."""
    refs, _ = _schemas()
    return {
        "requestBody": {
            "required": True,
            "description": "A submission of the event type named in the path.",
            "content": {"application/json": {"schema": {"oneOf": refs}}},
        }
    }


def install_openapi(app: FastAPI) -> None:
    """Generate the spec once, adding the submission models to ``components.schemas``."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description,
                           routes=app.routes)
        spec.setdefault("components", {}).setdefault("schemas", {}).update(_schemas()[1])
        document(spec)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


PUBLIC = {"/healthz", "/v1/event-types", "/openapi.json"}  # answered without a token
PUBLISH = "/v1/events/{event_type}"
ERROR_BODY = {"$ref": REF.format(model="Problems")}
REASONS = {400: "Bad request.", 401: "Missing, unknown, expired or revoked bearer token.",
           403: "The token may not do this.", 404: "Not found, or not this token's to see.",
           409: "Conflicts with what the hub already holds.", 413: "Body larger than the limit.",
           422: "The request or the event is invalid: each error names the field and the rule.",
           429: "This token's limit is reached; retry after `Retry-After` seconds.",
           500: "The hub failed; the operator has the details.",
           503: "Kafka, the registry or the audit intake is unavailable; retry after `Retry-After` seconds."}
# Beyond what each route declares: what any authenticated route may answer (the error table of
# hub.api.responses: an unexpected HubError is a 500; an unreachable broker a 503).
ALWAYS = (500, 503)
PUBLISH_STATUSES = (401, 403, 404, 409, 413, 422, 500, 503)


def document(spec: dict) -> None:
    """Complete FastAPI's document in place (see the module's docstring)."""
    schemas = spec["components"]["schemas"]
    _, defs = models_json_schema([(Receipt, "serialization"), (Problems, "serialization")], ref_template=REF)
    schemas.update(defs.get("$defs", {}))
    spec["components"]["securitySchemes"] = {"bearerAuth": {
        "type": "http", "scheme": "bearer",
        "description": "A token from `hub tokens issue`: a department's, an operator's or an auditor's."}}
    for path, item in spec["paths"].items():
        for operation in item.values():
            responses = operation["responses"]
            if path not in PUBLIC:
                operation["security"] = [{"bearerAuth": []}]
                for status in ALWAYS:
                    responses.setdefault(str(status), {})
            for status, answer in responses.items():
                if int(status) >= 400:
                    if not answer.get("description"):
                        answer["description"] = REASONS.get(int(status), "Refused.")
                    answer["content"] = {"application/json": {"schema": ERROR_BODY}}
    _document_publish(spec)
    _link_cases(spec)


def _document_publish(spec: dict) -> None:
    """One operation per event type (``POST /v1/events/marriage_registered``, …), each with its
    own submission schema: with one templated path, a body valid for one type would be
    "valid" for every type's path, and a generated client could not tell which body goes where."""
    template = spec["paths"].pop(PUBLISH)["post"]
    refs = dict(zip((s.event_type.value for s in CATALOGUE.values()), _schemas()[0]))
    case = _operation_id(spec, "/v1/cases/{case_id}")
    for event_type, ref in refs.items():
        operation = copy.deepcopy(template)
        operation.pop("parameters", None)
        operation["operationId"] = f"publish_{event_type}"
        operation["summary"] = f"Publish a {event_type} event ({CATALOGUE[EventType(event_type)].title_zh})"
        operation["requestBody"] = {"required": True, "description": f"A {event_type} submission.",
                                    "content": {"application/json": {"schema": ref}}}
        responses = operation["responses"]
        for status in PUBLISH_STATUSES:
            responses.setdefault(str(status), {"description": REASONS[status],
                                               "content": {"application/json": {"schema": ERROR_BODY}}})
        responses["202"] = {
            "description": "Accepted: the event is durably on its topic (its receipt says where).",
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Receipt")}}},
        }
        if case is not None:  # a server with the case view
            responses["202"]["links"] = {"GetCase": {
                "operationId": case, "parameters": {"case_id": "$response.body#/case_id"},
                "description": "The case (一件事) this event opened or joined."}}
        spec["paths"][PUBLISH.replace("{event_type}", event_type)] = {"post": operation}


def _link_cases(spec: dict) -> None:
    case = spec["paths"].get("/v1/cases/{case_id}", {}).get("get")
    subject = _operation_id(spec, "/v1/subjects/{subject_id}/cases")
    if case is None or subject is None:
        return
    case["responses"]["200"]["links"] = {"GetSubjectCases": {
        "operationId": subject, "parameters": {"subject_id": "$response.body#/subject_ids/0"},
        "description": "Every case about the case's first subject."}}


def _operation_id(spec: dict, path: str) -> str | None:
    return spec["paths"].get(path, {}).get("get", {}).get("operationId")
