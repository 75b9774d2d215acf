"""`studybot run`: the configured platform adapters and the scheduler on one event loop.

Slack (Socket Mode or HTTP), Discord and the scheduler share the loop; SIGINT/SIGTERM stop them
in order (scheduler first, so no post starts while adapters close).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.config import Settings
from bot.core.ports import Poster
from bot.runtime import Runtime, release_memory_after_bursts
from bot.scheduler import DailyScheduler

log = logging.getLogger(__name__)


def build_adapters(runtime: Runtime) -> dict[str, Poster]:
    settings: Settings = runtime.settings
    adapters: dict[str, Poster] = {}
    if settings.slack_enabled:
        from bot.adapters.slack import SlackAdapter

        adapters["slack"] = SlackAdapter(service=runtime.service, settings=settings, charts=runtime.charts)
    if settings.discord_enabled:
        from bot.adapters.discord import DiscordAdapter

        adapters["discord"] = DiscordAdapter(service=runtime.service, settings=settings, charts=runtime.charts)
    return adapters


def health_check(runtime: Runtime, adapters: dict[str, Poster]):
    """/healthz: 200 when the store answers and every platform adapter is connected."""

    async def check() -> bool:
        await runtime.store.get_kv("healthz")  # raises StoreError when the database is gone
        for adapter in adapters.values():
            connected = getattr(adapter, "connected", None)
            if connected is not None and not await connected():
                return False
        return True

    return check


async def serve(runtime: Runtime, *, stop: asyncio.Event | None = None) -> int:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not on the main thread
            pass
    adapters = build_adapters(runtime)
    check = health_check(runtime, adapters)
    for adapter in adapters.values():
        if hasattr(adapter, "health_check"):
            adapter.health_check = check  # type: ignore[attr-defined]
    started: list[Poster] = []
    scheduler: DailyScheduler | None = None
    hygiene: asyncio.Task | None = None
    try:
        for name, adapter in adapters.items():
            await adapter.start()  # type: ignore[attr-defined]
            started.append(adapter)
            log.info("%s adapter started", name)
        scheduler = DailyScheduler(
            service=runtime.service, posters=adapters, clock=runtime.clock,
            catchup_hours=runtime.settings.studybot_catchup_hours,
        )
        await scheduler.start()
        hygiene = asyncio.create_task(release_memory_after_bursts(runtime.store), name="release-memory")
        log.info("studybot is running (%s); Ctrl-C to stop", ", ".join(adapters))
        await stop.wait()
    finally:
        if hygiene is not None:
            hygiene.cancel()
        if scheduler is not None:
            await scheduler.aclose()
        for adapter in reversed(started):
            try:
                await adapter.aclose()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - close the rest regardless
                log.exception("closing an adapter failed")
    return 0
