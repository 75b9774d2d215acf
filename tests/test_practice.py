"""The practice loop through StudyService on a real SQLite store: cards from every kind of first
answer, /dva review in order with Next, quizzes without repeats, readiness, reminders."""

from collections import Counter

import pytest

from bot.core import texts
from bot.core.messages import ACTION_NEXT, ACTION_OPEN
from bot.core.models import ChannelRef, MemberRef
from bot.core.readiness import MIN_ANSWERS, readiness
from bot.core.service import StudyService
from tests.conftest import member


def wrong_letter(q) -> str:
    if q.multiple:
        return " ".join(sorted(set(q.letters) - set(q.key))[: len(q.key)])
    return next(x for x in q.letters if x not in q.key)


def right_letters(q) -> str:
    return " ".join(sorted(q.key))


async def quiz(service, who, channel, topic=""):
    msg = await service.handle_command(member=who, channel=channel, text=f"/dva quiz {topic}")
    assert msg.post_id is not None, msg.text
    assert msg.private
    return msg


def next_button(msg):
    return next((b for b in msg.buttons if b.action == ACTION_NEXT), None)


async def test_every_kind_of_first_answer_moves_a_card(service, store, channel, clock, bank):
    alice = member("alice")
    # Daily before the reveal, and the same post after it by another member (practice).
    post, _ = await service.claim_daily(channel, "UTC")
    q = bank.question(post.question_id)
    await service.answer(member=alice, post_id=post.id, raw_choice=right_letters(q))
    assert await service.reveal(post.id) is not None
    bob = member("bob")
    late = await service.answer(member=bob, post_id=post.id, raw_choice=wrong_letter(q))
    assert texts.AFTER_REVEAL in late.text
    # A quiz, then a review of the card bob got wrong.
    qmsg = await quiz(service, alice, channel, "2")
    await service.answer(member=alice, post_id=qmsg.post_id, raw_choice=right_letters(bank.question(
        (await store.get_post(qmsg.post_id)).question_id)))
    clock.advance(minutes=11)
    rmsg = await service.handle_command(member=bob, channel=channel, text="/dva review")
    assert rmsg.post_id is not None and rmsg.title.startswith("Review (1 due)")
    reviewed = await service.answer(member=bob, post_id=rmsg.post_id, raw_choice=right_letters(q))
    assert "comes back for review in" in reviewed.text
    alice_cards = await store.member_cards(alice)
    bob_cards = await store.member_cards(bob)
    assert set(alice_cards) == {post.question_id, (await store.get_post(qmsg.post_id)).question_id}
    assert bob_cards[post.question_id].reps == 2 and bob_cards[post.question_id].lapses == 1


async def test_wrong_answer_comes_back_sooner_than_a_right_one(service, store, channel, bank):
    alice = member("alice")
    one = await quiz(service, alice, channel, "1.2")
    two = await quiz(service, alice, channel, "1.3")
    q1 = bank.question((await store.get_post(one.post_id)).question_id)
    q2 = bank.question((await store.get_post(two.post_id)).question_id)
    right = await service.answer(member=alice, post_id=one.post_id, raw_choice=right_letters(q1))
    wrong = await service.answer(member=alice, post_id=two.post_id, raw_choice=wrong_letter(q2))
    assert "in 10 minutes" in wrong.text
    assert "in 2 days" in right.text
    cards = await store.member_cards(alice)
    assert cards[q2.id].due < cards[q1.id].due


async def test_review_serves_most_overdue_first_and_next_walks_through(service, store, channel, clock, bank):
    alice = member("alice")
    missed = []
    for topic in ("2.1", "3.4", "4.1"):  # three single-answer questions missed, 5 minutes apart
        msg = await quiz(service, alice, channel, topic)
        q = bank.question((await store.get_post(msg.post_id)).question_id)
        await service.answer(member=alice, post_id=msg.post_id, raw_choice=wrong_letter(q))
        missed.append(q.id)
        clock.advance(minutes=5)
    clock.advance(minutes=30)
    served = []
    msg = await service.handle_command(member=alice, channel=channel, text="/dva review")
    for expected_due in (3, 2, 1):
        assert msg.title.startswith(f"Review ({expected_due} due)")
        qid = (await store.get_post(msg.post_id)).question_id
        served.append(qid)
        q = bank.question(qid)
        feedback = await service.answer(member=alice, post_id=msg.post_id, raw_choice=right_letters(q))
        button = next_button(feedback)
        assert button is not None
        if expected_due > 1:
            assert button.value == "review" and f"({expected_due - 1} due)" in button.label
            msg = await service.handle_action(member=alice, channel=channel, action=button.action, value=button.value)
        else:
            assert button.value == "weak" and "last review due" in feedback.text
    assert served == missed
    done = await service.handle_command(member=alice, channel=channel, text="/dva review")
    assert done.post_id is None
    assert "Nothing is due right now. Your next review card is due in" in done.text
    assert [b.value for b in done.buttons] == ["weak"]


