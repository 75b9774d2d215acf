"""Re-grading after a key fix keeps the practice cap: `grading.regrade` (the one rule both stores
use) and the stores' `regrade_answers` on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from bot.core.grading import PRACTICE_CAP, StoredAnswer, regrade
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import AnswerIn
from bot.core.regrade import regrade_changed_keys
from tests import pg_fixtures

pg_database = pg_fixtures.pg_database
backend = pg_fixtures.backend
store = pg_fixtures.any_store

CH = ChannelRef("slack", "T1", "C1")
DAY = "2026-03-02"


def who(user: str) -> MemberRef:
    return MemberRef("slack", "T1", user)


def stored(i: int, qid: str, choice: str, *, correct: bool, points: int, practice: bool = True, user: str = "ann",
           day: str = DAY, at: float | None = None) -> StoredAnswer:
    return StoredAnswer(id=i, question_id=qid, choice=choice, correct=correct, points=points, practice=practice,
                        member=who(user), local_day=day, answered_at=float(i) if at is None else at)


def capped_day(first_id: int = 100, *, user: str = "ann", day: str = DAY) -> list[StoredAnswer]:
    """Right practice answers to other questions that fill the member's cap on that day."""
    return [stored(first_id + i, f"other-{i}", "A", correct=True, points=1, user=user, day=day)
            for i in range(PRACTICE_CAP)]


def test_a_practice_answer_turned_right_gains_nothing_on_a_capped_day():
    # Answered before the day's other practice answers: theirs stand, and the cap is already full.
    answers = [stored(1, "q", "B", correct=False, points=0, at=0.0), *capped_day()]
    assert regrade(answers, {"q": "B"}) == {1: (True, 0)}


def test_a_practice_answer_turned_right_gains_its_point_below_the_cap():
    answers = [stored(1, "q", "B", correct=False, points=0), *capped_day()[1:]]
    assert regrade(answers, {"q": "B"}) == {1: (True, 1)}


def test_the_cap_counts_per_member_and_day_and_only_practice_points():
    answers = [
        *capped_day(), stored(1, "q", "B", correct=False, points=0),  # capped: nothing
        stored(2, "q", "B", correct=False, points=0, day="2026-03-03"),  # another day: room
        stored(3, "q", "B", correct=False, points=0, user="bob"),  # another member: room
        stored(4, "q", "B", correct=False, points=3, practice=False),  # counted answers ignore the cap
        *[stored(200 + i, f"daily-{i}", "A", correct=True, points=10, practice=False, user="cid")
          for i in range(5)],  # 50 counted points do not fill cid's practice cap
        stored(5, "q", "B", correct=False, points=0, user="cid"),
    ]
    assert regrade(answers, {"q": "B"}) == {1: (True, 0), 2: (True, 1), 3: (True, 1), 4: (True, 10), 5: (True, 1)}


def test_a_point_lost_in_the_same_regrade_makes_room_for_one_gained():
    answers = [
        *capped_day()[1:],  # 19 points
        stored(1, "q1", "A", correct=True, points=1),  # key A -> C: loses its point
        stored(2, "q2", "B", correct=False, points=0),  # key A -> B: takes the room
        stored(3, "q3", "D", correct=False, points=0),  # key A -> D: the day is full again
    ]
    assert regrade(answers, {"q1": "C", "q2": "B", "q3": "D"}) == {1: (False, 0), 2: (True, 1), 3: (True, 0)}


def test_unchanged_grades_are_left_out():
    answers = [stored(1, "q", "C", correct=False, points=0), stored(2, "q", "C", correct=False, points=3,
                                                                     practice=False)]
    assert regrade(answers, {"q": "B"}) == {}


def with_key(bank, qid: str, key: str):
    return type(bank)(taxonomy=bank.taxonomy, questions=tuple(
        x if x.id != qid else type(x)(**{**{f: getattr(x, f) for f in x.__slots__}, "key": frozenset(key)})
        for x in bank.questions), scenarios=bank.scenarios, facts=bank.facts)


async def test_a_key_fix_keeps_the_practice_cap_in_points_and_boards(store, bank):
    q = bank.by_id["t-d1-one"]  # key A
    start = date(2026, 1, 1)
    posts = []
    for i in range(PRACTICE_CAP + 1):
        post, _ = await store.claim_daily(channel=CH, local_date=(start + timedelta(days=i)).isoformat(),
                                          question_id=q.id if i == 0 else f"other-{i}", created_at=float(i))
        posts.append(post)

    async def record(post_id: int, user: str, choice: str, *, correct: bool, points: int, at: float,
                     day: str = DAY) -> None:
        await store.record_answer(AnswerIn(post_id=post_id, member=who(user), channel=CH, choice=choice,
                                           correct=correct, points=points, practice=True, answered_at=at,
                                           local_day=day))

    # ann: a wrong practice answer to q first, then enough right practice answers to reach the cap.
    await record(posts[0].id, "ann", "B", correct=False, points=0, at=1_772_000_000.0)
    for i, post in enumerate(posts[1:]):
        await record(post.id, "ann", "A", correct=True, points=1, at=1_772_000_100.0 + i)
    # bob: a wrong practice answer to q on a day with room.
    await record(posts[0].id, "bob", "B", correct=False, points=0, at=1_772_000_000.0)
    assert await store.member_points(who("ann")) == (PRACTICE_CAP, PRACTICE_CAP + 1, PRACTICE_CAP)
    assert await regrade_changed_keys(bank, store) == {}  # the first start records the keys

    assert await regrade_changed_keys(with_key(bank, q.id, "B"), store) == {q.id: ("A", "B")}
    # ann's answer is right now, but her day was full: it gains nothing; bob's gains its point.
    assert await store.member_points(who("ann")) == (PRACTICE_CAP, PRACTICE_CAP + 1, PRACTICE_CAP + 1)
    assert await store.practice_points_on(who("ann"), DAY) == PRACTICE_CAP
    assert await store.member_points(who("bob")) == (1, 1, 1)
    board = await store.leaderboard(platform="slack", workspace="T1", channel=None, since=None, limit=10,
                                    period="all")
    assert [(r.user, r.points) for r in board] == [("ann", PRACTICE_CAP), ("bob", 1)]
    week = await store.leaderboard(platform="slack", workspace="T1", channel="C1", since=None, limit=10,
                                   period="w2026-03-02")
    assert [(r.user, r.points) for r in week] == [("ann", PRACTICE_CAP), ("bob", 1)]
