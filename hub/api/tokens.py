"""Bearer tokens for the HTTP API, kept as SHA-256 hashes: who a token is, and whether it is good.

A token has a **role**: ``department`` (one department's system: it publishes that department's
events and reads only what concerns that department), ``operator`` or ``auditor`` (read
everything, publish nothing). Each token also has a short, non-secret **id** (what logs, audit
notes and ``hub tokens list`` / ``revoke`` name), a label, when it was issued, when it expires
(``expires_at``; issued tokens always expire, :data:`DEFAULT_EXPIRY` unless told otherwise) and,
once revoked, when (``revoked_at``). An expired or revoked token is refused with that reason.

Tokens are issued by ``hub tokens issue``, shown once, and stored only as hashes in the tokens
file (``HUB_TOKENS_FILE``, default ``<state_dir>/tokens.json``; mode 0600, replaced atomically,
read-modify-write under a lock on its directory). A store loaded from the file notices when the
file changes, so ``hub tokens revoke`` takes effect on a running server at its next request.
Records of files written before roles existed load as ``department`` tokens that never expire,
with an id derived from their hash. No token is hard-coded anywhere; a hub with no tokens file
accepts no HTTP request that needs one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ValidationError, model_validator

from hub.domain.departments import Department
from hub.domain.sealing import utc_now
from hub.errors import ConfigurationError, InvalidOption, NotFound

DEFAULT_EXPIRY = timedelta(days=90)  # what `hub tokens issue` gives without --expires-in


class Role(StrEnum):
    DEPARTMENT = "department"  # one department's system: its own events, its own share of cases
    OPERATOR = "operator"  # runs the hub: reads every case and timeline, publishes nothing
    AUDITOR = "auditor"  # checks the hub: reads every case and timeline, publishes nothing


class TokenRecord(BaseModel):
    """One issued token, as stored: its hash, never the token."""

    id: str = ""  # short and not secret; derived from the hash for records written before ids
    role: Role = Role.DEPARTMENT
    department: Department | None = None
    sha256: str
    label: str = ""
    issued_at: datetime
    expires_at: datetime | None = None  # None: never (only records written before expiry existed)
    revoked_at: datetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "TokenRecord":
        if self.role is Role.DEPARTMENT and self.department is None:
            raise ValueError("a department token names its department")
        if self.role is not Role.DEPARTMENT and self.department is not None:
            raise ValueError(f"an {self.role.value} token belongs to no department")
        if not self.id:
            self.id = self.sha256[:8]
        return self

    def refusal(self, now: datetime) -> str | None:
        """Why this token is refused at ``now`` (None while it is good)."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return "bearer token revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "bearer token expired"
        return None


class TokenFile(BaseModel):
    tokens: list[TokenRecord] = []


@dataclass(frozen=True)
class Caller:
    """Who a good token says the caller is."""

    token_id: str
    role: Role
    department: Department | None
    label: str = ""


@dataclass(frozen=True)
class Refused:
    """Why a presented token (or its absence) is refused; the reason names no one."""

    reason: str


UNKNOWN = Refused("missing or unknown bearer token")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _read(path: Path) -> TokenFile:
    if not path.exists():
        return TokenFile()
    try:
        return TokenFile.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise ConfigurationError(f"tokens file {path} is malformed: {exc}") from None


def _write(path: Path, content: TokenFile) -> None:
    """Replace ``path`` atomically (a starting server never reads half a file), mode 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(content.model_dump(mode="json"), indent=2))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _editing(path: Path) -> Iterator[TokenFile]:
    """The file's content, written back when the block ends; one editor at a time (a lock on
    the directory, so no lock file is left beside the tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        content = _read(path)
        yield content
        _write(path, content)
    finally:
        os.close(fd)  # releases the lock


