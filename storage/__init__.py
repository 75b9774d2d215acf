"""Storage backends behind the core's Store port; `open_store(url)` picks one from a URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from bot.core.ports import Store, StoreConfigError, StoreError

__all__ = ["Store", "StoreConfigError", "StoreError", "open_store", "sqlite_path_from_url"]
BAD_URL = (
    "STUDYBOT_DATABASE_URL cannot be parsed ({what}); write it as postgresql://user:password@host:5432/db "
    "with special characters in the password percent-encoded (/ as %2F, # as %23, @ as %40)"
)


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

        check_postgres_url(url)
        return PostgresStore(url)
    raise StoreConfigError(
        f"unsupported database URL scheme {url.split(':', 1)[0][:20]!r} in STUDYBOT_DATABASE_URL; "
        "use sqlite:///path/file.db or postgresql://user@host/db"
    )


def check_postgres_url(url: str) -> None:
    """StoreConfigError for a URL asyncpg would misread: a bad port (often a password with / # @
    pasted unencoded) or no host. The message names what is wrong, never the URL's text."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise StoreConfigError(BAD_URL.format(what="the part after the host is not a port number")) from exc
    if parts.fragment or "#" in url.split("?", 1)[0]:
        raise StoreConfigError(BAD_URL.format(what="it contains an unencoded #"))
    if not parts.hostname and "host=" not in parts.query:
        raise StoreConfigError(BAD_URL.format(what="no host"))
