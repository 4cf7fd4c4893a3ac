"""Keyed pseudonyms: how the audit trail names a subject without holding the number.

The audit chain is kept forever and cannot be edited without breaking it, so it must never hold
an identity number, credit code or certificate number in clear (PIPL art. 6 and 19). It holds
``HMAC-SHA-256(key, number)`` instead, truncated to 128 bits and tagged with the key's id:
``k20261203a:3f9a…``. Without the key a pseudonym cannot be reversed or even confirmed by
trying the 10⁹-odd valid identity numbers of a region; with it, the hub finds a subject's
records by computing the pseudonym of the number asked about.

Keys rotate: a new key becomes the one new records are written with, and the old ones stay for
lookups (a subject's history spans keys, so a lookup computes one pseudonym per key). Records
written before pseudonyms existed carry the number itself; lookups include it, so an old trail
stays searchable and ``hub audit verify`` is unaffected (a hash covers whatever a record holds).

Pure: the keys are passed in; where they are kept is :mod:`hub.security.pseudonym_keys`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

DIGEST_HEX = 32  # 128 bits: collisions are out of reach for any number of subjects


def normalised(subject: str) -> str:
    """The form a subject is pseudonymised in: identity numbers end in X or x alike."""
    return subject.strip().upper()


class Pseudonyms:
    """Pseudonyms under a set of keys, new ones written with ``current``."""

    def __init__(self, keys: Mapping[str, bytes], current: str):
        if current not in keys:
            raise ValueError(f"the current pseudonym key {current!r} is not among the keys")
        if any(":" in key_id or not key_id for key_id in keys):
            raise ValueError("a pseudonym key id must be non-empty and contain no ':'")
        if any(len(key) < 32 for key in keys.values()):
            raise ValueError("a pseudonym key must be at least 32 bytes")
        self._keys, self.current = dict(keys), current

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def _under(self, key_id: str, subject: str) -> str:
        digest = hmac.new(self._keys[key_id], normalised(subject).encode(), hashlib.sha256)
        return f"{key_id}:{digest.hexdigest()[:DIGEST_HEX]}"

    def of(self, subject: str) -> str:
        """The pseudonym a new audit record names ``subject`` by."""
        return self._under(self.current, subject)

    def lookup_keys(self, subject: str) -> list[str]:
        """Every name ``subject`` may have in the trail: its pseudonym under each key, and the
        number itself as records written before pseudonyms carry it."""
        return [*(self._under(k, subject) for k in self.key_ids), subject.strip()]
