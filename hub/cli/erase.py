"""``hub erase SUBJECT_ID --basis "…"``: erase one person from the hub (PIPL art. 47).

Run by the operator (the broker's super user: it alone may tombstone the hub's key topic). In
this order, each step durable before the next, so an interrupted erasure is finished by running
it again (the keys are destroyed last; the ERASURE items have the same ids every time):

1. the request is checked (an identifier; a legal basis with no identifier in it) — bad input
   is refused naming the argument and the rule, and nothing is written;
2. the person's keys are read, and their cases: those filed under them (the case view) and those
   whose events carry fields sealed by their keys (the facts projection's index); the cases are
   checked against the legal holds: a registration the law keeps refuses the erasure, naming its
   type and the law, writing nothing;
3. an ERASURE work item goes to every department that received the person's data, one per item
   received: the department deletes or anonymises its own copy;
4. the erasure is audited (by pseudonym: basis, keys destroyed, departments told);
5. the person's keys are tombstoned on ``<prefix>.subject-keys``: their fields no longer open in
   any copy of the event log, and every hub process drops the keys within seconds.

Exit codes: 0 erased (or nothing held); 1 refused by a legal hold, or not audited; 2 invalid
arguments; 3 Kafka or the schema registry unavailable.
"""

from __future__ import annotations

import json

import typer

from hub.cli.context import clients, settings


def register(app: typer.Typer) -> None:
    app.command("erase")(erase)


def erase(
    subject_id: str = typer.Argument(..., help="The person's identity number (or certificate number)."),
    basis: str = typer.Option(..., "--basis", help="The legal ground of the request, kept in the "
                              "audit trail (e.g. 'PIPL art. 47(1): purpose achieved'); no identifiers."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be erased and who would "
                                 "be told; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Erase a person: destroy their keys (their fields on the event topics can never be read
    again), send an ERASURE item to every department that received their data, audit it.
    A legal hold on one of their registrations refuses the erasure and writes nothing."""
    from datetime import datetime, timezone

    from hub.domain.erasure import (erasure_id, erasure_items, hold_refusal, holds_from_settings,
                                    request_problems)
    from hub.domain.pseudonyms import normalised

    from hub.security.principals import Service

    if settings().principal != Service.OPERATOR.value:
        # The broker refuses a department's tombstones and inbox writes anyway (ACLs): say so first.
        raise typer.BadParameter(f"hub erase is the operator's; this process authenticates as "
                                 f"{settings().principal!r} (HUB_PRINCIPAL)")
    problems = request_problems(subject_id, basis)
    if problems:
        raise typer.BadParameter("; ".join(problems))

    from hub.kafka.key_feed import KeyFeed
    from hub.security.pseudonym_keys import pseudonyms_of

    subject, now = normalised(subject_id), datetime.now(timezone.utc)
    feed = KeyFeed(clients())
    try:
        keys = feed.keys_of(subject)
        cases = _cases_of(subject, keys)
        refusal = hold_refusal(cases, holds_from_settings(settings().erasure_holds), now)
        if refusal is not None:
            typer.echo(refusal, err=True)
            raise typer.Exit(1)
        ref = pseudonyms_of(settings()).of(subject)
        erasure = erasure_id(ref)
        items = erasure_items(cases, erasure, now)
        departments = sorted({i.department.value for i in items})
        result = {"erasure_id": erasure, "keys_erased": len(keys), "items_sent": len(items),
                  "departments": departments, "dry_run": dry_run}
        if not keys and not items:
            result["note"] = "the hub holds no keys and sent no data about this subject: nothing to erase"
        elif not dry_run:
            # Items, then the audit note, then the keys: if it stops half way the keys are still
            # there, and running it again finds the same cases and sends the same items.
            _send(items)
            _audit(erasure, ref, basis, len(keys), items, departments, now)
            feed.erase(keys)
    finally:
        feed.close()
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    elif "note" in result:
        typer.echo(result["note"])
    else:
        verb = "would be" if dry_run else "were"
        typer.echo(f"erasure {erasure}: {len(keys)} key(s) {verb} destroyed; {len(items)} ERASURE "
                   f"item(s) {verb} sent to {', '.join(departments) or 'no department'}"
                   f"{'' if dry_run else '; audited'}")


def _cases_of(subject: str, keys: frozenset[str]) -> list:
    """The person's cases: those filed under them (the case view), and those whose events carry
    their fields sealed by their keys (a legal representative: the case is the organisation's)."""
    from hub.cli.progress import progress_on_terminal
    from hub.errors import HubError
    from hub.projections.cases import CaseProjection
    from hub.projections.facts import FactsProjection

    facts, cases = FactsProjection(clients()), CaseProjection(clients())
    try:
        if not facts.sealed_index_complete():
            raise HubError(f"the facts view in {facts.path} predates the index of sealed fields "
                           "that finds a person's cases: run `hub rebuild facts` first")
        with progress_on_terminal("reading the events and the case view") as progress:
            facts.catch_up(progress)
            cases.catch_up(progress)
        found = {c.case_id: c for c in cases.for_subject(subject)}
        for case_id in facts.cases_sealed_by(keys):
            case = found.get(case_id) or cases.case(case_id)
            if case is not None:
                found[case_id] = case
        return list(found.values())
    finally:
        facts.close()
        cases.close()


def _send(items) -> None:
    """Each ERASURE item to its department's inbox, keyed like the item it refers to (so it comes
    after it); returns once the broker has them all."""
    from hub.kafka.failures import unavailable_as_hub_error
    from hub.kafka.topic_names import TopicNames
    from hub.wire.serde import model_serializer

    hub = clients()
    names, timeout = TopicNames(hub.settings.topic_prefix), hub.settings.publish_timeout_s
    encode = model_serializer(hub.registry, "WorkItem")
    with unavailable_as_hub_error("the ERASURE items could not be sent"):
        producer = hub.producer(client_id="oncehub-erase")
        try:
            sent = []
            for item in items:
                topic = names.inbox(item.department)
                sent.append(producer.send(topic, key=item.refers_to_item_id.encode(),
                                          value=encode(item, topic)))
            for future in sent:
                future.get(timeout=timeout)
        finally:
            producer.close(timeout=timeout)


def _audit(erasure: str, ref: str, basis: str, keys: int, items, departments: list[str], now) -> None:
    from hub.audit.intake import KafkaAuditIntake
    from hub.domain.audit_entries import ErasureNote
    from hub.replay.run import operator

    KafkaAuditIntake(clients()).post(ErasureNote(
        erasure_id=erasure, at=now, requested_by=operator(), subject_ref=ref, basis=basis.strip(),
        keys_erased=keys, items_sent=len(items), departments=departments))
