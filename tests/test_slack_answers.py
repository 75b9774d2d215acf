"""Answers and posts through the Slack adapter in HTTP mode: button clicks and multiple-response
submits (real block_actions payloads, signed), the live answered count, the reveal, and the Poster
port's retries and errors against the local fake of Slack."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.adapters.slack.fake import Reply
from bot.adapters.slack.testing import elements, text_of
from bot.core import texts as core_texts
from bot.core.messages import Message
from bot.core.models import MemberRef
from bot.core.ports import PostError
from tests import test_slack_adapter as shared

TEAM, CHANNEL = shared.TEAM, shared.CHANNEL
# The same fake Slack and adapter as the command tests (pytest finds fixtures by module name).
fake = shared.fake
adapter = shared.adapter
slack = shared.slack


async def post_daily(service, adapter, fake, *, question_id: str | None = None):
    """What the scheduler does: claim today's post, post it through the adapter, store its ts."""
    if question_id is None:
        post, _ = await service.claim_daily(CHANNEL, "UTC")
    else:
        post, _ = await service.store.claim_daily(
            channel=CHANNEL, local_date="2026-03-02", question_id=question_id, created_at=service.clock.now().timestamp()
        )
    ts = await adapter.post(CHANNEL, service.daily_message(post))
    await service.store.set_post_message(post.id, ts)
    return await service.store.get_post(post.id), fake.calls_to("chat.postMessage")[-1].args


# ----- answers -------------------------------------------------------------------------------
async def test_single_answer_click_is_graded_ephemerally_and_counted_on_the_post(slack, fake, service, adapter):
    post, posted = await post_daily(service, adapter, fake)
    question = service.bank.by_id[post.question_id]
    buttons = elements(posted, "button")
    assert [b["text"]["text"] for b in buttons] == list(question.letters)
    right = next(b for b in buttons if b["text"]["text"] == question.key_text)
    status, body, took = await slack.click(right, ts=post.message_id)
    assert (status, body) == (200, "") and took < 3
    reply = await slack.reply()
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    shown = text_of(reply)
    assert f"Right! {question.key_text} is correct." in shown and "+10 points. Streak: 1 day." in shown
    updates = await fake.wait_for(lambda: fake.calls_to("chat.update"))
    assert updates[0].args["ts"] == post.message_id and "1 answered so far" in text_of(updates[0].args)
    assert await service.store.member_points(MemberRef("slack", TEAM, "U1")) == (10, 1, 1)
    await slack.command("leaderboard", user="U2", name="board")
    board = text_of(await slack.reply("board"))
    assert "🥇 <@U1>: 10 points" in board and "You have no points here yet." in board


async def test_answered_count_is_updated_at_most_once_per_interval(slack, fake, service, adapter):
    post, posted = await post_daily(service, adapter, fake)
    button = elements(posted, "button")[0]
    interval = 0.5  # the adapter fixture's refresh_interval (not read back from the coalescer under test)
    # When each refresh of the count starts (the coalescer's timing, not when its HTTP call lands).
    starts: list[float] = []
    refresh = adapter._coalescer._refresh

    async def timed_refresh(post_id: int) -> None:
        starts.append(time.monotonic())
        await refresh(post_id)

    adapter._coalescer._refresh = timed_refresh
    # A first click refreshes at once; the five clicks after it fall within the interval and must
    # fold into one trailing refresh, which starts a whole interval after the first.
    first, *others = [f"U{n}" for n in range(10, 16)]
    assert (await slack.click(button, user=first, name=first))[0] == 200
    await slack.reply(first)
    await fake.wait_for(lambda: fake.calls_to("chat.update"), within=3)
    assert len(starts) == 1
    results = await asyncio.gather(*(slack.click(button, user=u, name=u) for u in others))
    clicked_by = time.monotonic()
    assert all(r[0] == 200 for r in results)
    for u in others:
        await slack.reply(u)

    def counted_all() -> bool:
        updates = fake.calls_to("chat.update")
        return bool(updates) and "6 answered so far" in text_of(updates[-1].args)

    await fake.wait_for(counted_all, within=3)
    await asyncio.sleep(interval + 0.2)  # longer than the interval: nothing may be left to send
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert clicked_by - starts[0] < interval, "the clicks took longer than the interval; the test needs them within it"
    assert len(starts) == 2, gaps
    assert gaps[0] >= interval - 0.01, gaps
    updates = fake.calls_to("chat.update")
    assert len(updates) == 2
    assert "1 answered so far" in text_of(updates[0].args)
    assert "6 answered so far" in text_of(updates[-1].args)


async def test_a_late_count_refresh_cannot_overwrite_the_reveal(slack, fake, service, adapter):
    post, posted = await post_daily(service, adapter, fake)
    fake.script("chat.update", Reply({"ok": True, "channel": "C1", "ts": post.message_id}, delay=0.3))
    await slack.click(elements(posted, "button")[0])
    await slack.reply()
    await asyncio.sleep(0.05)  # the "1 answered" refresh is now on its slow way to Slack
    face, _ = await service.reveal(post.id)
    await adapter.update(CHANNEL, post.message_id, face)
    updates = fake.calls_to("chat.update")
    assert updates[-1].args["blocks"][0]["text"]["text"].startswith("Revealed")
    assert "1 answered so far" in text_of(updates[0].args)


