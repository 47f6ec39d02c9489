"""The compiled projection gives exactly what the interpreting one gives: on clean data (where it must not give
up) and on damaged data (nulls in non-null positions, wrong shapes, unknown enum values and type names), where
the result and the errors are the interpreter's."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLUnionType,
    OperationDefinitionNode,
    build_schema,
    parse,
)

from turnout.executor.projection import Projector
from turnout.planner.normalize import operation_selections

SCHEMA = build_schema("""
    interface Node { id: ID! }
    interface Named { name: String }
    enum Kind { BOOK MOVIE }
    type Book implements Node & Named { id: ID! name: String kind: Kind! tags: [String!] authors: [Person!]! }
    type Movie implements Node & Named { id: ID! name: String kind: Kind length: Int related: [Item] }
    type Person implements Node & Named { id: ID! name: String friends: [Person] best: Person }
    union Item = Book | Movie
    type Query { items: [Item!]! node(id: ID!): Node named: [Named] me: Person! count: Int }
""")

OPERATION = """
query Q($withFriends: Boolean!, $skipKind: Boolean = false) {
  count
  total: count
  me { id name best { name } friends @include(if: $withFriends) { id ...P } }
  items {
    __typename
    ... on Book { id title: name kind @skip(if: $skipKind) tags authors { ...P } }
    ... on Movie { id name length related { __typename ... on Book { id } ... on Movie { length kind } } }
  }
  node(id: "1") { id __typename ... on Named { name } }
  named { name ... on Person { friends { name } } }
}
fragment P on Person { name best { id best { id } } }
"""


def clean_value(gtype: GraphQLOutputType, rng: random.Random, depth: int = 0, required: bool = False) -> Any:
    """A value of `gtype` as a subgraph would return it (every field of the type, nulls only where allowed)."""
    if isinstance(gtype, GraphQLNonNull):
        return (
            clean_value(gtype.of_type, rng, depth, True) if depth < 6 else _leaf_or_stub(gtype.of_type, rng)
        )
    if not required and (depth >= 6 or rng.random() < 0.1):
        return None
    if isinstance(gtype, GraphQLList):
        return [clean_value(gtype.of_type, rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if isinstance(gtype, GraphQLScalarType):
        return rng.choice(["a", "b", 1, 2.5, True]) if gtype.name != "ID" else str(rng.randint(1, 9))
    if isinstance(gtype, GraphQLEnumType):
        return rng.choice(list(gtype.values))
    if isinstance(gtype, GraphQLInterfaceType | GraphQLUnionType):
        gtype = rng.choice(list(SCHEMA.get_possible_types(gtype)))
    assert isinstance(gtype, GraphQLObjectType)
    out: dict[str, Any] = {"__typename": gtype.name}
    for name, definition in gtype.fields.items():
        out[name] = clean_value(definition.type, rng, depth + 1)
    out["title"] = out.get("name")  # the alias in the operation
    out["total"] = out.get("count")
    return out


def _leaf_or_stub(gtype: GraphQLOutputType, rng: random.Random) -> Any:
    if isinstance(gtype, GraphQLList):
        return []
    if isinstance(gtype, GraphQLScalarType | GraphQLEnumType):
        return clean_value(gtype, rng, 0, True)
    return clean_value(gtype, rng, 5, True)


def damage(value: Any, rng: random.Random) -> Any:
    """The same data with one thing wrong somewhere."""
    spots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                spots.append((node, key))
                walk(child)
        elif isinstance(node, list):
            for index, child in enumerate(node):
                spots.append((node, index))
                walk(child)

    walk(value)
    if spots:
        container, key = rng.choice(spots)
        container[key] = rng.choice([None, None, "oops", 7, [], {}, {"__typename": "Nope"}, "MOVIE", "BOGUS"])
    return value


def run(
    projector: Projector, data: dict[str, Any], variables: dict[str, Any], *, compiled: bool
) -> tuple[Any, list[dict[str, Any]]]:
    root = SCHEMA.query_type
    assert root is not None
    errors: list[dict[str, Any]] = []
    if compiled:
        return projector.project("Query", SELECTIONS, copy.deepcopy(data), variables, errors), errors
    return projector.interpret(root, SELECTIONS, copy.deepcopy(data), variables, errors), errors


_DOCUMENT = parse(OPERATION)
_OPERATION, _FRAGMENT = _DOCUMENT.definitions
assert isinstance(_OPERATION, OperationDefinitionNode) and isinstance(_FRAGMENT, FragmentDefinitionNode)
SELECTIONS = operation_selections(_OPERATION, {"P": _FRAGMENT})


@pytest.mark.parametrize("seed", range(300))
def test_compiled_equals_interpreted(seed: int) -> None:
    rng = random.Random(seed)
    projector = Projector(SCHEMA)
    assert SCHEMA.query_type is not None
    data = clean_value(GraphQLNonNull(SCHEMA.query_type), rng)
    variables = {"withFriends": rng.random() < 0.5, "skipKind": rng.random() < 0.5}
    expected = run(projector, data, variables, compiled=False)
    assert expected[1] == [], "clean data needs no error"
    # on clean data the compiled projection answers by itself
    compiled = projector._compiled_for(SCHEMA.query_type, SELECTIONS, variables)
    assert compiled is not None
    assert compiled(copy.deepcopy(data)) == expected[0]
    assert run(projector, data, variables, compiled=True) == expected
    damaged = damage(copy.deepcopy(data), rng)
    assert run(projector, damaged, variables, compiled=True) == run(
        projector, damaged, variables, compiled=False
    )


def test_compiled_once_per_operation_and_condition_values() -> None:
    projector = Projector(SCHEMA)
    assert SCHEMA.query_type is not None
    first = projector._compiled_for(SCHEMA.query_type, SELECTIONS, {"withFriends": True, "skipKind": False})
    again = projector._compiled_for(SCHEMA.query_type, SELECTIONS, {"withFriends": True, "skipKind": False})
    other = projector._compiled_for(SCHEMA.query_type, SELECTIONS, {"withFriends": False, "skipKind": False})
    assert first is not None and first is again and other is not first
    me: dict[str, Any] = {"__typename": "Person", "id": "1", "name": "A", "best": None, "friends": []}
    data = {"count": 1, "total": 1, "me": me, "items": [], "node": None, "named": None}
    assert "friends" in first(data)["me"]
    assert other is not None and "friends" not in other(data)["me"]
