"""What reaches /slack/events before Bolt sees it: a bounded number of requests at a time, the
signature verified on the raw bytes before anything is parsed, and the body checked for the shape
the handlers rely on. A request that fails gets a plain 401 or 400 (never a traceback and never a
500); the log line for it is rate limited, so a flood of junk cannot flood the log too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

import yarl
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024  # Slack's largest payloads (a view submission) are well under this
MAX_SKEW = 5 * 60  # seconds: Slack's own limit for a request's timestamp
IN_FLIGHT = 256  # requests handled at once per process (more wait before their body is read)
FORM = "application/x-www-form-urlencoded"


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verify(*, secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float) -> None:
    """Slack's v0 request signature, on the raw body. Raises Refused(401) when it does not match."""
    if not timestamp or not signature:
        raise Refused(401, "unsigned request")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise Refused(401, "bad timestamp")
    if abs(now - int(timestamp)) > MAX_SKEW:
        raise Refused(401, "stale timestamp")
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={digest}", signature):
        raise Refused(401, "bad signature")


def _str(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 255


def parse_request(body: bytes, *, query: str, headers: Mapping[str, str]) -> AsyncBoltRequest:
    """The Bolt request for a verified body, parsed once (Bolt parses it on construction), checked
    for the shapes studybot's handlers read: a signed but malformed request is a 400 here instead
    of an exception deep inside a handler. Raises Refused(400)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    # NUL in any form: raw, form-encoded, or as a JSON escape (form-encoded or not).
    folded = text.lower()
    if "\x00" in text or "%00" in text or "\\u0000" in folded or "%5cu0000" in folded:
        raise Refused(400, "NUL character in body")
    try:
        request = AsyncBoltRequest(body=text, query=query, headers=dict(headers))
    except (ValueError, UnicodeDecodeError):  # json.JSONDecodeError is a ValueError
        raise Refused(400, "body is not JSON or a form") from None
    except (AttributeError, TypeError, KeyError, IndexError):  # Bolt reads ids out of the wrong types
        raise Refused(400, "body is not a Slack request") from None
    data = request.body
    if not isinstance(data, dict) or not isinstance(data.get("type", ""), str):
        raise Refused(400, "body is not an object")
    if "command" in data:
        for key in ("user_id", "channel_id", "team_id"):
            if not _str(data.get(key)):
                raise Refused(400, f"command without {key}")
    elif "payload=" in text or "actions" in data:
        check_payload(data)
    return request


def interactive_payload(body: bytes, content_type: str) -> dict | None:
    """The payload of an interactive request (a form body with the one field `payload`), parsed
    with yarl's C unquoting (about a tenth of the cost of urllib's parse_qsl, which Bolt uses) and
    checked like any payload. None for any other body, or for anything unusual about this one:
    such a request takes the general path (Bolt's parser, parse_request's checks and their 400s)."""
    if content_type != FORM or not body.startswith(b"payload=") or b"&" in body or b"%00" in body:
        return None
    try:
        text = yarl.URL.build(query_string=body.decode("ascii"), encoded=True).query["payload"]
        if "\x00" in text or "\\u0000" in text.lower():
            return None
        payload = json.loads(text)
        check_payload(payload)
    except (UnicodeDecodeError, ValueError, KeyError, Refused):  # json.JSONDecodeError is a ValueError
        return None
    return payload


def check_payload(payload: object) -> None:
    """An interactive payload: an object with a type; a block_actions one names its member and
    carries a list of actions, each with an action id."""
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise Refused(400, "payload is not an object with a type")
    if payload["type"] != "block_actions":
        return
    user = payload.get("user")
    if not isinstance(user, dict) or not _str(user.get("id")):
        raise Refused(400, "block_actions without a user")
    for key in ("team", "channel", "container", "state", "message"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            raise Refused(400, f"block_actions with a malformed {key}")
    url = payload.get("response_url")
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        raise Refused(400, "block_actions with a malformed response_url")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        raise Refused(400, "block_actions without actions")
    for action in actions:
        if not isinstance(action, dict) or not _str(action.get("action_id")):
            raise Refused(400, "block_actions with a malformed action")
        value = action.get("value")
        if value is not None and not isinstance(value, str):
            raise Refused(400, "block_actions with a malformed action value")


class RateLimitedLog:
    """At most one warning per `every` seconds; the others are counted into the next one."""

    def __init__(self, logger: logging.Logger, *, every: float = 10.0) -> None:
        self._log, self._every = logger, every
        self._last = -every
        self._skipped = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self._every:
            self._skipped += 1
            return
        extra = f" (and {self._skipped} more like it)" if self._skipped else ""
        self._last, self._skipped = now, 0
        log.warning(message + extra, *args)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Dispatch = Callable[[AsyncBoltRequest], Awaitable[BoltResponse]]
# An interactive payload's own handler, before Bolt: a response, or None to hand the request to Bolt.
Fast = Callable[[dict], Awaitable[web.StreamResponse | None]]


class Gate:
    """An aiohttp middleware for the events path: bounds the requests handled at once (the rest
    wait for a slot before their body is read, so Slack sees slower acknowledgements, not lost
    work), checks size, signature and shape, and hands the parsed request to Bolt (`dispatch`,
    the app's async_dispatch), so the body is parsed once. An interactive payload goes first to
    `fast` (the adapter's handler for the clicks of a burst), which may answer it without Bolt."""

    def __init__(self, *, path: str, secret: str, dispatch: Dispatch, in_flight: int = IN_FLIGHT,
                 clock: Callable[[], float] = time.time, fast: Fast | None = None) -> None:
        self.path, self._secret, self._clock, self._dispatch = path, secret, clock, dispatch
        self._fast = fast
        self.slots = asyncio.Semaphore(in_flight)
        self._log = RateLimitedLog(log)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != self.path or request.method != "POST":
            return await handler(request)
        async with self.slots:
            try:
                if (request.content_length or 0) > MAX_BODY:
                    raise Refused(413, "body too large")
                body = await request.read()  # cached: Bolt's handler reads the same bytes
                if len(body) > MAX_BODY:
                    raise Refused(413, "body too large")
                headers = request.headers
                verify(secret=self._secret, body=body, timestamp=headers.get("X-Slack-Request-Timestamp"),
                       signature=headers.get("X-Slack-Signature"), now=self._clock())
                if self._fast is not None:
                    payload = interactive_payload(body, request.content_type)
                    if payload is not None:
                        response = await self._fast(payload)
                        if response is not None:
                            return response
                bolt_request = parse_request(body, query=request.query_string, headers=headers)
            except Refused as exc:
                self._log.warning("refused a request to %s: %s", self.path, exc.reason)
                return web.Response(status=exc.status, text=f"{exc.reason}\n")
            return await to_aiohttp_response(await self._dispatch(bolt_request))
