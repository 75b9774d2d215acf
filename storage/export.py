"""Backend-neutral export and import of a whole database as JSON lines, written only against the
Store port (`applied_migrations`, `data_tables`, `export_table`, `import_rows`), so it moves data
between any two stores, e.g. SQLite to PostgreSQL.

The file's first line is a header naming the format, the schema version and the tables in import
order; every further line is one row: {"table": "answers", "row": {"id": 1, ...}}. Every data
table is included (members, subscriptions, posts with the daily history, answers from which
streaks are computed, leaderboard totals, kv).

Export a quiet database: the tables are read one after another, so answers written during an
export may reference posts exported before them. For a live SQLite file use `studybot db backup`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from bot.core.ports import Store, StudybotError

FORMAT = "studybot-export"
VERSION = 1
IMPORT_BATCH = 1000


class ExportError(StudybotError):
    """An export file that cannot be imported here (wrong format, other schema, non-empty target)."""


@dataclass
class Summary:
    schema: list[int]
    rows: dict[str, int] = field(default_factory=dict)


def import_order(tables: dict[str, list[str]]) -> list[str]:
    """Tables with the ones they reference first (alphabetical otherwise, for stable files)."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in visiting:
            return  # a reference cycle: leave it to the database to complain
        visiting.add(name)
        for parent in sorted(tables.get(name, [])):
            visit(parent)
        visiting.discard(name)
        order.append(name)

    for name in sorted(tables):
        visit(name)
    return order


async def export_to(store: Store, out: IO[str]) -> Summary:
    """Write every data table of a started store to `out` as JSON lines."""
    tables = import_order(await store.data_tables())
    summary = Summary(schema=await store.applied_migrations())
    out.write(json.dumps({"format": FORMAT, "version": VERSION, "schema": summary.schema, "tables": tables}) + "\n")
    for name in tables:
        count = 0
        async for row in store.export_table(name):
            out.write(json.dumps({"table": name, "row": row}, ensure_ascii=False, allow_nan=False) + "\n")
            count += 1
        summary.rows[name] = count
    return summary


def _header(line: str) -> dict:
    try:
        header = json.loads(line)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ExportError("this is not a studybot export (its first line is not the studybot-export header)")
    if header.get("version") != VERSION:
        raise ExportError(f"export format version {header.get('version')} is not supported; this studybot reads {VERSION}")
    return header


async def import_from(store: Store, lines: Iterable[str]) -> Summary:
    """Load an export into a started store whose data tables are empty and whose schema version
    matches the file's. Rows go in batches, one transaction each: after a failure, start again
    from an empty database."""
    it = iter(lines)
    header = _header(next(it, ""))
    schema = await store.applied_migrations()
    if header.get("schema") != schema:
        raise ExportError(
            f"the export has schema migrations {header.get('schema')} and this database {schema}; "
            "run `studybot db migrate` on the older one with the same studybot version, then export again"
        )
    tables = await store.data_tables()
    missing = [t for t in header.get("tables", []) if t not in tables]
    if missing:
        raise ExportError(f"this database has no table(s) {', '.join(missing)}")
    for name in tables:
        async for _ in store.export_table(name):
            raise ExportError(f"table {name} is not empty; import into a new, empty database")
    summary = Summary(schema=schema)
    batch: list[dict] = []
    current: str | None = None

    async def flush() -> None:
        if current is not None and batch:
            summary.rows[current] = summary.rows.get(current, 0) + await store.import_rows(current, batch)
        batch.clear()

    for number, line in enumerate(it, start=2):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            name, row = item["table"], item["row"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ExportError(f"line {number} is not a row of a studybot export: {exc}") from exc
        if name not in tables:
            raise ExportError(f"line {number} names table {name!r}, which this database does not have")
        if name != current or len(batch) >= IMPORT_BATCH:
            await flush()
            current = name
        batch.append(row)
    await flush()
    return summary
