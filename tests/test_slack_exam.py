"""A full 65-question mock exam through the real Bolt app in HTTP mode against the local fake of
Slack: started with `/dva exam full`, walked in the member's DM by clicking the rendered buttons and
tick boxes (signed block_actions), with a restart of the bot (a new store, service and adapter on
the same database file) in the middle. No payload before submission carries an explanation or a
key marker; the report's figures equal a hand count."""

from __future__ import annotations

import re
from dataclasses import dataclass

import aiohttp
import pytest

from bot.adapters.slack import SlackAdapter
from bot.adapters.slack.render import GENERIC_SUBMIT, PICK_ACTION, PICK_BLOCK
from bot.adapters.slack.testing import SlackSender, elements, http_settings, text_of
from bot.core.exam_report import scaled_estimate
from bot.core.models import MemberRef
from bot.core.service import StudyService
from storage.sqlite.store import SQLiteStore
from tests import test_slack_adapter as shared

TEAM = shared.TEAM
fake = shared.fake
MEMBER = MemberRef("slack", TEAM, "U1")


@dataclass
class Bot:
    store: SQLiteStore
    service: StudyService
    adapter: SlackAdapter
    session: aiohttp.ClientSession
    slack: SlackSender

    async def aclose(self) -> None:
        await self.session.close()
        await self.adapter.aclose()
        await self.store.aclose()


async def start_bot(path, bank, clock, fake) -> Bot:
    store = SQLiteStore(path)
    await store.start()
    service = StudyService(bank=bank, store=store, clock=clock)
    adapter = SlackAdapter(service=service, settings=http_settings(fake), http_host="127.0.0.1", refresh_interval=0.5)
    await adapter.start()
    session = aiohttp.ClientSession()
    return Bot(store, service, adapter, session, SlackSender(port=adapter.http_port, fake=fake, session=session))


def dm_posts(fake, user: str) -> list[dict]:
    return [c.args for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user}"]


def button(payload: dict, label: str) -> dict:
    return next(b for b in elements(payload, "button") if b["text"]["text"].startswith(label))


def right(q) -> str:
    return "".join(sorted(q.key))


def wrong(q) -> str:
    return "".join(sorted([x for x in q.letters if x not in q.key][: len(q.key)]))


def plan_for(i: int) -> str:
    """What the member does with question i: right, wrong, skip (Next), or flag then right."""
    return "skip" if i % 11 == 4 else "wrong" if i % 4 == 1 else "flag" if i % 13 == 6 else "right"


def leaks(payload: dict, questions) -> list[str]:
    """Explanations, per-option reasons and key markers found in a payload (its every string)."""
    blob = repr(payload)
    found = [m for m in ("The answer", "✅", "Right!", "Not quite") if m in blob]
    for q in questions:
        found += [q.id for part in (q.explanation[:50], *(why for _, why in q.wrong)) if part in blob]
    return found


@pytest.fixture
async def bots(fake, real_bank, clock, tmp_path):
    opened: list[Bot] = []

    async def open_one() -> Bot:
        bot = await start_bot(tmp_path / "exam.db", real_bank, clock, fake)
        opened.append(bot)
        return bot

    yield open_one
    for bot in opened:
        if not bot.session.closed:
            await bot.aclose()


