"""A subject's audit timeline: who has this person's (or organisation's) data, and why.

Pure assembly of what the timeline projection found for one subject in the audit trail:

- ``events`` — every routing decision about the subject (ROUTED / HELD / RELEASED), oldest first;
- ``recipients`` — every work item a department received about the subject: which fields, under
  which legal basis, when it was sent (and replayed), and what the department reported back;
- ``departments`` — the same, summed up per department (the short answer);
- ``fact_queries`` — every query a department made about the subject, answered or refused;
- ``erasures`` — every erasure of the subject (``hub erase``): when, by whom, on which basis,
  keys destroyed, departments sent an ERASURE item. After one, the subject's fields read
  "erased" everywhere the hub shows them; the trail itself never held them.

Item and outcome entries carry no subject ids: they reach the subject through the case ids of
the decisions about it. A field received is a leaf of the work item's data; its basis is the
grant it was projected from (the grant's field, or the longest grant that is a prefix of it).
Every entry names the audit record it comes from (``partition@offset``), so a reader can check
it against ``hub audit verify``.
"""

from __future__ import annotations

from collections.abc import Iterable

_OUTCOME_ORDER = {"DELIVERED": 0, "OVERDUE": 1, "COMPLETED": 2, "REJECTED": 2, "FAILED": 2}
FINAL = ("COMPLETED", "REJECTED", "FAILED")


def basis_of(field: str, grants: Iterable[dict] | dict[str, str]) -> str | None:
    """The legal basis under which ``field`` was granted: the grant naming it, or the grant of
    its nearest parent (``payload.spouse_a`` for ``payload.spouse_a.name``). ``grants`` is a list
    of ``{field, basis}`` or a ``field -> basis`` mapping."""
    by_field = grants if isinstance(grants, dict) else {g["field"]: g["basis"] for g in grants}
    name = field
    while name not in by_field:
        name, dot, _ = name.rpartition(".")
        if not dot:
            return None
    return by_field[name]


def _event(d: dict) -> dict:
    return {
        "event_id": d["event_id"], "event_type": d["event_type"],
        "source_department": d["source_department"], "case_id": d["case_id"], "at": d["at"],
        "decision": d["decision"], "change": d.get("change"),
        "pending_documents": list(d.get("pending_documents") or []),
        "items": [{"item_id": i["item_id"], "department": i["department"], "item": i["item"],
                   "deadline_at": i.get("deadline_at")} for i in d.get("items") or []],
        "withheld": [{"department": w["department"], "item": w["item"], "name_zh": w.get("name_zh"),
                      "reason": w["reason"]} for w in d.get("withheld") or []],
        "audit": d["audit"],
    }


def subject_names(content: dict) -> list[str]:
    """The names a decision or fact query gives its subjects: pseudonyms (``subject_refs``), or,
    in records written before pseudonyms, the numbers (``subject_ids``, ``subject_id``)."""
    names = content.get("subject_refs") or content.get("subject_ids")
    if names is None:
        names = [content["subject_id"]]  # a KeyError marks the content malformed
    return [str(n) for n in names]


def from_a_foreign_outcome_topic(content: dict) -> bool:
    """An outcome audited from a department's outcome topic (``<prefix>.outcomes.<dept>``) that
    names another department: a department reporting on an item that is not its own. Both
    projections of the timeline skip it, as the case view does; the audit chain keeps it."""
    topic = str((content.get("source") or {}).get("topic") or "")
    head, _, writer = topic.rpartition(".outcomes.")
    return bool(head) and writer != str(content.get("department", "")).lower()


def _recipient(item_id: str, sends: list[dict], outcomes: list[dict],
               replays: dict[str, dict], decided_for: str | None = None) -> dict | None:
    department = sends[0]["department"] if sends else decided_for
    # Only the department the item went to reports on it (an outcome naming another is dropped).
    outcomes = [o for o in outcomes if o.get("department") == department]
    if not sends and not outcomes:
        return None
    first = (sends or outcomes)[0]
    grants: dict[str, str] = {}  # field -> basis
    fields: set[str] = set()
    for send in sends:
        for grant in send.get("grants") or []:
            grants.setdefault(grant["field"], grant["basis"])
        fields.update(send.get("fields") or [])
    originals = [s for s in sends if not s.get("replay_id")]
    sent_at = min((s["at"] for s in originals or sends), default=None)
    replayed = []
    for send in sends:
        if send.get("replay_id"):
            note = replays.get(send["replay_id"], {})
            replayed.append({"replay_id": send["replay_id"], "at": send["at"],
                             "requested_by": note.get("requested_by"), "target": note.get("target"),
                             "audit": send["audit"]})
    seen, reported = set(), []
    for o in sorted(outcomes, key=lambda o: (o["at"], _OUTCOME_ORDER.get(o["status"], 9))):
        key = (o["status"], o["at"], o.get("reference"), o.get("reason"))
        if key not in seen:  # the same outcome reported twice (a redelivery) is one fact
            seen.add(key)
            reported.append({"status": o["status"], "at": o["at"], "reference": o.get("reference"),
                             "reason": o.get("reason"), "audit": o["audit"]})
    finals = [o["status"] for o in reported if o["status"] in FINAL]
    status = finals[-1] if finals else (reported[-1]["status"] if reported else "SENT")
    return {
        "department": first["department"], "item": first.get("item"), "item_id": item_id,
        "case_id": first["case_id"], "event_id": first.get("event_id"),
        "event_type": next((s.get("event_type") for s in sends), None),
        "change": next((s.get("change") for s in sends), None),
        "fields": [{"field": f, "basis": basis_of(f, grants)} for f in sorted(fields)],
        "sent_at": sent_at, "replays": replayed, "status": status, "outcomes": reported,
        "audit": [s["audit"] for s in sends],
    }


