"""Tests of the subgraph harness itself, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, cast

import aiohttp
import pytest
from ariadne import QueryType
from ariadne.contrib.federation import FederatedInterfaceType, FederatedObjectType
from graphql import GraphQLResolveInfo
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from support.client import fetch_entities, graphql_request, post_graphql
from support.servers import RunningSubgraph, ServerThread, run_subgraphs, serve_asgi
from support.subgraph import SubgraphSpec, build_subgraph_schema, executable_sdl
from support.waiting import eventually

ACCOUNTS_SDL = """
extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.3",
        import: ["@key", "@shareable", "@external", "@requires", "@provides", "@override",
                 "@inaccessible", "@tag", "@interfaceObject"])

type Query {
  me: User
  users: [User!]!
}

type User @key(fields: "id") {
  id: ID!
  name: String! @shareable
  email: String @inaccessible @tag(name: "pii")
  weight: Int @external
  shippingCost: Int @requires(fields: "weight")
}
"""

USERS: list[dict[str, Any]] = [
    {"id": "1", "name": "Ada", "email": "ada@example.com"},
    {"id": "2", "name": "Alan", "email": "alan@example.com"},
    {"id": 3, "name": "Grace"},  # an int id still matches the string the gateway sends
]


def accounts_spec(**overrides: Any) -> SubgraphSpec:
    def shipping_cost(user: dict[str, Any], _info: GraphQLResolveInfo) -> int | None:
        return None if user.get("weight") is None else user["weight"] * 2

    options: dict[str, Any] = {
        "data": {"User": USERS},
        "root": {"me": lambda *_: USERS[0], "users": USERS, "User.shippingCost": shipping_cost},
    }
    options.update(overrides)
    return SubgraphSpec("accounts", ACCOUNTS_SDL, **options)


@pytest.fixture
def accounts(run_subgraphs: Any) -> RunningSubgraph:
    running: RunningSubgraph = run_subgraphs(accounts_spec())["accounts"]
    return running


# -- entities ------------------------------------------------------------------


def test_entities_resolve_records_by_key(accounts: RunningSubgraph) -> None:
    response = fetch_entities(
        accounts.url,
        [
            {"__typename": "User", "id": "2"},
            {"__typename": "User", "id": "404"},
            {"__typename": "User", "id": "3"},
        ],
        "__typename ... on User { id name }",
    )
    assert response.status == 200
    assert response.json == {
        "data": {
            "_entities": [
                {"__typename": "User", "id": "2", "name": "Alan"},
                None,
                {"__typename": "User", "id": "3", "name": "Grace"},
            ]
        }
    }


def test_representation_fields_reach_field_resolvers(accounts: RunningSubgraph) -> None:
    response = fetch_entities(
        accounts.url,
        [{"__typename": "User", "id": "1", "weight": 21}],
        "... on User { name shippingCost }",
    )
    assert response.data == {"_entities": [{"name": "Ada", "shippingCost": 42}]}
    assert "weight" not in USERS[0]  # the record itself is not modified


def test_root_fields_and_service_sdl(accounts: RunningSubgraph) -> None:
    response = graphql_request(accounts.url, "{ me { id name } users { id } _service { sdl } }")
    assert response.status == 200
    data = response.data
    assert data["me"] == {"id": "1", "name": "Ada"}
    assert [u["id"] for u in data["users"]] == ["1", "2", "3"]
    assert data["_service"]["sdl"] == ACCOUNTS_SDL


def test_requests_are_recorded(accounts: RunningSubgraph) -> None:
    query = "query Me($x: Int) { me { id } }"
    graphql_request(accounts.url, query, {"x": 1}, operation_name="Me", headers={"X-Trace": "abc"})
    fetch_entities(accounts.url, [{"__typename": "User", "id": "1"}], "... on User { name }")

    first, second = accounts.requests
    assert (first.query, first.variables, first.operation_name) == (query, {"x": 1}, "Me")
    assert first.headers["x-trace"] == "abc"
    assert first.method == "POST" and first.path == "/graphql"
    assert not first.is_entities
    assert second.is_entities
    assert second.representations == [{"__typename": "User", "id": "1"}]

    accounts.reset()
    assert accounts.requests == []


def test_user_reference_resolvers_take_precedence(run_subgraphs: Any) -> None:
    user = FederatedObjectType("User")
    calls: list[dict[str, Any]] = []

    @user.reference_resolver
    async def resolve_user(
        _: Any, _info: GraphQLResolveInfo, representation: dict[str, Any]
    ) -> dict[str, Any]:
        calls.append(representation)
        return {"id": representation["id"], "name": f"user {representation['id']}"}

    running = run_subgraphs(accounts_spec(resolvers=[user]))["accounts"]
    response = fetch_entities(
        running.url, [{"__typename": "User", "id": "7"}], "__typename ... on User { name }"
    )
    assert response.data == {"_entities": [{"__typename": "User", "name": "user 7"}]}
    assert calls == [{"__typename": "User", "id": "7"}]


def test_query_type_bindable_and_stub_entities(run_subgraphs: Any) -> None:
    """A subgraph that only extends User (no records) gets the representation back as the entity."""
    sdl = """
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    type Query { reviewCount: Int! }
    type User @key(fields: "id") { id: ID! reviews: [Review!]! }
    type Review { id: ID! body: String! }
    """
    reviews = [{"id": "r1", "body": "fine", "author": "1"}, {"id": "r2", "body": "meh", "author": "2"}]
    query = QueryType()
    query.set_field("reviewCount", lambda *_: len(reviews))
    spec = SubgraphSpec(
        "reviews",
        sdl,
        data={"Review": reviews},
        resolvers=[query],
        root={"User.reviews": lambda user, _info: [r for r in reviews if r["author"] == user["id"]]},
    )
    running = run_subgraphs(spec)["reviews"]
    assert graphql_request(running.url, "{ reviewCount }").data == {"reviewCount": 2}
    response = fetch_entities(
        running.url, [{"__typename": "User", "id": "2"}], "... on User { id reviews { body } }"
    )
    assert response.data == {"_entities": [{"id": "2", "reviews": [{"body": "meh"}]}]}


def test_compound_nested_and_alternative_keys(run_subgraphs: Any) -> None:
    sdl = """
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    type Query { all: [Variant!]! }
    type Variant @key(fields: "sku shop { id }") @key(fields: "uuid") {
      sku: String! shop: Shop! uuid: ID! color: String
    }
    type Shop { id: ID! name: String }
    """
    variants = [
        {"sku": "A", "shop": {"id": "s1", "name": "North"}, "uuid": "u1", "color": "red"},
        {"sku": "A", "shop": {"id": "s2", "name": "South"}, "uuid": "u2", "color": "blue"},
    ]
    running = run_subgraphs(SubgraphSpec("catalog", sdl, data={"Variant": variants}))["catalog"]
    response = fetch_entities(
        running.url,
        [
            {"__typename": "Variant", "sku": "A", "shop": {"id": "s2"}},
            {"__typename": "Variant", "uuid": "u1"},
            {"__typename": "Variant", "sku": "A", "shop": {"id": "s3"}},
        ],
        "... on Variant { color shop { name } }",
    )
    assert response.data == {
        "_entities": [
            {"color": "blue", "shop": {"name": "South"}},
            {"color": "red", "shop": {"name": "North"}},
            None,
        ]
    }


MEDIA_SDL = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Query { media: [Media!]! }
interface Media @key(fields: "id") { id: ID! title: String! }
type Book implements Media @key(fields: "id") { id: ID! title: String! pages: Int! }
type Movie implements Media @key(fields: "id") { id: ID! title: String! minutes: Int! }
"""

