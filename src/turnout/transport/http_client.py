"""A lean HTTP/1.1 client for subgraph calls: keep-alive connections per subgraph, one write per request.

What a subgraph call needs and no more: POST with a prebuilt head, the response parsed by httptools (the parser
uvicorn uses), chunked and `content-encoding: gzip`/`deflate` bodies, TLS for `https` URLs. A fifth of aiohttp's
CPU per call on the gateway benchmark (measured: 15 against 60-70 microseconds), which is most of a subgraph
call's cost in the gateway. Timeouts are the caller's (`asyncio.timeout` around `Pool.post`): a call cancelled
while its answer is on the way closes that connection, so no late answer is read as another request's.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections import deque
from urllib.parse import urlsplit

import httptools

__all__ = [
    "ConnectFailed",
    "Disconnected",
    "IncompleteResponse",
    "InvalidResponse",
    "Pool",
    "ResponseTooLarge",
    "TimedOut",
    "TransportProblem",
]


class TransportProblem(Exception):
    """A call that got no complete HTTP response."""


class ConnectFailed(TransportProblem):
    """No connection could be opened."""


class Disconnected(TransportProblem):
    """The connection closed before the response began (a kept-alive one the server had let go, often)."""


class IncompleteResponse(TransportProblem):
    """The connection closed in the middle of the response, or its body could not be decoded."""


class InvalidResponse(TransportProblem):
    """What came back is not HTTP."""


class TimedOut(TransportProblem):
    """No complete response before the call's deadline (the connection is closed: a late answer is never read as
    another request's)."""


class ResponseTooLarge(InvalidResponse):
    """The response's body (as sent, or once decompressed) is larger than the bound: not read any further."""


