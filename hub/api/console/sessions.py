"""Console sign-in: an operator pastes a token once; the browser then holds only a random session
id in an HttpOnly, SameSite=Strict cookie (never the token), which expires after ``ttl``.

The token is checked again on every page (a revoked or expired token ends its sessions), and
state-changing requests must come from the console's own origin (the ``Origin`` header), so a
page elsewhere cannot post to it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from hub.api.tokens import Caller, Role, TokenStore

COOKIE = "oncehub_console"
TTL_S = 8 * 3600.0


@dataclass
class _Session:
    token: str
    expires: float


class ConsoleSessions:
    def __init__(self, tokens: TokenStore, ttl_s: float = TTL_S,
                 monotonic: Callable[[], float] = time.monotonic):
        self._tokens, self._ttl_s, self._monotonic = tokens, ttl_s, monotonic
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def sign_in(self, token: str) -> tuple[str | None, str]:
        """(a new session id, "") for a good operator token; (None, why not) otherwise."""
        checked = self._tokens.check(token.strip())
        if not isinstance(checked, Caller):
            return None, "unknown, expired or revoked token"
        if checked.role is not Role.OPERATOR:
            return None, "the console is for operator tokens (`hub tokens issue --role operator`)"
        session = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session] = _Session(token.strip(), self._monotonic() + self._ttl_s)
        return session, ""

    def caller(self, request: Request) -> Caller | None:
        """The operator behind the request's session cookie, if it is still good."""
        session = request.cookies.get(COOKIE)
        with self._lock:
            held = self._sessions.get(session or "")
            if held is not None and held.expires <= self._monotonic():
                del self._sessions[session]
                held = None
        if held is None:
            return None
        checked = self._tokens.check(held.token)
        if not isinstance(checked, Caller) or checked.role is not Role.OPERATOR:
            self.sign_out(request)
            return None
        return checked

    def sign_out(self, request: Request) -> None:
        with self._lock:
            self._sessions.pop(request.cookies.get(COOKIE) or "", None)


def same_origin(request: Request) -> bool:
    """A state-changing request came from this server's own pages (browsers send ``Origin`` on
    every POST; a request without one is refused too)."""
    origin = request.headers.get("origin")
    return origin is not None and origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"
