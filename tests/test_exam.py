"""The mock exam through StudyService on a real SQLite file: the state machine, clicks that come
twice, late or on an old question, the deadline, a restart, the report against a hand count, and
no key or explanation in anything shown before submission."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from dataclasses import replace

import pytest

from bot.core import exam as exam_module
from bot.core import texts
from bot.core.messages import Message, valid_action
from bot.core.models import ChannelRef, MemberRef
from bot.core.service import StudyService
from storage.sqlite.store import SQLiteStore
from tests.conftest import member

ALICE = member("alice")
CH = ChannelRef("console", "ws1", "study")


async def say(service: StudyService, text: str, who: MemberRef = ALICE) -> Message:
    return await service.handle_command(member=who, channel=CH, text=text)


async def press(service: StudyService, msg: Message, label: str, who: MemberRef = ALICE, picked: str = "") -> Message:
    button = next(b for b in msg.buttons if b.label == label or b.label.startswith(label))
    assert not button.disabled and valid_action(button.action, button.value)
    return await service.handle_action(member=who, channel=CH, action=button.action, value=button.value, picked=picked)


async def answer(service: StudyService, msg: Message, letters: str, who: MemberRef = ALICE) -> Message:
    """Answer the question on screen as an adapter does: its letter button for one answer, the
    message's answer_to with the picked letters for several."""
    if len(letters) == 1 and any(b.label == letters for b in msg.buttons):
        return await press(service, msg, letters, who)
    action, value = msg.answer_to
    return await service.handle_action(member=who, channel=CH, action=action, value=value, picked=letters)


def question_on(service: StudyService, msg: Message, exam):
    n = int(re.match(r"Question (\d+) of", msg.title).group(1))
    return service.bank.question(exam.items[n - 1].question_id)


def right(q) -> str:
    return "".join(sorted(q.key))


def wrong(q) -> str:
    others = [x for x in q.letters if x not in q.key]
    return "".join(sorted(others[: len(q.key)]))


@pytest.fixture
def real_service(real_bank, store, clock):
    return StudyService(bank=real_bank, store=store, clock=clock)


async def test_exam_alone_offers_full_or_short_and_help_mentions_it(service):
    msg = await say(service, "/dva exam")
    assert [b.value for b in msg.buttons] == ["new:full", "new:short"]
    assert "65 questions" in msg.buttons[0].label and "40 min" in msg.buttons[1].label
    assert msg.private
    help_text = (await say(service, "/dva help")).text
    assert "/dva exam" in help_text and "no leaderboard points" in help_text and "streak" in help_text
    bad = await say(service, "/dva exam sideways")
    assert bad.text == texts.EXAM_USAGE


async def test_walk_change_flag_back_and_submit_with_confirmation(service, store, clock):
    msg = await press(service, await say(service, "/dva exam"), "Short")
    exam = await store.active_exam(ALICE)
    assert exam.total == 8 and exam.deadline - exam.started_at == 16 * 60  # the small bank: 2 min each
    assert msg.title == "Question 1 of 8 - 0:16:00 left" and msg.private and msg.replace
    assert texts.EXAM_SMALL_BANK.format(n=8) in msg.text
    q1 = question_on(service, msg, exam)
    msg = await answer(service, msg, wrong(q1))  # answered: on to question 2
    assert msg.title.startswith("Question 2 of 8")
    msg = await press(service, msg, "Back")
    assert msg.title.startswith("Question 1 of 8") and f"Your answer: {', '.join(wrong(q1))}." in msg.footer
    msg = await answer(service, msg, right(q1))  # changed
    msg = await press(service, msg, "Flag")
    assert "Flagged for review" in msg.footer and any(b.label == "Unflag" for b in msg.buttons)
    clock.advance(minutes=3, seconds=10)
    msg = await press(service, msg, "Next")
    assert msg.title == "Question 3 of 8 - 0:12:50 left"
    msg = await press(service, msg, "Submit exam")
    assert msg.title == "Submit your exam?"
    assert "7 unanswered" in msg.text and "1 flagged" in msg.text and "Flagged: 2" in msg.lines
    msg = await press(service, msg, "Back to the exam")
    assert msg.title.startswith("Question 3 of 8")
    # Answer the rest right; the last answer leads to the end-of-exam overview.
    exam = await store.active_exam(ALICE)
    for _ in range(6):
        msg = await answer(service, msg, right(question_on(service, msg, exam)))
    assert msg.title.startswith("End of the exam") and "7 of 8 answered, 1 flagged" in msg.text
    assert msg.lines == ("Unanswered: 2", "Flagged: 2")
    msg = await press(service, msg, "First flagged")
    assert msg.title.startswith("Question 2 of 8")
    msg = await press(service, msg, "Unflag")
    msg = await answer(service, msg, right(question_on(service, msg, exam)))
    assert (await store.active_exam(ALICE)).position == 2
    # Nothing unanswered or flagged: Submit scores at once.
    clock.advance(minutes=1)
    msg = await press(service, msg, "Submit exam")
    assert msg.title == "Mock exam report: short exam, 8 questions"
    assert "*Score: 8/8 right (100.0 %) - PASS*" in msg.text and "Time used: 0:04:10 of 0:16:00 (submitted)." in msg.text
    assert "Scaled score estimate: *1000*" in msg.text and "AWS does not publish" in msg.text
    assert await store.active_exam(ALICE) is None


