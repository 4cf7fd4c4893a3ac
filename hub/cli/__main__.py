"""``python -m hub.cli …``: the ``hub`` command without the console script (how
:mod:`hub.worker.process` starts a router)."""

from hub.cli.app import main

main()
