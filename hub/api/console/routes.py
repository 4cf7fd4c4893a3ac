"""``/console``: the operator's pages on ``hub serve``.

- ``/console`` — today's figures: trips saved (items completed in the back office), 按时办结率,
  overdue items per department, consumer lag per group, dead letters parked per topic;
- ``/console/cases?q=`` — a case by id, or every case about a subject; ``/console/cases/{id}`` —
  a case's timeline. These show people's cases, so each is audited like the API's reads (a
  ``ReadNote`` on the audit intake before the page is sent; 503 if it cannot be).

Operators only (:mod:`hub.api.console.sessions`). Figures come from the same functions as
``hub status`` and ``/metrics`` (:mod:`hub.domain.figures`, the broker's figures).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from hub.api.console.sessions import COOKIE, TTL_S, ConsoleSessions, same_origin
from hub.api.metrics_routes import BrokerFigures
from hub.api.personal_reads import PersonalReads
from hub.api.tokens import TokenStore
from hub.domain.case import CaseState, ItemState
from hub.domain.catalogue import spec_for
from hub.domain.common import CHINA_TZ
from hub.domain.figures import headline
from hub.domain.disclosure_scope import timeline_case_ids
from hub.domain.ports import CaseReader, TimelineReader
from hub.domain.replay import ReplayWindow
from hub.kafka.lag import lag_per_group

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
FORM_LIMIT = 4096  # a sign-in form: a token, no more


def local_time(moment: datetime | None) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _verdict(item: ItemState) -> str:
    if item.overdue and not item.final:
        return "OVERDUE"
    return {True: "on time · 按时", False: "late · 超时", None: "open"}[item.on_time()]


def _verdict_class(item: ItemState) -> str:
    return {"OVERDUE": "overdue", "late · 超时": "late", "on time · 按时": "ontime"}.get(_verdict(item), "")


def _to_login() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


def _gate(sessions: ConsoleSessions, request: Request, posting: bool = False):
    """The signed-in operator, or the response that turns the request away: to the sign-in page
    without a good session, 403 for a state-changing request from another origin."""
    caller = sessions.caller(request)
    if caller is None:
        return _to_login()
    if posting and not same_origin(request):
        return HTMLResponse("cross-origin request refused", status_code=403)
    return caller


async def _form(request: Request, limit: int = FORM_LIMIT) -> dict[str, list[str]]:
    """An urlencoded form body, read up to ``limit`` bytes."""
    return parse_qs((await request.body())[:limit].decode("utf-8", "replace"))


def install_console(app: FastAPI, tokens: TokenStore, cases: CaseReader, reads: PersonalReads | None,
                    broker: BrokerFigures | None = None, dead_letters=None, operations=None,
                    timeline: TimelineReader | None = None,
                    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
    """``dead_letters``: a :class:`~hub.kafka.dead_letters.DeadLetterDesk` (``letters()``,
    ``redrive(ids, requested_by)``, audited); ``operations``: ``verify()`` → (verdict, anchors)
    and ``dry_run(window, requested_by)`` → summary lines (:class:`ConsoleOperations` in
    ``hub serve``); ``timeline``: who has a subject's data and why (the audit trail's view).
    Without them those pages are not served."""
    sessions = ConsoleSessions(tokens)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(percent=_percent, when=local_time, verdict=_verdict, verdict_class=_verdict_class)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        # People's cases are on these pages: no cache keeps them.
        return templates.TemplateResponse(request, name, {"signed_in": True, **context}, status_code=status,
                                          headers={"Cache-Control": "no-store"})

    @app.get("/console/login", include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "login.html", {"signed_in": False})

    @app.post("/console/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        if not same_origin(request):
            return HTMLResponse("cross-origin sign-in refused", status_code=403)
        token = ((await _form(request)).get("token") or [""])[0]
        session, why = sessions.sign_in(token)
        if session is None:
            return templates.TemplateResponse(request, "login.html", {"signed_in": False, "error": why},
                                              status_code=401)
        answer = RedirectResponse("/console", status_code=303)
        answer.set_cookie(COOKIE, session, max_age=int(TTL_S), path="/console", httponly=True,
                          samesite="strict", secure=request.url.scheme == "https")
        return answer

    @app.post("/console/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        if not same_origin(request):
            return HTMLResponse("cross-origin request refused", status_code=403)
        sessions.sign_out(request)
        answer = _to_login()
        answer.delete_cookie(COOKIE, path="/console")
        return answer

    @app.get("/console", include_in_schema=False)
    async def today(request: Request) -> Response:
        if isinstance(denied := _gate(sessions, request), Response):
            return denied
        now = clock()
        await run_in_threadpool(cases.catch_up)
        everything = await run_in_threadpool(cases.all_cases)
        midnight = now.astimezone(CHINA_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        lags, parked, broker_error = [], {}, None
        if broker is not None:
            try:
                lags, parked = await run_in_threadpool(broker)
            except Exception as exc:  # noqa: BLE001 - the figures from the cases still stand
                broker_error = f"the broker's figures are unavailable now ({type(exc).__name__})"
        return page(request, "dashboard.html", at=local_time(now),
                    all=headline(everything, now), today=headline(everything, now, since=midnight),
                    lag=sorted(lag_per_group(lags).items()), broker_error=broker_error,
                    dead_letters=sorted((t, n) for t, n in parked.items() if n),
                    dead_letters_total=sum(parked.values()))

    @app.get("/console/cases", include_in_schema=False)
    async def search(request: Request, q: str = "") -> Response:
        if isinstance(caller := _gate(sessions, request), Response):
            return caller
        q = q.strip()
        found: list[CaseState] = []
        if q:
            await run_in_threadpool(cases.catch_up)
            case = await run_in_threadpool(cases.case, q)
            found = [case] if case is not None else await run_in_threadpool(cases.for_subject, q)
            if reads is None:
                return page(request, "cases.html", status=503, q=q, found=[])
            await reads.disclosing(reads.note(caller, "console_search", [c.case_id for c in found],
                                              subject=None if case is not None else q))
        return page(request, "cases.html", q=q, found=found)

    @app.get("/console/cases/{case_id}", include_in_schema=False)
    async def show_case(request: Request, case_id: str) -> Response:
        if isinstance(caller := _gate(sessions, request), Response):
            return caller
        await run_in_threadpool(cases.catch_up)
        case = await run_in_threadpool(cases.case, case_id)
        if case is None:
            return page(request, "cases.html", status=404, q=case_id, found=[])
        if reads is None:
            return HTMLResponse("case pages need the audit intake", status_code=503)
        await reads.disclosing(reads.note(caller, "console_case", [case.case_id], requested_case_id=case_id))
        items = sorted(case.items.values(), key=lambda i: (i.requested_at or case.opened_at or clock(), i.department))
        title = spec_for(case.event_type).title_zh if case.event_type else "?"
        return page(request, "case.html", case=case, items=items, title=title)

    if operations is not None:
        _install_operations(app, sessions, page, operations)
    if timeline is not None and reads is not None:
        @app.get("/console/subjects", include_in_schema=False)
        async def subject(request: Request, q: str = "") -> Response:
            if isinstance(caller := _gate(sessions, request), Response):
                return caller
            q = q.strip()
            if not q:
                return page(request, "subject.html", q="", timeline=None)
            await run_in_threadpool(timeline.catch_up)
            found = await run_in_threadpool(timeline.subject_timeline, q, reads.pseudonyms.lookup_keys(q))
            await reads.disclosing(reads.note(caller, "console_subject_timeline", timeline_case_ids(found),
                                              subject=q))
            return page(request, "subject.html", q=q, timeline=found)
    if dead_letters is None:
        return

    @app.get("/console/dead-letters", include_in_schema=False)
    async def letters(request: Request, redriven: str = "", gone: str = "") -> Response:
        if isinstance(denied := _gate(sessions, request), Response):
            return denied
        parked = await run_in_threadpool(dead_letters.letters)
        return page(request, "dead_letters.html", letters=parked, redriven=redriven, gone=gone,
                    redrivable=dead_letters.redrivable)

    @app.post("/console/dead-letters/redrive", include_in_schema=False)
    async def redrive(request: Request) -> Response:
        if isinstance(caller := _gate(sessions, request, posting=True), Response):
            return caller
        chosen = (await _form(request, 64 * 1024)).get("id", [])
        if not chosen:
            return RedirectResponse("/console/dead-letters", status_code=303)
        done = await run_in_threadpool(dead_letters.redrive, chosen, f"token:{caller.token_id}")
        return RedirectResponse(f"/console/dead-letters?redriven={done.sent}&gone={len(done.gone)}",
                                status_code=303)


def _install_operations(app: FastAPI, sessions: ConsoleSessions, page, operations) -> None:
    @app.get("/console/audit", include_in_schema=False)
    def audit_form(request: Request) -> Response:
        if isinstance(denied := _gate(sessions, request), Response):
            return denied
        return page(request, "audit.html", verdict=None, anchors={})

    @app.post("/console/audit", include_in_schema=False)
    async def audit_verify(request: Request) -> Response:
        if isinstance(denied := _gate(sessions, request, posting=True), Response):
            return denied
        verdict, anchors = await run_in_threadpool(operations.verify)
        return page(request, "audit.html", verdict=verdict, anchors=anchors)

    @app.get("/console/replay", include_in_schema=False)
    def replay_form(request: Request) -> Response:
        if isinstance(denied := _gate(sessions, request), Response):
            return denied
        return page(request, "replay.html", window_from="", window_to="", lines=[], error=None)

    @app.post("/console/replay", include_in_schema=False)
    async def replay_dry_run(request: Request) -> Response:
        if isinstance(caller := _gate(sessions, request, posting=True), Response):
            return caller
        form = await _form(request)
        start, end = (form.get(k, [""])[0].strip() for k in ("from", "to"))
        try:
            window = ReplayWindow(parse_moment(start, "from"), parse_moment(end, "to"))
        except ValueError as exc:
            return page(request, "replay.html", status=422, window_from=start, window_to=end, lines=[],
                        error=str(exc))
        lines = await run_in_threadpool(operations.dry_run, window, f"token:{caller.token_id}")
        return page(request, "replay.html", window_from=start, window_to=end, lines=lines, error=None)


def parse_moment(text: str, name: str) -> datetime:
    """ISO 8601; without an offset, China Standard Time (as the CLI reads it)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not an ISO 8601 date or date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)
