"""Table writes held back until a record's outputs exist.

The router's memory (routed, held, case openers) must change only once everything the record
produces has been built: if encoding an item fails transiently half-way and the record is tried
again, the second try must find the tables as the first one found them (a held event deleted by
the first try would make its supplement a dead letter and its items would never be sent).

:class:`Staged` wraps a mapping (a dict, or a faust table): reads see the staged writes first,
writes and deletes are kept aside until :meth:`Staged.commit` applies them to the mapping
underneath, or :meth:`Staged.discard` forgets them. The router builds its outputs off the event
loop (registry calls block) and commits on the loop, where faust tables may be written.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

_DELETED = object()
_ABSENT = object()


class Staged(MutableMapping):
    """A write-back overlay on ``base``; nothing reaches ``base`` before :meth:`commit`."""

    def __init__(self, base: MutableMapping):
        self.base = base
        self._writes: dict[Any, Any] = {}

    def __getitem__(self, key):
        staged = self._writes.get(key, _ABSENT)
        if staged is _DELETED:
            raise KeyError(key)
        if staged is not _ABSENT:
            return staged
        return self.base[key]

    def get(self, key, default=None):
        # Not MutableMapping's: a faust table with a default would create the key on a miss.
        staged = self._writes.get(key, _ABSENT)
        if staged is _DELETED:
            return default
        if staged is not _ABSENT:
            return staged
        return self.base.get(key, default)

    def __setitem__(self, key, value) -> None:
        self._writes[key] = value

    def __delitem__(self, key) -> None:
        if self.get(key, _ABSENT) is _ABSENT:
            raise KeyError(key)
        self._writes[key] = _DELETED

    def __iter__(self) -> Iterator:
        seen = set()
        for key, value in self._writes.items():
            seen.add(key)
            if value is not _DELETED:
                yield key
        yield from (k for k in self.base if k not in seen)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @property
    def pending(self) -> int:
        """How many writes and deletes wait for :meth:`commit`."""
        return len(self._writes)

    def commit(self) -> None:
        """Apply the staged writes and deletes to ``base``, in the order they were first made."""
        writes, self._writes = self._writes, {}
        for key, value in writes.items():
            if value is _DELETED:
                self.base.pop(key, None)
            else:
                self.base[key] = value

    def discard(self) -> None:
        self._writes.clear()
