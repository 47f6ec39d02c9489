"""Graceful shutdown and worker processes of `turnout serve`, with a migration in side_by_side on SQLite.

SIGTERM: the listening socket closes, running requests finish, queued comparisons run, the evidence recorder's
last batch reaches the store, the process exits 0. With --workers 2, both processes serve and both flush.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from ops_support import (
    GatewayProcess,
    assignment_record,
    classroom_migration,
    classroom_specs,
    write_atomic,
    write_config,
)

from support.client import graphql_request
from support.fixtures import load_supergraph, with_subgraph_urls
from support.servers import RunningSubgraph
from support.waiting import wait_until
from turnout.migration.model import Stage
from turnout.migration.store import Store

RunSubgraphs = Callable[..., dict[str, RunningSubgraph]]

BOARD = "query Board { assignments { id title createdDate tags } }"
SLOW = 'query Slow { assignment(id: "slow") { id title createdDate } }'
SLOW_SECONDS = 2.5


async def _slow_assignment(_obj: Any, _info: Any, id: str) -> dict[str, Any] | None:
    if id == "slow":
        await asyncio.sleep(SLOW_SECONDS)  # the slow request the shutdown must let finish
        return {**assignment_record(0), "id": "slow"}
    return None


def _world(
    run_subgraphs: RunSubgraphs, tmp_path: Path, *, flush_interval: float, extra: dict[str, Any] | None = None
) -> tuple[dict[str, RunningSubgraph], list[str], str]:
    subgraphs = run_subgraphs(classroom_specs(monolith_root={"assignment": _slow_assignment}))
    supergraph = tmp_path / "supergraph.graphql"
    write_atomic(
        supergraph, with_subgraph_urls(load_supergraph("classroom"), {n: s.url for n, s in subgraphs.items()})
    )
    store_url = f"sqlite:///{tmp_path / 'turnout.db'}"
    with Store.open(store_url) as store:
        store.create_schema()
        store.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=100, by="test", reason="test", evidence={})
    config = write_config(
        tmp_path / "turnout.yaml",
        {
            "store": {"url": store_url, "flush_interval": flush_interval},
            "migrations": [classroom_migration()],
            "cohort": {"header": "x-user"},
            **(extra or {}),
        },
    )
    return subgraphs, ["--supergraph", str(supergraph), "--config", str(config)], store_url


def _comparisons(store_url: str) -> int:
    with Store.open(store_url) as store:
        return store.evidence("assignments").comparisons


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def test_sigterm_lets_a_slow_request_finish_and_flushes_the_evidence(
    run_subgraphs: RunSubgraphs, tmp_path: Path
) -> None:
    # evidence is written every 60 s: only the shutdown's final flush can put it in the store
    subgraphs, args, store_url = _world(run_subgraphs, tmp_path, flush_interval=60.0)
    gateway = GatewayProcess(
        [*args, "--shutdown-timeout", "10", "--log-level", "info"], tmp_path / "gateway.log"
    )
    try:
        gateway.wait_ready()
        for _ in range(8):
            assert not graphql_request(gateway.url, BOARD, headers={"x-user": "u1"}).errors
        slow: dict[str, Any] = {}

        def ask_slow() -> None:
            slow["response"] = graphql_request(gateway.url, SLOW, headers={"x-user": "u1"}, timeout=20)
            slow["at"] = time.monotonic()

        asker = threading.Thread(target=ask_slow)
        asker.start()
        wait_until(
            lambda: any(r.query and "slow" in r.query for r in subgraphs["monolith"].requests),
            5,
            interval=0.01,
        )
        assert _comparisons(store_url) == 0  # nothing flushed yet
        signalled = time.monotonic()
        gateway.signal(signal.SIGTERM)
        refused_while_draining = wait_until(lambda: _refused(gateway.port), 1.0)
        assert asker.is_alive()  # still running after SIGTERM
        code = gateway.wait(timeout=15)
        exited = time.monotonic()
        asker.join(5)
    finally:
        gateway.stop()
    log = gateway.log()
    print(
        f"\nSIGTERM {SLOW_SECONDS - 0.0:.1f}s-request: answered {slow['at'] - signalled:.2f}s after SIGTERM, "
        f"process exited {exited - signalled:.2f}s after SIGTERM with code {code}"
    )
    assert refused_while_draining  # stopped accepting at once
    response = slow["response"]
    assert response.status == 200
    assert response.json == {
        "data": {"assignment": {"id": "slow", "title": "Homework 1", "createdDate": "2024-03-01T10:00:00Z"}}
    }
    assert code == 0, log
    assert exited - signalled < SLOW_SECONDS + 3
    # the 8 comparisons answered before SIGTERM and the slow request's own, compared during the shutdown
    assert _comparisons(store_url) == 9, log
    with Store.open(store_url) as store:
        groups = {(g.coordinate, g.kind) for g in store.diff_groups("assignments")}
    assert ("Assignment.createdDate", "value") in groups
    assert "Traceback" not in log and "stopped by SIGTERM" in log


def _metric_values(text: str) -> float:
    match = re.search(r'^turnout_requests_total\{kind="query",outcome="ok"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_two_workers_serve_and_shut_down_cleanly(run_subgraphs: RunSubgraphs, tmp_path: Path) -> None:
    _subgraphs, args, store_url = _world(run_subgraphs, tmp_path, flush_interval=0.5)
    gateway = GatewayProcess([*args, "--workers", "2", "--log-level", "info"], tmp_path / "gateway.log")
    total = 200
    try:
        gateway.wait_ready(timeout=30)
        wait_until(lambda: gateway.count(r"Application startup complete") >= 2, 20, describe=gateway.log)

        async def load() -> tuple[list[int], set[float]]:
            # a new connection per request: the kernel hands each to either worker
            connector = aiohttp.TCPConnector(force_close=True)
            async with aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=15)
            ) as s:
                semaphore = asyncio.Semaphore(20)

                async def one(i: int) -> int:
                    async with (
                        semaphore,
                        s.post(gateway.url, json={"query": BOARD}, headers={"x-user": f"u{i}"}) as response,
                    ):
                        body = await response.json()
                        return response.status if "errors" not in body else 599

                statuses = await asyncio.gather(*(one(i) for i in range(total)))
                seen: set[float] = set()
                for _ in range(60):  # each /metrics answer is one worker's count
                    async with s.get(gateway.base_url + "/metrics") as response:
                        seen.add(_metric_values(await response.text()))
                return statuses, seen

        statuses, counts = asyncio.run(load())
        workers = [int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", gateway.log())]
        gateway.signal(signal.SIGTERM)
        code = gateway.wait(timeout=20)
    finally:
        gateway.stop()
    log = gateway.log()
    print(
        f"\n--workers 2: {total} requests, statuses {set(statuses)}, per-worker counts seen {sorted(counts)}, "
        f"worker pids {workers}, exit code {code}"
    )
    assert statuses == [200] * total
    assert len(workers) == 2 and gateway.pid not in workers
    # both answered: two different counts that add up to every request (or exactly half each)
    assert (len(counts) == 2 and sum(counts) == total and min(counts) > 0) or counts == {total / 2}, counts
    assert code == 0, log
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "Traceback" not in log
    assert _comparisons(store_url) == total  # both workers' evidence, in the one SQLite file