async def test_review_with_no_cards_says_how_cards_are_made(service, channel):
    msg = await service.handle_command(member=member("new"), channel=channel, text="/dva review")
    assert msg.text == texts.REVIEW_EMPTY and msg.private
    practise = await service.handle_action(member=member("new"), channel=channel, action=ACTION_NEXT, value="weak")
    assert practise.post_id is not None


@pytest.fixture
def real_service(real_bank, store, clock):
    return StudyService(bank=real_bank, store=store, clock=clock)


def _topic_with_many(real_bank, low=20, high=45):
    counts = Counter(s for q in real_bank.practice_questions for s in q.services)
    slug = min((s for s, n in counts.items() if low <= n <= high), key=lambda s: (-counts[s], s))
    return slug, counts[slug]


@pytest.mark.parametrize("answering", [False, True])
async def test_quizzes_on_a_topic_show_every_question_before_a_repeat(real_service, store, channel, clock, answering):
    slug, n = _topic_with_many(real_service.bank)
    alice = member("alice")
    seen = []
    for i in range(n + 1):
        msg = await quiz(real_service, alice, channel, slug)
        qid = (await store.get_post(msg.post_id)).question_id
        seen.append(qid)
        if answering:
            q = real_service.bank.question(qid)
            await real_service.answer(member=alice, post_id=msg.post_id,
                                      raw_choice=right_letters(q) if i % 3 else wrong_letter(q))
        clock.advance(seconds=1 if not answering else 0.3)
    assert len(set(seen[:n])) == n, "a repeat before every question of the topic was shown"
    assert seen[n] in seen[:n]
    assert all(a != b for a, b in zip(seen, seen[1:], strict=False)), "the same question twice in a row"


async def test_three_quizzes_in_one_second_are_three_questions(real_service, channel):
    alice = member("alice")
    ids = [(await quiz(real_service, alice, channel, "sqs")).post_id for _ in range(3)]
    qids = {(await real_service.store.get_post(i)).question_id for i in ids}
    assert len(qids) == 3


async def test_quiz_never_serves_the_unrevealed_daily_question(service, store, channel, bank):
    post, _ = await service.claim_daily(channel, "UTC")
    daily_q = bank.question(post.question_id)
    topic = daily_q.task  # a task with one question: the daily one
    assert sum(q.task == topic for q in bank.questions) == 1
    for _ in range(3):
        msg = await quiz(service, member("alice"), ChannelRef("console", "ws1", "elsewhere"), "")
        assert (await store.get_post(msg.post_id)).question_id != daily_q.id


async def test_quiz_without_topic_targets_a_weak_task(service, store, channel, bank):
    alice = member("alice")
    # Answer every task right once except 4.1: 4.1 stays unpractised, so it is among the weakest.
    for q in bank.questions:
        if q.task == "4.1":
            continue
        msg = await quiz(service, alice, channel, q.task)
        qid = (await store.get_post(msg.post_id)).question_id
        await service.answer(member=alice, post_id=msg.post_id, raw_choice=right_letters(bank.question(qid)))
    tasks = set()
    for _ in range(4):
        msg = await quiz(service, alice, channel, "")
        assert "weakest area" in msg.title
        tasks.add((await store.get_post(msg.post_id)).question_id)
    # The weakest three are 4.1 (0 answers) and two tasks of the taxonomy never in this bank; only
    # 4.1 has questions, so every weak-area quiz is 4.1's question.
    assert tasks == {"t-d4-one"}


