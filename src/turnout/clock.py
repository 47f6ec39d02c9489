"""Time as turnout's logic sees it: one `Clock` for every module that measures an interval, a window, an age or
stamps a time, so that tests move time forward instead of waiting for it to pass."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock"]


class Clock(Protocol):
    """The system's clock in production (`SYSTEM_CLOCK`); a fake one in tests (`tests/support/clock.py`)."""

    def monotonic(self) -> float:
        """Seconds that only go forward: for intervals, windows and ages."""
        ...

    def now(self) -> datetime:
        """The wall-clock time, aware, in UTC: what is stored and shown."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock (the periodic loops: evidence flushes, stage refreshes)."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK: Clock = SystemClock()
