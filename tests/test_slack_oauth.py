"""Slack for many workspaces: the real Bolt OAuth flow (/slack/install, /slack/oauth_redirect) behind
the adapter's aiohttp server, oauth.v2.access on the local fake Slack, installations and states in
the real SQLite store; then signed commands and scheduled posts of each team with its own token,
and each team's data kept apart."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import yaml
from slack_sdk.signature import SignatureVerifier

from bot.adapters.slack import SlackAdapter
from bot.adapters.slack import texts as slack_texts
from bot.adapters.slack.fake import FakeSlack
from bot.adapters.slack.oauth import BOT_SCOPES, STATE_SECONDS
from bot.adapters.slack.testing import (
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_SECRET,
    TEST_STATE_SECRET,
    SlackSender,
    elements,
    oauth_settings,
    text_of,
)
from bot.config import ConfigError
from bot.core import texts as core_texts
from bot.core.messages import Message
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import PostError
from tests.conftest import ROOT
from tests.pg_fixtures import count_rows

TOKENS = {"TA": "xoxb-team-a-secret-token", "TB": "xoxb-team-b-secret-token"}
COOKIE = "slack-app-oauth-state"


@pytest.fixture
async def fake():
    f = FakeSlack(team="TA")
    f.users["U1"] = {"id": "U1", "tz": "UTC", "is_admin": True, "is_owner": False}
    f.users["U2"] = {"id": "U2", "tz": "UTC", "is_admin": False, "is_owner": False}
    await f.start()
    yield f
    await f.aclose()


@pytest.fixture
async def adapter(fake, service):
    a = SlackAdapter(service=service, settings=oauth_settings(fake), http_host="127.0.0.1", refresh_interval=0.5)
    await a.start()
    yield a
    await a.aclose()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


def url(adapter: SlackAdapter, path: str) -> str:
    return f"http://127.0.0.1:{adapter.http_port}{path}"


async def begin_install(http: aiohttp.ClientSession, adapter: SlackAdapter) -> tuple[str, dict[str, list[str]]]:
    """GET /slack/install as a browser: (the state, the query of the Slack authorize URL)."""
    async with http.get(url(adapter, "/slack/install"), allow_redirects=False) as resp:
        assert resp.status == 302
        location = urlsplit(resp.headers["Location"])
        cookie = resp.cookies[COOKIE].value
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://slack.com/oauth/v2/authorize"
    query = parse_qs(location.query)
    assert query["state"] == [cookie]
    return cookie, query


async def finish_install(
    http: aiohttp.ClientSession, adapter: SlackAdapter, *, code: str, state: str, cookie: str | None = None
) -> tuple[int, str]:
    """Slack sends the browser back to /slack/oauth_redirect with the code and our state."""
    headers = {"Cookie": f"{COOKIE}={cookie if cookie is not None else state}"}
    async with http.get(url(adapter, "/slack/oauth_redirect"), params={"code": code, "state": state},
                        headers=headers, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def install(http, adapter, fake, team: str) -> None:
    fake.install(code=f"code-{team}", team=team, bot_token=TOKENS[team])
    state, _ = await begin_install(http, adapter)
    status, _ = await finish_install(http, adapter, code=f"code-{team}", state=state)
    assert status == 200


def bearer(call) -> str:
    return call.headers["Authorization"].removeprefix("Bearer ")


# ----- the install flow ----------------------------------------------------------------------------
async def test_install_redirects_to_slack_with_our_client_id_scopes_and_a_stored_state(adapter, http, store):
    state, query = await begin_install(http, adapter)
    assert query["client_id"] == [TEST_CLIENT_ID]
    assert query["scope"] == [",".join(BOT_SCOPES)]
    assert "user_scope" not in query or query["user_scope"] == [""]
    nonce, _, signature = state.partition(".")
    assert len(nonce) >= 32 and len(signature) == 64
    assert [row["state"] async for row in store.export_table("oauth_states")] == [nonce]
    second, _ = await begin_install(http, adapter)
    assert second != state and await count_rows(store, "oauth_states") == 2


async def test_redirect_with_a_valid_state_exchanges_the_code_and_stores_the_installation(adapter, http, fake, store):
    fake.install(code="c0de", team="TA", bot_token=TOKENS["TA"], installer="U1")
    state, _ = await begin_install(http, adapter)
    status, _ = await finish_install(http, adapter, code="c0de", state=state)
    assert status == 200
    [exchange] = fake.calls_to("oauth.v2.access")
    assert exchange.args["code"] == "c0de"
    assert exchange.headers["Authorization"] == "Basic " + base64.b64encode(
        f"{TEST_CLIENT_ID}:{TEST_CLIENT_SECRET}".encode()).decode()
    saved = await store.find_installation(platform="slack", enterprise_id="", team_id="TA")
    assert saved is not None and saved.user_id == "U1" and TOKENS["TA"] in saved.record
    assert TOKENS["TA"] not in repr(saved)
    # The state was used up: the same redirect again is refused and exchanges nothing.
    status, _ = await finish_install(http, adapter, code="c0de", state=state)
    assert status == 401 and len(fake.calls_to("oauth.v2.access")) == 1


async def test_a_forged_unknown_or_expired_state_is_refused(adapter, http, fake, store, clock):
    fake.install(code="c0de", team="TA", bot_token=TOKENS["TA"])
    state, _ = await begin_install(http, adapter)
    nonce, _, signature = state.partition(".")
    forged = f"{nonce}.{'0' * 64}"
    assert (await finish_install(http, adapter, code="c0de", state=forged))[0] == 401  # bad signature
    assert (await finish_install(http, adapter, code="c0de", state="made-up"))[0] == 401
    assert (await finish_install(http, adapter, code="c0de", state=state, cookie="other"))[0] == 400  # other browser
    clock.advance(seconds=STATE_SECONDS + 1)
    assert (await finish_install(http, adapter, code="c0de", state=state))[0] == 401  # expired
    assert fake.calls_to("oauth.v2.access") == []
    assert await store.find_installation(platform="slack", enterprise_id=None, team_id="TA") is None
    # A fresh state within its ten minutes still works.
    fresh, _ = await begin_install(http, adapter)
    clock.advance(seconds=STATE_SECONDS - 5)
    assert (await finish_install(http, adapter, code="c0de", state=fresh))[0] == 200


# ----- requests and posts with each workspace's token ----------------------------------------------
async def test_after_install_a_signed_command_from_that_team_uses_its_token(adapter, http, fake, service):
    await install(http, adapter, fake, "TA")
    await install(http, adapter, fake, "TB")
    started = len(fake.calls)
    a = SlackSender(port=adapter.http_port, fake=fake, session=http, team="TA")
    b = SlackSender(port=adapter.http_port, fake=fake, session=http, team="TB")
    await a.command("stats", name="a")
    assert "direct messages" in text_of(await a.reply("a"))
    # The stats went to the member's DM in team A, opened and posted with team A's token.
    [opened] = fake.calls_to("conversations.open")
    dm = fake.calls_to("chat.postMessage")[-1]
    assert bearer(opened) == bearer(dm) == TOKENS["TA"] and "Points: *0*" in text_of(dm.args)
    await b.command("daily on 09:00 UTC", name="b")
    posted = await fake.wait_for(lambda: [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "C1"])
    assert bearer(posted[0]) == TOKENS["TB"] and posted[0].args["channel"] == "C1"
    profiles = [c for c in fake.calls[started:] if c.method == "users.info"]
    assert sorted(bearer(c) for c in profiles) == sorted(TOKENS.values())
    assert await service.store.get_subscription(ChannelRef("slack", "TB", "C1")) is not None
    # A team that never installed studybot gets Bolt's refusal, and nothing reaches the core.
    c = SlackSender(port=adapter.http_port, fake=fake, session=http, team="TC")
    calls = len(fake.calls)
    await c.command("daily on 09:00 UTC", name="c")
    assert text_of(await c.reply("c")) == slack_texts.NOT_INSTALLED
    assert [x.method for x in fake.calls[calls:]] == ["response_url"]  # no users.info, no post
    assert await service.store.get_subscription(ChannelRef("slack", "TC", "C1")) is None


async def test_scheduled_posts_pick_the_token_of_the_channels_workspace(adapter, http, fake):
    await install(http, adapter, fake, "TA")
    await install(http, adapter, fake, "TB")
    ts = await adapter.post(ChannelRef("slack", "TB", "C9"), Message(text="hello B", ephemeral=False))
    await adapter.reply(ChannelRef("slack", "TA", "C8"), ts, Message(text="hello A", ephemeral=False))
    await adapter.update(ChannelRef("slack", "TB", "C9"), ts, Message(text="hello again", ephemeral=False))
    sent = [c for c in fake.calls if c.method in ("chat.postMessage", "chat.update")]
    assert [(c.args["channel"], bearer(c)) for c in sent] == [
        ("C9", TOKENS["TB"]), ("C8", TOKENS["TA"]), ("C9", TOKENS["TB"])]
    with pytest.raises(PostError) as refused:
        await adapter.post(ChannelRef("slack", "TZ", "C1"), Message(text="nobody home", ephemeral=False))
    assert refused.value.permanent and refused.value.reason == "not_installed"


async def test_each_workspace_sees_only_its_own_schedules_leaderboards_and_answers(adapter, http, fake, service):
    await install(http, adapter, fake, "TA")
    await install(http, adapter, fake, "TB")
    # The same channel and member ids in both teams: only the team keeps them apart.
    a = SlackSender(port=adapter.http_port, fake=fake, session=http, team="TA")
    b = SlackSender(port=adapter.http_port, fake=fake, session=http, team="TB")
    await a.command("daily on 09:00 UTC reveal 17:00", name="a-on")
    await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
    await b.command("daily status", name="b-status")
    assert "No daily question is scheduled here." in text_of(await b.reply("b-status"))

    await a.command("quiz dynamodb", user="U1", name="a-quiz")
    await a.reply("a-quiz")  # the pointer; the question is in U1's DM of team A
    question = fake.calls_to("chat.postMessage")[-1]
    assert question.args["channel"] == "DU1" and bearer(question) == TOKENS["TA"]
    buttons = elements(question.args, "button")
    post = await service.store.get_post(int(buttons[0]["value"].split(":")[0]))
    right = next(x for x in buttons if x["text"]["text"] == service.bank.by_id[post.question_id].key_text)
    await a.click(right, user="U1", name="a-answer", channel="DU1")
    assert "Right!" in text_of(await a.reply("a-answer"))
    await a.command("leaderboard all workspace", name="a-board")
    assert "<@U1>" in text_of(await a.reply("a-board"))

    await b.command("leaderboard all workspace", name="b-board")
    assert "<@U1>" not in text_of(await b.reply("b-board"))
    await b.command("stats", user="U1", name="b-stats")
    await b.reply("b-stats")
    stats = fake.calls_to("chat.postMessage")[-1]
    assert bearer(stats) == TOKENS["TB"] and "Points: *0*. Answers: 0" in text_of(stats.args)
    # B's member pressing A's answer button (a copied payload) is told it is gone; nothing counts.
    await b.click(right, user="U2", name="b-answer")
    assert core_texts.EXPIRED in text_of(await b.reply("b-answer"))
    assert await service.store.answered_count(post.id) == 1
    assert await service.store.member_points(MemberRef("slack", "TB", "U2")) == (0, 0, 0)


# ----- settings, scopes and secrets -----------------------------------------------------------------
async def test_start_names_the_missing_oauth_setting(fake, service):
    cases = [
        (dict(slack_client_id=None), "SLACK_CLIENT_ID"),
        (dict(slack_client_secret=None), "SLACK_CLIENT_SECRET"),
        (dict(slack_state_secret="short"), "SLACK_STATE_SECRET"),
        (dict(slack_mode="socket", slack_app_token="xapp-1"), "SLACK_MODE must be http"),
        (dict(slack_signing_secret=None), "SLACK_SIGNING_SECRET"),
    ]
    for overrides, expected in cases:
        with pytest.raises(ConfigError, match=expected) as refused:
            await SlackAdapter(service=service, settings=oauth_settings(fake, **overrides)).start()
        assert TEST_CLIENT_SECRET not in str(refused.value) and TEST_STATE_SECRET not in str(refused.value)
    assert oauth_settings(fake).slack_enabled and not oauth_settings(fake).slack_bot_token


def test_requested_scopes_are_the_manifests():
    manifest = yaml.safe_load((ROOT / "deploy" / "slack" / "manifest.yml").read_text(encoding="utf-8"))
    assert set(BOT_SCOPES) == set(manifest["oauth_config"]["scopes"]["bot"])


async def test_tokens_and_oauth_secrets_never_reach_the_logs(adapter, http, fake, caplog):
    caplog.set_level(logging.DEBUG)
    await install(http, adapter, fake, "TA")
    a = SlackSender(port=adapter.http_port, fake=fake, session=http, team="TA")
    await a.command("daily on 09:00 UTC", name="a")
    await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
    await a.command("stats", name="s")
    await a.reply("s")
    assert any(r.levelno == logging.DEBUG and r.name.startswith("aiosqlite") for r in caplog.records)
    for secret in (TOKENS["TA"], TEST_CLIENT_SECRET, TEST_STATE_SECRET, TEST_SECRET):
        assert secret not in caplog.text


async def test_app_uninstalled_forgets_the_workspaces_token(adapter, http, fake, store):
    await install(http, adapter, fake, "TA")
    await install(http, adapter, fake, "TB")
    body = json.dumps({
        "token": "legacy", "team_id": "TA", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev1",
        "event_time": int(time.time()), "event": {"type": "app_uninstalled", "event_ts": "1700000000.1"},
    })
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": SignatureVerifier(TEST_SECRET).generate_signature(timestamp=ts, body=body)}
    async with http.post(url(adapter, "/slack/events"), data=body.encode(), headers=headers) as resp:
        assert resp.status == 200
    for _ in range(100):
        if await store.find_installation(platform="slack", enterprise_id=None, team_id="TA") is None:
            break
        await asyncio.sleep(0.02)
    assert await store.find_installation(platform="slack", enterprise_id=None, team_id="TA") is None
    assert await store.find_installation(platform="slack", enterprise_id=None, team_id="TB") is not None
    with pytest.raises(PostError, match="not_installed"):
        await adapter.post(ChannelRef("slack", "TA", "C1"), Message(text="gone", ephemeral=False))


async def test_a_leftover_bot_token_is_ignored_with_a_warning_that_does_not_show_it(fake, service, caplog):
    adapter = SlackAdapter(service=service, settings=oauth_settings(fake, slack_bot_token="xoxb-leftover-1"),
                           http_host="127.0.0.1")
    with caplog.at_level(logging.INFO):
        await adapter.start()
    try:
        assert "SLACK_BOT_TOKEN is ignored" in caplog.text and "for many workspaces" in caplog.text
        assert "xoxb-leftover-1" not in caplog.text
        assert fake.calls_to("auth.test") == []  # no start-up check of a token that is not used
    finally:
        await adapter.aclose()
