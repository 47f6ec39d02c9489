"""The HTTP transport: aiohttp with pooled keep-alive connections and per-subgraph timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from .base import SubgraphRequest, TransportError

__all__ = ["HttpTransport"]

_HEADERS = {"content-type": "application/json", "accept": "application/json"}


class HttpTransport:
    """POSTs GraphQL requests to subgraphs over one shared connection pool."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        timeouts: Mapping[str, float] | None = None,
        pool_size: int = 100,
        keepalive_timeout: float = 4.0,
    ) -> None:
        self.keepalive_timeout = keepalive_timeout
        self.timeout = timeout
        self.timeouts = dict(timeouts or {})
        self.pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # idle connections are let go before common servers close them (uvicorn: 5 s, Node: 5 s)
            connector = aiohttp.TCPConnector(limit=self.pool_size, limit_per_host=self.pool_size, ttl_dns_cache=300,
                                             keepalive_timeout=self.keepalive_timeout)
            self._session = aiohttp.ClientSession(
                connector=connector, json_serialize=lambda o: orjson.dumps(o).decode(), auto_decompress=True
            )
        return self._session

    async def send(self, subgraph: str, url: str, request: SubgraphRequest) -> dict[str, Any]:
        timeout = self.timeouts.get(subgraph, self.timeout)
        body = orjson.dumps(request)
        # a pooled connection the server closed meanwhile fails before the request is read: a query
        # (never a mutation) is sent once more on a fresh connection
        attempts = 2 if str(request.get("query", "")).lstrip().startswith(("query", "{")) else 1
        try:
            async with asyncio.timeout(timeout):
                for attempt in range(attempts):
                    try:
                        async with self._client().post(url, data=body, headers=_HEADERS) as response:
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
            raise TransportError(f'Subgraph "{subgraph}" could not be reached: {type(error).__name__}.') from None
        try:
            payload = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
            if status >= 400:
                raise TransportError(f'Subgraph "{subgraph}" answered HTTP {status}.')
            raise TransportError(f'Subgraph "{subgraph}" answered with a body that is not a GraphQL response.',
                                 code="SUBREQUEST_MALFORMED_RESPONSE")
        return payload

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
