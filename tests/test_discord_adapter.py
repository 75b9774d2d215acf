"""The Discord adapter's slash commands end to end: a real discord.py AutoShardedClient logs in to a
local fake of Discord (REST and gateway), interactions arrive as raw INTERACTION_CREATE payloads
over the fake gateway, and every response is read back from the requests the fake recorded.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import discord
import pytest

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord import texts as dtexts
from bot.adapters.discord.client import sharding
from bot.adapters.discord.fake import FakeDiscord, Recorded
from bot.adapters.discord.permissions import install_permissions
from bot.config import ConfigError, Settings
from bot.core import texts
from bot.core.models import ChannelRef, MemberRef
from bot.core.timeutil import describe_days

GUILD, CHANNEL, ALICE, BOB = "811111111111111111", "822222222222222222", "833333333333333333", "844444444444444444"
MANAGE_SERVER = discord.Permissions(manage_guild=True).value
CAN_POST = install_permissions().value
TOKEN = "discord-test-token-do-not-log"


def settings(**overrides) -> Settings:
    values = {"discord_token": TOKEN, "discord_guild_ids": "", "discord_shard_count": None, "discord_shard_ids": ""}
    return Settings(_env_file=None, **{**values, **overrides})


@pytest.fixture
async def fake(monkeypatch):
    server = FakeDiscord()
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
    yield server
    await server.aclose()


@pytest.fixture
async def adapter(fake, service):
    bot = DiscordAdapter(service=service, settings=settings(), refresh_interval=0.2)
    await bot.start()
    await fake.wait_identified()
    yield bot
    await bot.aclose()


@contextlib.asynccontextmanager
async def running(service, **overrides) -> AsyncIterator[DiscordAdapter]:
    bot = DiscordAdapter(service=service, settings=settings(**overrides))
    try:
        await bot.start()
        yield bot
    finally:
        await bot.aclose()


async def interact(fake: FakeDiscord, payload: dict) -> Recorded:
    """Deliver an interaction over the gateway; returns the bot's callback (its first response)."""
    await fake.dispatch("INTERACTION_CREATE", payload)
    calls = await fake.wait_for("POST", f"/interactions/{payload['id']}/")
    return calls[0]


async def command(fake: FakeDiscord, *path: str, user: str = ALICE, **kwargs) -> Recorded:
    options = kwargs.pop("options", None)
    kwargs.setdefault("app_permissions", CAN_POST)
    return await interact(fake, fake.command(path, options, guild_id=GUILD, channel_id=CHANNEL, user_id=user, **kwargs))


def said(callback: Recorded) -> str:
    """The text of an ephemeral reply, asserting that it is one."""
    assert callback.body["type"] == 4, callback.body
    data = callback.body["data"]
    assert data["flags"] & 64, "expected an ephemeral reply"
    embed = data["embeds"][0]
    return "\n".join(filter(None, [embed.get("title", ""), embed.get("description", "")]))


def _last_dm(fake: FakeDiscord, user: str) -> dict:
    """The newest message studybot sent to the member's DM channel, as Discord stored it."""
    dm = fake.dm_channels[user]
    return [m for m in fake.messages.values() if m["channel_id"] == dm][-1]


def bold(text: str) -> str:
    return text.replace("*", "**")


async def test_every_subcommand_answers_privately(fake, adapter, store):
    help_text = said(await command(fake, "help"))
    assert bold(texts.help_text("discord")) == help_text
    assert "`/dva daily on time:09:00 timezone:Europe/Berlin days:weekdays reveal:17:00`" in help_text

    # Practice goes to the member's DMs; the slash command answers with a pointer.
    quiz = await command(fake, "quiz", options={"topic": "lambda"})
    assert said(quiz) == dtexts.SENT_TO_DM
    dm = _last_dm(fake, ALICE)
    assert dm["embeds"][0]["title"].startswith("Practice: ")
    buttons = dm["components"][0]["components"]
    assert [b["label"] for b in buttons] == ["A", "B", "C", "D"]
    assert all(b["custom_id"].startswith("dva:answer:") for b in buttons)

    assert "Access-Control-Allow-Origin" in said(await command(fake, "scenario", options={"words": "cors error"}))
    assert said(await command(fake, "fact", options={"words": "zzzz qqqq"})) == texts.NO_MATCH.format(query="zzzz qqqq")
    assert "Current streak: **0 days**" in said(await command(fake, "streak"))
    assert said(await command(fake, "stats")) == dtexts.SENT_TO_DM
    assert "Points: **0**. Answers: 0" in _last_dm(fake, ALICE)["embeds"][0]["description"]
    board = said(await command(fake, "leaderboard", options={"period": "all", "scope": "workspace"}))
    assert board.startswith("Leaderboard, the workspace, all time")

    assert said(await command(fake, "timezone", options={"name": "Europe/Berlin"})) == texts.TIMEZONE_SET.format(
        tz="Europe/Berlin")
    assert await store.get_member_timezone(MemberRef("discord", GUILD, ALICE)) == "Europe/Berlin"
    assert said(await command(fake, "timezone")).startswith("Your time zone is Europe/Berlin (your setting)")
    assert said(await command(fake, "timezone", options={"name": "Mars/Base"})) == (
        "Unknown time zone 'Mars/Base'. Use an IANA name such as Europe/Berlin or America/New_York.")

    assert said(await command(fake, "daily", "status")) == texts.NO_DAILY_HERE
    assert said(await command(fake, "daily", "off", permissions=MANAGE_SERVER)) == texts.NO_DAILY_HERE
    # Nothing but interaction responses and DMs went out: lookups never post in the channel.
    assert fake.calls("POST", f"/channels/{CHANNEL}") == []


