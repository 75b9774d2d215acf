"""Socket Mode against the local fake's WebSocket: envelopes are acked and handled, and the watchdog
reconnects a socket that died without a close frame (long before the SDK's own 10 s ping check)."""

from __future__ import annotations

import logging

import pytest

from bot.adapters.slack import SlackAdapter
from bot.adapters.slack.fake import FakeSlack
from bot.config import Settings

APP_TOKEN = "xapp-1-A1-secretapptoken"


@pytest.fixture
async def fake():
    f = FakeSlack(team="T1")
    f.users["U1"] = {"id": "U1", "tz": "Europe/Berlin", "is_admin": False}
    await f.start()
    yield f
    await f.aclose()


@pytest.fixture
async def adapter(fake, service, caplog):
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        _env_file=None, slack_bot_token="xoxb-socket-test", slack_app_token=APP_TOKEN, slack_api_url=fake.base_url,
        slack_signing_secret=None, slack_mode=None,
    )
    a = SlackAdapter(service=service, settings=settings, watchdog_interval=0.1)
    assert a.mode == "socket"
    await a.start()
    yield a
    await a.aclose()


def command(fake: FakeSlack, text: str, name: str) -> dict:
    return {
        "token": "legacy", "team_id": "T1", "team_domain": "test", "channel_id": "C1", "channel_name": "study",
        "user_id": "U1", "user_name": "u1", "command": "/dva", "text": text, "api_app_id": "A1",
        "is_enterprise_install": "false", "response_url": fake.response_url(name), "trigger_id": "1.2.3",
    }


async def test_socket_mode_acks_envelopes_and_answers_commands(adapter, fake):
    assert fake.socket_connections == 1 and adapter.http_port is None
    opened = fake.calls_to("apps.connections.open")
    assert len(opened) == 1 and opened[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"
    envelope = await fake.send_envelope("slash_commands", command(fake, "fact lambda timeout", "r1"))
    acks = await fake.wait_for(lambda: [c for c in fake.calls_to("socket_ack") if c.args.get("envelope_id") == envelope])
    assert acks[0].args.get("payload") in (None, {})
    reply = (await fake.wait_for(lambda: fake.responses("r1")))[-1]
    assert reply["response_type"] == "ephemeral" and "Exam facts: lambda timeout" in reply["text"]


async def test_watchdog_reconnects_a_dropped_socket(adapter, fake):
    await fake.wait_for(lambda: fake.sockets)
    fake.drop_sockets()
    await fake.wait_for(lambda: fake.socket_connections == 2 and fake.sockets, within=3)
    assert len(fake.calls_to("apps.connections.open")) == 2
    await fake.send_envelope("slash_commands", command(fake, "help", "r2"))
    reply = (await fake.wait_for(lambda: fake.responses("r2")))[-1]
    assert "/dva quiz" in reply["text"]


async def test_the_app_token_never_reaches_the_logs(adapter, fake, caplog):
    await fake.send_envelope("slash_commands", command(fake, "streak", "r3"))
    await fake.wait_for(lambda: fake.responses("r3"))
    assert "slack_sdk" in caplog.text or "socket" in caplog.text.lower()
    assert APP_TOKEN not in caplog.text and "xoxb-socket-test" not in caplog.text


async def test_socket_mode_acks_an_answer_click_only_once_it_is_stored(adapter, fake, service, store, monkeypatch):
    """Acknowledged means recorded over the socket too: the envelope's ack follows the commit."""
    import asyncio
    import sqlite3

    from bot.core.models import ChannelRef

    channel = ChannelRef("slack", "T1", "C1")
    post, _ = await service.claim_daily(channel, "UTC")
    await store.set_post_message(post.id, "1.1")
    question = service.bank.question(post.question_id)
    record = store.record_answer

    async def slow(answer):
        await asyncio.sleep(0.4)
        return await record(answer)

    monkeypatch.setattr(store, "record_answer", slow)
    letters = " ".join(sorted(question.key)) if len(question.key) > 1 else question.key_text
    payload = {
        "type": "block_actions", "user": {"id": "U1", "team_id": "T1"}, "team": {"id": "T1"}, "api_app_id": "A1",
        "channel": {"id": "C1"}, "container": {"type": "message", "channel_id": "C1", "message_ts": "1.1"},
        "response_url": fake.response_url("s1"), "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": "answer:0", "block_id": "b", "value": f"{post.id}:{letters}"}],
    }
    if len(question.key) > 1:
        payload["actions"] = [{"type": "button", "action_id": "submit", "block_id": "b", "value": str(post.id)}]
        payload["state"] = {"values": {f"pick:{post.id}": {"pick": {
            "type": "checkboxes", "selected_options": [{"value": x} for x in sorted(question.key)]}}}}
    envelope = await fake.send_envelope("interactive", payload)
    await fake.wait_for(lambda: [c for c in fake.calls_to("socket_ack") if c.args.get("envelope_id") == envelope])
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1  # stored before the ack
    reply = (await fake.wait_for(lambda: fake.responses("s1")))[-1]
    assert reply["text"].startswith("Right!")
