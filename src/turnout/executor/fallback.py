"""Per-fetch fallback: the values of the fetches that failed, taken from a run of the old side.

When a migrated field's new subgraph fails, the request is run again with the old routing (the fetches that do
not change are answered from the request's memo, and a mutation's writes are never sent twice). Then only what
the failed fetches were to fill is taken from that run: for each failed fetch, its data keys on the objects at
its paths (at the root, for a root fetch); everything the new side answered stays. Objects are matched by their
position along the path and checked to be the same object (their other scalar values agree); where they are
not (the old side lists other objects, say), no partial answer can be trusted and the whole answer of the old
side is used instead.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from .memo import FetchRecord
from .plan_executor import ExecutionState

__all__ = ["replace_failed"]


class _Misaligned(Exception):
    """The two runs' objects at a path are not the same objects."""


def _same_object(primary: dict[str, Any], fallback: dict[str, Any], replaced: Collection[str]) -> bool:
    for key, value in primary.items():
        if key in replaced or isinstance(value, dict | list) or key not in fallback:
            continue
        if fallback[key] != value:
            return False
    return True


class _Walk:
    """One failed fetch's replacement: its keys, and (when its errors say which) the objects that failed."""

    def __init__(self, keys: Collection[str], failed: set[tuple[str | int, ...]] | None) -> None:
        self.keys = keys
        self.failed = failed  # response paths of failed objects; None: every object of the fetch failed

    def object(self, primary: Any, fallback: Any, path: Sequence[str], where: tuple[str | int, ...]) -> None:
        if not isinstance(primary, dict) or not isinstance(fallback, dict):
            return
        if not path:
            if self.failed is not None and where not in self.failed:
                return  # the new side answered this object: it stays
            if not _same_object(primary, fallback, self.keys):
                raise _Misaligned
            for key in self.keys:
                if key in fallback:
                    primary[key] = fallback[key]
            return
        segment, rest = path[0], path[1:]
        if segment == "@":  # a path always names a field before its list items
            raise _Misaligned
        inner_p, inner_f = primary.get(segment), fallback.get(segment)
        if inner_f is None:
            return
        if inner_p is None or type(inner_p) is not type(inner_f):
            primary[segment] = inner_f  # the old side has what the new one could not give: all of it
            return
        self.values(inner_p, inner_f, rest, (*where, segment))

    def values(self, inner_p: Any, inner_f: Any, rest: Sequence[str], where: tuple[str | int, ...]) -> None:
        if rest and rest[0] == "@":
            if not isinstance(inner_p, list) or not isinstance(inner_f, list) or len(inner_p) != len(inner_f):
                raise _Misaligned
            for index, (item_p, item_f) in enumerate(zip(inner_p, inner_f, strict=True)):
                self.values(item_p, item_f, rest[1:], (*where, index))
            return
        self.object(inner_p, inner_f, rest, where)


def _failed_objects(
    errors: Sequence[dict[str, Any]], services: Collection[str], paths: Sequence[Sequence[str]]
) -> set[tuple[str | int, ...]] | None:
    """The response paths of the objects the failed fetches' errors name; None when an error names none (a
    transport failure, an error of the whole `_entities` field): then every object of them failed."""
    found: set[tuple[str | int, ...]] = set()
    depths = {len(path) for path in paths}  # a Flatten path has one segment per response path segment
    for error in errors:
        if error.get("extensions", {}).get("serviceName") not in services:
            continue
        where = error.get("path")
        if not isinstance(where, list) or not where:
            return None
        for depth in depths:
            if len(where) >= depth:
                found.add(tuple(where[:depth]))
    return found


def replace_failed(
    primary: ExecutionState,
    fallback: ExecutionState,
    failed: Sequence[FetchRecord],
    services: Collection[str],
) -> bool:
    """Fill `primary` with what its `failed` fetches (of `services`) were to fill, from `fallback`; their errors
    replaced by the fallback's own. False (primary untouched as far as it matters) when the objects of the two
    runs cannot be matched: the caller answers with `fallback` whole."""
    try:
        for record in failed:
            if not record.paths:  # a root fetch: its root fields, whole
                _Walk(record.data_keys, None).object(primary.data, fallback.data, (), ())
            walk = _Walk(record.data_keys, _failed_objects(primary.errors, services, record.paths))
            for path in record.paths:
                walk.object(primary.data, fallback.data, path, ())
    except _Misaligned:
        return False
    kept = [e for e in primary.errors if e.get("extensions", {}).get("serviceName") not in services]
    seen = {repr(e) for e in kept}
    primary.errors[:] = kept + [e for e in fallback.errors if repr(e) not in seen]
    return True
