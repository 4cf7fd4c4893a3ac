"""Every log record of a hub process passes through :func:`hub.domain.redaction.redact`.

Installed once at start-up by each entry point (the ``hub`` command, hence ``hub serve``,
``hub worker``, ``hub agencies run``), as a log-record factory rather than a handler's filter:
faust, uvicorn and kafka-python each add handlers of their own, and a factory reaches the records
of all of them. The hub's own messages are written not to carry personal data in the first place;
this is the net under them, for a library's text, a URL in uvicorn's access log (subject routes
carry the identity number in the path), or a traceback.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from hub.domain.redaction import redact

# Log lines are for operators; a long one is cut rather than flooding the log.
LOG_LIMIT = 4000

_installed = False


def _redacted(value: Any) -> Any:
    return redact(value, LOG_LIMIT) if isinstance(value, str) else value


class RedactedRecord(logging.LogRecord):
    """A log record whose message, string arguments and traceback are masked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn's access formatter reads the arguments themselves, not getMessage().
        if isinstance(self.args, tuple):
            self.args = tuple(_redacted(a) for a in self.args)
        elif isinstance(self.args, dict):
            self.args = {k: _redacted(v) for k, v in self.args.items()}
        if self.exc_info and self.exc_info[0] is not None:
            # Formatters reuse exc_text when it is set, so the traceback is masked once, here.
            self.exc_text = redact("".join(traceback.format_exception(*self.exc_info)).rstrip("\n"),
                                   LOG_LIMIT * 4)

    def getMessage(self) -> str:  # logging's name
        return redact(super().getMessage(), LOG_LIMIT)


def install() -> None:
    """Make every log record created from now on a :class:`RedactedRecord` (idempotent)."""
    global _installed
    if not _installed:
        logging.setLogRecordFactory(RedactedRecord)
        _installed = True
