"""Short read caches for the answer path, as the SQLite store keeps: a post whose mutable fields
no longer matter to the scheduler (a quiz, or a delivered daily post, where only revealed_at can
still change), a channel's subscription and a member's time zone. This process's own writes drop
an entry at once; a write by another process is seen within SECONDS. Each click otherwise paid a
round trip per read, three of them before its answer was even queued."""

from __future__ import annotations

import time

SECONDS = 2.0
ENTRIES = 100_000
MISSING = object()


class ReadCache:
    def __init__(self, *, seconds: float = SECONDS, entries: int = ENTRIES) -> None:
        self._seconds, self._entries = seconds, entries
        self._data: dict[tuple, tuple[float, object]] = {}

    def get(self, key: tuple) -> object:
        """The cached value, or MISSING."""
        hit = self._data.get(key)
        if hit is None or hit[0] < time.monotonic():
            return MISSING
        return hit[1]

    def put(self, key: tuple, value: object) -> None:
        if len(self._data) >= self._entries:
            self._data.clear()
        self._data[key] = (time.monotonic() + self._seconds, value)

    def purge(self) -> None:
        """Forget the expired entries (a burst leaves thousands behind)."""
        now = time.monotonic()
        self._data = {key: hit for key, hit in self._data.items() if hit[0] >= now}

    def drop(self, key: tuple) -> None:
        self._data.pop(key, None)
