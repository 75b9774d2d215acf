"""answers: N distinct members answer one daily post at once, through StudyService.answer and the
store (grading, points, streak); an answer counts when its "recorded" reply came back, which the
store sends only after the commit. Baseline: the same rows with plain sqlite3, one transaction per
row and all rows in one transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.bench.report import Progress, Row, fmt, percentile
from bot.bench.stores import backend, database_url, run_id, started_store
from bot.core import texts
from bot.core.clock import FakeClock
from bot.core.models import Bank, ChannelRef, MemberRef
from bot.core.ports import Subscription
from bot.core.service import StudyService
from bot.runtime import freeze_heap

NOW = datetime(2026, 3, 2, 9, 1, tzinfo=UTC)  # a Monday, a minute after the daily post

_BASELINE_SQL = (
    "INSERT INTO answers (post_id, platform, workspace, user_id, channel, choice, correct, points, practice, "
    "answered_at, local_day, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def run(*, bank: Bank, folder: Path, members: int = 10_000, concurrency: int = 200,
              progress: bool = True) -> list[Row]:
    url = database_url(folder, "answers")
    store = await started_store(url)
    clock = FakeClock(NOW)
    service = StudyService(bank=bank, store=store, clock=clock)
    workspace = run_id()
    channel = ChannelRef("slack", workspace, "C-busy")
    await store.put_subscription(Subscription(
        channel=channel, time="09:00", timezone="UTC", days="mon,tue,wed,thu,fri", reveal="17:00"))
    post, _ = await service.claim_daily(channel, "UTC")
    await store.set_post_message(post.id, "1.0")
    question = bank.question(post.question_id)
    assert question is not None
    letters = question.letters
    n_key = len(question.key)
    choices = [" ".join(letters[(i + j) % len(letters)] for j in range(n_key)) for i in range(members)]
    freeze_heap()  # as `studybot run` does once started
    latencies: list[float] = []
    failures: list[str] = []
    meter = Progress("answers", members, enabled=progress)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(members):
        queue.put_nowait(i)

    async def clicker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            member = MemberRef("slack", workspace, f"U{i:06d}")
            t0 = time.perf_counter()
            msg = await service.answer(member=member, post_id=post.id, raw_choice=choices[i])
            elapsed = time.perf_counter() - t0
            if msg.text.startswith((texts.RIGHT[:6], texts.WRONG[:10])):
                latencies.append(elapsed)
            else:
                failures.append(msg.text[:80])
            meter.add()

    start = time.perf_counter()
    await asyncio.gather(*[clicker() for _ in range(concurrency)])
    wall = time.perf_counter() - start
    meter.close()
    stored = await store.answered_count(post.id)
    await store.aclose()
    if stored != len(latencies) or failures:
        raise RuntimeError(f"answers: {len(latencies)} replied recorded, {stored} stored, failures {failures[:3]}")
    rate = len(latencies) / wall
    p50, p99 = 1000 * percentile(latencies, 50), 1000 * percentile(latencies, 99)
    each, batch = _baseline(folder, members)
    where = f"{backend(url)}, {members:,} members, {concurrency} in flight"
    base = f"sqlite3 {fmt(each)}/s one tx each, {fmt(batch)}/s one batch"
    return [
        Row("answers (in-process)", "answers/s", rate, ">= 10,000", base, rate >= 10_000, where),
        Row("answers (in-process)", "p50 ms to durable", p50, "", "", None, where),
        Row("answers (in-process)", "p99 ms to durable", p99, "<= 50", "", p99 <= 50, where),
    ]


def _baseline(folder: Path, members: int) -> tuple[float, float]:
    """Rows per second for the same rows in plain sqlite3 (same schema, WAL, synchronous=NORMAL)."""
    path = folder / "baseline.db"
    results = []
    for mode in ("each", "batch"):
        if path.exists():
            path.unlink()
        _schema(path)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        rows = [
            (1, "slack", "ws", f"U{i:06d}", "C1", "A", 1, 10, 0, NOW.timestamp(), "2026-03-02", f"t{i}")
            for i in range(members)
        ]
        t0 = time.perf_counter()
        if mode == "each":
            for row in rows:
                db.execute("BEGIN IMMEDIATE")
                db.execute(_BASELINE_SQL, row)
                db.execute("COMMIT")
        else:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(_BASELINE_SQL, rows)
            db.execute("COMMIT")
        results.append(members / (time.perf_counter() - t0))
        db.close()
    return results[0], results[1]


def _schema(path: Path) -> None:
    """The answers table as migrations 001-002 create it, without the store around it."""
    from storage.migrate import load_migrations
    from storage.sqlite.store import MIGRATIONS

    db = sqlite3.connect(path, isolation_level=None)
    for m in load_migrations(MIGRATIONS)[:2]:
        for statement in m.statements:
            db.execute(statement)
    db.execute("INSERT INTO posts (id, platform, workspace, channel, kind, question_id, local_date, created_at) "
               "VALUES (1, 'slack', 'ws', 'C1', 'daily', 'q', '2026-03-02', 0)")
    db.close()
