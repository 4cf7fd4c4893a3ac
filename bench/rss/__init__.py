"""Router memory over a long run: the worker's RSS sampled across many routed events, and its
restart time early and late in the history.

    .venv/bin/python -m bench.rss_bench                          # 1,000,000 events (make bench-rss)
    .venv/bin/python -m bench.rss_bench --events 20000           # a short check

**Method.** A fresh prefix is provisioned (``provision_catalogue``, ``--partitions`` partitions)
and one ``hub worker`` is started by ``WorkerProcess`` with its own log file. ``--events``
registration events are fed to it, each with an event id never used before, so its
``routed-events`` and ``case-openers`` tables gain an entry per event — the history whose
growth the benchmark is about. The events are a pool of ``--pool`` submissions (the routing
benchmark's seeded mix of the six registration types), sealed and Avro-encoded once by the
SDK's ``publish_raw``, each sent with a fresh event id (and so a fresh ``case-<id>``) written into
its bytes (:mod:`.feed`). One batching kafka-python producer from ``Clients`` sends them, in
chunks whenever fewer than half of ``--backlog`` events wait to be routed, so the router runs
at its own pace with a bounded backlog.

Every ``--sample-s`` seconds the worker's RSS (VmRSS of the router process, from /proc) is
sampled with the events its consumer group has committed on the event topics, the size of its
table files on disk, and the RSS of its children at that moment — the deadline check's child
process, one round a minute, which exits when done — reported beside the router's own
(:mod:`.sampling`). The curve (events routed → RSS) is in
the results, one row per 100,000 events in the report (a tenth of a shorter run). "Flat" is
read on the last worker's samples past its first tenth: the RSS range, and the least-squares
slope in MB per 100k events.

**Restarts.** After ``--restart-at`` of the events (default 10 %) and again at the end, the
worker is stopped (SIGTERM) once everything is routed, a new one started, and one fresh event
published at once; the time runs from the start to its routing decision's CreateTime on
``<prefix>.routing``. ``--cold-restart`` adds a third with the table files deleted, so the
tables are rebuilt from their changelogs (what a router on a new machine does).

**Checks.** No dead letters on ``<prefix>.dlq``, the group's committed offsets equal the event
topics' ends, at least one routing decision per event. The run's topics, subjects, groups, table
files and case projection are deleted afterwards (not with ``--keep``; the worker logs are kept
if something failed). Needs the dev stack (``hub dev up``).

Modules: :mod:`.feed` (the pool, the stamped ids, the backlog rule), :mod:`.sampling` (RSS from
/proc, the curve and its summary), :mod:`.watch` (offsets, dead letters, a decision),
:mod:`.run` (feeding, sampling, restarts, checks), :mod:`.report`, :mod:`.cli`.
"""
