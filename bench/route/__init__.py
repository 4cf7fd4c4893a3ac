"""Routing throughput and end-to-end latency: the router (`hub worker`) beside a raw pass-through.

    .venv/bin/python -m bench.route_bench                      # default run, about 3½ minutes
    .venv/bin/python -m bench.route_bench --events 10000 --rounds 3 --rate 40 --duration 60
    .venv/bin/python -m bench.route_bench --rate-fraction 0.5   # latency at half the router's max

**Throughput.** ``--events`` submissions (a seeded mix of the six registration types) are
published to fresh topics before anything is timed: the SDK's exact bytes (``publish_raw``
against a capturing producer, as in ``publish_bench``), replayed pipelined. Then these read that
backlog from the beginning, one after the other, each in its own child process:

* ``router`` — ``hub worker`` as shipped, started by ``WorkerProcess``: decode, route, one record
  per inbox item plus one routing decision per event, every send awaited before the next event.
* ``faust_raw`` — a faust app with the router's own settings (copied from ``create_app``'s
  conf), the router's raw topic helper, concurrency 1, each send awaited like the router's: it
  consumes the same event topics and produces the same key and value bytes to a sink topic.
* ``faust_fanout`` — the same, but writing each event items + 1 times (as many records as the
  router writes for it), all awaited: what the router's output volume costs without routing.
* ``inbox_fleet`` — the six reference agencies (``AgencyFleet``: one Inbox thread each, in one
  process), draining the items the router wrote in round 1; items/s counts final outcomes.
* ``quix_raw`` (reference) — the raw pass-through with Quix Streams (Python on librdkafka): bytes
  in, bytes out, one StreamingDataFrame per event topic, the same principal; Quix's default
  at-least-once guarantee (sends not awaited, a checkpoint every 5 s flushes the producer and
  commits), each record stamped by librdkafka when appended (Quix would copy the input's time).
* ``kafka_python_raw`` (reference) — the raw pass-through with kafka-python: poll, then
  ``send(...).get()`` per record and a commit per batch (the Inbox's loop shape), on the SDK's
  producer config.

A rate is taken from the output records' timestamps (CreateTime, set by the producing client
when it appends the record): records ÷ (last − first). Start-up, the group join and faust's
table recovery all happen before the first output, so they are excluded; a stall inside the run
is not, and shows as the longest pause. The router's events/s in count routing decisions, its
items/s out count inbox records. The ratio router ÷ faust_raw is taken per round, then the median.
Rounds use fresh prefixes (the router's group and outputs follow the prefix) and reverse the
order of the faust modes (and of the other libraries' two) every other round. CPU of the child,
of the broker and of the whole machine is read from /proc every 20 ms and taken between the
samples nearest to the first and the last output record: the same window as the rate.

**End-to-end latency.** With the router and the reference agencies (``AgencyFleet``, in a child
process) running, events are published open-loop: event *i* is due at start + i/rate, sent by
the SDK (``PublisherPool``, synchronous ``publish_raw``) from one of 8 sender threads taking
the events in due order. Each item's
latency runs from its event's *due* time (so a generator that falls behind is charged, not
hidden) to the arrival of its COMPLETED outcome at a consumer of the outcomes topic here, in an
HdrHistogram (µs, 3 significant figures). A case's latency runs to its last item's final outcome.
The generator's lag (send start − due) is reported beside it. The per-item time is split at the
routing decision's timestamp and the DELIVERED and COMPLETED outcomes' ``occurred_at`` (both
millisecond precision on the wire).
The rate is ``--rate``, or with ``--rate-fraction F`` F × the router's events/s measured by the
throughput part of the same run (rounded); the report gives the rate as a share of that maximum.
Every histogram is also recorded with HdrHistogram's expected-interval correction
(``record_corrected_value``, interval 1/rate): the table shows the corrected p50/p90/p99 and the
raw ones beside them; the JSON has both (``ms_corrected``, ``ms``).

An in-process breakdown (no broker) times the router's per-event work (Avro decode, the ``Event``
round trip, ``route``, encoding, ``RouterProcessor.process`` with and without the INFO line
``hub worker --loglevel info`` writes per event) and the inbox's per-item work (decode, outcomes,
the reference agency's SQLite transaction).

Every run uses fresh names (``bench-<uuid8>-…``) and deletes its topics, schema subjects,
consumer groups and working files afterwards unless ``--keep``. Needs the dev stack (``hub dev
up``). Not a test: nothing here asserts on timings.

Modules: :mod:`.workload` (the jobs and their item counts), :mod:`.measures` (rates from record
timestamps, CPU from /proc), :mod:`.children` (the pass-through baselines and the agency fleet
as child processes), :mod:`.modes` and :mod:`.checks` (a throughput round, its modes, reading
their output back), :mod:`.throughput` (running the modes), :mod:`.latency` (the open-loop
end-to-end run), :mod:`.stages` (the in-process breakdown), :mod:`.report` (the Markdown report),
:mod:`.cli` (options and the run).
"""
