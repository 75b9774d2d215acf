"""Cheap calls out to Slack: replies to a payload's response_url over kept-alive connections
(hooks.HookClient; Bolt's `respond` opens a new session, and so a new connection, per reply), and
members' profiles (users.info) cached with a time to live, failures too, one call per member at
a time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.adapters.slack.hooks import HookClient
from bot.core.models import MemberRef


@dataclass(frozen=True, slots=True)
class ReplyResult:
    status_code: int
    body: str


class ResponseUrl:
    """Called like Bolt's `respond`: posts a message to one response_url through the adapter's
    HookClient (kept-alive connections, a fraction of aiohttp's CPU per request)."""

    def __init__(self, url: str, hooks: HookClient) -> None:
        self.url = url
        self._hooks = hooks

    async def __call__(self, *, text: str, blocks: list[dict] | None = None, replace_original: bool = False,
                       response_type: str = "ephemeral") -> ReplyResult:
        body: dict[str, Any] = {"text": text, "response_type": response_type, "replace_original": replace_original}
        if blocks:
            body["blocks"] = blocks
        reply = await self._hooks.post_json(self.url, json.dumps(body).encode())
        return ReplyResult(reply.status, reply.body.decode("utf-8", errors="replace")[:500])


@dataclass(frozen=True, slots=True)
class Profile:
    is_admin: bool = False
    tz: str | None = None


Fetch = Callable[[], Awaitable[Profile | None]]
# A workspace's member directory (users.list), page by page: {member: profile} per page. Raises to
# give up (members not found yet are then looked up one by one).
Directory = Callable[[], AsyncIterator[dict[MemberRef, Profile]]]

BURST = 20  # one workspace's members looked up at once past which its directory is read instead


class ProfileCache:
    """Profiles by member: fresh for `ttl` seconds; a failed lookup (None) is remembered as a plain
    member for `negative_ttl` so a failing users.info is not asked on every click. Concurrent
    requests for one member share one lookup; a caller that stops waiting leaves it running, so
    the next request finds the result.

    A burst of unknown members (the first daily question of a large workspace: more than `burst`
    of one workspace being looked up at once) reads the workspace's directory instead, a page of
    up to a thousand members per call, where users.info would cost one call per member (and Slack
    allows users.info about a hundred calls a minute). Members wait for the page that holds them;
    the ones the directory does not hold (or all, when it fails) are then looked up one by one.
    A workspace's directory is read at most once per `ttl` (per `negative_ttl` after a failure)."""

    def __init__(self, *, ttl: float = 3600.0, negative_ttl: float = 300.0, size: int = 50_000,
                 burst: int = BURST, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._negative_ttl, self._size, self._clock = ttl, negative_ttl, size, clock
        self._burst = burst
        self._entries: OrderedDict[MemberRef, tuple[float, Profile]] = OrderedDict()
        self._pending: dict[MemberRef, asyncio.Task] = {}
        self._looking_up: Counter[str] = Counter()  # workspace -> members looked up one by one now
        self._walks: dict[str, asyncio.Task] = {}  # workspace -> its directory being read
        self._walked: dict[str, float] = {}  # workspace -> until when its directory is not read again
        self._found: dict[MemberRef, asyncio.Future] = {}  # members waiting for the directory
        self._shared: dict[tuple[bool, str | None], Profile] = {}  # one Profile per (admin, tz)

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, member: MemberRef) -> Profile | None:
        entry = self._entries.get(member)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def start(self, member: MemberRef, fetch: Fetch, directory: Directory | None = None) -> asyncio.Task | None:
        """Begin a lookup unless the profile is fresh or already being looked up."""
        if self.peek(member) is not None:
            return None
        task = self._pending.get(member)
        if task is None:
            walk = self._walk_for(member.workspace, directory)
            if walk is not None:
                # Registered now, not when the task first runs: a page read meanwhile finds it.
                waiter = self._found.setdefault(member, asyncio.get_running_loop().create_future())
                coro = self._from_directory(member, waiter, walk, fetch)
            else:
                self._looking_up[member.workspace] += 1
                coro = self._fetch(member, fetch)
            task = self._pending[member] = asyncio.create_task(coro)
        return task

    async def get(self, member: MemberRef, fetch: Fetch, *, wait: float | None,
                  directory: Directory | None = None) -> Profile:
        """The member's profile, waiting at most `wait` seconds for a lookup; a plain member after that."""
        cached = self.peek(member)
        if cached is not None:
            return cached
        task = self.start(member, fetch, directory)
        assert task is not None
        try:
            return await asyncio.wait_for(asyncio.shield(task), wait)
        except TimeoutError:
            return Profile()

    def _walk_for(self, workspace: str, directory: Directory | None) -> asyncio.Task | None:
        """The workspace's directory read this lookup should wait for: the one under way, or a new
        one when a burst of its members is being looked up; None to use users.info."""
        walk = self._walks.get(workspace)
        if walk is not None or directory is None:
            return walk
        if self._looking_up[workspace] < self._burst or self._walked.get(workspace, float("-inf")) > self._clock():
            return None
        walk = self._walks[workspace] = asyncio.create_task(self._walk(workspace, directory))
        return walk

    async def _walk(self, workspace: str, directory: Directory) -> None:
        ttl = self._ttl
        try:
            async for page in directory():
                now = self._clock()
                for member, profile in page.items():
                    self._remember(member, profile, now + self._ttl)
                    waiter = self._found.pop(member, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(self._entries[member][1])
        except Exception:  # noqa: BLE001 - any failure: the members left are looked up one by one
            ttl = self._negative_ttl
        finally:
            self._walked[workspace] = self._clock() + ttl
            self._walks.pop(workspace, None)

    async def _from_directory(self, member: MemberRef, waiter: asyncio.Future, walk: asyncio.Task,
                              fetch: Fetch) -> Profile:
        try:
            await asyncio.wait([waiter, walk], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._found.pop(member, None)
        if waiter.done():
            self._pending.pop(member, None)
            return waiter.result()
        self._looking_up[member.workspace] += 1
        return await self._fetch(member, fetch)  # not in the directory: a member who joined since

    async def _fetch(self, member: MemberRef, fetch: Fetch) -> Profile:
        """users.info for one member (counted in _looking_up by the caller)."""
        try:
            profile = await fetch()
        except Exception:  # noqa: BLE001 - any failure is "unknown", remembered briefly
            profile = None
        finally:
            self._pending.pop(member, None)
            self._looking_up[member.workspace] -= 1
            if not self._looking_up[member.workspace]:
                del self._looking_up[member.workspace]
        ttl = self._ttl if profile is not None else self._negative_ttl
        self._remember(member, profile or Profile(), self._clock() + ttl)
        return self._entries[member][1]

    def _remember(self, member: MemberRef, profile: Profile, until: float) -> None:
        shared = self._shared.setdefault((profile.is_admin, profile.tz), profile)
        self._entries[member] = (until, shared)
        self._entries.move_to_end(member)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
