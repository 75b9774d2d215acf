"""Batched key lookups as a join from a VALUES list, in a few statement shapes.

A statement with one `(?, ?, ?)` row per key has a new text for every batch size, and sqlite3
keeps up to 128 prepared statements per connection: a burst's batches of 1 to 300 keys filled
that cache with large statements (about 7 MB of SQLite's memory after a 10,000-click burst, held
until the connection closed). The rows are padded to the next power of two (capped at the chunk
size) by repeating the last key, so each lookup has at most 10 shapes per connection. A repeated
key only repeats rows the callers fold into dicts, sets or a DISTINCT.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def padded_size(n: int, chunk: int) -> int:
    size = 1
    while size < n:
        size *= 2
    return min(size, chunk)


def value_rows(keys: Sequence[tuple], chunk: int) -> Iterator[tuple[str, tuple]]:
    """(the VALUES rows' SQL, their parameters) for every `chunk` keys of equal width."""
    for i in range(0, len(keys), chunk):
        part = list(keys[i : i + chunk])
        part += [part[-1]] * (padded_size(len(part), chunk) - len(part))
        row = "(" + ", ".join("?" for _ in part[0]) + ")"
        yield ",".join(row for _ in part), tuple(x for k in part for x in k)
