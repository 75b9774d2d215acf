"""One bot process for tests/test_multi_process.py: a StudyService and a DailyScheduler on a
PostgreSQL store, a fake platform, and a fake clock that starts at the same instant as its twin's.

    python -m tests.two_process_worker URL OUT START END GO PEER

It opens the store (applying migrations), writes OUT + ".ready", waits for the file GO so both
processes run together, steps its clock from START to END through every due job, and writes what
it posted and revealed to OUT as JSON.

Real processes share one clock; two fake clocks stepped as fast as each process can would drift
apart under load (one a day ahead of the other, seeing the other's two-minute leases expired while
it is still working). So the twins step in lockstep: each publishes the instant of its next due job
(OUT + ".next") and runs it only once the other's next instant is not earlier (or the other is done).
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
from tests.sched_harness import FakePoster, patch_apscheduler_clock, settle

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


DONE = "done"


def _publish(out: Path, value: str) -> None:
    tmp = Path(str(out) + ".next.tmp")
    tmp.write_text(value)
    os.replace(tmp, Path(str(out) + ".next"))  # the peer never reads half a value


def _peer_next(peer: Path) -> str | None:
    try:
        return Path(str(peer) + ".next").read_text() or None
    except FileNotFoundError:
        return None


async def run_in_lockstep(clock: FakeClock, sched: DailyScheduler, until: datetime, out: Path, peer: Path) -> None:
    """`sched_harness.run_until`, but never ahead of the twin's next due instant."""
    while True:
        nexts = [j.next_run_time for j in sched.aps.get_jobs() if j.next_run_time] if sched.aps else []
        step = min(nexts) if nexts else None
        if step is None or step > until:
            _publish(out, DONE)
            clock.set(until)
            return
        _publish(out, step.isoformat())
        while True:
            other = _peer_next(peer)
            if other == DONE or (other is not None and datetime.fromisoformat(other) >= step):
                break
            await asyncio.sleep(0.001)
        if step > clock.now():
            clock.set(step)
        sched.aps._process_jobs()  # noqa: SLF001 - what APScheduler's own timer calls
        await settle([sched])


async def main(url: str, out: Path, start: datetime, end: datetime, go: Path, peer: Path) -> None:
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
    await run_in_lockstep(clock, sched, end, out, peer)
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
    url, out, start, end, go, peer = sys.argv[1:7]
    asyncio.run(main(url, Path(out), datetime.fromisoformat(start), datetime.fromisoformat(end), Path(go), Path(peer)))
