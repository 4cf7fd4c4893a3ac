"""Sealing a person's fields to that person's own key, so erasing the key erases the fields
(crypto-shredding; ARCHITECTURE.md, "Erasure by crypto-shredding").

Each person has an X25519 key pair. A publisher encrypts to the *public* key — an ephemeral X25519
exchange, HKDF-SHA-256, AES-256-GCM — so it needs no secret of anyone's. The private key is kept
only wrapped to the hub's master public key, with the subject id inside the wrap (the hub's key
index reads it; the key topic's readers cannot). Associated data binds a block to its event and
its key, so a block copied into another event does not open.

Pure functions over bytes: no Kafka, no files (the key topic and the master key file are edges).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.domain.personal_data import merge, split
from hub.errors import HubError

_INFO = b"oncehub/subject-sealing/v1"
_RAW = dict(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)


class Undecryptable(HubError):
    """A protected block did not open: its key is erased or wrong, or the block was altered or moved."""


@dataclass(frozen=True)
class Ciphertext:
    """Ciphertext protected to a public key: the ephemeral public key, the nonce, and the
    ciphertext with its 16-byte tag."""

    ephemeral: bytes
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class KeyPair:
    """A person's key pair (raw 32-byte X25519 keys) and its id."""

    key_id: str
    public_key: bytes
    private_key: bytes


def mint() -> KeyPair:
    """A fresh key pair with a random id (the id is what events and the key topic name)."""
    private = X25519PrivateKey.generate()
    return KeyPair(str(uuid.uuid4()), private.public_key().public_bytes(**_RAW),
                   private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                         serialization.NoEncryption()))


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=_INFO + ephemeral + recipient).derive(shared)


def encrypt_to(public_key: bytes, plaintext: bytes, aad: bytes) -> Ciphertext:
    """``plaintext`` protected to ``public_key`` (only its private key opens it), bound to ``aad``."""
    recipient = X25519PublicKey.from_public_bytes(public_key)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(**_RAW)
    key = _key(ephemeral.exchange(recipient), ephemeral_public, public_key)
    nonce = os.urandom(12)
    return Ciphertext(ephemeral_public, nonce, AESGCM(key).encrypt(nonce, plaintext, aad))


def decrypt(private_key: bytes, protected: Ciphertext, aad: bytes) -> bytes:
    """The plaintext of ``protected``; :class:`Undecryptable` if this key or ``aad`` does not open it."""
    try:
        private = X25519PrivateKey.from_private_bytes(private_key)
        ephemeral = X25519PublicKey.from_public_bytes(protected.ephemeral)
        recipient = private.public_key().public_bytes(**_RAW)
        key = _key(private.exchange(ephemeral), protected.ephemeral, recipient)
        return AESGCM(key).decrypt(protected.nonce, protected.ciphertext, aad)
    except (InvalidTag, ValueError) as exc:
        raise Undecryptable(f"a protected block did not open ({type(exc).__name__})") from None


def _fields_aad(event_id: str, key_id: str) -> bytes:
    return f"fields|{event_id}|{key_id}".encode()


def encrypt_fields(key_id: str, public_key: bytes, event_id: str, fields: dict[str, str | None]) -> Ciphertext:
    """A person's fields (``payload path → text``) of event ``event_id``, protected to their key."""
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return encrypt_to(public_key, text.encode(), _fields_aad(event_id, key_id))


def decrypt_fields(key_id: str, private_key: bytes, event_id: str, protected: Ciphertext) -> dict[str, str | None]:
    """The fields :func:`encrypt_fields` protected for ``event_id`` under key ``key_id``."""
    return json.loads(decrypt(private_key, protected, _fields_aad(event_id, key_id)))


def _wrap_aad(key_id: str) -> bytes:
    return f"subject-key|{key_id}".encode()


def wrap_for_hub(hub_public_key: bytes, subject_id: str, pair: KeyPair) -> Ciphertext:
    """What the key topic holds of a person's private key: it and the subject id, protected to the
    hub's master public key (only the hub opens it), bound to the key id."""
    inner = json.dumps({"subject_id": subject_id, "private_key": pair.private_key.hex()}).encode()
    return encrypt_to(hub_public_key, inner, _wrap_aad(pair.key_id))


