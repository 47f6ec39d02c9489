"""Deep-merge subgraph results into the response data."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

__all__ = ["deep_merge", "merge_into"]


def deep_merge(target: dict[str, Any], source: dict[str, Any], object_types: Container[str]) -> None:
    """Merge `source` into `target` in place.

    Objects merge key by key and lists item by item; a null never erases a value another subgraph
    returned. `__typename` is only replaced when the current one is not an object type (an interface
    object's subgraph answers with the interface's name).
    """
    for key, value in source.items():
        current = target.get(key)
        if current is None:
            if value is not None or key not in target:
                target[key] = value
        elif isinstance(current, dict):
            if isinstance(value, dict):
                deep_merge(current, value, object_types)
        elif isinstance(current, list):
            if isinstance(value, list) and len(value) == len(current):
                _merge_lists(current, value, object_types)
        elif key == "__typename":
            if current not in object_types and value in object_types:
                target[key] = value
        elif value is not None:
            target[key] = value


def merge_into(targets: list[dict[str, Any]], source: dict[str, Any], object_types: Container[str]) -> None:
    """`deep_merge(target, source)` for each of `targets`: at C speed into an object that has none of `source`'s
    keys yet (what an entity fetch usually adds), key by key into the others."""
    keys = source.keys()
    for target in targets:
        if keys.isdisjoint(target):
            target.update(source)
        else:
            deep_merge(target, source, object_types)


def _merge_lists(current: list[Any], value: list[Any], object_types: Container[str]) -> None:
    for index, item in enumerate(value):
        existing = current[index]
        if isinstance(existing, dict) and isinstance(item, dict):
            deep_merge(existing, item, object_types)
        elif isinstance(existing, list) and isinstance(item, list) and len(existing) == len(item):
            _merge_lists(existing, item, object_types)
        elif existing is None:
            current[index] = item
