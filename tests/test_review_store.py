"""Review cards in both stores: moved by the answer's own transaction, never without it."""

import asyncio

import pytest

from bot.core.models import ChannelRef
from bot.core.ports import AnswerIn, StoreError
from tests import pg_fixtures
from tests.conftest import member

pg_database = pg_fixtures.pg_database
backend = pg_fixtures.backend
postgres_backend = pg_fixtures.postgres_backend
store = pg_fixtures.any_store

CH = ChannelRef("console", "T1", "C1")
T0 = 1_772_445_600.0  # 2026-03-02 10:00 UTC


def answer(post_id: int, user: str, *, correct: bool, qid: str, at: float = T0) -> AnswerIn:
    return AnswerIn(
        post_id=post_id, member=member(user, workspace="T1"), channel=CH, choice="A" if correct else "B",
        correct=correct, points=0, practice=True, answered_at=at, local_day="2026-03-02", question_id=qid,
    )


async def test_first_answer_creates_a_card_and_wrong_is_due_sooner(store):
    p1 = await store.create_quiz(channel=CH, question_id="q1", created_at=T0)
    p2 = await store.create_quiz(channel=CH, question_id="q2", created_at=T0)
    await asyncio.gather(
        store.record_answer(answer(p1.id, "u1", correct=True, qid="q1")),
        store.record_answer(answer(p2.id, "u1", correct=False, qid="q2")),
    )
    cards = await store.member_cards(member("u1", workspace="T1"))
    assert set(cards) == {"q1", "q2"}
    assert cards["q2"].due < cards["q1"].due
    assert cards["q2"].lapses == 1 and cards["q1"].lapses == 0
    assert cards["q1"].reps == cards["q2"].reps == 1
    assert cards["q2"].last_correct is False and cards["q1"].last_correct is True
    # A repeat click on the same post changes nothing.
    again = await store.record_answer(answer(p1.id, "u1", correct=False, qid="q1", at=T0 + 60))
    assert not again.recorded
    assert (await store.member_cards(member("u1", workspace="T1")))["q1"] == cards["q1"]


async def test_two_posts_of_one_question_in_one_batch_move_the_card_twice(store):
    posts = [await store.create_quiz(channel=CH, question_id="q1", created_at=T0) for _ in range(2)]
    await asyncio.gather(
        store.record_answer(answer(posts[0].id, "u1", correct=True, qid="q1", at=T0)),
        store.record_answer(answer(posts[1].id, "u1", correct=True, qid="q1", at=T0 + 700)),
    )
    card = (await store.member_cards(member("u1", workspace="T1")))["q1"]
    assert card.reps == 2


async def test_due_cards_most_overdue_first_and_summary(store):
    m = member("u1", workspace="T1")
    await store.apply_reviews(m, [("qa", False, T0), ("qb", False, T0 - 3600), ("qc", True, T0)])
    due = await store.due_cards(m, now=T0 + 7200, limit=10)
    assert [c.question_id for c in due] == ["qb", "qa"]  # qc is due in days
    total, due_now, next_due = await store.card_summary(m, now=T0 + 7200)
    assert (total, due_now) == (3, 2)
    assert next_due is not None and next_due > T0 + 86400 / 2
    assert await store.due_cards(member("u2", workspace="T1"), now=T0, limit=5) == []


async def test_attempts_come_from_answers_of_the_member_and_channel(store):
    p1 = await store.create_quiz(channel=CH, question_id="q1", created_at=T0)
    await store.record_answer(answer(p1.id, "u1", correct=True, qid="q1"))
    await store.record_answer(answer(p1.id, "u2", correct=False, qid="q1"))
    mine = await store.member_attempts(member("u1", workspace="T1"), since=T0 - 1)
    assert [(a.question_id, a.correct) for a in mine] == [("q1", True)]
    assert await store.member_attempts(member("u1", workspace="T1"), since=T0 + 1) == []
    group = await store.channel_attempts(CH, since=0)
    assert sorted((a.user, a.correct) for a in group) == [("u1", True), ("u2", False)]


async def test_reminder_is_claimed_once_per_day(store):
    m = member("u1", workspace="T1")
    assert await store.get_reminder(m) is None
    await store.set_reminder(m, "08:30")
    r = await store.get_reminder(m)
    assert r is not None and r.at_time == "08:30" and r.last_sent is None
    assert await store.claim_reminder(m, "2026-03-02") is True
    assert await store.claim_reminder(m, "2026-03-02") is False
    assert await store.claim_reminder(m, "2026-03-03") is True
    assert [x.member for x in await store.active_reminders()] == [m]
    await store.set_reminder(m, None)
    assert await store.get_reminder(m) is None and await store.active_reminders() == []
    assert await store.claim_reminder(m, "2026-03-04") is False


async def test_a_failing_card_write_stores_no_answer(store, monkeypatch):
    """The card and the answer share one transaction: when the card cannot be written the answer
    is rolled back too, so the member is told 'not recorded' and nothing is half-written."""
    import storage.sqlite.cards as sq_cards

    def broken(*args, **kwargs):
        raise RuntimeError("disk gone while writing the card")

    monkeypatch.setattr(sq_cards, "schedule_many", broken)  # both stores move cards through moved_cards
    post = await store.create_quiz(channel=CH, question_id="q1", created_at=T0)
    with pytest.raises(StoreError):
        await store.record_answer(answer(post.id, "u1", correct=True, qid="q1"))
    assert await store.answered_count(post.id) == 0
    assert await store.member_points(member("u1", workspace="T1")) == (0, 0, 0)
    monkeypatch.undo()
    ok = await store.record_answer(answer(post.id, "u1", correct=True, qid="q1"))
    assert ok.recorded
    assert set(await store.member_cards(member("u1", workspace="T1"))) == {"q1"}


async def test_unrevealed_questions_are_the_workspaces_daily_posts_before_their_reveal(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="qd", created_at=T0)
    await store.claim_daily(channel=ChannelRef("console", "T2", "C1"), local_date="2026-03-02", question_id="qx",
                            created_at=T0)
    await store.create_quiz(channel=CH, question_id="qq", created_at=T0)
    assert await store.unrevealed_questions("console", "T1") == {"qd"}
    await store.mark_revealed(post.id, T0 + 60)
    assert await store.unrevealed_questions("console", "T1") == set()


async def test_applying_no_reviews_moves_no_card(store):
    m = member("ann", workspace="T1")
    await store.apply_reviews(m, [])
    assert await store.member_cards(m) == {}
