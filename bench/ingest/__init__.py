"""HTTP ingest throughput and latency: ``hub serve`` beside the Publisher SDK, the same events.

    .venv/bin/python -m bench.ingest_bench                     # default run, about 1½ minutes
    .venv/bin/python -m bench.ingest_bench --events 5000 --clients 64
    .venv/bin/python -m bench.ingest_bench --short             # 500 events, under a minute

For each HTTP mode the run starts ``hub serve`` as a child process (``python -m hub.cli serve``
on a free loopback port, with the run's fresh topic prefix and a tokens file of its own holding
one department token per department) and waits until ``/healthz`` answers. Every mode sends the
same seeded events (a mix of the six registration types from ``producers/demo_data.generate``):

* ``http`` — C concurrent clients (``--clients``, default 32), each with one keep-alive
  connection, POSTing the next event's JSON body to ``/v1/events/{event_type}`` with its
  department's bearer token as soon as the last one is answered. The load generator is
  :mod:`.rawhttp`, a minimal HTTP/1.1 client on asyncio streams (C tasks in one event loop in
  this process), because it costs about 0.2 ms of CPU per request where httpx costs several ms:
  on two cores, httpx would measure itself (see ``http_httpx``). Every request must be accepted
  (202 and a receipt).
* ``sdk`` — the same events through ``Publisher.publish_raw`` (one ``PublisherPool``, as the
  publish benchmark and ``hub serve`` itself use) from C threads: the SDK is thread-safe, so it
  runs at the same concurrency. HTTP ÷ this is the figure issue 14 sets a target for.
* ``http_httpx`` — a reference row: ``http`` again, on a fresh server, driven by one
  ``httpx.AsyncClient`` whose pool holds C keep-alive connections (C asyncio tasks).
* ``sdk_serial`` — a reference row: the same events from one thread, one synchronous publish
  after the other, as the publish benchmark measures the SDK.

Each mode starts cold (a fresh ``hub serve`` for each HTTP mode, a fresh pool for each SDK
mode: its own producer, schema ids and people's keys; every person in the events is new to it)
and gets ``--warmup`` uncounted events first, at the same concurrency. Latency is recorded per
request or call in an HdrHistogram (µs); the rate is events ÷ the wall time from the first send
to the last answer. CPU is read from ``/proc`` over the same window: the process that publishes
(``hub serve`` for the HTTP modes, this process for the SDK modes), the HTTP load generator
(this process, HTTP modes only), the broker, and the whole machine.

After each mode the run's event topics are read back: every acknowledged event id must be there
exactly once, on its receipt's topic, and no id may be there that no receipt names. Topics,
schema subjects, groups and work files are deleted at the end unless ``--keep``. Needs the dev
stack (``hub dev up``). Not a test: nothing here asserts on timings.

Modules: :mod:`.inputs` (events and request bodies), :mod:`.server` (``hub serve`` as a child),
:mod:`.load` (the timed passes), :mod:`.rawhttp` (the load generator), :mod:`.measure` (CPU from
``/proc``), :mod:`.check` (reading the topics back), :mod:`.report` (summaries and tables),
:mod:`.cli` (options and the run).
"""
