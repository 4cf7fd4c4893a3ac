"""A reference agency behind a signed webhook, as the hub's webhook adapter calls it.

``POST /webhook`` takes a work item as JSON (see :mod:`adapters.webhook` for the request) and
answers:

- 200 ``{"reference": ...}`` — completed (also for a redelivered item: the same reference);
- 422 ``{"reason": ...}`` — the agency refused the item on its merits;
- 401 — missing, wrong or stale ``X-OnceHub-Signature`` (nothing is applied);
- 400 — body is not a work item, or ``Idempotency-Key`` is not its ``item_id``;
- 500 — the item is for another department: a routing/configuration error on the hub's side,
  answered as a server error so the adapter retries and then parks it for an operator rather
  than reporting a refusal the agency never made.

``GET /health`` reports the department and how many registrations it holds.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from adapters.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify_signature
from consumers.reference_agencies.base import ReferenceAgency
from hub.domain.outcomes import Completed
from hub.domain.routing import WorkItem


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def agency_webhook_app(agency: ReferenceAgency, secret: str | bytes, tolerance_s: float = 300.0
                       ) -> FastAPI:
    """A FastAPI app that verifies the hub's signature and hands each item to ``agency``."""
    if not secret:
        raise ValueError("webhook secret must not be empty")
    app = FastAPI(title=f"Reference agency {agency.department.value} ({agency.department.chinese_name})")

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        # The signature covers the raw bytes, so read them before any JSON parsing.
        body = await request.body()
        if not verify_signature(secret, request.headers.get(SIGNATURE_HEADER, ""), body, tolerance_s):
            return _error(401, f"missing, invalid or stale {SIGNATURE_HEADER}")
        try:
            item = WorkItem.model_validate_json(body)
        except ValidationError as exc:
            return _error(400, f"not a work item: {exc.error_count()} error(s), first at "
                               f"{'.'.join(map(str, exc.errors()[0]['loc'])) or '(body)'}")
        if request.headers.get(IDEMPOTENCY_HEADER) != item.item_id:
            return _error(400, f"{IDEMPOTENCY_HEADER} must equal the item's item_id")
        if item.department is not agency.department:
            return _error(500, f"this is the {agency.department.value} agency; "
                               f"the item is for {item.department.value}")
        # The agency's SQLite work is blocking; keep it off the event loop.
        result = await run_in_threadpool(agency, item)
        if isinstance(result, Completed):
            return JSONResponse({"reference": result.reference})
        return JSONResponse({"reason": result.reason}, status_code=422)

    @app.get("/health")
    def health() -> dict:
        return {"department": agency.department.value, "registrations": agency.count()}

    return app