async def test_console_commands_navigate_and_submit_asks_only_while_needed(service, store):
    msg = await say(service, "/dva exam short")
    exam = await store.active_exam(ALICE)
    assert msg.answer_to == ("exam", f"{exam.id}:0:ans")
    for _ in range(8):
        q = question_on(service, msg, exam)
        msg = await say(service, f"/dva exam answer {' '.join(right(q))}")
    assert (await say(service, "/dva exam back")).title.startswith("Question 8 of 8")
    msg = await say(service, "/dva exam flag")
    assert "Flagged" in msg.footer
    ask = await say(service, "/dva exam submit")
    assert ask.title == "Submit your exam?" and "`/dva exam submit now`" in ask.footer
    await say(service, "/dva exam unflag")
    report = await say(service, "/dva exam submit")
    assert report.title.startswith("Mock exam report") and "8/8" in report.text
    assert (await say(service, "/dva exam next")).text == texts.EXAM_NONE


async def test_a_wrong_number_of_letters_changes_nothing(service, store):
    msg = await say(service, "/dva exam short")
    exam = await store.active_exam(ALICE)
    # Walk to the multiple-response question of the small bank.
    while question_on(service, msg, exam).id != "t-d1-multi":
        msg = await press(service, msg, "Next")
    before = await store.active_exam(ALICE)
    again = await answer(service, msg, "A")
    assert "pick exactly TWO" in again.text and again.title == msg.title
    again = await answer(service, msg, "Z")
    assert "'Z' is not an option" in again.text
    assert await store.active_exam(ALICE) == before
    moved = await answer(service, msg, "AB")
    assert (await store.active_exam(ALICE)).items[before.position].choice == "AB" and moved.title != msg.title


async def test_one_active_exam_per_member(service, store):
    first = await say(service, "/dva exam short")
    again = await say(service, "/dva exam full")
    assert again.text.startswith(texts.EXAM_RUNNING.format(mode="short", left="0:16:00"))
    assert again.answer_to == first.answer_to
    starts = await asyncio.gather(*[say(service, "/dva exam full", member("bob")) for _ in range(3)])
    assert sum("has started" in m.text for m in starts) == 1
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM exams WHERE state='active'").fetchone()[0] == 2


async def test_two_clicks_at_once_apply_once(service, store):
    msg = await say(service, "/dva exam short")
    exam = await store.active_exam(ALICE)
    q = question_on(service, msg, exam)
    a, b = right(q), wrong(q)
    replies = await asyncio.gather(answer(service, msg, a), answer(service, msg, b))
    assert all(r.title.startswith("Question 2") for r in replies)
    stale = [r for r in replies if texts.EXAM_STALE.format(clicked=1) in r.text]
    moved = [r for r in replies if r not in stale]
    assert len(moved) == 1 and len(stale) == 1 and stale[0].private
    after = await store.active_exam(ALICE)
    assert after.position == 1
    assert after.items[0].choice == (a if replies[0] is moved[0] else b)


async def test_a_click_on_an_old_question_message_changes_nothing(service, store):
    first = await say(service, "/dva exam short")
    second = await press(service, first, "Next")
    third = await press(service, second, "Next")
    before = await store.active_exam(ALICE)
    for old, label in ((first, "A"), (first, "Flag"), (second, "Back"), (second, "Next")):
        reply = await press(service, old, label)
        assert texts.EXAM_STALE.format(clicked=2 if old is second else 1) in reply.text
        assert reply.title == third.title and reply.private and reply.replace  # back where they are
    assert await store.active_exam(ALICE) == before


