"""The SQLite store on aiosqlite: WAL, one writer connection, BEGIN IMMEDIATE under an asyncio lock.

Concurrent answers are group-committed: each `record_answer` queues its row and waits; a single
writer task drains the queue and commits up to BATCH rows in one transaction, then tells every
waiter whether its row was the one stored (a per-row token tells a first answer from a repeat).
So an answer is durable before the member hears "recorded", and a burst of thousands of clicks
costs tens of commits, not thousands. The same transaction adds the answers' points to the
maintained leaderboard totals (migration 003) and reads back each member's streak days, so the
answer path needs no further query.

Reads on the answer path are cached briefly: a post whose mutable fields no longer matter to the
scheduler (a quiz, or a delivered daily post, where only revealed_at can still change), and the
member's and the channel's time zones. This store's own writes drop the entries at once; a write
by another process on the same file is seen within CACHE_SECONDS.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.core.boards import board_deltas
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import AnswerIn, AnswerOutcome, AppInstallation, Post, Ranked, StoreError, Subscription
from storage.batching import Coalesced, GroupCommit, Item
from storage.migrate import load_migrations
from storage.sqlite.cards import Moved, SQLiteCards, answer_reviews, move_cards_sync
from storage.sqlite.daily import SQLiteDaily
from storage.sqlite.exams import SQLiteExams
from storage.sqlite.keys import value_rows

log = logging.getLogger(__name__)
# aiosqlite logs every statement with its parameters at DEBUG; a row of app_installations carries a
# bot token (a secret), so statements on that table stay out of the log.
logging.getLogger("aiosqlite").addFilter(lambda record: "app_installations" not in record.getMessage())
MIGRATIONS = Path(__file__).with_name("migrations")
BATCH = 500
BUSY_TIMEOUT_MS = 5000
# The answer writer waits less for a lock held by another process: a click's acknowledgement waits
# for its commit, and Slack and Discord give up after 3 s (see storage/batching.py's MAX_WAIT).
ANSWER_BUSY_TIMEOUT_MS = 1500
CACHE_SECONDS = 2.0
CACHE_ENTRIES = 100_000
_MISSING = object()

_BOARD_KEY = "platform, workspace, channel, period"
_BOARD_JOIN = (
    "FROM temp.board_delta d JOIN board_totals t ON t.platform=d.platform AND t.workspace=d.workspace "
    "AND t.channel=d.channel AND t.period=d.period AND t.user_id=d.user_id WHERE true"
)
_LEVELS_UPSERT = (
    f"INSERT INTO board_levels ({_BOARD_KEY}, points, members) SELECT t.platform, t.workspace, t.channel, "
    "t.period, t.points, {sign} " + _BOARD_JOIN + f" ON CONFLICT ({_BOARD_KEY}, points) "
    "DO UPDATE SET members = members + excluded.members"
)

_INSTALL_COLS = "platform, enterprise_id, team_id, user_id, installed_at, record"
_POST_COLS = (
    "id, platform, workspace, channel, kind, question_id, local_date, created_at, message_id, revealed_at, attempts, "
    "failed, user_id, mode, thread_id, reveal_face_at, reveal_reply_at"
)


def _post(row) -> Post:
    return Post(
        id=row[0], channel=ChannelRef(row[1], row[2], row[3]), kind=row[4], question_id=row[5], local_date=row[6],
        created_at=row[7], message_id=row[8], revealed_at=row[9], attempts=row[10], failed=bool(row[11]),
        user=row[12], mode=row[13], thread_id=row[14], reveal_face_at=row[15], reveal_reply_at=row[16],
    )


def _sub(row) -> Subscription:
    return Subscription(
        channel=ChannelRef(row[0], row[1], row[2]), time=row[3], timezone=row[4], days=row[5], reveal=row[6],
        active=bool(row[7]), digest=bool(row[8]), last_error=row[9], ping=row[10],
    )


class SQLiteStore(SQLiteExams, SQLiteCards, SQLiteDaily):
    POST_COLS = _POST_COLS
    post_row = staticmethod(_post)

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._cache: dict[tuple, tuple[float, object]] = {}
        # A token tells this process's row from another's: unique per store, counted per answer
        # (one uuid per answer costs a system call on the hot path).
        token_prefix = uuid.uuid4().hex[:16] + "-"
        tokens = itertools.count(1)
        self._answers = GroupCommit(
            self._write_batch, batch=BATCH, name="sqlite-answer-writer", token=lambda: f"{token_prefix}{next(tokens)}"
        )
        self._batch_thread: ThreadPoolExecutor | None = None
        self._batch_db: sqlite3.Connection | None = None
        self._timezones: Coalesced[MemberRef, str] = Coalesced(
            self._read_timezones, remember=lambda m, tz: self._remember(("tz", m), tz))

    # ----- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = await self._connect()
            await self._writer.execute("PRAGMA journal_mode=WAL")
            await self._migrate()
            self._reader = await self._connect()
            self._batch_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-answers")
            self._batch_db = await asyncio.get_running_loop().run_in_executor(
                self._batch_thread, self._open_batch_sync
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the SQLite database {self.path}: {exc}") from exc
        self._answers.start()

    async def release_memory(self, *, quiet: float) -> bool:
        """Once a burst is over: each connection's page cache back to the allocator (PRAGMA
        shrink_memory; the pages are read again from the file, or the OS cache, when needed)."""
        if not self._answers.burst_over(quiet):
            return False
        now = time.monotonic()  # the burst's read-cache entries (time zones, posts) have expired
        self._cache = {key: hit for key, hit in self._cache.items() if hit[0] >= now}
        try:
            for conn in (self._reader, self._writer):
                if conn is not None:
                    await conn.execute("PRAGMA shrink_memory")
            if self._batch_db is not None and self._batch_thread is not None:
                db = self._batch_db
                await asyncio.get_running_loop().run_in_executor(
                    self._batch_thread, lambda: db.execute("PRAGMA shrink_memory"))
        except sqlite3.Error as exc:
            log.warning("could not release SQLite memory: %s", exc)
        return True

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in (f"busy_timeout={BUSY_TIMEOUT_MS}", "synchronous=NORMAL", "foreign_keys=ON"):
            await conn.execute(f"PRAGMA {pragma}")
        return conn

    async def aclose(self) -> None:
        await self._answers.aclose()  # queued answers land first
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None
        if self._batch_thread is not None:
            if self._batch_db is not None:
                await asyncio.get_running_loop().run_in_executor(self._batch_thread, self._batch_db.close)
            self._batch_thread.shutdown(wait=True)
        self._batch_thread = self._batch_db = None

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
            # One call into the connection's thread: execute and fetch together. Executing first and
            # fetching later let another coroutine's statement run in between while this one was
            # still open, so the reader's shared read transaction could keep an old snapshot and
            # miss a write committed just before (an exam created and then not found).
            return list(await db.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    async def _fetchone(self, sql: str, params: tuple = ()):
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    def _cached(self, key: tuple) -> object:
        hit = self._cache.get(key)
        if hit is None or hit[0] < time.monotonic():
            return _MISSING
        return hit[1]

    def _remember(self, key: tuple, value: object) -> None:
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + CACHE_SECONDS, value)

    def _forget(self, key: tuple) -> None:
        self._cache.pop(key, None)

    # ----- members and subscriptions ------------------------------------------------------
    async def get_member_timezone(self, member: MemberRef) -> str | None:
        key = ("tz", member)
        cached = self._cached(key)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        return await self._timezones.get(member)  # a burst's members share one query

    async def _read_timezones(self, members: list[MemberRef]) -> dict[MemberRef, str]:
        found: dict[MemberRef, str] = {}
        for values, params in value_rows([(m.platform, m.workspace, m.user) for m in members], 300):
            rows = await self._fetchall(
                f"WITH k (pl, ws, u) AS (VALUES {values}) SELECT m.platform, m.workspace, m.user_id, m.timezone "
                "FROM k CROSS JOIN members m ON m.platform=k.pl AND m.workspace=k.ws AND m.user_id=k.u",
                params,
            )
            found.update({MemberRef(r[0], r[1], r[2]): r[3] for r in rows})
        return found

    async def set_member_timezone(self, member: MemberRef, tz: str) -> None:
        await self._write(
            "INSERT INTO members (platform, workspace, user_id, timezone, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, workspace, user_id) DO UPDATE SET timezone=excluded.timezone, updated_at=excluded.updated_at",
            (member.platform, member.workspace, member.user, tz, time.time()),
        )
        self._timezones.epoch += 1
        self._forget(("tz", member))

    async def get_subscription(self, channel: ChannelRef) -> Subscription | None:
        key = ("sub", channel)
        cached = self._cached(key)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        row = await self._fetchone(
            "SELECT platform, workspace, channel, time, timezone, days, reveal, active, digest, last_error, ping "
            "FROM subscriptions WHERE platform=? AND workspace=? AND channel=?",
            (channel.platform, channel.workspace, channel.channel),
        )
        self._remember(key, _sub(row) if row else None)
        return _sub(row) if row else None

    async def put_subscription(self, sub: Subscription) -> None:
        c = sub.channel
        await self._write(
            "INSERT INTO subscriptions (platform, workspace, channel, time, timezone, days, reveal, active, digest, last_error, "
            "ping, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, workspace, channel) DO UPDATE SET "
            "time=excluded.time, timezone=excluded.timezone, days=excluded.days, reveal=excluded.reveal, "
            "active=excluded.active, digest=excluded.digest, last_error=excluded.last_error, ping=excluded.ping, "
            "updated_at=excluded.updated_at",
            (c.platform, c.workspace, c.channel, sub.time, sub.timezone, sub.days, sub.reveal, int(sub.active),
             int(sub.digest), sub.last_error, sub.ping, time.time()),
        )
        self._forget(("sub", sub.channel))

    async def list_subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        where = "WHERE active=1" if active_only else ""
        rows = await self._fetchall(
            "SELECT platform, workspace, channel, time, timezone, days, reveal, active, digest, last_error, ping "
            f"FROM subscriptions {where} ORDER BY platform, workspace, channel"
        )
        return [_sub(r) for r in rows]

    async def set_subscription_error(self, channel: ChannelRef, error: str | None) -> None:
        await self._write(
            "UPDATE subscriptions SET last_error=?, updated_at=? WHERE platform=? AND workspace=? AND channel=?",
            (error[:500] if error else None, time.time(), channel.platform, channel.workspace, channel.channel),
        )
        self._forget(("sub", channel))

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

    async def create_quiz(
        self, *, channel: ChannelRef, question_id: str, created_at: float, user: str | None = None,
        mode: str | None = None,
    ) -> Post:
        try:
            async with self._tx() as db:
                cur = await db.execute(
                    "INSERT INTO posts (platform, workspace, channel, kind, question_id, created_at, user_id, mode) "
                    "VALUES (?, ?, ?, 'quiz', ?, ?, ?, ?)",
                    (channel.platform, channel.workspace, channel.channel, question_id, created_at, user, mode),
                )
                post_id = cur.lastrowid
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
        return Post(id=post_id, channel=channel, kind="quiz", question_id=question_id, local_date=None,
                    created_at=created_at, user=user, mode=mode)

    async def served_questions(self, member: MemberRef, *, limit: int) -> list[tuple[str, float]]:
        rows = await self._fetchall(
            "SELECT question_id, created_at FROM posts WHERE platform=? AND workspace=? AND user_id=? "
            "ORDER BY id DESC LIMIT ?",
            (member.platform, member.workspace, member.user, limit),
        )
        return [(r[0], r[1]) for r in rows]

    async def get_post(self, post_id: int) -> Post | None:
        cached = self._cached(("post", post_id))
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        row = await self._fetchone(f"SELECT {_POST_COLS} FROM posts WHERE id=?", (post_id,))
        post = _post(row) if row else None
        # Only posts the scheduler no longer updates: an undelivered daily post must be read fresh.
        if post is not None and (post.kind == "quiz" or post.message_id is not None):
            self._remember(("post", post_id), post)
        return post

    async def get_daily(self, channel: ChannelRef, local_date: str) -> Post | None:
        row = await self._fetchone(
            f"SELECT {_POST_COLS} FROM posts WHERE platform=? AND workspace=? AND channel=? AND kind='daily' AND local_date=?",
            (channel.platform, channel.workspace, channel.channel, local_date),
        )
        return _post(row) if row else None

    async def set_post_message(self, post_id: int, message_id: str) -> None:
        await self._write("UPDATE posts SET message_id=?, failed=0 WHERE id=?", (message_id, post_id))
        self._forget(("post", post_id))

    async def bump_post_attempt(self, post_id: int, *, failed: bool) -> Post | None:
        await self._write(
            "UPDATE posts SET attempts=attempts+1, failed=? WHERE id=?", (int(failed), post_id)
        )
        self._forget(("post", post_id))
        return await self.get_post(post_id)

    async def lease_post(self, post_id: int, *, now: float, seconds: float) -> Post | None:
        """Take the delivery lease of an undelivered daily post whose lease expired; the post
        (with its attempt counted) when this call got it, else None."""
        taken = await self._write(
            "UPDATE posts SET attempts=attempts+1, lease_until=? WHERE id=? AND message_id IS NULL AND failed=0 "
            "AND (lease_until IS NULL OR lease_until <= ?)",
            (now + seconds, post_id, now),
        )
        self._forget(("post", post_id))
        return await self.get_post(post_id) if taken == 1 else None

    async def mark_post_failed(self, post_id: int) -> None:
        await self._write("UPDATE posts SET failed=1 WHERE id=? AND message_id IS NULL", (post_id,))
        self._forget(("post", post_id))

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

    async def mark_revealed(self, post_id: int, at: float, *, lease_seconds: float = 120.0) -> bool:
        self._forget(("post", post_id))
        done = await self._write(
            "UPDATE posts SET revealed_at=?, reveal_lease_until=? WHERE id=? AND revealed_at IS NULL",
            (at, at + lease_seconds, post_id),
        ) == 1
        self._forget(("post", post_id))
        return done

    async def posts_to_reveal(self, before: float) -> list[Post]:
        rows = await self._fetchall(
            f"SELECT {_POST_COLS} FROM posts WHERE kind='daily' AND revealed_at IS NULL AND created_at < ? ORDER BY id",
            (before,),
        )
        return [_post(r) for r in rows]

    # ----- answers ------------------------------------------------------------------------
    async def record_answer(self, answer: AnswerIn) -> AnswerOutcome:
        """Queued and group-committed with concurrent answers (storage/batching.py)."""
        return await self._answers.submit(answer)

    async def _write_batch(self, batch: list[Item]) -> list[AnswerOutcome]:
        if self._batch_db is None:
            raise StoreError("the store is not started")
        pairs = [(a, token) for a, token, _ in batch]
        loop = asyncio.get_running_loop()
        try:
            # The whole transaction in one call to the writer thread: one wake-up of the event
            # loop per batch instead of one per statement.
            async with self._lock:
                stored, days, cards = await loop.run_in_executor(self._batch_thread, self._write_batch_sync, pairs)
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
        for a, _ in pairs:
            if a.timezone:  # adopted in the batch: the cached "no time zone" is stale
                self._timezones.epoch += 1
                self._forget(("tz", a.member))
        outcomes = []
        for a, token in pairs:
            got_token, choice = stored[(a.post_id, a.member.platform, a.member.workspace, a.member.user)]
            first = got_token == token
            outcomes.append(AnswerOutcome(
                recorded=first, choice=choice, days=days.get(a.member, ()),
                card=cards.get((a.member, a.question_id)) if first else None,
            ))
        return outcomes

    def _open_batch_sync(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        busy = min(BUSY_TIMEOUT_MS, ANSWER_BUSY_TIMEOUT_MS)
        for pragma in (f"busy_timeout={busy}", "synchronous=NORMAL", "foreign_keys=ON"):
            db.execute(f"PRAGMA {pragma}")
        # No key on the deltas: they are unique already (summed in Python), and each is looked up
        # in board_totals by its primary key, so an index here would only cost inserts.
        db.execute(f"CREATE TEMP TABLE IF NOT EXISTS board_delta ({_BOARD_KEY}, user_id, delta)")
        return db

    def _write_batch_sync(
        self, pairs: list[tuple[AnswerIn, str]]
    ) -> tuple[dict[tuple, tuple[str, str]], dict[MemberRef, tuple[str, ...]], Moved]:
        """In the writer thread: insert the rows, read back whose token stuck, move the boards and
        read the members' streak days, all in one transaction (rolled back whole on any error)."""
        db = self._batch_db
        assert db is not None
        db.execute("BEGIN IMMEDIATE")
        try:
            adopted = {(a.member.platform, a.member.workspace, a.member.user): a.timezone for a, _ in pairs if a.timezone}
            if adopted:
                db.executemany(
                    "INSERT INTO members (platform, workspace, user_id, timezone, updated_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (platform, workspace, user_id) DO NOTHING",
                    [(*k, tz, time.time()) for k, tz in adopted.items()],
                )
            db.executemany(
                "INSERT INTO answers (post_id, platform, workspace, user_id, channel, choice, correct, points, "
                "practice, answered_at, local_day, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (post_id, platform, workspace, user_id) DO NOTHING",
                [(a.post_id, a.member.platform, a.member.workspace, a.member.user, a.channel.channel, a.choice,
                  int(a.correct), a.points, int(a.practice), a.answered_at, a.local_day, token) for a, token in pairs],
            )
            stored: dict[tuple, tuple[str, str]] = {}
            key_list = list({(a.post_id, a.member.platform, a.member.workspace, a.member.user) for a, _ in pairs})
            for values, params in value_rows(key_list, 200):
                # A join from the VALUES, not "IN (VALUES ...)": SQLite plans the IN as a scan of answers.
                for r in db.execute(
                    f"WITH k (p, pl, ws, u) AS (VALUES {values}) SELECT a.post_id, a.platform, a.workspace, "
                    "a.user_id, a.token, a.choice FROM k CROSS JOIN answers a ON a.post_id=k.p AND a.platform=k.pl "
                    "AND a.workspace=k.ws AND a.user_id=k.u",
                    params,
                ):
                    stored[(r[0], r[1], r[2], r[3])] = (r[4], r[5])
            recorded = [
                a for a, token in pairs
                if stored[(a.post_id, a.member.platform, a.member.workspace, a.member.user)][0] == token
            ]
            self._add_to_boards(db, recorded)
            cards = move_cards_sync(db, answer_reviews(recorded))
            days = self._days_of(db, {a.member for a, _ in pairs})
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return stored, days, cards

    @staticmethod
    def _add_to_boards(db: sqlite3.Connection, answers: list[AnswerIn]) -> None:
        """Add the answers' points to every board they count on, inside the caller's transaction:
        the member's totals move, and so do the level counts that ranks are summed from."""
        deltas = board_deltas(answers)
        if not deltas:
            return
        db.executemany("INSERT INTO temp.board_delta VALUES (?, ?, ?, ?, ?, ?)", [(*k, v) for k, v in deltas.items()])
        db.execute(_LEVELS_UPSERT.format(sign=-1))
        db.execute(
            f"INSERT INTO board_totals ({_BOARD_KEY}, user_id, points) SELECT {_BOARD_KEY}, user_id, delta "
            f"FROM temp.board_delta WHERE true ON CONFLICT ({_BOARD_KEY}, user_id) "
            "DO UPDATE SET points = points + excluded.points"
        )
        db.execute(_LEVELS_UPSERT.format(sign=1))
        db.execute("DELETE FROM temp.board_delta")

    @staticmethod
    def _days_of(db: sqlite3.Connection, members: set[MemberRef]) -> dict[MemberRef, tuple[str, ...]]:
        found: dict[MemberRef, list[str]] = {}
        for values, params in value_rows([(m.platform, m.workspace, m.user) for m in members], 300):
            for r in db.execute(
                f"WITH k (pl, ws, u) AS (VALUES {values}) SELECT DISTINCT a.platform, a.workspace, a.user_id, "
                "a.local_day FROM k CROSS JOIN answers a ON a.platform=k.pl AND a.workspace=k.ws AND a.user_id=k.u "
                "ORDER BY 1, 2, 3, 4",
                params,
            ):
                found.setdefault(MemberRef(r[0], r[1], r[2]), []).append(r[3])
        return {m: tuple(d) for m, d in found.items()}

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
        until: float | None = None, period: str | None = None,
    ) -> list[Ranked]:
        if period is not None:
            rows = await self._fetchall(
                "SELECT user_id, points FROM board_totals WHERE platform=? AND workspace=? AND channel=? "
                "AND period=? AND points > 0 ORDER BY points DESC, user_id LIMIT ?",
                (platform, workspace, channel or "", period, limit),
            )
        else:
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

    async def rank_of(
        self, *, member: MemberRef, channel: str | None, since: float | None, period: str | None = None
    ) -> Ranked | None:
        if period is not None:
            board = (member.platform, member.workspace, channel or "", period)
            row = await self._fetchone(
                "SELECT points FROM board_totals WHERE platform=? AND workspace=? AND channel=? AND period=? "
                "AND user_id=?", (*board, member.user),
            )
            if row is None or row[0] <= 0:
                return None
            above = await self._fetchone(
                "SELECT COALESCE(SUM(members), 0) FROM board_levels WHERE platform=? AND workspace=? "
                "AND channel=? AND period=? AND points > ?", (*board, row[0]),
            )
            return Ranked(user=member.user, points=row[0], rank=above[0] + 1)
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

    # ----- app installations and OAuth states (bot/adapters/slack/oauth.py) ---------------
    async def save_installation(self, installation: AppInstallation) -> None:
        i = installation
        await self._write(
            f"INSERT INTO app_installations ({_INSTALL_COLS}) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, enterprise_id, team_id, user_id) "
            "DO UPDATE SET installed_at=excluded.installed_at, record=excluded.record",
            (i.platform, i.enterprise_id, i.team_id, i.user_id, i.installed_at, i.record),
        )

    async def find_installation(
        self, *, platform: str, enterprise_id: str | None, team_id: str, user_id: str | None = None
    ) -> AppInstallation | None:
        where, params = "platform=? AND team_id=?", [platform, team_id]
        if enterprise_id is not None:
            where, params = where + " AND enterprise_id=?", [*params, enterprise_id]
        if user_id is not None:
            where, params = where + " AND user_id=?", [*params, user_id]
        row = await self._fetchone(
            f"SELECT {_INSTALL_COLS} FROM app_installations WHERE {where} ORDER BY installed_at DESC LIMIT 1",
            tuple(params),
        )
        return AppInstallation(*row) if row else None

    async def delete_installations(
        self, *, platform: str, enterprise_id: str, team_id: str, user_id: str | None = None
    ) -> int:
        where, params = "platform=? AND enterprise_id=? AND team_id=?", (platform, enterprise_id, team_id)
        if user_id is not None:
            where, params = where + " AND user_id=?", (*params, user_id)
        return await self._write(f"DELETE FROM app_installations WHERE {where}", params)

    async def issue_oauth_state(self, state: str, *, expires_at: float, now: float) -> None:
        try:
            async with self._tx() as db:
                await db.execute("DELETE FROM oauth_states WHERE expires_at <= ?", (now,))
                await db.execute("INSERT INTO oauth_states (state, expires_at) VALUES (?, ?)", (state, expires_at))
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    async def consume_oauth_state(self, state: str, *, now: float) -> bool:
        # One DELETE decides: of two callbacks racing with one state, only one deletes the row.
        return await self._write("DELETE FROM oauth_states WHERE state=? AND expires_at > ?", (state, now)) == 1

    # ----- export and import (storage/export.py) ------------------------------------------
    async def _columns(self) -> dict[str, list[str]]:
        """table -> its columns in order, for the data tables (not schema bookkeeping)."""
        rows = await self._fetchall(
            "SELECT m.name, c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c "
            "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'schema_migrations' "
            "ORDER BY m.name, c.cid"
        )
        out: dict[str, list[str]] = {}
        for table, column in rows:
            out.setdefault(table, []).append(column)
        return out

    async def data_tables(self) -> dict[str, list[str]]:
        tables = await self._columns()
        refs = await self._fetchall(
            "SELECT m.name, f.\"table\" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"
        )
        out: dict[str, list[str]] = {name: [] for name in tables}
        for child, parent in refs:
            if child in out and parent in out and parent != child and parent not in out[child]:
                out[child].append(parent)
        return out

    async def export_table(self, name: str) -> AsyncIterator[dict[str, object]]:
        columns = (await self._columns()).get(name)
        if columns is None:
            raise StoreError(f"no table {name!r} in this database")
        pk = [r[0] for r in await self._fetchall(
            "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (name,)
        )]
        quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
        order = ", ".join('"' + c.replace('"', '""') + '"' for c in pk) or "rowid"
        table = '"' + name.replace('"', '""') + '"'
        try:
            # Its own connection: one SELECT reads one snapshot while the store keeps writing.
            async with aiosqlite.connect(self.path) as conn:
                async with conn.execute(f"SELECT {quoted} FROM {table} ORDER BY {order}") as cur:
                    async for row in cur:
                        yield dict(zip(columns, row, strict=True))
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    async def import_rows(self, name: str, rows: list[dict[str, object]]) -> int:
        if not rows:
            return 0
        columns = (await self._columns()).get(name)
        if columns is None:
            raise StoreError(f"no table {name!r} in this database")
        names = list(rows[0])
        unknown = [c for c in names if c not in columns]
        if unknown:
            raise StoreError(f"table {name} has no column(s) {', '.join(unknown)}")
        try:
            values = [tuple(row[c] for c in names) for row in rows]
        except KeyError as exc:
            raise StoreError(f"a row for {name} has no {exc}") from exc
        quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in names)
        table = '"' + name.replace('"', '""') + '"'
        try:
            async with self._tx() as db:
                await db.executemany(
                    f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' for _ in names)})", values
                )
        except sqlite3.Error as exc:
            raise StoreError(f"import into {name}: {exc}") from exc
        self._cache.clear()
        return len(values)
