"""The ``hub`` command: one entry point for operators, departments and developers.

This module only builds the root command and mounts the command groups: each module in
:data:`COMMAND_MODULES` adds its commands with ``register(app)``. Environment is read per
invocation by :mod:`hub.cli.context`. Exit codes (:mod:`hub.cli.errors`): 0 ok, 1 error,
2 invalid input (field errors printed), 3 Kafka or registry unavailable.
"""

from __future__ import annotations

import logging

import typer

from hub.cli import (
    acl,
    agencies,
    audit,
    cases,
    citizen,
    dead_letters,
    demo,
    dev,
    erase,
    keys,
    publishing,
    rebuild,
    redacted_logging,
    replay,
    schemas,
    serve,
    status,
    tokens,
    topics,
    worker,
)
from hub.cli.context import open_for
from hub.cli.errors import HubErrorExits

# In this order: `hub --help` lists the commands, then the groups, each in the order registered.
COMMAND_MODULES = (status, rebuild, publishing, serve, worker, demo, replay, erase,
                   dev, schemas, topics, acl, tokens, keys, cases, citizen, dead_letters, agencies, audit)

app = typer.Typer(cls=HubErrorExits, help="Once-Only Hub — 数据多跑路，群众少跑腿.", no_args_is_help=True)


@app.callback()
def _main(ctx: typer.Context,
          verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level.")) -> None:
    redacted_logging.install()  # before anything logs: every record of this process is masked
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # kafka-python logs every metadata retry at ERROR; the hub reports the outcome itself.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    open_for(ctx)


for _module in COMMAND_MODULES:
    _module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
