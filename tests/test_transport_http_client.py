"""The subgraph HTTP/1.1 client against raw servers on 127.0.0.1: framing (length, chunked, until close),
compressed bodies, keep-alive reuse and expiry, the pool's limit, and how each kind of failure is told apart."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Awaitable, Callable

import pytest

from turnout.transport.base import TransportError
from turnout.transport.http import HttpTransport
from turnout.transport.http_client import Disconnected, IncompleteResponse, InvalidResponse, Pool, TimedOut

pytestmark = pytest.mark.timeout(30)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


def _answer(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n%scontent-length: %d\r\n\r\n%s" % (
        extra,
        len(body),
        body,
    )


async def _serve(handler: Handler) -> tuple[asyncio.Server, str]:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/graphql"


async def _finish(pool: Pool | HttpTransport, server: asyncio.Server) -> None:
    """Client connections closed, then the server's side of them, then the server."""
    if isinstance(pool, Pool):
        pool.close()
    else:
        await pool.close()
    await asyncio.sleep(0.05)
    server.close()
    await server.wait_closed()


def run(coroutine: Awaitable[None]) -> None:
    asyncio.run(coroutine)  # type: ignore[arg-type]


def test_keep_alive_one_connection_for_requests_in_turn() -> None:
    connections = 0
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                head, body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            heads.append(head)
            writer.write(_answer(body))

    async def main() -> None:
        server, url = await _serve(handler)
        pool = Pool(url, size=4, keepalive_timeout=5)
        for index in range(3):
            status, raw = await pool.post(b'{"n": %d}' % index, b"x-one: 1\r\n")
            assert (status, raw) == (200, b'{"n": %d}' % index)
        await _finish(pool, server)

    run(main())
    assert connections == 1
    assert heads[0].startswith(b"POST /graphql HTTP/1.1\r\n")
    lines = heads[0].lower().split(b"\r\n")
    assert b"x-one: 1" in lines and b"content-type: application/json" in lines
    assert any(line.startswith(b"host: 127.0.0.1:") for line in lines)


@pytest.mark.parametrize(
    "response",
    [
        b'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"a"\r\n4\r\n: 1}\r\n0\r\n\r\n',
        b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n%s"
        % (len(gzip.compress(b'{"a": 1}')), gzip.compress(b'{"a": 1}')),
        b"HTTP/1.1 200 OK\r\ncontent-encoding: deflate\r\ncontent-length: %d\r\n\r\n%s"
        % (len(zlib.compress(b'{"a": 1}')), zlib.compress(b'{"a": 1}')),
        b'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{"a": 1}',  # the body ends with the connection
    ],
    ids=["chunked", "gzip", "deflate", "until-close"],
)
def test_response_framings(response: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(response)
        if b"connection: close" in response:
            writer.close()

    async def main() -> None:
        server, url = await _serve(handler)
        pool = Pool(url, size=2, keepalive_timeout=5)
        assert await pool.post(b"{}") == (200, b'{"a": 1}')
        await _finish(pool, server)

    run(main())


def test_idle_connections_expire_and_the_pool_limit_holds() -> None:
    connections = 0
    in_flight = 0
    most = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections, in_flight, most
        connections += 1
        while True:
            try:
                _head, body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.02)
            in_flight -= 1
            writer.write(_answer(body))

    async def main() -> None:
        server, url = await _serve(handler)
        pool = Pool(url, size=2, keepalive_timeout=0.2)
        answers = await asyncio.gather(*(pool.post(b"%d" % n) for n in range(6)))
        assert [raw for _status, raw in answers] == [b"%d" % n for n in range(6)]
        assert most == 2 and connections == 2
        await asyncio.sleep(0.5)  # past the keep-alive timeout: closed, a new one is opened
        assert pool.open == 0
        await pool.post(b"7")
        assert connections == 3
        await _finish(pool, server)

    run(main())


