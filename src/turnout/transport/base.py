"""The transport protocol: how the executor sends one GraphQL request to one subgraph."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["SubgraphClient", "SubgraphRequest", "TransportError"]

SubgraphRequest = dict[str, Any]


class TransportError(Exception):
    """A subgraph request that produced no usable GraphQL response (connection, timeout, status, body)."""

    def __init__(self, message: str, *, code: str = "SUBREQUEST_HTTP_ERROR") -> None:
        super().__init__(message)
        self.code = code


class SubgraphClient(Protocol):
    """Sends `{"query", "variables", "operationName"}` to a subgraph and returns its JSON response."""

    async def send(self, subgraph: str, url: str, request: SubgraphRequest) -> dict[str, Any]: ...

    async def close(self) -> None: ...
