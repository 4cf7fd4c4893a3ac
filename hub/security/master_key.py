"""The hub's master key for crypto-shredding: an X25519 key pair kept outside Kafka.

Publishers encrypt each person's private key to the master *public* key (a file that is no
secret, ``HUB_MASTER_PUBLIC_KEY_FILE``); only the hub's own processes hold the private half
(``HUB_MASTER_KEY_FILE``, mode 0600; in production a mounted secret), so a copy of the key topic
opens nothing without it. On a development machine both files are made, exclusively, the first
time a process needs them (two processes starting together share one pair).
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from hub.config import HubSettings
from hub.errors import ConfigurationError
from hub.security.secret_files import write_secret_file
from hub.security.shredding import mint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MasterKey:
    """The master key pair (``private_key`` None where only the public half is given)."""

    key_id: str
    public_key: bytes
    private_key: bytes | None = None


def _encode(key: MasterKey, private: bool) -> bytes:
    body = {"key_id": key.key_id, "public_key": base64.b64encode(key.public_key).decode()}
    if private:
        body["private_key"] = base64.b64encode(key.private_key).decode()
    return json.dumps(body, indent=2).encode()


def _read(path: Path, private: bool) -> MasterKey:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return MasterKey(str(raw["key_id"]), base64.b64decode(raw["public_key"], validate=True),
                         base64.b64decode(raw["private_key"], validate=True) if private else None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(f"master key file {path} is unreadable or malformed "
                                 f"({type(exc).__name__})") from None


def _create(settings: HubSettings) -> None:
    pair = mint()
    key = MasterKey(pair.key_id, pair.public_key, pair.private_key)
    try:
        write_secret_file(settings.resolved_master_key_file, _encode(key, private=True), exclusive=True)
    except FileExistsError:
        return  # another process made it first: use theirs
    write_secret_file(settings.resolved_master_public_key_file, _encode(key, private=False),
                      exclusive=False, mode=0o644)
    log.warning("created the hub's master key %s (%s); give the private file to the hub's processes "
                "only, the public one to every publisher", key.key_id, settings.resolved_master_key_file)


def master_key(settings: HubSettings, create: bool = True) -> MasterKey:
    """The master key pair, private half included (the hub's processes only)."""
    path = settings.resolved_master_key_file
    if not path.exists():
        if not create:
            raise ConfigurationError(f"master key file {path} not found")
        _create(settings)
    return _read(path, private=True)


def master_public_key(settings: HubSettings, create: bool = True) -> MasterKey:
    """The master key's public half (what a publisher is given). On a development machine with
    neither file yet, the pair is made first."""
    path = settings.resolved_master_public_key_file
    if not path.exists():
        if not create:
            raise ConfigurationError(f"master public key file {path} not found")
        if not settings.resolved_master_key_file.exists():
            _create(settings)
        if not path.exists():  # the private file came from elsewhere: derive the public one from it
            write_secret_file(path, _encode(master_key(settings, create=False), private=False),
                              exclusive=False, mode=0o644)
    return _read(path, private=False)
