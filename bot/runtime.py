"""Wiring: load the bank, open the store, build the study service. Shared by every entry point."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from dataclasses import dataclass

from bot.config import Settings
from bot.core.clock import Clock, SystemClock
from bot.core.lookup import LookupIndex
from bot.core.models import Bank
from bot.core.ports import Store, StoreConfigError, StoreError
from bot.core.service import StudyService
from bot.render.charts import ChartRenderer
from content.loader import load_bank_cached
from storage import open_store

log = logging.getLogger(__name__)
DB_WAIT = 30.0  # seconds a database server that is still starting is waited for
MEMORY_EVERY = 10.0  # seconds between checks for a burst of answers that is over
MEMORY_QUIET = 5.0  # seconds without an answer batch after which a burst counts as over
YOUNG_GC = 10_000  # allocations between collections of the young generation (CPython's default: 700)



@dataclass
class Runtime:
    settings: Settings
    bank: Bank
    store: Store
    service: StudyService
    clock: Clock
    charts: ChartRenderer | None = None  # None with STUDYBOT_CHARTS=false: messages go out as text only

    async def aclose(self) -> None:
        if self.charts is not None:
            self.charts.close()
        await self.store.aclose()


def describe_database(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url
    # Never print a password: keep the scheme and the host part after '@', drop any query
    # (libpq URLs may carry ?password=...).
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rsplit('@', 1)[-1].split('?', 1)[0]}"


async def start_store(store: Store, *, wait: float = DB_WAIT, interval: float = 2.0) -> None:
    """Start the store; a database server that is not up yet (a container starting beside studybot)
    is retried for up to `wait` seconds. A wrong URL (StoreConfigError) fails at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            await store.start()
            return
        except StoreConfigError:
            raise
        except StoreError as exc:
            if not getattr(store, "RETRY_ON_START", False) or loop.time() + interval > deadline:
                raise
            log.warning("the database is not reachable yet (%s); retrying in %.0f s", exc, interval)
            await asyncio.sleep(interval)


async def start_runtime(settings: Settings, *, clock: Clock | None = None, announce: bool = True) -> Runtime:
    """Raises content.BankError for an invalid bank and StoreError when the database fails."""
    bank = load_bank_cached(settings.studybot_content_dir)
    store = open_store(settings.studybot_database_url)
    if announce:
        print(f"studybot: database {describe_database(settings.studybot_database_url)}", file=sys.stderr)
    await start_store(store)
    from bot.core.regrade import regrade_changed_keys

    try:
        await regrade_changed_keys(bank, store)
    except BaseException:  # no Runtime to close yet: the started store (a pool) is closed here
        await store.aclose()
        raise
    clock = clock or SystemClock()
    service = StudyService(bank=bank, store=store, clock=clock, lookup=LookupIndex(bank), admins=settings.admins)
    freeze_heap()
    # The renderer imports matplotlib only when it draws its first chart.
    charts = ChartRenderer() if settings.studybot_charts else None
    return Runtime(settings=settings, bank=bank, store=store, service=service, clock=clock, charts=charts)


def freeze_heap() -> None:
    """Move what start-up built (the bank, the lookup index, the imported modules) out of the
    garbage collector's sight: a full collection then takes microseconds instead of pausing a
    lookup or a burst of answers for ~10 ms while it walks objects that live for the whole run.

    Then collect the young generation every YOUNG_GC allocations instead of CPython's 700. In a
    burst, 200 requests in flight each keep a few hundred objects (coroutines, frames, headers)
    alive for a fraction of a second: at 700, nearly every collection walked them, promoted them
    and so set off the older generations' collections too - ~1.6 s of a 10,000-click burst's main
    thread in 940 young, 84 middle and 8 full collections, against ~0.1 s at 10,000 (26 young,
    one full). What dies before a collection is freed by its reference count, never walked."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC, *gc.get_threshold()[1:])


def release_process_memory() -> None:
    """Free what a burst left behind: a collection of the young objects, then glibc's free pages
    back to the OS (malloc_trim; Python's own allocator returns only arenas that are wholly empty).
    Nothing beyond the collection where the C library has no malloc_trim."""
    gc.collect()
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


async def release_memory_after_bursts(store: Store, *, every: float = MEMORY_EVERY, quiet: float = MEMORY_QUIET) -> None:
    """Runs for the life of `studybot run`: once the answers of a burst have stopped for `quiet`
    seconds, the store gives back its caches and the process its free memory, so a daily
    question's minute of clicks does not leave the process at its peak size all day."""
    while True:
        await asyncio.sleep(every)
        try:
            if await store.release_memory(quiet=quiet):
                release_process_memory()
        except Exception:  # noqa: BLE001 - memory hygiene must never stop the bot
            log.exception("releasing memory after a burst failed")
