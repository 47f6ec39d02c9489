"""How many requests execute at once; the others wait their turn, first come first served.

A gateway process is one event loop on one core. Once enough requests are in execution to keep that loop busy,
more of them at once add no throughput: they interleave, and each one's data (its subgraphs' answers, the merged
response) is pushed out of the CPU's caches by the others' before it is used again. Measured on the throughput
benchmark (50 client connections, one process): 1.52 CPU-ms per request with all 50 in execution, 1.12 with 4.

`ExecutionGate` admits requests in arrival order up to a limit. A fixed limit is a plain FIFO semaphore; the
automatic one (`turnout serve`'s default) looks at the event loop's thread at the end of every `window` seconds:
if the thread was busy (running, or ready to run and waiting for a core) for less than `SATURATED` of the window
while requests waited, they waited on subgraphs, not on the loop, and the limit grows (up to `maximum`): it
doubles when the loop was busy under `IDLE`, a quarter more otherwise, so that a brief dip of a saturated loop
(a subgraph's pause) does not let many more requests interleave; if it was busy for `SATURATED` or more, the
loop is the bottleneck and the limit shrinks by an eighth (down to `minimum`). Slow subgraphs therefore never
hold requests back for long, and a saturated gateway keeps only as many interleaved as it needs.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

from ..clock import SYSTEM_CLOCK, Clock

__all__ = ["ExecutionGate", "thread_busy_seconds"]

# the share of a window the loop's thread is busy from which more requests at once add nothing
SATURATED = 0.9
# under this share, with requests waiting, the loop mostly waits on subgraphs: the limit grows fast
IDLE = 0.5


def thread_busy_seconds() -> float:
    """Seconds the calling thread has run or waited for a core to run (Linux: `/proc/thread-self/schedstat`);
    elsewhere the time it has run."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as stat:
            ran, waited, _slices = stat.read().split()
        return (int(ran) + int(waited)) / 1e9
    except (OSError, ValueError):
        return time.thread_time()


class ExecutionGate:
    """Admits requests to execution up to `limit` at once, the others in arrival order as slots free up.

    `limit=None`: automatic, starting at `minimum` and adapting between `minimum` and `maximum` (module text).
    Use `acquire` then `release` (in a `finally`) from the event loop's thread, the one whose busy time
    `busy` measures."""

    def __init__(
        self,
        limit: int | None = None,
        *,
        minimum: int = 8,
        maximum: int = 1024,
        window: float = 0.1,
        clock: Clock = SYSTEM_CLOCK,
        busy: Callable[[], float] = thread_busy_seconds,
    ) -> None:
        if limit is not None and limit < 1:
            raise ValueError("an execution limit is at least 1")
        if not 1 <= minimum <= maximum:
            raise ValueError("the automatic limit needs 1 <= minimum <= maximum")
        self.adaptive = limit is None
        self.limit = minimum if limit is None else limit
        self.minimum = minimum
        self.maximum = maximum
        self.window = window
        self.clock = clock
        self.busy = busy
        self.active = 0  # requests in execution
        self.waited = 0  # requests that had to wait, in all
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._window_start = 0.0
        # read on the loop's thread, from the first request: the gate is built before the loop runs
        self._busy_start: float | None = None
        self._queued = False  # a request waited during the current window
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> None:
        """Wait for a slot (at once when one is free and nobody is waiting before). Cancelled while waiting, the
        request leaves the queue; cancelled just after a slot was handed to it, the slot passes on."""
        if self._busy_start is None and self.adaptive:  # the first window starts with the first request
            self._window_start, self._busy_start = self.clock.monotonic(), self.busy()
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return
        self.waited += 1
        self._queued = True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._arm()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was ours: the next one in line gets it
            elif waiter in self._waiters:  # (not when a turn given out skipped it already)
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        self.active -= 1
        self.adapt()

    def adapt(self) -> None:
        """At the end of each window, an automatic limit follows how busy the loop's thread was (module text);
        then as many wait no more as the limit allows."""
        if self.adaptive:
            self._resize()
        self._admit()

    def _resize(self) -> None:
        now = self.clock.monotonic()
        elapsed = now - self._window_start
        if self._busy_start is None or elapsed < self.window:
            return
        busy_now = self.busy()
        busy = (busy_now - self._busy_start) / elapsed
        if self._queued and busy < SATURATED:
            # idle: the requests wait on subgraphs, twice as many at once; nearly saturated (a subgraph's
            # hiccup, or the limit just under what the loop needs): a quarter more
            grown = self.limit * 2 if busy < IDLE else self.limit + math.ceil(self.limit / 4)
            self.limit = min(self.maximum, grown)
        elif busy >= SATURATED and self.limit > self.minimum:
            self.limit = max(self.minimum, self.limit - math.ceil(self.limit / 8))
        self._window_start = now
        self._busy_start = busy_now
        self._queued = bool(self._waiters)

    def _admit(self) -> None:
        while self._waiters and self.active < self.limit:
            waiter = self._waiters.popleft()
            if waiter.done():  # cancelled
                continue
            self.active += 1
            waiter.set_result(None)

    def _arm(self) -> None:
        """While requests wait, the limit is looked at every window even when no request ends (all held up by a
        subgraph that hangs, say): waiting must not depend on the requests it waits for."""
        if not self.adaptive or self._timer is not None:
            return
        self._timer = asyncio.get_running_loop().call_later(self.window, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self.adapt()
        if self._waiters:
            self._arm()
