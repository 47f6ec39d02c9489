"""A small aiohttp GraphQL client for tests (async, plus a blocking wrapper for plain test functions)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

__all__ = ["GraphQLResponse", "fetch_entities", "graphql_request", "post_graphql"]


@dataclass(frozen=True)
class GraphQLResponse:
    """An HTTP answer to a GraphQL request: status, raw text, and the JSON body if it parsed."""

    status: int
    text: str
    headers: Mapping[str, str]

    @property
    def json(self) -> Any:
        """The parsed body (raises ``ValueError`` if it is not JSON)."""
        return json.loads(self.text)

    @property
    def data(self) -> Any:
        """``json["data"]``."""
        return self.json.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        """``json["errors"]`` or ``[]``."""
        return list(self.json.get("errors") or [])


async def post_graphql(
    url: str,
    query: str,
    variables: Mapping[str, Any] | None = None,
    *,
    operation_name: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    session: aiohttp.ClientSession | None = None,
) -> GraphQLResponse:
    """POSTs ``{"query", "variables", "operationName"}`` to ``url`` and returns the answer."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = dict(variables)
    if operation_name is not None:
        body["operationName"] = operation_name
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    if session is None:
        async with aiohttp.ClientSession(timeout=client_timeout) as own_session:
            return await _post(own_session, url, body, headers, client_timeout)
    return await _post(session, url, body, headers, client_timeout)


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    headers: Mapping[str, str] | None,
    timeout: aiohttp.ClientTimeout,
) -> GraphQLResponse:
    async with session.post(url, json=body, headers=dict(headers or {}), timeout=timeout) as response:
        text = await response.text(errors="replace")
        return GraphQLResponse(response.status, text, dict(response.headers))


def graphql_request(
    url: str,
    query: str,
    variables: Mapping[str, Any] | None = None,
    **options: Any,
) -> GraphQLResponse:
    """Blocking :func:`post_graphql`, for test functions that are not coroutines."""
    return asyncio.run(post_graphql(url, query, variables, **options))


def fetch_entities(
    url: str,
    representations: Sequence[Mapping[str, Any]],
    selection: str,
    **options: Any,
) -> GraphQLResponse:
    """Sends an ``_entities`` fetch the way a gateway does; ``selection`` is e.g. ``"... on User { name }"``."""
    query = (
        "query($representations: [_Any!]!) { _entities(representations: $representations) { "
        + selection
        + " } }"
    )
    return graphql_request(url, query, {"representations": [dict(r) for r in representations]}, **options)
