"""Waiting for something that happens outside the test (a process starts, a file is noticed, a socket closes):
poll the condition until a deadline, never a fixed sleep. Time inside turnout's own logic is not waited for at
all: the code takes a `Clock` and the test moves a `FakeClock` (support/clock.py)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

__all__ = ["eventually", "wait_until"]

T = TypeVar("T")

Describe = str | Callable[[], str]


def _failure(timeout: float, describe: Describe) -> AssertionError:
    said = describe() if callable(describe) else describe
    return AssertionError(f"not within {timeout:g}s: {said}" if said else f"not within {timeout:g}s")


def wait_until(
    condition: Callable[[], T | None],
    timeout: float,
    *,
    interval: float = 0.05,
    describe: Describe = "",
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """The first truthy value of `condition()`, asked every `interval` seconds; AssertionError (saying
    `describe`) once `timeout` seconds have passed. An exception of `ignoring` counts as not yet; any other
    propagates (a condition may assert that the awaited process is still alive)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except ignoring:
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _failure(timeout, describe)
        time.sleep(interval)


@overload
async def eventually(
    condition: Callable[[], Awaitable[T | None]],
    timeout: float,
    *,
    interval: float = ...,
    describe: Describe = ...,
) -> T: ...


@overload
async def eventually(
    condition: Callable[[], T | None],
    timeout: float,
    *,
    interval: float = ...,
    describe: Describe = ...,
) -> T: ...


async def eventually(
    condition: Callable[[], object],
    timeout: float,
    *,
    interval: float = 0.02,
    describe: Describe = "",
) -> object:
    """`wait_until` inside an event loop: the loop keeps running between two checks (and `condition` may be a
    coroutine function: a check that asks the network)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _failure(timeout, describe)
        await asyncio.sleep(interval)
