"""A full 65-question mock exam through the real discord.py client against the local fake of
Discord: `/dva exam full` in a server, then every question in the member's DMs by clicking the
persistent buttons and the select for "Choose N" (interactions without a guild), with a restart of
the bot (a new store, service and client on the same database file) in the middle. No payload
before submission carries an explanation or a key marker; the report equals a hand count."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord import texts as dtexts
from bot.core.exam_report import scaled_estimate
from bot.core.models import MemberRef
from bot.core.service import StudyService
from storage.sqlite.store import SQLiteStore
from tests import test_discord_adapter as shared
from tests.test_discord_adapter import ALICE, BOB, GUILD, _last_dm, command, interact, said, settings
from tests.test_slack_exam import leaks, plan_for, right, wrong

fake = shared.fake
MEMBER = MemberRef("discord", GUILD, ALICE)


@dataclass
class Bot:
    store: SQLiteStore
    adapter: DiscordAdapter

    async def aclose(self) -> None:
        await self.adapter.aclose()
        await self.store.aclose()


@pytest.fixture
async def bots(fake, real_bank, clock, tmp_path):
    opened: list[Bot] = []

    async def open_one() -> Bot:
        store = SQLiteStore(tmp_path / "exam.db")
        await store.start()
        service = StudyService(bank=real_bank, store=store, clock=clock)
        adapter = DiscordAdapter(service=service, settings=settings(), refresh_interval=0.2)
        await adapter.start()
        await fake.wait_identified()
        await adapter.wait_until_ready()
        bot = Bot(store, adapter)
        opened.append(bot)
        return bot

    yield open_one
    for bot in opened:
        if bot.adapter.client is not None:
            await bot.aclose()


def components(message: dict) -> list[dict]:
    return [c for row in message.get("components") or [] for c in row["components"]]


def labelled(message: dict, label: str) -> dict:
    return next(c for c in components(message) if (c.get("label") or "").startswith(label))


def text_of(message: dict) -> str:
    parts = []
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f["value"] for f in embed.get("fields") or []]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(filter(None, parts)).replace("**", "*")


async def test_full_exam_in_dms_with_a_restart_and_a_hand_counted_report(bots, fake, real_bank, clock):
    bot = await bots()
    started = await command(fake, "exam", options={"action": "full"})
    assert said(started) == dtexts.SENT_TO_DM
    screen = _last_dm(fake, ALICE)
    dm = screen["channel_id"]
    assert text_of(screen).startswith("Question 1 of 65 - 2:10:00 left")
    exam = await bot.store.active_exam(MEMBER)
    questions = [real_bank.by_id[i.question_id] for i in exam.items]
    before_submit: list[dict] = [screen]

    async def click(component: dict, values: list[str] | None = None) -> dict:
        """Click a component of the message on screen; the message as the DM shows it afterwards."""
        callback = await interact(fake, fake.component(screen, component["custom_id"], values=values, guild_id=None,
                                                       user_id=ALICE))
        body = callback.body
        assert body["type"] in (4, 7), body
        before_submit.append(body)
        if body["type"] == 7:  # the clicked message was edited in place
            return fake.message(dm, body["data"], message_id=screen["id"])
        assert not int(body["data"].get("flags") or 0) & 64, "a lasting message in the DM"
        return fake.message(dm, body["data"])

    outcome: dict[int, bool] = {}
    for i, q in enumerate(questions):
        assert re.match(rf"Question {i + 1} of 65 - \d:\d\d:\d\d left", text_of(screen)), text_of(screen)
        if i == 40:  # the bot restarts; the member keeps clicking the same DM message
            await bot.aclose()
            clock.advance(minutes=3)
            bot = await bots()
        action = plan_for(i)
        if action == "flag":
            screen = await click(labelled(screen, "Flag"))
            assert "Flagged for review" in text_of(screen)
        if action == "skip":
            screen = await click(labelled(screen, "Next"))
            outcome[i] = False
        else:
            letters = wrong(q) if action == "wrong" else right(q)
            outcome[i] = action != "wrong"
            if q.multiple:
                select = next(c for c in components(screen) if c["type"] == 3)
                assert select["custom_id"].startswith(f"dvp:exam@{GUILD}:") and select["min_values"] == len(q.key)
                screen = await click(select, values=list(letters))
            else:
                screen = await click(labelled(screen, letters))
        clock.advance(seconds=80)
    assert text_of(screen).startswith("End of the exam")
    screen = await click(labelled(screen, "Submit exam"))
    assert text_of(screen).startswith("Submit your exam?")
    for payload in before_submit:
        assert leaks(payload, questions) == []
    screen = await click(labelled(screen, "Submit now"))
    shown = text_of(screen)
    n_right = sum(outcome.values())
    verdict = "PASS" if 100 * n_right / 65 >= 72 else "FAIL"
    assert f"*Score: {n_right}/65 right ({100 * n_right / 65:.1f} %) - {verdict}*" in shown
    assert f"*{scaled_estimate(n_right, 65)}* on 100-1000" in shown
    assert "Time used: 1:29:40 of 2:10:00 (submitted)." in shown  # 65 x 80 s + 3 minutes of restart
    for d in real_bank.taxonomy.domains:
        idx = [i for i, q in enumerate(questions) if q.domain == d.id]
        r = sum(outcome[i] for i in idx)
        assert f"{d.id} {d.name}: {r}/{len(idx)} ({100 * r / len(idx):.0f} %)" in shown
    # Every screen of the exam replaced the one clicked (one DM message); the review is a new one.
    assert {p["type"] for p in before_submit[1:]} == {7}
    review = await click(labelled(screen, "Review answers"))
    assert before_submit[-1]["type"] == 4
    assert "Review answers, page 1 of" in text_of(review) and leaks({"m": review}, questions)
    closed = (await bot.store.member_exams(MEMBER, limit=1))[0]
    assert [bool(i.correct) for i in closed.items] == [outcome[i] for i in range(65)]


async def test_another_member_and_a_late_click_change_nothing(bots, fake):
    bot = await bots()
    await command(fake, "exam", options={"action": "short"})
    screen = _last_dm(fake, ALICE)
    nxt = labelled(screen, "Next")
    other = await interact(fake, fake.component(screen, nxt["custom_id"], guild_id=None, user_id=BOB))
    assert "This exam is not available" in text_of(other.body["data"])
    assert (await bot.store.active_exam(MEMBER)).position == 0
    assert said(await command(fake, "exam", options={"action": "stop"})) == dtexts.SENT_TO_DM
    late = await interact(fake, fake.component(screen, nxt["custom_id"], guild_id=None, user_id=ALICE))
    assert "That exam is over (stopped)" in text_of(late.body["data"])
