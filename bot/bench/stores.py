"""Where the bench keeps its data: a fresh SQLite file in a temporary folder, or the PostgreSQL
database named by STUDYBOT_DATABASE_URL (each run under workspace ids of its own)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from bot.core.ports import Store
from storage import open_store


def database_url(folder: Path, name: str) -> str:
    url = os.environ.get("STUDYBOT_DATABASE_URL", "")
    if url.startswith(("postgresql://", "postgres://")):
        return url
    return f"sqlite:///{folder / (name + '.db')}"


def backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:") else "postgresql"


async def started_store(url: str) -> Store:
    store = open_store(url)
    await store.start()
    return store


def run_id() -> str:
    """A workspace id nobody else uses, so runs against a shared PostgreSQL database never meet."""
    return "bench-" + uuid.uuid4().hex[:10]
