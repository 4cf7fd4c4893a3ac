"""``hub replay``: route the events of a time window again and send their work items once more.

    summary = run_replay(clients, ReplayRequest(ReplayWindow(start, end), to_file=None))

The steps, one module each: :mod:`hub.replay.reader` plans the offsets and reads every event
topic in timestamp order; :mod:`hub.replay.window_router` routes them with the router's own
code (the context before the window rebuilds its memory, nothing of it is sent);
:mod:`hub.replay.sinks` sends the window's items to the inboxes, a file, or nowhere. This module
runs them and audits the replay: a :class:`ReplayNote` goes to the audit-note sink before
``run_replay`` returns; if that fails, a file is not put in place and :class:`ReplayNotAudited`
is raised. Events are decoded with the registry's writer schemas resolved to the local ones (as
the router decodes), so events written with an older schema version replay like new ones.
"""

from __future__ import annotations

import getpass
import logging
import os
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from kafka import TopicPartition
from kafka.errors import KafkaError

from hub.audit.intake import KafkaAuditIntake
from hub.domain.audit_entries import ReplayNote, iso
from hub.domain.catalogue import CATALOGUE
from hub.domain.envelope import FOLLOW_UPS
from hub.domain.redaction import described
from hub.domain.replay import ReplayRequest, ReplaySummary
from hub.errors import NotAudited
from hub.kafka.clients import Clients
from hub.kafka.key_feed import KeyFeed
from hub.kafka.topic_names import TopicNames
from hub.domain.ports import AuditNoteSink, ReplaySink
from hub.replay.reader import TimeOrderedReader, plan_ranges
from hub.replay.retry import ReplayUnavailable, retrying
from hub.replay.sinks import sink_for
from hub.replay.window_router import WindowRouter
from hub.security.pseudonym_keys import pseudonyms_of
from hub.rules import load_rules
from hub.wire.serde import event_view_decoders
from hub.worker.processor import SourceRecord

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (records read so far, records to read in total)

__all__ = ["ReplayNotAudited", "ReplayUnavailable", "operator", "post_note", "run_replay"]


class ReplayNotAudited(NotAudited):
    """The replay ran but its audit note could not be posted."""

    def __init__(self, summary: ReplaySummary, cause: BaseException):
        self.summary = summary
        where = ("no file was written" if summary.request.to_file and not summary.request.dry_run
                 else f"{summary.emitted} item(s) were sent" if not summary.request.dry_run
                 else "nothing was written")
        super().__init__(f"replay {summary.replay_id} was NOT audited ({where}): "
                         f"{type(cause).__name__}: {cause}")


