"""The response comparator: every difference kind, every rule, attribution to schema coordinates, errors."""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, build_schema, parse

from turnout.migration.compare import compare_for_migration, compare_responses
from turnout.migration.model import CoordinateRule, Difference
from turnout.planner.normalize import Selection, normalize_selection_set

SCHEMA = build_schema(
    """
    scalar JSON

    interface Node { id: ID! }
    interface Media { title: String }

    type Query {
      assignments: [Assignment!]!
      assignment(id: ID!): Assignment
      media: [Media!]!
      search(text: String): [SearchResult!]!
      node(id: ID!): Node
      stats: Stats
      tags: [String!]
      matrix: [[Int!]!]
      metadata: JSON
    }

    type Assignment implements Node {
      id: ID!
      title: String
      createdDate: String
      score: Float
      points: Int
      done: Boolean
      tags: [String!]!
      owner: Person
      reviewers: [Person!]!
    }

    type Person implements Node { id: ID! name: String email: String }
    type Book implements Media & Node { id: ID! title: String pages: Int }
    type Movie implements Media & Node { id: ID! title: String runtime: Int }
    union SearchResult = Book | Movie | Person

    type Stats { mean: Float count: Int }
    """
)


def normalize(query: str) -> tuple[Selection, ...]:
    """The normalized selections of the query's operation (named fragments inlined)."""
    document = parse(query)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return normalize_selection_set(operation.selection_set, fragments)


def compare(
    query: str,
    primary: Any,
    candidate: Any,
    *,
    variables: Mapping[str, Any] | None = None,
    rules: Mapping[str, CoordinateRule] | None = None,
    default_rule: CoordinateRule | None = None,
    primary_errors: list[Any] | None = None,
    candidate_errors: list[Any] | None = None,
) -> list[Difference]:
    """Compare two responses whose data are `primary` and `candidate` for `query` (a Query operation)."""
    selections = normalize(query)
    p_response: dict[str, Any] = {"data": primary}
    c_response: dict[str, Any] = {"data": candidate}
    if primary_errors is not None:
        p_response["errors"] = primary_errors
    if candidate_errors is not None:
        c_response["errors"] = candidate_errors
    extra: dict[str, Any] = {}
    if rules is not None:
        extra["rules"] = rules
    if default_rule is not None:
        extra["default_rule"] = default_rule
    return compare_responses(
        p_response,
        c_response,
        schema=SCHEMA,
        root_type="Query",
        selections=selections,
        variables=variables or {},
        **extra,
    )


def diff(
    path: tuple[str | int, ...], coordinate: str, kind: str, primary: Any = None, candidate: Any = None
) -> Difference:
    return Difference(path=path, coordinate=coordinate, kind=kind, primary=primary, candidate=candidate)


ASSIGNMENTS = "{ assignments { id title score points tags owner { name } reviewers { id name } } }"


def assignment(n: int, **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": str(n),
        "title": f"t{n}",
        "score": 1.5 * n,
        "points": n,
        "tags": ["a", "b"],
        "owner": {"name": f"o{n}"},
        "reviewers": [{"id": f"r{n}", "name": f"R{n}"}, {"id": "x", "name": "X"}],
    }
    value.update(changes)
    return value


# -- identical responses ----------------------------------------------------------------------------------


def test_identical_responses_have_no_differences() -> None:
    query = """
    query Q($b: Boolean!) {
      first: assignment(id: "1") { due: createdDate owner { ...P } }
      assignments { id tags reviewers { name } }
      media { __typename title ... on Book { pages } ... on Movie { runtime } }
      search { ... on Person { name } ... on Book @include(if: $b) { pages } }
      matrix
      metadata
    }
    fragment P on Person { name email }
    """
    data = {
        "first": {"due": "2024-01-01", "owner": {"name": "Ann", "email": None}},
        "assignments": [{"id": "1", "tags": ["x", "y"], "reviewers": [{"name": "R"}]}],
        "media": [
            {"__typename": "Book", "title": "B", "pages": 3},
            {"__typename": "Movie", "title": "M", "runtime": 90},
        ],
        "search": [{"name": "Ann"}, {"pages": 3}],
        "matrix": [[1, 2], [3]],
        "metadata": {"a": [1, {"b": None}]},
    }
    errors = [{"message": "boom", "path": ["first", "owner"]}, {"message": "no path"}]
    assert (
        compare(query, data, data, variables={"b": True}, primary_errors=errors, candidate_errors=errors)
        == []
    )
    # deep copies too (equality, not identity)
    assert compare(query, data, copy.deepcopy(data), variables={"b": True}) == []


def test_both_data_null_is_no_difference() -> None:
    assert compare("{ stats { mean } }", None, None) == []


# -- kinds -------------------------------------------------------------------------------------------------


def test_value_difference_at_a_scalar() -> None:
    got = compare(
        ASSIGNMENTS, {"assignments": [assignment(1)]}, {"assignments": [assignment(1, title="other")]}
    )
    assert got == [diff(("assignments", 0, "title"), "Assignment.title", "value", "t1", "other")]


