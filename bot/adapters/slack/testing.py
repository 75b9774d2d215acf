"""Drive a running SlackAdapter the way Slack does, for tests and offline trials: signed slash
commands and block_actions payloads sent to its HTTP endpoint, replies read from the FakeSlack."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bot.adapters.slack.fake import FakeSlack, validate_blocks
from bot.config import Settings

TEST_SECRET = "test-signing-secret-4b1d"
TEST_BOT_TOKEN = "xoxb-111-222-secretbottoken"


def http_settings(fake: FakeSlack, **overrides: Any) -> Settings:
    """HTTP-mode settings pointing at the fake, on a free port (0), ignoring any .env file."""
    values: dict[str, Any] = dict(
        slack_bot_token=TEST_BOT_TOKEN, slack_signing_secret=TEST_SECRET, slack_mode="http",
        slack_api_url=fake.base_url, slack_app_token=None,
    )
    values.update(overrides)
    # model_copy skips validation: port 0 (any free port) is for tests only.
    return Settings(_env_file=None, **values).model_copy(update={"slack_http_port": 0})


TEST_CLIENT_ID = "111.222"
TEST_CLIENT_SECRET = "test-client-secret-9c2e"
TEST_STATE_SECRET = "test-state-secret-5a7f0e1d"


def oauth_settings(fake: FakeSlack, **overrides: Any) -> Settings:
    """Settings for many workspaces (the OAuth install flow), HTTP mode against the fake, no bot token."""
    values: dict[str, Any] = dict(
        slack_bot_token=None, slack_client_id=TEST_CLIENT_ID, slack_client_secret=TEST_CLIENT_SECRET,
        slack_state_secret=TEST_STATE_SECRET,
    )
    values.update(overrides)
    return http_settings(fake, **values)


class SlackSender:
    """Sends requests to the adapter's /slack/events as Slack does: form bodies, signed."""

    def __init__(self, *, port: int, fake: FakeSlack, session: aiohttp.ClientSession, team: str = "T1") -> None:
        self.fake, self.session, self.team = fake, session, team
        self.url = f"http://127.0.0.1:{port}/slack/events"

    async def send(
        self, form: dict[str, str] | str, *, secret: str = TEST_SECRET, timestamp: int | None = None,
        content_type: str = "application/x-www-form-urlencoded", headers: dict[str, str] | None = None,
    ) -> tuple[int, str, float]:
        """POST a signed form (or a JSON body); (status, body, seconds until the HTTP response)."""
        body = form if isinstance(form, str) else urlencode(form)
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
            **(headers or {}),
        }
        started = time.monotonic()
        async with self.session.post(self.url, data=body.encode(), headers=headers) as resp:
            return resp.status, await resp.text(), time.monotonic() - started

    def command_form(self, text: str, *, user: str = "U1", channel: str = "C1", name: str = "r") -> dict[str, str]:
        return {
            "token": "legacy-verification-token", "team_id": self.team, "team_domain": "test", "channel_id": channel,
            "channel_name": "study", "user_id": user, "user_name": user.lower(), "command": "/dva", "text": text,
            "api_app_id": "A1", "is_enterprise_install": "false", "response_url": self.fake.response_url(name),
            "trigger_id": "123.456.abc",
        }

    async def command(self, text: str, *, user: str = "U1", channel: str = "C1", name: str = "r", **signing: Any):
        return await self.send(self.command_form(text, user=user, channel=channel, name=name), **signing)

    async def click(
        self, element: dict, *, user: str = "U1", name: str = "r", ts: str = "1.1", state: dict | None = None,
        channel: str = "C1", home: bool = False,
    ) -> tuple[int, str, float]:
        """A block_actions payload for a click on `element` (a button or checkbox group from `elements`),
        in a message of `channel` (a "D..." id is the member's DM), or in the App Home tab (`home`)."""
        where: dict[str, Any] = {
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
            "channel": {"id": channel, "name": "study"}, "message": {"ts": ts, "type": "message"},
            "response_url": self.fake.response_url(name),
        }
        if home:  # Slack sends a view, no channel and no response_url for clicks in the Home tab
            where = {"container": {"type": "view", "view_id": "V1"}, "view": {"id": "V1", "type": "home"}}
        payload = {
            "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": self.team},
            "api_app_id": "A1", "token": "legacy-verification-token", "trigger_id": "123.456.def",
            "team": {"id": self.team, "domain": "test"}, "enterprise": None, "is_enterprise_install": False,
            **where, "state": {"values": state or {}},
            "actions": [{
                "type": element["type"], "action_id": element["action_id"], "block_id": element.get("block_id", "b"),
                "value": element.get("value"), "text": element.get("text"), "action_ts": "1700000000.1",
            }],
        }
        return await self.send({"payload": json.dumps(payload)})

    async def view_submission(self, view: dict, values: dict, *, user: str = "U1") -> tuple[int, str, float]:
        """A view_submission payload for a modal opened earlier (`view` as views.open got it) with
        the member's input `values` (block id -> action id -> value object)."""
        payload = {
            "type": "view_submission", "team": {"id": self.team, "domain": "test"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team}, "api_app_id": "A1",
            "token": "legacy-verification-token", "trigger_id": "123.456.ghi",
            "view": {**view, "id": "V1", "team_id": self.team, "state": {"values": values}, "hash": "h1"},
            "response_urls": [], "is_enterprise_install": False, "enterprise": None,
        }
        return await self.send({"payload": json.dumps(payload)})

    async def event(self, event: dict[str, Any]) -> tuple[int, str, float]:
        """An Events API callback (JSON), e.g. {"type": "app_home_opened", "user": "U1", "tab": "home"}."""
        body = json.dumps({
            "token": "legacy-verification-token", "team_id": self.team, "api_app_id": "A1", "type": "event_callback",
            "event": event, "event_id": f"Ev{int(time.time() * 1000)}", "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team, "user_id": "UBOT", "is_bot": True}],
        })
        return await self.send(body, content_type="application/json")

    async def reply(self, name: str = "r") -> dict:
        """The latest message sent to response_url `name` (waits up to 3 s); it must pass Block Kit checks."""
        got = await self.fake.wait_for(lambda: self.fake.responses(name), within=3.0)
        assert validate_blocks(got[-1].get("blocks") or []) == []
        return got[-1]


def text_of(payload: dict) -> str:
    """Everything a member reads in a message payload: its blocks' texts (else the fallback text)."""
    parts = []
    for block in payload.get("blocks") or []:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(parts) or payload.get("text", "")


def elements(payload: dict, kind: str) -> list[dict]:
    """The interactive elements of one type ("button", "checkboxes"), each with its block_id."""
    found = []
    for block in payload.get("blocks") or []:
        if block["type"] == "actions":
            found += [dict(e, block_id=block["block_id"]) for e in block["elements"] if e["type"] == kind]
    return found