# the default bound of a subgraph response's body, sent and decompressed: far above any answer a gateway should
# merge, far below what would let one subgraph (or a gzip bomb) exhaust the gateway's memory
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class _Connection(asyncio.Protocol):
    """One connection: at most one request on it at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_body: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.loop = loop
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.timer: asyncio.TimerHandle | None = None  # the running request's deadline
        self.closed = False
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.chunks: list[bytes] = []
        self.received = 0  # body bytes so far
        self.started = False  # a byte of the response came
        self.headers_done = False
        self.framed = False  # content-length or chunked: the body does not end with the connection
        self.encoding = b""
        self.keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is no subclass)

    def send(self, data: bytes, deadline: float | None = None) -> asyncio.Future[tuple[int, bytes]]:
        """The answer's future; past `deadline` (the loop's time) it fails with `TimedOut` and the connection
        closes. A timer handle, not a task's cancellation: a third of `asyncio.timeout`'s cost per call."""
        assert self.transport is not None
        self._reset()
        waiter = self.waiter = self.loop.create_future()
        if deadline is not None:
            self.timer = self.loop.call_at(deadline, self._expire)
        self.transport.write(data)
        return waiter

    def disarm(self) -> None:
        """The request is over (answered, failed or abandoned): its deadline no longer applies."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expire(self) -> None:
        self.timer = None
        if self.waiter is not None and not self.waiter.done():
            self._fail(TimedOut("no complete response before the deadline"))
            self.close()

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            self.close()  # nothing was asked on this connection: it cannot be trusted any more
            return
        self.started = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(InvalidResponse("not an HTTP response"))
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-encoding":
            self.encoding = value.strip().lower()
        elif name == b"content-length" or (name == b"transfer-encoding" and b"chunked" in value.lower()):
            self.framed = True
            if name == b"content-length" and value.strip().isdigit() and int(value) > self.max_body:
                self._too_large()

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            return  # refused (too large) or abandoned: nothing more is kept
        self.received += len(body)
        if self.received > self.max_body:
            self._too_large()
            return
        self.chunks.append(body)

    def _too_large(self) -> None:
        """Stop reading: the answer fails, the connection (mid-response) is closed, what came is dropped."""
        self.chunks = []
        self._fail(ResponseTooLarge(f"the response body is larger than {self.max_body} bytes"))
        self.close()

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        self._complete()

    def _complete(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        body = b"".join(self.chunks)
        self.chunks = []
        if self.encoding and self.encoding != b"identity":
            try:
                body = _decoded(body, self.encoding, self.max_body)
            except ResponseTooLarge as error:
                waiter.set_exception(error)
                return
            except (zlib.error, ValueError) as error:
                waiter.set_exception(IncompleteResponse(f"body not decoded: {error}"))
                return
        waiter.set_result((self.parser.get_status_code(), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.headers_done and not self.framed:
            self._complete()  # a body that ends with the connection
        elif not self.started:
            self._fail(Disconnected("the connection closed before the response"))
        else:
            self._fail(IncompleteResponse("the connection closed in the middle of the response"))

    def _fail(self, problem: TransportProblem) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(problem)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _decoded(body: bytes, encoding: bytes, limit: int) -> bytes:
    """The body decompressed, never to more than `limit` bytes (a small gzip body can expand a thousandfold)."""
    if encoding in (b"gzip", b"x-gzip"):
        return _inflate(body, 16 + zlib.MAX_WBITS, limit)
    if encoding == b"deflate":
        try:
            return _inflate(body, zlib.MAX_WBITS, limit)
        except zlib.error:
            return _inflate(body, -zlib.MAX_WBITS, limit)  # raw deflate, as some servers send it
    raise ValueError(f"unsupported content-encoding {encoding.decode('latin-1')!r}")


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(body, limit + 1)
    if len(out) > limit:
        raise ResponseTooLarge(f"the response body is larger than {limit} bytes once decompressed")
    if not inflater.eof:
        raise zlib.error("truncated compressed body")
    return out


_COMMON = (
    b"user-agent: turnout\r\naccept: application/json\r\naccept-encoding: gzip, deflate\r\n"
    b"content-type: application/json\r\n"
)


class Pool:
    """The connections to one subgraph: at most `size` open, idle ones closed after `keepalive_timeout`
    seconds (before common servers close them: uvicorn and Node wait 5 s)."""

    def __init__(
        self, url: str, *, size: int, keepalive_timeout: float, max_body: int = DEFAULT_MAX_RESPONSE_BYTES
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.host = parts.hostname
        secure = parts.scheme == "https"
        self.port = parts.port or (443 if secure else 80)
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if secure else None
        self.size = max(1, size)
        self.keepalive_timeout = keepalive_timeout
        self.max_body = max_body
        host = f"[{self.host}]" if ":" in self.host else self.host
        authority = host if parts.port is None else f"{host}:{parts.port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # the constant part of every request's head
        self.head = f"POST {target} HTTP/1.1\r\nhost: {authority}\r\n".encode("latin-1") + _COMMON
        self.idle: list[_Connection] = []
        self.open = 0
        self.waiters: deque[asyncio.Future[None]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self.closed = False

    async def post(
        self, body: bytes, headers: bytes = b"", deadline: float | None = None
    ) -> tuple[int, bytes]:
        """(status, body) of one POST; `headers`: more header lines, each ending with CRLF. Past `deadline` (the
        event loop's time), `TimedOut` while the answer is awaited, `TimeoutError` while waiting for a
        connection."""
        connection = await self._acquire(deadline)
        reusable = False
        try:
            status, raw = await connection.send(
                b"%s%scontent-length: %d\r\n\r\n%s" % (self.head, headers, len(body), body), deadline
            )
            reusable = connection.keep_alive
            return status, raw
        finally:
            connection.disarm()
            self._release(connection, reusable)

    async def _acquire(self, deadline: float | None = None) -> _Connection:
        loop = asyncio.get_running_loop()
        while True:
            if self.closed:
                raise ConnectFailed("the transport is closed")
            now = loop.time()
            while self.idle:
                connection = self.idle.pop()
                if not connection.closed and now - connection.idle_since < self.keepalive_timeout:
                    return connection
                connection.close()
                self.open -= 1
            if self.open < self.size:
                break
            waiter: asyncio.Future[None] = loop.create_future()
            self.waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, but leaving: the next one in line takes the turn
                else:
                    self.waiters.remove(waiter)
                raise
        self.open += 1
        try:
            async with asyncio.timeout_at(deadline):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, self.max_body), self.host, self.port, ssl=self.ssl
                )
        except BaseException as error:
            self.open -= 1
            self._wake()
            if isinstance(error, OSError):
                raise ConnectFailed(str(error)) from error
            raise
        return connection

    def _release(self, connection: _Connection, reusable: bool) -> None:
        if reusable and not connection.closed and not self.closed:
            connection.idle_since = asyncio.get_running_loop().time()
            self.idle.append(connection)
            if self._sweeper is None:
                self._sweeper = asyncio.get_running_loop().call_later(self.keepalive_timeout, self._sweep)
        else:
            connection.close()
            self.open -= 1
        self._wake()

    def _wake(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _sweep(self) -> None:
        """Close the connections idle for longer than the keep-alive timeout (every so often, not per call)."""
        self._sweeper = None
        now = asyncio.get_running_loop().time()
        kept = []
        for connection in self.idle:
            if connection.closed or now - connection.idle_since >= self.keepalive_timeout:
                connection.close()
                self.open -= 1
            else:
                kept.append(connection)
        self.idle = kept
        if kept:
            self._sweeper = asyncio.get_running_loop().call_later(self.keepalive_timeout / 2, self._sweep)

    def close(self) -> None:
        self.closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in self.idle:
            connection.close()
        self.open -= len(self.idle)
        self.idle = []
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