async def test_multiple_response_submit_reads_the_ticked_boxes(slack, fake, service, adapter):
    post, posted = await post_daily(service, adapter, fake, question_id="t-d1-multi")
    assert not elements(posted, "button")[1:]  # only the Submit button
    [boxes] = elements(posted, "checkboxes")
    [submit] = elements(posted, "button")
    assert [o["value"] for o in boxes["options"]] == ["A", "B", "C", "D", "E"]
    status, _, _ = await slack.click(boxes, name="tick")
    assert status == 200
    await slack.click(submit, name="none")
    assert "Tick the boxes" in text_of(await slack.reply("none"))
    state = {boxes["block_id"]: {"pick": {"type": "checkboxes", "selected_options": [
        {"text": {"type": "plain_text", "text": "A"}, "value": "A"},
        {"text": {"type": "plain_text", "text": "B"}, "value": "B"},
    ]}}}
    await slack.click(submit, state=state, name="ab")
    assert "Right! A and B are correct." in text_of(await slack.reply("ab"))
    assert not fake.responses("tick")
    assert await service.store.member_points(MemberRef("slack", TEAM, "U1")) == (10, 1, 1)


async def test_double_click_counts_the_first_answer_only(slack, fake, service, adapter):
    post, posted = await post_daily(service, adapter, fake)
    button = elements(posted, "button")[0]
    await asyncio.gather(slack.click(button, name="one"), slack.click(button, name="two"))
    replies = [text_of(await slack.reply("one")), text_of(await slack.reply("two"))]
    assert sum("You already answered" in r for r in replies) == 1
    assert (await service.store.member_points(MemberRef("slack", TEAM, "U1")))[1] == 1
    assert await service.store.answered_count(post.id) == 1


async def test_reveal_replaces_the_post_and_a_late_click_is_practice(slack, fake, service, adapter):
    post, posted = await post_daily(service, adapter, fake)
    question = service.bank.by_id[post.question_id]
    face, why = await service.reveal(post.id)
    await adapter.update(CHANNEL, post.message_id, face)
    thread_ts = await adapter.reply(CHANNEL, post.message_id, why)
    update = fake.calls_to("chat.update")[-1].args
    assert update["ts"] == post.message_id
    # The buttons stay after the reveal, labelled late, so late answers are possible (as practice).
    late_buttons = [b for b in elements(update, "button") if b["action_id"].startswith("answer:")]
    assert [b["text"]["text"] for b in late_buttons] == [f"{x} (late)" for x in question.letters]
    assert any(b["action_id"].startswith("report:") for b in elements(update, "button"))
    shown = text_of(update)
    assert f"The answer is {question.key_text}." in shown and "0 votes (0 %)" in shown
    assert "You can still answer" in shown
    reply = fake.calls_to("chat.postMessage")[-1].args
    assert reply["thread_ts"] == post.message_id and thread_ts != post.message_id
    assert question.explanation[:40] in text_of(reply)
    right = next(b for b in elements(posted, "button") if b["text"]["text"] == question.key_text)
    await slack.click(right, ts=post.message_id)
    shown = text_of(await slack.reply())
    assert core_texts.AFTER_REVEAL in shown and "+1 point (practice)" in shown
    await asyncio.sleep(0.1)
    assert len(fake.calls_to("chat.update")) == 1  # a practice answer does not touch the revealed post


# ----- the Poster port -----------------------------------------------------------------------
async def test_rate_limit_is_retried_after_retry_after_then_succeeds(adapter, fake):
    fake.script("chat.postMessage", Reply({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}))
    ts = await adapter.post(CHANNEL, Message(text="hello", ephemeral=False))
    assert ts and len(fake.calls_to("chat.postMessage")) == 2


async def test_failures_become_post_errors_logged_with_channel_and_reason(adapter, fake, caplog):
    limited = Reply({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"})
    fake.script("chat.postMessage", limited, limited, Reply({"ok": False, "error": "is_archived"}))
    with caplog.at_level(logging.WARNING, logger="bot.adapters.slack"):
        with pytest.raises(PostError) as transient:
            await adapter.post(CHANNEL, Message(text="hello"))
        with pytest.raises(PostError) as permanent:
            await adapter.post(CHANNEL, Message(text="hello"))
    assert (transient.value.reason, transient.value.permanent) == ("ratelimited", False)
    assert (permanent.value.reason, permanent.value.permanent) == ("is_archived", True)
    assert "C1" in caplog.text and "is_archived" in caplog.text
    fake.script("chat.update", Reply({"ok": False, "error": "channel_not_found"}))
    with pytest.raises(PostError) as gone:
        await adapter.update(CHANNEL, "1.2", Message(text="x"))
    assert gone.value.permanent
