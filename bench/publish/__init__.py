"""Publish throughput and latency: the Publisher SDK beside a raw kafka-python producer.

    .venv/bin/python -m bench.publish_bench                    # default run, about 2 minutes
    .venv/bin/python -m bench.publish_bench --events 5000 --rounds 5 --event-type birth_certified

Modes compared (the ratio between them is the figure that matters):

* ``sdk`` — ``Publisher.publish_raw`` for each submission, synchronously: each call returns only
  after the broker's ack, as the SDK always does. One ``PublisherPool`` (one shared producer).
* ``raw`` — the very same key, value and header bytes the SDK produces for those submissions,
  sent by a plain ``KafkaProducer`` built by ``Clients.producer()``, the factory the SDK's
  publishers get theirs from (so acks=all, idempotent, linger_ms=0 by default, identical
  timeouts), ``send(...).get()`` per message, to a twin set of topics. What the SDK adds on top
  (validation, sealing, Avro serialisation, receipt) is the difference.

A second pair, ``sdk_linger5`` / ``raw_linger5``, repeats both with linger_ms=5 (everything else
as above): the setting the SDK shipped with first. Every synchronous publish then waits for a
batch that never fills, which is why the default is now 0 (``HUB_PRODUCER_LINGER_MS``).

One reference row with no SDK counterpart: ``raw_pipelined`` — every send in flight at once, one
flush at the end, on the SDK-configured producer. The SDK has no asynchronous publish, so there is no
SDK pipelined figure.

An in-process stage breakdown (no broker) shows where the SDK's time goes: validate+seal,
``model_dump`` to an Avro record, the bare fastavro encode, the Confluent ``AvroSerializer`` as a
whole, and ``publish_raw`` end to end against a null producer. Those runs also capture the exact
bytes the raw mode replays.

Rounds alternate the order of the two main modes (raw, sdk / sdk, raw / ...) so machine drift
hits both; the table shows the median over rounds. Every run publishes to fresh topics
(``bench-<uuid8>``) and deletes them and their schema subjects afterwards unless ``--keep``.
Needs the dev stack (``hub dev up``). Not a test: nothing here asserts on timings.

Modules: :mod:`.inputs` (submissions, twin topics), :mod:`.stages` (in-process breakdown),
:mod:`.live` (the timed modes against the broker), :mod:`.check` (reading the topics back),
:mod:`.report` (summaries and tables), :mod:`.cli` (options and the run).
"""
