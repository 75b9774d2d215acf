"""A consistent copy of a live SQLite database with sqlite3's online backup API: pages are copied
in steps while the bot keeps running, and the copy restarts if a writer changes the file
mid-way, so the result is one committed state. Written to a temporary file, then renamed."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from bot.core.ports import StoreError


def backup_sqlite(source: Path, target: Path, *, pages: int = 1024) -> int:
    """Copy `source` to `target` (replaced atomically); returns the copy's page count."""
    if not source.exists():
        raise StoreError(f"no SQLite database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(source, timeout=5)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst, pages=pages)
                count = dst.execute("PRAGMA page_count").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"backup of {source} failed: {exc}") from exc
    return count
