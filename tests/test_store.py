"""One storage suite, run on SQLite files and on PostgreSQL: migrations, unique keys, idempotent
and concurrent answers, claims and reveals across store instances, leases, leaderboard totals."""

import asyncio
import inspect
import json
import sqlite3

from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import AnswerIn, Store, StoreError, Subscription
from storage.migrate import load_migrations
from storage.postgres.store import MIGRATIONS as PG_MIGRATIONS
from storage.sqlite.store import MIGRATIONS as SQLITE_MIGRATIONS
from storage.sqlite.store import SQLiteStore
from tests import pg_fixtures
from tests.conftest import member
from tests.pg_fixtures import count_rows

pg_database = pg_fixtures.pg_database
backend = pg_fixtures.backend
postgres_backend = pg_fixtures.postgres_backend
# Every test here gets one store per backend under the usual name.
store = pg_fixtures.any_store

CH = ChannelRef("slack", "T1", "C1")
VERSIONS = [m.version for m in load_migrations(SQLITE_MIGRATIONS)]


def answer(post_id: int, user: str, choice: str = "A", points: int = 10, **kw) -> AnswerIn:
    fields = dict(
        post_id=post_id, member=member(user, workspace="T1"), channel=CH, choice=choice, correct=choice == "A",
        points=points, practice=False, answered_at=1_700_000_000.0, local_day="2026-03-02",
    )
    fields.update(kw)
    return AnswerIn(**fields)


def test_both_backends_implement_every_store_method_alike():
    from storage.postgres.store import PostgresStore

    methods = [n for n, v in vars(Store).items() if callable(v) and not n.startswith("_")]
    assert {"record_answer", "export_table", "import_rows"} <= set(methods)
    for name in methods:
        want = list(inspect.signature(getattr(Store, name)).parameters)
        for cls in (SQLiteStore, PostgresStore):
            assert list(inspect.signature(getattr(cls, name)).parameters) == want, f"{cls.__name__}.{name}"


def test_open_store_picks_the_backend_from_the_url(tmp_path):
    import pytest

    from storage import open_store
    from storage.postgres.store import PostgresStore

    assert isinstance(open_store(f"sqlite:///{tmp_path / 'a.db'}"), SQLiteStore)
    assert isinstance(open_store("postgresql://postgres@127.0.0.1/x"), PostgresStore)
    assert isinstance(open_store("postgres://postgres@127.0.0.1/x"), PostgresStore)
    with pytest.raises(ValueError, match="postgresql://"):
        open_store("mysql://root@localhost/db")


def test_both_backends_have_the_same_migrations():
    sqlite = [(m.version, m.name) for m in load_migrations(SQLITE_MIGRATIONS)]
    postgres = [(m.version, m.name) for m in load_migrations(PG_MIGRATIONS)]
    assert sqlite == postgres, "every SQLite migration needs its PostgreSQL twin (storage/postgres/migrations)"


async def test_migrations_from_empty_are_applied_once(backend):
    s = backend.make()
    await s.start()
    assert await s.applied_migrations() == VERSIONS
    await s.aclose()
    s2 = backend.make()
    await s2.start()  # a second start finds nothing to do
    assert await s2.applied_migrations() == VERSIONS
    tables = await s2.data_tables()
    await s2.aclose()
    assert {"members", "subscriptions", "posts", "answers", "kv"} <= set(tables)
    assert "schema_migrations" not in tables and tables["answers"] == ["posts"]
    if backend.kind == "sqlite":
        with sqlite3.connect(backend.url.removeprefix("sqlite:///")) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_processes_starting_together_migrate_once(postgres_backend):
    # PostgreSQL only: the migration runs under an advisory lock. (Two SQLite stores starting at
    # the same instant on a new file can meet "database is locked" while one switches to WAL.)
    stores = [postgres_backend.make() for _ in range(4)]
    await asyncio.gather(*[s.start() for s in stores])
    assert [await s.applied_migrations() for s in stores] == [VERSIONS] * 4
    for s in stores:
        await s.aclose()


def _scanned(plan: dict) -> tuple[set[str], int]:
    """The tables read whole (sequential scans) in an EXPLAIN ANALYZE plan, and the rows read and
    thrown away by filters, over all its nodes."""
    seq = {plan["Relation Name"]} if plan.get("Node Type") == "Seq Scan" else set()
    removed = int(plan.get("Rows Removed by Filter", 0)) * int(plan.get("Actual Loops", 1))
    for child in plan.get("Plans", []):
        s, r = _scanned(child)
        seq |= s
        removed += r
    return seq, removed


