"""Subject timeline ("who has my data and why"): answer time among a million audit records.

    .venv/bin/python -m bench.timeline_bench                       # 1,000,000 records, ~6 minutes
    .venv/bin/python -m bench.timeline_bench --records 50000 --queries 200   # a quick look

The benchmark is the :mod:`bench.timeline` package; this module is its command
(``make bench-timeline``).
"""

import sys

from bench.timeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
