"""What a composition error says: Apollo's code, a message naming the coordinates, the subgraphs and lines."""

from __future__ import annotations

import pytest

from turnout.compose import CompositionFailed, Location, SubgraphInput, compose, compose_or_raise

HEADER = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])\n'
)


def _compose(**sdls: str) -> list[str]:
    result = compose(
        [
            SubgraphInput(name, f"http://127.0.0.1:{4101 + i}/graphql", sdl)
            for i, (name, sdl) in enumerate(sdls.items())
        ]
    )
    return [str(e) for e in result.errors]


def test_field_sharing_names_both_subgraphs_and_lines() -> None:
    result = compose(
        [
            SubgraphInput("a", "http://a", HEADER + "type Query {\n  x: Int\n}"),
            SubgraphInput("b", "http://b", HEADER + "\n\ntype Query { x: Int }"),
        ]
    )
    [error] = result.errors
    assert error.code == "INVALID_FIELD_SHARING"
    assert 'Non-shareable field "Query.x" is resolved from multiple subgraphs' in error.message
    assert error.locations == (Location(subgraph="a", line=3), Location(subgraph="b", line=4))
    assert error.subgraphs == ("a", "b")


def test_syntax_error_line() -> None:
    [error] = compose([SubgraphInput("a", "http://a", HEADER + "type Query {\n  x: Int\n  y:\n}")]).errors
    assert error.code == "INVALID_GRAPHQL" and error.locations == (Location(subgraph="a", line=5),)


def test_satisfiability_error_shows_the_query_and_why() -> None:
    a = HEADER + 'type Query { t: T }\ntype T @key(fields: "id", resolvable: false) { id: ID! }'
    b = HEADER + 'type Query { b: Int }\ntype T @key(fields: "id", resolvable: false) { id: ID! extra: Int }'
    [error] = _compose(a=a, b=b)
    assert error.startswith(
        "[SATISFIABILITY_ERROR] The following supergraph API query:\n{\n  t {\n    extra\n  }\n}"
    )
    assert 'from subgraph "a": cannot find field "T.extra"' in error


def test_progressive_override_hint() -> None:
    old = HEADER + 'type Query { t: T }\ntype T @key(fields: "id") {\n  id: ID!\n  v: Int\n}'
    new = HEADER + 'type T @key(fields: "id") { id: ID! v: Int @override(from: "old", label: "percent(10)") }'
    sdl, hints = compose_or_raise(
        [SubgraphInput("old", "http://old", old), SubgraphInput("new", "http://new", new)]
    )
    [hint] = [h for h in hints if h.code == "OVERRIDE_MIGRATION_IN_PROGRESS"]
    assert 'Field "T.v" is currently being migrated with progressive @override' in hint.message
    assert 'remove the field from subgraph "old"' in hint.message
    assert hint.locations == (Location(subgraph="old", line=5),)
    assert (
        'v: Int @join__field(graph: NEW, override: "old", overrideLabel: "percent(10)") '
        '@join__field(graph: OLD, overrideLabel: "percent(10)")' in sdl
    )


def test_compose_or_raise_lists_every_error() -> None:
    with pytest.raises(CompositionFailed) as raised:
        compose_or_raise(
            [
                SubgraphInput("a", "http://a", HEADER + "type Query { x: Int }"),
                SubgraphInput("b", "http://b", HEADER + "type Query { x: String }"),
            ]
        )
    text = str(raised.value)
    assert text.startswith("composition failed with 2 error(s):")
    assert "[FIELD_TYPE_MISMATCH]" in text and "[INVALID_FIELD_SHARING]" in text


def test_inputs_that_cannot_compose_at_all() -> None:
    assert [e.code for e in compose([]).errors] == ["NO_SUBGRAPHS"]
    twice = [SubgraphInput("a", "http://a", HEADER + "type Query { x: Int }")] * 2
    assert [e.code for e in compose(twice).errors] == ["INVALID_SUBGRAPH_NAME"]
