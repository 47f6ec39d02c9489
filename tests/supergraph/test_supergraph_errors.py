"""Malformed supergraphs: SupergraphError, naming the line of the fault where there is one."""

from __future__ import annotations

import pytest

from support.fixtures import load_subgraph_sdls, load_supergraph
from turnout.supergraph.join_spec import read_supergraph
from turnout.supergraph.model import SupergraphError


def edit(name: str, old: str, new: str) -> str:
    """Fixture `name` with the one occurrence of `old` replaced."""
    sdl = load_supergraph(name)
    assert sdl.count(old) == 1, old
    return sdl.replace(old, new)


def line_of(sdl: str, marker: str) -> int:
    """The (only) line of `sdl` that contains `marker`, counted from 1."""
    found = [number for number, line in enumerate(sdl.split("\n"), start=1) if marker in line]
    assert len(found) == 1, (marker, found)
    return found[0]


def read_error(sdl: str) -> SupergraphError:
    with pytest.raises(SupergraphError) as caught:
        read_supergraph(sdl)
    return caught.value


def assert_error_at(sdl: str, marker: str, *message_parts: str) -> None:
    error = read_error(sdl)
    line = line_of(sdl, marker)
    assert error.line == line
    assert str(error).startswith(f"line {line}: ")
    for part in message_parts:
        assert part in str(error)


# -- syntax errors -----------------------------------------------------------------------------------------


def test_syntax_error_in_a_field() -> None:
    sdl = edit(
        "shop",
        "{\n  upc: String!\n  name: String! @join__field(graph: PRODUCTS)",
        "{\n  upc String!\n  name: String! @join__field(graph: PRODUCTS)",
    )
    assert_error_at(sdl, "upc String!", "syntax error", "Expected ':'")


def test_unterminated_string() -> None:
    sdl = edit(
        "shop",
        'REVIEWS @join__graph(name: "reviews", url: "http://127.0.0.1:4103/graphql")',
        'REVIEWS @join__graph(name: "reviews", url: "http://127.0.0.1:4103/graphql)',
    )
    assert_error_at(sdl, "4103", "syntax error", "Unterminated string")


def test_unexpected_end_of_document() -> None:
    sdl = load_supergraph("media") + "\ntype Broken {\n  field: Int\n"
    error = read_error(sdl)
    assert error.line == sdl.count("\n") + 1
    assert "syntax error" in str(error)


def test_empty_document() -> None:
    error = read_error("")
    assert error.line == 1
    assert "syntax error" in str(error)


# -- unknown join__Graph values -----------------------------------------------------------------------------


def test_unknown_graph_in_join_type() -> None:
    sdl = edit("shop", '@join__type(graph: REVIEWS, key: "upc")', '@join__type(graph: WAREHOUSE, key: "upc")')
    assert_error_at(sdl, "WAREHOUSE", "unknown subgraph 'WAREHOUSE'")


def test_unknown_graph_in_join_field() -> None:
    sdl = edit(
        "shop",
        'valueScore: Float @join__field(graph: REVIEWS, requires: "price")',
        'valueScore: Float @join__field(graph: RATINGS, requires: "price")',
    )
    assert_error_at(sdl, "RATINGS", "unknown subgraph 'RATINGS'")


def test_unknown_graph_in_join_implements() -> None:
    sdl = edit(
        "wholesale",
        'type Supplier implements Node\n  @join__implements(graph: SUPPLIERS, interface: "Node")',
        'type Supplier implements Node\n  @join__implements(graph: VENDORS, interface: "Node")',
    )
    assert_error_at(sdl, "VENDORS", "unknown subgraph 'VENDORS'")


def test_unknown_graph_in_join_union_member() -> None:
    sdl = edit(
        "wholesale",
        '@join__unionMember(graph: SUPPLIERS, member: "Supplier")',
        '@join__unionMember(graph: WAREHOUSES, member: "Supplier")',
    )
    assert_error_at(sdl, "WAREHOUSES", "unknown subgraph 'WAREHOUSES'")