def test_type_difference_null_versus_object_and_string_versus_number() -> None:
    got = compare(
        ASSIGNMENTS,
        {"assignments": [assignment(1)]},
        {"assignments": [assignment(1, owner=None, title=7)]},
    )
    assert got == [
        diff(("assignments", 0, "title"), "Assignment.title", "type", "t1", 7),
        diff(("assignments", 0, "owner"), "Assignment.owner", "type", {"name": "o1"}, None),
    ]


def test_bool_is_not_a_number() -> None:
    got = compare("{ stats { count } }", {"stats": {"count": 1}}, {"stats": {"count": True}})
    assert got == [diff(("stats", "count"), "Stats.count", "type", 1, True)]


def test_missing_and_extra_keys() -> None:
    got = compare(
        "{ stats { mean count } }",
        {"stats": {"mean": 1.0, "count": 2}},
        {"stats": {"mean": 1.0}},
    )
    assert got == [diff(("stats", "count"), "Stats.count", "missing", primary=2)]
    got = compare(
        "{ stats { mean count } }",
        {"stats": {"count": 2}},
        {"stats": {"mean": None, "count": 2}},
    )
    assert got == [diff(("stats", "mean"), "Stats.mean", "extra", candidate=None)]


def test_key_outside_the_selection_is_attributed_to_its_parent_type() -> None:
    got = compare("{ stats { mean } }", {"stats": {"mean": 1.0}}, {"stats": {"mean": 1.0, "leak": {"x": 1}}})
    assert got == [diff(("stats", "leak"), "Stats.leak", "extra", candidate={"x": 1})]


def test_length_difference_then_common_prefix_compared() -> None:
    got = compare("{ tags }", {"tags": ["a", "b", "c"]}, {"tags": ["a", "X"]})
    assert got == [
        diff(("tags",), "Query.tags", "length", 3, 2),
        diff(("tags", 1), "Query.tags", "value", "b", "X"),
    ]


def test_order_difference_is_one_difference_at_the_list() -> None:
    got = compare("{ tags }", {"tags": ["a", "b", "c"]}, {"tags": ["c", "a", "b"]})
    assert got == [diff(("tags",), "Query.tags", "order", ["a", "b", "c"], ["c", "a", "b"])]


def test_order_difference_of_a_list_of_objects() -> None:
    a, b = assignment(1), assignment(2)
    got = compare(ASSIGNMENTS, {"assignments": [a, b]}, {"assignments": [b, a]})
    assert got == [diff(("assignments",), "Query.assignments", "order", [a, b], [b, a])]


def test_same_length_different_content_is_not_an_order_difference() -> None:
    got = compare("{ tags }", {"tags": ["a", "b"]}, {"tags": ["b", "c"]})
    assert got == [
        diff(("tags", 0), "Query.tags", "value", "a", "b"),
        diff(("tags", 1), "Query.tags", "value", "b", "c"),
    ]


def test_nested_lists_of_objects() -> None:
    primary = {"assignments": [assignment(1), assignment(2)]}
    candidate = {
        "assignments": [
            assignment(1),
            assignment(2, reviewers=[{"id": "r2", "name": "Changed"}, {"id": "x", "name": "X"}], tags=["a"]),
        ]
    }
    got = compare(ASSIGNMENTS, primary, candidate)
    assert got == [
        diff(("assignments", 1, "tags"), "Assignment.tags", "length", 2, 1),
        diff(("assignments", 1, "reviewers", 0, "name"), "Person.name", "value", "R2", "Changed"),
    ]


def test_lists_of_lists() -> None:
    got = compare("{ matrix }", {"matrix": [[1, 2], [3]]}, {"matrix": [[1, 2], [4, 5]]})
    assert got == [
        diff(("matrix", 1), "Query.matrix", "length", 1, 2),
        diff(("matrix", 1, 0), "Query.matrix", "value", 3, 4),
    ]


def test_custom_json_scalar_is_compared_structurally_at_its_field() -> None:
    got = compare(
        "{ metadata }",
        {"metadata": {"a": {"b": 1, "c": [1, 2]}}},
        {"metadata": {"a": {"b": 2, "d": True, "c": [1]}}},
    )
    assert got == [
        diff(("metadata", "a", "b"), "Query.metadata", "value", 1, 2),
        diff(("metadata", "a", "c"), "Query.metadata", "length", 2, 1),
        diff(("metadata", "a", "d"), "Query.metadata", "extra", candidate=True),
    ]


def test_ints_and_floats_are_compared_numerically() -> None:
    assert compare("{ stats { mean } }", {"stats": {"mean": 2}}, {"stats": {"mean": 2.0}}) == []
    assert compare("{ stats { mean } }", {"stats": {"mean": 2}}, {"stats": {"mean": 2.5}}) == [
        diff(("stats", "mean"), "Stats.mean", "value", 2, 2.5)
    ]


# -- aliases and document order ------------------------------------------------------------------------------


