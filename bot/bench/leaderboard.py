"""leaderboard: a workspace with M members and A answers over 90 days; each asker's
`/dva leaderboard` (top 10 plus their own rank) for week, month and all time, in their channel
and in the workspace, through StudyService.leaderboard_message. Baseline: the same boards summed
from the answers table at query time (the store's leaderboard without `period`).

The data is loaded with plain sqlite3 (a bulk load, not the answer path) with the totals summed
as the answer path adds them; the bench checks them: every sampled board, and the asker's rank,
must equal the ones summed from the answers at query time.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.bench.report import Progress, Row, fmt, percentile
from bot.core.clock import FakeClock
from bot.core.models import Bank, ChannelRef, MemberRef
from bot.core.service import StudyService
from bot.core.timeutil import period_key, period_start
from storage.sqlite.store import SQLiteStore

LAST_DAY = date(2026, 3, 4)  # a Wednesday: this week and this month both hold a few days
WORKSPACE = "T-bench"
CHANNELS = 20
_INSERT = (
    "INSERT INTO answers (post_id, platform, workspace, user_id, channel, choice, correct, points, practice, "
    "answered_at, local_day, token) VALUES (?, 'slack', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)"
)


def _load(path: Path, *, members: int, answers: int, days: int, progress: bool) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    rng = random.Random(7)
    first = LAST_DAY - timedelta(days=days - 1)
    post_ids: dict[tuple[int, int], int] = {}
    db.execute("BEGIN")
    for c in range(CHANNELS):
        for d in range(days):
            day = first + timedelta(days=d)
            cur = db.execute(
                "INSERT INTO posts (platform, workspace, channel, kind, question_id, local_date, created_at) "
                "VALUES ('slack', ?, ?, 'daily', 'q', ?, ?)",
                (WORKSPACE, f"C{c:02d}", day.isoformat(), datetime.combine(day, datetime.min.time(), UTC).timestamp()),
            )
            post_ids[(c, d)] = cur.lastrowid
    db.execute("COMMIT")
    per_member = max(1, answers // members)
    meter = Progress("leaderboard data", members * min(per_member, days), enabled=progress)
    # Bulk load: the answers' secondary indexes are built once at the end, and the totals are
    # summed here as the store's answer path would have added them up.
    indexes = db.execute("SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='answers' "
                         "AND sql IS NOT NULL").fetchall()
    for (sql,) in indexes:
        db.execute("DROP INDEX " + sql.split()[2])
    totals: dict[tuple[str, str, str], int] = {}
    rows = []
    for m in range(members):
        c = m % CHANNELS
        user, chan = f"U{m:06d}", f"C{c:02d}"
        skill = rng.random()
        for d in rng.sample(range(days), min(per_member, days)):
            day = first + timedelta(days=d)
            right = rng.random() < skill
            points = 10 if right else 3
            at = datetime.combine(day, datetime.min.time(), UTC).timestamp() + 10 * 3600 + rng.randrange(3600)
            rows.append((post_ids[(c, d)], WORKSPACE, user, chan, "A" if right else "B", int(right), points, at,
                         day.isoformat(), "t"))
            for period in ("all", "week", "month"):
                key = period_key(day, period)
                for scope in (chan, ""):
                    k = (scope, key, user)
                    totals[k] = totals.get(k, 0) + points
        if len(rows) >= 50_000:
            db.execute("BEGIN")
            db.executemany(_INSERT, rows)
            db.execute("COMMIT")
            meter.add(len(rows))
            rows = []
    db.execute("BEGIN")
    db.executemany(_INSERT, rows)
    meter.add(len(rows))
    for (sql,) in indexes:
        db.execute(sql)
    db.executemany(
        "INSERT INTO board_totals (platform, workspace, channel, period, user_id, points) VALUES ('slack', ?, ?, ?, ?, ?)",
        ((WORKSPACE, *k, v) for k, v in totals.items()),
    )
    db.execute(
        "INSERT INTO board_levels (platform, workspace, channel, period, points, members) "
        "SELECT platform, workspace, channel, period, points, COUNT(*) FROM board_totals "
        "GROUP BY platform, workspace, channel, period, points"
    )
    db.execute("COMMIT")
    db.execute("ANALYZE")
    meter.close()
    db.close()


async def run(*, bank: Bank, folder: Path, members: int = 100_000, answers: int = 2_000_000, days: int = 90,
              asks: int = 300, baseline_asks: int = 12, progress: bool = True) -> list[Row]:
    path = folder / "leaderboard.db"
    store = SQLiteStore(path)
    await store.start()  # the schema
    await store.aclose()
    t0 = time.perf_counter()
    await asyncio.to_thread(_load, path, members=members, answers=answers, days=days, progress=progress)
    load_seconds = time.perf_counter() - t0
    store = SQLiteStore(path)
    await store.start()
    clock = FakeClock(datetime(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day, 18, 0, tzinfo=UTC))
    service = StudyService(bank=bank, store=store, clock=clock)
    rng = random.Random(11)
    boards = [(p, s) for p in ("week", "month", "all") for s in ("here", "workspace")]
    latencies: list[float] = []
    meter = Progress("leaderboard asks", asks, enabled=progress)
    for i in range(asks):
        m = rng.randrange(members)
        period, scope = boards[i % len(boards)]
        asker = MemberRef("slack", WORKSPACE, f"U{m:06d}")
        channel = ChannelRef("slack", WORKSPACE, f"C{m % CHANNELS:02d}")
        t = time.perf_counter()
        msg = await service.leaderboard_message(member=asker, channel=channel, period=period, scope=scope)
        latencies.append(time.perf_counter() - t)
        if not msg.text or not msg.title:
            raise RuntimeError("leaderboard: empty answer")
        meter.add()
    meter.close()
    # Baseline: the same boards summed from answers at query time; and they must agree.
    scan: list[float] = []
    for i in range(baseline_asks):
        m = rng.randrange(members)
        period, scope = boards[i % len(boards)]
        asker = MemberRef("slack", WORKSPACE, f"U{m:06d}")
        chan = f"C{m % CHANNELS:02d}" if scope == "here" else None
        start = period_start(clock.now(), period, "UTC")
        since = start.timestamp() if start else None
        t = time.perf_counter()
        top = await store.leaderboard(platform="slack", workspace=WORKSPACE, channel=chan, since=since, limit=10)
        mine = await store.rank_of(member=asker, channel=chan, since=since)
        scan.append(time.perf_counter() - t)
        key = {"week": "w2026-03-02", "month": "m2026-03", "all": "all"}[period]
        kept = await store.leaderboard(platform="slack", workspace=WORKSPACE, channel=chan, since=None, limit=10,
                                       period=key)
        kept_mine = await store.rank_of(member=asker, channel=chan, since=None, period=key)
        if kept != top or kept_mine != mine:
            raise RuntimeError(f"leaderboard: maintained totals disagree with the answers for {period} {scope}")
    await store.aclose()
    p50, p99 = 1000 * percentile(latencies, 50), 1000 * percentile(latencies, 99)
    note = f"sqlite, {members:,} members, {answers:,} answers, {days} days; {asks} asks"
    base = f"summed from answers: p50 {fmt(1000 * percentile(scan, 50))} ms, p99 {fmt(1000 * percentile(scan, 99))} ms"
    return [
        Row("leaderboard", "p50 ms per /dva leaderboard", p50, "", "", None, note),
        Row("leaderboard", "p99 ms per /dva leaderboard", p99, "<= 10", base, p99 <= 10,
            f"{note}; data loaded in {load_seconds:.0f} s"),
    ]