async def test_full_exam_in_the_dm_with_a_restart_and_a_hand_counted_report(bots, fake, real_bank, clock):
    bot = await bots()
    await bot.slack.command("exam full")
    pointer = await bot.slack.reply()
    assert pointer["response_type"] == "ephemeral" and "direct messages" in text_of(pointer)
    screen = dm_posts(fake, "U1")[-1]
    assert text_of(screen).startswith("Question 1 of 65 - 2:10:00 left")
    exam = await bot.store.active_exam(MEMBER)
    questions = [real_bank.by_id[i.question_id] for i in exam.items]
    before_submit: list[dict] = [screen, pointer]
    clicks = 0

    async def click(element: dict, state: dict | None = None) -> dict:
        nonlocal clicks
        clicks += 1
        name = f"c{clicks}"
        status, _, took = await bot.slack.click(element, name=name, channel="DU1", state=state)
        assert status == 200 and took < 3
        return await bot.slack.reply(name)

    outcome: dict[int, bool] = {}
    for i, q in enumerate(questions):
        shown = text_of(screen)
        assert re.match(rf"Question {i + 1} of 65 - \d:\d\d:\d\d left", shown), shown
        if i == 33:  # the bot restarts; the member carries on in the same DM message
            await bot.aclose()
            clock.advance(minutes=2)
            bot = await bots()
        action = plan_for(i)
        if action == "flag":
            screen = await click(button(screen, "Flag"))
            before_submit.append(screen)
            assert "Flagged for review" in text_of(screen)
        if action == "skip":
            screen = await click(button(screen, "Next"))
            outcome[i] = False
        else:
            letters = wrong(q) if action == "wrong" else right(q)
            outcome[i] = action != "wrong"
            if q.multiple:
                boxes = elements(screen, "checkboxes")
                assert len(boxes) == 1 and not [b for b in elements(screen, "button") if len(b["text"]["text"]) == 1]
                submit = next(b for b in elements(screen, "button") if b["action_id"] == f"exam:{GENERIC_SUBMIT}")
                state = {boxes[0]["block_id"]: {PICK_ACTION: {"type": "checkboxes", "selected_options": [
                    {"value": x} for x in letters]}}}
                assert boxes[0]["block_id"] == f"{PICK_BLOCK}{submit['value']}"
                screen = await click(submit, state)
            else:
                screen = await click(button(screen, letters))
        assert screen["replace_original"] is True and screen["response_type"] == "in_channel"
        before_submit.append(screen)
        clock.advance(seconds=90)
    assert text_of(screen).startswith("End of the exam")
    confirm = await click(button(screen, "Submit exam"))
    before_submit.append(confirm)
    skipped = sum(plan_for(i) == "skip" for i in range(65))
    flagged = sum(plan_for(i) == "flag" for i in range(65))
    assert f"{skipped} unanswered" in text_of(confirm) and f"{flagged} flagged" in text_of(confirm)
    for payload in before_submit:
        assert leaks(payload, questions) == []
    report = await click(button(confirm, "Submit now"))
    shown = text_of(report)
    # The hand count.
    n_right = sum(outcome.values())
    assert f"*Score: {n_right}/65 right ({100 * n_right / 65:.1f} %) - {'PASS' if 100 * n_right / 65 >= 72 else 'FAIL'}*" in shown
    assert f"*{scaled_estimate(n_right, 65)}* on 100-1000" in shown
    assert "Time used: 1:39:30 of 2:10:00 (submitted)." in shown  # 65 x 90 s + the 2 minutes of the restart
    for d in real_bank.taxonomy.domains:
        idx = [i for i, q in enumerate(questions) if q.domain == d.id]
        r = sum(outcome[i] for i in idx)
        assert f"{d.id} {d.name}: {r}/{len(idx)} ({100 * r / len(idx):.0f} %)" in shown
    for t in real_bank.taxonomy.tasks:
        idx = [i for i, q in enumerate(questions) if q.task == t.id]
        if idx:
            r = sum(outcome[i] for i in idx)
            assert f"{t.id} {t.title}: {r}/{len(idx)} ({100 * r / len(idx):.0f} %)" in shown
    # The review: new messages in the DM, explanations at last.
    review = await click(button(report, "Review answers"))
    assert review["replace_original"] is False and leaks(review, questions)
    first = re.search(r"\*Question (\d+): (\w+)", text_of(review))
    assert first.group(2) in ("Wrong", "Unanswered") and not outcome[int(first.group(1)) - 1]
    assert len(dm_posts(fake, "U1")) == 1  # one DM post; every later screen came through response_url
    closed = (await bot.store.member_exams(MEMBER, limit=1))[0]
    assert closed.right == n_right and [bool(i.correct) for i in closed.items] == [outcome[i] for i in range(65)]


async def test_exam_buttons_after_submit_or_from_another_member_change_nothing(bots, fake, clock):
    bot = await bots()
    await bot.slack.command("exam short")
    await bot.slack.reply()
    screen = dm_posts(fake, "U1")[-1]
    await bot.slack.click(button(screen, "Submit exam"), name="s", channel="DU1")
    confirm = await bot.slack.reply("s")
    await bot.slack.click(button(confirm, "Submit now"), name="n", channel="DU1")
    assert "Mock exam report" in text_of(await bot.slack.reply("n"))
    await bot.slack.click(button(screen, "Next"), name="late", channel="DU1")
    late = await bot.slack.reply("late")
    assert "That exam is over (submitted)" in text_of(late) and late["response_type"] == "in_channel"
    await bot.slack.click(button(screen, "Next"), user="U2", name="other", channel="DU2")
    assert "This exam is not available" in text_of(await bot.slack.reply("other"))