def test_aliases_give_the_path_and_the_field_gives_the_coordinate() -> None:
    query = (
        '{ first: assignment(id: "1") { due: createdDate } second: assignment(id: "2") { due: createdDate } }'
    )
    got = compare(
        query,
        {"first": {"due": "a"}, "second": {"due": "b"}},
        {"first": {"due": "a"}, "second": {"due": "c"}},
    )
    assert got == [diff(("second", "due"), "Assignment.createdDate", "value", "b", "c")]


def test_rules_apply_to_aliased_fields_by_coordinate() -> None:
    query = '{ first: assignment(id: "1") { due: createdDate } }'
    rules = {"Assignment.createdDate": CoordinateRule(ignore=True)}
    assert compare(query, {"first": {"due": "a"}}, {"first": {"due": "b"}}, rules=rules) == []


def test_output_follows_document_order_not_data_key_order() -> None:
    query = "{ stats { count mean } tags }"
    primary = {"tags": ["a"], "stats": {"mean": 1.0, "count": 1}}
    candidate = {"stats": {"count": 2, "mean": 3.0}, "tags": ["b"]}
    assert compare(query, primary, candidate) == [
        diff(("stats", "count"), "Stats.count", "value", 1, 2),
        diff(("stats", "mean"), "Stats.mean", "value", 1.0, 3.0),
        diff(("tags", 0), "Query.tags", "value", "a", "b"),
    ]


# -- interfaces and unions -------------------------------------------------------------------------------------


def test_interface_fields_use_the_typename_from_the_data() -> None:
    query = "{ media { __typename title } }"
    got = compare(
        query,
        {"media": [{"__typename": "Book", "title": "a"}, {"__typename": "Movie", "title": "b"}]},
        {"media": [{"__typename": "Book", "title": "A"}, {"__typename": "Movie", "title": "B"}]},
    )
    assert got == [
        diff(("media", 0, "title"), "Book.title", "value", "a", "A"),
        diff(("media", 1, "title"), "Movie.title", "value", "b", "B"),
    ]


def test_interface_fields_without_typename_use_the_fragment_or_the_interface() -> None:
    query = "{ media { title ... on Book { pages } ... on Movie { runtime } } }"
    got = compare(
        query,
        {"media": [{"title": "a", "pages": 1}, {"title": "b", "runtime": 90}]},
        {"media": [{"title": "A", "pages": 2}, {"title": "b", "runtime": 91}]},
    )
    assert got == [
        diff(("media", 0, "title"), "Media.title", "value", "a", "A"),
        diff(("media", 0, "pages"), "Book.pages", "value", 1, 2),
        diff(("media", 1, "runtime"), "Movie.runtime", "value", 90, 91),
    ]


def test_union_without_typename_uses_named_fragment_type_conditions() -> None:
    query = """
    { search { ...B ... on Person { name } ... on Node { id } } }
    fragment B on Book { pages }
    """
    got = compare(
        query,
        {"search": [{"pages": 1, "id": "b"}, {"name": "Ann", "id": "p"}]},
        {"search": [{"pages": 2, "id": "b"}, {"name": "Bob", "id": "q"}]},
    )
    assert got == [
        diff(("search", 0, "pages"), "Book.pages", "value", 1, 2),
        diff(("search", 1, "name"), "Person.name", "value", "Ann", "Bob"),
        diff(("search", 1, "id"), "Node.id", "value", "p", "q"),
    ]


def test_union_with_typename_attributes_interface_fragment_fields_to_the_object() -> None:
    query = "{ search { __typename ... on Node { id } } }"
    got = compare(
        query,
        {"search": [{"__typename": "Person", "id": "p"}]},
        {"search": [{"__typename": "Person", "id": "q"}]},
    )
    assert got == [diff(("search", 0, "id"), "Person.id", "value", "p", "q")]


def test_nested_fragments_use_the_innermost_type_condition() -> None:
    query = "{ search { ... on Node { ... on Movie { runtime } } } }"
    got = compare(query, {"search": [{"runtime": 1}]}, {"search": [{"runtime": 2}]})
    assert got == [diff(("search", 0, "runtime"), "Movie.runtime", "value", 1, 2)]


def test_a_key_from_several_fragments_without_typename_falls_back_to_the_abstract_type() -> None:
    query = "{ search { ... on Book { title } ... on Movie { title } } }"
    got = compare(query, {"search": [{"title": "a"}]}, {"search": [{"title": "b"}]})
    assert got == [diff(("search", 0, "title"), "SearchResult.title", "value", "a", "b")]


@pytest.mark.parametrize(("include", "coordinate"), [(False, "Movie.title"), (True, "SearchResult.title")])
def test_skip_and_include_decide_which_fragments_count(include: bool, coordinate: str) -> None:
    query = (
        "query Q($b: Boolean!) { search { ... on Book @include(if: $b) { title } ... on Movie { title } } }"
    )
    got = compare(query, {"search": [{"title": "a"}]}, {"search": [{"title": "b"}]}, variables={"b": include})
    assert got == [diff(("search", 0, "title"), coordinate, "value", "a", "b")]


