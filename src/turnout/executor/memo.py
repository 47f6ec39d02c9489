"""What one request's fetches answered, kept for what may need them again: the fetch records (timings,
failures, coordinates) the metrics, fallbacks and comparisons read, and the `FetchMemo`, the answers a
comparison's candidate plan or a fallback reuses instead of asking a subgraph again."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..planner.plan_nodes import Fetch, Shape
from ..transport.base import TransportError
from .reuse import ObjectIndex, covers, project

__all__ = ["FetchMemo", "FetchRecord"]


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """What one fetch of a plan did: for latency evidence and for fallback decisions."""

    service: str
    milliseconds: float
    ok: bool  # answered, and without GraphQL errors
    memo_hit: bool
    root: bool  # a root fetch (for a mutation: the write itself)
    fetch: Fetch | None = None  # the plan's fetch (what it asked for, what it fills)
    error: str | None = None  # why it failed: the first error, as the subgraph gave it
    paths: tuple[tuple[str, ...], ...] = ()  # where its objects are (an entity fetch's Flatten paths)

    @property
    def coordinates(self) -> frozenset[str]:
        return self.fetch.coordinates if self.fetch is not None else frozenset()

    @property
    def data_keys(self) -> frozenset[str]:
        return self.fetch.data_keys if self.fetch is not None else frozenset()


class FetchMemo:
    """Subgraph answers of one request, by (service, operation, variables): a re-run sends only what differs.

    Root query answers are also kept by (service, variables) with their selection's shape: a re-run's root
    fetch that asks for less of the same subgraph is answered from them (executor.reuse)."""

    __slots__ = ("answers", "fresh", "indexes", "roots")

    def __init__(self) -> None:
        # coordinates whose fetches are never answered from the memo: a noise run asks the old side again for
        # what migrates and reuses the rest
        self.fresh: frozenset[str] = frozenset()
        # answers are kept serialized: the executor merges into the dicts it receives
        self.answers: dict[bytes, bytes | TransportError] = {}
        # root query answers with their shapes, by subgraph, then by the variables they were asked with
        self.roots: dict[str, dict[bytes, list[tuple[Shape, bytes]]]] = {}
        self.indexes: dict[str, ObjectIndex] = {}  # their objects, built when an entity fetch first asks

    def keep_root(self, service: str, request: Mapping[str, Any], shape: Shape, raw: bytes) -> None:
        self.roots.setdefault(service, {}).setdefault(self._variables(request), []).append((shape, raw))
        self.indexes.pop(service, None)

    def entities(
        self, service: str, representations: Any, shapes: tuple[tuple[str, Shape], ...]
    ) -> dict[str, Any] | None:
        """An `_entities` answer of `service` made of objects its root answers hold; or None (executor.reuse)."""
        if not shapes or not isinstance(representations, list) or service not in self.roots:
            return None
        index = self.indexes.get(service)
        if index is None:
            index = self.indexes[service] = ObjectIndex(
                [
                    (shape, orjson.loads(raw).get("data"))
                    for answers in self.roots[service].values()
                    for shape, raw in answers
                ]
            )
        found = index.entities(representations, shapes)
        return None if found is None else {"data": {"_entities": found}}

    @staticmethod
    def _variables(request: Mapping[str, Any]) -> bytes:
        return orjson.dumps(request.get("variables"), option=orjson.OPT_SORT_KEYS)

    def covering(self, service: str, request: Mapping[str, Any], shape: Shape) -> dict[str, Any] | None:
        """An answer of this request to `service` whose selection covers `shape`, cut to it; or None."""
        for theirs, raw in self.roots.get(service, {}).get(self._variables(request), ()):
            if covers(theirs, shape):
                answer = orjson.loads(raw)
                return {"data": project(answer.get("data"), shape)}
        return None

    @staticmethod
    def key(service: str, request: Mapping[str, Any]) -> bytes:
        """The memo key of a request: its operation without the name (two plans of one request number their
        fetches apart: `Q__assignments__1` and `Q__assignments__3` asking the same are one answer)."""
        return orjson.dumps(
            [service, _unnamed(request.get("query")), request.get("variables")], option=orjson.OPT_SORT_KEYS
        )

    def reusable(self, fetch: Fetch) -> bool:
        """Whether `fetch` may be answered from the memo (it asks none of the coordinates kept fresh)."""
        return not self.fresh or self.fresh.isdisjoint(fetch.coordinates)

    def copy(self, fresh: frozenset[str] = frozenset()) -> FetchMemo:
        """A copy to run another plan with; fetches asking any of `fresh` go to the network again."""
        other = FetchMemo()
        other.fresh = fresh
        other.answers = dict(self.answers)
        other.roots = {
            service: {key: list(found) for key, found in by_variables.items()}
            for service, by_variables in self.roots.items()
        }
        return other


_OPERATION_NAME = re.compile(r"(query|mutation|subscription) [_A-Za-z][_0-9A-Za-z]*")


def _unnamed(query: Any) -> Any:
    """`query Name(...) {...}` as `query(...) {...}`; anything else as it is."""
    if isinstance(query, str):
        named = _OPERATION_NAME.match(query)
        if named is not None:
            return named.group(1) + query[named.end() :]
    return query
