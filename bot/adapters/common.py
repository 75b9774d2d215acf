"""Helpers shared by the platform adapters (no business rules: those live in bot.core)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Coalescer:
    """Runs `refresh(key)` at most once every `interval` seconds per key, however often `poke(key)`
    is called: the first poke refreshes at once, later ones within the interval fold into one
    trailing refresh. Used for the "N answered" count on a daily post.
    """

    def __init__(
        self, refresh: Callable[[int], Awaitable[None]], *, interval: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._refresh = refresh
        self._interval = interval
        self._monotonic = monotonic
        self._last: dict[int, float] = {}
        self._pending: dict[int, asyncio.Task] = {}

    def poke(self, key: int) -> None:
        if key in self._pending:
            return
        wait = max(0.0, self._last.get(key, -1e18) + self._interval - self._monotonic())
        self._pending[key] = asyncio.create_task(self._run(key, wait))

    async def _run(self, key: int, wait: float) -> None:
        try:
            if wait:
                await asyncio.sleep(wait)
            self._last[key] = self._monotonic()
            self._pending.pop(key, None)
            await self._refresh(key)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failed refresh must not break answering
            log.exception("refresh of post %s failed", key)
        finally:
            self._pending.pop(key, None)

    async def aclose(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        self._pending.clear()
