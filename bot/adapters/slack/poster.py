"""The Poster port on Slack's Web API: post, update and reply, with Slack errors mapped to PostError.

Rate limits (429, honouring Retry-After) and dropped connections are retried by slack-sdk's retry
handlers on the client (see `web_client`); what still fails is logged with the channel and reason
and raised as PostError, permanent when a person has to act (bot not invited, channel archived...).
"""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import ClientOSError, ServerDisconnectedError
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.render import render
from bot.core.messages import Message
from bot.core.models import ChannelRef
from bot.core.ports import PostError

log = logging.getLogger(__name__)

PLATFORM = "slack"
WEB_API_TIMEOUT = 20  # seconds for one Web API call, retries included
# Slack error codes that may pass by themselves; every other Slack error needs a person to act
# (channel_not_found, not_in_channel, is_archived, missing_scope, invalid_auth, invalid_blocks...).
TRANSIENT = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
    "team_added_to_org",
})


def transient(code: str) -> bool:
    """An error that may pass by itself: Slack's transient codes, a 429, any 5xx without Slack's JSON."""
    return code in TRANSIENT or code == "http_429" or code.startswith("http_5")


def web_client(
    *, token: str | None, base_url: str, session: aiohttp.ClientSession | None, logger: logging.Logger | None = None,
) -> AsyncWebClient:
    """The Web API client: retries a 429 once after its Retry-After, and a dropped connection twice,
    but never a timeout (slack-sdk's default handler retries those too, so one hung call took three
    times the timeout). slack-sdk applies `timeout` only to sessions it opens itself: the shared
    session must carry it (see `api_session`). Without a token (many workspaces) each call names
    its token, or Bolt sets one per request."""
    return AsyncWebClient(
        token=token,
        logger=logger,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        session=session,
        timeout=WEB_API_TIMEOUT,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            AsyncConnectionErrorRetryHandler(max_retry_count=2, error_types=[ServerDisconnectedError, ClientOSError]),
        ],
    )


def api_session(*, connections: int = 100) -> aiohttp.ClientSession:
    """The one pooled session for Web API calls and response_url replies: kept-alive connections,
    at most `connections` at once, and WEB_API_TIMEOUT on every request."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT),
        connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=30),
    )


def api_error_code(exc: SlackApiError) -> str:
    """Slack's error code, or http_<status> when the body was not Slack's JSON (a proxy's plain-text
    502, an HTML page labelled application/json): slack-sdk then leaves a str body, or the raw
    aiohttp response, on the exception."""
    response = exc.response
    data = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return str(code or f"http_{status}")


class SlackPoster:
    platform = PLATFORM

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    @property
    def client(self) -> AsyncWebClient:
        return self._client

    async def post(self, channel: ChannelRef, message: Message) -> str:
        data = await self._send("chat.postMessage", channel=channel, message=message)
        return str(data["ts"])

    async def update(self, channel: ChannelRef, message_id: str, message: Message) -> None:
        await self._send("chat.update", channel=channel, message=message, ts=message_id)

    async def reply(self, channel: ChannelRef, message_id: str, message: Message) -> str:
        data = await self._send("chat.postMessage", channel=channel, message=message, thread_ts=message_id)
        return str(data["ts"])

    async def _send(self, method: str, *, channel: ChannelRef, message: Message, **extra: str) -> dict:
        rendered = render(message)
        body: dict = {"channel": channel.channel, "text": rendered.text, "blocks": rendered.blocks, **extra}
        if method == "chat.postMessage":
            body.update(unfurl_links=False, unfurl_media=False)
        context = {"platform": PLATFORM, "workspace": channel.workspace, "channel": channel.channel}
        try:
            response = await self._client.api_call(method, json=body)
        except SlackApiError as exc:
            code = api_error_code(exc)
            permanent = not transient(code) and getattr(exc.response, "status_code", 200) != 429
            log.warning("Slack %s failed in channel %s: %s", method, channel.channel, code, extra=context)
            raise PostError(code, permanent=permanent) from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"network error ({type(exc).__name__})"
            log.warning("Slack %s failed in channel %s: %s", method, channel.channel, reason, extra=context)
            raise PostError(reason, permanent=False) from exc
        return response.data if isinstance(response.data, dict) else {}