def test_different_typenames_are_a_value_difference_at_the_primary_type() -> None:
    query = "{ search { __typename ... on Book { pages } ... on Movie { runtime } } }"
    got = compare(
        query,
        {"search": [{"__typename": "Book", "pages": 1}]},
        {"search": [{"__typename": "Movie", "runtime": 90}]},
    )
    assert got == [
        diff(("search", 0, "__typename"), "Book.__typename", "value", "Book", "Movie"),
        diff(("search", 0, "pages"), "Book.pages", "missing", primary=1),
        diff(("search", 0, "runtime"), "Movie.runtime", "extra", candidate=90),
    ]


def test_typename_only_on_one_side_still_attributes() -> None:
    query = '{ node(id: "1") { id ... on Person { name } } }'
    got = compare(
        query, {"node": {"id": "1", "name": "a"}}, {"node": {"__typename": "Person", "id": "1", "name": "b"}}
    )
    assert got == [
        diff(("node", "name"), "Person.name", "value", "a", "b"),
        diff(("node", "__typename"), "Node.__typename", "extra", candidate="Person"),
    ]


# -- rules ---------------------------------------------------------------------------------------------------


def test_ignore_suppresses_the_coordinate_and_everything_under_it() -> None:
    primary = {"assignments": [assignment(1)]}
    candidate = {"assignments": [assignment(1, title="x", owner={"name": "changed", "extra": 1})]}
    assert (
        compare(
            ASSIGNMENTS,
            primary,
            candidate,
            rules={
                "Assignment.title": CoordinateRule(ignore=True),
                "Assignment.owner": CoordinateRule(ignore=True),
            },
        )
        == []
    )
    # without the rule on owner, the Person field under it is reported
    got = compare(ASSIGNMENTS, primary, candidate, rules={"Assignment.title": CoordinateRule(ignore=True)})
    assert got == [
        diff(("assignments", 0, "owner", "name"), "Person.name", "value", "o1", "changed"),
        diff(("assignments", 0, "owner", "extra"), "Person.extra", "extra", candidate=1),
    ]


def test_ignore_covers_missing_and_extra() -> None:
    rules = {"Stats.count": CoordinateRule(ignore=True)}
    assert compare("{ stats { count } }", {"stats": {"count": 1}}, {"stats": {}}, rules=rules) == []
    assert compare("{ stats { count } }", {"stats": {}}, {"stats": {"count": 1}}, rules=rules) == []


def test_wildcard_rule_covers_every_field_of_the_type() -> None:
    primary = {"assignments": [assignment(1)]}
    candidate = {"assignments": [assignment(1, title="x", points=9, owner={"name": "changed"})]}
    got = compare(ASSIGNMENTS, primary, candidate, rules={"Assignment.*": CoordinateRule(ignore=True)})
    assert got == []
    got = compare(ASSIGNMENTS, primary, candidate, rules={"Person.*": CoordinateRule(ignore=True)})
    assert [d.coordinate for d in got] == ["Assignment.title", "Assignment.points"]


def test_exact_rule_wins_over_wildcard() -> None:
    primary = {"assignments": [assignment(1)]}
    candidate = {"assignments": [assignment(1, title="x", points=9)]}
    got = compare(
        ASSIGNMENTS,
        primary,
        candidate,
        rules={
            "Assignment.*": CoordinateRule(ignore=True),
            "Assignment.points": CoordinateRule(),
        },
    )
    assert got == [diff(("assignments", 0, "points"), "Assignment.points", "value", 1, 9)]


def test_default_rule_applies_where_no_rule_matches() -> None:
    query = "{ stats { mean } assignments { score } }"
    primary = {"stats": {"mean": 1.0}, "assignments": [{"score": 1.0}]}
    candidate = {"stats": {"mean": 1.05}, "assignments": [{"score": 1.05}]}
    got = compare(
        query,
        primary,
        candidate,
        default_rule=CoordinateRule(float_tolerance=0.1),
        rules={"Assignment.score": CoordinateRule()},
    )
    assert got == [diff(("assignments", 0, "score"), "Assignment.score", "value", 1.0, 1.05)]


def test_unordered_list_ignores_order() -> None:
    rules = {"Query.tags": CoordinateRule(unordered=True)}
    assert compare("{ tags }", {"tags": ["a", "b", "a"]}, {"tags": ["a", "a", "b"]}, rules=rules) == []


def test_unordered_list_still_reports_a_different_multiset() -> None:
    rules = {"Query.tags": CoordinateRule(unordered=True)}
    assert compare("{ tags }", {"tags": ["a", "b", "a"]}, {"tags": ["b", "a", "b"]}, rules=rules) == [
        diff(("tags", 2), "Query.tags", "value", "a", "b")
    ]
    assert compare("{ tags }", {"tags": ["a", "b", "c"]}, {"tags": ["c", "a"]}, rules=rules) == [
        diff(("tags",), "Query.tags", "length", 3, 2)
    ]


