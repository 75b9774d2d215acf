"""One bot process for tests/test_multi_process.py: a StudyService and a DailyScheduler on a
PostgreSQL store, a fake platform, and a fake clock that starts at the same instant as its twin's.

    python -m tests.two_process_worker URL OUT START END GO

It opens the store (applying migrations), writes OUT + ".ready", waits for the file GO so both
processes run together, steps its clock from START to END through every due job, and writes what
it posted and revealed to OUT as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from bot.core.clock import FakeClock
from bot.core.service import StudyService
from bot.scheduler import DailyScheduler
from content.loader import load_bank
from storage.postgres.store import PostgresStore
from tests.sched_harness import FakePoster, patch_apscheduler_clock, run_until

BANK = Path(__file__).parent / "fixtures" / "bank"


class _Patch:
    """What patch_apscheduler_clock needs of pytest's monkeypatch: for the life of this process."""

    @staticmethod
    def setattr(target, name, value) -> None:
        setattr(target, name, value)


class ProcessPoster(FakePoster):
    """Message ids carry the process id, so the two processes' posts never share an id."""

    async def post(self, channel, message):
        mid = f"{os.getpid()}-{await super().post(channel, message)}"
        self.posts[-1] = (*self.posts[-1][:3], mid)
        return mid


async def main(url: str, out: Path, start: datetime, end: datetime, go: Path) -> None:
    clock = FakeClock(start)
    patch_apscheduler_clock(_Patch, clock)
    store = PostgresStore(url)
    await store.start()
    service = StudyService(bank=load_bank(BANK), store=store, clock=clock)
    poster = ProcessPoster(clock)
    sched = DailyScheduler(service=service, posters={"fake": poster}, clock=clock, sweep_minutes=15)
    # Nothing else runs on this loop yet, so a blocking wait for the start signal is fine.
    _ready_then_wait(out, go)
    await sched.start()
    await run_until(clock, [sched], end)
    await sched.aclose()
    await store.aclose()
    _write(out, {
        "posts": [[c.channel, at.isoformat(), mid] for c, _, at, mid in poster.daily_posts()],
        "updates": [mid for _, mid, _ in poster.updates],
    })


def _ready_then_wait(out: Path, go: Path) -> None:
    Path(str(out) + ".ready").touch()
    deadline = time.monotonic() + 30
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)


def _write(out: Path, result: dict) -> None:
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    url, out, start, end, go = sys.argv[1:6]
    asyncio.run(main(url, Path(out), datetime.fromisoformat(start), datetime.fromisoformat(end), Path(go)))
