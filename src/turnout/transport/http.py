"""The HTTP transport: aiohttp with pooled keep-alive connections and per-subgraph timeouts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from .base import HeaderRules, SubgraphRequest, TransportError

__all__ = ["HttpTransport"]

log = logging.getLogger("turnout.subgraph")

_HEADERS = {"content-type": "application/json", "accept": "application/json"}


def _failure(error: aiohttp.ClientError) -> str:
    """A class of failure for the client; the exception's own text (URLs, addresses) is only logged."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return "connection failed"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "connection closed"
    if isinstance(error, aiohttp.ClientPayloadError):
        return "incomplete response"
    if isinstance(error, aiohttp.ClientResponseError):
        return "invalid response"
    return "request failed"


class HttpTransport:
    """POSTs GraphQL requests to subgraphs over one shared connection pool."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        timeouts: Mapping[str, float] | None = None,
        pool_size: int = 100,
        keepalive_timeout: float = 4.0,
        headers: Mapping[str, HeaderRules] | None = None,
    ) -> None:
        self.keepalive_timeout = keepalive_timeout
        self.timeout = timeout
        self.timeouts = dict(timeouts or {})
        self.pool_size = pool_size
        # per subgraph: which client headers it receives (none without rules)
        self.header_rules = {name: rules for name, rules in (headers or {}).items() if rules}
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # idle connections are let go before common servers close them (uvicorn: 5 s, Node: 5 s)
            connector = aiohttp.TCPConnector(limit=self.pool_size, limit_per_host=self.pool_size, ttl_dns_cache=300,
                                             keepalive_timeout=self.keepalive_timeout)
            # no aiohttp timers: `send` bounds each request (both attempts) with one asyncio.timeout
            self._session = aiohttp.ClientSession(
                connector=connector, json_serialize=lambda o: orjson.dumps(o).decode(), auto_decompress=True,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    def headers_for(self, subgraph: str, incoming: Mapping[str, str] | None) -> dict[str, str]:
        """The headers of a request to `subgraph`: the header rules applied to the client's, then ours."""
        rules = self.header_rules.get(subgraph)
        if rules is None:
            return _HEADERS
        return {**rules.apply(incoming or {}), **_HEADERS}

    async def send(self, subgraph: str, url: str, request: SubgraphRequest,
                   headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        timeout = self.timeouts.get(subgraph, self.timeout)
        outgoing = self.headers_for(subgraph, headers)
        body = orjson.dumps(request)
        # a pooled connection the server closed meanwhile fails before the request is read: a query
        # (never a mutation) is sent once more on a fresh connection
        attempts = 2 if str(request.get("query", "")).lstrip().startswith(("query", "{")) else 1
        try:
            async with asyncio.timeout(timeout):
                for attempt in range(attempts):
                    try:
                        async with self._client().post(url, data=body, headers=outgoing) as response:
                            raw = await response.read()
                            status = response.status
                        break
                    except aiohttp.ServerDisconnectedError:
                        if attempt + 1 == attempts:
                            raise
        except TimeoutError:
            raise TransportError(f'Subgraph "{subgraph}" did not answer within {timeout:g}s.',
                                 code="SUBREQUEST_TIMEOUT") from None
        except aiohttp.ClientError as error:
            log.warning("subgraph %s could not be reached at %s: %r", subgraph, url, error)
            raise TransportError(f'Subgraph "{subgraph}" could not be reached: {_failure(error)}.') from None
        try:
            payload = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
            log.warning("subgraph %s answered HTTP %d with no GraphQL response: %r", subgraph, status, raw[:500])
            if status >= 400:
                raise TransportError(f'Subgraph "{subgraph}" answered HTTP {status}.')
            raise TransportError(f'Subgraph "{subgraph}" answered with a body that is not a GraphQL response.',
                                 code="SUBREQUEST_MALFORMED_RESPONSE")
        return payload

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
