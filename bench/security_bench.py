"""The cost of TLS + SASL: the same Kafka workload on the secured dev stack and a plaintext twin.

    .venv/bin/python -m bench.security_bench                    # default run, about 3 minutes
    .venv/bin/python -m bench.security_bench --rounds 9 --connections 40 --keep

The benchmark is the :mod:`bench.security` package; this module is its command
(``make bench-security``).
"""

import sys

from bench.security.cli import main

if __name__ == "__main__":
    sys.exit(main())