def test_unordered_list_of_objects_with_an_ignored_field_and_nulls_equal_to_missing() -> None:
    a = {"id": "1", "name": "A", "email": None}
    b = {"id": "2", "name": "B", "email": "b@x"}
    rules = {
        "Assignment.reviewers": CoordinateRule(unordered=True),
        "Person.name": CoordinateRule(ignore=True),
        "Person.email": CoordinateRule(null_equals_missing=True),
    }
    query = '{ assignment(id: "1") { reviewers { id name email } } }'
    candidate_a = {"id": "1", "name": "other"}
    got = compare(
        query,
        {"assignment": {"reviewers": [a, b]}},
        {"assignment": {"reviewers": [b, candidate_a]}},
        rules=rules,
    )
    assert got == []
    # the same lists in order are an order difference only when the list is not unordered
    got = compare(
        query,
        {"assignment": {"reviewers": [a, b]}},
        {"assignment": {"reviewers": [b, candidate_a]}},
        rules={k: v for k, v in rules.items() if k != "Assignment.reviewers"},
    )
    assert got == [
        diff(("assignment", "reviewers"), "Assignment.reviewers", "order", [a, b], [b, candidate_a])
    ]


def test_unordered_nested_lists_of_objects_report_the_unmatched_elements() -> None:
    rules = {"Query.assignments": CoordinateRule(unordered=True)}
    a, b, c = assignment(1), assignment(2), assignment(3)
    changed = assignment(3, title="new")
    got = compare(ASSIGNMENTS, {"assignments": [a, b, c]}, {"assignments": [changed, b, a]}, rules=rules)
    assert got == [diff(("assignments", 2, "title"), "Assignment.title", "value", "t3", "new")]


def test_large_unordered_lists_match_on_their_canonical_form() -> None:
    """Beyond a few thousand element pairs no element-by-element pairing is tried: the canonical form alone
    must already apply ignore, null-equals-missing, nested unordered lists and ints equal to floats."""
    query = "{ assignments { id title score tags owner { name email } } }"
    rules = {
        "Query.assignments": CoordinateRule(unordered=True),
        "Assignment.tags": CoordinateRule(unordered=True),
        "Assignment.title": CoordinateRule(ignore=True),
        "Person.email": CoordinateRule(null_equals_missing=True),
    }
    primary = [
        {
            "id": str(n),
            "title": "p",
            "score": float(n),
            "tags": ["a", "b"],
            "owner": {"name": "o", "email": None},
        }
        for n in range(80)
    ]
    candidate = [
        {"id": str(n), "score": n, "tags": ["b", "a"], "owner": {"name": "o"}}  # no title: it is ignored
        for n in reversed(range(80))
    ]
    assert compare(query, {"assignments": primary}, {"assignments": candidate}, rules=rules) == []
    # one element fewer: every other element still pairs, so this is only a length difference
    assert compare(
        query, {"assignments": primary}, {"assignments": candidate[:40] + candidate[41:]}, rules=rules
    ) == [diff(("assignments",), "Query.assignments", "length", 80, 79)]
    candidate[0] = {**candidate[0], "score": 0.5}
    assert compare(query, {"assignments": primary}, {"assignments": candidate}, rules=rules) == [
        diff(("assignments", 79, "score"), "Assignment.score", "value", 79.0, 0.5)
    ]


def test_float_tolerance() -> None:
    query = "{ stats { mean count } }"
    rules = {
        "Stats.mean": CoordinateRule(float_tolerance=0.01),
        "Stats.count": CoordinateRule(float_tolerance=1),
    }
    assert (
        compare(
            query, {"stats": {"mean": 1.0, "count": 3}}, {"stats": {"mean": 1.005, "count": 4.0}}, rules=rules
        )
        == []
    )
    assert compare(
        query, {"stats": {"mean": 1.0, "count": 3}}, {"stats": {"mean": 1.02, "count": 5}}, rules=rules
    ) == [
        diff(("stats", "mean"), "Stats.mean", "value", 1.0, 1.02),
        diff(("stats", "count"), "Stats.count", "value", 3, 5),
    ]
    # without a tolerance the smallest change counts
    assert compare(query, {"stats": {"mean": 1.0}}, {"stats": {"mean": 1.005}}) == [
        diff(("stats", "mean"), "Stats.mean", "value", 1.0, 1.005)
    ]


def test_float_tolerance_in_lists_and_with_unordered() -> None:
    query = "{ assignments { score } }"
    primary = {"assignments": [{"score": 1.0}, {"score": 2.0}]}
    swapped = {"assignments": [{"score": 2.0001}, {"score": 1.0001}]}
    tolerant = {"Assignment.score": CoordinateRule(float_tolerance=0.001)}
    assert (
        compare(
            query, primary, swapped, rules={**tolerant, "Query.assignments": CoordinateRule(unordered=True)}
        )
        == []
    )
    assert compare(query, primary, swapped, rules=tolerant) == [
        diff(("assignments",), "Query.assignments", "order", primary["assignments"], swapped["assignments"])
    ]