async def test_clicks_after_submit_or_stop_change_nothing(service, store):
    msg = await say(service, "/dva exam short")
    report = await press(service, await press(service, msg, "Submit exam"), "Submit now")
    assert "0/8" in report.text
    closed = (await store.member_exams(ALICE, limit=1))[0]
    for label in ("A", "Next", "Flag", "Submit exam"):
        reply = await press(service, msg, label)
        assert reply.text == texts.EXAM_OVER.format(how="submitted") and reply.private
    assert (await store.member_exams(ALICE, limit=1))[0] == closed
    # Another member cannot touch it.
    other = await press(service, report, "Review answers", who=member("mallory"))
    assert other.text == texts.EXAM_GONE
    # Stop: abandoned, no score, no cards.
    msg = await say(service, "/dva exam short")
    stopped = await say(service, "/dva exam stop")
    assert stopped.text == texts.EXAM_STOPPED
    assert (await press(service, msg, "Next")).text == texts.EXAM_OVER.format(how="stopped")
    assert (await say(service, "/dva exam stop")).text == texts.EXAM_NONE
    history = await say(service, "/dva exam history")
    assert history.lines[0].endswith("short: stopped, no score") and "0/8 (0 %, fail)" in history.lines[1]


async def test_a_click_after_the_deadline_closes_the_exam_without_it(service, store, clock):
    msg = await say(service, "/dva exam short")
    exam = await store.active_exam(ALICE)
    msg = await answer(service, msg, right(question_on(service, msg, exam)))
    clock.advance(minutes=16)  # exactly at the deadline
    late = await answer(service, msg, right(question_on(service, msg, exam)))
    assert late.title.startswith("Mock exam report")
    assert texts.EXAM_TIME_UP.format(deadline="10:16 (UTC)") in late.text and texts.EXAM_TIME_UP_LATE in late.text
    assert "1/8 right" in late.text and "Time used: 0:16:00 of 0:16:00 (time ran out)." in late.text
    closed = (await store.member_exams(ALICE, limit=1))[0]
    assert closed.state == "expired" and closed.items[1].choice is None
    assert (await press(service, msg, "Next")).text == texts.EXAM_OVER.format(how="time ran out")


async def test_the_sweep_closes_and_scores_exams_past_their_deadline(service, store, clock):
    msg = await say(service, "/dva exam short")
    exam = await store.active_exam(ALICE)
    await answer(service, msg, right(question_on(service, msg, exam)))
    await say(service, "/dva exam full", member("bob"))
    clock.advance(minutes=15)
    assert await exam_module.close_expired(service) == []
    clock.advance(minutes=2)
    closed = await exam_module.close_expired(service)
    assert [(e.member.user, e.state, e.right) for e, _ in closed] == [("alice", "expired", 1), ("bob", "expired", 0)]
    report = closed[0][1]
    assert report.title.startswith("Mock exam report") and "1/8 right" in report.text and not report.replace
    assert texts.EXAM_TIME_UP.format(deadline="10:16 (UTC)") in report.text
    assert await exam_module.close_expired(service) == []
    assert (await say(service, "/dva exam status")).text == texts.EXAM_NONE
    report = await say(service, "/dva exam report")
    assert "1/8 right" in report.text and "(time ran out)" in report.text
    assert len(await store.member_cards(ALICE)) == 8


async def test_an_exam_left_running_is_scored_when_the_member_comes_back(service, store, clock):
    await say(service, "/dva exam short")
    clock.advance(hours=1)
    back = await say(service, "/dva exam")
    assert back.title.startswith("Mock exam report") and texts.EXAM_TIME_UP.split(":")[0] in back.text
    assert texts.EXAM_TIME_UP_LATE not in back.text  # a command is not a late answer
    fresh = await say(service, "/dva exam short")
    assert "has started" in fresh.text


async def test_a_restart_continues_the_exam_with_the_same_deadline(bank, tmp_path, clock):
    path = tmp_path / "restart.db"
    store = SQLiteStore(path)
    await store.start()
    service = StudyService(bank=bank, store=store, clock=clock)
    msg = await say(service, "/dva exam short")
    exam = await store.active_exam(ALICE)
    msg = await answer(service, msg, right(question_on(service, msg, exam)))
    msg = await press(service, msg, "Flag")
    await store.aclose()
    clock.advance(minutes=5)
    store = SQLiteStore(path)
    await store.start()
    try:
        service = StudyService(bank=bank, store=store, clock=clock)
        again = await say(service, "/dva exam")
        assert again.title == "Question 2 of 8 - 0:11:00 left" and "Flagged" in again.footer
        assert (await store.active_exam(ALICE)).deadline == exam.deadline
        # The old message's buttons still work after the restart.
        moved = await press(service, msg, "Next")
        assert moved.title.startswith("Question 3 of 8")
    finally:
        await store.aclose()


