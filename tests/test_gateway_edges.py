"""Shapes the federation audit does not write by hand, found by comparing with the reference gateways (issue 12).

edges: `shelf` answers `Query.book` as a `Book` where the supergraph (and `accounts`) says the union `Media`;
`User.id` is `ID` in shelf and `ID!` in accounts, so `... on User { id }` and `... on Admin { id }` conflict in
one accounts selection, which the planner aliases apart, also inside an entity fetch.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ariadne.contrib.federation import FederatedInterfaceType, FederatedObjectType

from support.fixtures import load_subgraph_sdls
from support.subgraph import SubgraphSpec
from test_gateway_support import GatewayRun, Record, RunSubgraphs, ServeAsgi, entity_requests, start_gateway

SIMILAR: list[Record] = [
    {"__typename": "User", "id": "u2", "name": "Bo"},
    {"__typename": "Admin", "id": "a1", "name": "Root"},
]
USERS: list[Record] = [
    {"__typename": "User", "id": "u1", "name": "Ada", "similarAccounts": SIMILAR},
    {"__typename": "User", "id": "u2", "name": "Bo", "similarAccounts": []},
]


def _no_nickname(user: Record, _info: Any) -> str:
    raise ValueError(f"{user['id']} has no nickname")


def edges_specs() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("edges")
    users = copy.deepcopy(USERS)
    book = {"__typename": "Book", "id": "b1", "title": "Dune"}
    people = [
        {"__typename": "Person", "id": "p1", "name": "Ada", "badge": "gold"},
        {"__typename": "Person", "id": "p2", "name": "Bo", "badge": "blue"},
    ]
    member = FederatedInterfaceType("Member")

    @member.reference_resolver
    def as_member(_obj: Any, _info: Any, representation: Record) -> Record:
        """A Member's reference tells its type and the interface's own fields, not the implementation's."""
        person = next(p for p in people if p["id"] == representation["id"])
        return {"__typename": "Person", "id": person["id"], "name": person["name"]}

    person_type = FederatedObjectType("Person")  # (ariadne would give Person the interface's resolver)

    @person_type.reference_resolver
    def as_person(_obj: Any, _info: Any, representation: Record) -> Record:
        return next(p for p in people if p["id"] == representation["id"])

    return [
        SubgraphSpec(
            "shelf",
            sdls["shelf"],
            data={"Book": [book], "Person": people},
            resolvers=[member, person_type],
            root={"book": book, "users": [{"id": u["id"]} for u in users]},
        ),
        SubgraphSpec(
            "accounts",
            sdls["accounts"],
            data={"User": users, "Book": [{"id": "b1"}], "Member": [{"id": "p1"}, {"id": "p2"}]},
            root={
                "book": {"__typename": "Book", "id": "b1"},
                "User.nickname": _no_nickname,
                "members": [{"id": "p1"}, {"id": "p2"}],
                "Member.handle": lambda member, _info: "@" + member["name"].lower(),
                "accounts": [
                    *users,
                    {"__typename": "Admin", "id": "a1", "name": "Root", "similarAccounts": []},
                ],
            },
        ),
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
        "data": {"book": {"t1": "Book", "title": "Dune"}}
    }


def test_fields_aliased_apart_inside_an_entity_fetch_come_back_under_their_keys(edges: GatewayRun) -> None:
    query = "{ users { similarAccounts { ... on Admin { name id } ... on User { id name } } } }"
    assert "_t_id_Admin: id" in edges.plan(query)  # the conflict is in the accounts entity fetch
    expected: dict[str, Any] = {
        "data": {
            "users": [
                {"similarAccounts": [{"id": "u2", "name": "Bo"}, {"name": "Root", "id": "a1"}]},
                {"similarAccounts": []},
            ]
        }
    }
    assert edges.query(query).json == expected
    aliased = edges.query(
        "{ a1: users { similarAccounts { ... on Admin { name id } ... on User { id name } } } }"
    )
    assert aliased.json == {"data": {"a1": expected["data"]["users"]}}
    # the same selection under a root fetch
    assert edges.query(
        "{ accounts { ... on User { similarAccounts { ... on Admin { id } ... on User { id } } } } }"
    ).json["data"]["accounts"][0] == {"similarAccounts": [{"id": "u2"}, {"id": "a1"}]}


def test_sibling_paths_of_one_type_keep_their_own_fields(edges: GatewayRun) -> None:
    """`users` and `a1: users` both need accounts for their User objects, each something else under the key `x`:
    one fetch for both would write `x: name` over `users.x` (the id). Each path gets its own fetch."""
    query = "{ users { x: id name } a1: users { x: name } }"
    assert edges.plan(query).count('Fetch(service: "accounts")') == 2
    assert edges.query(query).json == {
        "data": {
            "users": [{"x": "u1", "name": "Ada"}, {"x": "u2", "name": "Bo"}],
            "a1": [{"x": "Ada"}, {"x": "Bo"}],
        }
    }


def test_a_client_alias_named_like_an_internal_key_is_the_clients(edges: GatewayRun) -> None:
    """The planner's own keys (`_t_...`) are chosen apart from every key the client wrote: a client alias that
    looks like one keeps its value and its error paths."""
    query = "{ accounts { ... on Admin { _t_id_Admin: name id } ... on User { id } } }"
    assert "_t_id_Admin_: id" in edges.plan(query)
    assert edges.query(query).json == {
        "data": {"accounts": [{"id": "u1"}, {"id": "u2"}, {"_t_id_Admin": "Root", "id": "a1"}]}
    }
    nested = edges.query("{ users { _t_n: nickname } }").json
    assert nested["data"] == {"users": [{"_t_n": None}, {"_t_n": None}]}
    assert [e["path"] for e in nested["errors"]] == [["users", 0, "_t_n"], ["users", 1, "_t_n"]]
    root = edges.query("{ _t_x: accounts { ... on User { nickname } } }").json
    assert [e["path"] for e in root["errors"]] == [["_t_x", 0, "nickname"], ["_t_x", 1, "nickname"]]


def test_an_interface_object_is_sent_its_interface_name_after_the_type_was_asked(edges: GatewayRun) -> None:
    """accounts sees Member as an @interfaceObject: a representation sent there names `Member`, even once the
    client's `__typename` (read from shelf) has told the object's own type, Person."""
    expected = [{"__typename": "Person", "handle": "@ada"}, {"__typename": "Person", "handle": "@bo"}]
    assert edges.query("{ members { __typename handle } }").json == {"data": {"members": expected}}
    assert edges.query("{ members { handle } }").json == {
        "data": {"members": [{"handle": "@ada"}, {"handle": "@bo"}]}
    }
    sent = [r.representations for r in entity_requests(edges.subgraphs["accounts"])]
    assert {rep["__typename"] for reps in sent for rep in reps} == {"Member"}


def test_fields_of_an_implementation_behind_an_interface_object_come_from_its_own_entities(
    edges: GatewayRun,
) -> None:
    """members come from accounts, where Member is an @interfaceObject. shelf's Member reference resolver tells
    the type only; `badge` of a Person is resolved from Person entities, asked once the type is known."""
    expected = [{"__typename": "Person", "badge": "gold"}, {"__typename": "Person", "badge": "blue"}]
    response = edges.query("{ members { __typename ... on Person { badge } } }")
    assert response.json == {"data": {"members": expected}}
    sent = [
        sorted({rep["__typename"] for rep in r.representations})
        for r in entity_requests(edges.subgraphs["shelf"])
    ]
    assert sent == [["Member"], ["Person"]]  # the type first, then the type's fields
