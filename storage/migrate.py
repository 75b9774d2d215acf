"""Numbered SQL migrations (NNN_name.sql next to each driver), applied in order and recorded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def _split(sql: str) -> tuple[str, ...]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return tuple(s.strip() for s in body.split(";") if s.strip())


def load_migrations(folder: Path) -> list[Migration]:
    out = []
    for path in sorted(folder.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise ValueError(f"migration file {path.name} must be named NNN_name.sql")
        out.append(Migration(int(m.group(1)), m.group(2), _split(path.read_text(encoding="utf-8"))))
    versions = [m.version for m in out]
    if versions != list(range(1, len(out) + 1)):
        raise ValueError(f"migrations in {folder} must be numbered 1..n without gaps, got {versions}")
    return out
