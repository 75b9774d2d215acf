"""Group commit for answers: callers queue a row and wait; one writer task stores the queue in
batches, so a burst of thousands of clicks costs tens of transactions while every answer is still
durable before its caller hears the outcome. A failing batch is retried row by row, so one bad row
(a vanished post) fails only its own caller.

An answer that waited in the queue longer than `max_wait` seconds is refused unwritten (StoreError):
the platform waits at most 3 s for the click's acknowledgement, so past that point it is better to
tell the member "not recorded, try again" in the same interaction than to store an answer they
were never told about. An answer the writer has taken is always waited for."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from bot.core.ports import AnswerIn, AnswerOutcome, StoreError

log = logging.getLogger(__name__)

# (answer, token, waiter): the token is unique per call, so reading it back tells a first answer
# (our token is stored) from a repeat (someone else's is).
Item = tuple[AnswerIn, str, asyncio.Future]
MAX_WAIT = 2.0  # seconds an answer may wait for the writer (Slack and Discord allow 3 s to acknowledge)
WriteBatch = Callable[[list[Item]], Awaitable[list[AnswerOutcome]]]


class GroupCommit:
    def __init__(
        self, write_batch: WriteBatch, *, batch: int = 500, name: str = "answer-writer",
        token: Callable[[], str] | None = None, max_wait: float = MAX_WAIT,
    ) -> None:
        self._write_batch = write_batch
        self._token = token or (lambda: uuid.uuid4().hex)
        self._batch = batch
        self._max_wait = max_wait
        self._queued_at: dict[asyncio.Future, float] = {}
        self._name = name
        self._queue: asyncio.Queue[Item] | None = None
        self._task: asyncio.Task | None = None
        self._batches = 0  # batches written so far
        self._reported = 0  # batches written when burst_over last said True
        self._last_batch = 0.0  # when the last one was (the event loop's clock)

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._drain(), name=self._name)

    async def aclose(self) -> None:
        """Let queued answers land, then stop the writer."""
        if self._task is None:
            return
        if self._queue is not None:
            await self._queue.join()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None
        self._queue = None

    async def submit(self, answer: AnswerIn) -> AnswerOutcome:
        if self._queue is None:
            raise StoreError("the store is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._queued_at[future] = loop.time()
        await self._queue.put((answer, self._token(), future))
        return await future

    async def _drain(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            batch = self._drop_late(batch)
            if batch:
                await self._settle(batch)

    def _drop_late(self, batch: list[Item], *, reason: Exception | None = None) -> list[Item]:
        """Refuse, unwritten, the answers that waited past max_wait (their callers gave up on time)."""
        assert self._queue is not None
        cutoff = asyncio.get_running_loop().time() - self._max_wait
        kept = []
        for item in batch:
            fut = item[2]
            if self._queued_at.get(fut, cutoff) < cutoff or fut.done():
                self._queued_at.pop(fut, None)
                if not fut.done():
                    fut.set_exception(StoreError(f"the database did not take the answer in time ({reason or 'busy'})"))
                self._queue.task_done()
            else:
                kept.append(item)
        if len(kept) < len(batch):
            log.error("%d answer(s) not recorded: the database did not take them within %.1f s",
                      len(batch) - len(kept), self._max_wait)
        return kept

    def burst_over(self, quiet: float) -> bool:
        """True, once per burst, when batches were written since the last True and none in the
        last `quiet` seconds."""
        if self._batches == self._reported or asyncio.get_running_loop().time() - self._last_batch < quiet:
            return False
        self._reported = self._batches
        return True

    async def _settle(self, batch: list[Item]) -> None:
        assert self._queue is not None
        self._batches += 1
        self._last_batch = asyncio.get_running_loop().time()
        try:
            outcomes = await self._write_batch(batch)
        except Exception as exc:  # noqa: BLE001 - every waiter must hear about the failure
            if len(batch) > 1:
                # One by one, so a bad row fails alone; the rows whose time is up are refused
                # (a locked database would otherwise cost its timeout once per row).
                for item in batch:
                    if self._drop_late([item], reason=exc):
                        await self._settle([item])
                return
            log.error("answer not recorded: %s", exc)
            err = exc if isinstance(exc, StoreError) else StoreError(str(exc))
            fut = batch[0][2]
            self._queued_at.pop(fut, None)
            if not fut.done():
                fut.set_exception(err)
            self._queue.task_done()
            return
        for (_, _, fut), outcome in zip(batch, outcomes, strict=True):
            self._queued_at.pop(fut, None)
            if not fut.done():
                fut.set_result(outcome)
            self._queue.task_done()


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalesced(Generic[K, V]):
    """Reads of one kind asked in the same turn of the event loop become one read of them all
    (`read_many`, keys -> found values): a burst of clicks asks every member's time zone at once.
    What is found (None where nothing is) goes to `remember`, unless a write bumped `epoch`
    while the read was under way: its value would be older than the write's."""

    def __init__(self, read_many: Callable[[list[K]], Awaitable[dict[K, V]]], *,
                 remember: Callable[[K, V | None], None]) -> None:
        self._read_many, self._remember = read_many, remember
        self._wanted: dict[K, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None
        self.epoch = 0

    async def get(self, key: K) -> V | None:
        wanted = self._wanted.get(key)
        if wanted is None:
            wanted = self._wanted[key] = asyncio.get_running_loop().create_future()
            if self._reader is None:
                self._reader = asyncio.create_task(self._read())
        return await asyncio.shield(wanted)

    async def _read(self) -> None:
        await asyncio.sleep(0)  # let every caller of this loop turn join the read
        wanted, self._wanted = self._wanted, {}
        self._reader = None
        epoch = self.epoch
        try:
            found = await self._read_many(list(wanted))
        except Exception as exc:  # noqa: BLE001 - every waiter must hear about the failure
            err = exc if isinstance(exc, StoreError) else StoreError(str(exc))
            for fut in wanted.values():
                if not fut.done():
                    fut.set_exception(err)
            return
        for key, fut in wanted.items():
            if epoch == self.epoch:
                self._remember(key, found.get(key))
            if not fut.done():
                fut.set_result(found.get(key))
