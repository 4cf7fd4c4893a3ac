"""``/citizen/<token>``: a citizen's own page — every case about them, which follow-on items were
completed in the back office, by which department, with which reference, when and whether on
time; and which departments received which of their data, under which legal basis. In Chinese,
with ``?lang=en`` for English.

The token is a signed, short-lived link (:mod:`hub.security.citizen_links`) that names one
subject: the page shows that subject's cases and nothing else, and a forged, altered or expired
link gets the same refusal. Each page shown is an audited read (``ReadNote``, role ``citizen``)
like any other disclosure.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from hub.api.citizen_pdf import citizen_pdf
from hub.api.console.routes import HERE, local_time
from hub.api.personal_reads import PersonalReads
from hub.domain.audit_entries import ReadNote
from hub.domain.case import CaseState, ItemState, ItemStatus
from hub.domain.catalogue import spec_for
from hub.domain.departments import Department
from hub.domain.disclosure_scope import timeline_case_ids
from hub.domain.field_labels import field_label
from hub.domain.ports import CaseReader, TimelineReader

LABELS = {
    "zh": {"title": "我的办件", "intro": "您在一个部门办理登记后，以下事项由相关部门在后台办结，您无需再跑腿。",
           "case": "办件", "registered": "登记", "item": "事项", "department": "部门", "status": "状态",
           "reference": "办结编号 / 说明", "done": "办结时间", "on_time": "是否按时", "yes": "按时",
           "no": "超时", "open": "办理中", "received": "哪些部门收到了您的哪些信息", "fields": "信息",
           "basis": "法律依据", "none": "暂无记录。", "other": "English", "expired": "链接无效或已过期，请重新获取。",
           "trips": "为您少跑腿（次）", "change_CORRECTION": "更正", "change_ANNULMENT": "撤销",
           "status_REQUESTED": "待办理", "status_DELIVERED": "已送达", "status_COMPLETED": "已办结",
           "status_REJECTED": "不予办理", "status_FAILED": "办理受阻"},
    "en": {"title": "My cases", "intro": "After you registered at one department, these follow-on items "
           "were completed by the other departments in the back office: no visit needed.",
           "case": "Case", "registered": "Registered", "item": "Item", "department": "Department",
           "status": "Status", "reference": "Reference / reason", "done": "Completed", "on_time": "On time",
           "yes": "on time", "no": "late", "open": "in progress",
           "received": "Which departments received which of your data", "fields": "Data", "basis": "Legal basis",
           "none": "Nothing recorded yet.", "other": "中文", "expired": "This link is not valid or has expired: ask for a new one.",
           "trips": "Visits you did not have to make", "change_CORRECTION": "correction",
           "change_ANNULMENT": "annulment", "status_REQUESTED": "requested", "status_DELIVERED": "delivered",
           "status_COMPLETED": "completed", "status_REJECTED": "refused", "status_FAILED": "held up"},
}


# A person's page: kept by no cache, and its address (the link) sent to no other site.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _department_name(value: str, lang: str) -> str:
    try:
        department = Department(value)
    except ValueError:
        return value
    return department.chinese_name if lang == "zh" else value.replace("_", " ").title()


def install_citizen_routes(app: FastAPI, subject_of: Callable[[str], str | None], cases: CaseReader,
                           timeline: TimelineReader | None, reads: PersonalReads) -> None:
    """``subject_of(token)``: the subject a good link names, else None (a
    :class:`~hub.security.citizen_links.CitizenLinks`' method)."""
    from fastapi.templating import Jinja2Templates

    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(when=local_time)

    async def view(token: str, lang: str) -> dict | None:
        """Everything both forms of the page show, the read audited; None for a bad link."""
        lang = "en" if lang == "en" else "zh"
        words = LABELS[lang]
        subject = subject_of(token)
        if subject is None:
            return None
        await run_in_threadpool(cases.catch_up)
        mine: list[CaseState] = await run_in_threadpool(cases.for_subject, subject)
        received: list[dict] = []
        case_ids = {c.case_id for c in mine}
        if timeline is not None:
            await run_in_threadpool(timeline.catch_up)
            found = await run_in_threadpool(timeline.subject_timeline, subject,
                                            reads.pseudonyms.lookup_keys(subject))
            received = found["departments"]
            case_ids.update(timeline_case_ids(found))
        await reads.disclosing(ReadNote(
            read_id=str(uuid4()), at=reads.clock(), token_id="citizen-link", role="citizen",
            route="citizen_page", subject_ref=reads.pseudonyms.of(subject), case_ids=sorted(case_ids),
            disclosed=bool(case_ids)))
        rows = [(case, item) for case in sorted(mine, key=lambda c: c.opened_at or reads.clock())
                for item in sorted(case.items.values(), key=lambda i: (i.department, i.item))]

        def verdict(item: ItemState) -> str:
            return {True: words["yes"], False: words["no"], None: words["open"]}[item.on_time()]

        def title_of(case: CaseState) -> str:
            if not case.event_type:
                return "?"
            return spec_for(case.event_type).title_zh if lang == "zh" else case.event_type.replace("_", " ")

        return {"lang": "zh-CN" if lang == "zh" else "en", "words": words, "rows": rows,
                "trips": sum(item.status is ItemStatus.COMPLETED for _, item in rows),
                "received": received, "verdict": verdict, "title_of": title_of,
                "department": lambda d: _department_name(d, lang), "other_lang": "en" if lang == "zh" else "zh",
                "field": lambda path: field_label(path, lang),
                "item_name": lambda i: i.name_zh if lang == "zh" else (i.name_en or i.item)}

    def refused(lang: str) -> HTMLResponse:
        words = LABELS["en" if lang == "en" else "zh"]
        return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>{words['title']}</title>"
                            f"<p>{words['expired']}</p>", status_code=403)

    @app.get("/citizen/{token}", include_in_schema=False)
    async def citizen_page(request: Request, token: str, lang: str = "zh") -> Response:
        shown = await view(token, lang)
        if shown is None:
            return refused(lang)
        return templates.TemplateResponse(request, "citizen.html", shown, headers=PRIVATE)

    @app.get("/citizen/{token}/pdf", include_in_schema=False)
    async def citizen_pdf_page(token: str, lang: str = "zh") -> Response:
        shown = await view(token, lang)
        if shown is None:
            return refused(lang)
        department, words = shown["department"], shown["words"]
        items = [[f"{shown['title_of'](case)} ({local_time(case.opened_at)})", shown["item_name"](item),
                  department(item.department), words[f"status_{item.status.value}"], item.reference or item.reason or "",
                  local_time(item.done_at), shown["verdict"](item)] for case, item in shown["rows"]]
        received = [[department(d["department"]), shown["field"](f["field"]), f["basis"] or ""]
                    for d in shown["received"] for f in d["fields"]]
        body = await run_in_threadpool(citizen_pdf, words, items, received, shown["trips"],
                                       local_time(reads.clock()))
        return Response(body, media_type="application/pdf",
                        headers={"Content-Disposition": 'inline; filename="my-cases.pdf"', **PRIVATE})
