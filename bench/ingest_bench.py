"""HTTP ingest throughput and latency: ``hub serve`` beside the Publisher SDK, the same events.

    .venv/bin/python -m bench.ingest_bench                     # default run, about 1½ minutes
    .venv/bin/python -m bench.ingest_bench --events 5000 --clients 64
    .venv/bin/python -m bench.ingest_bench --short             # 500 events, under a minute

The benchmark is the :mod:`bench.ingest` package; this module is its command.
"""

import sys

from bench.ingest.cli import main

if __name__ == "__main__":
    sys.exit(main())