class TokenStore:
    """Resolves a presented bearer token to its :class:`Caller`, or says why it is refused.

    ``clock`` tells expiry. A store :meth:`load`-ed from a file re-reads it whenever it has
    changed (revocations and new tokens apply without a restart); a file that has become
    malformed is a :class:`ConfigurationError` at the next request, never an open door."""

    def __init__(self, records: list[TokenRecord], clock: Callable[[], datetime] = utc_now,
                 path: Path | None = None):
        self._clock, self._path = clock, path
        self._lock = threading.Lock()
        self._stamp: tuple | None = self._stamp_of(path) if path else None
        self._by_hash = {r.sha256: r for r in records}

    @classmethod
    def load(cls, path: Path, clock: Callable[[], datetime] = utc_now) -> "TokenStore":
        return cls(_read(path).tokens, clock, path)

    @staticmethod
    def _stamp_of(path: Path) -> tuple | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _current(self) -> dict[str, TokenRecord]:
        if self._path is None:
            return self._by_hash
        with self._lock:
            stamp = self._stamp_of(self._path)
            if stamp != self._stamp:
                self._by_hash = {r.sha256: r for r in _read(self._path).tokens}
                self._stamp = stamp
            return self._by_hash

    def check(self, token: str | None) -> Caller | Refused:
        """The caller a presented token stands for, or why it is refused (401)."""
        record = self._current().get(token_hash(token)) if token else None
        if record is None:
            return UNKNOWN
        if reason := record.refusal(self._clock()):
            return Refused(reason)
        return Caller(record.id, record.role, record.department, record.label)

    def department_for(self, token: str) -> Department | None:
        """The department of a good department token; None for any other."""
        caller = self.check(token)
        return caller.department if isinstance(caller, Caller) else None

    def records(self) -> list[TokenRecord]:
        return list(self._current().values())

    def __len__(self) -> int:
        return len(self._current())


def _new_id(taken: set[str]) -> str:
    while (candidate := secrets.token_hex(4)) in taken:
        pass
    return candidate


def issue(path: Path, role: Role = Role.DEPARTMENT, department: Department | None = None,
          label: str = "", expires_in: timedelta | None = DEFAULT_EXPIRY,
          now: datetime | None = None) -> tuple[str, TokenRecord]:
    """Create a token, store its hash in ``path``; return the token (shown once) and its record.

    ``expires_in`` None: the token never expires (nothing in the CLI asks for that)."""
    if expires_in is not None and expires_in <= timedelta(0):
        raise InvalidOption(f"--expires-in must be positive, not {expires_in}")
    now = now or utc_now()
    owner = department.value.lower() if department else role.value
    token = f"ooh_{owner}_{secrets.token_urlsafe(24)}"
    with _editing(path) as current:
        try:
            record = TokenRecord(id=_new_id({r.id for r in current.tokens}), role=role,
                                 department=department, sha256=token_hash(token), label=label,
                                 issued_at=now, expires_at=now + expires_in if expires_in else None)
        except ValidationError as exc:
            raise InvalidOption(f"cannot issue this token: {exc.errors()[0]['msg']}") from None
        current.tokens.append(record)
    return token, record


def issue_token(path: Path, department: Department, label: str = "",
                expires_in: timedelta | None = DEFAULT_EXPIRY) -> str:
    """A department token for ``department`` (see :func:`issue`); returns the token once."""
    return issue(path, Role.DEPARTMENT, department, label, expires_in)[0]


def revoke(path: Path, token_id: str, now: datetime | None = None) -> TokenRecord:
    """Mark the token ``token_id`` revoked (refused from now on); revoking twice keeps the first
    time. :class:`NotFound` if no token has that id."""
    with _editing(path) as current:
        record = next((r for r in current.tokens if r.id == token_id), None)
        if record is None:
            raise NotFound(f"no token with id {token_id!r} in {path} (see `hub tokens list`)")
        if record.revoked_at is None:
            record.revoked_at = now or utc_now()
    return record


def list_tokens(path: Path) -> list[TokenRecord]:
    """Every record of the tokens file, oldest first (hashes included: never print them)."""
    return sorted(_read(path).tokens, key=lambda r: r.issued_at)