# -- the replay ---------------------------------------------------------------------------------
def operator() -> str:
    """The OS user running the replay (``uid:<n>`` where the system has no name for it)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return f"uid:{os.getuid()}"


def post_note(audit: AuditNoteSink, summary: ReplaySummary, requested_by: str,
              now: datetime | None = None, pseudonym: Callable[[str], str] | None = None) -> None:
    """The replay's audit note, durable when this returns. A subject filter is noted by its
    ``pseudonym`` (required with one): the chain keeps the note forever."""
    request = summary.request
    filters = request.filters.as_dict()
    if request.filters.subject is not None:
        if pseudonym is None:
            raise ValueError("a replay by subject needs the pseudonym to note it by")
        del filters["subject"]
        filters["subject_ref"] = pseudonym(request.filters.subject)
    note = ReplayNote(
        replay_id=summary.replay_id, requested_by=requested_by,
        at=now or datetime.now(timezone.utc), window_from=request.window.start,
        window_to=request.window.end,
        filters={**filters,
                 "context_from": iso(request.context_from) if request.context_from else None},
        target=request.target, dry_run=request.dry_run, read=summary.read, matched=summary.matched,
        emitted=summary.emitted, status=summary.status, error=summary.error,
    )
    audit.post(note)


def _router(clients: Clients, request: ReplayRequest, summary: ReplaySummary) -> WindowRouter:
    names, registry = TopicNames(clients.settings.topic_prefix), clients.registry
    # A person erased since reads "erased" in the items sent again: never their old values.
    decoders = event_view_decoders(registry, KeyFeed(clients).open)
    return WindowRouter(
        rules=load_rules(), names=names,
        specs_by_topic=names.event_specs(),
        decode=lambda spec, data, topic: decoders[spec.event_type](data, topic),
        window=request.window, filters=request.filters, summary=summary,
    )


def _replay(clients: Clients, request: ReplayRequest, summary: ReplaySummary,
            sink: ReplaySink, progress: Progress | None) -> None:
    settings = clients.settings
    names = TopicNames(settings.topic_prefix)
    router = _router(clients, request, summary)
    with clients.reading(group_id=None, client_id="oncehub-replay",
                         max_partition_fetch_bytes=4 * 1024 * 1024,
                         bootstrap_timeout_ms=max(int(settings.publish_timeout_s * 1000), 2_500)
                         ) as consumer:
        ranges, window_start = plan_ranges(consumer, names.all_events(), request)
        # Follow-ups (supplements, consent withdrawals) after the registration they name when
        # both carry the same time.
        follow_ups = [t for kind in FOLLOW_UPS for t in names.topics_of(CATALOGUE[kind])]
        reader = TimeOrderedReader(consumer, ranges, last_topics=frozenset(follow_ups))
        total, done, shown = reader.total, 0, time.monotonic()
        if progress:
            progress(0, total)
        for rec in reader:
            tp = TopicPartition(rec.topic, rec.partition)
            source = SourceRecord(rec.topic, rec.partition, rec.offset, rec.key, rec.value)
            in_range = rec.offset >= window_start[tp]
            for replayed in retrying(lambda: router.feed(source, rec.timestamp, in_range)):
                sink.emit(replayed)
                summary.emitted += 1
                summary.by_department[replayed.item.department.value] += 1
            done += 1
            if progress and time.monotonic() - shown > 0.1:
                progress(done, total)
                shown = time.monotonic()
        sink.finish()
        if progress:
            progress(total, total)


def run_replay(clients: Clients, request: ReplayRequest, progress: Progress | None = None,
               *, requested_by: str | None = None, audit: AuditNoteSink | None = None
               ) -> ReplaySummary:
    """Replay ``request``; returns the summary once the items are durable and the replay audited.

    ``audit``: where the replay note goes (the audit intake on Kafka by default). Raises
    :class:`ReplayUnavailable` (Kafka or registry unreachable), :class:`ReplayNotAudited`, or
    :class:`~hub.errors.TopicMissing`; a failed replay is audited as failed when possible.
    """
    audit = audit or KafkaAuditIntake(clients)
    pseudonym = (pseudonyms_of(clients.settings).of
                 if request.filters.subject is not None else None)
    summary = ReplaySummary(replay_id=str(uuid.uuid4()), request=request)
    who = requested_by or operator()
    started = time.perf_counter()
    sink: ReplaySink | None = None
    try:
        try:
            sink = sink_for(clients, request, summary.replay_id, datetime.now(timezone.utc))
            _replay(clients, request, summary, sink, progress)
        except KafkaError as exc:
            raise ReplayUnavailable(
                f"Kafka at {clients.settings.bootstrap_servers} unavailable: {exc}") from exc
    except BaseException as exc:
        summary.seconds = time.perf_counter() - started
        summary.status, summary.error = "failed", described(exc)
        if sink is not None:
            sink.abort()
        try:
            post_note(audit, summary, who, pseudonym=pseudonym)
            summary.audited = True
        except Exception as note_exc:  # noqa: BLE001 - the replay's own failure is what to report
            log.error("replay %s failed and its audit note could not be posted: %s",
                      summary.replay_id, note_exc)
        raise
    summary.seconds = time.perf_counter() - started
    try:
        post_note(audit, summary, who, pseudonym=pseudonym)
    except Exception as exc:
        sink.abort()
        raise ReplayNotAudited(summary, exc) from exc
    summary.audited = True
    sink.commit()
    return summary
