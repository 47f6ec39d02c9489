"""The HTTP transport: pooled keep-alive connections (http_client.py) and per-subgraph timeouts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from typing import Any

import orjson

from ..observability.tracing import with_trace_context
from .base import HeaderRules, SubgraphRequest, TransportError
from .http_client import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ConnectFailed,
    Disconnected,
    IncompleteResponse,
    InvalidResponse,
    Pool,
    ResponseTooLarge,
    TimedOut,
    TransportProblem,
)

__all__ = ["HttpTransport"]

log = logging.getLogger("turnout.subgraph")

_HEADERS = {"content-type": "application/json", "accept": "application/json"}


def _failure(error: TransportProblem) -> str:
    """A class of failure for the client; the exception's own text (URLs, addresses) is only logged."""
    if isinstance(error, ConnectFailed):
        return "connection failed"
    if isinstance(error, Disconnected):
        return "connection closed"
    if isinstance(error, IncompleteResponse):
        return "incomplete response"
    if isinstance(error, ResponseTooLarge):
        return "response too large"
    if isinstance(error, InvalidResponse):
        return "invalid response"
    return "request failed"


def _header_lines(headers: Mapping[str, str]) -> bytes:
    """The request's own header lines (the pool's head has content-type, accept and the rest); a header whose
    name or value could break the request's framing is not sent."""
    lines = []
    for name, value in headers.items():
        if name in _HEADERS or any(c in name or c in value for c in "\r\n\0"):
            continue
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1", "replace")


class HttpTransport:
    """POSTs GraphQL requests to subgraphs, each subgraph over a connection pool of its own: a subgraph that
    hangs holds its own connections, never another's."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        timeouts: Mapping[str, float] | None = None,
        pool_size: int = 100,
        pool_sizes: Mapping[str, int] | None = None,
        keepalive_timeout: float = 4.0,
        headers: Mapping[str, HeaderRules] | None = None,
        deduplicate: bool | Collection[str] = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        """`deduplicate`: in-flight deduplication of identical queries, for every subgraph (True) or the ones
        named; off by default (as Apollo Router's `deduplicate_query`). `pool_size`: connections per subgraph
        (`pool_sizes` by subgraph name where one differs). `max_response_bytes`: the largest response body read
        from a subgraph, as sent and once decompressed (a larger one fails that fetch, like a garbled one)."""
        self.keepalive_timeout = keepalive_timeout
        self.max_response_bytes = max_response_bytes
        self.timeout = timeout
        self.timeouts = dict(timeouts or {})
        self.pool_size = pool_size
        self.pool_sizes = dict(pool_sizes or {})
        # per subgraph: which client headers it receives (none without rules)
        self.header_rules = {name: rules for name, rules in (headers or {}).items() if rules}
        self._pools: dict[tuple[str, str], Pool] = {}
        self.deduplicate = deduplicate if isinstance(deduplicate, bool) else frozenset(deduplicate)
        self._in_flight: dict[tuple[object, ...], asyncio.Future[tuple[int, bytes]]] = {}
        self.deduplicated = 0  # requests answered by another one's subgraph call

    def _pool(self, subgraph: str, url: str) -> Pool:
        pool = self._pools.get((subgraph, url))
        if pool is None:
            pool = self._pools[(subgraph, url)] = Pool(
                url,
                size=self.pool_sizes.get(subgraph, self.pool_size),
                keepalive_timeout=self.keepalive_timeout,
                max_body=self.max_response_bytes,
            )
        return pool

    def headers_for(self, subgraph: str, incoming: Mapping[str, str] | None) -> dict[str, str]:
        """The headers of a request to `subgraph`: the header rules applied to the client's, then ours."""
        rules = self.header_rules.get(subgraph)
        if rules is None:
            return _HEADERS
        return {**rules.apply(incoming or {}), **_HEADERS}

    async def send(
        self, subgraph: str, url: str, request: SubgraphRequest, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        outgoing = self.headers_for(subgraph, headers)
        traced = with_trace_context(outgoing)  # when a span is recording (not part of the dedup key)
        body = orjson.dumps(request)
        # a pooled connection the server closed meanwhile fails before the request is read: a query
        # (never a mutation) is sent once more on a fresh connection
        query = str(request.get("query", "")).lstrip().startswith(("query", "{"))
        if query and (
            self.deduplicate is True or (self.deduplicate is not False and subgraph in self.deduplicate)
        ):
            status, raw = await self._shared(subgraph, url, body, outgoing, traced)
        else:
            status, raw = await self._post(subgraph, url, body, traced, 2 if query else 1)
        return self._payload(subgraph, status, raw)

    async def _shared(
        self, subgraph: str, url: str, body: bytes, outgoing: Mapping[str, str], sent: Mapping[str, str]
    ) -> tuple[int, bytes]:
        """In-flight deduplication: an identical query (same subgraph, URL, body and headers) already on its
        way is not sent again; its answer's bytes are shared (each caller parses its own copy). The request runs
        in a task of its own, so that a caller that goes away does not cancel it for the others."""
        key = (subgraph, url, body, tuple(sorted(outgoing.items())))
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._post(subgraph, url, body, sent, 2))
            self._in_flight[key] = task
            task.add_done_callback(lambda done: self._landed(key, done))
        else:
            self.deduplicated += 1
        return await asyncio.shield(task)

    def _landed(self, key: tuple[object, ...], task: asyncio.Future[tuple[int, bytes]]) -> None:
        self._in_flight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here too: every caller may have gone away

    async def _post(
        self, subgraph: str, url: str, body: bytes, outgoing: Mapping[str, str], attempts: int
    ) -> tuple[int, bytes]:
        timeout = self.timeouts.get(subgraph, self.timeout)
        deadline = asyncio.get_running_loop().time() + timeout  # every attempt within it
        lines = b"" if outgoing is _HEADERS else _header_lines(outgoing)
        try:
            pool = self._pool(subgraph, url)
            for attempt in range(attempts):
                try:
                    return await pool.post(body, lines, deadline)
                except Disconnected:
                    if attempt + 1 == attempts:
                        raise
        except (TimeoutError, TimedOut):
            raise TransportError(
                f'Subgraph "{subgraph}" did not answer within {timeout:g}s.', code="SUBREQUEST_TIMEOUT"
            ) from None
        except (TransportProblem, ValueError) as error:
            log.warning("subgraph %s could not be reached at %s: %r", subgraph, url, error)
            reason = _failure(error) if isinstance(error, TransportProblem) else "request failed"
            raise TransportError(f'Subgraph "{subgraph}" could not be reached: {reason}.') from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    def _payload(subgraph: str, status: int, raw: bytes) -> dict[str, Any]:
        try:
            payload = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
            log.warning(
                "subgraph %s answered HTTP %d with no GraphQL response: %r", subgraph, status, raw[:500]
            )
            if status >= 400:
                raise TransportError(f'Subgraph "{subgraph}" answered HTTP {status}.')
            raise TransportError(
                f'Subgraph "{subgraph}" answered with a body that is not a GraphQL response.',
                code="SUBREQUEST_MALFORMED_RESPONSE",
            )
        return payload

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
