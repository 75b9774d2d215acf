"""The Poster port on Slack's Web API: post, update and reply, with Slack errors mapped to PostError.

Rate limits (429, honouring Retry-After) and dropped connections are retried by slack-sdk's retry
handlers on the client (see `web_client`); what still fails is logged with the channel and reason
and raised as PostError, permanent when a person has to act (bot not invited, channel archived...).
"""

from __future__ import annotations

import logging

import aiohttp
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
# Slack error codes that may pass by themselves; every other Slack error needs a person to act
# (channel_not_found, not_in_channel, is_archived, missing_scope, invalid_auth, invalid_blocks...).
TRANSIENT = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
    "team_added_to_org",
})


def web_client(
    *, token: str | None, base_url: str, session: aiohttp.ClientSession | None, logger: logging.Logger | None = None,
) -> AsyncWebClient:
    """The Web API client: retries a 429 once after its Retry-After, and connection errors twice.
    Without a token (many workspaces) each call names its token, or Bolt sets one per request."""
    return AsyncWebClient(
        token=token,
        logger=logger,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        session=session,
        timeout=20,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def api_error_code(exc: SlackApiError) -> str:
    response = exc.response
    code = response.get("error") if response is not None else None
    status = getattr(response, "status_code", None)
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

    async def reply(self, channel: ChannelRef, message_id: str, message: Message, *, thread: str | None = None) -> str:
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
            permanent = code not in TRANSIENT and getattr(exc.response, "status_code", 200) != 429
            log.warning("Slack %s failed in channel %s: %s", method, channel.channel, code, extra=context)
            raise PostError(code, permanent=permanent) from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"network error ({type(exc).__name__})"
            log.warning("Slack %s failed in channel %s: %s", method, channel.channel, reason, extra=context)
            raise PostError(reason, permanent=False) from exc
        return response.data if isinstance(response.data, dict) else {}