def test_large_unordered_lists_equal_within_tolerance() -> None:
    query = "{ assignments { id score } }"
    rules = {
        "Query.assignments": CoordinateRule(unordered=True),
        "Assignment.score": CoordinateRule(float_tolerance=0.001),
    }
    primary = [{"id": f"{n:03}", "score": n / 3} for n in range(100)]
    candidate = [{"id": f"{n:03}", "score": n / 3 + 0.0001} for n in reversed(range(100))]
    assert compare(query, {"assignments": primary}, {"assignments": candidate}, rules=rules) == []
    candidate[0] = {"id": "099", "score": 50.0}
    assert compare(query, {"assignments": primary}, {"assignments": candidate}, rules=rules) == [
        diff(("assignments", 99, "score"), "Assignment.score", "value", 33.0, 50.0)
    ]


def test_null_equals_missing() -> None:
    query = "{ stats { mean count } }"
    rules = {"Stats.count": CoordinateRule(null_equals_missing=True)}
    assert (
        compare(query, {"stats": {"mean": 1.0, "count": None}}, {"stats": {"mean": 1.0}}, rules=rules) == []
    )
    assert (
        compare(query, {"stats": {"mean": 1.0}}, {"stats": {"mean": 1.0, "count": None}}, rules=rules) == []
    )
    # a value is still not missing, and null is still not a value
    assert compare(query, {"stats": {"count": 1}}, {"stats": {}}, rules=rules) == [
        diff(("stats", "count"), "Stats.count", "missing", primary=1)
    ]
    assert compare(query, {"stats": {"count": None}}, {"stats": {"count": 1}}, rules=rules) == [
        diff(("stats", "count"), "Stats.count", "type", None, 1)
    ]
    # and without the rule, missing is reported even against null
    assert compare(query, {"stats": {"count": None}}, {"stats": {}}) == [
        diff(("stats", "count"), "Stats.count", "missing", primary=None)
    ]


def test_default_rule_ignore_ignores_everything_even_at_the_root() -> None:
    everything = CoordinateRule(ignore=True)
    assert compare(ASSIGNMENTS, {"assignments": [assignment(1)]}, None, default_rule=everything) == []
    assert (
        compare(
            ASSIGNMENTS,
            {"assignments": [assignment(1)]},
            {"assignments": []},
            default_rule=everything,
            candidate_errors=[{"message": "x"}, {"message": "y", "path": ["assignments"]}],
        )
        == []
    )


# -- errors --------------------------------------------------------------------------------------------------


def test_error_on_one_side_only_is_attributed_to_its_path() -> None:
    data = {"assignments": [assignment(1)]}
    error = {"message": "bad", "path": ["assignments", 0, "owner", "name"]}
    got = compare(ASSIGNMENTS, data, data, candidate_errors=[error])
    assert got == [diff(("assignments", 0, "owner", "name"), "Person.name", "error", candidate=error)]
    got = compare(ASSIGNMENTS, data, data, primary_errors=[error], candidate_errors=[])
    assert got == [diff(("assignments", 0, "owner", "name"), "Person.name", "error", primary=error)]


def test_errors_at_the_same_path_match_whatever_their_messages() -> None:
    data = {"stats": None}
    got = compare(
        "{ stats { mean } }",
        data,
        data,
        primary_errors=[{"message": "a", "path": ["stats"]}],
        candidate_errors=[{"message": "b", "path": ["stats"], "extensions": {"code": "X"}}],
    )
    assert got == []


def test_errors_without_path_are_compared_by_count() -> None:
    data = {"stats": None}
    assert (
        compare(
            "{ stats { mean } }",
            data,
            data,
            primary_errors=[{"message": "a"}],
            candidate_errors=[{"message": "b"}],
        )
        == []
    )
    assert compare(
        "{ stats { mean } }",
        data,
        data,
        primary_errors=[{"message": "a"}],
        candidate_errors=[{"message": "b"}, {"message": "c", "path": None}],
    ) == [diff((), "Query", "error", 1, 2)]


def test_error_differences_follow_data_differences_in_document_order_of_their_paths() -> None:
    query = "{ stats { mean count } tags }"
    errors = [
        {"message": "t", "path": ["tags", 1]},
        {"message": "c", "path": ["stats", "count"]},
        {"message": "m", "path": ["stats", "mean"]},
        {"message": "bare"},
    ]
    got = compare(
        query,
        {"stats": {"mean": 1.0, "count": 1}, "tags": ["a"]},
        {"stats": {"mean": 1.0, "count": 2}, "tags": ["a"]},
        candidate_errors=errors,
    )
    assert got == [
        diff(("stats", "count"), "Stats.count", "value", 1, 2),
        diff(("stats", "mean"), "Stats.mean", "error", candidate=errors[2]),
        diff(("stats", "count"), "Stats.count", "error", candidate=errors[1]),
        diff(("tags", 1), "Query.tags", "error", candidate=errors[0]),
        diff((), "Query", "error", 0, 1),
    ]


