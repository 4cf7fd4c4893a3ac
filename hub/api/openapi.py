"""OpenAPI description of the ingest body: one JSON schema per event type, from the models."""

from __future__ import annotations

from functools import lru_cache

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from hub.domain.catalogue import CATALOGUE

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
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