def test_failures_are_told_apart() -> None:
    async def closes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.close()

    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{")
        await writer.drain()
        writer.close()

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")

    async def main() -> None:
        for handler, problem in (
            (closes, Disconnected),
            (half, IncompleteResponse),
            (garbage, InvalidResponse),
        ):
            server, url = await _serve(handler)
            pool = Pool(url, size=2, keepalive_timeout=5)
            with pytest.raises(problem):
                await pool.post(b"{}")
            assert pool.open == 0
            await _finish(pool, server)

    run(main())


def test_a_query_is_sent_again_when_a_kept_connection_was_closed() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        first = connections == 1
        answered = 0
        while True:
            await _read_request(reader)
            if first and answered == 1:
                return  # the server let the kept-alive connection go as the next request came: not read
            answered += 1
            writer.write(_answer(b'{"data": {"connection": %d}}' % connections))

    async def main() -> None:
        server, url = await _serve(handler)
        transport = HttpTransport(timeout=5)
        assert await transport.send("a", url, {"query": "{ n }"}) == {"data": {"connection": 1}}
        assert await transport.send("a", url, {"query": "{ n }"}) == {"data": {"connection": 2}}
        await _finish(transport, server)

    run(main())


def test_a_mutation_is_never_sent_twice() -> None:
    requests = 0

    async def handler(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await _read_request(reader)
        requests += 1  # and closed unanswered

    async def main() -> None:
        server, url = await _serve(handler)
        transport = HttpTransport(timeout=5)
        for query, sent in (("{ n }", 2), ("mutation { n }", 1)):
            before = requests
            with pytest.raises(TransportError, match="could not be reached: connection closed"):
                await transport.send("a", url, {"query": query})
            assert requests - before == sent
        await _finish(transport, server)

    run(main())


def test_connection_failed() -> None:
    async def main() -> None:
        transport = HttpTransport(timeout=5)
        with pytest.raises(TransportError, match="could not be reached: connection failed"):
            await transport.send("a", "http://127.0.0.1:9/graphql", {"query": "{ n }"})
        await transport.close()

    run(main())


def test_a_cancelled_call_does_not_leave_its_answer_to_the_next() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                _head, body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            await asyncio.sleep(0.1 if body == b"slow" else 0)
            writer.write(_answer(body))

    async def main() -> None:
        server, url = await _serve(handler)
        pool = Pool(url, size=1, keepalive_timeout=5)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.03):
                await pool.post(b"slow")
        assert await pool.post(b"fast") == (200, b"fast")
        await _finish(pool, server)

    run(main())


def test_a_call_past_its_deadline_times_out_and_closes_its_connection() -> None:
    """The deadline of a subgraph call: while the answer is awaited (a timer on the connection: `TimedOut`, the
    connection closed so the late answer reaches nobody) and while waiting for a connection of a full pool
    (`TimeoutError`). HttpTransport gives both as SUBREQUEST_TIMEOUT."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            _head, body = await _read_request(reader)
            await asyncio.sleep(0.3 if b"slow" in body else 0)
            writer.write(_answer(body))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server, url = await _serve(handler)
        pool = Pool(url, size=1, keepalive_timeout=5)
        started = loop.time()
        with pytest.raises(TimedOut):
            await pool.post(b"slow", deadline=loop.time() + 0.05)
        assert loop.time() - started < 0.25
        assert (pool.open, pool.idle) == (0, [])  # closed, not kept
        assert await pool.post(b"fast", deadline=loop.time() + 5) == (200, b"fast")
        # the only connection busy with a slow call: the next one's deadline passes while it waits for it
        slow = asyncio.ensure_future(pool.post(b"slow"))
        await asyncio.sleep(0.02)
        with pytest.raises(TimeoutError):
            await pool.post(b"fast", deadline=loop.time() + 0.05)
        assert await slow == (200, b"slow")
        assert await pool.post(b"fast") == (200, b"fast")
        await _finish(pool, server)

        server, url = await _serve(handler)
        transport = HttpTransport(timeout=0.05)
        with pytest.raises(TransportError, match=r"did not answer within 0\.05s") as caught:
            await transport.send("a", url, {"query": "{ slow }"})
        assert caught.value.code == "SUBREQUEST_TIMEOUT"
        assert await transport.send("a", url, {"query": "{ fast }", "data": 1}) == {
            "query": "{ fast }",
            "data": 1,
        }
        await _finish(transport, server)

    run(main())
