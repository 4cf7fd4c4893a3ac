"""The terminal rendering of ``hub audit subject``: who has a subject's data, and why.

Kept apart from the command (:mod:`hub.cli.audit`): it turns the timeline the projection
answers with (plain dicts, as the HTTP API returns them) into lines, and reads nothing.
"""

from __future__ import annotations


def _at(value: str | None) -> str:
    """An audit time (ISO 8601 UTC) as ``YYYY-MM-DD HH:MM:SSZ``."""
    return f"{value[:10]} {value[11:19]}Z" if value else " " * 20


def _department(value: str | None) -> str:
    from hub.domain.departments import Department

    try:
        return f"{value} ({Department(value).chinese_name})"
    except ValueError:
        return value or "(unknown token)"


def _event_title(event_type: str) -> str:
    from hub.domain.catalogue import spec_for
    from hub.errors import UnknownEventType

    try:
        return f"{spec_for(event_type).title_zh} ({event_type})"
    except UnknownEventType:
        return event_type


def _fields(fields: list[dict]) -> list[str]:
    return [f"{f['field']}  [{f.get('basis') or 'no basis recorded'}]" for f in fields]


def timeline_lines(timeline: dict) -> list[str]:
    """The subject timeline for a terminal: who has the data, the events, each item, the queries."""
    subject, events = timeline["subject_id"], timeline["events"]
    recipients, queries = timeline["recipients"], timeline["fact_queries"]
    departments = timeline["departments"]
    erasures = timeline.get("erasures") or []
    if not (events or recipients or queries or erasures):
        return [f"{subject}: no audited data about this subject"]
    lines = [f"{subject}: {len(events)} event(s); {len(recipients)} item(s) received by "
             f"{len(departments)} department(s); {len(queries)} fact "
             f"{'query' if len(queries) == 1 else 'queries'}", "", "Who has the data, and why:"]
    for d in departments:
        lines.append(f"  {_department(d['department'])}: {d['items']} item(s), "
                     f"{_at(d['first_at']).strip()} … {_at(d['last_at']).strip()}")
        lines += [f"      {f}" for f in _fields(d["fields"])]
    if events:
        lines += ["", "Events:"]
    for e in events:
        pending = f" (waiting for {', '.join(e['pending_documents'])})" if e["pending_documents"] else ""
        lines.append(f"  {_at(e['at'])}  {_event_title(e['event_type'])} from {e['source_department']}: "
                     f"{e['decision']}{pending}, {len(e['items'])} item(s)  case {e['case_id']}  "
                     f"[audit {e['audit']}]")
        for w in e.get("withheld") or []:
            lines.append(f"      {_department(w['department'])} {w['item']}: {w['reason']}")
    if recipients:
        lines += ["", "Items received:"]
    for r in recipients:
        lines.append(f"  {_at(r['sent_at'])}  {r['department']:32} {r['item']} ({r['change']}): "
                     f"{r['status']}  item {r['item_id']}")
        lines.append(f"      fields: {', '.join(f['field'] for f in r['fields']) or '-'}")
        for replay in r["replays"]:
            lines.append(f"      replayed {_at(replay['at'])} ({replay['replay_id']}, "
                         f"by {replay['requested_by'] or '?'})")
        for o in r["outcomes"]:
            detail = o["reference"] or o["reason"] or ""
            lines.append(f"      {_at(o['at'])}  {o['status']:9} {detail}".rstrip())
    if queries:
        lines += ["", "Fact queries:"]
    for q in queries:
        verdict = "answered" if q["allowed"] else f"refused ({q['reason'] or 'no reason given'})"
        asked = ", ".join(f"{f['event_type']}.{f['field']}" for f in q["fields"]) or "-"
        lines.append(f"  {_at(q['at'])}  {_department(q['department'])}: {verdict}; fields {asked}")
    if erasures:
        lines += ["", "Erased (personal fields read \"erased\" everywhere since):"]
    for e in erasures:
        lines.append(f"  {_at(e['at'])}  by {e['requested_by']}, basis: {e['basis']}; "
                     f"{e['keys_erased']} key(s) destroyed; ERASURE item(s) sent: {e['items_sent']} "
                     f"to {', '.join(e['departments']) or 'no department'}  [audit {e['audit']}]")
    return lines
