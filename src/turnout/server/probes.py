"""The orchestrator's probes: `/health` (the process is alive) and `/ready` (send it traffic), and the drain on SIGTERM.

`/ready` answers 503 until the gateway has started (supergraph loaded, stages read once) and from the moment
SIGTERM arrives: with a `drain_delay`, the process keeps serving for that long after it stopped being ready, so
load balancers take it out of rotation before it stops accepting connections. A store that cannot be reached
does not make an instance unready: every instance shares the store, and taking them all out of rotation would
turn an evidence outage into an outage of the API. The answer says `degraded` instead (200), with the reasons:
stages not read for a while (the last ones read are served), evidence buffered in memory, evidence dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

from ..migration.recorder import Recorder
from ..reload import GatewayHolder

__all__ = ["Readiness", "ReadinessReport"]

log = logging.getLogger("turnout.server")

STALE_REFRESHES = 3
"""Stages not read for this many refresh intervals: the store is reported unreachable."""


@dataclass(frozen=True)
class ReadinessReport:
    """What `/ready` answers: `ready` (200) or not (503), `status` ok / degraded / starting / draining."""

    ready: bool
    status: str
    reasons: tuple[str, ...] = ()
    details: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": list(self.reasons), **(self.details or {})}


class Readiness:
    """The gateway's readiness, from its holder (started? stages read lately?) and its evidence recorder."""

    def __init__(
        self,
        holder: GatewayHolder,
        recorder: Recorder | None = None,
        *,
        drain_delay: float = 0.0,
    ) -> None:
        self.holder = holder
        self.recorder = recorder
        self.drain_delay = drain_delay
        self.started = False
        self.draining = False

    def report(self) -> ReadinessReport:
        if self.draining:
            return ReadinessReport(False, "draining", ("shutting down",))
        if not self.started:
            return ReadinessReport(False, "starting", ("the gateway has not started",))
        reasons: list[str] = []
        details: dict[str, Any] = {"supergraph": self.holder.version}
        engine = self.holder.gateway.engine
        if engine is not None and engine.state_source is not None:
            age = engine.stages_age()
            details["stages_age_seconds"] = None if age is None else round(age, 1)
            if age is None or age > STALE_REFRESHES * engine.refresh_interval:
                reasons.append("store unreachable: serving the stages read last")
        recorder = self.recorder
        if recorder is not None:
            details["evidence"] = {
                "pending": recorder.pending,
                "max_pending": recorder.max_pending,
                "dropped": recorder.dropped,
                "failing": recorder.failing,
            }
            if recorder.failing:
                reasons.append(
                    f"evidence buffered in memory ({recorder.pending} of {recorder.max_pending} rows)"
                )
            if recorder.dropping:
                reasons.append("evidence buffer full: new evidence is dropped (and counted)")
        return ReadinessReport(True, "degraded" if reasons else "ok", tuple(reasons), details)

    # -- SIGTERM: not ready first, then the drain -----------------------------------------------------------------

    @contextlib.contextmanager
    def on_sigterm(self) -> Iterator[None]:
        """While the block runs, SIGTERM (first) marks the process draining, then hands the signal on to the
        server's own handler after `drain_delay` seconds (a second SIGTERM, at once). Call from the main thread,
        inside the server's own signal handling (from the lifespan)."""
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):  # no server handler to hand on to (SIG_DFL, SIG_IGN): leave it be
            yield
            return
        loop = asyncio.get_running_loop()
        hand_on: Callable[[int, FrameType | None], Any] = previous

        def handler(number: int, frame: FrameType | None) -> None:
            if self.draining or self.drain_delay <= 0:
                self.draining = True
                hand_on(number, frame)
                return
            self.draining = True
            log.info("SIGTERM: not ready from now on; draining in %gs", self.drain_delay)
            loop.call_soon_threadsafe(loop.call_later, self.drain_delay, hand_on, number, None)

        signal.signal(signal.SIGTERM, handler)
        try:
            yield
        finally:
            if signal.getsignal(signal.SIGTERM) is handler:
                signal.signal(signal.SIGTERM, previous)