def department_summary(recipients: list[dict]) -> list[dict]:
    """Per department: how many items, which fields under which basis, first and last sent."""
    by_department: dict[str, dict] = {}
    for r in recipients:
        entry = by_department.setdefault(r["department"], {"department": r["department"], "fields": {},
                                                           "items": 0, "first_at": None, "last_at": None})
        entry["items"] += 1
        for f in r["fields"]:
            entry["fields"].setdefault((f["field"], f["basis"]), f)
        if r["sent_at"]:
            entry["first_at"] = min(filter(None, (entry["first_at"], r["sent_at"])))
            entry["last_at"] = max(filter(None, (entry["last_at"], r["sent_at"])))
    return [{**e, "fields": sorted(e["fields"].values(), key=lambda f: (f["field"], f["basis"] or ""))}
            for _, e in sorted(by_department.items())]


def subject_timeline(subject_id: str, decisions: Iterable[dict], sent: Iterable[dict],
                     outcomes: Iterable[dict], queries: Iterable[dict] = (),
                     replays: Iterable[dict] = (), erasures: Iterable[dict] = ()) -> dict:
    """The timeline of one subject from the rows found for it (any order; duplicates allowed).

    ``decisions``, ``sent`` and ``outcomes`` are audit contents (as the audit entry builders
    write them) of the subject's cases, each with ``audit`` (``"partition@offset"``);
    ``queries`` the fact queries about the subject; ``replays`` the replay notes the sent items
    refer to. An unknown subject gets an empty timeline, not an error.
    """
    events = sorted((_event(d) for d in decisions), key=lambda e: (e["at"], e["audit"]))
    notes = {r["replay_id"]: r for r in replays}
    sends_by_item: dict[str, list[dict]] = {}
    outcomes_by_item: dict[str, list[dict]] = {}
    for send in sorted(sent, key=lambda s: (s["at"], s["audit"])):
        sends_by_item.setdefault(send["item_id"], []).append(send)
    for outcome in outcomes:
        outcomes_by_item.setdefault(outcome["item_id"], []).append(outcome)
    # An item is one the router decided for this subject (its send may be audited after its
    # outcome): an outcome about any other item id is nobody's receipt of this person's data.
    decided = {i["item_id"]: i["department"] for e in events for i in e["items"]}
    recipients = [r for i in {**sends_by_item, **outcomes_by_item}
                  if (r := _recipient(i, sends_by_item.get(i, []), outcomes_by_item.get(i, []),
                                      notes, decided.get(i))) is not None]
    recipients.sort(key=lambda r: (r["sent_at"] or "~", r["department"], r["item_id"]))
    asked = sorted(({"query_id": q.get("query_id"), "department": q.get("department"),
                     "allowed": bool(q.get("allowed")), "fields": list(q.get("fields") or []),
                     "reason": q.get("reason"), "at": q["at"], "audit": q["audit"]} for q in queries),
                   key=lambda q: (q["at"], q["audit"]))
    erased = sorted(({"erasure_id": e["erasure_id"], "requested_by": e.get("requested_by"),
                      "basis": e.get("basis"), "keys_erased": e.get("keys_erased", 0),
                      "items_sent": e.get("items_sent", 0), "departments": list(e.get("departments") or []),
                      "at": e["at"], "audit": e["audit"]} for e in erasures),
                    key=lambda e: (e["at"], e["audit"]))
    return {"subject_id": subject_id, "events": events, "departments": department_summary(recipients),
            "recipients": recipients, "fact_queries": asked, "erasures": erased}


def is_empty(timeline: dict) -> bool:
    return not (timeline["events"] or timeline["recipients"] or timeline["fact_queries"]
                or timeline.get("erasures"))
