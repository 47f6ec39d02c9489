"""Representations of an entity fetch: one per distinct key, in order of first appearance, each with every
object that shares it; objects without a complete key are left out."""

from __future__ import annotations

from typing import Any

from turnout.executor.entities import Representations, collect_objects, object_paths, objects_by_context
from turnout.planner.plan_nodes import ContextRewrite, RepField, RepFragment

FLAT = RepFragment(
    type_condition="Product",
    typename=None,
    selections=(RepField(key="__typename", name="__typename"), RepField(key="upc", name="upc")),
)
COMPOSITE = RepFragment(
    type_condition="Book",
    typename=None,
    selections=(
        RepField(key="__typename", name="__typename"),
        RepField(key="isbn", name="isbn"),
        RepField(key="_t_0", name="author", selections=(RepField(key="id", name="id"),)),
    ),
)
INTERFACE_OBJECT = RepFragment(
    type_condition="Media", typename="Media", selections=(RepField(key="id", name="id"),)
)
POSSIBLE = {"Media": ("Movie", "Show")}


def test_one_representation_per_key_in_order_of_first_appearance() -> None:
    a, b, a2, b2 = ({"__typename": "Product", "upc": u} for u in ("1", 1, "1", 1))
    c: dict[str, Any] = {"__typename": "Product", "upc": "3", "name": "x"}
    missing: dict[str, Any] = {"__typename": "Product"}
    other: dict[str, Any] = {"__typename": "User", "upc": "1"}
    reps, targets = Representations((FLAT,), POSSIBLE).group([a, b, missing, a2, other, c, b2])
    assert reps == [
        {"__typename": "Product", "upc": "1"},
        {"__typename": "Product", "upc": 1},
        {"__typename": "Product", "upc": "3"},
    ]
    assert [[id(o) for o in t] for t in targets] == [[id(a), id(a2)], [id(b), id(b2)], [id(c)]]


def test_one_true_and_one_point_zero_are_three_keys() -> None:
    """Equal in Python, three values in JSON: each object keeps its own representation."""
    objects = [{"__typename": "Product", "upc": u} for u in (1, True, 1.0, 1)]
    reps, targets = Representations((FLAT,), POSSIBLE).group(objects)
    assert [(rep["upc"], type(rep["upc"])) for rep in reps] == [(1, int), (True, bool), (1.0, float)]
    assert [len(t) for t in targets] == [2, 1, 1]
    assert targets[0] == [objects[0], objects[3]]


def test_nested_keys_take_the_general_path() -> None:
    first = {"__typename": "Book", "isbn": "i", "_t_0": {"id": "a1", "name": "n"}}
    same = {"__typename": "Book", "isbn": "i", "_t_0": {"id": "a1"}}
    other = {"__typename": "Book", "isbn": "i", "_t_0": {"id": "a2"}}
    reps, targets = Representations((COMPOSITE,), POSSIBLE).group([first, same, other])
    assert reps == [
        {"__typename": "Book", "isbn": "i", "author": {"id": "a1"}},
        {"__typename": "Book", "isbn": "i", "author": {"id": "a2"}},
    ]
    assert [len(t) for t in targets] == [2, 1]


def test_a_key_value_that_is_not_a_scalar_takes_the_general_path() -> None:
    listed = {"__typename": "Product", "upc": ["1", "2"]}
    again = {"__typename": "Product", "upc": ["1", "2"]}
    reps, targets = Representations((FLAT,), POSSIBLE).group([listed, again])
    assert reps == [{"__typename": "Product", "upc": ["1", "2"]}]
    assert [len(t) for t in targets] == [2]


def test_interface_object_sends_the_interface_name() -> None:
    movie = {"__typename": "Movie", "id": "m"}
    show = {"__typename": "Show", "id": "m"}
    reps, targets = Representations((INTERFACE_OBJECT,), POSSIBLE).group([movie, show])
    assert reps == [{"__typename": "Media", "id": "m"}]  # one entity in the interface object's subgraph
    assert [len(t) for t in targets] == [2]


def test_objects_and_their_paths() -> None:
    data: dict[str, Any] = {"a": [{"b": {"c": 1}}, None, [{"b": {"c": 2}}], {"b": None}]}
    objects = collect_objects(data, (("a", "@", "b"),))
    assert objects == [{"c": 1}, {"c": 2}]
    found: dict[int, list[list[str | int]]] = {}
    object_paths(data, ("a", "@", "b"), found)
    assert [found[id(o)] for o in objects] == [[["a", 0, "b"]], [["a", 2, 0, "b"]]]


def test_paths_sharing_a_beginning_give_their_objects_path_after_path() -> None:
    inner = [{"id": "x"}, {"id": "y"}]
    data: dict[str, Any] = {
        "a": [{"b": {"id": "1", "c": inner}}, {"b": {"id": "2", "c": []}}],
        "d": {"id": "3"},
    }
    paths = (("a", "@", "b", "c", "@"), ("d",), ("a", "@", "b"), ("a", "@", "b", "c", "@"))
    assert [o["id"] for o in collect_objects(data, paths)] == ["x", "y", "3", "1", "2", "x", "y"]


def test_objects_grouped_by_the_values_of_their_contexts_even_objects() -> None:
    settings_eur = {"currency": "EUR", "digits": 2}
    data: dict[str, Any] = {
        "accounts": [
            {"settings": settings_eur, "wallets": [{"id": "w1"}, {"id": "w2"}]},
            {"settings": {"digits": 0, "currency": "JPY"}, "wallets": [{"id": "w3"}]},
            {"settings": dict(settings_eur), "wallets": [{"id": "w4"}]},
        ]
    }
    rewrite = ContextRewrite(variable="c", type="Settings", ancestor=("accounts", "@"), keys=("settings",))
    groups = objects_by_context(data, ("accounts", "@", "wallets", "@"), (rewrite,))
    assert [(values, [o["id"] for o in objects]) for values, objects in groups] == [
        ((settings_eur,), ["w1", "w2", "w4"]),
        (({"digits": 0, "currency": "JPY"},), ["w3"]),
    ]
