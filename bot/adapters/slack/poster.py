"""The Poster port on Slack's Web API: post, update and reply, with Slack errors mapped to PostError.

Rate limits (429, honouring Retry-After) and dropped connections are retried by slack-sdk's retry
handlers on the client (see `web_client`); what still fails is logged with the channel and reason
and raised as PostError, permanent when a person has to act (bot not invited, channel archived...).
"""

from __future__ import annotations

import logging
from dataclasses import replace

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
METADATA_EVENT = "studybot_post"
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
    """The one pooled session for Web API calls (response_url replies: hooks.HookClient): kept-alive connections,
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
        extra = {}
        if message.post_id is not None:
            # The post id travels in the message's metadata, so a retry after a crash can find it.
            extra["metadata"] = {"event_type": METADATA_EVENT, "event_payload": {"post_id": message.post_id}}
        data = await self._send("chat.postMessage", channel=channel, message=message, **extra)
        return str(data["ts"])

    async def open_discussion(self, channel: ChannelRef, message_id: str, message: Message) -> str | None:
        """The first thread reply under a daily post; the thread is the post's (its ts). The title
        names a Discord thread; in a Slack thread the line says it all."""
        await self.reply(channel, message_id, replace(message, title=""))
        return message_id

    async def find_post(self, channel: ChannelRef, post) -> str | None:
        """The ts of an earlier delivery of `post` among the channel's messages since it was claimed
        (conversations.history, scopes channels:history / groups:history); PostError without them."""
        try:
            response = await self._client.api_call("conversations.history", params={
                "channel": channel.channel, "oldest": f"{post.created_at - 60:.6f}", "limit": 100,
                "include_all_metadata": "true",
            })
        except SlackApiError as exc:
            raise PostError(api_error_code(exc), permanent=True) from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PostError(f"network error ({type(exc).__name__})", permanent=False) from exc
        for found in (response.data if isinstance(response.data, dict) else {}).get("messages") or []:
            meta = found.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT and (meta.get("event_payload") or {}).get("post_id") == post.id:
                return str(found.get("ts"))
            values = [str(e.get("value", "")) for b in found.get("blocks") or [] if b.get("type") == "actions"
                      for e in b.get("elements") or []]
            if any(v.startswith(f"{post.id}:") for v in values):
                return str(found.get("ts"))
        return None

    async def update(self, channel: ChannelRef, message_id: str, message: Message) -> None:
        await self._send("chat.update", channel=channel, message=message, ts=message_id)

    async def reply(self, channel: ChannelRef, message_id: str, message: Message, *, thread: str | None = None) -> str:
        # On Slack the discussion is the post's own thread: `thread` is the post's ts, as message_id.
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
            status = getattr(exc.response, "status_code", None) or getattr(exc.response, "status", None) or 200
            # A 5xx (a proxy's error page too) or a 429 passes by itself: only Slack's own refusals need a person.
            permanent = not transient(code) and status != 429 and status < 500
            log.warning("Slack %s failed in channel %s: %s", method, channel.channel, code, extra=context)
            raise PostError(code, permanent=permanent) from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"network error ({type(exc).__name__})"
            log.warning("Slack %s failed in channel %s: %s", method, channel.channel, reason, extra=context)
            raise PostError(reason, permanent=False) from exc
        return response.data if isinstance(response.data, dict) else {}
