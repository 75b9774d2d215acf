"""Storage backends behind the core's Store port; `open_store(url)` picks one from a URL."""

from __future__ import annotations

from pathlib import Path

from bot.core.ports import Store, StoreError

__all__ = ["Store", "StoreError", "open_store", "sqlite_path_from_url"]


def sqlite_path_from_url(url: str) -> Path:
    """sqlite:///relative/file.db or sqlite:////absolute/file.db (SQLAlchemy's convention)."""
    if not url.startswith("sqlite:///"):
        raise ValueError("expected sqlite:///path/file.db")
    path = url[len("sqlite:///"):]
    if not path:
        raise ValueError("the sqlite URL has no file path")
    return Path(path)


def open_store(url: str) -> Store:
    """An unstarted store for the URL: sqlite:///path/file.db, or postgresql://user@host:port/db
    (also postgres://; query parameters such as ?sslmode=require go to asyncpg)."""
    if url.startswith("sqlite:"):
        from storage.sqlite.store import SQLiteStore

        return SQLiteStore(sqlite_path_from_url(url))
    if url.startswith(("postgresql://", "postgres://")):
        from storage.postgres.store import PostgresStore

        return PostgresStore(url)
    raise ValueError(
        f"unsupported database URL scheme in {url.split(':', 1)[0]!r}; "
        "use sqlite:///path/file.db or postgresql://user@host/db"
    )