async def test_quiz_on_a_multiple_response_topic_offers_a_select(fake, adapter):
    await command(fake, "quiz", options={"topic": "sqs"})
    dm = _last_dm(fake, ALICE)
    select = dm["components"][0]["components"][0]
    assert select["type"] == 3 and select["min_values"] == select["max_values"] == 2
    assert [o["value"] for o in select["options"]] == ["A", "B", "C", "D", "E"]
    assert "(Choose TWO.)" in dm["embeds"][0]["description"]


async def test_daily_on_by_a_server_manager_posts_the_confirmation_in_the_channel(fake, adapter, store):
    reply = await command(fake, "daily", "on", permissions=MANAGE_SERVER,
                          options={"time": "09:00", "timezone": "Europe/Berlin", "days": "mon, wed, fri",
                                   "reveal": "17:00"})
    assert said(reply) == dtexts.POSTED
    posted = fake.calls("POST", f"/channels/{CHANNEL}/messages")
    assert len(posted) == 1
    assert posted[0].body["embeds"][0]["description"] == texts.DAILY_SET.format(
        time="09:00", tz="Europe/Berlin", days=describe_days("mon,wed,fri"), reveal="17:00", next_day="")
    assert "on Mon, Wed, Fri" in posted[0].body["embeds"][0]["description"]
    sub = await store.get_subscription(ChannelRef("discord", GUILD, CHANNEL))
    assert sub is not None and sub.active and sub.days == "mon,wed,fri" and sub.last_error is None


async def test_daily_on_without_manage_server_changes_nothing(fake, adapter, store):
    reply = await command(fake, "daily", "on", permissions=0, options={"time": "09:00", "timezone": "UTC"})
    assert said(reply).startswith("Only members with the Manage Server permission and the members listed in STUDYBOT_ADMINS")
    assert await store.get_subscription(ChannelRef("discord", GUILD, CHANNEL)) is None
    assert fake.calls("POST", "/channels/") == []


async def test_daily_on_where_the_bot_lacks_a_permission_names_it_and_pauses_the_schedule(fake, adapter, store):
    view_only = discord.Permissions(view_channel=True, read_message_history=True).value
    reply = await command(fake, "daily", "on", permissions=MANAGE_SERVER, app_permissions=view_only,
                          options={"time": "09:00", "timezone": "UTC"})
    text = said(reply)
    assert "missing Send Messages and Embed Links" in text and dtexts.NOT_SAVED in text
    assert fake.calls("POST", "/channels/") == []
    sub = await store.get_subscription(ChannelRef("discord", GUILD, CHANNEL))
    assert sub is not None and not sub.active and "Send Messages and Embed Links" in sub.last_error
    status = said(await command(fake, "daily", "status"))
    assert status.startswith("Daily question: off") and "Last problem: I cannot post" in status


async def test_daily_on_refused_by_discord_pauses_the_schedule(fake, adapter, store):
    fake.forbidden_channels.add(CHANNEL)
    reply = await command(fake, "daily", "on", permissions=MANAGE_SERVER, options={"time": "09:00", "timezone": "UTC"})
    assert "Missing Permissions (Discord code 50013)" in said(reply)
    assert len(fake.calls("POST", f"/channels/{CHANNEL}/messages")) == 1
    sub = await store.get_subscription(ChannelRef("discord", GUILD, CHANNEL))
    assert sub is not None and not sub.active and "50013" in sub.last_error


async def test_a_passing_discord_error_keeps_the_schedule_then_digest_and_off(fake, adapter, store):
    fake.broken_channels.add(CHANNEL)
    reply = said(await command(fake, "daily", "on", permissions=MANAGE_SERVER,
                               options={"time": "09:00", "timezone": "UTC"}))
    assert reply.startswith("Daily question scheduled at 09:00 UTC")
    assert dtexts.NOT_POSTED_NOW.format(reason="Invalid Form Body (HTTP 400)") in reply
    here = ChannelRef("discord", GUILD, CHANNEL)
    assert (await store.get_subscription(here)).active
    assert said(await command(fake, "daily", "digest", options={"state": "off"})).startswith("Only ")
    assert said(await command(fake, "daily", "digest", options={"state": "off"}, permissions=MANAGE_SERVER)) == (
        "Weekly digest off.")
    assert not (await store.get_subscription(here)).digest
    fake.broken_channels.clear()
    assert said(await command(fake, "daily", "off", permissions=MANAGE_SERVER)) == dtexts.POSTED
    assert fake.calls("POST", f"/channels/{CHANNEL}/messages")[-1].body["embeds"][0]["description"] == texts.DAILY_OFF
    assert not (await store.get_subscription(here)).active


