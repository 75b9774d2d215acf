"""The SQLite store on a real file: migrations, idempotent writes, concurrent answer bursts."""

import asyncio
import sqlite3

from bot.core.models import ChannelRef
from bot.core.ports import AnswerIn, Subscription
from storage.sqlite.store import SQLiteStore
from tests.conftest import member

CH = ChannelRef("slack", "T1", "C1")


def answer(post_id: int, user: str, choice: str = "A", points: int = 10) -> AnswerIn:
    return AnswerIn(
        post_id=post_id, member=member(user, workspace="T1"), channel=CH, choice=choice, correct=choice == "A",
        points=points, practice=False, answered_at=1_700_000_000.0, local_day="2026-03-02",
    )


async def test_migrations_from_empty_are_applied_once(tmp_path):
    path = tmp_path / "m.db"
    s = SQLiteStore(path)
    await s.start()
    assert await s.applied_migrations() == [1, 2]
    await s.aclose()
    s2 = SQLiteStore(path)
    await s2.start()  # a second start finds nothing to do
    assert await s2.applied_migrations() == [1, 2]
    await s2.aclose()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"members", "subscriptions", "posts", "answers", "schema_migrations"} <= tables


async def test_daily_claim_is_unique_per_channel_and_date(store):
    a, created_a = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    b, created_b = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q2", created_at=2.0)
    assert created_a and not created_b and a.id == b.id and b.question_id == "q1"
    other, created = await store.claim_daily(channel=CH, local_date="2026-03-03", question_id="q2", created_at=3.0)
    assert created and other.id != a.id
    assert await store.daily_history(CH) == ["q1", "q2"]


async def test_two_stores_on_one_file_claim_once(tmp_path):
    path = tmp_path / "shared.db"
    s1, s2 = SQLiteStore(path), SQLiteStore(path)
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
    assert first.recorded and first.choice == "B"
    assert not second.recorded and second.choice == "B"
    assert await store.answer_counts(post.id) == {"B": 1}


async def test_thousand_concurrent_answers_give_thousand_rows(store, tmp_path):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    outcomes = await asyncio.gather(*[store.record_answer(answer(post.id, f"user{i}")) for i in range(1000)])
    assert all(o.recorded for o in outcomes)
    # Each member clicking again, concurrently, changes nothing.
    again = await asyncio.gather(*[store.record_answer(answer(post.id, f"user{i}", "C")) for i in range(1000)])
    assert not any(o.recorded for o in again) and {o.choice for o in again} == {"A"}
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1000


async def test_same_member_double_click_within_one_batch(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    outcomes = await asyncio.gather(*[store.record_answer(answer(post.id, "alice", c)) for c in "ABCD"])
    assert sum(o.recorded for o in outcomes) == 1
    assert len({o.choice for o in outcomes}) == 1


async def test_reveal_marks_once(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    results = await asyncio.gather(*[store.mark_revealed(post.id, 5.0) for _ in range(5)])
    assert results.count(True) == 1


async def test_subscriptions_round_trip(store):
    sub = Subscription(channel=CH, time="09:00", timezone="Europe/Berlin", days="mon,tue,wed,thu,fri", reveal="17:00")
    await store.put_subscription(sub)
    assert await store.get_subscription(CH) == sub
    await store.set_subscription_error(CH, "not_in_channel")
    assert (await store.get_subscription(CH)).last_error == "not_in_channel"
    assert [s.channel for s in await store.list_subscriptions()] == [CH]


async def test_write_failure_tells_every_waiter_and_leaves_nothing(store):
    from bot.core.ports import StoreError

    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    # A foreign key violation (post 424242 does not exist) fails the whole batch cleanly.
    bad = answer(424242, "mallory")
    try:
        await store.record_answer(bad)
    except StoreError:
        pass
    else:  # pragma: no cover
        raise AssertionError("expected StoreError")
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0
    assert (await store.record_answer(answer(post.id, "alice"))).recorded


async def test_one_bad_answer_does_not_sink_its_batch(store):
    from bot.core.ports import StoreError

    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=1.0)
    results = await asyncio.gather(
        *[store.record_answer(answer(post.id, f"u{i}")) for i in range(20)],
        store.record_answer(answer(999999, "mallory")),
        return_exceptions=True,
    )
    assert sum(isinstance(r, StoreError) for r in results) == 1
    assert sum(getattr(r, "recorded", False) for r in results) == 20
