"""Short-lived signed links that let a citizen see their own cases (the dev stack's stand-in for
the province's unified login).

``hub citizen link SUBJECT_ID`` makes one; ``hub serve`` opens it at ``/citizen/<token>``. The
token is a Fernet token (AES-128-CBC + HMAC-SHA256, from ``cryptography``) over the subject id and
an expiry, under a key in a secret file beside the hub's other keys: it cannot be read (the
identity number is not in the URL for anyone to see), altered or extended, and it names one
subject only. In production a real identity provider replaces this: see README, "Citizen page".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from hub.security.secret_files import write_secret_file

DEFAULT_TTL_S = 15 * 60


class CitizenLinks:
    def __init__(self, key_file: Path, clock: Callable[[], float] = time.time):
        self._key_file, self._clock = Path(key_file), clock
        self._fernet: Fernet | None = None

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            if not self._key_file.exists():
                try:
                    write_secret_file(self._key_file, Fernet.generate_key(), exclusive=True)
                except FileExistsError:
                    pass  # another process made it first: use theirs
            self._fernet = Fernet(self._key_file.read_bytes().strip())
        return self._fernet

    def token_for(self, subject_id: str, ttl_s: float = DEFAULT_TTL_S) -> str:
        """A token for ``subject_id``'s page, good for ``ttl_s`` seconds."""
        body = json.dumps({"s": subject_id.strip(), "exp": int(self._clock() + ttl_s)}).encode()
        return self._cipher().encrypt(body).decode()

    def subject_of(self, token: str) -> str | None:
        """The subject a good, unexpired token names; None for anything else (never why: a
        forged, altered, expired or foreign token all read the same)."""
        try:
            body = json.loads(self._cipher().decrypt(token.encode()))
        except (InvalidToken, ValueError, TypeError):
            return None
        if not isinstance(body, dict) or not isinstance(body.get("s"), str) or not isinstance(body.get("exp"), int):
            return None
        return body["s"] if body["exp"] > self._clock() else None
