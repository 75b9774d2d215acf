"""The Slack adapter end to end in HTTP mode: the real Bolt AsyncApp behind a real aiohttp server,
signed slash commands, the Web API and response_url on a local fake. Commands, request
verification, start-up and secrets here; answers and posts in test_slack_answers.py."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest

from bot.adapters.slack import SlackAdapter
from bot.adapters.slack.fake import FakeSlack, Reply
from bot.adapters.slack.testing import (
    TEST_BOT_TOKEN,
    TEST_SECRET,
    SlackSender,
    http_settings,
    text_of,
)
from bot.config import ConfigError
from bot.core.models import ChannelRef, MemberRef

TEAM = "T1"
CHANNEL = ChannelRef("slack", TEAM, "C1")


@pytest.fixture
async def fake():
    f = FakeSlack(team=TEAM)
    f.users["U1"] = {"id": "U1", "tz": "America/New_York", "is_admin": True, "is_owner": False}
    f.users["U2"] = {"id": "U2", "tz": "Europe/Berlin", "is_admin": False, "is_owner": False}
    await f.start()
    yield f
    await f.aclose()


@pytest.fixture
async def adapter(fake, service):
    a = SlackAdapter(service=service, settings=http_settings(fake), http_host="127.0.0.1", refresh_interval=0.5)
    await a.start()
    yield a
    await a.aclose()


@pytest.fixture
async def slack(adapter, fake):
    async with aiohttp.ClientSession() as session:
        yield SlackSender(port=adapter.http_port, fake=fake, session=session)


# ----- commands ------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("", "studybot: daily AWS DVA-C02 practice"),
    ("help", "/dva scenario &lt;words&gt;"),
    ("scenario cors error", "Scenarios: cors error"),
    ("fact lambda timeout", "Exam facts: lambda timeout"),
    ("streak", "Current streak: *0 days*"),
    ("leaderboard month workspace", "Leaderboard, the workspace, this month"),
    ("leaderboard", "Leaderboard, this channel, this week"),
    ("timezone Asia/Tokyo", "Your time zone is now Asia/Tokyo."),
    ("timezone", "Your time zone is America/New_York (your setting)"),
    ("daily status", "No daily question is scheduled here."),
    ("frobnicate", "Unknown command 'frobnicate'"),
    ("fact x &lt;&amp;&gt; y", "Nothing in the bank matches 'x &lt;&amp;&gt; y'"),
])
async def test_every_subcommand_is_acked_at_once_and_answered_ephemerally(slack, fake, text, expected):
    status, body, took = await slack.command(text)
    assert (status, body) == (200, "")
    assert took < 3
    reply = await slack.reply()
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert expected in text_of(reply)
    assert not fake.calls_to("chat.postMessage")


async def test_the_ack_does_not_wait_for_slow_work(slack, fake):
    fake.script("users.info", Reply({"ok": True, "user": fake.users["U1"]}, delay=1.0))
    status, _, took = await slack.command("help")
    assert status == 200 and took < 0.8
    assert not fake.responses()
    assert "/dva quiz" in text_of(await slack.reply())


async def test_profile_time_zone_is_adopted_only_when_the_member_never_set_one(slack, service):
    alice = MemberRef("slack", TEAM, "U1")
    await slack.command("streak")
    await slack.reply()
    assert await service.store.get_member_timezone(alice) == "America/New_York"
    await service.store.set_member_timezone(alice, "Asia/Tokyo")
    await slack.command("streak", name="r2")
    assert "04:00 in Asia/Tokyo" in text_of(await slack.reply("r2"))


async def test_admin_daily_on_posts_the_confirmation_in_the_channel(slack, fake, service):
    await slack.command("daily on 09:00 Europe/Berlin weekdays reveal 17:00")
    posted = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
    assert posted[0].args["channel"] == "C1"
    assert "Daily question scheduled at 09:00 Europe/Berlin" in text_of(posted[0].args)
    sub = await service.store.get_subscription(CHANNEL)
    assert sub.active and sub.reveal == "17:00" and sub.last_error is None
    await slack.command("daily status", name="s")
    assert "Daily question: on, at 09:00 Europe/Berlin" in text_of(await slack.reply("s"))
    await slack.command("daily off", name="off")
    await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 2)
    assert not (await service.store.get_subscription(CHANNEL)).active
    assert not fake.responses("r") and not fake.responses("off")


async def test_non_admin_cannot_change_the_schedule(slack, fake, service):
    await slack.command("daily on 09:00 UTC", user="U2")
    reply = await slack.reply()
    assert "Only workspace admins and owners and the members listed in STUDYBOT_ADMINS" in text_of(reply)
    assert reply["response_type"] == "ephemeral"
    assert await service.store.get_subscription(CHANNEL) is None
    assert not fake.calls_to("chat.postMessage")


async def test_daily_on_where_the_bot_is_not_invited_tells_how_and_pauses(slack, fake, service):
    fake.script("chat.postMessage", Reply({"ok": False, "error": "not_in_channel"}))
    await slack.command("daily on 09:00 UTC daily")
    reply = await slack.reply()
    assert "/invite @studybot" in text_of(reply) and "/dva daily on 09:00 UTC daily" in text_of(reply)
    sub = await service.store.get_subscription(CHANNEL)
    assert sub is not None and not sub.active and "not_in_channel" in sub.last_error
    await slack.command("daily status", name="s")
    status = text_of(await slack.reply("s"))
    assert "Daily question: off" in status and "Last problem" in status and "/invite @studybot" in status


async def test_a_failure_after_the_ack_is_logged_and_the_member_told(slack, service, monkeypatch, caplog):
    async def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "handle_command", broken)
    with caplog.at_level(logging.ERROR, logger="bot.adapters.slack"):
        status, _, _ = await slack.command("streak")
        assert "went wrong on studybot's side" in text_of(await slack.reply())
    assert status == 200 and "boom" in caplog.text


# ----- request verification ------------------------------------------------------------------
async def test_forged_signature_gets_401_and_changes_nothing(slack, fake, service):
    started = len(fake.calls)
    status, _, _ = await slack.command("daily on 09:00 UTC", secret="not-the-secret")
    assert status == 401
    await asyncio.sleep(0.1)
    assert fake.calls[started:] == [] and await service.store.get_subscription(CHANNEL) is None


async def test_stale_timestamp_gets_401_and_changes_nothing(slack, fake, service):
    started = len(fake.calls)
    status, _, _ = await slack.command("daily on 09:00 UTC", timestamp=int(time.time()) - 10 * 60)
    assert status == 401
    await asyncio.sleep(0.1)
    assert fake.calls[started:] == [] and await service.store.get_subscription(CHANNEL) is None


# ----- start-up and secrets ------------------------------------------------------------------
async def test_start_refuses_missing_or_wrong_credentials_without_echoing_them(fake, service, caplog):
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        await SlackAdapter(service=service, settings=http_settings(fake, slack_signing_secret=None)).start()
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        await SlackAdapter(service=service, settings=http_settings(fake, slack_mode="socket")).start()
    fake.script("auth.test", Reply({"ok": False, "error": "invalid_auth"}))
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ConfigError) as refused:
            await SlackAdapter(service=service, settings=http_settings(fake), http_host="127.0.0.1").start()
    assert "SLACK_BOT_TOKEN (invalid_auth)" in str(refused.value)
    assert TEST_BOT_TOKEN not in str(refused.value) and TEST_BOT_TOKEN not in caplog.text
    assert fake.calls_to("auth.test")[0].headers["Authorization"] == f"Bearer {TEST_BOT_TOKEN}"


async def test_tokens_and_secrets_never_reach_the_logs(fake, service, caplog):
    caplog.set_level(logging.DEBUG)
    fake.script("chat.postMessage", Reply({"ok": False, "error": "not_in_channel"}))
    adapter = SlackAdapter(service=service, settings=http_settings(fake), http_host="127.0.0.1")
    await adapter.start()
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackSender(port=adapter.http_port, fake=fake, session=session)
            await slack.command("daily on 09:00 UTC")
            await slack.reply()
            await slack.command("quiz", secret="forged")
    finally:
        await adapter.aclose()
    assert "not_in_channel" in caplog.text
    assert TEST_BOT_TOKEN not in caplog.text and TEST_SECRET not in caplog.text


# ----- health ----------------------------------------------------------------------------------
async def test_healthz_follows_the_health_check(adapter):
    url = f"http://127.0.0.1:{adapter.http_port}/healthz"
    state = {"ok": True}

    async def check() -> bool:
        if state.get("raise"):
            raise OSError("database gone")
        return state["ok"]

    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:  # without a process-wide check: the adapter itself
            assert resp.status == 200
        adapter.health_check = check
        async with session.get(url) as resp:
            assert resp.status == 200
        state["ok"] = False
        async with session.get(url) as resp:
            assert resp.status == 503
        state["raise"] = True
        async with session.get(url) as resp:
            assert resp.status == 503


async def test_process_health_check_needs_store_and_platforms(tmp_path, bank, clock):
    from bot.app import health_check
    from bot.config import Settings
    from bot.core.service import StudyService
    from bot.runtime import Runtime
    from storage.sqlite.store import SQLiteStore

    store = SQLiteStore(tmp_path / "h.db")
    await store.start()
    runtime = Runtime(settings=Settings(), bank=bank, store=store,
                      service=StudyService(bank=bank, store=store, clock=clock), clock=clock)

    class Platform:
        def __init__(self, up: bool) -> None:
            self.up = up

        async def connected(self) -> bool:
            return self.up

    assert await health_check(runtime, {"a": Platform(True)})() is True
    assert await health_check(runtime, {"a": Platform(True), "b": Platform(False)})() is False
    await store.aclose()
    with pytest.raises(Exception):  # noqa: B017 - a closed store must not look healthy
        await health_check(runtime, {"a": Platform(True)})()