MEDIA_DATA: dict[str, list[dict[str, Any]]] = {
    "Book": [{"id": "b1", "title": "Dune", "pages": 412}],
    "Movie": [{"id": "m1", "title": "Alien", "minutes": 117}],
}


def test_entity_interface_resolves_to_concrete_type(run_subgraphs: Any) -> None:
    """ariadne rejects ``_entities`` for an interface typename; the harness resolves it."""
    media = [{"__typename": t, **r} for t, rs in MEDIA_DATA.items() for r in rs]
    running = run_subgraphs(SubgraphSpec("media", MEDIA_SDL, data=MEDIA_DATA, root={"media": media}))["media"]
    response = fetch_entities(
        running.url,
        [
            {"__typename": "Media", "id": "m1"},
            {"__typename": "Media", "id": "b1"},
            {"__typename": "Book", "id": "b1"},
        ],
        "__typename ... on Media { title } ... on Movie { minutes } ... on Book { pages }",
    )
    assert response.data == {
        "_entities": [
            {"__typename": "Movie", "title": "Alien", "minutes": 117},
            {"__typename": "Book", "title": "Dune", "pages": 412},
            {"__typename": "Book", "title": "Dune", "pages": 412},
        ]
    }
    listed = graphql_request(running.url, "{ media { __typename id } }").data
    assert listed == {"media": [{"__typename": "Book", "id": "b1"}, {"__typename": "Movie", "id": "m1"}]}


