"""Grading through the service and a real SQLite store: first answer counts, multi-response, reveal."""

import pytest

from bot.core import texts
from bot.core.grading import PRACTICE_CAP, grade, parse_choice
from bot.core.timeutil import UsageError
from tests.conftest import member


def test_parse_choice_accepts_common_spellings(bank):
    multi = bank.by_id["t-d1-multi"]
    for raw in ("a b", "A,B", "b a", "AB", "a and b", " A , B "):
        assert parse_choice(multi, raw) == "AB"
    single = bank.by_id["t-d1-one"]
    assert parse_choice(single, "c") == "C"


@pytest.mark.parametrize("raw", ["Z", "", "1", "A B C D E F G H I", "AB"])
def test_parse_choice_rejects_non_options(bank, raw):
    with pytest.raises(UsageError):
        parse_choice(bank.by_id["t-d1-one"], raw)


def test_multi_response_needs_exactly_the_key_size(bank):
    multi = bank.by_id["t-d1-multi"]
    with pytest.raises(UsageError, match="TWO"):
        parse_choice(multi, "A")
    with pytest.raises(UsageError):
        parse_choice(multi, "ABC")


def test_multi_response_is_right_only_for_the_exact_set(bank):
    multi = bank.by_id["t-d1-multi"]
    assert grade(multi, "AB", practice=False, practice_today=0).correct
    assert not grade(multi, "AC", practice=False, practice_today=0).correct
    assert grade(multi, "AB", practice=False, practice_today=0).points == 10
    assert grade(multi, "AC", practice=False, practice_today=0).points == 3


def test_practice_points_cap(bank):
    q = bank.by_id["t-d1-one"]
    assert grade(q, "A", practice=True, practice_today=PRACTICE_CAP - 1).points == 1
    assert grade(q, "A", practice=True, practice_today=PRACTICE_CAP).points == 0
    assert grade(q, "B", practice=True, practice_today=0).points == 0


async def test_first_answer_counts_and_second_click_changes_nothing(service, store, channel):
    post, created = await service.claim_daily(channel, "UTC")
    assert created
    q = service.bank.by_id[post.question_id]
    wrong = "".join([letter for letter in q.letters if letter not in q.key][: len(q.key)])
    right = "".join(sorted(q.key))
    alice = member("alice")
    first = await service.answer(member=alice, post_id=post.id, raw_choice=wrong)
    assert "Not quite" in first.text
    again = await service.answer(member=alice, post_id=post.id, raw_choice=right)
    assert again.text.startswith("You already answered")
    assert await store.member_points(alice) == (3, 1, 0)


async def test_answer_after_reveal_is_practice_only(service, store, channel, clock):
    post, _ = await service.claim_daily(channel, "UTC")
    q = service.bank.by_id[post.question_id]
    bob, carol = member("bob"), member("carol")
    key = " ".join(sorted(q.key))
    await service.answer(member=bob, post_id=post.id, raw_choice=key)
    revealed = await service.reveal(post.id)
    assert revealed is not None
    face, why = revealed
    # The buttons stay, labelled late, so late answers are possible (graded as practice).
    answer_buttons = [b for b in face.buttons if b.action == "answer"]
    assert "1 of 1 answered right" in face.footer and "You can still answer" in face.footer
    assert [b.label for b in answer_buttons] == [f"{x} (late)" for x in q.letters]
    assert not any(b.disabled for b in face.buttons) and face.options == q.options
    assert any(b.action == "report" and b.value == q.id for b in face.buttons)
    assert q.explanation in why.text
    assert await service.reveal(post.id) is None  # once only
    late = await service.answer(member=carol, post_id=post.id, raw_choice=key)
    assert texts.AFTER_REVEAL in late.text and "+1 point (practice)" in late.text
    assert (await store.member_points(bob))[0] == 10
    assert (await store.member_points(carol))[0] == 1


async def test_click_on_unknown_post_is_expired(service):
    msg = await service.answer(member=member(), post_id=999, raw_choice="A")
    assert msg.text == texts.EXPIRED


async def test_member_of_another_workspace_cannot_answer(service, channel):
    post, _ = await service.claim_daily(channel, "UTC")
    msg = await service.answer(member=member("eve", workspace="other"), post_id=post.id, raw_choice="A")
    assert msg.text == texts.EXPIRED


async def test_leaderboard_ties_share_a_rank_and_asker_sees_own_rank(service, store, channel):
    from bot.core.ports import AnswerIn

    post, _ = await service.claim_daily(channel, "UTC")
    now = service.clock.now().timestamp()
    points = {"u1": 10, "u2": 10, "u3": 8}
    for i in range(12):
        points[f"x{i:02d}"] = 5
    points["me"] = 1
    for user, pts in points.items():
        await store.record_answer(AnswerIn(
            post_id=post.id, member=member(user), channel=channel, choice="A", correct=True, points=pts,
            practice=False, answered_at=now, local_day="2026-03-02",
        ))
    msg = await service.leaderboard_message(member=member("me"), channel=channel, period="week", scope="here")
    lines = msg.text.splitlines()
    assert lines[0] == "🥇 <@u1>: 10 points" and lines[1] == "🥇 <@u2>: 10 points"
    assert lines[2] == "🥉 <@u3>: 8 points" and lines[3] == "4. <@x00>: 5 points"
    assert "16. <@me> (you): 1 point" in msg.text
    inside = await service.leaderboard_message(member=member("u3"), channel=channel, period="week", scope="here")
    assert inside.text.splitlines()[2] == "🥉 <@u3> (you): 8 points" and "…" not in inside.text
