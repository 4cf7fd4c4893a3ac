"""Table writes held back until a record's outputs exist.

The router's memory (routed, held, case openers) must change only once everything the record
produces has been built: if encoding an item fails transiently half-way and the record is tried
again, the second try must find the tables as the first one found them (a held event deleted by
the first try would make its supplement a dead letter and its items would never be sent).

:class:`Staged` wraps a mapping (a dict, or a faust table): reads see the staged writes first,
writes and deletes are kept aside until :meth:`Staged.commit` applies them to the mapping
underneath, or :meth:`Staged.discard` forgets them. The router builds its outputs off the event
loop (registry calls block) and commits on the loop, where faust tables may be written.

The router routes a batch of records at a time: each record's writes are a *segment* of their
own (:meth:`Staged.begin`), seen by the records after it, dropped alone when that record is
parked (:meth:`Staged.drop_segment`), and applied segment by segment (:meth:`Staged.segments`),
each within its own record's context (faust writes a table change to the changelog partition of
the record being handled).
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
        self._writes: dict[Any, Any] = {}  # every segment's writes, the later over the earlier: for reads
        self._segments: list[dict[Any, Any]] = [{}]

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
        self._writes[key] = self._segments[-1][key] = value

    def __delitem__(self, key) -> None:
        if self.get(key, _ABSENT) is _ABSENT:
            raise KeyError(key)
        self._writes[key] = self._segments[-1][key] = _DELETED

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

    def begin(self) -> None:
        """Start a new segment: the writes from now on belong to the next record (segment ``n``
        after ``n`` calls since the last commit or discard)."""
        self._segments.append({})

    def drop_segment(self) -> None:
        """Forget the current segment's writes only (its record was parked); earlier ones stay."""
        self._segments[-1] = {}
        self._writes = {k: v for segment in self._segments for k, v in segment.items()}

    def segments(self) -> list[dict[Any, Any]]:
        """Take the staged segments, oldest first (empty ones too, so that segment ``n`` is still
        the ``n``-th record's), to apply one at a time with :meth:`apply`."""
        segments, self._segments, self._writes = self._segments, [{}], {}
        return segments

    def apply(self, writes: dict[Any, Any]) -> None:
        """Make one segment's writes and deletes in ``base``, in the order they were first made."""
        for key, value in writes.items():
            if value is _DELETED:
                self.base.pop(key, None)
            else:
                self.base[key] = value

    def commit(self) -> None:
        """Apply every staged write and delete to ``base``, segment by segment."""
        for writes in self.segments():
            self.apply(writes)

    def discard(self) -> None:
        self._writes, self._segments = {}, [{}]
