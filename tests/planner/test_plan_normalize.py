"""Normalization: fragments expanded once and merged as they are collected, in the spec's order."""

from __future__ import annotations

import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    OperationDefinitionNode,
    build_schema,
    parse,
)

from support.fixtures import load_supergraph
from turnout.planner.display import print_plan
from turnout.planner.normalize import (
    Field,
    Fragment,
    Selection,
    SelectionLimitError,
    collect_fields,
    each_field,
    normalize_selection_set,
    type_applies,
)
from turnout.planner.query_planner import QueryPlanner
from turnout.supergraph.join_spec import read_supergraph

MODEL = read_supergraph(load_supergraph("marketplace"))


def normalize(query: str, **options: int) -> tuple[Selection, ...]:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return normalize_selection_set(
        operation.selection_set, fragments, "Query", schema=MODEL.api_schema, **options
    )


def shape(selections: tuple[Selection, ...]) -> list[object]:
    out: list[object] = []
    for item in selections:
        if isinstance(item, Field):
            out.append(item.response_key if item.is_leaf else {item.response_key: shape(item.selections)})
        else:
            assert isinstance(item, Fragment)
            out.append({f"... on {item.type_condition}{item.directives_text}": shape(item.selections)})
    return out


def bomb(width: int, depth: int) -> str:
    fragments = ["fragment F0 on User { name id }"]
    fragments += [f"fragment F{i} on User {{ " + f"...F{i - 1} " * width + "}" for i in range(1, depth + 1)]
    return f"{{ users {{ ...F{depth} }} }} " + " ".join(fragments)


def test_a_fragment_bomb_normalizes_to_its_distinct_selections() -> None:
    assert shape(normalize(bomb(10, 7))) == [{"users": ["name", "id"]}]
    assert shape(normalize(bomb(2, 20))) == [{"users": ["name", "id"]}]


def test_a_bomb_plans_as_the_query_it_expands_to() -> None:
    planner = QueryPlanner(MODEL)
    assert print_plan(planner.plan(parse(bomb(10, 6)))) == print_plan(
        planner.plan(parse("{ users { name id } }"))
    )


def test_fields_merge_into_their_first_occurrence_in_order() -> None:
    selections = normalize(
        "{ users { id orders { id } name orders { buyer { id } } ... on User { email id } } }"
    )
    assert shape(selections) == [{"users": ["id", {"orders": ["id", {"buyer": ["id"]}]}, "name", "email"]}]


def test_fragments_on_other_types_merge_only_where_nothing_moves_ahead() -> None:
    # over `shelf: [Item!]!`: a fragment repeating the one just before merges into it; one identical to an
    # earlier one adds nothing; one that differs from an earlier one, with a field between them, stays where it
    # is, so that `issue` is not answered before `title` (the spec's response order)
    library = read_supergraph(load_supergraph("library")).api_schema
    document = parse("""{ shelf { ... on Book { id } ...B id ... on Magazine { issue } title ...B
                                  ... on Magazine { id issue } } }
                        fragment B on Book { author { name } }""")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    selections = normalize_selection_set(operation.selection_set, fragments, "Query", schema=library)
    assert shape(selections) == [
        {
            "shelf": [
                {"... on Book": ["id", {"author": ["name"]}]},
                "id",
                {"... on Magazine": ["issue"]},
                "title",
                {"... on Magazine": ["id", "issue"]},
            ]
        }
    ]


def test_conditions_keep_fields_apart() -> None:
    selections = normalize("query($a: Boolean!) { users { id @include(if: $a) id name @skip(if: true) } }")
    assert shape(selections) == [{"users": ["id", "id"]}]
    users = selections[0]
    assert isinstance(users, Field)
    assert [f.directives_text for f in users.selections if isinstance(f, Field)] == [" @include(if: $a)", ""]


def test_equal_selection_sets_are_one_object() -> None:
    (users, user) = normalize(
        """{ users { ...U } user(id: "u1") { name id } } fragment U on User { name id }"""
    )
    assert isinstance(users, Field) and isinstance(user, Field)
    assert users.selections is user.selections


def test_a_tree_larger_than_the_limit_is_refused() -> None:
    fragments = ["fragment U0 on User { name }"]
    fragments += [
        f"fragment U{i} on User {{ orders {{ buyer {{ ...U{i - 1} }} }} "
        f"a: orders {{ buyer {{ ...U{i - 1} }} }} }}"
        for i in range(1, 20)
    ]
    query = "{ users { ...U19 } } " + " ".join(fragments)
    with pytest.raises(SelectionLimitError, match="more than the limit of 10000"):
        normalize(query, max_selections=10_000)
    with pytest.raises(SelectionLimitError, match="more selections than the gateway plans"):
        normalize(query, max_work=50)
    assert (
        len(normalize(query.replace("{ users { ...U19 } }", "{ users { ...U3 } }"), max_selections=10_000))
        == 1
    )


# -- field collection: the one CollectFields over normalized selections ----------------------------------------

COLLECT_SCHEMA = build_schema(
    """
    interface Node { id: ID! }
    interface Named implements Node { id: ID! name: String }
    type Book implements Node & Named { id: ID! name: String pages: Int }
    type Pen implements Node { id: ID! ink: String }
    union Thing = Book | Pen
    type Query { node: Node thing: Thing }
    """
)


def _collected(query: str, variables: dict[str, object], runtime: str) -> list[tuple[str, str]]:
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    (node,) = normalize_selection_set(operation.selection_set, fragments, "Query", schema=COLLECT_SCHEMA)
    assert isinstance(node, Field)
    gtype = COLLECT_SCHEMA.get_type(runtime)
    assert isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType)
    collected = collect_fields(
        node.selections, variables, lambda condition: type_applies(COLLECT_SCHEMA, gtype, condition)
    )
    return [(key, field.name) for key, fields in collected.items() for field in fields]


def test_collect_fields_keeps_document_order_and_decides_conditions_per_request() -> None:
    query = """query($more: Boolean!) { thing {
        ... on Pen { ink }
        ... on Book { title: name ... on Named { name } }
        ... B @include(if: $more)
        ... on Node { id }
    } }
    fragment B on Book { pages }"""
    assert _collected(query, {"more": False}, "Book") == [("title", "name"), ("name", "name"), ("id", "id")]
    assert _collected(query, {"more": True}, "Book") == [
        ("title", "name"),
        ("name", "name"),
        ("pages", "pages"),
        ("id", "id"),
    ]
    assert _collected(query, {"more": True}, "Pen") == [("ink", "ink"), ("id", "id")]


def test_type_applies_to_interface_runtimes_through_what_they_implement() -> None:
    named = COLLECT_SCHEMA.get_type("Named")
    book = COLLECT_SCHEMA.get_type("Book")
    assert isinstance(named, GraphQLInterfaceType) and isinstance(book, GraphQLObjectType)
    assert type_applies(COLLECT_SCHEMA, named, "Node")  # an interface object is every interface it implements
    assert not type_applies(COLLECT_SCHEMA, named, "Book")
    assert not type_applies(COLLECT_SCHEMA, named, "Thing")
    assert type_applies(COLLECT_SCHEMA, book, "Thing") and type_applies(COLLECT_SCHEMA, book, None)
    operation = parse("{ node { ... on Named { ... on Book { pages } } } }").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    (node,) = normalize_selection_set(operation.selection_set, {})
    occurrences = [(f.name, conditions) for f, conditions in each_field(node.selections)]
    assert occurrences == [("pages", ("Named", "Book"))]
