"""A subgraph cannot make the gateway hold more than `max_response_bytes` of one answer: not by announcing a huge
body, not by streaming one without end, not by a small compressed body that expands (a gzip bomb). The fetch fails
as "response too large", the connection is dropped, and the next call works."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from test_transport_http_client import _answer, _finish, _read_request, _serve, run
from turnout.transport.base import TransportError
from turnout.transport.http import HttpTransport
from turnout.transport.http_client import DEFAULT_MAX_RESPONSE_BYTES, Pool, ResponseTooLarge

pytestmark = pytest.mark.timeout(30)

LIMIT = 64 * 1024
SMALL = b'{"data":{"n":1}}'


async def _endless(writer: asyncio.StreamWriter, head: bytes) -> int:
    """Send `head`, then chunks until the client goes away; the bytes of body sent."""
    writer.write(head)
    sent = 0
    chunk = b"x" * 8192
    try:
        while sent < 100 * LIMIT:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if b"chunked" in head else chunk)
            await writer.drain()
            sent += len(chunk)
    except ConnectionError:
        pass
    return sent


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 99999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
    ],
    ids=["announced", "chunked", "until-close"],
)
def test_a_body_over_the_bound_fails_and_is_not_read_to_its_end(head: bytes) -> None:
    sent: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        sent.append(await _endless(writer, head))

    async def main() -> None:
        server, url = await _serve(handler)
        pool = Pool(url, size=2, keepalive_timeout=5, max_body=LIMIT)
        with pytest.raises(ResponseTooLarge):
            await pool.post(b"{}")
        await _finish(pool, server)

    run(main())
    # the client stopped reading: the server could not push the 100x it tried (socket buffers aside)
    assert sent and sent[0] < 100 * LIMIT


def test_a_compressed_body_is_bounded_once_decompressed() -> None:
    bomb = gzip.compress(b"0" * (40 * LIMIT))  # about 6 KB that expand to 40x the bound
    fine = gzip.compress(SMALL)
    assert len(bomb) < LIMIT

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            _head, body = await _read_request(reader)
            answer = bomb if b"bomb" in body else fine
            writer.write(_answer(answer, b"content-encoding: gzip\r\n"))
            await writer.drain()

    async def main() -> None:
        server, url = await _serve(handler)
        transport = HttpTransport(timeout=5, max_response_bytes=LIMIT)
        with pytest.raises(TransportError, match="could not be reached: response too large"):
            await transport.send("a", url, {"query": "{ bomb }"})
        # the fetch failed, not the gateway: the next call on the same subgraph is answered
        assert await transport.send("a", url, {"query": "{ n }"}) == {"data": {"n": 1}}
        await _finish(transport, server)

    run(main())


def test_the_configured_bound_reaches_the_gateways_transport() -> None:
    from support.fixtures import load_supergraph
    from turnout.assembly import build_gateway
    from turnout.config import Config
    from turnout.supergraph.join_spec import read_supergraph

    model = read_supergraph(load_supergraph("marketplace"))
    gateway = build_gateway(Config.model_validate({"subgraph_max_response_bytes": LIMIT}), model)
    assert isinstance(gateway.client, HttpTransport)
    assert gateway.client.max_response_bytes == LIMIT
    default = build_gateway(Config(), model).client
    assert isinstance(default, HttpTransport) and default.max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES
