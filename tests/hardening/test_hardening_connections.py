"""Connections, against `turnout serve` in a process of its own with the defaults: a hung subgraph holds only
its own connection pool."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from hardening_support import turnout_serve

from support.waiting import eventually
from test_gateway_support import RunSubgraphs, marketplace_specs

pytestmark = pytest.mark.timeout(120)


@contextlib.contextmanager
def hung_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """A server that accepts connections and never answers: its URL, and the connections it holds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/graphql", held
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_a_hung_subgraph_does_not_hold_the_others_connections(
    tmp_path: Path, run_subgraphs: RunSubgraphs
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    urls = {name: s.url for name, s in subgraphs.items()}
    with hung_server() as (hung, held):
        urls["orders"] = hung
        with turnout_serve(tmp_path, urls) as (base, _process):
            url = base + "/graphql"

            async def run() -> tuple[int, list[float]]:
                connector = aiohttp.TCPConnector(limit=0)  # the test client has no pool limit of its own
                async with aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=60), connector=connector
                ) as session:

                    async def post(query: str) -> dict[str, object]:
                        async with session.post(url, json={"query": query}) as response:
                            body: dict[str, object] = await response.json()
                            return body

                    waiting = [asyncio.create_task(post("{ orders { id } }")) for _ in range(100)]
                    # all 100 sent to the hung subgraph (its pool: 100 connections)
                    await eventually(lambda: len(held) == 100, 10, describe=lambda: f"{len(held)} sent")
                    pending = sum(not task.done() for task in waiting)
                    times = []
                    for _ in range(5):
                        started = time.monotonic()
                        answer = await post('{ users { id } product(sku: "p1", vendor: "acme") { title } }')
                        times.append(time.monotonic() - started)
                        assert "errors" not in answer, answer
                    for task in waiting:
                        task.cancel()
                    await asyncio.gather(*waiting, return_exceptions=True)
                    return pending, times

            pending, times = asyncio.run(run())
    print(
        f"{pending} requests waiting on the hung subgraph; the others answered in {max(times):.3f}s at worst"
    )
    assert pending == 100
    assert max(times) < 1.0


def _closed_within(sock: socket.socket, seconds: float, started: float | None = None) -> float | None:
    """Seconds from `started` (now by default) until the server closed `sock` (reads return b"" or fail), or
    None if it stayed open that long."""
    started = time.monotonic() if started is None else started
    sock.settimeout(0.05)
    while time.monotonic() - started < seconds:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
        if not data:
            return time.monotonic() - started
    return None


def test_slow_clients_are_closed(tmp_path: Path, run_subgraphs: RunSubgraphs) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    settings = {"server": {"header_timeout": 1.0, "body_timeout": 1.5}}
    with turnout_serve(tmp_path, {name: s.url for name, s in subgraphs.items()}, settings) as (
        base,
        _process,
    ):
        port = int(base.rsplit(":", 1)[1])
        started = time.monotonic()
        silent = socket.create_connection(("127.0.0.1", port))
        partial = socket.create_connection(("127.0.0.1", port))
        partial.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        trickle = socket.create_connection(("127.0.0.1", port))
        trickle.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        try:
            times = {
                name: _closed_within(sock, 5.0, started)
                for name, sock in (
                    ("silent", silent),
                    ("partial headers", partial),
                    ("trickled body", trickle),
                )
            }
        finally:
            for sock in (silent, partial, trickle):
                sock.close()
    print(times)
    assert times["silent"] is not None and 0.8 < times["silent"] < 2.0, times
    assert times["partial headers"] is not None and 0.8 < times["partial headers"] < 2.0, times
    assert times["trickled body"] is not None and 1.2 < times["trickled body"] < 2.5, times


def test_the_default_header_timeout_is_ten_seconds(tmp_path: Path, run_subgraphs: RunSubgraphs) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    with turnout_serve(tmp_path, {name: s.url for name, s in subgraphs.items()}) as (base, _process):
        partial = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
        partial.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        try:
            closed = _closed_within(partial, 15.0)
        finally:
            partial.close()
    assert closed is not None and 9.5 < closed < 11.5, closed


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _open_idle(base: str, count: int) -> tuple[list[Connection], int]:
    """Opens `count` connections that send nothing; them, and how many were answered 503."""
    port = int(base.rsplit(":", 1)[1])
    idle = []
    for _ in range(count):
        try:
            idle.append(await asyncio.open_connection("127.0.0.1", port))
        except OSError:
            break
    # a window, not a wait for an event: the server's chance to refuse what is over its limit (and, for the
    # connections within it, to show that it does not)
    await asyncio.sleep(0.5)
    refused = 0
    for reader, _writer in idle:
        with contextlib.suppress(TimeoutError, OSError):
            line = await asyncio.wait_for(reader.readline(), 0.001)
            refused += line.startswith(b"HTTP/1.1 503")
    return idle, refused


async def _normal(base: str) -> list[int]:
    """20 normal requests' statuses."""
    statuses = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for _ in range(20):
            async with session.post(base + "/graphql", json={"query": "{ users { id } }"}) as response:
                await response.read()
                statuses.append(response.status)
    return statuses


async def _idle_then_normal(base: str, idle_count: int) -> tuple[int, int, list[int]]:
    """Opens `idle_count` connections that send nothing, then sends 20 normal requests; the connections
    opened, how many of them were answered 503, the normal requests' statuses."""
    idle, refused = await _open_idle(base, idle_count)
    statuses = await _normal(base)
    for _reader, writer in idle:
        writer.close()
    return len(idle), refused, statuses


def test_thousands_of_idle_connections_do_not_break_normal_requests(
    tmp_path: Path, run_subgraphs: RunSubgraphs
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    with turnout_serve(tmp_path, {name: s.url for name, s in subgraphs.items()}) as (base, _process):
        opened, refused, statuses = asyncio.run(_idle_then_normal(base, 5_000))
    print(f"{opened} idle connections opened, {refused} answered 503; normal requests: {statuses}")
    assert (opened, refused) == (5_000, 0)
    assert statuses == [200] * 20


def test_connections_past_the_limit_are_refused_politely(tmp_path: Path, run_subgraphs: RunSubgraphs) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    settings = {"server": {"max_connections": 200, "header_timeout": 4.0}}
    with turnout_serve(tmp_path, {name: s.url for name, s in subgraphs.items()}, settings) as (
        base,
        _process,
    ):

        async def scenario() -> tuple[int, int, list[int], float, list[int]]:
            idle, refused = await _open_idle(base, 300)
            opened_at = time.monotonic()
            statuses = await _normal(base)
            # the idle ones (kept open here) are closed by the server's header timeout: room again
            await asyncio.wait_for(asyncio.gather(*(reader.read() for reader, _ in idle)), 15)
            closed_after = time.monotonic() - opened_at
            after = await _normal(base)
            for _reader, writer in idle:
                writer.close()
            return len(idle), refused, statuses, closed_after, after

        opened, refused, statuses, closed_after, after = asyncio.run(scenario())
    print(f"the idle connections closed by the server {closed_after:.2f}s after the window")
    assert (opened, refused) == (300, 100)
    assert statuses == [503] * 20  # full: refused with 503 and Retry-After, not left hanging
    assert 3.0 < closed_after < 6.0, closed_after  # by the 4 s header timeout, not by this client
    assert after == [200] * 20