async def test_autocomplete_offers_topics_and_time_zones(fake, adapter):
    topics = await command(fake, "quiz", options={"topic": "dyn"}, focused="topic")
    assert topics.body["type"] == 8
    assert topics.body["data"]["choices"][0]["value"] == "dynamodb"
    zones = await command(fake, "timezone", options={"name": "europe/ber"}, focused="name")
    assert [c["value"] for c in zones.body["data"]["choices"]] == ["Europe/Berlin"]
    days = await command(fake, "daily", "on", options={"time": "09:00", "timezone": "UTC", "days": "week"},
                         focused="days")
    assert {"weekdays", "weekends"} <= {c["value"] for c in days.body["data"]["choices"]}


async def test_slow_work_is_deferred_then_followed_up(fake, adapter):
    adapter.defer_after = 0  # as if the store were slow: the response must not wait for the core
    first = await command(fake, "streak")
    assert first.body == {"type": 5, "data": {"flags": 64}}
    followups = await fake.wait_for("POST", "/webhooks/")
    assert followups[0].body["embeds"][0]["title"] == "Your streak"


async def test_commands_sync_once_and_again_only_when_the_payload_changes(fake, service, store):
    put = f"/applications/{fake.application_id}/commands"
    async with running(service) as first:
        await first.wait_until_ready()
        uploaded = fake.calls("PUT", put)
        assert len(uploaded) == 1
        dva = uploaded[0].body[0]
        assert dva["name"] == "dva" and dva["contexts"] == [0] and dva["integration_types"] == [0]
        subcommands = {o["name"] for o in dva["options"]}
        assert subcommands == {"help", "quiz", "scenario", "fact", "streak", "stats", "leaderboard", "timezone", "daily",
                               "review", "exam", "report", "reports"}
        # A gateway reconnect (a new READY or RESUMED) does not re-sync.
        await fake.ask_to_reconnect()
        await fake.wait_identified()
        assert fake.gateway_ops.count(6) + fake.gateway_ops.count(2) == 2
        assert len(fake.calls("GET", "/users/@me")) == 1
    # A restart with the same tree does not either.
    async with running(service):
        pass
    assert len(fake.calls("PUT", put)) == 1
    # A changed tree (here: a stale hash in the store) is uploaded again.
    await store.set_kv(f"discord:commands:{fake.application_id}:global", "older-tree")
    async with running(service):
        pass
    assert len(fake.calls("PUT", put)) == 2
    assert len(fake.calls("GET", "/users/@me")) == 3


async def test_guild_ids_sync_to_those_servers_and_commands_run_there(fake, service):
    other = "855555555555555555"
    fake.forbidden_guilds.add(other)
    async with running(service, discord_guild_ids=f"{GUILD},{other}"):
        assert len(fake.calls("PUT", f"/applications/{fake.application_id}/guilds/{GUILD}/commands")) == 1
        assert len(fake.calls("PUT", f"/applications/{fake.application_id}/guilds/{other}/commands")) == 1
        assert fake.calls("PUT", f"/applications/{fake.application_id}/commands") == []
        # The refusing server is not marked as synced, so the next start tries it again.
        assert await service.store.get_kv(f"discord:commands:{fake.application_id}:guild {other}") is None
        assert await service.store.get_kv(f"discord:commands:{fake.application_id}:guild {GUILD}") is not None
        reply = await command(fake, "help", command_guild_id=GUILD)
        assert said(reply).startswith("**studybot")


async def test_a_rejected_token_is_a_config_error_that_never_shows_the_token(fake, service, caplog):
    caplog.set_level(logging.DEBUG)
    fake.rejected_tokens.add(TOKEN)
    bot = DiscordAdapter(service=service, settings=settings())
    with pytest.raises(ConfigError, match="DISCORD_TOKEN") as info:
        await bot.start()
    await bot.aclose()
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value.__cause__)
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_sharding_settings():
    assert sharding(settings()) == (None, None)
    assert sharding(settings(discord_shard_count=4, discord_shard_ids="1,3")) == (4, [1, 3])
    with pytest.raises(ConfigError, match="DISCORD_SHARD_COUNT"):
        sharding(settings(discord_shard_ids="0"))
    with pytest.raises(ConfigError, match="below 2"):
        sharding(settings(discord_shard_count=2, discord_shard_ids="2"))


def test_the_adapter_needs_a_token(service):
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        DiscordAdapter(service=service, settings=Settings(_env_file=None, discord_token=None))


def test_client_uses_default_intents_only(service):
    from bot.adapters.discord.client import StudyClient

    bot = DiscordAdapter(service=service, settings=settings())
    client = StudyClient(study=bot, shard_count=None, shard_ids=None)
    assert client.intents == discord.Intents.default()
    assert not (client.intents.message_content or client.intents.members or client.intents.presences)
    assert isinstance(client, discord.AutoShardedClient)

