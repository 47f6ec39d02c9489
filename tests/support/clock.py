"""A `Clock` (turnout/clock.py) that moves only when a test says so."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock"]


class FakeClock:
    """`advance(seconds)` moves the monotonic and the wall clock together and wakes the `sleep`s whose time has
    come (from any thread: each wakes on its own event loop). It starts at `start` (default: the real time of
    its creation, so that what a store compares with its own clock stays recent)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC)
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self._sleepers: list[tuple[float, asyncio.Future[None], asyncio.AbstractEventLoop]] = []

    def monotonic(self) -> float:
        return 1000.0 + self._elapsed  # any origin: only differences mean something

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self._elapsed)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        waker: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._sleepers.append((self._elapsed + seconds, waker, loop))
        try:
            await waker
        finally:
            with self._lock:
                self._sleepers = [s for s in self._sleepers if s[1] is not waker]

    @property
    def sleeping(self) -> int:
        """How many `sleep`s wait for this clock to move."""
        with self._lock:
            return len(self._sleepers)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._elapsed += seconds
            due = [s for s in self._sleepers if s[0] <= self._elapsed + 1e-9]
            self._sleepers = [s for s in self._sleepers if s[0] > self._elapsed + 1e-9]
        for _at, waker, loop in due:
            loop.call_soon_threadsafe(_wake, waker)


def _wake(waker: asyncio.Future[None]) -> None:
    if not waker.done():
        waker.set_result(None)
