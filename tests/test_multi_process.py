"""Several bot processes on one PostgreSQL database: exactly one daily post and one reveal per
channel per day, with two real OS processes and with two schedulers on two pools in one process."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.clock import FakeClock
from bot.core.models import ChannelRef
from bot.core.ports import Subscription
from bot.core.service import StudyService
from bot.core.timeutil import DAY_NAMES
from bot.scheduler import DailyScheduler
from tests import pg_fixtures
from tests.conftest import ROOT
from tests.pg_fixtures import Backend
from tests.sched_harness import FakePoster, patch_apscheduler_clock, run_until

pg_database = pg_fixtures.pg_database
postgres_backend = pg_fixtures.postgres_backend

EVERY_DAY = ",".join(DAY_NAMES)
SUBS = [
    Subscription(channel=ChannelRef("fake", "W1", "berlin"), time="09:00", timezone="Europe/Berlin",
                 days=EVERY_DAY, reveal="17:00"),
    Subscription(channel=ChannelRef("fake", "W1", "tokyo"), time="07:30", timezone="Asia/Tokyo",
                 days=EVERY_DAY, reveal="12:00"),
    Subscription(channel=ChannelRef("fake", "W1", "chicago"), time="10:15", timezone="America/Chicago",
                 days="mon,wed,fri", reveal="18:00"),
]
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
END = datetime(2026, 3, 5, 0, 0, tzinfo=UTC)
# Posts due inside [START, END): Berlin Mar 2-4, Tokyo Mar 2-4 (07:30 JST = 22:30 UTC the day
# before, so Mar 5 JST too), Chicago Mon Mar 2 and Wed Mar 4.
EXPECTED = {"berlin": 3, "tokyo": 4, "chicago": 2}


def check_once(posts: list[tuple[str, str, str]], updates: list[str]) -> None:
    tz = {s.channel.channel: ZoneInfo(s.timezone) for s in SUBS}
    per_day = Counter((ch, datetime.fromisoformat(at).astimezone(tz[ch]).date()) for ch, at, _ in posts)
    assert per_day and max(per_day.values()) == 1, f"a channel got two posts on one day: {per_day}"
    assert Counter(ch for ch, _ in per_day) == EXPECTED
    assert len(updates) == len(set(updates)), "a post was revealed twice"
    posted = {mid for _, _, mid in posts}
    assert set(updates) <= posted
    assert len(updates) >= len(posts) - len(SUBS)  # all but (at most) each channel's last are revealed


async def seed(store) -> None:
    for s in SUBS:
        await store.put_subscription(s)


async def test_two_os_processes_post_and_reveal_once(postgres_backend: Backend, tmp_path):
    store = postgres_backend.make()
    await store.start()
    await seed(store)
    go = tmp_path / "go"
    outs = [tmp_path / f"out{i}.json" for i in range(2)]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.two_process_worker", postgres_backend.url, str(out), START.isoformat(),
            END.isoformat(), str(go), str(peer), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for out, peer in zip(outs, reversed(outs), strict=True)
    ]
    try:
        deadline = time.monotonic() + 20
        while not all(p.with_name(p.name + ".ready").exists() for p in outs):
            if any(proc.returncode is not None for proc in procs) or time.monotonic() > deadline:
                raise AssertionError(f"the worker processes did not start: {[await p.communicate() for p in procs]}")
            await asyncio.sleep(0.02)
        go.touch()  # both are connected and migrated: let them race
        results = [await asyncio.wait_for(proc.communicate(), timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err.decode()[-3000:]
    runs = [json.loads(out.read_text()) for out in outs]
    posts = [tuple(p) for run in runs for p in run["posts"]]
    check_once(posts, [u for run in runs for u in run["updates"]])
    # The database agrees: one delivered daily post per channel and day, each revealed but the last.
    stored = [row async for row in store.export_table("posts")]
    assert sorted(row["message_id"] for row in stored) == sorted(mid for _, _, mid in posts)
    assert len(await store.posts_to_reveal(before=END.timestamp())) <= len(SUBS)
    await store.aclose()


async def test_two_schedulers_with_their_own_pools_post_once(postgres_backend: Backend, bank, monkeypatch):
    # (test_scheduler.py runs the same on one SQLite file.)
    clock = FakeClock(START)
    patch_apscheduler_clock(monkeypatch, clock)
    s1, s2 = postgres_backend.make(), postgres_backend.make()
    await s1.start()
    await s2.start()
    await seed(s1)
    poster = FakePoster(clock)
    scheds = [
        DailyScheduler(service=StudyService(bank=bank, store=s, clock=clock), posters={"fake": poster}, clock=clock,
                       sweep_minutes=15)
        for s in (s1, s2)
    ]
    for s in scheds:
        await s.start()
    await run_until(clock, scheds, END)
    for s in scheds:
        await s.aclose()
    check_once([(c.channel, at.isoformat(), mid) for c, _, at, mid in poster.daily_posts()],
               [mid for _, mid, _ in poster.updates])
    await s1.aclose()
    await s2.aclose()
