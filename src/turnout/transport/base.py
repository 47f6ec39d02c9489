"""The transport protocol: how the executor sends one GraphQL request to one subgraph."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = [
    "HOP_BY_HOP",
    "RESERVED_HEADERS",
    "HeaderRule",
    "HeaderRules",
    "SubgraphClient",
    "SubgraphRequest",
    "TransportError",
]

SubgraphRequest = dict[str, Any]

# never forwarded to a subgraph, whatever the rules say: they describe one connection, not the request
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
    }
)
# set by the transport itself (the body it sends is JSON it encoded): never copied from the client
RESERVED_HEADERS = HOP_BY_HOP | {"content-type", "accept", "accept-encoding", "content-encoding"}


def forbidden_header(name: str) -> bool:
    """Whether `name` (lower-case) may never be sent to a subgraph from the client or a rule."""
    return name in RESERVED_HEADERS or name.startswith("proxy-")


class TransportError(Exception):
    """A subgraph request that produced no usable GraphQL response (connection, timeout, status, body)."""

    def __init__(self, message: str, *, code: str = "SUBREQUEST_HTTP_ERROR") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class HeaderRule:
    """One step of building a subgraph request's headers (as Apollo Router's `headers` rules).

    - propagate: copy client headers named `named` (to `rename`, or `default` when the client sent none) or
      whose whole name matches `matching` (a regular expression, case-insensitive);
    - insert: set the header `named` to the static `value`;
    - remove: drop headers set by the rules before, `named` or `matching`.
    """

    action: Literal["propagate", "insert", "remove"]
    named: str | None = None
    matching: str | None = None
    rename: str | None = None
    default: str | None = None
    value: str | None = None

    def pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.matching, re.IGNORECASE) if self.matching is not None else None


class HeaderRules:
    """The headers one subgraph receives from a client request: nothing unless a rule puts it there."""

    def __init__(self, rules: Iterable[HeaderRule] = ()) -> None:
        self.rules = tuple(rules)
        self._patterns = [rule.pattern() for rule in self.rules]

    def __bool__(self) -> bool:
        return bool(self.rules)

    def apply(self, incoming: Mapping[str, str]) -> dict[str, str]:
        """Outgoing headers (lower-case names) for a client request with headers `incoming`."""
        client = {name.lower(): value for name, value in incoming.items()}
        out: dict[str, str] = {}
        for rule, pattern in zip(self.rules, self._patterns, strict=True):
            if rule.action == "insert" and rule.named is not None and rule.value is not None:
                out[rule.named.lower()] = rule.value
            elif rule.action == "remove":
                for name in list(out):
                    if name == (rule.named or "").lower() or (
                        pattern is not None and pattern.fullmatch(name)
                    ):
                        del out[name]
            elif rule.action == "propagate":
                if pattern is not None:
                    for name, value in client.items():
                        if pattern.fullmatch(name):
                            out[name] = value
                elif rule.named is not None:
                    name = rule.named.lower()
                    found = client.get(name, rule.default)
                    if found is not None:
                        out[(rule.rename or name).lower()] = found
        return {name: value for name, value in out.items() if not forbidden_header(name)}


class SubgraphClient(Protocol):
    """Sends `{"query", "variables", "operationName"}` to a subgraph and returns its JSON response.

    `headers` are the client request's headers; the client decides which of them the subgraph receives.
    """

    async def send(
        self, subgraph: str, url: str, request: SubgraphRequest, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]: ...

    async def close(self) -> None: ...
