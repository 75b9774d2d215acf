"""The PostgreSQL store on an asyncpg pool: the same Store semantics as the SQLite store, for
several bot processes sharing one database.

- Migrations (migrations/NNN_name.sql, numbered like SQLite's) run at start in one transaction
  under a transaction-level advisory lock, so processes starting together apply each once.
- Exactly-once comes from unique keys, as in SQLite: a daily post per (channel, local_date)
  through a partial unique index, an answer per (post, member), a reveal by a conditional UPDATE.
- Answers are group-committed (storage/batching.py): one INSERT ... SELECT FROM unnest(...)
  ON CONFLICT DO NOTHING per batch, then the stored tokens are read back in the same transaction.
  Leaderboard totals move in that transaction too, serialised across processes by an advisory lock
  (the level counts are read-modify-write; concurrent batches would miscount them or deadlock).
- Every asyncpg or socket error becomes StoreError here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import asyncpg

from bot.core.boards import board_deltas
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import (
    AnswerIn,
    AnswerOutcome,
    AppInstallation,
    Post,
    Ranked,
    StoreConfigError,
    StoreError,
    Subscription,
)
from storage.batching import Coalesced, GroupCommit, Item
from storage.migrate import load_migrations
from storage.postgres.cache import MISSING, ReadCache
from storage.postgres.cards import PostgresCards, move_answer_cards
from storage.postgres.daily import PostgresDaily
from storage.postgres.dump import PostgresDump
from storage.postgres.exams import PostgresExams
from storage.sqlite.cards import Moved

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
BATCH = 500
# pg_advisory(_xact)_lock keys: any constants unique to studybot within the database.
MIGRATION_LOCK = 0x5757_0001
BOARD_LOCK = 0x5757_0002
DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
# Text order as SQLite's (bytewise), whatever the database's default collation.
C = 'COLLATE "C"'

_INSTALL_COLS = "platform, enterprise_id, team_id, user_id, installed_at, record"
_POST_COLS = (
    "id, platform, workspace, channel, kind, question_id, local_date, created_at, message_id, revealed_at, attempts, "
    "failed, user_id, mode, thread_id, reveal_face_at, reveal_reply_at"
)
_SUB_COLS = "platform, workspace, channel, time, timezone, days, reveal, active, digest, last_error, ping"
_ANSWER_COLS = "post_id, platform, workspace, user_id, channel, choice, correct, points, practice, answered_at, local_day, token"
_ANSWER_TYPES = "bigint[], text[], text[], text[], text[], text[], int[], int[], int[], float8[], text[], text[]"
_BOARD_KEY = "platform, workspace, channel, period"
_DELTAS = "unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[]) AS d(platform, workspace, channel, period, user_id, delta)"
# The totals move first and RETURN their new points (and whether the row is new: xmax = 0 on an
# inserted row), so the level counts are computed here and no statement has to read board_totals
# back. That read used to join the deltas to board_totals, and on a fresh database (no statistics
# yet) the planner walked board_totals_rank with user_id as a mere filter: 2-10 s per batch.
# The same statement takes the boards' lock first (its rows are read from a join with `lock`, so
# the lock is held before the first row is written): one round trip fewer per batch. Moving the
# levels in this statement too (joining its RETURNING rows back to the deltas) was measured and
# not kept: the join's sorts cost the server ~13 ms per 1,200 totals, more than the Python it saves.
_TOTALS_MOVE = (
    "WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock($7)) "
    f"INSERT INTO board_totals ({_BOARD_KEY}, user_id, points) "
    f"SELECT d.platform, d.workspace, d.channel, d.period, d.user_id, d.delta FROM lock CROSS JOIN {_DELTAS} "
    f"ON CONFLICT ({_BOARD_KEY}, user_id) DO UPDATE SET points = board_totals.points + excluded.points "
    f"RETURNING {_BOARD_KEY}, points, (xmax = 0) AS inserted, user_id"
)
_LEVELS_MOVE = (
    f"INSERT INTO board_levels ({_BOARD_KEY}, points, members) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[]) "
    f"ON CONFLICT ({_BOARD_KEY}, points) DO UPDATE SET members = board_levels.members + excluded.members"
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


T = TypeVar("T")
# A batch's rows are looked up key by key through a LATERAL subquery that cannot be flattened into
# a join (LIMIT 1, or DISTINCT): an index lookup per key whatever the statistics say. As a join, a
# fresh database's planner (tables analyzed while empty) chose a sequential scan of the whole table
# for every batch - 112 ms for a 40-answer batch's streak days at 11,000 answers, growing with the table.
TIMEZONES_SQL = (
    "SELECT k.pl, k.ws, k.u, m.timezone FROM unnest($1::text[], $2::text[], $3::text[]) AS k (pl, ws, u) "
    "CROSS JOIN LATERAL (SELECT timezone FROM members WHERE platform = k.pl AND workspace = k.ws "
    "AND user_id = k.u LIMIT 1) m"
)
TOKENS_SQL = (
    "SELECT k.post_id, k.platform, k.workspace, k.user_id, a.token, a.choice "
    "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS k(post_id, platform, workspace, user_id) "
    "CROSS JOIN LATERAL (SELECT token, choice FROM answers WHERE post_id = k.post_id "
    "AND platform = k.platform AND workspace = k.workspace AND user_id = k.user_id LIMIT 1) a"
)
DAYS_SQL = (
    "SELECT m.platform, m.workspace, m.user_id, d.local_day "
    "FROM unnest($1::text[], $2::text[], $3::text[]) AS m(platform, workspace, user_id) "
    "CROSS JOIN LATERAL (SELECT DISTINCT local_day FROM answers WHERE platform = m.platform "
    "AND workspace = m.workspace AND user_id = m.user_id) d"
)
SERVER_SETTINGS = {
    # An answer is acknowledged only once its commit is flushed, whatever the server default.
    "synchronous_commit": "on",
    "application_name": "studybot",
    # Custom plans: asyncpg prepares every statement, and a generic plan made while a fresh
    # database's tables were empty (a sequential scan of members, of answers) would be reused as
    # they grow, each click slower than the last.
    "plan_cache_mode": "force_custom_plan",
}


class _Writer:
    """The answer writer's own event loop, in its own thread, with its own connection. A batch is a
    dozen statements in one transaction; on the main loop each waited for a full turn of a loop
    busy with hundreds of clicks (a 44-answer batch took 0.5 s at 500 clicks/s, most of it idle in
    transaction), here they go back to back. The SQLite store's writer is a thread for the same
    reason. The connection is opened on first use and again after it broke."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]]) -> None:
        self._connect = connect
        self._conn: asyncpg.Connection | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="postgres-answers", daemon=True)
        self._thread.start()

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._call(work), self._loop))

    async def _call(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect()
        return await work(self._conn)

    async def aclose(self) -> None:
        async def close() -> None:
            if self._conn is not None and not self._conn.is_closed():
                try:
                    await asyncio.wait_for(self._conn.close(), 5)
                except (*DB_ERRORS, asyncio.CancelledError):
                    self._conn.terminate()
            self._conn = None

        try:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(close(), self._loop))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 10)
            if not self._thread.is_alive():
                self._loop.close()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset: nothing beyond asyncpg's own rollback of an open transaction."""


