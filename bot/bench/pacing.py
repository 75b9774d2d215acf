"""A client-side rate limit for a Poster: a token bucket shared by every call, plus a pause for
the whole bucket when the platform still answers "rate limited" (it then also said when to come
back; the Slack client waits for that Retry-After itself before giving up once).

A platform's global limit (Slack's per-workspace tiers, Discord's 50 requests/s per bot) is a
property of the platform, not of one channel, so the bucket wraps the adapter's Poster as a whole.
"""

from __future__ import annotations

import asyncio
import time

from bot.core.messages import Message
from bot.core.models import ChannelRef
from bot.core.ports import Poster, PostError

RATE_LIMITED = frozenset({"ratelimited", "rate_limited", "http_429"})


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; `take` waits for one, first come first served."""

    def __init__(self, *, rate: float, burst: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate, self.burst = rate, max(1.0, burst)
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """Spend the saved tokens and more: nobody sends for `seconds`."""
        self._tokens = min(self._tokens, 0.0) - seconds * self.rate


class PacedPoster:
    """Wraps a Poster so that all its calls together stay under `rate` requests a second."""

    def __init__(self, inner: Poster, *, rate: float, burst: float = 1.0, retries: int = 3) -> None:
        self.inner = inner
        self.platform = inner.platform
        self.bucket = TokenBucket(rate=rate, burst=burst)
        self.retries = retries

    async def _paced(self, call):
        for attempt in range(self.retries + 1):
            await self.bucket.take()
            try:
                return await call()
            except PostError as exc:
                if exc.reason not in RATE_LIMITED or attempt == self.retries:
                    raise
                self.bucket.pause(1.0)
        raise AssertionError("unreachable")  # pragma: no cover

    async def post(self, channel: ChannelRef, message: Message) -> str:
        return await self._paced(lambda: self.inner.post(channel, message))

    async def update(self, channel: ChannelRef, message_id: str, message: Message) -> None:
        await self._paced(lambda: self.inner.update(channel, message_id, message))

    async def reply(self, channel: ChannelRef, message_id: str, message: Message, *, thread: str | None = None) -> str:
        return await self._paced(lambda: self.inner.reply(channel, message_id, message))
