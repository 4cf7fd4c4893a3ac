"""Router memory over a long run: RSS against events routed, and restart time against history.

    .venv/bin/python -m bench.rss_bench                      # 1,000,000 events (make bench-rss)
    .venv/bin/python -m bench.rss_bench --events 20000       # a short check

The benchmark is the :mod:`bench.rss` package; this module is its command (``make bench-rss``).
"""

import sys

from bench.rss.cli import main

if __name__ == "__main__":
    sys.exit(main())