def test_error_under_an_abstract_type_uses_the_typename_in_the_data() -> None:
    query = "{ search { __typename ... on Node { id } } }"
    data = {"search": [{"__typename": "Movie", "id": "m"}, {"__typename": "Person", "id": None}]}
    error = {"message": "x", "path": ["search", 1, "id"]}
    assert compare(query, data, data, primary_errors=[error]) == [
        diff(("search", 1, "id"), "Person.id", "error", primary=error)
    ]
    # the typename may come from the candidate's data alone
    assert compare(query, {"search": None}, data, primary_errors=[error])[-1] == diff(
        ("search", 1, "id"), "Person.id", "error", primary=error
    )
    # without a typename: the fragment's type condition
    bare = {"search": [{"id": "m"}, {"id": None}]}
    assert compare(query, bare, bare, primary_errors=[error]) == [
        diff(("search", 1, "id"), "Node.id", "error", primary=error)
    ]


def test_error_under_an_aliased_field() -> None:
    query = '{ first: assignment(id: "1") { due: createdDate } }'
    data = {"first": {"due": None}}
    error = {"message": "x", "path": ["first", "due"]}
    assert compare(query, data, data, candidate_errors=[error]) == [
        diff(("first", "due"), "Assignment.createdDate", "error", candidate=error)
    ]


def test_error_under_an_ignored_coordinate_is_not_a_difference() -> None:
    data = {"assignments": [assignment(1)]}
    error = {"message": "bad", "path": ["assignments", 0, "owner", "name"]}
    rules = {"Assignment.owner": CoordinateRule(ignore=True)}
    assert compare(ASSIGNMENTS, data, data, candidate_errors=[error], rules=rules) == []


# -- odd input -----------------------------------------------------------------------------------------------


def test_data_null_on_one_side_is_one_type_difference_at_the_root() -> None:
    data = {"assignments": [assignment(1)]}
    assert compare(ASSIGNMENTS, data, None) == [diff((), "Query", "type", data, None)]
    assert compare(ASSIGNMENTS, None, data) == [diff((), "Query", "type", None, data)]


@pytest.mark.parametrize(
    ("primary", "candidate", "expected"),
    [
        (
            {"data": {"tags": None}},
            {"errors": [{"message": "down"}]},
            [diff((), "Query", "type", {"tags": None}, None), diff((), "Query", "error", 0, 1)],
        ),
        (
            {"data": "nonsense"},
            {"data": {"tags": None}},
            [diff((), "Query", "type", "nonsense", {"tags": None})],
        ),
        ({"data": [1]}, {"data": [2]}, [diff((0,), "Query", "value", 1, 2)]),
        (None, {"data": None}, []),
        (
            {"data": {"tags": None}, "errors": "oops"},
            {"data": {"tags": None}, "errors": [None, 3]},
            [diff((), "Query", "error", 0, 2)],
        ),
        (
            {"data": {"tags": None}, "errors": [{"path": ["tags", True]}]},
            {"data": {"tags": None}, "errors": [{"path": "tags"}]},
            [],
        ),
        ({"data": {"tags": {"a": 1}}}, {"data": {"tags": {"a": 1}}}, []),
        (
            {"data": {"stats": {"mean": [1]}}},
            {"data": {"stats": {"mean": [2]}}},
            [diff(("stats", "mean", 0), "Stats.mean", "value", 1, 2)],
        ),
    ],
)
def test_odd_input_does_not_raise(primary: Any, candidate: Any, expected: list[Difference]) -> None:
    got = compare_responses(
        primary,
        candidate,
        schema=SCHEMA,
        root_type="Query",
        selections=normalize("{ tags stats { mean } }"),
        variables={},
    )
    assert got == expected


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [100, 5000])
def test_deeply_nested_values_do_not_raise(depth: int) -> None:
    assert compare("{ metadata }", {"metadata": nested(depth, 1)}, {"metadata": nested(depth, 1)}) == []
    got = compare("{ metadata }", {"metadata": nested(depth, 1)}, {"metadata": nested(depth, 2)})
    assert [(d.coordinate, d.kind) for d in got] == [("Query.metadata", "value")]
    full_path = ("metadata", *(0 if n % 2 else "k" for n in reversed(range(depth))))
    if depth == 100:  # at the leaf
        assert got[0].path == full_path and (got[0].primary, got[0].candidate) == (1, 2)
    else:  # far down, where the rest is compared whole
        assert 100 < len(got[0].path) < depth and got[0].path == full_path[: len(got[0].path)]
    unordered = {"Query.metadata": CoordinateRule(unordered=True)}
    got = compare(
        "{ metadata }",
        {"metadata": [nested(depth, 1), 0]},
        {"metadata": [0, nested(depth, 1)]},
        rules=unordered,
    )
    assert got == []


