"""Whose keys: a publisher's keys for the people it publishes about, and the hub's key ring.

A publisher (:class:`PublisherKeys`) mints a person's key pair the first time it publishes about
them, hands the key record — public key, and private key wrapped to the hub's master key with the
subject inside — to ``send`` (which must return once the record is durable, before the event
that uses it is sent), and keeps the public half for the next event. It never keeps a private key.

The hub (:class:`KeyRing`) reads the key records, unwraps them with the master private key, and
answers "the private key of key id X" and "the key ids of subject S" (what an erasure removes).
A key it has not seen is *unknown* while the key topics may still bring it, and *erased* once
they are read to the end without it (its tombstone compacted away, or never published: either
way nothing will open the fields).

Pure: the Kafka edges pass records in and out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from hub.security.shredding import Ciphertext, mint, unwrap, wrap_for_hub


@dataclass(frozen=True)
class KeyRecord:
    """A person's key as the key topics hold it (keyed by ``key_id``; a tombstone erases it)."""

    key_id: str
    public_key: bytes
    wrapped: Ciphertext
    master_key_id: str = ""

    def as_avro(self) -> dict:
        """The ``SubjectKey`` record (schemas/gov.zj.oncehub.SubjectKey.avsc)."""
        return {"key_id": self.key_id, "public_key": self.public_key, "master_key_id": self.master_key_id,
                "wrapped_ephemeral": self.wrapped.ephemeral, "wrapped_nonce": self.wrapped.nonce,
                "wrapped_ciphertext": self.wrapped.ciphertext}

    @classmethod
    def from_avro(cls, record: dict) -> "KeyRecord":
        return cls(record["key_id"], record["public_key"],
                   Ciphertext(record["wrapped_ephemeral"], record["wrapped_nonce"], record["wrapped_ciphertext"]),
                   record["master_key_id"])


class PublisherKeys:
    """One publisher's keys: ``key_for(subject) → (key id, public key)``."""

    def __init__(self, master_public_key: bytes, send: Callable[[KeyRecord], None],
                 capacity: int = 100_000, master_key_id: str = ""):
        self._master, self._send, self._capacity = master_public_key, send, capacity
        self._master_id = master_key_id
        self._cache: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def key_for(self, subject_id: str) -> tuple[str, bytes]:
        """Thread-safe. The lock guards the cache only: a new person's key is sent (and waited
        for) outside it, so one slow key write does not hold up every other publish (with it
        inside, a department had one key write in flight at a time: p99 over a second at 32
        concurrent publishes). Two publishes about the same new person at once may both mint a
        key; both are published, each event names its own, and an erasure removes every key of
        the person."""
        with self._lock:
            known = self._cache.get(subject_id)
            if known is not None:
                self._cache.move_to_end(subject_id)
                return known
        pair = mint()
        self._send(KeyRecord(pair.key_id, pair.public_key, wrap_for_hub(self._master, subject_id, pair),
                             self._master_id))
        # Kept only once durable: a failed send mints afresh next time, leaving no key unpublished.
        with self._lock:
            self._cache[subject_id] = (pair.key_id, pair.public_key)
            if len(self._cache) > self._capacity:  # the oldest person gets a new key next time: harmless
                self._cache.popitem(last=False)
        return pair.key_id, pair.public_key

    def forget(self, subject_id: str) -> None:
        """Stop using the person's key (it was erased): the next event mints a new one."""
        with self._lock:
            self._cache.pop(subject_id, None)


class KeyState(Enum):
    KNOWN = "known"
    UNKNOWN = "unknown"  # not read yet: wait for the key topics
    ERASED = "erased"    # the key topics were read to the end without it


class KeyRing:
    """The hub's view of every person's keys, from the key records it is given."""

    def __init__(self, master_private_key: bytes):
        self._master = master_private_key
        self._private: dict[str, bytes] = {}
        self._subject_of: dict[str, str] = {}
        self._keys_of: dict[str, set[str]] = {}

    def add(self, record: KeyRecord) -> None:
        """A key record read from a key topic (raises :class:`~hub.security.shredding.Undecryptable`
        if it was not wrapped to this master key, or was altered)."""
        subject, private = unwrap(self._master, record.key_id, record.wrapped)
        self._private[record.key_id] = private
        self._subject_of[record.key_id] = subject
        self._keys_of.setdefault(subject, set()).add(record.key_id)

    def remove(self, key_id: str) -> None:
        """A tombstone: the key is erased."""
        self._private.pop(key_id, None)
        subject = self._subject_of.pop(key_id, None)
        if subject is not None:
            self._keys_of[subject].discard(key_id)
            if not self._keys_of[subject]:
                del self._keys_of[subject]

    def private_key(self, key_id: str) -> bytes | None:
        return self._private.get(key_id)

    def state(self, key_id: str, caught_up: bool) -> KeyState:
        """Whether key ``key_id`` can open fields; ``caught_up``: the key topics have been read
        to the ends they had when the event naming the key was read."""
        if key_id in self._private:
            return KeyState.KNOWN
        return KeyState.ERASED if caught_up else KeyState.UNKNOWN

    def keys_of(self, subject_id: str) -> frozenset[str]:
        """The key ids of a person (what an erasure tombstones)."""
        return frozenset(self._keys_of.get(subject_id, ()))
