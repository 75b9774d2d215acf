"""The daily loop's storage on SQLite and PostgreSQL (one suite, both backends): reveal steps and
their lease, threads, the ping setting, question reports, and re-grading after a key fix."""

from __future__ import annotations

import asyncio

from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import AnswerIn, Subscription
from bot.core.regrade import regrade_changed_keys
from tests import pg_fixtures

pg_database = pg_fixtures.pg_database
backend = pg_fixtures.backend
postgres_backend = pg_fixtures.postgres_backend
store = pg_fixtures.any_store

CH = ChannelRef("slack", "T1", "C1")


def who(user: str) -> MemberRef:
    return MemberRef("slack", "T1", user)


def answer(post_id: int, user: str, choice: str, *, correct: bool, points: int, practice: bool = False,
           day: str = "2026-03-02") -> AnswerIn:
    return AnswerIn(post_id=post_id, member=who(user), channel=CH, choice=choice, correct=correct, points=points,
                    practice=practice, answered_at=1_772_000_000.0, local_day=day)


async def test_reveal_steps_are_recorded_and_the_lease_goes_to_one_taker(store):
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id="q1", created_at=100.0)
    await store.set_post_message(post.id, "m1")
    await store.set_post_thread(post.id, "m1")
    assert await store.unfinished_reveals(since=0) == []
    assert await store.mark_revealed(post.id, 200.0, lease_seconds=60)
    assert await store.lease_reveal(post.id, now=230.0, seconds=60) is None  # the revealer holds it
    [open_] = await store.unfinished_reveals(since=0)
    assert open_.thread_id == "m1" and open_.reveal_face_at is None
    await store.mark_reveal_step(post.id, "face", 210.0)
    taken = await asyncio.gather(*[store.lease_reveal(post.id, now=300.0, seconds=60) for _ in range(5)])
    assert sum(t is not None for t in taken) == 1
    leased = next(t for t in taken if t is not None)
    assert leased.reveal_face_at == 210.0 and leased.reveal_reply_at is None
    await store.mark_reveal_step(post.id, "reply", 310.0)
    await store.mark_reveal_step(post.id, "reply", 999.0)  # once: the first time stands
    assert await store.unfinished_reveals(since=0) == []
    assert (await store.get_post(post.id)).reveal_reply_at == 310.0
    assert await store.lease_reveal(post.id, now=1000.0, seconds=60) is None  # finished


async def test_the_ping_is_kept_with_the_subscription(store):
    sub = Subscription(channel=CH, time="09:00", timezone="UTC", days="mon", reveal="17:00", ping="group:S123")
    await store.put_subscription(sub)
    assert (await store.get_subscription(CH)).ping == "group:S123"
    assert [s.ping for s in await store.list_subscriptions()] == ["group:S123"]


async def test_reports_once_per_member_listed_closed_and_disputed(store):
    first, created = await store.add_report(member=who("a"), question_id="q1", reason="wrong-key", text="B", at=1.0)
    again, created_again = await store.add_report(member=who("a"), question_id="q1", reason="typo", text="x", at=2.0)
    assert created and not created_again and again.id == first.id and again.reason == "wrong-key"
    await asyncio.gather(*[store.add_report(member=who(u), question_id="q1", reason="wrong-key", text="", at=3.0)
                           for u in ("b", "c", "b")])
    await store.add_report(member=MemberRef("discord", "G", "z"), question_id="q2", reason="unclear", text="",
                           at=4.0)
    assert len(await store.list_reports()) == 4
    assert [r.member.user for r in await store.list_reports(platform="slack", workspace="T1")] == ["a", "b", "c"]
    assert await store.disputed_questions(reason="wrong-key", min_members=3) == {"q1"}
    assert await store.close_reports(question_id="q1", status="dismissed", at=5.0, platform="slack",
                                     workspace="T1") == 3
    assert await store.disputed_questions(reason="wrong-key", min_members=3) == set()
    closed = await store.list_reports(status="dismissed")
    assert len(closed) == 3 and all(r.closed_at == 5.0 for r in closed)


async def test_a_key_change_regrades_answers_points_and_boards_in_one_go(store, bank):
    q = bank.by_id["t-d1-one"]  # key A
    post, _ = await store.claim_daily(channel=CH, local_date="2026-03-02", question_id=q.id, created_at=1.0)
    other, _ = await store.claim_daily(channel=CH, local_date="2026-03-03", question_id="t-d1-multi", created_at=2.0)
    for a in (answer(post.id, "ann", "A", correct=True, points=10), answer(post.id, "bob", "B", correct=False, points=3),
              answer(post.id, "cid", "B", correct=False, points=0, practice=True),
              answer(other.id, "bob", "AB", correct=True, points=10, day="2026-03-03")):
        await store.record_answer(a)
    # The first start records the keys; nothing is re-graded.
    assert await regrade_changed_keys(bank, store) == {}
    # The bank's key of t-d1-one is fixed from A to B.
    fixed = type(bank)(taxonomy=bank.taxonomy, questions=tuple(
        x if x.id != q.id else type(x)(**{**{f: getattr(x, f) for f in x.__slots__}, "key": frozenset("B")})
        for x in bank.questions), scenarios=bank.scenarios, facts=bank.facts)
    assert await regrade_changed_keys(fixed, store) == {q.id: ("A", "B")}
    assert await store.member_points(who("ann")) == (3, 1, 0)
    assert await store.member_points(who("bob")) == (20, 2, 2)
    assert await store.member_points(who("cid")) == (1, 1, 1)
    board = await store.leaderboard(platform="slack", workspace="T1", channel=None, since=None, limit=10,
                                    period="all")
    assert [(r.user, r.points, r.rank) for r in board] == [("bob", 20, 1), ("ann", 3, 2), ("cid", 1, 3)]
    week = await store.leaderboard(platform="slack", workspace="T1", channel="C1", since=None, limit=10,
                                   period="w2026-03-02")
    assert [(r.user, r.points) for r in week] == [("bob", 20), ("ann", 3), ("cid", 1)]
    rank = await store.rank_of(member=who("ann"), channel=None, since=None, period="all")
    assert (rank.points, rank.rank) == (3, 2)
    # Starting again with the same bank changes nothing.
    assert await regrade_changed_keys(fixed, store) == {}
    assert await store.member_points(who("bob")) == (20, 2, 2)
