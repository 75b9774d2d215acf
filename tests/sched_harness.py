"""Drive the real APScheduler on a fake clock: APScheduler reads `datetime.now`, so the tests point
that name (in the modules that use it) at the injected clock, then step time from one job to the next."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import apscheduler.executors.base as aps_executors
import apscheduler.schedulers.base as aps_base
import apscheduler.triggers.interval as aps_interval

from bot.core.clock import FakeClock
from bot.core.messages import Message
from bot.core.models import ChannelRef, MemberRef
from bot.core.ports import PostError
from bot.scheduler import DailyScheduler


def patch_apscheduler_clock(monkeypatch, clock: FakeClock) -> None:
    class ClockDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            now = clock.now()
            return now.astimezone(tz) if tz else now.astimezone(UTC).replace(tzinfo=None)

    for module in (aps_base, aps_executors, aps_interval):
        monkeypatch.setattr(module, "datetime", ClockDatetime)


class FakePoster:
    """A platform that records every call; channels in `failing` raise PostError."""

    platform = "fake"

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.posts: list[tuple[ChannelRef, Message, datetime, str]] = []
        self.updates: list[tuple[ChannelRef, str, Message]] = []
        self.replies: list[tuple[ChannelRef, str, Message]] = []
        self.private: list[tuple[MemberRef, Message, datetime]] = []
        self.closed_dms: set[str] = set()
        self.failing: dict[str, str] = {}
        self.fail_times: int = 0  # fail this many next calls (then succeed)

    async def post(self, channel: ChannelRef, message: Message) -> str:
        if channel.channel in self.failing:
            raise PostError(self.failing[channel.channel], permanent=True)
        if self.fail_times:
            self.fail_times -= 1
            raise PostError("rate limited", permanent=False)
        message_id = f"m{len(self.posts) + 1}"
        self.posts.append((channel, message, self.clock.now(), message_id))
        return message_id

    async def update(self, channel: ChannelRef, message_id: str, message: Message) -> None:
        self.updates.append((channel, message_id, message))

    async def reply(self, channel: ChannelRef, message_id: str, message: Message, *, thread: str | None = None) -> str:
        self.replies.append((channel, message_id, message))
        return f"r{len(self.replies)}"

    async def send_private(self, member: MemberRef, message: Message) -> str:
        if member.user in self.closed_dms:
            raise PostError("Cannot send messages to this user (code 50007)", permanent=True)
        self.private.append((member, message, self.clock.now()))
        return f"dm{len(self.private)}"

    def daily_posts(self, channel: str | None = None) -> list[tuple[ChannelRef, Message, datetime, str]]:
        return [p for p in self.posts if p[1].title.startswith("Daily question") and
                (channel is None or p[0].channel == channel)]


async def settle(scheds: list[DailyScheduler]) -> None:
    for _ in range(3):
        await asyncio.sleep(0)
    for s in scheds:
        await s.drain()


async def run_until(clock: FakeClock, scheds: list[DailyScheduler], until: datetime) -> None:
    """Step the fake clock from one due job to the next (as APScheduler's own timer would)."""
    while True:
        nexts = [j.next_run_time for s in scheds if s.aps for j in s.aps.get_jobs() if j.next_run_time]
        if not nexts:
            clock.set(until)
            return
        step = min(nexts)
        if step > until:
            clock.set(until)
            return
        if step > clock.now():
            clock.set(step)
        for s in scheds:
            if s.aps:
                s.aps._process_jobs()
        await settle(scheds)