def test_unknown_graph_in_join_owner() -> None:
    sdl = edit("fed1-shop", "@join__owner(graph: REVIEWS)", "@join__owner(graph: RATINGS)")
    assert_error_at(sdl, "RATINGS", "unknown subgraph 'RATINGS'")


def test_unknown_graph_in_join_enum_value() -> None:
    sdl = edit(
        "migration", "SHIPPED @join__enumValue(graph: MONOLITH)", "SHIPPED @join__enumValue(graph: WAREHOUSE)"
    )
    assert_error_at(sdl, "WAREHOUSE", "unknown subgraph 'WAREHOUSE'")


def test_graph_value_without_join_graph() -> None:
    sdl = edit(
        "shop",
        'REVIEWS @join__graph(name: "reviews", url: "http://127.0.0.1:4103/graphql")',
        "REVIEWS",
    )
    error = read_error(sdl)
    assert error.line == line_of(sdl, "  REVIEWS")
    assert "join__Graph.REVIEWS has no @join__graph" in str(error)


# -- field sets that do not parse ---------------------------------------------------------------------------


def test_key_that_does_not_parse() -> None:
    sdl = edit("shop", '@join__type(graph: REVIEWS, key: "upc")', '@join__type(graph: REVIEWS, key: "upc {")')
    assert_error_at(sdl, 'key: "upc {"', "invalid field set 'upc {'")


def test_nested_key_that_does_not_parse() -> None:
    sdl = edit(
        "keychain",
        '@join__type(graph: PRICING, key: "product { id } code")',
        '@join__type(graph: PRICING, key: "product { id code")',
    )
    assert_error_at(sdl, '"product { id code"', "invalid field set")


def test_requires_that_does_not_parse() -> None:
    sdl = edit("shop", 'requires: "price"', 'requires: "price("')
    assert_error_at(sdl, 'requires: "price("', "invalid field set 'price('")


def test_provides_that_does_not_parse() -> None:
    sdl = edit(
        "shop",
        'author: User! @join__field(graph: REVIEWS, provides: "username")\n  product: Product!\n}\n\ntype User',
        'author: User! @join__field(graph: REVIEWS, provides: "username }")\n  product: Product!\n}\n\ntype User',
    )
    assert_error_at(sdl, '"username }"', "invalid field set 'username }'")


def test_federation1_requires_that_does_not_parse() -> None:
    sdl = edit("fed1-shop", 'requires: "price weight"', 'requires: "price weight {"')
    assert_error_at(sdl, '"price weight {"', "invalid field set")


# -- not a supergraph ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("subgraph", ["accounts", "products", "reviews"])
def test_a_subgraph_schema_is_not_a_supergraph(subgraph: str) -> None:
    error = read_error(load_subgraph_sdls("shop")[subgraph])
    assert str(error).startswith("not a supergraph: no @link (or @core) to https://specs.apollo.dev/join")


def test_a_plain_schema_is_not_a_supergraph() -> None:
    error = read_error("type Query {\n  hello: String\n}\n")
    assert error.line is None
    assert "not a supergraph" in str(error)


def test_unsupported_join_version() -> None:
    sdl = edit("shop", "https://specs.apollo.dev/join/v0.3", "https://specs.apollo.dev/join/v0.9")
    error = read_error(sdl)
    assert "join spec v0.9 is not supported" in str(error)


def test_supergraph_without_subgraphs() -> None:
    sdl = load_supergraph("media")
    start = sdl.index("enum join__Graph {")
    end = sdl.index("}", start) + 1
    error = read_error(sdl[:start] + "enum join__Graph\n" + sdl[end:])
    assert "declares no subgraphs" in str(error)


def test_link_without_url() -> None:
    sdl = edit("shop", '@link(url: "https://specs.apollo.dev/link/v1.0")', '@link(as: "x")')
    assert_error_at(sdl, '@link(as: "x")', "@link without a url")


def test_invalid_schema_names_the_line() -> None:
    sdl = edit(
        "shop",
        "reviews: [Review!]! @join__field(graph: REVIEWS)\n  questions",
        "reviews: [Rating!]! @join__field(graph: REVIEWS)\n  questions",
    )
    assert_error_at(sdl, "[Rating!]!", "Rating")
