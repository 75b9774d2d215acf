"""Fixtures that run storage tests on both backends: SQLite files and a throwaway PostgreSQL database.

The PostgreSQL side uses the local server (127.0.0.1:5432, trust auth, user postgres; override
with STUDYBOT_TEST_PG_ADMIN_URL): one uniquely named database per test session, dropped at the
end, and a fresh schema per test (selected through the URL's search_path), so every test starts
from an empty database without paying for CREATE DATABASE each time. Without a reachable server
the PostgreSQL cases skip, saying why; .ci/run starts the server so CI always runs them.

Test modules take these by assignment (`backend = pg_fixtures.backend`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from bot.core.ports import Store
from storage import open_store

ADMIN_URL = os.environ.get("STUDYBOT_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgres"]


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _admin(sql: str, *, url: str = ADMIN_URL) -> None:
    """Run one statement on its own connection, from sync or async code: in a worker thread with
    its own event loop, so the test's loop (running or not) is left alone."""

    async def run() -> None:
        conn = await asyncpg.connect(url, timeout=3)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The URL of this session's own PostgreSQL database."""
    name = f"studybot_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        reason = f"PostgreSQL cases skipped: no server at {ADMIN_URL} ({exc}); .ci/run starts one"
        warnings.warn(pytest.PytestWarning(reason), stacklevel=1)  # shown in the summary without -rs
        pytest.skip(reason)
    try:
        yield _with_database(ADMIN_URL, name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_schema(database_url: str) -> str:
    """A new empty schema in the session database; the URL that makes it the default schema."""
    schema = "t_" + uuid.uuid4().hex[:12]
    _admin(f'CREATE SCHEMA "{schema}"', url=database_url)
    # asyncpg passes unknown query parameters on as server settings.
    return f"{database_url}?search_path={schema}"


@dataclass
class Backend:
    """One empty database of one kind; `make()` opens another (unstarted) store on it."""

    kind: str
    url: str

    def make(self) -> Store:
        return open_store(self.url)


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", f"sqlite:///{tmp_path / 'studybot.db'}")
    database = request.getfixturevalue("pg_database")
    return Backend("postgres", fresh_schema(database))


@pytest.fixture
def postgres_backend(pg_database: str) -> Backend:
    return Backend("postgres", fresh_schema(pg_database))


@pytest.fixture
async def any_store(backend: Backend):
    s = backend.make()
    await s.start()
    yield s
    await s.aclose()


async def count_rows(store: Store, table: str) -> int:
    return sum([1 async for _ in store.export_table(table)])
