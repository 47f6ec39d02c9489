"""The orchestrator's probes of a real `turnout serve`: /health (alive), /ready (send traffic), and SIGTERM, where
/ready fails first and the listener closes only `--drain-delay` seconds later, requests served meanwhile."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from ops_support import GatewayProcess, classroom_world

from support.servers import RunningSubgraph

RunSubgraphs = Callable[..., dict[str, RunningSubgraph]]
BOARD = "query Board { assignments { id title } }"
DRAIN = 3.0


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as response:
        return response.status, await response.json(content_type=None)


def test_ready_fails_first_on_sigterm_and_requests_are_served_until_the_drain(
    run_subgraphs: RunSubgraphs, tmp_path: Path
) -> None:
    world = classroom_world(run_subgraphs, tmp_path)
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(world["supergraph"], encoding="utf-8")
    gateway = GatewayProcess(
        [
            "--supergraph",
            str(supergraph),
            "--config",
            str(world["config"]),
            "--drain-delay",
            str(DRAIN),
            "--log-level",
            "info",
        ],
        tmp_path / "gateway.log",
    )
    timeline: list[tuple[float, str, int]] = []
    try:
        gateway.wait_ready()

        async def probe() -> tuple[Any, Any]:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
                health = await _get(session, gateway.base_url + "/health")
                ready = await _get(session, gateway.base_url + "/ready")
                return health, ready

        health, ready = asyncio.run(probe())
        assert health == (200, {"status": "ok"})
        assert ready[0] == 200 and ready[1]["status"] == "ok", ready
        assert ready[1]["evidence"]["max_pending"] == 50_000

        async def through_sigterm() -> None:
            connector = aiohttp.TCPConnector(
                force_close=True
            )  # a new connection each time: refused once closed
            async with aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=5)
            ) as session:
                signalled = time.monotonic()
                gateway.signal(signal.SIGTERM)
                while time.monotonic() - signalled < DRAIN + 5:
                    at = time.monotonic() - signalled
                    try:
                        status, _ = await _get(session, gateway.base_url + "/ready")
                        timeline.append((at, "ready", status))
                        async with session.post(gateway.url, json={"query": BOARD}) as response:
                            body = await response.json()
                            timeline.append(
                                (
                                    time.monotonic() - signalled,
                                    "graphql",
                                    response.status if "errors" not in body else 599,
                                )
                            )
                    except aiohttp.ClientConnectionError:
                        timeline.append((at, "refused", 0))
                        break
                    await asyncio.sleep(0.05)  # the sampling period: the timeline is the measurement

        asyncio.run(through_sigterm())
        code = gateway.wait(timeout=20)
    finally:
        gateway.stop()
    log = gateway.log()
    ready_statuses = [(round(at, 2), status) for at, kind, status in timeline if kind == "ready"]
    answered = [at for at, kind, status in timeline if kind == "graphql" and status == 200]
    refused = [at for at, kind, _ in timeline if kind == "refused"]
    print(
        f"\nSIGTERM with --drain-delay {DRAIN}: first /ready {ready_statuses[:1]}, {len(answered)} GraphQL "
        f"requests answered during the drain (last at {max(answered):.2f}s), refused from {refused[:1]}s"
    )
    assert ready_statuses and all(status == 503 for _, status in ready_statuses), ready_statuses
    assert ready_statuses[0][0] < 1.0  # not ready at once
    assert not [t for t in timeline if t[1] == "graphql" and t[2] != 200]  # every request served meanwhile
    assert max(answered) > DRAIN - 0.5  # ... for the whole delay
    assert refused and refused[0] >= DRAIN - 0.2  # the listener closed after the delay, not before
    assert code == 0, log
    assert "SIGTERM: not ready from now on" in log and "Traceback" not in log