async def test_report_numbers_equal_a_hand_count(real_service, store, clock, real_bank):
    msg = await say(real_service, "/dva exam short")
    exam = await store.active_exam(ALICE)
    plan = {}
    for i, item in enumerate(exam.items):
        q = real_bank.by_id[item.question_id]
        plan[i] = None if i % 5 == 0 else wrong(q) if i % 5 == 1 else right(q)
        if plan[i] is None:
            msg = await press(real_service, msg, "Flag")
            msg = await press(real_service, msg, "Next")
        else:
            msg = await answer(real_service, msg, plan[i])
        clock.advance(seconds=70)
    msg = await press(real_service, await press(real_service, msg, "Submit exam"), "Submit now")
    # The hand count.
    rights = {i: plan[i] is not None and plan[i] == right(real_bank.by_id[exam.items[i].question_id]) for i in plan}
    n_right = sum(rights.values())
    assert n_right == 12  # 4 unanswered, 4 wrong
    domains, tasks = {}, {}
    for i, item in enumerate(exam.items):
        q = real_bank.by_id[item.question_id]
        for table, key in ((domains, q.domain), (tasks, q.task)):
            cell = table.setdefault(key, [0, 0])
            cell[0] += rights[i]
            cell[1] += 1
    assert "*Score: 12/20 right (60.0 %) - FAIL*" in msg.text
    assert "Scaled score estimate: *616* on 100-1000" in msg.text  # 100 + 620 * 0.6 / 0.72, rounded down
    assert "Time used: 0:23:20 of 0:40:00 (submitted)." in msg.text
    names = {d.id: d.name for d in real_bank.taxonomy.domains}
    titles = {t.id: t.title for t in real_bank.taxonomy.tasks}
    expected_domains = [f"{d} {names[d]}: {r}/{t} ({100 * r / t:.0f} %)" for d, (r, t) in sorted(domains.items())]
    start = msg.lines.index("*By domain*")
    assert list(msg.lines[start + 1:start + 5]) == expected_domains
    task_lines = [f"{k} {titles[k]}: {r}/{t} ({100 * r / t:.0f} %)" for k, (r, t) in sorted(tasks.items())]
    start = msg.lines.index("*By task*")
    assert list(msg.lines[start + 1:start + 1 + len(task_lines)]) == task_lines
    worst = sorted((k for k, (r, t) in tasks.items() if r < t), key=lambda k: (tasks[k][0] / tasks[k][1], -(tasks[k][1] - tasks[k][0]), k))[:3]
    weak_line = msg.lines[-1]
    assert weak_line.startswith("*Weakest tasks*: " + "; ".join(f"{k} {titles[k]}" for k in worst[:1]))
    for k in worst:
        assert f"{k} {titles[k]} ({tasks[k][0]}/{tasks[k][1]})" in weak_line
    # History: date, mode, score and per-domain share.
    history = await say(real_service, "/dva exam history")
    per = ", ".join(f"D{d} {100 * r / t:.0f} %" for d, (r, t) in sorted(domains.items()))
    assert history.lines == (f"2026-03-02 10:00 short: 12/20 (60 %, fail); {per}",)
    # Every exam question moved a card (unanswered as wrong); no points, no streak day.
    cards = await store.member_cards(ALICE)
    assert {i.question_id for i in exam.items} == set(cards)
    assert all(cards[exam.items[i].question_id].last_correct == rights[i] for i in plan)
    assert await store.member_points(ALICE) == (0, 0, 0)
    assert "Current streak: *0 days*" in (await say(real_service, "/dva streak")).text
    attempts = await store.member_attempts(ALICE, since=0)
    assert sorted((a.question_id, a.correct) for a in attempts) == sorted(
        (exam.items[i].question_id, rights[i]) for i in plan)
    stats = await say(real_service, "/dva stats")
    assert "Points: *0*. Answers: 0" in stats.text and "Review cards: 20" in stats.text
    assert "an estimate from 20 answers" in stats.text  # readiness counts the exam's answers


