"""The fake clock and the bounded waits the other tests rely on."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from support.clock import FakeClock
from support.waiting import eventually, wait_until
from turnout.clock import SYSTEM_CLOCK, Clock


def test_the_fake_clock_moves_both_clocks_together_and_only_when_told() -> None:
    start = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)
    clock: Clock = FakeClock(start)
    before = clock.monotonic()
    assert (clock.now(), clock.monotonic()) == (start, before)
    assert isinstance(clock, FakeClock)
    clock.advance(90.5)
    assert (clock.now(), clock.monotonic() - before) == (start + timedelta(seconds=90.5), 90.5)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_a_sleep_ends_when_the_clock_reaches_it_not_before() -> None:
    clock = FakeClock()
    woken: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woken.append(seconds)

    async def run() -> None:
        tasks = [asyncio.create_task(sleeper(s)) for s in (1.0, 3.0)]
        await eventually(lambda: clock.sleeping == 2, 5)
        clock.advance(0.999)
        assert clock.sleeping == 2  # none due: none woken
        clock.advance(0.001)
        await eventually(lambda: woken == [1.0], 5)
        threading.Thread(target=clock.advance, args=(5.0,)).start()  # from another thread too
        await asyncio.gather(*tasks)
        assert (woken, clock.sleeping) == ([1.0, 3.0], 0)
        await clock.sleep(0)  # nothing to wait for

    asyncio.run(run())


def test_the_system_clock_is_the_real_one() -> None:
    assert abs(SYSTEM_CLOCK.now() - datetime.now(UTC)) < timedelta(seconds=5)
    assert abs(SYSTEM_CLOCK.monotonic() - time.monotonic()) < 5


def test_wait_until_returns_the_first_truthy_value_and_fails_at_the_deadline() -> None:
    calls = iter([None, 0, OSError("not yet"), "ready"])

    def condition() -> str | int | None:
        value = next(calls)
        if isinstance(value, OSError):
            raise value
        return value

    assert wait_until(condition, 5, interval=0.001, ignoring=(OSError,)) == "ready"
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"not within 0.2s: the server answered 503"):
        wait_until(lambda: False, 0.2, describe=lambda: "the server answered 503")
    assert 0.2 <= time.monotonic() - started < 2
    empty: dict[str, int] = {}
    with pytest.raises(KeyError):  # not ignored: a condition's own failure is the test's
        wait_until(lambda: empty["x"], 5)


def test_eventually_keeps_the_loop_running_between_checks() -> None:
    async def run() -> None:
        flag = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, flag.set)
        assert await eventually(flag.is_set, 5) is True
        with pytest.raises(AssertionError, match="never"):
            await eventually(lambda: False, 0.1, describe="never")

    asyncio.run(run())