def test_unknown_root_type_does_not_raise() -> None:
    error = {"message": "x", "path": ["tags", 0]}
    got = compare_responses(
        {"data": {"tags": ["a"]}},
        {"data": {"tags": ["b"]}, "errors": [error]},
        schema=SCHEMA,
        root_type="Nope",
        selections=normalize("{ tags }"),
        variables={},
    )
    assert got == [
        diff(("tags", 0), "Nope.tags", "value", "a", "b"),
        diff(("tags", 0), "Nope.tags", "error", candidate=error),
    ]


def test_unknown_error_paths_do_not_raise() -> None:
    data = {"stats": {"mean": 1.0}}
    error = {"message": "x", "path": ["nowhere", 3, "deeper"]}
    assert compare("{ stats { mean } }", data, data, primary_errors=[error]) == [
        diff(("nowhere", 3, "deeper"), "Query.nowhere", "error", primary=error)
    ]


# -- compare_for_migration: walking only what can hold a migrating field -----------------------------------

MIGRATING_SETS = (
    frozenset({"Assignment.title"}),
    frozenset({"Assignment.score", "Person.name"}),
    frozenset({"Assignment.reviewers"}),
    frozenset({"Query.assignments"}),
    frozenset({"Assignment.tags", "Assignment.done"}),
)


def _mutate(value: Any, rng: random.Random) -> Any:
    """`value` with one random change somewhere (or none), JSON-typed as subgraphs answer."""
    value = copy.deepcopy(value)
    spots: list[tuple[Any, Any]] = []
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
        for key in keys:
            spots.append((node, key))
            stack.append(node[key])
    if not spots or rng.random() < 0.15:
        return value
    node, key = rng.choice(spots)
    old = node[key]
    change = rng.randrange(6)
    if change == 0 and isinstance(node, dict):
        del node[key]
    elif change == 1:
        node[key] = None
    elif change == 2 and isinstance(old, list) and len(old) > 1:
        old.reverse()
    elif change == 3 and isinstance(old, list) and old:
        old.pop()
    elif change == 4 and isinstance(old, int | float) and not isinstance(old, bool):
        node[key] = old + 0.001 if rng.random() < 0.5 else float(old)
    elif change == 5 and isinstance(old, str):
        node[key] = old + "!"
    else:
        node[key] = True if old == 1 else 1  # True == 1 for Python, not for JSON
    return value


@pytest.mark.parametrize("seed", range(300))
def test_shortcuts_give_the_exhaustive_comparison(seed: int) -> None:
    rng = random.Random(seed)
    query = "{ assignments { id title score points done tags owner { name } reviewers { id name } } }"
    selections = normalize(query)
    primary = {"data": {"assignments": [assignment(n, done=n % 2 == 1) for n in range(rng.randrange(1, 5))]}}
    candidate = {"data": _mutate(_mutate(primary["data"], rng), rng)}
    rules: dict[str, CoordinateRule] = {}
    if rng.random() < 0.3:
        rules["Assignment.tags"] = CoordinateRule(unordered=True)
    if rng.random() < 0.3:
        rules["Assignment.score"] = CoordinateRule(float_tolerance=0.01)
    coordinates = rng.choice(MIGRATING_SETS)
    results = [
        compare_for_migration(
            primary,
            candidate,
            schema=SCHEMA,
            root_type="Query",
            selections=selections,
            variables={},
            coordinates=coordinates,
            rules=rules,
            exhaustive=exhaustive,
        )
        for exhaustive in (False, True)
    ]
    assert results[0] == results[1]


def test_equal_subtrees_are_counted_value_by_value() -> None:
    selections = normalize("{ assignments { id title reviewers { id name } } }")
    data = {"assignments": [assignment(n) for n in range(3)]}
    for item in data["assignments"]:
        del item["score"], item["points"], item["tags"], item["owner"]
    changed = copy.deepcopy(data)
    changed["assignments"][1]["reviewers"][0]["name"] = "other"
    same = compare_for_migration(
        {"data": data},
        {"data": copy.deepcopy(data)},
        schema=SCHEMA,
        root_type="Query",
        selections=selections,
        variables={},
        coordinates=frozenset({"Person.name", "Assignment.title"}),
    )
    one = compare_for_migration(
        {"data": data},
        {"data": changed},
        schema=SCHEMA,
        root_type="Query",
        selections=selections,
        variables={},
        coordinates=frozenset({"Person.name", "Assignment.title"}),
    )
    assert same.values == one.values == {"Assignment.title": 3, "Person.name": 6}
    assert (same.differing, one.differing) == ({}, {"Person.name": 1})


def test_a_boolean_against_a_number_in_an_equal_looking_subtree_is_a_type_difference() -> None:
    selections = normalize("{ assignments { id done } }")
    result = compare_for_migration(
        {"data": {"assignments": [{"id": "1", "done": True}]}},
        {"data": {"assignments": [{"id": "1", "done": 1}]}},
        schema=SCHEMA,
        root_type="Query",
        selections=selections,
        variables={},
        coordinates=frozenset({"Assignment.done"}),
    )
    assert [(d.path, d.coordinate, d.kind) for d in result.differences] == [
        (("assignments", 0, "done"), "Assignment.done", "type")
    ]
