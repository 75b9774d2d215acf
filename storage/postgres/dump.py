"""Export and import for the PostgreSQL store (the Store methods storage/export.py is built on):
tables, columns and keys come from the catalog, so a table added by a migration is included
without a change here."""

from __future__ import annotations

from collections.abc import AsyncIterator

from bot.core.ports import StoreError


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresDump:
    """Mixed into PostgresStore; uses its `_fetch`, `_conn` and `_tx`."""

    async def _columns(self) -> dict[str, dict[str, str]]:
        """table -> column -> data type, in column order, for this schema's tables."""
        rows = await self._fetch(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
            "AND c.table_name <> 'schema_migrations' ORDER BY c.table_name, c.ordinal_position"
        )
        out: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows:
            out.setdefault(table, {})[column] = data_type
        return out

    async def data_tables(self) -> dict[str, list[str]]:
        tables = await self._columns()
        refs = await self._fetch(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
            "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"
        )
        out: dict[str, list[str]] = {name: [] for name in tables}
        for child, parent in refs:
            if child in out and parent in out and parent != child:
                out[child].append(parent)
        return out

    async def _table(self, name: str) -> dict[str, str]:
        columns = (await self._columns()).get(name)
        if columns is None:
            raise StoreError(f"no table {name!r} in this database")
        return columns

    async def export_table(self, name: str) -> AsyncIterator[dict[str, object]]:
        columns = await self._table(name)
        pk = await self._fetch(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
            _ident(name),
        )
        order = ", ".join(f"{_ident(r[0])}" for r in pk) or "1"
        sql = f"SELECT {', '.join(_ident(c) for c in columns)} FROM {_ident(name)} ORDER BY {order}"
        # _conn turns driver errors, here too, into StoreError.
        async with self._conn() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            async for record in conn.cursor(sql, prefetch=1000):
                yield dict(record)

    async def import_rows(self, name: str, rows: list[dict[str, object]]) -> int:
        if not rows:
            return 0
        columns = await self._table(name)
        names = list(rows[0])
        unknown = [c for c in names if c not in columns]
        if unknown:
            raise StoreError(f"table {name} has no column(s) {', '.join(unknown)}")
        cast = {"double precision": float, "integer": int, "bigint": int}
        convert = [cast.get(columns[c]) for c in names]
        try:
            values = [
                tuple(v if v is None or f is None else f(v) for f, v in zip(convert, (row[c] for c in names), strict=True))
                for row in rows
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"a row for {name} does not fit its columns: {exc}") from exc
        sql = (
            f"INSERT INTO {_ident(name)} ({', '.join(_ident(c) for c in names)}) "
            f"VALUES ({', '.join(f'${i}' for i in range(1, len(names) + 1))})"
        )
        async with self._tx() as conn:
            await conn.executemany(sql, values)
            if columns.get("id") == "bigint":
                # Rows came with their ids: move the identity past them so new rows do not collide.
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT MAX(id) FROM {_ident(name)}))",
                    _ident(name),
                )
            # The planner's statistics of the table describe it empty until analysed.
            await conn.execute(f"ANALYZE {_ident(name)}")
        return len(values)