async def test_review_shows_every_question_wrong_and_flagged_first_in_pages(real_service, store, real_bank):
    msg = await say(real_service, "/dva exam short")
    exam = await store.active_exam(ALICE)
    for i, item in enumerate(exam.items):
        q = real_bank.by_id[item.question_id]
        if i == 3:
            msg = await press(real_service, msg, "Flag")
        msg = await answer(real_service, msg, wrong(q) if i in (5, 9) else right(q))
    report = await press(real_service, msg, "Submit exam")  # question 4 is flagged: confirm first
    report = await press(real_service, report, "Submit now")
    page = await press(real_service, report, "Review answers")
    seen, pages = [], 0
    while True:
        pages += 1
        assert page.private and not page.replace  # pages are new messages
        assert sum(len(x) + 1 for x in page.lines) <= 4800
        seen += [int(m.group(1)) for x in page.lines if (m := re.match(r"\*Question (\d+): ", x))]
        nxt = [b for b in page.buttons if b.label.startswith("Next page")]
        if not nxt:
            break
        page = await press(real_service, page, "Next page")
    assert pages > 1 and seen[:3] == [6, 10, 4] and sorted(seen) == list(range(1, 21))
    everything = "\n".join([*page.lines])
    q = real_bank.by_id[exam.items[seen[-1] - 1].question_id]
    assert q.explanation in everything and f"The answer: {q.key_text}." in everything
    for letter, why in q.wrong:
        assert f"{letter}: {why}" in everything
    assert (await say(real_service, "/dva exam review 2")).title == "Review answers, page 2 of " + str(pages)


async def test_nothing_before_submission_carries_a_key_or_an_explanation(real_service, store, clock, real_bank):
    shown: list[Message] = [await say(real_service, "/dva exam")]
    msg = await press(real_service, shown[0], "Short")
    shown.append(msg)
    exam = await store.active_exam(ALICE)
    for i, item in enumerate(exam.items):
        q = real_bank.by_id[item.question_id]
        if i % 3 == 0:
            shown.append(msg := await press(real_service, msg, "Flag"))
        if i % 4 == 0:
            shown.append(await answer(real_service, msg, "Z"))
        shown.append(msg := await answer(real_service, msg, right(q) if i % 2 else wrong(q)))
        if i == 7:
            shown.append(msg := await press(real_service, msg, "Back"))
            shown.append(msg := await press(real_service, msg, "Next"))
        clock.advance(seconds=30)
    shown += [await say(real_service, t) for t in ("/dva exam status", "/dva exam", "/dva exam review", "/dva exam report")]
    shown.append(msg := await press(real_service, msg, "Submit exam"))
    shown.append(await press(real_service, msg, "Back to the exam"))
    questions = [real_bank.by_id[i.question_id] for i in exam.items]
    for m in shown:
        blob = repr(m)
        assert "The answer" not in blob and "✅" not in blob and "Right!" not in blob
        for q in questions:
            assert q.explanation[:60] not in blob
            for _, why in q.wrong:
                assert why not in blob
    report = await press(real_service, msg, "Submit now")
    assert report.title.startswith("Mock exam report")
    page = await press(real_service, report, "Review answers")
    assert any(q.explanation in "\n".join(page.lines) for q in questions)  # and after it, they are there


async def test_two_short_exams_in_a_row_share_no_question(real_service, store):
    first = await say(real_service, "/dva exam short")
    await press(real_service, await press(real_service, first, "Submit exam"), "Submit now")
    await say(real_service, "/dva exam short")
    a, b = (await store.member_exams(ALICE, limit=1))[0], await store.active_exam(ALICE)
    assert not {i.question_id for i in a.items} & {i.question_id for i in b.items}
    assert len(b.items) == 20


async def test_a_storage_failure_is_a_private_line_and_changes_nothing(service, store, monkeypatch):
    msg = await say(service, "/dva exam short")
    import storage.sqlite.exams as sq_exams

    async def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sq_exams, "move_cards_async", broken)
    reply = await press(service, await press(service, msg, "Submit exam"), "Submit now")
    assert reply.text == texts.EXAM_NOT_SAVED and reply.private
    exam = await store.active_exam(ALICE)
    assert exam is not None and exam.right is None
    monkeypatch.undo()
    done = await press(service, await press(service, msg, "Submit exam"), "Submit now")
    assert done.title.startswith("Mock exam report")


def test_buttons_fit_every_platform(bank):
    from bot.core.exam_report import report_message
    from bot.core.ports import Exam, ExamItem

    exam = Exam(id=123456789, member=ALICE, mode="full", started_at=0, deadline=7800, state="submitted",
                position=0, items=tuple(ExamItem(q.id, "A", True, True) for q in bank.questions), closed_at=60, right=8)
    msg = report_message(exam, bank)
    assert all(valid_action(b.action, b.value) for b in msg.buttons)
    assert replace(msg, buttons=()).plain()


def test_the_scaled_estimate_agrees_with_the_verdict():
    from bot.core.exam_report import PASS_PERCENT, scaled_estimate

    assert (scaled_estimate(0, 65), scaled_estimate(65, 65)) == (100, 1000)
    for total in (20, 50, 65):
        for right in range(total + 1):
            passes = 100 * right / total >= PASS_PERCENT
            assert (scaled_estimate(right, total) >= 720) == passes, (right, total)
