"""Subject timeline ("who has my data and why"): answer time among a million audit records.

    .venv/bin/python -m bench.timeline_bench                       # 1,000,000 records, ~6 minutes
    .venv/bin/python -m bench.timeline_bench --records 50000 --queries 200   # a quick look

**Trail.** ``--records`` synthetic but well-formed audit records are written to the audit topic
of a fresh prefix (``bench-<uuid8>``), chained per partition with ``AuditRecord.after`` and keyed
and partitioned as the auditor does (case id; subject id for fact queries; replay id). Contents
come from the real entry builders (``decision_entry``, ``item_entry``, ``outcome_entry``,
``note_entry``) applied to real routed events — a few hundred templates per run, generated,
sealed and routed by the hub's own code — with ids, subjects and times substituted per case. The
mix per case is the hub's: one routing decision (2% HELD then RELEASED), one ``item_sent`` per
item, DELIVERED and a final outcome per item (≈95% COMPLETED, 3% REJECTED, 2% FAILED, plus 1%
OVERDUE flags); about 2% of records are fact queries, and one replay in every ~20,000 records
re-sends a few dozen items. Subjects recur: 30% of case subjects are drawn from those already
seen. ``--heavy`` subjects (default 10) are each put in enough cases to have about
``--heavy-records`` (default 1,000) records about them — the worst case of a timeline.
The producer is kafka-python with batching (linger 20 ms, 1 MiB batches, acks=1).

**Build.** ``TimelineProjection.catch_up`` reads the whole topic into a fresh SQLite file, timed
end to end (records/s).

**Answers.** For ``--queries`` subjects drawn uniformly from all subjects (and every heavy
subject ``--heavy-repeats`` times, and unknown subjects), the time of
``TimelineProjection.subject_timeline`` (SQLite lookups + assembly) and of
``GET /v1/audit/subjects/{id}`` through the FastAPI app (``TestClient``, in-process: includes the
catch-up to the topic's end — one ``end_offsets`` round trip to the broker — and JSON encoding),
each in an HdrHistogram (µs, 3 significant figures). Each answer is checked against what the
generator wrote for that subject (events, items received, fact queries).

**During a rebuild.** ``hub rebuild timeline`` then runs as its own process on the same file
(as an operator would, beside a running ``hub serve``) while this process keeps answering one
random subject every ``--rebuild-every-ms`` (default 20 ms). The table shows those answer times;
every answer is checked as above — an empty or half-built view would fail the check — and the
rebuild's wall time and records are reported (``--no-rebuild`` skips this part).

Deletes its topics and work files afterwards unless ``--keep``. Needs the dev stack (``hub dev
up``). Not a test: nothing asserts on timings.

Modules: :mod:`.trail` (the synthetic audit trail, writing it, checking an answer against it),
:mod:`.answers` (timing the answers, also during a rebuild), :mod:`.report` (the report),
:mod:`.cli` (options and the run). ``bench.verify_bench`` writes its trail with :mod:`.trail` too.
"""