async def test_postgres_batch_lookups_stay_index_lookups_on_a_fresh_database(postgres_backend):
    """A fresh database's tables are analyzed while empty (after the migrations). The answer
    batch's lookups (stored tokens, streak days, review cards, time zones) must not become scans
    of the whole table as it grows before autovacuum analyzes it again: they once read every
    answer of the workspace per member of every batch."""
    import json as _json

    from storage.postgres import cards as pg_cards
    from storage.postgres import store as pg_store

    store = postgres_backend.make()
    await store.start()
    try:
        post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
        for start in range(0, 3000, 500):
            await asyncio.gather(*[store.record_answer(answer(post.id, f"u{i}", question_id="q1", timezone="UTC"))
                                   for i in range(start, start + 500)])
        users = [f"u{i}" for i in range(0, 3000, 15)]  # a batch of 200 members
        n = len(users)
        cases = {
            "tokens": (pg_store.TOKENS_SQL, [[post.id] * n, ["console"] * n, ["T1"] * n, users]),
            "days": (pg_store.DAYS_SQL, [["console"] * n, ["T1"] * n, users]),
            "time zones": (pg_store.TIMEZONES_SQL, [["console"] * n, ["T1"] * n, users]),
            "cards": (pg_cards.CARDS_SQL, [["console"] * n, ["T1"] * n, users, ["q1"] * n]),
        }
        async with store._pool.acquire() as conn:  # noqa: SLF001 - the store's own session settings
            for name, (sql, args) in cases.items():
                [row] = await conn.fetch(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
                plan = _json.loads(row[0])[0]["Plan"]
                seq, removed = _scanned(plan)
                assert not seq & {"answers", "members", "review_cards"}, (name, seq)
                assert removed <= n, (name, removed)  # at most a row or so per key, not a table per key
                assert len(await conn.fetch(sql, *args)) == n, name
    finally:
        await store.aclose()


async def test_daily_claim_is_unique_per_channel_and_date(store):
    a, created_a = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    b, created_b = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q2", created_at=2.0)
    assert created_a and not created_b and a.id == b.id and b.question_id == "q1"
    other, created = await store.claim_daily(channel=CH, local_date="2026-03-03", question_id="q2", created_at=3.0)
    assert created and other.id != a.id
    assert await store.daily_history(CH) == ["q1", "q2"]
    # Quizzes are not daily posts: any number per channel and date.
    q1 = await store.create_quiz(channel=CH, question_id="q9", created_at=4.0)
    q2 = await store.create_quiz(channel=CH, question_id="q9", created_at=4.0)
    assert q1.id != q2.id and (await store.get_post(q2.id)).kind == "quiz"
    assert await store.daily_history(CH) == ["q1", "q2"]


async def test_two_stores_on_one_database_claim_once(backend):
    s1, s2 = backend.make(), backend.make()
    await s1.start()
    await s2.start()
    results = await asyncio.gather(*[
        s.claim_daily(channel=CH, local_date="2026-03-02", question_id=f"q{i}", created_at=1.0)
        for i, s in enumerate([s1, s2] * 10)
    ])
    assert sum(created for _, created in results) == 1
    assert len({post.id for post, _ in results}) == 1
    await s1.aclose()
    await s2.aclose()


async def test_answers_are_idempotent(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    first = await store.record_answer(answer(post.id, "alice", "B"))
    second = await store.record_answer(answer(post.id, "alice", "A"))
    assert first.recorded and first.choice == "B" and first.days == ("2026-03-02",)
    assert not second.recorded and second.choice == "B"
    assert await store.answer_counts(post.id) == {"B": 1}
    assert await store.answered_count(post.id) == 1
    assert await store.member_points(member("alice", workspace="T1")) == (10, 1, 0)


async def test_an_answer_adopts_the_platform_time_zone_in_its_own_transaction_never_over_a_setting(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    assert await store.get_member_timezone(member("alice", workspace="T1")) is None  # cached as unknown
    await store.set_member_timezone(member("bob", workspace="T1"), "Asia/Tokyo")
    await asyncio.gather(
        store.record_answer(answer(post.id, "alice", timezone="Europe/Berlin")),
        store.record_answer(answer(post.id, "bob", timezone="Europe/Berlin")),
        store.record_answer(answer(post.id, "carol")),
    )
    assert await store.get_member_timezone(member("alice", workspace="T1")) == "Europe/Berlin"
    assert await store.get_member_timezone(member("bob", workspace="T1")) == "Asia/Tokyo"
    assert await store.get_member_timezone(member("carol", workspace="T1")) is None


async def test_time_zones_asked_at_once_are_read_together_and_a_setting_meanwhile_wins(store):
    members = [member(f"m{i}", workspace="T1") for i in range(300)]
    for m in members[:100]:
        await store.set_member_timezone(m, "Asia/Tokyo")
    # Count the statements that read members: on SQLite every statement the reader runs (its trace
    # callback), on PostgreSQL the store's queries (one round trip each).
    member_reads: list[str] = []
    if isinstance(store, SQLiteStore):
        def trace(sql: str) -> None:
            if "members" in sql and "SELECT" in sql.upper():
                member_reads.append(sql)

        await store._reader.set_trace_callback(trace)
    else:
        fetch = store._fetch

        async def counted_fetch(sql: str, *args):
            if "members" in sql and "SELECT" in sql.upper():
                member_reads.append(sql)
            return await fetch(sql, *args)

        store._fetch = counted_fetch
    try:
        reads = await asyncio.gather(*[store.get_member_timezone(m) for m in members])
    finally:
        if isinstance(store, SQLiteStore):
            await store._reader.set_trace_callback(None)
        else:
            del store._fetch
    assert reads == ["Asia/Tokyo"] * 100 + [None] * 200
    assert 1 <= len(member_reads) <= 2, f"300 time zones took {len(member_reads)} queries"
    # A time zone set while a read of it is under way is not overwritten in the cache by the read.
    late = member("late", workspace="T1")
    read = asyncio.ensure_future(store.get_member_timezone(late))
    await asyncio.sleep(0)
    await store.set_member_timezone(late, "Europe/Oslo")
    await read
    assert await store.get_member_timezone(late) == "Europe/Oslo"


async def test_memory_is_released_once_a_burst_of_answers_is_over(store):
    assert await store.release_memory(quiet=0) is False  # nothing written yet
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    await asyncio.gather(*[store.record_answer(answer(post.id, f"user{i}")) for i in range(50)])
    assert await store.release_memory(quiet=60) is False  # the burst may still be going on
    assert await store.release_memory(quiet=0) is True
    assert await store.release_memory(quiet=0) is False  # once per burst
    # The store works as before afterwards (SQLite re-reads the pages it let go of).
    await store.record_answer(answer(post.id, "late"))
    assert await store.answered_count(post.id) == 51
    assert await store.release_memory(quiet=0) is True


async def test_sqlite_batches_of_any_size_prepare_few_statement_shapes(tmp_path):
    """sqlite3 keeps 128 prepared statements per connection; a lookup whose text changed with the
    batch size filled that cache with large statements after a burst (about 7 MB held)."""
    from storage.sqlite.keys import padded_size, value_rows

    assert [padded_size(n, 200) for n in (1, 2, 3, 5, 100, 129, 200)] == [1, 2, 4, 8, 128, 200, 200]
    keys = [(i, f"u{i}") for i in range(450)]
    chunks = list(value_rows(keys, 200))
    assert [sql.count("(") for sql, _ in chunks] == [200, 200, 64]
    assert {tuple(p[i : i + 2]) for _, p in chunks for i in range(0, len(p), 2)} == set(keys)

    store = SQLiteStore(tmp_path / "shapes.db")
    await store.start()
    try:
        seen: set[tuple[str, int]] = set()

        def trace(sql: str) -> None:  # sqlite3 passes the text with the parameters filled in
            if sql.startswith("WITH k ("):
                head, rows = sql.split(") SELECT", 1)[0].split(" AS (VALUES ", 1)
                seen.add((head, rows.count("),(") + 1))

        store._batch_db.set_trace_callback(trace)
        await store._reader.set_trace_callback(trace)
        post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
        user = 0
        for size in range(1, 41):  # one batch of each size (no other answer is in flight)
            batch = [answer(post.id, f"user{user + i}", question_id="q1") for i in range(size)]
            await asyncio.gather(*[store.record_answer(a) for a in batch])
            await asyncio.gather(*[store.get_member_timezone(a.member) for a in batch])
            user += size
        assert await store.answered_count(post.id) == user
        # Answers by key, review cards, and members' streak days and time zones (one head for
        # those two): sizes 1-40 pad to 1, 2, 4, 8, 16, 32 and 64 rows (120 shapes before).
        assert len({head for head, _ in seen}) == 3
        assert {rows for _, rows in seen} == {1, 2, 4, 8, 16, 32, 64}
    finally:
        await store.aclose()


async def test_thousand_concurrent_answers_give_thousand_rows(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    outcomes = await asyncio.gather(*[store.record_answer(answer(post.id, f"user{i}")) for i in range(1000)])
    assert all(o.recorded for o in outcomes)
    # Each member clicking again, concurrently, changes nothing.
    again = await asyncio.gather(*[store.record_answer(answer(post.id, f"user{i}", "C")) for i in range(1000)])
    assert not any(o.recorded for o in again) and {o.choice for o in again} == {"A"}
    assert await count_rows(store, "answers") == 1000
    assert await store.answered_count(post.id) == 1000
    assert await store.answer_counts(post.id) == {"A": 1000}


async def test_answers_from_two_stores_at_once_count_once(backend):
    s1, s2 = backend.make(), backend.make()
    await s1.start()
    await s2.start()
    post, _ = await s1.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    outcomes = await asyncio.gather(*[
        s.record_answer(answer(post.id, f"user{i % 150}", "AB"[n % 2]))
        for n, s in enumerate([s1, s2]) for i in range(300)
    ])
    assert sum(o.recorded for o in outcomes) == 150
    assert await s2.answered_count(post.id) == 150
    board = await s1.leaderboard(platform="console", workspace="T1", channel=None, since=None, limit=500, period="all")
    assert len(board) == 150 and {r.points for r in board} == {10}
    await s1.aclose()
    await s2.aclose()


async def test_same_member_double_click_within_one_batch(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    outcomes = await asyncio.gather(*[store.record_answer(answer(post.id, "alice", c)) for c in "ABCD"])
    assert sum(o.recorded for o in outcomes) == 1
    assert len({o.choice for o in outcomes}) == 1


async def test_reveal_marks_once(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    results = await asyncio.gather(*[store.mark_revealed(post.id, 5.0) for _ in range(5)])
    assert results.count(True) == 1
    assert (await store.get_post(post.id)).revealed_at == 5.0
    assert await store.posts_to_reveal(before=10.0) == []


async def test_two_stores_reveal_once(backend):
    s1, s2 = backend.make(), backend.make()
    await s1.start()
    await s2.start()
    post, _ = await s1.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    assert [p.id for p in await s2.posts_to_reveal(before=2.0)] == [post.id]
    results = await asyncio.gather(*[s.mark_revealed(post.id, 5.0) for s in [s1, s2] * 5])
    assert results.count(True) == 1
    await s1.aclose()
    await s2.aclose()


async def test_subscriptions_round_trip(store):
    sub = Subscription(channel=CH, time="09:00", timezone="Europe/Berlin", days="mon,tue,wed,thu,fri", reveal="17:00")
    await store.put_subscription(sub)
    assert await store.get_subscription(CH) == sub
    await store.set_subscription_error(CH, "not_in_channel")
    assert (await store.get_subscription(CH)).last_error == "not_in_channel"
    assert [s.channel for s in await store.list_subscriptions()] == [CH]
    other = Subscription(channel=ChannelRef("slack", "T1", "B2"), time="08:00", timezone="UTC", days="mon",
                         reveal="16:00", active=False, digest=False)
    await store.put_subscription(other)
    assert [s.channel for s in await store.list_subscriptions()] == [CH]
    assert await store.list_subscriptions(active_only=False) == [other, Subscription(
        channel=CH, time="09:00", timezone="Europe/Berlin", days="mon,tue,wed,thu,fri", reveal="17:00",
        last_error="not_in_channel")]
    await store.put_subscription(sub)  # replacing clears the error, as the new row says
    assert (await store.get_subscription(CH)).last_error is None


async def test_member_timezone_and_kv(store):
    alice = MemberRef("slack", "T1", "alice")
    assert await store.get_member_timezone(alice) is None
    await store.set_member_timezone(alice, "Asia/Tokyo")
    await store.set_member_timezone(alice, "Europe/Paris")
    assert await store.get_member_timezone(alice) == "Europe/Paris"
    assert await store.get_kv("k") is None
    await store.set_kv("k", "1")
    await store.set_kv("k", "2")
    assert await store.get_kv("k") == "2"


async def test_leases_give_a_retry_to_one_claimer(backend):
    s1, s2 = backend.make(), backend.make()
    await s1.start()
    await s2.start()
    post, _ = await s1.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=100.0,
                                   lease_seconds=300.0)
    assert await s2.lease_post(post.id, now=200.0, seconds=60) is None  # the claimer is still sending
    assert [p.id for p in await s2.undelivered_posts(since=0.0)] == [post.id]
    taken = await asyncio.gather(*[s.lease_post(post.id, now=401.0, seconds=60) for s in [s1, s2] * 3])
    winners = [p for p in taken if p is not None]
    assert len(winners) == 1 and winners[0].attempts == 1
    assert await s1.lease_post(post.id, now=470.0, seconds=60) is not None  # expired again
    await s2.set_post_message(post.id, "m1")
    assert await s1.lease_post(post.id, now=9999.0, seconds=60) is None  # delivered
    assert await s1.undelivered_posts(since=0.0) == []
    other, _ = await s1.claim_daily(channel=CH, local_date="2026-03-03", question_id="q2", created_at=100.0)
    await s1.mark_post_failed(other.id)
    assert await s2.lease_post(other.id, now=9999.0, seconds=60) is None  # given up
    bumped = await s2.bump_post_attempt(other.id, failed=True)
    assert bumped.failed and bumped.attempts == 1
    await s1.aclose()
    await s2.aclose()


async def test_leaderboards_streak_days_and_ranks(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    nxt, _ = await store.claim_daily(channel=CH, local_date="2026-03-09", question_id="q2", created_at=2.0)
    for user, points in [("ann", 10), ("bob", 10), ("cy", 3), ("dee", 0)]:
        await store.record_answer(answer(post.id, user, points=points, answered_at=100.0))
    await store.record_answer(answer(nxt.id, "cy", points=10, answered_at=200.0, local_day="2026-03-09"))
    practice = await store.record_answer(
        answer((await store.create_quiz(channel=CH, question_id="q3", created_at=3.0)).id, "cy", points=1,
               practice=True, answered_at=201.0, local_day="2026-03-09"))
    assert practice.days == ("2026-03-02", "2026-03-09")
    assert await store.member_days(member("cy", workspace="T1")) == ["2026-03-02", "2026-03-09"]
    assert await store.practice_points_on(member("cy", workspace="T1"), "2026-03-09") == 1
    kw = dict(platform="console", workspace="T1", limit=10)
    all_time = await store.leaderboard(channel=None, since=None, **kw)
    assert [(r.user, r.points, r.rank) for r in all_time] == [("cy", 14, 1), ("ann", 10, 2), ("bob", 10, 2)]
    assert await store.leaderboard(channel="C1", since=None, period="all", **kw) == all_time
    week = await store.leaderboard(channel=None, since=None, period="w2026-03-02", **kw)
    assert [(r.user, r.points, r.rank) for r in week] == [("ann", 10, 1), ("bob", 10, 1), ("cy", 3, 3)]
    assert [r.user for r in await store.leaderboard(channel=None, since=150.0, **kw)] == ["cy"]
    assert [r.user for r in await store.leaderboard(channel=None, since=None, until=150.0, **kw)] == ["ann", "bob", "cy"]
    cy = member("cy", workspace="T1")
    assert (await store.rank_of(member=cy, channel=None, since=None, period="w2026-03-02")).rank == 3
    assert (await store.rank_of(member=cy, channel="C1", since=None)).rank == 1
    assert await store.rank_of(member=member("dee", workspace="T1"), channel=None, since=None) is None
    assert await store.channel_members(ChannelRef("console", "T1", "C1"), since=150.0) == ["cy"]


async def test_write_failure_tells_every_waiter_and_leaves_nothing(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    # A foreign key violation (post 424242 does not exist) fails the whole batch cleanly.
    bad = answer(424242, "mallory")
    try:
        await store.record_answer(bad)
    except StoreError:
        pass
    else:  # pragma: no cover
        raise AssertionError("expected StoreError")
    assert await count_rows(store, "answers") == 0
    assert (await store.record_answer(answer(post.id, "alice"))).recorded


async def test_one_bad_answer_does_not_sink_its_batch(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    results = await asyncio.gather(
        *[store.record_answer(answer(post.id, f"u{i}")) for i in range(20)],
        store.record_answer(answer(999999, "mallory")),
        return_exceptions=True,
    )
    assert sum(isinstance(r, StoreError) for r in results) == 1
    assert sum(getattr(r, "recorded", False) for r in results) == 20


async def test_a_closed_or_unreachable_store_raises_store_error(backend):
    s = backend.make()
    try:
        await s.get_kv("k")
    except StoreError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a store that was not started must raise StoreError")
    if backend.kind == "postgres":
        from storage.postgres.store import PostgresStore

        # Port 1 refuses at once; the message names no password.
        dead = PostgresStore("postgresql://postgres:s3cret@127.0.0.1:1/nowhere", timeout=2)
        try:
            await dead.start()
        except StoreError as exc:
            assert "s3cret" not in str(exc)
        else:  # pragma: no cover
            raise AssertionError("expected StoreError")


async def test_level_counts_follow_the_totals_when_batches_move_members_between_levels(store):
    """Concurrent answers (so batches of many members) on three days: members leave the level of
    their old total and join the new one, also when several members of a batch share a level."""
    for n, day in enumerate(["2026-03-02", "2026-03-03", "2026-03-04"]):
        post, _ = await store.claim_daily(channel=CH, local_date=day, question_id=f"q{n}", created_at=float(n))
        await asyncio.gather(*[
            store.record_answer(answer(post.id, f"u{i}", points=(i * (n + 1)) % 4, local_day=day))
            for i in range(120) if (i + n) % 5
        ])
    totals = [r async for r in store.export_table("board_totals")]
    levels = [r async for r in store.export_table("board_levels")]
    want: dict[tuple, int] = {}
    for r in totals:
        k = (r["platform"], r["workspace"], r["channel"], r["period"], r["points"])
        want[k] = want.get(k, 0) + 1
    got = {(r["platform"], r["workspace"], r["channel"], r["period"], r["points"]): r["members"]
           for r in levels if r["members"]}
    assert len(want) > 20 and got == want


async def test_postgres_answer_batches_wait_for_the_boards_lock(postgres_backend):
    """Processes sharing a database move the level counts under one advisory lock (taken inside
    the totals' statement): a batch waits while another transaction holds it."""
    import asyncpg

    from storage.postgres.store import BOARD_LOCK

    store = postgres_backend.make()
    await store.start()
    other = await asyncpg.connect(postgres_backend.url.split("?", 1)[0],
                                  server_settings={"search_path": postgres_backend.url.split("search_path=", 1)[1]})
    try:
        post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
        tx = other.transaction()
        await tx.start()
        await other.execute("SELECT pg_advisory_xact_lock($1)", BOARD_LOCK)
        pending = asyncio.ensure_future(store.record_answer(answer(post.id, "ann")))
        await asyncio.sleep(0.5)
        assert not pending.done()  # the batch is waiting for the lock
        await tx.rollback()
        assert (await asyncio.wait_for(pending, 5)).recorded
        assert await store.member_points(member("ann", workspace="T1")) == (10, 1, 1)
    finally:
        await other.close()
        await store.aclose()


async def test_postgres_bad_migration_file_is_not_reported_as_a_bad_url(postgres_backend, tmp_path, monkeypatch):
    import pytest

    from bot.core.ports import StoreConfigError
    from storage.postgres import store as pg_store

    (tmp_path / "001_init.sql").write_text("SELECT 1;")
    (tmp_path / "003_gap.sql").write_text("SELECT 1;")
    monkeypatch.setattr(pg_store, "MIGRATIONS", tmp_path)
    s = postgres_backend.make()
    with pytest.raises(ValueError, match="without gaps") as caught:
        await s.start()
    assert not isinstance(caught.value, StoreConfigError)
    assert s._pool is None  # noqa: SLF001 - closed again


async def test_board_totals_migration_backfills_what_answers_maintain(backend):
    """Migration 003 sums the answers already stored; the answer path keeps the same totals up
    to date. Both must agree, on both backends (their SQL for "the Monday of a day" differs)."""
    s = backend.make()
    await s.start()
    days = ["2026-03-01", "2026-03-02", "2026-03-08", "2026-03-09", "2026-03-31", "2026-04-01"]
    for n, day in enumerate(days):
        post, _ = await s.claim_daily(channel=CH, local_date=day, question_id=f"q{n}", created_at=float(n))
        for i in range(n + 2):
            await s.record_answer(answer(post.id, f"u{i}", points=1 + (i + n) % 10, local_day=day))
    maintained = {t: [r async for r in s.export_table(t)] for t in ("board_totals", "board_levels")}
    await s.aclose()
    undo = ["DROP TABLE board_levels", "DROP TABLE board_totals", "DELETE FROM schema_migrations WHERE version = 3"]
    if backend.kind == "sqlite":
        with sqlite3.connect(backend.url.removeprefix("sqlite:///")) as db:
            for sql in undo:
                db.execute(sql)
    else:
        import asyncpg

        conn = await asyncpg.connect(backend.url)
        for sql in undo:
            await conn.execute(sql)
        await conn.close()
    s = backend.make()
    await s.start()  # applies 003 again, over the stored answers
    backfilled = {t: [r async for r in s.export_table(t)] for t in ("board_totals", "board_levels")}
    await s.aclose()
    assert len(maintained["board_totals"]) > 50
    key = lambda r: tuple(r.values())  # noqa: E731
    assert sorted(backfilled["board_totals"], key=key) == sorted(maintained["board_totals"], key=key)
    # The answer path leaves emptied levels behind (members 0); they count for no rank.
    live_levels = [r for r in maintained["board_levels"] if r["members"] != 0]
    assert sorted(backfilled["board_levels"], key=key) == sorted(live_levels, key=key)


async def test_app_installations_round_trip_latest_first_and_apart_per_team(store):
    from bot.core.ports import AppInstallation

    def inst(team: str, user: str, at: float, token: str, enterprise: str = "") -> AppInstallation:
        return AppInstallation(platform="slack", enterprise_id=enterprise, team_id=team, user_id=user,
                               installed_at=at, record=json.dumps({"bot_token": token}))

    assert await store.find_installation(platform="slack", enterprise_id="", team_id="TA") is None
    await store.save_installation(inst("TA", "U1", 100.0, "xoxb-a1"))
    await store.save_installation(inst("TA", "U2", 200.0, "xoxb-a2"))
    await store.save_installation(inst("TB", "U1", 300.0, "xoxb-b1", enterprise="E1"))
    latest = await store.find_installation(platform="slack", enterprise_id="", team_id="TA")
    assert latest == inst("TA", "U2", 200.0, "xoxb-a2") and "xoxb" not in repr(latest)
    by_user = await store.find_installation(platform="slack", enterprise_id="", team_id="TA", user_id="U1")
    assert by_user.record == '{"bot_token": "xoxb-a1"}'
    # A reinstall by the same member replaces the row; any enterprise when None; never another team.
    await store.save_installation(inst("TA", "U1", 400.0, "xoxb-a3"))
    assert (await store.find_installation(platform="slack", enterprise_id=None, team_id="TA")).record.endswith('a3"}')
    assert (await store.find_installation(platform="slack", enterprise_id=None, team_id="TB")).enterprise_id == "E1"
    assert await store.find_installation(platform="slack", enterprise_id="", team_id="TB") is None
    assert await store.find_installation(platform="discord", enterprise_id=None, team_id="TA") is None
    assert await store.delete_installations(platform="slack", enterprise_id="", team_id="TA", user_id="U1") == 1
    assert (await store.find_installation(platform="slack", enterprise_id="", team_id="TA")).user_id == "U2"
    assert await store.delete_installations(platform="slack", enterprise_id="", team_id="TA") == 1
    assert await store.find_installation(platform="slack", enterprise_id=None, team_id="TA") is None
    assert await store.find_installation(platform="slack", enterprise_id="E1", team_id="TB") is not None


async def test_oauth_states_are_consumed_once_and_expire(store):
    await store.issue_oauth_state("s1", expires_at=1000.0, now=400.0)
    await store.issue_oauth_state("s2", expires_at=1000.0, now=400.0)
    assert await store.consume_oauth_state("s1", now=999.0) is True
    assert await store.consume_oauth_state("s1", now=999.0) is False  # used
    assert await store.consume_oauth_state("nope", now=999.0) is False
    assert await store.consume_oauth_state("s2", now=1000.0) is False  # expired
    await store.issue_oauth_state("s3", expires_at=3000.0, now=2000.0)  # sweeps the expired s2
    assert await count_rows(store, "oauth_states") == 1
    results = await asyncio.gather(*(store.consume_oauth_state("s3", now=2001.0) for _ in range(5)))
    assert results.count(True) == 1
