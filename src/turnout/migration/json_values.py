"""JSON values as the comparison sees them: their kinds, numbers within a tolerance, equality without
recursion, canonical text (for pairing list elements), and the cheap "same JSON" test."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["KINDS", "PLAIN", "canonical", "deep_equal", "kind_of", "numbers_equal", "same_json"]


# scalars as parsed from JSON whose equality (same type) is the comparison's; and the kinds of JSON's types
PLAIN: frozenset[type] = frozenset({str, int, bool, type(None)})
KINDS: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def kind_of(value: Any) -> str:
    found = KINDS.get(type(value))
    return found if found is not None else _any_kind(value)


def _any_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def numbers_equal(a: int | float, b: int | float, tolerance: float | None) -> bool:
    if a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)):
        return True
    if tolerance is None:
        return False
    try:
        return abs(a - b) <= tolerance
    except OverflowError:
        return False


def deep_equal(a: Any, b: Any) -> bool:
    """Plain JSON equality (numbers numerically), without recursion."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if x is y:
            continue
        kind = kind_of(x)
        if kind != kind_of(y):
            return False
        if kind == "object":
            if x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif kind == "array":
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif not (numbers_equal(x, y, None) if kind == "number" else x == y):
            return False
    return True


def canonical(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=repr).decode()
    except (orjson.JSONEncodeError, TypeError):
        pass  # an integer past 64 bits, keys that are not strings, too deep: the slower encoder tells
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    except (RecursionError, ValueError, TypeError):  # too deep, circular, or keys that are not strings
        return f"<unrepresentable {id(value)}>"


def same_json(a: Any, b: Any) -> bool:
    """Whether two values serialize to the same JSON, keys in the same order (then no rule can find a difference:
    equal text is equal values, unlike Python's `==`, for which True == 1)."""
    try:
        # `==` first: it stops at the first difference (two serializations never do); unequal values never
        # serialize alike (JSON as parsed holds no NaN)
        return bool(a == b) and orjson.dumps(a) == orjson.dumps(b)
    except (TypeError, orjson.JSONEncodeError):
        return False
