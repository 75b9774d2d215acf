"""The SQLite store on aiosqlite: WAL, one writer connection, BEGIN IMMEDIATE under an asyncio lock.

Concurrent answers are group-committed: each `record_answer` queues its row and waits; a single
writer task drains the queue and commits up to BATCH rows in one transaction, then tells every
waiter whether its row was the one stored (a per-row token tells a first answer from a repeat).
So an answer is durable before the member hears "recorded", and a burst of thousands of clicks
costs tens of commits, not thousands.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import AnswerIn, AnswerOutcome, Post, Ranked, StoreError, Subscription
from storage.migrate import load_migrations

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
BATCH = 500
BUSY_TIMEOUT_MS = 5000

_POST_COLS = "id, platform, workspace, channel, kind, question_id, local_date, created_at, message_id, revealed_at, attempts, failed"


def _post(row) -> Post:
    return Post(
        id=row[0], channel=ChannelRef(row[1], row[2], row[3]), kind=row[4], question_id=row[5], local_date=row[6],
        created_at=row[7], message_id=row[8], revealed_at=row[9], attempts=row[10], failed=bool(row[11]),
    )


def _sub(row) -> Subscription:
    return Subscription(
        channel=ChannelRef(row[0], row[1], row[2]), time=row[3], timezone=row[4], days=row[5], reveal=row[6],
        active=bool(row[7]), digest=bool(row[8]), last_error=row[9],
    )


class SQLiteStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._queue: asyncio.Queue[tuple[AnswerIn, str, asyncio.Future]] | None = None
        self._drainer: asyncio.Task | None = None

    # ----- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = await self._connect()
            await self._writer.execute("PRAGMA journal_mode=WAL")
            await self._migrate()
            self._reader = await self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the SQLite database {self.path}: {exc}") from exc
        self._queue = asyncio.Queue()
        self._drainer = asyncio.create_task(self._drain_answers(), name="sqlite-answer-writer")

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in (f"busy_timeout={BUSY_TIMEOUT_MS}", "synchronous=NORMAL", "foreign_keys=ON"):
            await conn.execute(f"PRAGMA {pragma}")
        return conn

    async def aclose(self) -> None:
        if self._drainer:
            # Let queued answers land before closing.
            if self._queue is not None:
                await self._queue.join()
            self._drainer.cancel()
            try:
                await self._drainer
            except asyncio.CancelledError:
                pass
            self._drainer = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    async def _migrate(self) -> None:
        async with self._tx() as db:
            await db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            rows = await (await db.execute("SELECT version FROM schema_migrations")).fetchall()
            done = {r[0] for r in rows}
            for m in load_migrations(MIGRATIONS):
                if m.version in done:
                    continue
                for statement in m.statements:
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (m.version, m.name, time.time()),
                )
                log.info("applied migration %03d_%s", m.version, m.name)

    async def applied_migrations(self) -> list[int]:
        return [r[0] for r in await self._fetchall("SELECT version FROM schema_migrations ORDER BY version")]

    # ----- plumbing -----------------------------------------------------------------------
    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[aiosqlite.Connection]:
        db = self._writer
        if db is None:
            raise StoreError("the store is not started")
        async with self._lock:
            try:
                await db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"database busy: {exc}") from exc
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            try:
                await db.execute("COMMIT")
            except sqlite3.Error as exc:
                await db.execute("ROLLBACK")
                raise StoreError(f"commit failed: {exc}") from exc

    async def _write(self, sql: str, params: tuple = ()) -> int:
        try:
            async with self._tx() as db:
                cur = await db.execute(sql, params)
                return cur.rowcount
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    async def _fetchall(self, sql: str, params: tuple = ()) -> list:
        db = self._reader or self._writer
        if db is None:
            raise StoreError("the store is not started")
        try:
            return list(await (await db.execute(sql, params)).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    async def _fetchone(self, sql: str, params: tuple = ()):
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    # ----- members and subscriptions ------------------------------------------------------
    async def get_member_timezone(self, member: MemberRef) -> str | None:
        row = await self._fetchone(
            "SELECT timezone FROM members WHERE platform=? AND workspace=? AND user_id=?",
            (member.platform, member.workspace, member.user),
        )
        return row[0] if row else None

    async def set_member_timezone(self, member: MemberRef, tz: str) -> None:
        await self._write(
            "INSERT INTO members (platform, workspace, user_id, timezone, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, workspace, user_id) DO UPDATE SET timezone=excluded.timezone, updated_at=excluded.updated_at",
            (member.platform, member.workspace, member.user, tz, time.time()),
        )

    async def get_subscription(self, channel: ChannelRef) -> Subscription | None:
        row = await self._fetchone(
            "SELECT platform, workspace, channel, time, timezone, days, reveal, active, digest, last_error "
            "FROM subscriptions WHERE platform=? AND workspace=? AND channel=?",
            (channel.platform, channel.workspace, channel.channel),
        )
        return _sub(row) if row else None

    async def put_subscription(self, sub: Subscription) -> None:
        c = sub.channel
        await self._write(
            "INSERT INTO subscriptions (platform, workspace, channel, time, timezone, days, reveal, active, digest, last_error, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, workspace, channel) DO UPDATE SET "
            "time=excluded.time, timezone=excluded.timezone, days=excluded.days, reveal=excluded.reveal, "
            "active=excluded.active, digest=excluded.digest, last_error=excluded.last_error, updated_at=excluded.updated_at",
            (c.platform, c.workspace, c.channel, sub.time, sub.timezone, sub.days, sub.reveal, int(sub.active),
             int(sub.digest), sub.last_error, time.time()),
        )

    async def list_subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        where = "WHERE active=1" if active_only else ""
        rows = await self._fetchall(
            "SELECT platform, workspace, channel, time, timezone, days, reveal, active, digest, last_error "
            f"FROM subscriptions {where} ORDER BY platform, workspace, channel"
        )
        return [_sub(r) for r in rows]

    async def set_subscription_error(self, channel: ChannelRef, error: str | None) -> None:
        await self._write(
            "UPDATE subscriptions SET last_error=?, updated_at=? WHERE platform=? AND workspace=? AND channel=?",
            (error[:500] if error else None, time.time(), channel.platform, channel.workspace, channel.channel),
        )

    # ----- posts --------------------------------------------------------------------------
    async def daily_history(self, channel: ChannelRef) -> list[str]:
        rows = await self._fetchall(
            "SELECT question_id FROM posts WHERE platform=? AND workspace=? AND channel=? AND kind='daily' ORDER BY local_date, id",
            (channel.platform, channel.workspace, channel.channel),
        )
        return [r[0] for r in rows]

    async def claim_daily(
        self, *, channel: ChannelRef, local_date: str, question_id: str, created_at: float,
        lease_seconds: float = 300.0,
    ) -> tuple[Post, bool]:
        try:
            async with self._tx() as db:
                cur = await db.execute(
                    "INSERT INTO posts (platform, workspace, channel, kind, question_id, local_date, created_at, lease_until) "
                    "VALUES (?, ?, ?, 'daily', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (channel.platform, channel.workspace, channel.channel, question_id, local_date, created_at,
                     created_at + lease_seconds),
                )
                created = cur.rowcount == 1
                row = await (await db.execute(
                    f"SELECT {_POST_COLS} FROM posts WHERE platform=? AND workspace=? AND channel=? AND kind='daily' AND local_date=?",
                    (channel.platform, channel.workspace, channel.channel, local_date),
                )).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
        return _post(row), created

    async def create_quiz(self, *, channel: ChannelRef, question_id: str, created_at: float) -> Post:
        try:
            async with self._tx() as db:
                cur = await db.execute(
                    "INSERT INTO posts (platform, workspace, channel, kind, question_id, created_at) VALUES (?, ?, ?, 'quiz', ?, ?)",
                    (channel.platform, channel.workspace, channel.channel, question_id, created_at),
                )
                post_id = cur.lastrowid
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
        return Post(id=post_id, channel=channel, kind="quiz", question_id=question_id, local_date=None, created_at=created_at)

    async def get_post(self, post_id: int) -> Post | None:
        row = await self._fetchone(f"SELECT {_POST_COLS} FROM posts WHERE id=?", (post_id,))
        return _post(row) if row else None

    async def get_daily(self, channel: ChannelRef, local_date: str) -> Post | None:
        row = await self._fetchone(
            f"SELECT {_POST_COLS} FROM posts WHERE platform=? AND workspace=? AND channel=? AND kind='daily' AND local_date=?",
            (channel.platform, channel.workspace, channel.channel, local_date),
        )
        return _post(row) if row else None

    async def set_post_message(self, post_id: int, message_id: str) -> None:
        await self._write("UPDATE posts SET message_id=?, failed=0 WHERE id=?", (message_id, post_id))

    async def bump_post_attempt(self, post_id: int, *, failed: bool) -> Post | None:
        await self._write(
            "UPDATE posts SET attempts=attempts+1, failed=? WHERE id=?", (int(failed), post_id)
        )
        return await self.get_post(post_id)

    async def lease_post(self, post_id: int, *, now: float, seconds: float) -> Post | None:
        """Take the delivery lease of an undelivered daily post whose lease expired; the post
        (with its attempt counted) when this call got it, else None."""
        taken = await self._write(
            "UPDATE posts SET attempts=attempts+1, lease_until=? WHERE id=? AND message_id IS NULL AND failed=0 "
            "AND (lease_until IS NULL OR lease_until <= ?)",
            (now + seconds, post_id, now),
        )
        return await self.get_post(post_id) if taken == 1 else None

    async def mark_post_failed(self, post_id: int) -> None:
        await self._write("UPDATE posts SET failed=1 WHERE id=? AND message_id IS NULL", (post_id,))

    async def undelivered_posts(self, *, since: float) -> list[Post]:
        rows = await self._fetchall(
            f"SELECT {_POST_COLS} FROM posts WHERE kind='daily' AND message_id IS NULL AND failed=0 AND created_at >= ? ORDER BY id",
            (since,),
        )
        return [_post(r) for r in rows]

    async def channel_members(self, channel: ChannelRef, *, since: float) -> list[str]:
        rows = await self._fetchall(
            "SELECT DISTINCT user_id FROM answers WHERE platform=? AND workspace=? AND channel=? AND answered_at >= ?",
            (channel.platform, channel.workspace, channel.channel, since),
        )
        return [r[0] for r in rows]

    async def mark_revealed(self, post_id: int, at: float) -> bool:
        return await self._write(
            "UPDATE posts SET revealed_at=? WHERE id=? AND revealed_at IS NULL", (at, post_id)
        ) == 1

    async def posts_to_reveal(self, before: float) -> list[Post]:
        rows = await self._fetchall(
            f"SELECT {_POST_COLS} FROM posts WHERE kind='daily' AND revealed_at IS NULL AND created_at < ? ORDER BY id",
            (before,),
        )
        return [_post(r) for r in rows]

    # ----- answers ------------------------------------------------------------------------
    async def record_answer(self, answer: AnswerIn) -> AnswerOutcome:
        if self._queue is None:
            raise StoreError("the store is not started")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put((answer, uuid.uuid4().hex, future))
        return await future

    async def _drain_answers(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._settle(batch)

    async def _settle(self, batch: list[tuple[AnswerIn, str, asyncio.Future]]) -> None:
        assert self._queue is not None
        try:
            outcomes = await self._write_batch(batch)
        except Exception as exc:  # noqa: BLE001 - every waiter must hear about the failure
            if len(batch) > 1:
                # One bad row must not sink its neighbours: retry each on its own.
                for item in batch:
                    await self._settle([item])
                return
            log.error("answer not recorded: %s", exc)
            err = exc if isinstance(exc, StoreError) else StoreError(str(exc))
            _, _, fut = batch[0]
            if not fut.done():
                fut.set_exception(err)
            self._queue.task_done()
            return
        for (_, _, fut), outcome in zip(batch, outcomes, strict=True):
            if not fut.done():
                fut.set_result(outcome)
            self._queue.task_done()

    async def _write_batch(self, batch: list[tuple[AnswerIn, str, asyncio.Future]]) -> list[AnswerOutcome]:
        rows = [
            (a.post_id, a.member.platform, a.member.workspace, a.member.user, a.channel.channel, a.choice,
             int(a.correct), a.points, int(a.practice), a.answered_at, a.local_day, token)
            for a, token, _ in batch
        ]
        keys = {(a.post_id, a.member.platform, a.member.workspace, a.member.user) for a, _, _ in batch}
        stored: dict[tuple, tuple[str, str]] = {}
        try:
            async with self._tx() as db:
                await db.executemany(
                    "INSERT INTO answers (post_id, platform, workspace, user_id, channel, choice, correct, points, "
                    "practice, answered_at, local_day, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (post_id, platform, workspace, user_id) DO NOTHING",
                    rows,
                )
                key_list = list(keys)
                for i in range(0, len(key_list), 200):
                    chunk = key_list[i : i + 200]
                    values = ",".join("(?, ?, ?, ?)" for _ in chunk)
                    params = tuple(x for k in chunk for x in k)
                    cur = await db.execute(
                        "SELECT post_id, platform, workspace, user_id, token, choice FROM answers "
                        f"WHERE (post_id, platform, workspace, user_id) IN (VALUES {values})",
                        params,
                    )
                    for r in await cur.fetchall():
                        stored[(r[0], r[1], r[2], r[3])] = (r[4], r[5])
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
        outcomes = []
        for a, token, _ in batch:
            got_token, choice = stored[(a.post_id, a.member.platform, a.member.workspace, a.member.user)]
            outcomes.append(AnswerOutcome(recorded=got_token == token, choice=choice))
        return outcomes

    async def answer_counts(self, post_id: int) -> dict[str, int]:
        rows = await self._fetchall(
            "SELECT choice, COUNT(*) FROM answers WHERE post_id=? AND practice=0 GROUP BY choice", (post_id,)
        )
        return {r[0]: r[1] for r in rows}

    async def answered_count(self, post_id: int) -> int:
        row = await self._fetchone("SELECT COUNT(*) FROM answers WHERE post_id=?", (post_id,))
        return row[0]

    async def member_days(self, member: MemberRef) -> list[str]:
        rows = await self._fetchall(
            "SELECT DISTINCT local_day FROM answers WHERE platform=? AND workspace=? AND user_id=? ORDER BY local_day",
            (member.platform, member.workspace, member.user),
        )
        return [r[0] for r in rows]

    async def practice_points_on(self, member: MemberRef, local_day: str) -> int:
        row = await self._fetchone(
            "SELECT COALESCE(SUM(points), 0) FROM answers WHERE platform=? AND workspace=? AND user_id=? "
            "AND local_day=? AND practice=1",
            (member.platform, member.workspace, member.user, local_day),
        )
        return row[0]

    async def member_points(self, member: MemberRef) -> tuple[int, int, int]:
        row = await self._fetchone(
            "SELECT COALESCE(SUM(points), 0), COUNT(*), COALESCE(SUM(correct), 0) FROM answers "
            "WHERE platform=? AND workspace=? AND user_id=?",
            (member.platform, member.workspace, member.user),
        )
        return row[0], row[1], row[2]

    def _board_filter(
        self, platform: str, workspace: str, channel: str | None, since: float | None, until: float | None = None
    ) -> tuple[str, tuple]:
        where, params = ["platform=?", "workspace=?"], [platform, workspace]
        if until is not None:
            where.append("answered_at<?")
            params.append(until)
        if channel is not None:
            where.append("channel=?")
            params.append(channel)
        if since is not None:
            where.append("answered_at>=?")
            params.append(since)
        return " AND ".join(where), tuple(params)

    async def leaderboard(
        self, *, platform: str, workspace: str, channel: str | None, since: float | None, limit: int,
        until: float | None = None,
    ) -> list[Ranked]:
        where, params = self._board_filter(platform, workspace, channel, since, until)
        rows = await self._fetchall(
            f"SELECT user_id, SUM(points) AS p FROM answers WHERE {where} GROUP BY user_id HAVING p > 0 "
            "ORDER BY p DESC, user_id LIMIT ?",
            (*params, limit),
        )
        ranked, rank = [], 0
        for i, (user, points) in enumerate(rows):
            if i == 0 or points != rows[i - 1][1]:
                rank = i + 1  # ties share a rank; the next distinct score skips ahead
            ranked.append(Ranked(user=user, points=points, rank=rank))
        return ranked

    async def rank_of(self, *, member: MemberRef, channel: str | None, since: float | None) -> Ranked | None:
        where, params = self._board_filter(member.platform, member.workspace, channel, since)
        row = await self._fetchone(
            f"SELECT COALESCE(SUM(points), 0) FROM answers WHERE {where} AND user_id=?", (*params, member.user)
        )
        points = row[0]
        if points <= 0:
            return None
        above = await self._fetchone(
            f"SELECT COUNT(*) FROM (SELECT SUM(points) AS p FROM answers WHERE {where} GROUP BY user_id HAVING p > ?)",
            (*params, points),
        )
        return Ranked(user=member.user, points=points, rank=above[0] + 1)

    # ----- small key/value (command-tree hashes and the like) -----------------------------
    async def get_kv(self, key: str) -> str | None:
        row = await self._fetchone("SELECT value FROM kv WHERE key=?", (key,))
        return row[0] if row else None

    async def set_kv(self, key: str, value: str) -> None:
        await self._write(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value=excluded.value", (key, value)
        )
