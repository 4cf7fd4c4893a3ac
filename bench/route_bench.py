"""Routing throughput and end-to-end latency: the router (`hub worker`) beside a raw pass-through.

    .venv/bin/python -m bench.route_bench                      # default run, about 3½ minutes
    .venv/bin/python -m bench.route_bench --events 10000 --rounds 3 --rate 40 --duration 60

The benchmark is the :mod:`bench.route` package; this module is its command (``make bench-route``).
"""

import sys

from bench.route.cli import main

if __name__ == "__main__":
    sys.exit(main())
