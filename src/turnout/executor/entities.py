"""Entity fetches: find the objects at a path, build deduplicated representations, map results back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..planner.plan_nodes import RepField, RepFragment

__all__ = ["Representations", "collect_objects"]

Path = list[str | int]


def collect_objects(value: Any, path: tuple[str, ...], out: list[tuple[dict[str, Any], Path]],
                    at: int = 0, current: Path | None = None) -> None:
    """Every object found at `path` (`@` walks list items; nested lists are flattened), with its response path."""
    here: Path = current if current is not None else []
    if isinstance(value, list):
        for index, item in enumerate(value):
            step = at + 1 if at < len(path) and path[at] == "@" else at
            collect_objects(item, path, out, step, [*here, index])
        return
    if not isinstance(value, dict):
        return
    if at == len(path):
        out.append((value, here))
        return
    segment = path[at]
    if segment == "@":
        collect_objects(value, path, out, at + 1, here)
        return
    child = value.get(segment)
    if child is not None:
        collect_objects(child, path, out, at + 1, [*here, segment])


class Representations:
    """Builds `_entities` representations for one Fetch and remembers which objects share each one."""

    def __init__(self, requires: tuple[RepFragment, ...], possible_types: Mapping[str, tuple[str, ...]]) -> None:
        self.requires = requires
        self.possible_types = possible_types

    def _matches(self, typename: Any, condition: str) -> bool:
        if typename == condition:
            return True
        return isinstance(typename, str) and typename in self.possible_types.get(condition, ())

    def build(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        typename = obj.get("__typename")
        for fragment in self.requires:
            if not self._matches(typename, fragment.type_condition):
                continue
            rep: dict[str, Any] = {}
            if not self._fill(rep, obj, fragment.selections):
                return None
            rep["__typename"] = fragment.typename or typename
            return rep
        return None

    def _fill(self, rep: dict[str, Any], obj: dict[str, Any], selections: tuple[RepField | RepFragment, ...]) -> bool:
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
