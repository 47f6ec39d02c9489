"""Entity fetches: find the objects at a path, build deduplicated representations, map results back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ..planner.plan_nodes import ContextRewrite, RepField, RepFragment

__all__ = ["Representations", "collect_objects", "object_paths", "objects_by_context"]

Path = list[str | int]
_SCALARS = frozenset((str, int, float, bool, type(None)))
_MISSING = object()


def collect_objects(value: Any, paths: tuple[tuple[str, ...], ...]) -> list[dict[str, Any]]:
    """Every object found at each of `paths`, path after path, each in response order: lists are walked
    wherever they are (`@` marks them, nested lists are flattened). Paths that share a beginning walk it once.
    No response paths: `object_paths` finds those when an error needs them."""
    found: list[list[dict[str, Any]]] = [[] for _ in paths]
    _walk(
        [value], [(tuple(s for s in path if s != "@"), index) for index, path in enumerate(paths)], 0, found
    )
    if len(found) == 1:
        return found[0]
    return [obj for objects in found for obj in objects]


def _walk(
    level: list[Any], paths: list[tuple[tuple[str, ...], int]], depth: int, found: list[list[dict[str, Any]]]
) -> None:
    following_paths: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    for path, index in paths:
        if len(path) == depth:
            found[index].extend(_objects(level))
        else:
            following_paths.setdefault(path[depth], []).append((path, index))
    for segment, below in following_paths.items():
        _walk(_step(level, segment), below, depth + 1, found)


def _step(level: list[Any], segment: str) -> list[Any]:
    """The values of `segment` in the objects of `level` (lists flattened)."""
    following: list[Any] = []
    append = following.append
    for item in level:
        if type(item) is dict:
            child = item.get(segment)
            if child is not None:
                append(child)
        elif type(item) is list:
            for element in item:
                if type(element) is dict:
                    child = element.get(segment)
                    if child is not None:
                        append(child)
                elif type(element) is list:
                    for nested in _objects(element):
                        child = nested.get(segment)
                        if child is not None:
                            append(child)
    return following


def _objects(values: list[Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for value in values:
        if type(value) is dict:
            found.append(value)
        elif type(value) is list:
            found.extend(_objects(value))
    return found


def objects_by_context(
    data: Any, path: tuple[str, ...], contexts: tuple[ContextRewrite, ...]
) -> list[tuple[tuple[Any, ...], list[dict[str, Any]]]]:
    """The objects at `path`, grouped by the values their contexts take (one value per rewrite, in order):
    each rewrite reads its keys in the object's nearest ancestor at its `ancestor` path (a prefix of `path`).
    Values may be lists or objects: groups are told apart by the values' JSON."""
    ancestors = sorted({c.ancestor for c in contexts}, key=len)
    found: dict[bytes, tuple[tuple[Any, ...], list[dict[str, Any]]]] = {}

    def descend(
        level: list[dict[str, Any]], depth: int, index: int, values: dict[ContextRewrite, Any]
    ) -> None:
        if index == len(ancestors):
            taken = tuple(values[c] for c in contexts)
            key = orjson.dumps(taken, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
            bucket = found.setdefault(key, (taken, []))[1]
            for obj in level:
                bucket.extend(collect_objects(obj, (path[depth:],)))
            return
        ancestor = ancestors[index]
        for obj in level:
            for found_ancestor in collect_objects(obj, (ancestor[depth:],)):
                here = dict(values)
                for context in contexts:
                    if context.ancestor == ancestor:
                        value: Any = found_ancestor
                        for step in context.keys:
                            value = value.get(step) if isinstance(value, dict) else None
                        here[context] = value
                descend([found_ancestor], len(ancestor), index + 1, here)

    if isinstance(data, dict):
        descend([data], 0, 0, {})
    return list(found.values())


def object_paths(
    value: Any, path: tuple[str, ...], out: dict[int, list[Path]], at: int = 0, current: Path | None = None
) -> None:
    """The response paths of the objects at `path`, by object identity (for errors: off the hot path)."""
    here: Path = current if current is not None else []
    if isinstance(value, list):
        for index, item in enumerate(value):
            step = at + 1 if at < len(path) and path[at] == "@" else at
            object_paths(item, path, out, step, [*here, index])
        return
    if not isinstance(value, dict):
        return
    if at == len(path):
        out.setdefault(id(value), []).append(here)
        return
    segment = path[at]
    if segment == "@":
        object_paths(value, path, out, at + 1, here)
        return
    child = value.get(segment)
    if child is not None:
        object_paths(child, path, out, at + 1, [*here, segment])


def _flat_keys(fragment: RepFragment) -> tuple[tuple[str, str], ...] | None:
    """(data key, name sent) of each field of a representation, when all are top-level values (`@key(fields:
    "id")`)."""
    keys: list[tuple[str, str]] = []
    for selection in fragment.selections:
        if not isinstance(selection, RepField) or selection.selections is not None:
            return None
        if selection.name != "__typename":  # written first, whatever the order
            keys.append((selection.key, selection.name))
    return tuple(keys)


class Representations:
    """Builds `_entities` representations for one Fetch and remembers which objects share each one."""

    def __init__(
        self, requires: tuple[RepFragment, ...], possible_types: Mapping[str, tuple[str, ...]]
    ) -> None:
        self.requires = requires
        self.possible_types = possible_types
        # per fragment whose fields are all top-level values (the common `@key(fields: "id")`): the keys read
        self._flat = [_flat_keys(f) for f in requires]
        self._by_type: dict[str, tuple[int, str, tuple[tuple[str, str], ...] | None]] = {}

    def group(self, objects: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
        """The distinct representations of `objects` (in order of first appearance), and for each the objects
        that share it. Objects without a complete representation are left out."""
        representations: list[dict[str, Any]] = []
        targets: list[list[dict[str, Any]]] = []
        index_of: dict[Any, int] = {}
        # one key field whose value is a string (the common `@key(fields: "id")`): deduplicated by the value
        # alone, in a table per (fragment, __typename sent); nothing is built for a repeat
        by_value: dict[tuple[int, str], dict[str, int]] = {}
        by_type = self._by_type
        last: Any = _MISSING  # the type of the previous object: objects of one type come in runs
        position, sent, shape = -1, "", None
        single: tuple[str, str] | None = None
        seen: dict[str, int] = {}
        for obj in objects:
            typename = obj.get("__typename")
            if typename != last:
                if type(typename) is not str:
                    continue
                last = typename
                entry = by_type.get(typename)
                if entry is None:
                    entry = by_type[typename] = self._entry(typename)
                position, sent, shape = entry
                single = shape[0] if shape is not None and len(shape) == 1 else None
                if single is not None:
                    seen = by_value.setdefault((position, sent), {})
            if position < 0:
                continue
            if single is not None:
                value = obj.get(single[0])
                if type(value) is str:
                    index = seen.get(value)
                    if index is None:
                        seen[value] = len(representations)
                        representations.append({"__typename": sent, single[1]: value})
                        targets.append([obj])
                    else:
                        targets[index].append(obj)
                    continue
            key: Any = None
            rep: dict[str, Any] | None = None
            if shape is not None:  # the key values are the dedup key: no representation built for repeats
                values: list[Any] = [position, sent]
                for data_key, _name in shape:
                    value = obj.get(data_key, _MISSING)
                    kind = type(value)
                    if kind is str:
                        values.append(value)
                    elif kind in _SCALARS:
                        # 1, 1.0 and True are equal in a tuple, never in JSON: the type is part of the key
                        values.append((kind, value))
                    else:
                        break  # missing, or a value that needs the general path
                else:
                    key = tuple(values)
                    index = index_of.get(key)
                    if index is not None:
                        targets[index].append(obj)
                        continue
                    rep = {"__typename": sent}
                    for data_key, name in shape:
                        rep[name] = obj[data_key]
            if key is None:
                rep = self._build(obj, self.requires[position], typename)
                if rep is None:
                    continue
                key = orjson.dumps(rep, option=orjson.OPT_SORT_KEYS)
                index = index_of.get(key)
                if index is not None:
                    targets[index].append(obj)
                    continue
            assert rep is not None
            index_of[key] = len(representations)
            representations.append(rep)
            targets.append([obj])
        return representations, targets

    def _entry(self, typename: str) -> tuple[int, str, tuple[tuple[str, str], ...] | None]:
        """For objects of `typename`: the fragment of the requirements that applies (-1 for none), the
        `__typename` their representations send, and the flat keys of that fragment."""
        position = self._position(typename)
        if position < 0:
            return -1, typename, None
        return position, self.requires[position].typename or typename, self._flat[position]

    def _position(self, typename: str) -> int:
        """The first fragment of the requirements that applies to `typename`; -1 for none."""
        for position, fragment in enumerate(self.requires):
            if self._matches(typename, fragment.type_condition):
                return position
        return -1

    def _matches(self, typename: Any, condition: str) -> bool:
        if typename == condition:
            return True
        return isinstance(typename, str) and typename in self.possible_types.get(condition, ())

    def _build(self, obj: dict[str, Any], fragment: RepFragment, typename: Any) -> dict[str, Any] | None:
        rep: dict[str, Any] = {}
        if not self._fill(rep, obj, fragment.selections):
            return None
        rep["__typename"] = fragment.typename or typename
        return rep

    def _fill(
        self, rep: dict[str, Any], obj: dict[str, Any], selections: tuple[RepField | RepFragment, ...]
    ) -> bool:
        for selection in selections:
            if isinstance(selection, RepFragment):
                if self._matches(obj.get("__typename"), selection.type_condition) and not self._fill(
                    rep, obj, selection.selections
                ):
                    return False
                continue
            if selection.name == "__typename":
                rep["__typename"] = obj.get("__typename")
                continue
            if selection.key not in obj:
                return False
            value = obj[selection.key]
            if selection.selections is not None and value is not None:
                value = self._nested(value, selection.selections)
            rep[selection.name] = value
        return True

    def _nested(self, value: Any, selections: tuple[RepField | RepFragment, ...]) -> Any:
        if isinstance(value, list):
            return [self._nested(item, selections) for item in value]
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            self._fill(out, value, selections)
            return out
        return value
