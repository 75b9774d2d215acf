"""fanout: N channel subscriptions due at the same minute, posted by the real DailyScheduler
through the real Slack Poster (slack-sdk) wrapped in a PacedPoster, to a local fake Slack that
enforces a global rate limit. The floor is N / rate seconds; missed and doubled posts are
counted by the fake per channel."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot.adapters.slack.poster import SlackPoster, web_client
from bot.bench.pacing import PacedPoster
from bot.bench.ratelimited import RateLimitedSlack
from bot.bench.report import Progress, Row
from bot.bench.stores import backend, database_url, run_id, started_store
from bot.core.clock import FakeClock
from bot.core.models import Bank, ChannelRef
from bot.core.ports import Subscription
from bot.core.service import StudyService
from bot.scheduler import DailyScheduler

DUE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC


async def run(*, bank: Bank, folder: Path, subscriptions: int = 2_000, rate: float = 50.0,
              progress: bool = True) -> list[Row]:
    url = database_url(folder, "fanout")
    store = await started_store(url)
    workspace = run_id()
    for i in range(subscriptions):
        await store.put_subscription(Subscription(
            channel=ChannelRef("slack", workspace, f"C{i:05d}"), time="09:00", timezone="UTC",
            days="mon,tue,wed,thu,fri,sat,sun", reveal="17:00"))
    clock = FakeClock(DUE)
    service = StudyService(bank=bank, store=store, clock=clock)
    fake = RateLimitedSlack(rate=rate)
    await fake.start()
    meter = Progress("fanout posts", subscriptions, enabled=progress)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
        # A small burst makes up for timer lateness; the platform's own bucket holds a second's worth.
        poster = PacedPoster(SlackPoster(web_client(token="xoxb-bench", base_url=fake.base_url, session=session)),
                             rate=rate, burst=max(1.0, rate / 10))
        scheduler = DailyScheduler(service=service, posters={"slack": poster}, clock=clock)

        async def watch() -> None:
            while True:
                await asyncio.sleep(0.5)
                meter.add(len(fake.posts) - meter.done)

        watcher = asyncio.create_task(watch())
        t0, t_start = time.perf_counter(), time.monotonic()
        await scheduler.start()  # loads the subscriptions and sweeps: every channel is due now
        await scheduler.drain()
        total = time.perf_counter() - t0
        watcher.cancel()
        await scheduler.aclose()
    meter.add(len(fake.posts) - meter.done)
    meter.close()
    await fake.aclose()
    await store.aclose()
    floor = subscriptions / rate
    missed = subscriptions - len(fake.posts)
    doubled = sum(n - 1 for n in fake.posts.values() if n > 1)
    first = (fake.first - t_start) if fake.first is not None else float("nan")
    note = (f"{backend(url)}, {subscriptions:,} subscriptions at {rate:g} req/s (the issue's 5,000 take "
            f"~{5000 / rate:.0f} s: --fanout-subscriptions 5000); first post after {first:.1f} s; "
            f"{fake.refused} answered 429")
    return [
        Row("fanout", "seconds to post all", total, f"<= {1.1 * floor:.1f} (1.1x floor)",
            f"floor {floor:.1f} s", total <= 1.1 * floor, note),
        Row("fanout", "missed posts", missed, "0", "", missed == 0, ""),
        Row("fanout", "doubled posts", doubled, "0", "", doubled == 0, ""),
    ]
