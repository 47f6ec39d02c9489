"""The shadow queue: a job that waited more than `max_wait` is dropped instead of run (compared that late, the
new side would answer about other data than the old side did)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from support.clock import FakeClock
from turnout.migration.shadow import ShadowQueue


def test_a_job_that_waited_past_max_wait_is_dropped_and_said_stale() -> None:
    clock = FakeClock()
    queue = ShadowQueue(size=10, concurrency=1, timeout=5.0, max_wait=10.0, clock=clock)
    ran: list[str] = []
    stale: list[str] = []

    async def run() -> None:
        started, release = asyncio.Event(), asyncio.Event()

        async def blocking() -> None:  # holds the only worker
            started.set()
            await release.wait()
            ran.append("blocking")

        def job(name: str) -> tuple[Callable[[], Awaitable[None]], Callable[[], None]]:
            async def compare() -> None:
                ran.append(name)

            return compare, lambda: stale.append(name)

        assert queue.submit(blocking)
        await asyncio.wait_for(started.wait(), 5)
        late, late_stale = job("late")
        assert queue.submit(late, late_stale)
        clock.advance(5.0)
        fresh, fresh_stale = job("fresh")
        assert queue.submit(fresh, fresh_stale)
        clock.advance(5.1)  # late: 10.1 s in the queue; fresh: 5.1 s
        release.set()
        await queue.drain(timeout=5)
        await queue.close()

    asyncio.run(run())
    assert (ran, stale) == (["blocking", "fresh"], ["late"])
    assert (queue.dropped, queue.completed, queue.failed) == (1, 2, 0)
