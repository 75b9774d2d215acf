"""A local fake of a chat platform's Web API with a global rate limit, for the fanout bench: it
answers Slack's chat.postMessage on 127.0.0.1 (port 0), counts every accepted post per channel,
and past `rate` requests a second (a token bucket holding one second's worth) answers 429 with
Retry-After, as Slack does."""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter

from aiohttp import web


class RateLimitedSlack:
    def __init__(self, *, rate: float = 50.0) -> None:
        self.rate = rate
        self.posts: Counter[str] = Counter()  # channel -> accepted posts
        self.requests = 0
        self.refused = 0
        self.first: float | None = None
        self.last: float | None = None
        self._tokens = rate
        self._stamp = time.monotonic()
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def _admit(self) -> float:
        """0 when the request is within the limit, else the seconds until it would be."""
        now = time.monotonic()
        self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    async def _api(self, request: web.Request) -> web.Response:
        self.requests += 1
        wait = self._admit()
        if wait:
            self.refused += 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(max(1, math.ceil(wait)))})
        method = request.match_info["method"]
        body = await request.json() if request.can_read_body else {}
        if method == "chat.postMessage" and not body.get("thread_ts"):
            self.posts[str(body.get("channel"))] += 1
            now = time.monotonic()
            self.first = self.first or now
            self.last = now
        return web.json_response({"ok": True, "channel": body.get("channel"), "ts": f"{next(self._ts)}.000100"})