def unwrap(hub_private_key: bytes, key_id: str, wrapped: Ciphertext) -> tuple[str, bytes]:
    """The subject id and private key that :func:`wrap_for_hub` wrapped under ``key_id``."""
    inner = json.loads(decrypt(hub_private_key, wrapped, _wrap_aad(key_id)))
    return inner["subject_id"], bytes.fromhex(inner["private_key"])


# -- whole events -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProtectedPart:
    """One person's fields of one event, protected: the envelope's ``protected`` carries a list of these."""

    role: str
    key_id: str
    protected: Ciphertext

    def as_avro(self) -> dict:
        """The envelope's ``ProtectedFields`` record."""
        return {"role": self.role, "key_id": self.key_id, "ephemeral": self.protected.ephemeral,
                "nonce": self.protected.nonce, "ciphertext": self.protected.ciphertext}

    @classmethod
    def from_avro(cls, block: dict) -> "ProtectedPart":
        return cls(block["role"], block["key_id"], Ciphertext(block["ephemeral"], block["nonce"], block["ciphertext"]))


def _tagged(value):
    """A field value as JSON that comes back with its type (dates, instants, money)."""
    if isinstance(value, datetime):
        return {"instant": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    return value


def _untagged(value):
    if isinstance(value, dict) and len(value) == 1:
        (kind, text), = value.items()
        parse = {"instant": datetime.fromisoformat, "date": date.fromisoformat, "decimal": Decimal}.get(kind)
        if parse is not None:
            return parse(text)
    return value


def protect_event(event: dict, key_for: Callable[[str], tuple[str, bytes]]) -> tuple[dict, list[ProtectedPart]]:
    """``event`` (decoded) with each person's fields replaced by placeholders, and those fields
    protected to the person's key: ``key_for(subject id) → (key id, public key)``."""
    clear, taken = split(event)
    event_id = str(event["envelope"]["event_id"])
    parts = []
    for part, subject, fields in taken:
        key_id, public_key = key_for(subject)
        tagged = {path: _tagged(value) for path, value in fields.items()}
        parts.append(ProtectedPart(part.role, key_id, encrypt_fields(key_id, public_key, event_id, tagged)))
    return clear, parts


def reveal_event(clear: dict, parts: list[ProtectedPart],
               private_key: Callable[[str], bytes | None]) -> tuple[dict, list[str]]:
    """The event with the fields of every person whose key is still there put back, and the
    roles of those whose key is gone (erased: their fields keep their placeholders).
    ``private_key(key id)`` is None for an erased key; a block that does not open with the key
    it names raises :class:`Undecryptable` (altered or moved: never read as erased)."""
    event, erased = clear, []
    event_id = str(clear["envelope"]["event_id"])
    for part in parts:
        key = private_key(part.key_id)
        if key is None:
            erased.append(part.role)
            continue
        fields = decrypt_fields(part.key_id, key, event_id, part.protected)
        event = merge(event, {path: _untagged(value) for path, value in fields.items()})
    return event, erased


def protect_record(record: dict, key_for: Callable[[str], tuple[str, bytes]]) -> dict:
    """The wire record of an event (as ``event_to_record`` gives it), its people's fields
    encrypted into ``envelope.protected`` and placeholders left in the payload."""
    clear, parts = protect_event(record, key_for)
    # A new envelope: the clear record shares its untouched branches with ``record``.
    return {**clear, "envelope": {**clear["envelope"], "protected": [part.as_avro() for part in parts]}}


def reveal_record(record: dict, private_key: Callable[[str], bytes | None]) -> tuple[dict, list[str]]:
    """A decoded wire record with every person's fields that still open put back, and the roles
    of those erased. A record protecting nothing (every earlier event) comes back as it is."""
    blocks = record["envelope"].get("protected") or []
    if not blocks:
        return record, []
    return reveal_event(record, [ProtectedPart.from_avro(b) for b in blocks], private_key)
