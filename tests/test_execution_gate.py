"""The execution gate (admission/gate.py): at most `limit` requests execute at once, the others in arrival order;
a request cancelled while it waits leaves the line, one cancelled just as its turn came passes the turn on; the
automatic limit follows how busy the event loop's thread was over each window."""

from __future__ import annotations

import asyncio
import time

import pytest

from support.clock import FakeClock
from turnout.admission.gate import ExecutionGate, thread_busy_seconds

pytestmark = pytest.mark.timeout(30)


class Busy:
    """The loop thread's busy seconds as the test sets them: `fraction` of the fake clock's time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.fraction = 0.0
        self.total = 0.0
        self.last = clock.monotonic()

    def __call__(self) -> float:
        now = self.clock.monotonic()
        self.total += (now - self.last) * self.fraction
        self.last = now
        return self.total


async def _turns(gate: ExecutionGate, count: int) -> tuple[list[asyncio.Task[None]], list[int]]:
    """`count` requests at the gate, in order; each notes its number when let in and holds its slot until
    cancelled (then releases it)."""
    entered: list[int] = []

    async def request(number: int) -> None:
        await gate.acquire()
        entered.append(number)
        try:
            await asyncio.Event().wait()
        finally:
            gate.release()

    tasks = []
    for number in range(count):
        tasks.append(asyncio.create_task(request(number)))
        await asyncio.sleep(0)  # arrives before the next one
    await asyncio.sleep(0)
    return tasks, entered


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_fixed_limit_lets_in_that_many_then_the_others_in_arrival_order() -> None:
    async def scenario() -> None:
        gate = ExecutionGate(3)
        tasks, entered = await _turns(gate, 7)
        assert entered == [0, 1, 2]
        assert (gate.active, gate.waiting, gate.waited) == (3, 4, 4)
        tasks[1].cancel()  # one ends: the first in line goes in, nobody else
        await _settle()
        assert entered == [0, 1, 2, 3]
        tasks[0].cancel()
        tasks[2].cancel()
        await _settle()
        assert entered == [0, 1, 2, 3, 4, 5]
        assert (gate.active, gate.waiting) == (3, 1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert (gate.active, gate.waiting) == (0, 0)

    asyncio.run(scenario())


def test_a_request_cancelled_in_line_leaves_it_and_a_turn_handed_to_a_cancelled_one_passes_on() -> None:
    async def scenario() -> None:
        gate = ExecutionGate(1)
        tasks, entered = await _turns(gate, 4)
        assert entered == [0] and gate.waiting == 3
        tasks[2].cancel()  # gave up waiting (its deadline, or its client left)
        await _settle()
        assert gate.waiting == 2 and entered == [0]
        # the turn goes to request 1, which is cancelled before it could run: request 3 gets it
        tasks[0].cancel()
        await asyncio.sleep(0)
        tasks[1].cancel()
        await _settle()
        assert entered == [0, 3]
        assert (gate.active, gate.waiting) == (1, 0)
        tasks[3].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert gate.active == 0
        # and the gate still works: the next one enters at once
        await gate.acquire()
        assert gate.active == 1
        gate.release()

    asyncio.run(scenario())


def test_the_automatic_limit_grows_while_requests_wait_on_an_idle_loop_and_shrinks_on_a_busy_one() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        busy = Busy(clock)  # (a window of 1/8 s: sums of it are exact in binary)
        gate = ExecutionGate(minimum=4, maximum=20, window=0.125, clock=clock, busy=busy)
        assert gate.limit == 4
        tasks, entered = await _turns(gate, 30)
        assert len(entered) == 4 and gate.waiting == 26
        # requests wait and the loop is idle for more than half the window (they wait on subgraphs): the limit
        # doubles each window
        busy.fraction = 0.2
        clock.advance(0.125)
        gate.adapt()
        await _settle()
        assert gate.limit == 8 and len(entered) == 8 and entered == sorted(entered)
        clock.advance(0.125)
        gate.adapt()
        assert gate.limit == 16
        clock.advance(0.125)
        gate.adapt()
        await _settle()
        assert gate.limit == 20 and len(entered) == 20  # never past the maximum
        # within a window nothing changes
        clock.advance(0.0625)
        gate.adapt()
        assert gate.limit == 20
        # a loop busy from end to end: an eighth less per window, never under the minimum
        busy.fraction = 1.0
        limits = []
        for _ in range(12):
            clock.advance(0.125)
            gate.adapt()
            limits.append(gate.limit)
        assert limits[:4] == [17, 14, 12, 10]
        assert limits[-1] == 4 and min(limits) == 4
        # just under saturated, with requests waiting: a quarter more at a time
        busy.fraction = 0.85
        for expected in (5, 7, 9):
            clock.advance(0.125)
            gate.adapt()
            assert gate.limit == expected
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())


def test_an_idle_loop_with_nobody_waiting_leaves_the_limit_alone() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        busy = Busy(clock)
        gate = ExecutionGate(minimum=4, window=0.1, clock=clock, busy=busy)
        for _ in range(5):
            await gate.acquire()
            clock.advance(0.2)
            gate.release()
        assert gate.limit == 4 and gate.waited == 0

    asyncio.run(scenario())


def test_waiting_requests_get_in_when_the_ones_executing_never_end() -> None:
    """All slots held by requests stuck on a hanging subgraph, no request ending: the gate looks again every
    window by itself, sees an idle loop, and lets the others in."""

    async def scenario() -> None:
        gate = ExecutionGate(minimum=2, maximum=64, window=0.01, busy=lambda: 0.0)
        tasks, entered = await _turns(gate, 10)
        assert len(entered) == 2
        for _ in range(200):
            if len(entered) == 10:
                break
            await asyncio.sleep(0.01)
        assert sorted(entered) == list(range(10)) and gate.limit >= 10
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert gate.active == 0

    asyncio.run(scenario())


def test_the_busy_time_of_this_thread_counts_at_least_the_time_it_ran() -> None:
    busy, ran = thread_busy_seconds(), time.thread_time()
    while time.thread_time() - ran < 0.05:
        sum(range(1000))
    assert thread_busy_seconds() - busy >= 0.9 * (time.thread_time() - ran)


def test_a_limit_under_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ExecutionGate(0)
    with pytest.raises(ValueError, match="minimum"):
        ExecutionGate(minimum=8, maximum=4)
