"""The daily loop on Discord (issue 13), the real discord.py client against the local fake: the
discussion thread and the reveal's explanation in it, the role ping, the Report form (a modal), and
a post from before a crash found in the channel's history instead of being posted again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from bot.adapters.discord.components import button_custom_id, select_custom_id
from bot.core.models import ChannelRef
from bot.core.ports import PostError, Subscription
from bot.scheduler import DailyScheduler
from tests import test_discord_adapter as shared
from tests.test_discord_adapter import ALICE, CHANNEL, GUILD, MANAGE_SERVER, command, interact, said

fake = shared.fake
adapter = shared.adapter
HERE = ChannelRef("discord", GUILD, CHANNEL)
EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"


def scheduler(service, adapter) -> DailyScheduler:
    return DailyScheduler(service=service, posters={"discord": adapter}, clock=service.clock)


async def subscribe(service, **kw) -> Subscription:
    sub = Subscription(channel=HERE, time="09:00", timezone="UTC", days=EVERY_DAY, reveal="17:00", **kw)
    await service.store.put_subscription(sub)
    return sub


def daily_posts(fake) -> list:
    return [r for r in fake.calls("POST", f"/channels/{CHANNEL}/messages")
            if (r.body.get("embeds") or [{}])[0].get("title", "").startswith("Daily question")]


async def test_a_thread_opens_on_the_post_and_the_reveal_explains_in_it(fake, adapter, service, clock):
    await subscribe(service)
    sched = scheduler(service, adapter)
    await sched.reload(schedule=False)
    await sched.sweep()
    [posted] = daily_posts(fake)
    stored = await service.store.get_daily(HERE, "2026-03-02")
    [thread] = fake.calls("POST", f"/channels/{CHANNEL}/messages/{stored.message_id}/threads")
    assert stored.thread_id == stored.message_id and thread.body["name"]
    assert posted.body["embeds"][0]["footer"]["text"].endswith("The answer is revealed at 17:00. 0 answered so far.")
    clock.set(datetime(2026, 3, 2, 17, 1, tzinfo=UTC))
    await sched.sweep()
    [opener, why] = fake.calls("POST", f"/channels/{stored.thread_id}/messages")
    assert opener.body["embeds"][0]["description"] == "Discuss here - no spoilers until the reveal at 17:00."
    assert why.body["embeds"][0]["description"].startswith("**The answer is")
    edit = fake.calls("PATCH", f"/channels/{CHANNEL}/messages/{stored.message_id}")[-1].body
    assert edit["embeds"][0]["title"].startswith("Revealed")
    assert not any(c.get("disabled") for row in edit["components"] for c in row["components"])


async def test_without_the_thread_permission_the_post_stands_and_the_reveal_replies(fake, adapter, service, clock):
    fake.no_threads.add(CHANNEL)
    await subscribe(service)
    sched = scheduler(service, adapter)
    await sched.reload(schedule=False)
    await sched.sweep()
    stored = await service.store.get_daily(HERE, "2026-03-02")
    assert stored.message_id is not None and stored.thread_id is None
    clock.set(datetime(2026, 3, 2, 17, 1, tzinfo=UTC))
    await sched.sweep()
    reply = [r for r in fake.calls("POST", f"/channels/{CHANNEL}/messages") if r.body.get("message_reference")]
    assert len(reply) == 1 and str(reply[0].body["message_reference"]["message_id"]) == stored.message_id


async def test_a_role_ping_is_in_the_content_and_allowed_to_notify(fake, adapter, service):
    await subscribe(service)
    here = await command(fake, "daily", "ping", options={"everyone_here": "here"}, permissions=MANAGE_SERVER)
    assert said(here) == "Daily posts here will now notify @here."
    role = "855555555555555555"
    # What Discord's role option becomes in the core's command text.
    set_role = await service.handle_command(member=shared_member(), channel=HERE, text=f"daily ping <@&{role}>",
                                            is_admin=True)
    assert set_role.text == f"Daily posts here will now notify <@&{role}>."
    sched = scheduler(service, adapter)
    await sched.reload(schedule=False)
    await sched.sweep()
    [posted] = daily_posts(fake)
    assert posted.body["content"] == f"<@&{role}>"
    assert [str(r) for r in posted.body["allowed_mentions"]["roles"]] == [role]
    assert posted.body["allowed_mentions"]["parse"] == []


def shared_member():
    from bot.core.models import MemberRef

    return MemberRef("discord", GUILD, ALICE)


async def test_report_button_opens_a_modal_and_the_submission_is_stored(fake, adapter, service):
    post, _ = await service.claim_daily(HERE, "UTC")
    mid = await adapter.post(HERE, (await service.reveal(post.id))[0])
    message = fake.messages[mid]
    report_id = next(c["custom_id"] for row in message["components"] for c in row["components"]
                     if c["custom_id"].startswith("dva:report@"))
    opened = await interact(fake, fake.component(message, report_id, guild_id=GUILD, user_id=ALICE))
    assert opened.body["type"] == 9  # a modal
    modal = opened.body["data"]
    assert modal["custom_id"] == f"dva:report:{post.question_id}"
    submit = fake.modal_submit(modal["custom_id"], {"reason": "wrong key", "details": "B is right"},
                               guild_id=GUILD, channel_id=CHANNEL, user_id=ALICE)
    answered = await interact(fake, submit)
    assert "stored for the maintainers" in said(answered)
    [stored] = await service.store.list_reports()
    assert (stored.question_id, stored.reason, stored.text) == (post.question_id, "wrong-key", "B is right")
    # A reason that is none of the four keeps the member's words (as "unclear").
    dan = "877777777777777777"
    assert (await interact(fake, fake.component(message, report_id, guild_id=GUILD, user_id=dan))).body["type"] == 9
    other = fake.modal_submit(modal["custom_id"], {"reason": "weird", "details": "two options say the same"},
                              guild_id=GUILD, channel_id=CHANNEL, user_id=dan)
    assert "stored for the maintainers" in said(await interact(fake, other))
    [_, kept] = await service.store.list_reports()
    assert (kept.reason, kept.text) == ("unclear", "weird: two options say the same")


async def test_a_post_accepted_before_a_crash_is_found_in_the_channel_history(fake, adapter, service, clock):
    await subscribe(service)
    post, _ = await service.claim_daily(HERE, "UTC")
    mid = await adapter.post(HERE, service.daily_message(post))  # then SIGKILL before the store saw it
    clock.set(datetime(2026, 3, 2, 10, 10, tzinfo=UTC))
    sched = scheduler(service, adapter)
    await sched.reload(schedule=False)
    await sched.sweep()
    await asyncio.sleep(0)
    assert len(daily_posts(fake)) == 1
    assert (await service.store.get_post(post.id)).message_id == mid
    assert fake.calls("GET", f"/channels/{CHANNEL}/messages")


async def test_feedback_is_green_when_right_and_red_when_wrong_and_the_footer_says_what_discord_does(
    fake, adapter, service,
):
    from tests.test_discord_answers import post_daily

    post, message = await post_daily(service, adapter, fake, "t-d1-one")
    right = await interact(fake, fake.component(message, f"dva:answer:{post.id}:A", guild_id=GUILD, user_id=ALICE))
    wrong = await interact(fake, fake.component(message, f"dva:answer:{post.id}:B", guild_id=GUILD,
                                                user_id="866666666666666666"))
    assert right.body["data"]["embeds"][0]["color"] == 0x2ECC71
    assert wrong.body["data"]["embeds"][0]["color"] == 0xE74C3C
    multi, _ = await service.store.claim_daily(channel=HERE, local_date="2026-03-03", question_id="t-d1-multi",
                                               created_at=1.0)
    mid = await adapter.post(HERE, service.daily_message(multi))
    footer = fake.messages[mid]["embeds"][0]["footer"]["text"]
    assert footer.startswith("Pick 2 options in the menu below; your answer is sent when you close it.")


async def test_a_deleted_thread_gets_the_explanation_as_a_reply_in_the_channel(fake, adapter, service, clock):
    await subscribe(service)
    sched = scheduler(service, adapter)
    await sched.reload(schedule=False)
    await sched.sweep()
    stored = await service.store.get_daily(HERE, "2026-03-02")
    assert stored.thread_id is not None
    fake.unknown_channels.add(stored.thread_id)  # a moderator deleted the thread: 404 Unknown Channel
    clock.set(datetime(2026, 3, 2, 17, 1, tzinfo=UTC))
    await sched.sweep()
    [refused] = [r for r in fake.calls("POST", f"/channels/{stored.thread_id}/messages")
                 if r.body["embeds"][0]["description"].startswith("**The answer is")]
    reply = [r for r in fake.calls("POST", f"/channels/{CHANNEL}/messages") if r.body.get("message_reference")]
    assert len(reply) == 1 and str(reply[0].body["message_reference"]["message_id"]) == stored.message_id
    assert reply[0].body["embeds"] == refused.body["embeds"]
    assert (await service.store.get_subscription(HERE)).last_error is None


async def test_a_transient_thread_error_is_left_to_the_retry(fake, adapter, service):
    await subscribe(service)
    post, _ = await service.claim_daily(HERE, "UTC")
    thread = "899999999999999999"
    fake.broken_channels.add(thread)  # 400: not known to be gone, so no reply in the channel
    with pytest.raises(PostError) as info:
        await adapter.reply(HERE, "877777777777777777", service.reveal_reply(post), thread=thread)
    assert not info.value.permanent
    assert fake.calls("POST", f"/channels/{CHANNEL}/messages") == []


async def test_finding_a_post_matches_its_whole_id(fake, adapter):
    """A retry looks for its post among the recent messages: post 12 is not post 123."""
    options = [{"label": x, "value": x} for x in "ABCDE"]
    select = {"type": 3, "custom_id": select_custom_id(123), "options": options, "min_values": 2, "max_values": 2}
    buttons = [{"type": 2, "style": 1, "label": x, "custom_id": button_custom_id(45, x)} for x in "AB"]
    multi = fake.message(CHANNEL, {"embeds": [{"title": "Daily question"}], "components": [
        {"type": 1, "components": [select]}]})
    single = fake.message(CHANNEL, {"embeds": [{"title": "Daily question"}], "components": [
        {"type": 1, "components": buttons}]})
    assert await adapter.find_post(HERE, SimpleNamespace(id=12)) is None
    assert await adapter.find_post(HERE, SimpleNamespace(id=4)) is None
    assert await adapter.find_post(HERE, SimpleNamespace(id=123)) == multi["id"]
    assert await adapter.find_post(HERE, SimpleNamespace(id=45)) == single["id"]
