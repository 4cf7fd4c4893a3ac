"""Where the audit's pseudonym keys are kept: a file outside Kafka, readable by its owner only.

The keys must never travel with the log they protect: whoever can read the audit topic must not
be able to confirm a guessed identity number against it. They are kept as JSON
(``{"current": id, "keys": {id: base64}}``, mode 0600) at ``HUB_PSEUDONYM_KEYS_FILE`` (default
``<state_dir>/pseudonym-keys.json``). In production that file is a mounted secret (a KMS- or
vault-backed volume) given to exactly the processes that name subjects in the audit trail or look
them up: the auditor, ``hub serve`` and the operators' ``hub replay`` and ``hub audit``.

On a development machine the file is created, with a fresh key, the first time a process needs
it; creation is exclusive, so two processes starting together end up with the same key.
``rotate`` adds a key and makes it current; old keys stay, because a subject's history spans them.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from datetime import datetime, timezone
from pathlib import Path

from hub.config import HubSettings
from hub.domain.pseudonyms import Pseudonyms
from hub.errors import ConfigurationError
from hub.security.secret_files import write_secret_file

log = logging.getLogger(__name__)

KEY_BYTES = 32


def _new_key_id(existing: set[str]) -> str:
    stem = f"k{datetime.now(timezone.utc):%Y%m%d}"
    return next(f"{stem}{suffix}" for suffix in ("", *"abcdefghijklmnopqrstuvwxyz")
                if f"{stem}{suffix}" not in existing)


def _write(path: Path, current: str, keys: dict[str, bytes], exclusive: bool) -> None:
    body = json.dumps({"current": current,
                       "keys": {k: base64.b64encode(v).decode() for k, v in sorted(keys.items())}},
                      indent=2).encode()
    write_secret_file(path, body, exclusive)


def _read(path: Path) -> tuple[str, dict[str, bytes]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        keys = {str(k): base64.b64decode(v, validate=True) for k, v in raw["keys"].items()}
        return str(raw["current"]), keys
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(f"pseudonym keys file {path} is unreadable or malformed "
                                 f"({type(exc).__name__})") from None


def load_pseudonyms(path: Path, create: bool = True) -> Pseudonyms:
    """The pseudonyms of the key file at ``path``; created with one fresh key if missing and
    ``create`` (a development machine), else a :class:`ConfigurationError`."""
    if not path.exists():
        if not create:
            raise ConfigurationError(f"pseudonym keys file {path} not found")
        key_id = _new_key_id(set())
        try:
            _write(path, key_id, {key_id: secrets.token_bytes(KEY_BYTES)}, exclusive=True)
            log.warning("created the audit's pseudonym key file %s (key %s); give the same file to "
                        "every process that writes or searches the audit trail", path, key_id)
        except FileExistsError:
            pass  # another process created it first: use theirs
    current, keys = _read(path)
    try:
        return Pseudonyms(keys, current)
    except ValueError as exc:
        raise ConfigurationError(f"pseudonym keys file {path}: {exc}") from None


def pseudonyms_of(settings: HubSettings) -> Pseudonyms:
    """The pseudonyms of the key file ``settings`` name (created on first use)."""
    return load_pseudonyms(settings.resolved_pseudonym_keys_file)


def rotate(path: Path) -> str:
    """Add a fresh key to the file at ``path`` and make it current; returns its id."""
    current, keys = _read(path) if path.exists() else ("", {})
    key_id = _new_key_id(set(keys))
    keys[key_id] = secrets.token_bytes(KEY_BYTES)
    _write(path, key_id, keys, exclusive=False)
    return key_id
