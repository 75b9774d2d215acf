"""The exam store part on both backends: one active exam per member, conditional steps, one
closer, cards moved in the closing transaction (and nothing at all when that fails)."""

import asyncio
import sqlite3

import asyncpg
import pytest

from bot.core.ports import StoreError
from tests import pg_fixtures
from tests.conftest import member

pg_database = pg_fixtures.pg_database
backend = pg_fixtures.backend
postgres_backend = pg_fixtures.postgres_backend
store = pg_fixtures.any_store

T0 = 1_772_445_600.0  # 2026-03-02 10:00 UTC
QIDS = ["q0", "q1", "q2", "q3"]
KEYS = {"q0": "A", "q1": "BD", "q2": "C", "q3": "A"}
ALICE = member("alice", workspace="T1")


async def start(store, who=ALICE, *, at=T0, qids=QIDS):
    exam, created = await store.create_exam(member=who, mode="short", question_ids=qids, started_at=at,
                                            deadline=at + 600)
    assert created
    return exam


async def test_one_active_exam_per_member_even_when_started_at_once(store):
    results = await asyncio.gather(*[
        store.create_exam(member=ALICE, mode="short", question_ids=QIDS, started_at=T0 + i, deadline=T0 + 600)
        for i in range(5)
    ])
    assert sum(created for _, created in results) == 1
    assert len({exam.id for exam, _ in results}) == 1
    exam = await store.active_exam(ALICE)
    assert [i.question_id for i in exam.items] == QIDS and exam.position == 0 and exam.state == "active"
    assert all(i.choice is None and not i.flagged and i.correct is None for i in exam.items)
    # Another member starts their own; after a close the member may start again.
    other, created = await store.create_exam(member=member("bob", workspace="T1"), mode="full",
                                             question_ids=["q9"], started_at=T0, deadline=T0 + 60)
    assert created and other.id != exam.id
    assert await store.close_exam(exam.id, now=T0 + 10, keys=KEYS) is not None
    again, created = await store.create_exam(member=ALICE, mode="short", question_ids=QIDS, started_at=T0 + 20,
                                             deadline=T0 + 620)
    assert created and again.id not in (exam.id, other.id)


async def test_a_step_applies_only_at_its_position_while_active_and_in_time(store):
    exam = await start(store)
    assert await store.exam_step(exam.id, at=0, now=T0 + 1, to=1, choice="A")
    assert not await store.exam_step(exam.id, at=0, now=T0 + 2, to=1, choice="B")  # an old question
    assert await store.exam_step(exam.id, at=1, now=T0 + 3, to=1, flagged=True)
    assert await store.exam_step(exam.id, at=1, now=T0 + 4, to=0)
    assert await store.exam_step(exam.id, at=0, now=T0 + 5, to=1, choice="C")  # answers can change
    assert not await store.exam_step(exam.id, at=1, now=T0 + 600, to=2, choice="BD")  # at the deadline
    got = await store.get_exam(exam.id)
    assert got.position == 1
    assert [(i.choice, i.flagged) for i in got.items] == [("C", False), (None, True), (None, False), (None, False)]


async def test_two_clicks_at_once_change_one_thing(store):
    exam = await start(store)
    outcomes = await asyncio.gather(
        store.exam_step(exam.id, at=0, now=T0 + 1, to=1, choice="A"),
        store.exam_step(exam.id, at=0, now=T0 + 1, to=1, choice="B"),
    )
    assert sorted(outcomes) == [False, True]
    got = await store.get_exam(exam.id)
    assert got.position == 1 and got.items[0].choice == ("A" if outcomes[0] else "B")


async def test_close_scores_moves_cards_once_and_ends_every_change(store):
    exam = await start(store)
    await store.exam_step(exam.id, at=0, now=T0 + 1, to=1, choice="A")  # right
    await store.exam_step(exam.id, at=1, now=T0 + 2, to=2, choice="BC")  # wrong
    await store.exam_step(exam.id, at=2, now=T0 + 3, to=2, flagged=True)  # flagged, unanswered
    closers = await asyncio.gather(*[store.close_exam(exam.id, now=T0 + 100, keys=KEYS) for _ in range(3)])
    done = [c for c in closers if c is not None]
    assert len(done) == 1
    closed = done[0]
    assert closed.state == "submitted" and closed.closed_at == T0 + 100 and closed.right == 1
    assert [i.correct for i in closed.items] == [True, False, False, False]
    cards = await store.member_cards(ALICE)
    assert set(cards) == set(QIDS)
    assert all(c.reps == 1 for c in cards.values())
    assert [cards[q].last_correct for q in QIDS] == [True, False, False, False]
    assert {c.last_review for c in cards.values()} == {T0 + 100}
    # Nothing moves a closed exam.
    assert not await store.exam_step(exam.id, at=2, now=T0 + 101, to=3, choice="C")
    assert not await store.abandon_exam(exam.id, now=T0 + 101)
    assert await store.get_exam(exam.id) == closed
    # No points, no answers, no streak days: exam answers live apart.
    assert await store.member_points(ALICE) == (0, 0, 0)
    assert await store.member_days(ALICE) == []


