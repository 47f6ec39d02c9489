"""Shadow work: comparisons that run after the user's response, on a bounded queue that drops when full."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import Context, copy_context

from ..clock import SYSTEM_CLOCK, Clock

__all__ = ["ShadowQueue"]

log = logging.getLogger("turnout.shadow")

Job = Callable[[], Awaitable[None]]


class ShadowQueue:
    """At most `size` waiting jobs and `concurrency` running ones; `submit` never waits.

    `timeout` is what a job may give its subgraph calls (never more than a user request may take);
    a job still running well past it is cancelled. A job that waited more than `max_wait` seconds is dropped
    (and counted) instead of run: compared that late, the new side would answer about other data than the old
    side did, and a queue that lags under load would turn every write in between into a difference.
    """

    def __init__(
        self,
        *,
        size: int = 5000,
        concurrency: int = 16,
        timeout: float = 30.0,
        max_wait: float = 10.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.size = size
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_wait = max_wait
        self.clock = clock
        self._queue: asyncio.Queue[tuple[float, Job, Callable[[], None] | None, Context]] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self.dropped = 0
        self.completed = 0
        self.failed = 0

    def start(self) -> None:
        if self._queue is not None:
            return
        self._queue = asyncio.Queue(self.size)
        self._workers = [
            asyncio.create_task(self._work(), name=f"turnout-shadow-{i}") for i in range(self.concurrency)
        ]

    def submit(self, job: Job, on_stale: Callable[[], None] | None = None) -> bool:
        """Queue a job; False (and counted) when the queue is full or not running. `on_stale` is called instead
        of the job when it waited too long."""
        if self._queue is None:
            self.start()
        assert self._queue is not None
        try:
            # the submitter's context (its request's id, for the log lines of the comparison)
            self._queue.put_nowait((self.clock.monotonic(), job, on_stale, copy_context()))
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    @property
    def pending(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            queued_at, job, on_stale, context = await self._queue.get()
            if self.clock.monotonic() - queued_at > self.max_wait:
                self.dropped += 1
                if on_stale is not None:
                    on_stale()
                self._queue.task_done()
                continue
            try:
                # jobs time their own subgraph calls out; this only stops one that hangs elsewhere
                async with asyncio.timeout(self.timeout * 2 + 1):
                    await asyncio.create_task(_run(job), context=context)
                self.completed += 1
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                self.failed += 1
                log.info("shadow job timed out after %ss", self.timeout)
            except Exception:
                self.failed += 1
                log.exception("shadow job failed")
            finally:
                self._queue.task_done()

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued job has run (for tests and graceful shutdown)."""
        if self._queue is not None:
            await asyncio.wait_for(self._queue.join(), timeout)

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        self._queue = None


async def _run(job: Job) -> None:
    await job()
