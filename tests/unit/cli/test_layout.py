"""The ``hub`` command's shape: every command path is mounted (a module whose ``register`` is
forgotten fails here), and HubErrors reach the exit codes of the one table."""

from __future__ import annotations

import pytest
import typer

from hub.cli.app import app
from hub.cli.errors import exit_code
from hub.errors import InvalidEvent, NotAudited, TopicMissing, Unavailable

COMMAND_PATHS = [
    "acl apply", "acl plan",
    "agencies run",
    "audit anchors", "audit rotate-key", "audit run", "audit subject", "audit verify",
    "case show", "case subject",
    "citizen link",
    "demo",
    "demo-data",
    "deadline-check",
    "dev down", "dev rotate", "dev status", "dev up",
    "dlq list", "dlq redrive",
    "erase",
    "keys init",
    "publish",
    "rebuild",
    "replay",
    "schemas check", "schemas register", "schemas show",
    "serve",
    "status",
    "tokens issue", "tokens list", "tokens revoke",
    "topics ensure", "topics retention",
    "worker",
]


def _paths(command, prefix: tuple[str, ...] = ()) -> set[str]:
    children = getattr(command, "commands", None)
    if children is None:
        return {" ".join(prefix)}
    return set().union(*(_paths(child, (*prefix, name)) for name, child in children.items()))


def test_every_command_path_is_mounted_and_no_other():
    assert _paths(typer.main.get_command(app)) == set(COMMAND_PATHS)


def _caused(error: Exception, cause: Exception) -> Exception:
    try:
        raise error from cause
    except Exception as exc:  # noqa: BLE001 - only to attach the cause as Python does
        return exc


@pytest.mark.parametrize("error, code", [
    (InvalidEvent("marriage_registered", []), 2),
    (Unavailable("Kafka at 127.0.0.1:9092 unavailable"), 3),
    (TopicMissing(["p.audit"]), 1),
    (_caused(NotAudited("replay not audited"), Unavailable("audit intake: KafkaConnectionError")), 3),
    (NotAudited("replay not audited"), 1),
], ids=["invalid-event", "unavailable", "topic-missing", "not-audited-unavailable", "not-audited"])
def test_the_exit_code_table(error, code):
    assert exit_code(error) == code
