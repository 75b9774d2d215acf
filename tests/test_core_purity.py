"""bot/core must stay platform-free: no Slack, Discord, database or scheduler imports."""

import ast
from pathlib import Path

FORBIDDEN = ("slack_bolt", "slack_sdk", "discord", "aiosqlite", "asyncpg", "apscheduler", "storage", "aiohttp", "sqlite3",
             "matplotlib")
CORE = Path(__file__).resolve().parent.parent / "bot" / "core"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_no_platform_or_database_library():
    files = sorted(CORE.glob("*.py"))
    assert len(files) >= 8
    offenders = {f.name: imported_modules(f) & set(FORBIDDEN) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_check_itself_catches_an_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import discord\nfrom slack_bolt.app import App\n")
    assert imported_modules(bad) & set(FORBIDDEN) == {"discord", "slack_bolt"}