async def test_stats_table_matches_a_hand_count(service, store, channel, bank):
    alice = member("alice")
    plan = {"t-d1-one": [True, False], "t-d1-two": [True], "t-d2-one": [False], "t-d3-one": [True, True]}
    for qid, results in plan.items():
        q = bank.question(qid)
        for ok in results:
            msg = await quiz(service, alice, channel, q.task)
            assert (await store.get_post(msg.post_id)).question_id == qid or q.task in ("1.2", "1.3", "2.1", "3.4")
            await service.answer(member=alice, post_id=msg.post_id, raw_choice=right_letters(q) if ok else wrong_letter(q))
    stats = await service.handle_command(member=alice, channel=channel, text="/dva stats")
    rows = {line.split()[0]: line[34:].split() for line in stats.lines if line[:1].isdigit()}
    # Domain 1: 3 answers, 2 right; domain 2: 1, 0; domain 3: 2, 2; domain 4: none.
    assert rows["1"] == ["3", "2", "67", "%", "32", "%"]
    assert rows["2"] == ["1", "0", "0", "%", "26", "%"]
    assert rows["3"] == ["2", "2", "100", "%", "24", "%"]
    assert rows["4"] == ["0", "0", "-", "18", "%"]
    # Tasks: 1.2 one right one wrong; 1.3 one right; 2.1 one wrong; 3.4 two right.
    assert rows["1.2"][:3] == ["2", "1", "50"] and rows["1.3"][:3] == ["1", "1", "100"]
    assert rows["2.1"][:3] == ["1", "0", "0"] and rows["3.4"][:3] == ["2", "2", "100"]
    assert rows["4.1"][:3] == ["0", "0", "-"]
    weakest = next(line for line in stats.lines if line.startswith("Weakest tasks: "))
    assert weakest.startswith("Weakest tasks: 1.1 ")  # unpractised tasks (0 %) first, by id
    assert "too little to tell" in stats.text and "6 answers" in stats.text


def test_readiness_estimate_is_exam_weighted_above_twenty_answers(bank):
    from bot.core.ports import Attempt

    few = [Attempt("t-d1-one", True, 0.0)] * (MIN_ANSWERS - 1)
    assert readiness(bank, few).estimate is None
    # 20 answers: domain 1 all right, domain 2 all wrong, 10 each.
    many = [Attempt("t-d1-one", True, 0.0)] * 10 + [Attempt("t-d2-one", False, 0.0)] * 10
    r = readiness(bank, many)
    assert r.answers == 20
    assert r.estimate == pytest.approx(32 / (32 + 26))
    assert [w.id for w in r.weakest][:1] == ["1.1"]  # unpractised tasks count as weakest, then by id


async def test_stats_of_another_member_needs_an_admin_and_group_has_no_names(service, channel):
    bob = member("bob")
    msg = await quiz(service, bob, channel, "1.2")
    await service.answer(member=bob, post_id=msg.post_id, raw_choice="A")
    refused = await service.handle_command(member=member("alice"), channel=channel, text="/dva stats <@bob>")
    assert "Only" in refused.text
    allowed = await service.handle_command(member=member("alice"), channel=channel, text="/dva stats <@bob>",
                                           is_admin=True)
    assert allowed.title == "Stats of <@bob>" and "Answers: 1, right: 1" in allowed.text
    group = await service.handle_command(member=member("alice"), channel=channel, text="/dva stats group")
    assert "bob" not in group.plain() and "1 answer" in group.text
    opened = await service.handle_action(member=bob, channel=channel, action=ACTION_OPEN, value="stats")
    assert opened.title == "Your stats"


async def test_review_reminder_once_a_day_only_when_due(service, store, channel, clock, bank):
    alice = member("alice")
    await store.set_member_timezone(alice, "Europe/Berlin")  # 10:00 UTC = 11:00 in Berlin (March)
    on = await service.handle_command(member=alice, channel=channel, text="/dva review remind on 11:30")
    assert "11:30 (Europe/Berlin)" in on.text
    bad = await service.handle_command(member=alice, channel=channel, text="/dva review remind on 25:00")
    assert "HH:MM" in bad.text
    assert await service.practice.due_reminders() == []  # before 11:30 local, and nothing due
    msg = await quiz(service, alice, channel, "1.2")
    await service.answer(member=alice, post_id=msg.post_id, raw_choice="B")  # wrong: due in 10 minutes
    clock.advance(minutes=31)
    sent = await service.practice.due_reminders()
    assert [m for m, _ in sent] == [alice] and "1 review card due" in sent[0][1].text
    assert await service.practice.due_reminders() == []  # once a day
    clock.advance(days=1)
    assert [m for m, _ in await service.practice.due_reminders()] == [alice]
    off = await service.handle_command(member=alice, channel=channel, text="/dva review remind off")
    assert off.text == texts.REMIND_OFF
    clock.advance(days=1)
    assert await service.practice.due_reminders() == []


async def test_bad_actions_change_nothing(service, channel):
    for action, value in [("next", "bogus"), ("nope", "review"), ("next", "a b"), ("next", "x" * 61)]:
        msg = await service.handle_action(member=member("alice"), channel=channel, action=action, value=value)
        assert msg.text == texts.EXPIRED
    assert await service.store.served_questions(MemberRef("console", "ws1", "alice"), limit=5) == []