def test_interface_reference_resolver_from_ariadne(run_subgraphs: Any) -> None:
    media = FederatedInterfaceType("Media")

    @media.reference_resolver
    def resolve_media(_: Any, _info: GraphQLResolveInfo, representation: dict[str, Any]) -> dict[str, Any]:
        return {"__typename": "Movie", "id": representation["id"], "title": "Any", "minutes": 1}

    running = run_subgraphs(SubgraphSpec("media", MEDIA_SDL, resolvers=[media]))["media"]
    response = fetch_entities(
        running.url, [{"__typename": "Media", "id": "x"}], "__typename ... on Movie { minutes }"
    )
    assert response.data == {"_entities": [{"__typename": "Movie", "minutes": 1}]}


# -- SDLs ariadne cannot take as they are -----------------------------------------------


def test_newer_federation_sdl_is_accepted_and_reported_verbatim(run_subgraphs: Any) -> None:
    """ariadne 1.1 knows no ``@override(label:)`` (2.7), ``@cost`` (2.9) nor a leading ``link/v1.0``."""
    sdl = """
    extend schema
      @link(url: "https://specs.apollo.dev/link/v1.0")
      @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@override", "@cost"])
    type Query { customer(id: ID!): Customer @cost(weight: 3) }
    type Customer @key(fields: "id") {
      id: ID!
      tier: String! @override(from: "monolith", label: "percent(25)")
    }
    """
    assert "label" not in executable_sdl(sdl)
    running = run_subgraphs(
        SubgraphSpec(
            "customers", sdl, data={"Customer": [{"id": "c1", "tier": "gold"}]}, root={"customer": None}
        )
    )["customers"]
    response = graphql_request(running.url, "{ customer(id: 1) { id } _service { sdl } }")
    assert response.data == {"customer": None, "_service": {"sdl": sdl}}
    entity = fetch_entities(running.url, [{"__typename": "Customer", "id": "c1"}], "... on Customer { tier }")
    assert entity.data == {"_entities": [{"tier": "gold"}]}


def test_extend_type_without_definition(run_subgraphs: Any) -> None:
    """``extend type User @key`` with no ``type User`` is valid in a subgraph SDL but not for graphql-core."""
    sdl = """
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external"])
    extend type Query { topReview: Review }
    type Review { id: ID! author: User! }
    extend type User @key(fields: "id") { id: ID! @external reviewCount: Int! }
    """
    review = {"id": "r1", "author": {"id": "1"}}
    running = run_subgraphs(
        SubgraphSpec("reviews", sdl, root={"topReview": review, "User.reviewCount": lambda *_: 1})
    )["reviews"]
    assert graphql_request(running.url, "{ topReview { author { id } } }").data == {
        "topReview": {"author": {"id": "1"}}
    }
    response = fetch_entities(running.url, [{"__typename": "User", "id": "1"}], "... on User { reviewCount }")
    assert response.data == {"_entities": [{"reviewCount": 1}]}


