"""A full 65-question mock exam through the real discord.py client against the local fake of
Discord: `/dva exam full` in a server, then every question in the member's DMs by clicking the
persistent buttons and the select for "Choose N" (interactions without a guild), with a restart of
the bot (a new store, service and client on the same database file) in the middle. No payload
before submission carries an explanation or a key marker; the report equals a hand count."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord import texts as dtexts
from bot.adapters.discord.components import action_custom_id
from bot.core.charts import exam_report_chart
from bot.core.exam_report import scaled_estimate
from bot.core.messages import Button, Message
from bot.core.models import MemberRef
from bot.core.service import StudyService
from storage.sqlite.store import SQLiteStore
from tests import test_discord_adapter as shared
from tests.test_charts import PNG_MAGIC
from tests.test_discord_adapter import ALICE, BOB, CHANNEL, GUILD, _last_dm, command, interact, said, settings
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


class GatedCharts:
    """A chart renderer that draws only once let go, as when the drawing queue is long or matplotlib
    is imported for the first time (seconds)."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.asked = 0

    async def png(self, chart) -> bytes:
        self.asked += 1
        await self.go.wait()
        return PNG_MAGIC + b"drawn"


def report(*, replaces: bool, with_chart: bool = True) -> Message:
    chart = exam_report_chart(domains=[("1", "Development", 3, 4)], right=3, total=4)
    return Message(title="Mock exam report", text="3/4", private=True, replace=replaces,
                   chart=chart if with_chart else None)


def select_message(fake, custom_id: str) -> dict:
    """A message studybot sent with a select (a "Choose TWO" question), as Discord stored it."""
    options = [{"label": x, "value": x} for x in "ABCD"]
    return fake.message(CHANNEL, {"embeds": [{"title": "Question 65 of 65"}], "components": [{"type": 1, "components": [
        {"type": 3, "custom_id": custom_id, "options": options, "min_values": 2, "max_values": 2}]}]})


@pytest.mark.parametrize("replaces", [True, False])
async def test_a_slow_chart_does_not_miss_the_first_response_window(fake, service, replaces):
    """Picked letters are an answer, never deferred before their commit; the report they return comes
    with a chart that takes a while: the interaction is deferred in time, the chart follows."""
    charts = GatedCharts()

    async def last_answer(request, value, picked):
        return report(replaces=replaces)

    service.register_action("slowx", last_answer)
    bot = DiscordAdapter(service=service, settings=settings(), charts=charts, defer_after=0.3)
    await bot.start()
    await fake.wait_identified()
    try:
        custom = action_custom_id("slowx", GUILD, "1", select=True)
        shown = select_message(fake, custom)
        payload = fake.component(shown, custom, values=["A", "C"], guild_id=GUILD, user_id=ALICE)
        await fake.dispatch("INTERACTION_CREATE", payload)
        # Discord's window is 3 s from the click; here the chart is still being drawn well past 0.3 s.
        [first] = await fake.wait_for("POST", f"/interactions/{payload['id']}/", seconds=2.0)
        assert charts.asked == 1 and not charts.go.is_set()
        charts.go.set()
        if replaces:  # a deferred update of the clicked message, then the message edited with the chart
            assert first.body == {"type": 6}
            [edit] = await fake.wait_for("PATCH", f"/webhooks/{fake.application_id}/{payload['token']}/messages/")
            assert edit.files[0]["filename"] == "exam_report.png" and edit.files[0]["data"] == PNG_MAGIC + b"drawn"
            assert edit.body["embeds"][0]["image"]["url"] == "attachment://exam_report.png"
            [png] = fake.messages[shown["id"]]["attachments"]
            assert png["filename"] == "exam_report.png" and fake.messages[shown["id"]]["embeds"][0]["title"] == (
                "Mock exam report")
        else:  # "thinking" (private in a server), then the report with its chart as the follow-up
            assert first.body == {"type": 5, "data": {"flags": 64}}
            [sent] = await fake.wait_for("POST", f"/webhooks/{fake.application_id}/{payload['token']}")
            assert sent.files[0]["filename"] == "exam_report.png"
            assert sent.body["embeds"][0]["image"]["url"] == "attachment://exam_report.png"
    finally:
        charts.go.set()
        await bot.aclose()


async def test_a_quick_chart_still_answers_in_one_response(fake, service):
    charts = GatedCharts()
    charts.go.set()

    async def last_answer(request, value, picked):
        return report(replaces=True)

    service.register_action("quickx", last_answer)
    bot = DiscordAdapter(service=service, settings=settings(), charts=charts)
    await bot.start()
    await fake.wait_identified()
    try:
        custom = action_custom_id("quickx", GUILD, "1", select=True)
        shown = select_message(fake, custom)
        callback = await interact(fake, fake.component(shown, custom, values=["A", "C"], guild_id=GUILD,
                                                       user_id=ALICE))
        assert callback.body["type"] == 7 and callback.files[0]["filename"] == "exam_report.png"
        assert fake.calls("PATCH", "/webhooks/") == []
    finally:
        await bot.aclose()


async def test_a_message_replaced_without_a_chart_loses_the_old_chart(fake, service):
    """Discord keeps a message's attachments unless an edit lists them: the chart of the message a
    member clicks must not stay under the message that replaces it."""
    charts = GatedCharts()
    charts.go.set()

    async def step(request, value, picked):
        if value == "chart":  # the report, with a button whose answer replaces it in turn
            return replace(report(replaces=True), buttons=(Button("Review answers", "stepx", "plain"),))
        return report(replaces=True, with_chart=False)

    service.register_action("stepx", step)
    bot = DiscordAdapter(service=service, settings=settings(), charts=charts)
    await bot.start()
    await fake.wait_identified()
    try:
        with_chart, without = action_custom_id("stepx", GUILD, "chart"), action_custom_id("stepx", GUILD, "plain")
        shown = fake.message(CHANNEL, {"embeds": [{"title": "Question 4"}], "components": [{"type": 1, "components": [
            {"type": 2, "style": 2, "label": "Submit", "custom_id": with_chart}]}]})
        first = await interact(fake, fake.component(shown, with_chart, guild_id=GUILD, user_id=ALICE))
        assert first.body["type"] == 7 and [a["filename"] for a in fake.messages[shown["id"]]["attachments"]] == [
            "exam_report.png"]
        assert without in str(fake.messages[shown["id"]]["components"])
        then = await interact(fake, fake.component(fake.messages[shown["id"]], without, guild_id=GUILD,
                                                   user_id=ALICE))
        assert then.body["type"] == 7 and fake.messages[shown["id"]]["attachments"] == []
        assert then.body["data"].get("attachments") == []
        assert "image" not in fake.messages[shown["id"]]["embeds"][0]
    finally:
        await bot.aclose()
