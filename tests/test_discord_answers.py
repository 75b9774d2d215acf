"""Answering on Discord end to end: the daily post sent through the Poster port, clicks on its
persistent buttons and select menu delivered as raw component interactions over the fake gateway,
the "N answered" edits, the reveal, a restart, and how failed posts are reported.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.core import texts
from bot.core.messages import Message
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import Post, PostError
from bot.core.service import StudyService
from tests import test_discord_adapter as shared
from tests.test_discord_adapter import ALICE, BOB, CHANNEL, GUILD, interact, said, settings

# The fake Discord and the started adapter, shared with the command tests (pytest finds fixtures by name).
fake = shared.fake
adapter = shared.adapter

CAROL = "866666666666666666"
HERE = ChannelRef("discord", GUILD, CHANNEL)


async def post_daily(service: StudyService, bot: DiscordAdapter, server, question_id: str) -> tuple[Post, dict]:
    """Claim today's post for a given question, send it as the scheduler would; returns the post
    and the message as Discord stored it (what a later click carries)."""
    post, _ = await service.store.claim_daily(channel=HERE, local_date="2026-03-02", question_id=question_id,
                                              created_at=service.clock.now().timestamp())
    message_id = await bot.post(HERE, service.daily_message(post))
    await service.store.set_post_message(post.id, message_id)
    return post, server.messages[message_id]


def member(user: str) -> MemberRef:
    return MemberRef("discord", GUILD, user)


def custom_ids(message: dict) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


async def click(server, message: dict, letter: str, user: str = ALICE) -> str:
    custom_id = next(c for c in custom_ids(message) if c.endswith(f":{letter}"))
    return said(await interact(server, server.component(message, custom_id, guild_id=GUILD, user_id=user)))


async def test_a_click_is_answered_privately_and_the_count_is_coalesced(fake, adapter, service, store):
    post, message = await post_daily(service, adapter, fake, "t-d1-one")
    assert custom_ids(message) == [f"dva:answer:{post.id}:{x}" for x in "ABCD"]
    assert message["embeds"][0]["title"].startswith("Daily question, 2026-03-02")

    reply = await click(fake, message, "A")
    assert reply.startswith("Right! A is correct.") and "+10 points. Streak: 1 day." in reply
    edits = await fake.wait_for("PATCH", f"/channels/{CHANNEL}/messages/{message['id']}")
    assert edits[0].body["embeds"][0]["footer"]["text"].endswith("1 answered so far.")

    # Two more answers within the interval fold into one trailing edit.
    await click(fake, message, "B", user=BOB)
    await click(fake, message, "A", user=CAROL)
    await asyncio.sleep(0.05)
    assert len(fake.calls("PATCH", "/channels/")) == 1
    edits = await fake.wait_for("PATCH", "/channels/", count=2)
    await asyncio.sleep(0.3)
    assert len(fake.calls("PATCH", "/channels/")) == 2
    assert edits[1].body["embeds"][0]["footer"]["text"].endswith("3 answered so far.")
    assert await store.member_points(member(ALICE)) == (10, 1, 1)
    assert await store.member_points(member(BOB)) == (3, 1, 0)


async def test_the_count_is_edited_at_most_once_in_ten_seconds(fake, service):
    bot = DiscordAdapter(service=service, settings=settings())  # the default 10 s interval
    try:
        await bot.start()
        _, message = await post_daily(service, bot, fake, "t-d1-one")
        for user in (ALICE, BOB, CAROL):
            await click(fake, message, "A", user=user)
        await asyncio.sleep(0.3)
        edits = fake.calls("PATCH", "/channels/")
        assert len(edits) == 1 and edits[0].body["embeds"][0]["footer"]["text"].endswith("1 answered so far.")
    finally:
        await bot.aclose()


async def test_a_double_click_keeps_the_first_answer(fake, adapter, service, store):
    _, message = await post_daily(service, adapter, fake, "t-d1-one")
    assert (await click(fake, message, "B")).startswith("Not quite: you chose B; the answer is A.")
    assert await click(fake, message, "A") == texts.ALREADY.format(choice="B")
    assert await store.member_points(member(ALICE)) == (3, 1, 0)


async def test_a_select_submit_answers_a_multiple_response_question(fake, adapter, service, store):
    post, message = await post_daily(service, adapter, fake, "t-d1-multi")
    [select] = message["components"][0]["components"]
    assert select["type"] == 3 and select["custom_id"] == f"dva:pick:{post.id}"
    assert select["min_values"] == select["max_values"] == 2
    assert [o["value"] for o in select["options"]] == list("ABCDE")

    right = await interact(fake, fake.component(message, select["custom_id"], values=["B", "A"], guild_id=GUILD,
                                                user_id=ALICE))
    assert said(right).startswith("Right! A and B are correct.")
    wrong = await interact(fake, fake.component(message, select["custom_id"], values=["A", "C"], guild_id=GUILD,
                                                user_id=BOB))
    assert said(wrong).startswith("Not quite: you chose A and C")
    assert await store.answer_counts(post.id) == {"AB": 1, "AC": 1}


async def test_the_reveal_keeps_the_buttons_enabled_and_replies_and_late_clicks_are_practice(
    fake, adapter, service, store,
):
    post, message = await post_daily(service, adapter, fake, "t-d1-one")
    await click(fake, message, "A")
    revealed = await service.reveal(post.id)
    assert revealed is not None
    face, why = revealed
    await adapter.update(HERE, message["id"], face)
    edit = fake.calls("PATCH", f"/channels/{CHANNEL}/messages/{message['id']}")[-1].body
    edited = [b for row in edit["components"] for b in row["components"]]
    assert [b["custom_id"] for b in edited][:4] == custom_ids(message)
    assert not any(b.get("disabled") for b in edited)  # late answers stay possible
    assert [b["label"] for b in edited][:4] == [f"{x} (late)" for x in "ABCD"]
    assert edited[4]["custom_id"] == f"dva:report@{GUILD}:t-d1-one"
    embed = edit["embeds"][0]
    assert embed["footer"]["text"].startswith("The answer is A. 1 of 1 answered right. You can still answer")
    assert embed["fields"][0]["value"].startswith("✅ A: 1 vote (100 %)")

    reply_id = await adapter.reply(HERE, message["id"], why)
    [sent] = [r for r in fake.calls("POST", f"/channels/{CHANNEL}/messages") if r.body.get("message_reference")]
    assert sent.body["embeds"][0]["description"].startswith("**The answer is A.** The /tmp directory")
    assert str(sent.body["message_reference"]["message_id"]) == message["id"]
    assert sent.body["message_reference"]["fail_if_not_exists"] is False
    assert reply_id in fake.messages

    # A member whose screen still shows the old buttons clicks after the reveal.
    late = await click(fake, message, "A", user=CAROL)
    assert texts.AFTER_REVEAL in late and "+1 point (practice)" in late
    assert await store.member_points(member(CAROL)) == (1, 1, 1)


async def test_buttons_of_a_post_from_before_a_restart_still_work(fake, adapter, service, store, bank, clock):
    _, message = await post_daily(service, adapter, fake, "t-d1-one")
    await adapter.aclose()
    # A new process: new service, new client, same database; it has never seen this message.
    fresh = StudyService(bank=bank, store=store, clock=clock)
    restarted = DiscordAdapter(service=fresh, settings=settings())
    try:
        await restarted.start()
        assert (await click(fake, message, "A")).startswith("Right! A is correct.")
    finally:
        await restarted.aclose()
    assert await store.member_points(member(ALICE)) == (10, 1, 1)


async def test_a_click_on_an_unknown_post_says_it_expired(fake, adapter, service):
    _, message = await post_daily(service, adapter, fake, "t-d1-one")
    ghost = {**message, "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "A", "custom_id": "dva:answer:99999:A"}]}]}
    assert await click(fake, ghost, "A") == texts.EXPIRED


@pytest.mark.parametrize(("refusal", "permanent", "reason"), [
    ("forbidden_channels", True, "Missing Permissions (Discord code 50013)"),
    ("unknown_channels", True, "Unknown Channel (Discord code 10003)"),
    ("broken_channels", False, "Invalid Form Body (HTTP 400)"),
])
async def test_a_failed_post_is_logged_and_raised_as_post_error(fake, adapter, service, caplog, refusal, permanent,
                                                                 reason):
    getattr(fake, refusal).add(CHANNEL)
    caplog.set_level(logging.WARNING, logger="bot.adapters.discord")
    with pytest.raises(PostError) as info:
        await adapter.post(HERE, Message(text="hello", ephemeral=False))
    assert info.value.permanent is permanent and reason in info.value.reason
    [record] = [r for r in caplog.records if r.name.startswith("bot.adapters.discord")]
    assert (record.workspace, record.channel) == (GUILD, CHANNEL)
    assert GUILD in record.getMessage() and CHANNEL in record.getMessage() and reason in record.getMessage()


async def test_update_of_a_deleted_message_is_permanent(fake, adapter):
    with pytest.raises(PostError) as info:
        await adapter.update(HERE, "123456789012345678", Message(text="x"))
    assert info.value.permanent and "Unknown Message" in info.value.reason


async def test_posting_before_start_is_a_retryable_post_error(service):
    bot = DiscordAdapter(service=service, settings=settings())
    with pytest.raises(PostError) as info:
        await bot.post(HERE, Message(text="x"))
    assert not info.value.permanent


async def test_an_answer_click_is_answered_only_once_its_answer_is_stored_never_deferred_before(
    fake, adapter, service, store, monkeypatch,
):
    """Acknowledged means recorded: even when the store is slow, an answer's interaction is not
    deferred (which Discord counts as received) before the answer is committed."""
    import sqlite3

    post, message = await post_daily(service, adapter, fake, "t-d1-one")
    adapter.defer_after = 0  # commands would be deferred at once
    record = store.record_answer

    async def slow(answer):
        await asyncio.sleep(0.3)
        return await record(answer)

    monkeypatch.setattr(store, "record_answer", slow)
    payload = fake.component(message, f"dva:answer:{post.id}:A", guild_id=GUILD, user_id=ALICE)
    await fake.dispatch("INTERACTION_CREATE", payload)
    callbacks = await fake.wait_for("POST", f"/interactions/{payload['id']}/")
    with sqlite3.connect(store.path) as db:
        stored = db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    assert callbacks[0].body["type"] == 4 and stored == 1  # the reply itself, after the commit
    assert said(callbacks[0]).startswith("Right! A is correct.")