def test_custom_directives_survive() -> None:
    sdl = """
    directive @upper on FIELD_DEFINITION
    type Query { hello: String @upper }
    """
    schema = build_subgraph_schema(SubgraphSpec("plain", sdl))
    assert schema.get_directive("upper") is not None


# -- failure modes -------------------------------------------------------------------------


def test_failure_modes(accounts: RunningSubgraph) -> None:
    query = "{ me { id } }"
    accounts.mode = "error500"
    response = graphql_request(accounts.url, query)
    assert response.status == 500

    accounts.mode = "garbage"
    response = graphql_request(accounts.url, query)
    assert response.status == 200
    with pytest.raises(ValueError):
        _ = response.json

    accounts.mode = "graphql_error"
    response = graphql_request(accounts.url, query)
    assert response.status == 200
    assert response.data is None
    assert response.errors[0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"

    accounts.mode = "ok"
    assert graphql_request(accounts.url, query).data == {"me": {"id": "1"}}
    assert len(accounts.requests) == 4  # failed requests are recorded too


def test_mode_for_a_number_of_requests(accounts: RunningSubgraph) -> None:
    accounts.set_mode("error500", times=2)
    statuses = [graphql_request(accounts.url, "{ me { id } }").status for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert accounts.mode == "ok"


def test_unknown_mode_is_rejected(accounts: RunningSubgraph) -> None:
    with pytest.raises(ValueError):
        accounts.set_mode(cast(Any, "slow"))


def test_hang_until_released(accounts: RunningSubgraph) -> None:
    accounts.mode = "hang"
    with pytest.raises(asyncio.TimeoutError):
        graphql_request(accounts.url, "{ me { id } }", timeout=0.2)

    async def released_later() -> int:
        request = asyncio.ensure_future(post_graphql(accounts.url, "{ me { id } }", timeout=5))
        await eventually(lambda: len(accounts.requests) == 2, 5, describe="the request never arrived")
        assert not request.done()  # arrived, and held
        accounts.mode = "ok"
        return (await request).status

    assert asyncio.run(released_later()) == 200


def test_hanging_request_does_not_block_shutdown() -> None:
    with run_subgraphs([accounts_spec()]) as running:
        accounts = running["accounts"]
        accounts.mode = "hang"

        async def abandoned() -> None:
            async with aiohttp.ClientSession() as session:
                request = asyncio.ensure_future(post_graphql(accounts.url, "{ me { id } }", session=session))
                await eventually(lambda: accounts.requests, 5, describe="the request never arrived")
                accounts.stop()  # the hanging request is answered 503 and the server stops
                response = await request
                assert response.status == 503

        started = time.monotonic()
        asyncio.run(abandoned())
        assert time.monotonic() - started < 2
        assert not accounts.server.running


def test_delay(accounts: RunningSubgraph) -> None:
    accounts.delay = 0.2
    started = time.monotonic()
    graphql_request(accounts.url, "{ me { id } }")
    assert time.monotonic() - started >= 0.2


# -- servers ------------------------------------------------------------------------------


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_serve_any_asgi_app() -> None:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"hello {request.query_params.get('name', '')}")

    app = Starlette(routes=[Route("/hello", hello)])

    async def get(url: str) -> str:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return await response.text()

    with serve_asgi(app) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert asyncio.run(get(server.base_url + "/hello?name=you")) == "hello you"
        port = server.port
    assert not server.running
    assert _port_is_free(port)


def test_server_fixture_and_parallel_start(serve_asgi: Any, run_subgraphs: Any) -> None:
    server: ServerThread = serve_asgi(Starlette())
    assert server.running
    specs = [SubgraphSpec(f"sg{i}", "type Query { n: Int }", root={"n": i}) for i in range(5)]
    started = time.monotonic()
    running = run_subgraphs(specs)
    assert time.monotonic() - started < 5
    assert len({r.url for r in running.values()}) == 5
    assert [graphql_request(running[f"sg{i}"].url, "{ n }").data for i in range(5)] == [
        {"n": i} for i in range(5)
    ]


def test_duplicate_names_are_rejected(run_subgraphs: Any) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        run_subgraphs(accounts_spec(), accounts_spec())
