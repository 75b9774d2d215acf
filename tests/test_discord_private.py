"""Private sessions on Discord: quiz, review and stats in the member's DMs with persistent Next
buttons that carry the server, clicks in the DM (no guild in the interaction), closed DMs (403,
code 50007) falling back to ephemeral replies with one explanation, and reminders by DM."""

from __future__ import annotations

from bot.adapters.discord import texts as dtexts
from bot.core import texts
from bot.core.messages import Message
from bot.core.models import MemberRef
from tests import test_discord_adapter as shared
from tests.test_discord_adapter import ALICE, BOB, GUILD, _last_dm, command, interact, said

fake = shared.fake
adapter = shared.adapter


def custom_ids(message: dict) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


def reply_in_dm(callback) -> dict:
    """A response in the DM: a lasting message (not ephemeral)."""
    assert callback.body["type"] == 4, callback.body
    data = callback.body["data"]
    assert not int(data.get("flags") or 0) & 64, "expected a normal (lasting) message in the DM"
    return data


async def test_quiz_in_dm_answer_and_next_without_a_guild(fake, adapter, service, store):
    assert said(await command(fake, "quiz", options={"topic": "3"})) == dtexts.SENT_TO_DM
    dm = _last_dm(fake, ALICE)
    answer_ids = custom_ids(dm)
    post = await store.get_post(int(answer_ids[0].split(":")[2]))
    q = service.bank.by_id[post.question_id]
    assert post.user == ALICE and post.channel.workspace == GUILD and not q.multiple
    right = next(c for c in answer_ids if c.endswith(f":{q.key_text}"))
    # The click comes from the DM channel: the interaction has no guild and no member object.
    feedback = reply_in_dm(await interact(fake, fake.component(dm, right, guild_id=None, user_id=ALICE)))
    body = feedback["embeds"][0]["description"]
    assert f"Right! {q.key_text} is correct." in body and "comes back for review in" in body
    assert await store.member_points(MemberRef("discord", GUILD, ALICE)) == (1, 1, 1)
    nxt = [c for row in feedback["components"] for c in row["components"] if c["label"] == "Next question"]
    assert nxt and nxt[0]["custom_id"] == f"dva:next@{GUILD}:quiz:3"
    shown = fake.message(dm["channel_id"], feedback)  # the feedback as the DM now shows it
    second = reply_in_dm(await interact(fake, fake.component(shown, nxt[0]["custom_id"], guild_id=None, user_id=ALICE)))
    post2 = await store.get_post(int(custom_ids(second)[0].split(":")[2]))
    assert post2.question_id != post.question_id and post2.mode == "quiz:3"


async def test_someone_else_cannot_answer_a_dm_post(fake, adapter, store):
    await command(fake, "quiz", options={"topic": "3"})
    dm = _last_dm(fake, ALICE)
    reply = await interact(fake, fake.component(dm, custom_ids(dm)[0], guild_id=None, user_id=BOB))
    assert said(reply) == dtexts.SERVER_ONLY
    assert await store.member_points(MemberRef("discord", GUILD, BOB)) == (0, 0, 0)


async def test_closed_dms_fall_back_to_ephemeral_and_say_so_once(fake, adapter):
    fake.closed_dms.add(ALICE)
    first = await command(fake, "stats")
    assert "Points: **0**" in said(first)
    assert "Your DMs are closed" in first.body["data"]["embeds"][0]["footer"]["text"]
    second = await command(fake, "quiz", options={"topic": "lambda"})
    assert said(second).startswith("Practice: ")
    assert "Your DMs are closed" not in second.body["data"]["embeds"][0]["footer"]["text"]


async def test_review_with_nothing_due_offers_the_weakest_task(fake, adapter):
    assert said(await command(fake, "review", "next")) == dtexts.SENT_TO_DM
    dm = _last_dm(fake, ALICE)
    assert dm["embeds"][0]["description"].startswith(texts.REVIEW_EMPTY.split(":")[0])
    assert custom_ids(dm) == [f"dva:next@{GUILD}:weak"]
    reminded = said(await command(fake, "review", "remind", options={"state": "on", "time": "07:30"}))
    assert reminded == dtexts.SENT_TO_DM
    assert "07:30" in _last_dm(fake, ALICE)["embeds"][0]["description"]


async def test_a_forged_guild_in_a_custom_id_is_refused(fake, adapter):
    await command(fake, "review", "next")
    dm = _last_dm(fake, ALICE)
    forged = f"dva:next@{int(GUILD) + 1}:weak"  # a button claiming another server, clicked in this one
    shown = fake.message(dm["channel_id"], {"embeds": dm["embeds"], "components": [{"type": 1, "components": [
        {"type": 2, "style": 2, "label": "Next", "custom_id": forged}]}]})
    reply = await interact(fake, fake.component(shown, forged, guild_id=GUILD, user_id=ALICE))
    assert said(reply) == texts.EXPIRED


async def test_send_private_and_closed_dms_as_post_error(fake, adapter):
    import pytest

    from bot.core.ports import PostError

    await adapter.send_private(MemberRef("discord", GUILD, BOB), Message(text="2 reviews due"))
    assert _last_dm(fake, BOB)["embeds"][0]["description"] == "2 reviews due"
    fake.closed_dms.add(BOB)
    with pytest.raises(PostError) as err:
        await adapter.send_private(MemberRef("discord", GUILD, BOB), Message(text="again"))
    assert err.value.permanent and "50007" in err.value.reason
