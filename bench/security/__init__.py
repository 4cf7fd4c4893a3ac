"""The cost of TLS + SASL: the same Kafka workload on the secured dev stack and on a plaintext twin.

    .venv/bin/python -m bench.security_bench                    # default run, about 3 minutes
    .venv/bin/python -m bench.security_bench --rounds 9 --connections 40 --keep

The secured stack is the dev stack at the hub's settings (``hub dev up``: SASL_SSL only,
SCRAM-SHA-512 over TLS against the local CA), used as the operator principal. The plaintext
twin is a second broker and registry started by the same code (``hub.devstack.stack.up``) with
``kafka_security="plaintext"``, its own state directory (``--twin-state-dir``) and free loopback
ports; it is reused if it already answers (a ``--keep`` run leaves it up) and stopped at the end
otherwise. The shared dev stack is never started, stopped or reconfigured.

Every client on both sides comes from ``Clients(settings).producer()`` / ``.consumer()``, so the
only difference is the transport: the same idempotent, acks=all, linger-0 producer config, the
same records. The records are the SDK's exact bytes for a seeded mix of the six registration
event types (``producers/demo_data.generate`` sealed and Avro-serialised by ``publish_raw``
against a capturing producer), written to the same fresh topic names (``bench-<uuid8>.…``) on both
clusters. Modes, each run on both stacks back to back, the order of the stacks alternating
between rounds:

* ``sync`` — ``send(...).get()`` per record on one long-lived producer: per-call latency
  (HdrHistogram, µs), events/s.
* ``pipelined`` — every record sent without waiting, one ``flush()``: throughput.
* ``read`` — a new consumer (no group) reads a pre-written backlog topic from the beginning to its
  end; its connection is made before the clock starts: records/s, MB/s.
* ``connect`` — a new producer each time: construction (bootstrap: TCP, TLS, SASL/SCRAM,
  ApiVersions, metadata), the first metadata for a topic, the first acknowledged send (a second
  connection, to the partition leader, and the idempotent producer id). Then it is closed.
* ``sdk`` — ``Publisher.publish_raw`` through one ``PublisherPool`` (validate, seal, serialise
  with each cluster's own registry, send, wait for the ack).

A broker JVM started minutes ago serves the same requests at several times the CPU of one
that has run for hours (its JIT has not compiled the hot paths yet), and the dev broker has run
for hours. So before anything is timed the twin gets ``--twin-warmup`` seconds (default 45) of the
same traffic on a topic of its own; the report shows its CPU per sync record, first to last.

Figures are medians over rounds; ratios (secured ÷ plaintext) are taken per round, both stacks
measured seconds apart, then the median. CPU per record is read for this process
(``time.process_time``) and for each broker (``/proc``; the shared dev broker's figure includes
whatever else runs against it). Topics and schema subjects are deleted on both clusters at the
end (``--keep-topics`` keeps them). Not a test: nothing here asserts on timings.

Modules: :mod:`.twin` (the plaintext twin stack), :mod:`.inputs` (records, topics, schemas),
:mod:`.live` (the timed modes), :mod:`.report` (medians, ratios, tables), :mod:`.cli` (options
and the run).
"""