async def test_closing_after_the_deadline_expires_it_and_reviews_at_the_deadline(store):
    exam = await start(store)
    await store.exam_step(exam.id, at=0, now=T0 + 1, to=1, choice="A")
    assert await store.expired_exams(now=T0 + 599) == []
    assert await store.expired_exams(now=T0 + 600) == [exam.id]
    closed = await store.close_exam(exam.id, now=T0 + 5000, keys=KEYS)
    assert closed.state == "expired" and closed.right == 1
    assert await store.expired_exams(now=T0 + 6000) == []
    assert {c.last_review for c in (await store.member_cards(ALICE)).values()} == {T0 + 600}


async def test_abandoned_exams_move_nothing_and_history_is_newest_first(store):
    first = await start(store)
    assert await store.abandon_exam(first.id, now=T0 + 5)
    assert not await store.abandon_exam(first.id, now=T0 + 6)
    assert await store.close_exam(first.id, now=T0 + 7, keys=KEYS) is None
    assert await store.member_cards(ALICE) == {}
    second = await start(store, at=T0 + 10)
    assert [e.id for e in await store.member_exams(ALICE, limit=5)] == [first.id]  # the active one is not history
    await store.close_exam(second.id, now=T0 + 20, keys=KEYS)
    history = await store.member_exams(ALICE, limit=5)
    assert [(e.id, e.state) for e in history] == [(second.id, "submitted"), (first.id, "abandoned")]
    assert [i.question_id for i in history[0].items] == QIDS
    assert await store.member_exams(ALICE, limit=1) == history[:1]
    assert await store.member_exams(member("nobody", workspace="T1"), limit=5) == []


async def test_scored_exam_questions_count_as_attempts(store):
    exam = await start(store)
    await store.exam_step(exam.id, at=0, now=T0 + 1, to=1, choice="A")
    assert await store.member_attempts(ALICE, since=0) == []  # nothing before it is scored
    await store.close_exam(exam.id, now=T0 + 50, keys=KEYS)
    attempts = await store.member_attempts(ALICE, since=T0)
    assert sorted((a.question_id, a.correct, a.at) for a in attempts) == [
        ("q0", True, T0 + 50), ("q1", False, T0 + 50), ("q2", False, T0 + 50), ("q3", False, T0 + 50)]
    assert await store.member_attempts(ALICE, since=T0 + 51) == []
    assert await store.member_attempts(member("bob", workspace="T1"), since=0) == []


async def test_a_failing_card_write_leaves_the_exam_active_and_unscored(store, monkeypatch):
    """Score and cards share one transaction: when the cards cannot be written, the exam is
    neither closed nor scored, and a later close does it all."""
    import storage.postgres.exams as pg_exams
    import storage.sqlite.exams as sq_exams

    async def broken_sqlite(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error while writing cards")

    async def broken_pg(*args, **kwargs):
        raise asyncpg.exceptions.DiskFullError("could not extend file")

    monkeypatch.setattr(sq_exams, "move_cards_async", broken_sqlite)
    monkeypatch.setattr(pg_exams, "move_cards", broken_pg)
    exam = await start(store)
    await store.exam_step(exam.id, at=0, now=T0 + 1, to=1, choice="A")
    with pytest.raises(StoreError):
        await store.close_exam(exam.id, now=T0 + 50, keys=KEYS)
    after = await store.get_exam(exam.id)
    assert after.state == "active" and after.right is None and after.closed_at is None
    assert all(i.correct is None for i in after.items)
    assert await store.member_cards(ALICE) == {}
    assert await store.active_exam(ALICE) == after
    monkeypatch.undo()
    closed = await store.close_exam(exam.id, now=T0 + 60, keys=KEYS)
    assert closed.state == "submitted" and closed.right == 1
    assert len(await store.member_cards(ALICE)) == 4


async def test_a_restarted_store_continues_the_exam(backend):
    first = backend.make()
    await first.start()
    exam = await start(first)
    await first.exam_step(exam.id, at=0, now=T0 + 1, to=1, choice="A")
    await first.aclose()
    second = backend.make()
    await second.start()
    try:
        again = await second.active_exam(ALICE)
        assert again.id == exam.id and again.deadline == T0 + 600 and again.position == 1
        assert again.items[0].choice == "A"
    finally:
        await second.aclose()


async def test_an_exam_is_read_back_at_once_while_other_reads_run(store):
    """Read-your-write under load: big reads of other members' cards run at the same time as
    exams are started, answered and read back; every read sees the write just committed (the
    SQLite reader once kept an old snapshot when another statement was left open between its
    execute and its fetch)."""
    big = member("big", workspace="T1")
    await store.apply_reviews(big, [(f"q{i}", i % 2 == 0, T0) for i in range(3000)])

    async def reader() -> bool:
        for _ in range(5):
            assert len(await store.member_cards(big)) == 3000
        return True

    async def writer(i: int) -> bool:
        exam, created = await store.create_exam(member=member(f"u{i}", workspace="T1"), mode="short",
                                                question_ids=QIDS, started_at=T0, deadline=T0 + 600)
        stepped = await store.exam_step(exam.id, at=0, now=T0 + 1, to=1, choice="A")
        again = await store.get_exam(exam.id)
        return created and stepped and again.position == 1 and again.items[0].choice == "A"

    results = await asyncio.gather(*[reader() for _ in range(20)], *[writer(i) for i in range(100)])
    assert all(results)