class PostgresStore(PostgresExams, PostgresCards, PostgresDump, PostgresDaily):
    RETRY_ON_START = True  # a server still starting (a container beside studybot) is waited for
    BOARD_LOCK = BOARD_LOCK
    POST_COLS = _POST_COLS
    post_row = staticmethod(_post)

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 10.0) -> None:
        self.url = url
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._writer: _Writer | None = None  # the answer batches' thread and connection
        self._answers = GroupCommit(self._write_batch, batch=BATCH, name="postgres-answer-writer")
        self._cache = ReadCache()
        self._timezones: Coalesced[MemberRef, str] = Coalesced(
            self._read_timezones, remember=lambda m, tz: self._cache.put(("tz", m), tz))

    # ----- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        try:
            try:
                self._pool = await asyncpg.create_pool(
                    self.url, min_size=self._min_size, max_size=self._max_size, timeout=self._timeout,
                    command_timeout=60,
                    server_settings=SERVER_SETTINGS,
                    # asyncpg rolls back a transaction left open either way; its default reset then
                    # runs RESET ALL, UNLISTEN, CLOSE ALL and advisory unlocks: a round trip per pool
                    # use, for session state studybot never makes (its advisory locks are
                    # transaction-scoped).
                    reset=_keep_session,
                )
            except (ValueError, TypeError) as exc:
                # A URL asyncpg cannot parse: its message may quote the URL, password included.
                # Only the pool's creation: a bad migration file is not a bad URL.
                from storage import BAD_URL

                raise StoreConfigError(BAD_URL.format(what=type(exc).__name__)) from None
            await self._migrate()
            self._writer = _Writer(self._connect_writer)
        except DB_ERRORS as exc:
            await self._close_pool()
            # asyncpg's messages name the host and database, never the password.
            raise StoreError(f"cannot open the PostgreSQL database: {exc}") from exc
        except BaseException:
            await self._close_pool()
            raise
        self._answers.start()

    async def release_memory(self, *, quiet: float) -> bool:
        """Nothing of the store's own to release (the server holds the caches); True once a burst
        of answers is over, for the process's own memory."""
        if not self._answers.burst_over(quiet):
            return False
        self._cache.purge()
        return True

    async def _connect_writer(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url, timeout=self._timeout, command_timeout=60,
                                     server_settings=SERVER_SETTINGS)

    async def aclose(self) -> None:
        await self._answers.aclose()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await writer.aclose()
        await self._close_pool()

    async def _close_pool(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await pool.close()
            except DB_ERRORS as exc:
                log.warning("closing the PostgreSQL pool failed: %s", exc)

    async def _migrate(self) -> None:
        async with self._tx() as conn:
            # Held until commit: a second process waits here, then finds the work done.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
            )
            done = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            applied = False
            for m in load_migrations(MIGRATIONS):
                if m.version in done:
                    continue
                applied = True
                for statement in m.statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    m.version, m.name, time.time(),
                )
                log.info("applied migration %03d_%s", m.version, m.name)
            if applied:
                # Fresh statistics for the planner: a new or just-migrated database has none until
                # autovacuum gets to it, and plans chosen blind stay bad for the whole first burst.
                await conn.execute("ANALYZE")

    async def applied_migrations(self) -> list[int]:
        return [r[0] for r in await self._fetch("SELECT version FROM schema_migrations ORDER BY version")]

    # ----- plumbing -----------------------------------------------------------------------
    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[asyncpg.Connection]:
        if self._pool is None:
            raise StoreError("the store is not started")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except DB_ERRORS as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._conn() as conn, conn.transaction():
            yield conn

    async def _fetch(self, sql: str, *args) -> list:
        async with self._conn() as conn:
            return await conn.fetch(sql, *args)

    async def _fetchrow(self, sql: str, *args):
        async with self._conn() as conn:
            return await conn.fetchrow(sql, *args)

    async def _fetchval(self, sql: str, *args):
        async with self._conn() as conn:
            return await conn.fetchval(sql, *args)

    async def _execute(self, sql: str, *args) -> int:
        """Run one statement in its own transaction; the number of rows it touched."""
        async with self._conn() as conn:
            status = await conn.execute(sql, *args)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    # ----- members and subscriptions ------------------------------------------------------
    async def get_member_timezone(self, member: MemberRef) -> str | None:
        cached = self._cache.get(("tz", member))
        if cached is not MISSING:
            return cached  # type: ignore[return-value]
        return await self._timezones.get(member)  # a burst's members share one query and one connection

    async def _read_timezones(self, members: list[MemberRef]) -> dict[MemberRef, str]:
        rows = await self._fetch(
            TIMEZONES_SQL, [m.platform for m in members], [m.workspace for m in members], [m.user for m in members],
        )
        return {MemberRef(r[0], r[1], r[2]): r[3] for r in rows}

    async def set_member_timezone(self, member: MemberRef, tz: str) -> None:
        await self._execute(
            "INSERT INTO members (platform, workspace, user_id, timezone, updated_at) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (platform, workspace, user_id) DO UPDATE SET timezone=excluded.timezone, updated_at=excluded.updated_at",
            member.platform, member.workspace, member.user, tz, time.time(),
        )
        self._timezones.epoch += 1
        self._cache.drop(("tz", member))

    async def get_subscription(self, channel: ChannelRef) -> Subscription | None:
        cached = self._cache.get(("sub", channel))
        if cached is not MISSING:
            return cached  # type: ignore[return-value]
        row = await self._fetchrow(
            f"SELECT {_SUB_COLS} FROM subscriptions WHERE platform=$1 AND workspace=$2 AND channel=$3",
            channel.platform, channel.workspace, channel.channel,
        )
        sub = _sub(row) if row else None
        self._cache.put(("sub", channel), sub)
        return sub

    async def put_subscription(self, sub: Subscription) -> None:
        c = sub.channel
        await self._execute(
            f"INSERT INTO subscriptions ({_SUB_COLS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
            "ON CONFLICT (platform, workspace, channel) DO UPDATE SET "
            "time=excluded.time, timezone=excluded.timezone, days=excluded.days, reveal=excluded.reveal, "
            "active=excluded.active, digest=excluded.digest, last_error=excluded.last_error, ping=excluded.ping, "
            "updated_at=excluded.updated_at",
            c.platform, c.workspace, c.channel, sub.time, sub.timezone, sub.days, sub.reveal, int(sub.active),
            int(sub.digest), sub.last_error, sub.ping, time.time(),
        )
        self._cache.drop(("sub", c))

    async def list_subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        where = "WHERE active=1" if active_only else ""
        rows = await self._fetch(
            f"SELECT {_SUB_COLS} FROM subscriptions {where} ORDER BY platform {C}, workspace {C}, channel {C}"
        )
        return [_sub(r) for r in rows]

    async def set_subscription_error(self, channel: ChannelRef, error: str | None) -> None:
        await self._execute(
            "UPDATE subscriptions SET last_error=$1, updated_at=$2 WHERE platform=$3 AND workspace=$4 AND channel=$5",
            error[:500] if error else None, time.time(), channel.platform, channel.workspace, channel.channel,
        )
        self._cache.drop(("sub", channel))

    # ----- posts --------------------------------------------------------------------------
    async def daily_history(self, channel: ChannelRef) -> list[str]:
        rows = await self._fetch(
            "SELECT question_id FROM posts WHERE platform=$1 AND workspace=$2 AND channel=$3 AND kind='daily' "
            f"ORDER BY local_date {C}, id",
            channel.platform, channel.workspace, channel.channel,
        )
        return [r[0] for r in rows]

    async def claim_daily(
        self, *, channel: ChannelRef, local_date: str, question_id: str, created_at: float,
        lease_seconds: float = 300.0,
    ) -> tuple[Post, bool]:
        key = (channel.platform, channel.workspace, channel.channel, local_date)
        async with self._tx() as conn:
            # A concurrent claimer's INSERT waits for ours (or we for theirs) on the unique index;
            # the loser inserts nothing and its next statement sees the winner's committed row.
            row = await conn.fetchrow(
                "INSERT INTO posts (platform, workspace, channel, kind, question_id, local_date, created_at, lease_until) "
                f"VALUES ($1, $2, $3, 'daily', $5, $4, $6, $7) ON CONFLICT DO NOTHING RETURNING {_POST_COLS}",
                *key, question_id, created_at, created_at + lease_seconds,
            )
            if row is not None:
                return _post(row), True
            row = await conn.fetchrow(
                f"SELECT {_POST_COLS} FROM posts WHERE platform=$1 AND workspace=$2 AND channel=$3 AND kind='daily' "
                "AND local_date=$4", *key,
            )
        if row is None:  # pragma: no cover - the conflict means the row exists
            raise StoreError(f"daily post of {local_date} neither created nor found")
        return _post(row), False

    async def create_quiz(
        self, *, channel: ChannelRef, question_id: str, created_at: float, user: str | None = None,
        mode: str | None = None,
    ) -> Post:
        post_id = await self._fetchval(
            "INSERT INTO posts (platform, workspace, channel, kind, question_id, created_at, user_id, mode) "
            "VALUES ($1, $2, $3, 'quiz', $4, $5, $6, $7) RETURNING id",
            channel.platform, channel.workspace, channel.channel, question_id, created_at, user, mode,
        )
        return Post(id=post_id, channel=channel, kind="quiz", question_id=question_id, local_date=None,
                    created_at=created_at, user=user, mode=mode)

    async def served_questions(self, member: MemberRef, *, limit: int) -> list[tuple[str, float]]:
        rows = await self._fetch(
            "SELECT question_id, created_at FROM posts WHERE platform=$1 AND workspace=$2 AND user_id=$3 "
            "ORDER BY id DESC LIMIT $4",
            member.platform, member.workspace, member.user, limit,
        )
        return [(r[0], r[1]) for r in rows]

    async def get_post(self, post_id: int) -> Post | None:
        cached = self._cache.get(("post", post_id))
        if cached is not MISSING:
            return cached  # type: ignore[return-value]
        row = await self._fetchrow(f"SELECT {_POST_COLS} FROM posts WHERE id=$1", post_id)
        post = _post(row) if row else None
        # Only posts the scheduler no longer updates: an undelivered daily post must be read fresh.
        if post is not None and (post.kind == "quiz" or post.message_id is not None):
            self._cache.put(("post", post_id), post)
        return post

    async def get_daily(self, channel: ChannelRef, local_date: str) -> Post | None:
        row = await self._fetchrow(
            f"SELECT {_POST_COLS} FROM posts WHERE platform=$1 AND workspace=$2 AND channel=$3 AND kind='daily' AND local_date=$4",
            channel.platform, channel.workspace, channel.channel, local_date,
        )
        return _post(row) if row else None

    async def set_post_message(self, post_id: int, message_id: str) -> None:
        await self._execute("UPDATE posts SET message_id=$1, failed=0 WHERE id=$2", message_id, post_id)
        self._cache.drop(("post", post_id))

    async def bump_post_attempt(self, post_id: int, *, failed: bool) -> Post | None:
        row = await self._fetchrow(
            f"UPDATE posts SET attempts=attempts+1, failed=$1 WHERE id=$2 RETURNING {_POST_COLS}", int(failed), post_id
        )
        self._cache.drop(("post", post_id))
        return _post(row) if row else None

    async def lease_post(self, post_id: int, *, now: float, seconds: float) -> Post | None:
        """Take the delivery lease of an undelivered daily post whose lease expired; the post
        (with its attempt counted) when this call got it, else None."""
        row = await self._fetchrow(
            "UPDATE posts SET attempts=attempts+1, lease_until=$1 WHERE id=$2 AND message_id IS NULL AND failed=0 "
            f"AND (lease_until IS NULL OR lease_until <= $3) RETURNING {_POST_COLS}",
            now + seconds, post_id, now,
        )
        self._cache.drop(("post", post_id))
        return _post(row) if row else None

    async def mark_post_failed(self, post_id: int) -> None:
        await self._execute("UPDATE posts SET failed=1 WHERE id=$1 AND message_id IS NULL", post_id)
        self._cache.drop(("post", post_id))

    async def undelivered_posts(self, *, since: float) -> list[Post]:
        rows = await self._fetch(
            f"SELECT {_POST_COLS} FROM posts WHERE kind='daily' AND message_id IS NULL AND failed=0 AND created_at >= $1 ORDER BY id",
            since,
        )
        return [_post(r) for r in rows]

    async def channel_members(self, channel: ChannelRef, *, since: float) -> list[str]:
        rows = await self._fetch(
            "SELECT DISTINCT user_id FROM answers WHERE platform=$1 AND workspace=$2 AND channel=$3 AND answered_at >= $4",
            channel.platform, channel.workspace, channel.channel, since,
        )
        return [r[0] for r in rows]

    async def mark_revealed(self, post_id: int, at: float, *, lease_seconds: float = 120.0) -> bool:
        self._cache.drop(("post", post_id))
        done = await self._execute(
            "UPDATE posts SET revealed_at=$1, reveal_lease_until=$2 WHERE id=$3 AND revealed_at IS NULL",
            at, at + lease_seconds, post_id,
        ) == 1
        self._cache.drop(("post", post_id))
        return done

    async def posts_to_reveal(self, before: float) -> list[Post]:
        rows = await self._fetch(
            f"SELECT {_POST_COLS} FROM posts WHERE kind='daily' AND revealed_at IS NULL AND created_at < $1 ORDER BY id",
            before,
        )
        return [_post(r) for r in rows]

    # ----- answers ------------------------------------------------------------------------
    async def record_answer(self, answer: AnswerIn) -> AnswerOutcome:
        return await self._answers.submit(answer)

    async def _write_batch(self, batch: list[Item]) -> list[AnswerOutcome]:
        columns = list(zip(*[
            (a.post_id, a.member.platform, a.member.workspace, a.member.user, a.channel.channel, a.choice,
             int(a.correct), a.points, int(a.practice), a.answered_at, a.local_day, token)
            for a, token, _ in batch
        ], strict=True))
        placeholders = ", ".join(f"${i}::{t}" for i, t in enumerate(_ANSWER_TYPES.split(", "), start=1))
        adopted = {(a.member.platform, a.member.workspace, a.member.user): a.timezone for a, _, _ in batch if a.timezone}

        async def write(conn: asyncpg.Connection) -> tuple[dict, Moved, dict[MemberRef, tuple[str, ...]]]:
            async with conn.transaction():
                # The adopted time zones (first answers) and the answers in one statement.
                keys = sorted(adopted)
                await conn.execute(
                    "WITH m AS (INSERT INTO members (platform, workspace, user_id, timezone, updated_at) "
                    "SELECT p, w, u, tz, $17 FROM unnest($13::text[], $14::text[], $15::text[], $16::text[]) "
                    "AS m(p, w, u, tz) ON CONFLICT (platform, workspace, user_id) DO NOTHING) "
                    f"INSERT INTO answers ({_ANSWER_COLS}) SELECT * FROM unnest({placeholders}) "
                    "ON CONFLICT (post_id, platform, workspace, user_id) DO NOTHING",
                    *[list(c) for c in columns],
                    [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [adopted[k] for k in keys],
                    time.time(),
                )
                rows = await conn.fetch(
                    TOKENS_SQL,
                    *[list(c) for c in columns[:4]],
                )
                stored = {(r[0], r[1], r[2], r[3]): (r[4], r[5]) for r in rows}
                recorded = [
                    a for a, token, _ in batch
                    if stored[(a.post_id, a.member.platform, a.member.workspace, a.member.user)][0] == token
                ]
                await self._add_to_boards(conn, recorded)
                cards = await move_answer_cards(conn, recorded)
                days = await self._days_of(conn, {a.member for a, _, _ in batch})
                return stored, cards, days

        if self._writer is None:
            raise StoreError("the store is not started")
        try:
            stored, cards, days = await self._writer.run(write)
        except DB_ERRORS as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc
        for a, _, _ in batch:
            if a.timezone:  # adopted in the batch: a cached "no time zone" is stale
                self._timezones.epoch += 1  # a read of the time zones under way must not cache the old one
                self._cache.drop(("tz", a.member))
        outcomes = []
        for a, token, _ in batch:
            got_token, choice = stored[(a.post_id, a.member.platform, a.member.workspace, a.member.user)]
            first = got_token == token
            outcomes.append(AnswerOutcome(
                recorded=first, choice=choice, days=days.get(a.member, ()),
                card=cards.get((a.member, a.question_id)) if first else None,
            ))
        return outcomes

    async def _add_to_boards(self, conn: asyncpg.Connection, answers: list[AnswerIn]) -> None:
        """Add the answers' points to every board they count on, inside the caller's transaction:
        the member's totals move, and so do the level counts that ranks are summed from."""
        deltas = board_deltas(answers)
        if not deltas:
            return
        keys = sorted(deltas)
        args = [list(c) for c in zip(*keys, strict=True)] + [[deltas[k] for k in keys]]
        moved = await conn.fetch(_TOTALS_MOVE, *args, BOARD_LOCK)
        levels: dict[tuple[str, str, str, str, int], int] = {}
        for platform, workspace, channel, period, points, inserted, user in moved:
            board = (platform, workspace, channel, period)
            if not inserted:  # the member leaves the level of their old total
                old = points - deltas[(platform, workspace, channel, period, user)]
                levels[(*board, old)] = levels.get((*board, old), 0) - 1
            levels[(*board, points)] = levels.get((*board, points), 0) + 1
        changed = sorted(k for k, n in levels.items() if n)
        if changed:
            await conn.execute(_LEVELS_MOVE, *[list(c) for c in zip(*changed, strict=True)],
                               [levels[k] for k in changed])

    async def _days_of(self, conn: asyncpg.Connection, members: set[MemberRef]) -> dict[MemberRef, tuple[str, ...]]:
        listed = list(members)
        rows = await conn.fetch(
            DAYS_SQL,
            [m.platform for m in listed], [m.workspace for m in listed], [m.user for m in listed],
        )
        found: dict[MemberRef, list[str]] = {}
        for r in rows:
            found.setdefault(MemberRef(r[0], r[1], r[2]), []).append(r[3])
        return {m: tuple(sorted(d)) for m, d in found.items()}  # ISO days sort as dates

    async def answer_counts(self, post_id: int) -> dict[str, int]:
        rows = await self._fetch(
            "SELECT choice, COUNT(*) FROM answers WHERE post_id=$1 AND practice=0 GROUP BY choice", post_id
        )
        return {r[0]: r[1] for r in rows}

    async def answered_count(self, post_id: int) -> int:
        return await self._fetchval("SELECT COUNT(*) FROM answers WHERE post_id=$1", post_id)

    async def member_days(self, member: MemberRef) -> list[str]:
        rows = await self._fetch(
            "SELECT DISTINCT local_day FROM answers WHERE platform=$1 AND workspace=$2 AND user_id=$3 "
            "ORDER BY local_day",  # ISO days sort alike in any collation
            member.platform, member.workspace, member.user,
        )
        return [r[0] for r in rows]

    async def practice_points_on(self, member: MemberRef, local_day: str) -> int:
        return await self._fetchval(
            "SELECT COALESCE(SUM(points), 0) FROM answers WHERE platform=$1 AND workspace=$2 AND user_id=$3 "
            "AND local_day=$4 AND practice=1",
            member.platform, member.workspace, member.user, local_day,
        )

    async def member_points(self, member: MemberRef) -> tuple[int, int, int]:
        row = await self._fetchrow(
            "SELECT COALESCE(SUM(points), 0), COUNT(*), COALESCE(SUM(correct), 0) FROM answers "
            "WHERE platform=$1 AND workspace=$2 AND user_id=$3",
            member.platform, member.workspace, member.user,
        )
        return row[0], row[1], row[2]

    @staticmethod
    def _board_filter(
        *, platform: str, workspace: str, channel: str | None, since: float | None, until: float | None = None
    ) -> tuple[str, list]:
        where, params = ["platform=$1", "workspace=$2"], [platform, workspace]
        for clause, value in (("answered_at<", until), ("channel=", channel), ("answered_at>=", since)):
            if value is not None:
                params.append(value)
                where.append(f"{clause}${len(params)}")
        return " AND ".join(where), params

    async def leaderboard(
        self, *, platform: str, workspace: str, channel: str | None, since: float | None, limit: int,
        until: float | None = None, period: str | None = None,
    ) -> list[Ranked]:
        if period is not None:
            rows = await self._fetch(
                "SELECT user_id, points FROM board_totals WHERE platform=$1 AND workspace=$2 AND channel=$3 "
                f"AND period=$4 AND points > 0 ORDER BY points DESC, user_id {C} LIMIT $5",
                platform, workspace, channel or "", period, limit,
            )
        else:
            where, params = self._board_filter(
                platform=platform, workspace=workspace, channel=channel, since=since, until=until
            )
            rows = await self._fetch(
                f"SELECT user_id, SUM(points) AS p FROM answers WHERE {where} GROUP BY user_id HAVING SUM(points) > 0 "
                f"ORDER BY p DESC, user_id {C} LIMIT ${len(params) + 1}",
                *params, limit,
            )
        ranked, rank = [], 0
        for i, (user, points) in enumerate(rows):
            if i == 0 or points != rows[i - 1][1]:
                rank = i + 1  # ties share a rank; the next distinct score skips ahead
            ranked.append(Ranked(user=user, points=int(points), rank=rank))
        return ranked

    async def rank_of(
        self, *, member: MemberRef, channel: str | None, since: float | None, period: str | None = None
    ) -> Ranked | None:
        if period is not None:
            board = (member.platform, member.workspace, channel or "", period)
            points = await self._fetchval(
                "SELECT points FROM board_totals WHERE platform=$1 AND workspace=$2 AND channel=$3 AND period=$4 "
                "AND user_id=$5", *board, member.user,
            )
            if points is None or points <= 0:
                return None
            above = await self._fetchval(
                "SELECT COALESCE(SUM(members), 0) FROM board_levels WHERE platform=$1 AND workspace=$2 "
                "AND channel=$3 AND period=$4 AND points > $5", *board, points,
            )
            return Ranked(user=member.user, points=points, rank=int(above) + 1)
        where, params = self._board_filter(
            platform=member.platform, workspace=member.workspace, channel=channel, since=since
        )
        n = len(params)
        points = await self._fetchval(
            f"SELECT COALESCE(SUM(points), 0) FROM answers WHERE {where} AND user_id=${n + 1}", *params, member.user
        )
        if points <= 0:
            return None
        above = await self._fetchval(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM answers WHERE {where} GROUP BY user_id HAVING SUM(points) > ${n + 1}) AS t",
            *params, points,
        )
        return Ranked(user=member.user, points=int(points), rank=above + 1)

    # ----- small key/value (command-tree hashes and the like) -----------------------------
    async def get_kv(self, key: str) -> str | None:
        return await self._fetchval("SELECT value FROM kv WHERE key=$1", key)

    async def set_kv(self, key: str, value: str) -> None:
        await self._execute(
            "INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value=excluded.value", key, value
        )

    # ----- app installations and OAuth states (bot/adapters/slack/oauth.py) ---------------
    async def save_installation(self, installation: AppInstallation) -> None:
        i = installation
        await self._execute(
            f"INSERT INTO app_installations ({_INSTALL_COLS}) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (platform, enterprise_id, team_id, user_id) "
            "DO UPDATE SET installed_at=excluded.installed_at, record=excluded.record",
            i.platform, i.enterprise_id, i.team_id, i.user_id, i.installed_at, i.record,
        )

    async def find_installation(
        self, *, platform: str, enterprise_id: str | None, team_id: str, user_id: str | None = None
    ) -> AppInstallation | None:
        where, params = "platform=$1 AND team_id=$2", [platform, team_id]
        for column, value in (("enterprise_id", enterprise_id), ("user_id", user_id)):
            if value is not None:
                params.append(value)
                where += f" AND {column}=${len(params)}"
        row = await self._fetchrow(
            f"SELECT {_INSTALL_COLS} FROM app_installations WHERE {where} ORDER BY installed_at DESC LIMIT 1",
            *params,
        )
        return AppInstallation(*row) if row else None

    async def delete_installations(
        self, *, platform: str, enterprise_id: str, team_id: str, user_id: str | None = None
    ) -> int:
        where, params = "platform=$1 AND enterprise_id=$2 AND team_id=$3", [platform, enterprise_id, team_id]
        if user_id is not None:
            params.append(user_id)
            where += " AND user_id=$4"
        return await self._execute(f"DELETE FROM app_installations WHERE {where}", *params)

    async def issue_oauth_state(self, state: str, *, expires_at: float, now: float) -> None:
        async with self._tx() as conn:
            await conn.execute("DELETE FROM oauth_states WHERE expires_at <= $1", now)
            await conn.execute("INSERT INTO oauth_states (state, expires_at) VALUES ($1, $2)", state, expires_at)

    async def consume_oauth_state(self, state: str, *, now: float) -> bool:
        # One DELETE decides: of two callbacks racing with one state, only one deletes the row.
        return await self._execute("DELETE FROM oauth_states WHERE state=$1 AND expires_at > $2", state, now) == 1
