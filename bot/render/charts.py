"""Charts to PNG off the event loop, with a bound on the work in flight.

matplotlib is imported by the worker thread the first time a chart is drawn (bot/render/draw.py),
never when this module is imported: a bot that never draws pays nothing at start. One worker
thread draws (matplotlib's state is not meant for concurrent drawing, and the GIL would share one
core anyway); at most `max_waiting` charts wait for it, and past that a chart is refused at once
with ChartBusy, so the adapters send the text version alone instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from bot.core.charts import Chart
from bot.core.ports import StudybotError

log = logging.getLogger(__name__)


class ChartError(StudybotError):
    """A chart could not be drawn (too busy, or matplotlib failed); the text version still goes out."""


class ChartBusy(ChartError):
    pass


def draw_png(chart: Chart) -> bytes:
    """Draw in the calling thread (the worker, `make charts`, the bench)."""
    from bot.render import draw

    return draw.png(chart)


def size_px(chart: Chart) -> tuple[int, int]:
    from bot.render import draw

    return draw.size_px(chart)


class ChartRenderer:
    def __init__(self, *, max_waiting: int = 16, timeout: float = 10.0) -> None:
        self.max_waiting = max_waiting
        self.timeout = timeout
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight = 0
        self.drawn = 0

    async def png(self, chart: Chart) -> bytes:
        """The chart as PNG bytes. Raises ChartBusy when too many charts wait, ChartError when
        drawing fails or takes longer than `timeout`."""
        if self._in_flight >= self.max_waiting + 1:
            raise ChartBusy(f"{self._in_flight} charts are being drawn; sending the text alone")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="studybot-charts")
        self._in_flight += 1
        started = time.perf_counter()
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, draw_png, chart)
            data = await asyncio.wait_for(future, self.timeout)
        except TimeoutError as exc:
            raise ChartError(f"drawing the {chart.kind} chart took over {self.timeout:.0f} s") from exc
        except ChartError:
            raise
        except Exception as exc:  # noqa: BLE001 - any drawing failure costs the picture, not the message
            log.exception("drawing the %s chart failed", chart.kind)
            raise ChartError(f"drawing the {chart.kind} chart failed ({type(exc).__name__})") from exc
        finally:
            self._in_flight -= 1
        self.drawn += 1
        log.debug("drew the %s chart in %.0f ms", chart.kind, 1000 * (time.perf_counter() - started))
        return data

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
