"""Publish throughput and latency: the Publisher SDK beside a raw kafka-python producer.

    .venv/bin/python -m bench.publish_bench                    # default run, about 2 minutes
    .venv/bin/python -m bench.publish_bench --events 5000 --rounds 5 --event-type birth_certified

The benchmark is the :mod:`bench.publish` package; this module is its command (``make bench``).
"""

import sys

from bench.publish.cli import main

if __name__ == "__main__":
    sys.exit(main())
