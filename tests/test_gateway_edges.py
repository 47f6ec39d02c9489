"""Shapes the federation audit does not write by hand, found by comparing with the reference gateways (issue 12).

edges: `shelf` answers `Query.book` as a `Book` where the supergraph (and `accounts`) says the union `Media`;
`User.id` is `ID` in shelf and `ID!` in accounts, so `... on User { id }` and `... on Admin { id }` conflict in
one accounts selection, which the planner aliases apart, also inside an entity fetch.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from support.fixtures import load_subgraph_sdls
from support.subgraph import SubgraphSpec
from test_gateway_support import GatewayRun, Record, RunSubgraphs, ServeAsgi, start_gateway

SIMILAR: list[Record] = [{"__typename": "User", "id": "u2", "name": "Bo"},
                         {"__typename": "Admin", "id": "a1", "name": "Root"}]
USERS: list[Record] = [{"__typename": "User", "id": "u1", "name": "Ada", "similarAccounts": SIMILAR},
                       {"__typename": "User", "id": "u2", "name": "Bo", "similarAccounts": []}]


def edges_specs() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("edges")
    users = copy.deepcopy(USERS)
    book = {"__typename": "Book", "id": "b1", "title": "Dune"}
    return [
        SubgraphSpec("shelf", sdls["shelf"], data={"Book": [book]},
                     root={"book": book, "users": [{"id": u["id"]} for u in users]}),
        SubgraphSpec("accounts", sdls["accounts"], data={"User": users, "Book": [{"id": "b1"}]},
                     root={"book": {"__typename": "Book", "id": "b1"},
                           "accounts": [*users, {"__typename": "Admin", "id": "a1", "name": "Root",
                                                 "similarAccounts": []}]}),
    ]


@pytest.fixture
def edges(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> GatewayRun:
    return start_gateway(serve_asgi, "edges", run_subgraphs(edges_specs()))


def test_a_union_field_answered_as_its_concrete_type_keeps_the_type_name(edges: GatewayRun) -> None:
    """shelf declares `book: Book`: the client's `Media` still needs the object's type, so `__typename` is asked
    for even where the subgraph's type is an object type."""
    assert edges.plan("{ book { ... on Book { title } } }").count("__typename") == 1
    assert edges.query("{ book { ... on Book { title } } }").json == {"data": {"book": {"title": "Dune"}}}
    assert edges.query("{ book { ... on Book { t1: __typename title } } }").json == {
        "data": {"book": {"t1": "Book", "title": "Dune"}}}


def test_fields_aliased_apart_inside_an_entity_fetch_come_back_under_their_keys(edges: GatewayRun) -> None:
    query = "{ users { similarAccounts { ... on Admin { name id } ... on User { id name } } } }"
    assert "_t_id_Admin: id" in edges.plan(query)  # the conflict is in the accounts entity fetch
    expected: dict[str, Any] = {"data": {"users": [
        {"similarAccounts": [{"id": "u2", "name": "Bo"}, {"name": "Root", "id": "a1"}]},
        {"similarAccounts": []}]}}
    assert edges.query(query).json == expected
    aliased = edges.query("{ a1: users { similarAccounts { ... on Admin { name id } ... on User { id name } } } }")
    assert aliased.json == {"data": {"a1": expected["data"]["users"]}}
    # the same selection under a root fetch
    assert edges.query("{ accounts { ... on User { similarAccounts { ... on Admin { id } ... on User { id } } } } }"
                       ).json["data"]["accounts"][0] == {"similarAccounts": [{"id": "u2"}, {"id": "a1"}]}


def test_sibling_paths_of_one_type_keep_their_own_fields(edges: GatewayRun) -> None:
    """`users` and `a1: users` both need accounts for their User objects, each something else under the key `x`:
    one fetch for both would write `x: name` over `users.x` (the id). Each path gets its own fetch."""
    query = "{ users { x: id name } a1: users { x: name } }"
    assert edges.plan(query).count('Fetch(service: "accounts")') == 2
    assert edges.query(query).json == {"data": {
        "users": [{"x": "u1", "name": "Ada"}, {"x": "u2", "name": "Bo"}],
        "a1": [{"x": "Ada"}, {"x": "Bo"}]}}
