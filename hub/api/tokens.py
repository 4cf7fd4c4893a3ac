"""Bearer tokens for HTTP ingest, one or more per department, kept as SHA-256 hashes.

Tokens are issued by ``hub tokens issue DEPARTMENT``, shown once, and stored only as hashes in
the tokens file (``HUB_TOKENS_FILE``, default ``<state_dir>/tokens.json``). No token is
hard-coded anywhere; a hub with no tokens file accepts no HTTP events.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ValidationError

from hub.domain.departments import Department
from hub.errors import ConfigurationError


class TokenRecord(BaseModel):
    department: Department
    sha256: str
    label: str = ""
    issued_at: datetime


class TokenFile(BaseModel):
    tokens: list[TokenRecord] = []


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Resolves a presented bearer token to its department."""

    def __init__(self, records: list[TokenRecord]):
        self._by_hash = {r.sha256: r.department for r in records}

    @classmethod
    def load(cls, path: Path) -> "TokenStore":
        if not path.exists():
            return cls([])
        try:
            return cls(TokenFile.model_validate_json(path.read_bytes()).tokens)
        except ValidationError as exc:
            raise ConfigurationError(f"tokens file {path} is malformed: {exc}") from None

    def department_for(self, token: str) -> Department | None:
        return self._by_hash.get(token_hash(token))

    def __len__(self) -> int:
        return len(self._by_hash)


def issue_token(path: Path, department: Department, label: str = "") -> str:
    """Create a token for ``department``, store its hash in ``path``, return the token once."""
    token = f"ooh_{department.value.lower()}_{secrets.token_urlsafe(24)}"
    try:
        current = TokenFile.model_validate_json(path.read_bytes()) if path.exists() else TokenFile()
    except ValidationError as exc:
        raise ConfigurationError(f"tokens file {path} is malformed: {exc}") from None
    current.tokens.append(
        TokenRecord(department=department, sha256=token_hash(token), label=label,
                    issued_at=datetime.now(timezone.utc))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current.model_dump(mode="json"), indent=2))
    os.chmod(tmp, 0o600)
    tmp.replace(path)  # atomic: a concurrently starting server never reads half a file
    return token
