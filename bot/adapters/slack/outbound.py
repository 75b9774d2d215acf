"""Cheap calls out to Slack: replies to a payload's response_url over the adapter's one pooled
HTTP session (Bolt's `respond` opens a new session, and so a new connection, per reply), and
members' profiles (users.info) cached with a time to live, failures too, one call per member at
a time.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.core.models import MemberRef

REPLY_TIMEOUT = 10.0  # seconds for one POST to response_url


@dataclass(frozen=True, slots=True)
class ReplyResult:
    status_code: int
    body: str


class ResponseUrl:
    """Called like Bolt's `respond`: posts a message to one response_url with the shared session."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self._session = session

    async def __call__(self, *, text: str, blocks: list[dict] | None = None, replace_original: bool = False,
                       response_type: str = "ephemeral") -> ReplyResult:
        body: dict[str, Any] = {"text": text, "response_type": response_type, "replace_original": replace_original}
        if blocks:
            body["blocks"] = blocks
        timeout = aiohttp.ClientTimeout(total=REPLY_TIMEOUT)
        async with self._session.post(self.url, json=body, timeout=timeout) as response:
            return ReplyResult(response.status, (await response.text(errors="replace"))[:500])


@dataclass(frozen=True, slots=True)
class Profile:
    is_admin: bool = False
    tz: str | None = None


Fetch = Callable[[], Awaitable[Profile | None]]


class ProfileCache:
    """Profiles by member: fresh for `ttl` seconds; a failed lookup (None) is remembered as a plain
    member for `negative_ttl` so a failing users.info is not asked on every click. Concurrent
    requests for one member share one lookup; a caller that stops waiting leaves it running, so
    the next request finds the result."""

    def __init__(self, *, ttl: float = 3600.0, negative_ttl: float = 300.0, size: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._negative_ttl, self._size, self._clock = ttl, negative_ttl, size, clock
        self._entries: OrderedDict[MemberRef, tuple[float, Profile]] = OrderedDict()
        self._pending: dict[MemberRef, asyncio.Task] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, member: MemberRef) -> Profile | None:
        entry = self._entries.get(member)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def start(self, member: MemberRef, fetch: Fetch) -> asyncio.Task | None:
        """Begin a lookup unless the profile is fresh or already being looked up."""
        if self.peek(member) is not None:
            return None
        task = self._pending.get(member)
        if task is None:
            task = self._pending[member] = asyncio.create_task(self._fetch(member, fetch))
        return task

    async def get(self, member: MemberRef, fetch: Fetch, *, wait: float | None) -> Profile:
        """The member's profile, waiting at most `wait` seconds for a lookup; a plain member after that."""
        cached = self.peek(member)
        if cached is not None:
            return cached
        task = self.start(member, fetch)
        assert task is not None
        try:
            return await asyncio.wait_for(asyncio.shield(task), wait)
        except TimeoutError:
            return Profile()

    async def _fetch(self, member: MemberRef, fetch: Fetch) -> Profile:
        try:
            profile = await fetch()
        except Exception:  # noqa: BLE001 - any failure is "unknown", remembered briefly
            profile = None
        finally:
            self._pending.pop(member, None)
        ttl = self._ttl if profile is not None else self._negative_ttl
        found = profile or Profile()
        self._entries[member] = (self._clock() + ttl, found)
        self._entries.move_to_end(member)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return found
