"""A fleet: three `turnout serve` processes on one real PostgreSQL, reached through a TCP proxy of the test's own.

Traffic flows to all three while the proxy cuts every connection to PostgreSQL for 10 s (and refuses new ones),
then lets them through again. Nothing a client sees may fail; every comparison an instance counted (its
/metrics) must be in the store once, no more, no less; a stage change made after the outage must reach all
three within two refresh intervals. Then one instance is killed with SIGKILL under traffic: the evidence of
the other two is intact. Each instance gets its own operation name, so the store's per-operation counts are
per instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from ops_support import ClassroomProcess, GatewayProcess, classroom_migration, write_atomic, write_config
from sqlalchemy.engine import make_url

from support.fixtures import load_supergraph, with_subgraph_urls
from support.waiting import wait_until
from turnout.migration.model import Stage
from turnout.migration.store import Store

PG_DSN = os.environ.get("TURNOUT_TEST_POSTGRES_DSN")
pytestmark = [
    pytest.mark.skipif(not PG_DSN, reason="TURNOUT_TEST_POSTGRES_DSN is not set"),
    pytest.mark.timeout(300),
]

REFRESH = 1.0  # refresh_interval of the instances
OUTAGE = 10.0
INSTANCES = 3
CLIENTS = 3  # per instance


def _query(i: int) -> str:
    return f"query Board{i} {{ assignments {{ id title createdDate tags }} }}"


# -- the proxy --------------------------------------------------------------------------------------------------


class TcpProxy:
    """127.0.0.1:<port> -> 127.0.0.1:<target>, in a thread with its own event loop. `cut()` aborts every open
    connection and aborts new ones as they come (the database is gone); `restore()` lets them through again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.cut_now = False
        self.flowing = asyncio.Event()  # cleared by hang(): bytes are held, connections kept open
        self.connections = 0
        self.aborted = 0
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self.flowing.set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-proxy", daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._set(True)
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_now:
            self.aborted += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._open.update((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await source.read(65536):
                    await self.flowing.wait()
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open.difference_update((writer, up_writer))

    def _set(self, cut: bool) -> None:
        self.cut_now = cut
        if cut:
            for writer in list(self._open):
                writer.transport.abort()  # an RST: mid-transaction for whoever was writing

    def cut(self) -> None:
        self._loop.call_soon_threadsafe(self._set, True)

    def restore(self) -> None:
        self._loop.call_soon_threadsafe(self._set, False)

    def hang(self) -> None:
        """The database stops answering (a hung server): nothing is refused or closed, nothing gets through."""
        self._loop.call_soon_threadsafe(self.flowing.clear)

    def resume(self) -> None:
        self._loop.call_soon_threadsafe(self.flowing.set)


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """(base DSN, schema): a fresh PostgreSQL schema, dropped afterwards."""
    assert PG_DSN
    base = make_url(PG_DSN)
    if base.drivername in ("postgres", "postgresql"):
        base = base.set(drivername="postgresql+psycopg")
    schema = f"turnout_fleet_{uuid.uuid4().hex}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield base.render_as_string(hide_password=False), schema
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def _in_schema(dsn: str, schema: str, port: int | None = None) -> str:
    url = make_url(dsn)
    if port is not None:
        url = url.set(host="127.0.0.1", port=port)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


# -- load and observation ---------------------------------------------------------------------------------------


@dataclass
class Fleet:
    gateways: list[GatewayProcess]
    dead: set[int] = field(default_factory=set)
    sent: list[int] = field(default_factory=lambda: [0] * INSTANCES)
    failed: list[list[tuple[float, str]]] = field(default_factory=lambda: [[] for _ in range(INSTANCES)])
    ready: list[tuple[float, int, int, str]] = field(
        default_factory=list
    )  # (second, instance, status, status)


async def _load(fleet: Fleet, seconds: float, started: float) -> None:
    stop_at = time.monotonic() + seconds

    async def client(i: int, n: int) -> None:
        gateway = fleet.gateways[i]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            while time.monotonic() < stop_at and i not in fleet.dead:
                sent = time.monotonic() - started
                fleet.sent[i] += 1
                try:
                    async with session.post(
                        gateway.url, json={"query": _query(i)}, headers={"x-user": f"u{n}"}
                    ) as response:
                        body = await response.json(content_type=None)
                    problem = (
                        None
                        if response.status == 200 and "errors" not in body and body.get("data")
                        else (f"HTTP {response.status}: {str(body)[:200]}")
                    )
                except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                    problem = f"{type(error).__name__}: {error}"
                if problem is not None and i not in fleet.dead:
                    fleet.failed[i].append((round(sent, 2), problem))

    await asyncio.gather(*(client(i, n) for i in range(INSTANCES) for n in range(CLIENTS)))


async def _probe_ready(fleet: Fleet, started: float, until: float) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() < until:
            for i, gateway in enumerate(fleet.gateways):
                if i in fleet.dead:
                    continue
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(gateway.base_url + "/ready") as response:
                        body = await response.json()
                        fleet.ready.append(
                            (round(time.monotonic() - started, 1), i, response.status, body["status"])
                        )
            await asyncio.sleep(0.5)  # the probe's sampling period: the timeline is the measurement


def _metric(text: str, name: str) -> float:
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


async def _scrape(gateway: GatewayProcess) -> tuple[str, dict[str, Any]]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        async with session.get(gateway.base_url + "/metrics") as response:
            metrics = await response.text()
        async with session.get(gateway.base_url + "/ready") as response:
            ready = await response.json()
    return metrics, ready


def _settled(gateway: GatewayProcess, timeout: float = 30.0) -> int:
    """The instance's comparisons once its queue is empty and its evidence written (none pending, none failing,
    the count unchanged across a flush): what its /metrics says it compared."""
    seen: dict[str, Any] = {"count": -1.0, "ready": None}

    def settled() -> tuple[int] | None:
        metrics, ready = asyncio.run(_scrape(gateway))
        count = _metric(metrics, "turnout_migration_comparisons_total")
        evidence = ready["evidence"]
        if count == seen["count"] and evidence["pending"] == 0 and not evidence["failing"]:
            return (int(count),)  # a tuple: found even when the count is 0
        seen.update(count=count, ready=ready)
        return None

    # asked every 0.6 s, one flush interval (0.2 s) and more: a comparison finishing now is counted then written
    [count] = wait_until(
        settled,
        timeout,
        interval=0.6,
        describe=lambda: f"instance on port {gateway.port} did not settle: {seen['ready']}",
    )
    return count


def _per_operation(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT operation, sum(count) FROM turnout_comparisons WHERE migration = 'assignments' "
            "GROUP BY operation"
        ).all()
    return {str(operation): int(total) for operation, total in rows}


# -- the test -------------------------------------------------------------------------------------------------------


def _gateway_files(tmp_path: Path, subgraphs: ClassroomProcess, store_url: str) -> tuple[Path, Path]:
    """The classroom supergraph (pointing at `subgraphs`) and a config with the migration on `store_url`."""
    supergraph = tmp_path / "supergraph.graphql"
    write_atomic(
        supergraph,
        with_subgraph_urls(load_supergraph("classroom"), {n: subgraphs.url(n) for n in subgraphs.ports}),
    )
    config = write_config(
        tmp_path / "turnout.yaml",
        {
            "store": {"url": store_url, "flush_interval": 0.2},
            "migrations": [classroom_migration()],
            "cohort": {"header": "x-user"},
            "refresh_interval": REFRESH,
        },
    )
    return supergraph, config


def test_three_instances_survive_a_store_outage_and_a_sigkill(
    tmp_path: Path, pg_schema: tuple[str, str]
) -> None:
    dsn, schema = pg_schema
    direct = Store.open(_in_schema(dsn, schema))
    direct.create_schema()
    direct.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=100, by="test", reason="fleet", evidence={})
    subgraphs = ClassroomProcess()
    pg = make_url(dsn)
    gateways: list[GatewayProcess] = []
    try:
        with TcpProxy((pg.host or "127.0.0.1", pg.port or 5432)) as proxy:
            supergraph, config = _gateway_files(tmp_path, subgraphs, _in_schema(dsn, schema, proxy.port))
            args = ["--supergraph", str(supergraph), "--config", str(config), "--log-level", "info"]
            gateways = [GatewayProcess(args, tmp_path / f"gateway{i}.log") for i in range(INSTANCES)]
            for gateway in gateways:
                gateway.wait_ready(timeout=60)
            fleet = Fleet(gateways)

            # -- phase 1: traffic, the store cut for 10 s, restored -------------------------------------------
            async def outage() -> tuple[float, float]:
                started = time.monotonic()
                cut_at, restored_at = 4.0, 4.0 + OUTAGE

                async def timeline() -> None:
                    await asyncio.sleep(cut_at)  # the outage's timeline is the scenario under test
                    proxy.cut()
                    await asyncio.sleep(OUTAGE)  # (the store is cut for OUTAGE seconds)
                    proxy.restore()

                await asyncio.gather(
                    _load(fleet, restored_at + 6.0, started),
                    timeline(),
                    _probe_ready(fleet, started, started + restored_at + 6.0),
                )
                return cut_at, restored_at

            cut_at, restored_at = asyncio.run(outage())
            counted = [_settled(g) for g in gateways]
            stored = _per_operation(direct)
            during = {status for at, _i, _code, status in fleet.ready if cut_at + 4 < at < restored_at}
            codes = {code for *_x, code, _s in fleet.ready}
            after = {status for at, _i, _code, status in fleet.ready if at > restored_at + 4}
            print(
                f"\noutage: {sum(fleet.sent)} requests to 3 instances ({fleet.sent}), "
                f"{sum(len(f) for f in fleet.failed)} failed; comparisons counted by the instances {counted} "
                f"(sum {sum(counted)}), in the store {stored} (sum {sum(stored.values())}); /ready during the "
                f"cut {during}, after {after}, HTTP codes {codes}; proxy aborted {proxy.aborted} connection "
                f"attempts during the cut"
            )
            assert fleet.failed == [[], [], []], fleet.failed
            assert stored == {f"Board{i}": counted[i] for i in range(INSTANCES)}
            assert min(counted) > 0
            assert during == {"degraded"} and codes == {200} and after == {"ok"}
            assert proxy.aborted > 0  # the instances did try the store during the cut
            for gateway in gateways:
                log = gateway.log()
                assert (
                    "store writes succeed again" in log
                    and "migration stages read from the store again" in log
                )
                assert "Traceback" not in log

            # -- phase 2: a stage change after the recovery reaches every instance within 2 refresh intervals --
            change = direct.set_stage(
                "assignments",
                Stage.SIDE_BY_SIDE,
                percent=50,
                by="test",
                reason="after the outage",
                evidence={},
            )
            pids = {str(g.pid) for g in gateways}
            picked: dict[str, float] = {}

            def everyone_picked_it_up() -> bool:
                for report in direct.instances("assignments"):
                    pid = report.instance.rsplit(":", 1)[-1]
                    if pid in pids and report.percent == 50:
                        picked[pid] = (report.since - change.at).total_seconds()
                return len(picked) == INSTANCES

            wait_until(everyone_picked_it_up, 4 * REFRESH + 5, interval=0.1, describe=lambda: str(picked))
            print(
                f"stage change picked up after {sorted(round(s, 2) for s in picked.values())} s "
                f"(refresh_interval {REFRESH} s)"
            )
            assert len(picked) == INSTANCES and max(picked.values()) <= 2 * REFRESH, picked

            # -- phase 3: one instance SIGKILLed under traffic; the other two's evidence intact --------------
            before = _per_operation(direct)

            async def kill_one() -> None:
                started = time.monotonic()

                async def killer() -> None:
                    await asyncio.sleep(3.0)  # the kill's place in the load is the scenario
                    fleet.dead.add(2)
                    os.killpg(gateways[2].pid, signal.SIGKILL)

                await asyncio.gather(_load(fleet, 6.0, started), killer())

            fleet.sent = [0] * INSTANCES
            asyncio.run(kill_one())
            gateways[2].wait(10)
            counted_after = [_settled(g) for g in gateways[:2]]
            stored_after = _per_operation(direct)
            print(
                f"SIGKILL: instance 2 killed at 3.0 s ({fleet.sent[2]} requests to it); instances 0 and 1 "
                f"counted {counted_after}, the store has {stored_after} (before the phase: {before}); "
                f"{sum(len(f) for f in fleet.failed)} failed requests to the survivors"
            )
            assert fleet.failed[:2] == [[], []]
            assert [stored_after[f"Board{i}"] for i in range(2)] == counted_after
            assert gateways[2].process.returncode == -signal.SIGKILL
            assert stored_after["Board2"] >= before["Board2"]  # what it wrote before dying stays
            for gateway in gateways:  # while the proxy still runs: their last flush goes through it
                gateway.stop()
    finally:
        for gateway in gateways:
            gateway.stop()
        subgraphs.close()
        direct.close()
    for gateway in gateways[:2]:
        assert gateway.process.returncode == 0, gateway.log()


def test_a_store_that_hangs_holds_no_request_and_loses_no_comparison(
    tmp_path: Path, pg_schema: tuple[str, str]
) -> None:
    dsn, schema = pg_schema
    direct = Store.open(_in_schema(dsn, schema))
    direct.create_schema()
    direct.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=100, by="test", reason="hang", evidence={})
    subgraphs = ClassroomProcess()
    pg = make_url(dsn)
    gateway: GatewayProcess | None = None
    try:
        with TcpProxy((pg.host or "127.0.0.1", pg.port or 5432)) as proxy:
            supergraph, config = _gateway_files(tmp_path, subgraphs, _in_schema(dsn, schema, proxy.port))
            gateway = GatewayProcess(
                ["--supergraph", str(supergraph), "--config", str(config), "--log-level", "info"],
                tmp_path / "gateway.log",
            ).wait_ready(timeout=60)
            fleet = Fleet([gateway, gateway, gateway])  # one instance, the three clients' operations

            async def hang() -> None:
                started = time.monotonic()

                async def timeline() -> None:
                    await asyncio.sleep(2.0)  # the hang's timeline is the scenario under test
                    proxy.hang()
                    await asyncio.sleep(8.0)  # (the store hangs for 8 s)
                    proxy.resume()

                await asyncio.gather(
                    _load(fleet, 14.0, started), timeline(), _probe_ready(fleet, started, started + 14.0)
                )

            asyncio.run(hang())
            counted = _settled(gateway)
            stored = sum(_per_operation(direct).values())
            during = {status for at, _i, _code, status in fleet.ready if 6.0 < at < 10.0}
            print(
                f"\nhung store: {sum(fleet.sent)} requests, {sum(len(f) for f in fleet.failed)} failed; "
                f"comparisons counted {counted}, in the store {stored}; /ready during the hang {during}"
            )
            assert fleet.failed == [[], [], []], fleet.failed
            assert stored == counted > 0
            assert during == {"degraded"}
            gateway.stop()
    finally:
        if gateway is not None:
            gateway.stop()
        subgraphs.close()
        direct.close()
    assert gateway.process.returncode == 0, gateway.log()
