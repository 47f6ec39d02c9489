"""Errors through the gateway: subgraph errors at client paths, null propagation, failing subgraphs,
timeouts, introspection, and the GraphQL-over-HTTP statuses.

Mostly over the marketplace system (accounts, catalog, orders; see test_gateway_entities).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from graphql import GraphQLError

from test_gateway_support import (
    MARKET_ORDERS,
    GatewayRun,
    Record,
    RunSubgraphs,
    ServeAsgi,
    fail,
    http,
    marketplace_specs,
    start_gateway,
    tasks_world,
)

ACCOUNTS = {"serviceName": "accounts"}


def nickname_failing_for(*ids: str) -> Any:
    def resolve(user: Record, _info: Any) -> str | None:
        if user["id"] in ids:
            raise ValueError(f"nickname of {user['id']} unavailable")
        value: str | None = user["nickname"]
        return value

    return resolve


@pytest.fixture
def market(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> GatewayRun:
    return start_gateway(serve_asgi, "marketplace", run_subgraphs(marketplace_specs()))


def market_with(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi, **options: Any) -> GatewayRun:
    gateway_options = {k: options.pop(k) for k in ("timeout", "timeouts", "introspection") if k in options}
    return start_gateway(
        serve_asgi, "marketplace", run_subgraphs(marketplace_specs(**options)), **gateway_options
    )


# -- subgraph errors at client paths ----------------------------------------------------------------------------


def test_root_fetch_error_keeps_its_path(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market_with(run_subgraphs, serve_asgi, root={"orders": {"order": fail("order store offline")}})
    response = running.query('{ order(id: "o1") { id } users { id } }')
    assert response.json == {
        "data": {"order": None, "users": [{"id": "u1"}, {"id": "u2"}, {"id": "u3"}]},
        "errors": [
            {"message": "order store offline", "path": ["order"], "extensions": {"serviceName": "orders"}}
        ],
    }


def test_entity_error_mapped_to_the_client_path(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market_with(
        run_subgraphs, serve_asgi, root={"accounts": {"User.nickname": nickname_failing_for("u1")}}
    )
    response = running.query('{ order(id: "o1") { id buyer { name nickname } } }')
    assert response.json == {
        "data": {"order": {"id": "o1", "buyer": {"name": "Ada Lovelace", "nickname": None}}},
        "errors": [
            {
                "message": "nickname of u1 unavailable",
                "path": ["order", "buyer", "nickname"],
                "extensions": ACCOUNTS,
            }
        ],
    }


def test_subgraph_error_extensions_are_kept(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    def nickname(_user: Record, _info: Any) -> str:
        raise GraphQLError("not allowed", extensions={"code": "FORBIDDEN", "scope": "nickname"})

    running = market_with(run_subgraphs, serve_asgi, root={"accounts": {"User.nickname": nickname}})
    response = running.query('{ order(id: "o4") { buyer { nickname } } }')
    assert response.json == {
        "data": {"order": {"buyer": {"nickname": None}}},
        "errors": [
            {
                "message": "not allowed",
                "path": ["order", "buyer", "nickname"],
                "extensions": {"code": "FORBIDDEN", "scope": "nickname", "serviceName": "accounts"},
            }
        ],
    }


def test_entity_error_inside_lists(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market_with(
        run_subgraphs, serve_asgi, root={"accounts": {"User.nickname": nickname_failing_for("u2")}}
    )
    response = running.query("{ orders { id buyer { nickname } } }")
    assert response.json == {
        "data": {
            "orders": [
                {"id": "o1", "buyer": {"nickname": "countess"}},
                {"id": "o2", "buyer": None},
                {"id": "o3", "buyer": {"nickname": "countess"}},
                {"id": "o4", "buyer": {"nickname": None}},
            ]
        },
        "errors": [
            {
                "message": "nickname of u2 unavailable",
                "path": ["orders", 3, "buyer", "nickname"],
                "extensions": ACCOUNTS,
            }
        ],
    }


def test_entity_error_under_aliases(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market_with(
        run_subgraphs, serve_asgi, root={"accounts": {"User.nickname": nickname_failing_for("u2")}}
    )
    response = running.query('{ o: order(id: "o4") { b: buyer { n: nickname name } } all: orders { id } }')
    assert response.json == {
        "data": {
            "o": {"b": {"n": None, "name": "Alan Turing"}},
            "all": [{"id": "o1"}, {"id": "o2"}, {"id": "o3"}, {"id": "o4"}],
        },
        "errors": [
            {"message": "nickname of u2 unavailable", "path": ["o", "b", "n"], "extensions": ACCOUNTS}
        ],
    }


def test_entity_error_deep_in_nested_lists(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    def stock(variant: Record, _info: Any) -> int | None:
        if variant["color"] == "blue":
            raise ValueError("stock count failed")
        value: int = variant["stock"]
        return value

    running = market_with(run_subgraphs, serve_asgi, root={"catalog": {"Variant.stock": stock}})
    response = running.query("{ users { orders { lines { variant { color product { title } } } } } }")
    assert response.status == 200
    # `stock` not asked: no error at all
    assert "errors" not in response.json
    response = running.query('{ user(id: "u1") { orders { id lines { variant { color } } } } orders { id } }')
    assert "errors" not in response.json
    # nullable parent: Order is non-null in the list, lines non-null... up to the nullable root field `user`
    response = running.query('{ user(id: "u1") { orders { id lines { variant { stock } } } } orders { id } }')
    assert response.json == {
        "data": {"user": None, "orders": [{"id": "o1"}, {"id": "o2"}, {"id": "o3"}, {"id": "o4"}]},
        "errors": [
            {
                "message": "stock count failed",
                "path": ["user", "orders", 1, "lines", 0, "variant", "stock"],
                "extensions": {"serviceName": "catalog"},
            }
        ],
    }


def test_error_in_a_deduplicated_entity_is_reported_at_every_path(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    """o1 and o3 share their buyer (one representation): both nulled nicknames need an error."""
    running = market_with(
        run_subgraphs, serve_asgi, root={"accounts": {"User.nickname": nickname_failing_for("u1")}}
    )
    response = running.query("{ orders { buyer { nickname } } }")
    assert response.json["data"] == {
        "orders": [
            {"buyer": {"nickname": None}},
            {"buyer": None},
            {"buyer": {"nickname": None}},
            {"buyer": {"nickname": None}},
        ]
    }
    assert sorted(e["path"] for e in response.json["errors"]) == [
        ["orders", 0, "buyer", "nickname"],
        ["orders", 2, "buyer", "nickname"],
    ]


# -- non-null violations ---------------------------------------------------------------------------------------------


def test_non_null_error_nulls_the_nearest_nullable_parent(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    def name(user: Record, _info: Any) -> str:
        if user["id"] == "u2":
            raise ValueError("name is secret")
        value: str = user["name"]
        return value

    running = market_with(run_subgraphs, serve_asgi, root={"accounts": {"User.name": name}})
    response = running.query("{ orders { id buyer { id name } } }")
    assert response.json == {
        "data": {
            "orders": [
                {"id": "o1", "buyer": {"id": "u1", "name": "Ada Lovelace"}},
                {"id": "o2", "buyer": None},
                {"id": "o3", "buyer": {"id": "u1", "name": "Ada Lovelace"}},
                {"id": "o4", "buyer": None},
            ]
        },
        "errors": [
            {"message": "name is secret", "path": ["orders", 3, "buyer", "name"], "extensions": ACCOUNTS}
        ],
    }


def test_non_null_error_through_several_non_null_levels(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    """stock! -> variant! -> [OrderLine!]! -> lines! -> order (nullable): the order is null."""
    running = market_with(
        run_subgraphs, serve_asgi, root={"catalog": {"Variant.stock": fail("stock count failed")}}
    )
    response = running.query('{ order(id: "o3") { id lines { variant { stock } } } }')
    assert response.json == {
        "data": {"order": None},
        "errors": [
            {
                "message": "stock count failed",
                "path": ["order", "lines", 0, "variant", "stock"],
                "extensions": {"serviceName": "catalog"},
            }
        ],
    }


def test_non_null_error_up_to_the_root(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    """orders: [Order!]! is non-null all the way: data itself is null."""
    running = market_with(
        run_subgraphs, serve_asgi, root={"catalog": {"Variant.stock": fail("stock count failed")}}
    )
    response = running.query("{ orders { lines { variant { stock } } } }")
    # four different variants, each with its error; no extra error for the nulls they cause
    assert response.json == {
        "data": None,
        "errors": [
            {
                "message": "stock count failed",
                "path": ["orders", o, "lines", n, "variant", "stock"],
                "extensions": {"serviceName": "catalog"},
            }
            for o, n in ((0, 0), (0, 1), (1, 0), (2, 0))
        ],
    }


def test_missing_entity_is_a_non_null_violation(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    """The buyer u9 does not exist in accounts: `_entities` answers null, User.name is non-null."""
    orders = [{**MARKET_ORDERS[3], "id": "o9", "buyer": {"id": "u9"}}]
    running = market_with(run_subgraphs, serve_asgi, orders=orders)
    response = running.query('{ order(id: "o9") { id buyer { name } } }')
    assert response.json == {
        "data": {"order": {"id": "o9", "buyer": None}},
        "errors": [
            {
                "message": "Cannot return null for non-nullable field User.name.",
                "path": ["order", "buyer", "name"],
            }
        ],
    }


def test_missing_entity_with_only_nullable_fields(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    orders = [{**MARKET_ORDERS[3], "id": "o9", "buyer": {"id": "u9"}}]
    running = market_with(run_subgraphs, serve_asgi, orders=orders)
    response = running.query('{ order(id: "o9") { buyer { id nickname } } }')
    assert response.json == {"data": {"order": {"buyer": {"id": "u9", "nickname": None}}}}


# -- failing subgraphs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "message", "code"),
    [
        ("error500", 'Subgraph "accounts" answered HTTP 500.', "SUBREQUEST_HTTP_ERROR"),
        (
            "garbage",
            'Subgraph "accounts" answered with a body that is not a GraphQL response.',
            "SUBREQUEST_MALFORMED_RESPONSE",
        ),
    ],
)
def test_partial_data_when_an_entity_subgraph_fails(
    market: GatewayRun, mode: str, message: str, code: str
) -> None:
    market.subgraphs["accounts"].set_mode(mode)  # type: ignore[arg-type]
    response = market.query("{ orders { id buyer { name } lines { quantity } } }")
    assert response.status == 200
    assert response.json == {
        "data": {
            "orders": [
                {"id": "o1", "buyer": None, "lines": [{"quantity": 2}, {"quantity": 1}]},
                {"id": "o2", "buyer": None, "lines": [{"quantity": 1}]},
                {"id": "o3", "buyer": None, "lines": [{"quantity": 1}]},
                {"id": "o4", "buyer": None, "lines": []},
            ]
        },
        "errors": [{"message": message, "extensions": {"code": code, "serviceName": "accounts"}}],
    }


def test_partial_data_when_a_root_subgraph_fails(market: GatewayRun) -> None:
    market.subgraphs["catalog"].set_mode("error500")
    response = market.query('{ orders { id } product(sku: "p1", vendor: "acme") { title } }')
    assert response.json == {
        "data": {"orders": [{"id": "o1"}, {"id": "o2"}, {"id": "o3"}, {"id": "o4"}], "product": None},
        "errors": [
            {
                "message": 'Subgraph "catalog" answered HTTP 500.',
                "extensions": {"code": "SUBREQUEST_HTTP_ERROR", "serviceName": "catalog"},
            }
        ],
    }


def test_failing_root_subgraph_for_a_non_null_root_field(market: GatewayRun) -> None:
    market.subgraphs["catalog"].set_mode("garbage")
    response = market.query("{ orders { id } products { title } }")
    assert response.json == {
        "data": None,
        "errors": [
            {
                "message": 'Subgraph "catalog" answered with a body that is not a GraphQL response.',
                "extensions": {"code": "SUBREQUEST_MALFORMED_RESPONSE", "serviceName": "catalog"},
            }
        ],
    }


def test_subgraph_answering_data_null_with_an_error(market: GatewayRun) -> None:
    market.subgraphs["catalog"].set_mode("graphql_error")
    response = market.query('{ order(id: "o4") { id } product(sku: "p1", vendor: "acme") { title } }')
    assert response.json == {
        "data": {"order": {"id": "o4"}, "product": None},
        "errors": [
            {
                "message": "subgraph catalog failed (injected graphql_error)",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "serviceName": "catalog"},
            }
        ],
    }


def test_one_failed_request_does_not_stick(market: GatewayRun) -> None:
    market.subgraphs["accounts"].set_mode("error500", times=1)
    assert market.query('{ order(id: "o4") { buyer { name } } }').json["data"] == {"order": {"buyer": None}}
    assert market.query('{ order(id: "o4") { buyer { name } } }').json == {
        "data": {"order": {"buyer": {"name": "Alan Turing"}}}
    }


def test_unreachable_subgraph(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    subgraphs["accounts"].stop()
    running = start_gateway(serve_asgi, "marketplace", subgraphs)
    response = running.query('{ order(id: "o1") { id buyer { name } } }')
    body = response.json
    assert body["data"] == {"order": {"id": "o1", "buyer": None}}
    [error] = body["errors"]
    assert error["message"].startswith('Subgraph "accounts" could not be reached')
    assert error["extensions"] == {"code": "SUBREQUEST_HTTP_ERROR", "serviceName": "accounts"}


def test_per_subgraph_timeout(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market_with(run_subgraphs, serve_asgi, timeout=30.0, timeouts={"accounts": 0.3})
    running.subgraphs["accounts"].set_mode("hang")
    started = time.monotonic()
    response = running.query('{ order(id: "o1") { id buyer { name } } }')
    elapsed = time.monotonic() - started
    assert response.json == {
        "data": {"order": {"id": "o1", "buyer": None}},
        "errors": [
            {
                "message": 'Subgraph "accounts" did not answer within 0.3s.',
                "extensions": {"code": "SUBREQUEST_TIMEOUT", "serviceName": "accounts"},
            }
        ],
    }
    assert 0.3 <= elapsed < 2.0
    # the other subgraphs keep the default (30 s): a slow but not hanging one still answers
    running.subgraphs["accounts"].set_mode("ok")
    running.subgraphs["orders"].delay = 0.5
    response = running.query('{ order(id: "o4") { id } }')
    assert response.json == {"data": {"order": {"id": "o4"}}}


# -- introspection ------------------------------------------------------------------------------------------------------


def test_introspection(market: GatewayRun) -> None:
    response = market.query("{ __schema { queryType { name } mutationType { name } } }")
    assert response.json == {"data": {"__schema": {"queryType": {"name": "Query"}, "mutationType": None}}}
    response = market.query('{ __type(name: "Query") { fields { name } } }')
    assert response.json == {
        "data": {
            "__type": {
                "fields": [{"name": n} for n in ("users", "user", "products", "product", "orders", "order")]
            }
        }
    }
    machinery = market.query(
        '{ a: __type(name: "join__Graph") { name } b: __type(name: "_Entity") { name } }'
    )
    assert machinery.json == {"data": {"a": None, "b": None}}
    assert market.calls() == {"accounts": 0, "catalog": 0, "orders": 0}


def test_introspection_next_to_data(market: GatewayRun) -> None:
    response = market.query('{ order(id: "o4") { id __typename } __type(name: "Order") { name kind } }')
    assert response.json == {
        "data": {"order": {"id": "o4", "__typename": "Order"}, "__type": {"name": "Order", "kind": "OBJECT"}}
    }


def test_introspection_disabled(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market_with(run_subgraphs, serve_asgi, introspection=False)
    response = running.query("{ __schema { types { name } } }")
    assert response.status == 200
    body = response.json
    assert "data" not in body
    # one error per introspection query, not one per field below it
    assert [e["message"] for e in body["errors"]] == [
        "GraphQL introspection has been disabled, but the requested query contained the field '__schema'.",
    ]
    both = running.query('{ __schema { types { name } } __type(name: "User") { fields { type { name } } } }')
    assert [e["message"] for e in both.json["errors"]] == [
        "GraphQL introspection has been disabled, but the requested query contained the field '__schema'.",
        "GraphQL introspection has been disabled, but the requested query contained the field '__type'.",
    ]
    response = running.query('{ __type(name: "User") { name } }')
    assert [e["message"] for e in response.json["errors"]] == [
        "GraphQL introspection has been disabled, but the requested query contained the field '__type'."
    ]
    # __typename is not introspection
    assert running.query("{ __typename }").json == {"data": {"__typename": "Query"}}
    assert running.calls() == {"accounts": 0, "catalog": 0, "orders": 0}


def test_introspection_in_fragments(market: GatewayRun) -> None:
    query = """
    { ...Schema ... on Query { t: __type(name: "Order") { name } } order(id: "o4") { id } }
    fragment Schema on Query { __schema { queryType { name } } }
    """
    response = market.query(query)
    assert response.json == {
        "data": {"__schema": {"queryType": {"name": "Query"}}, "t": {"name": "Order"}, "order": {"id": "o4"}}
    }


# -- GraphQL over HTTP -------------------------------------------------------------------------------------------------

JSON_TYPE = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def post(
    running: GatewayRun, body: bytes, accept: str = JSON_TYPE, content_type: str = JSON_TYPE
) -> tuple[int, dict[str, str], Any]:
    status, headers, text = http(
        "POST", running.url, body=body, headers={"content-type": content_type, "accept": accept}
    )
    return status, headers, json.loads(text)


def test_malformed_json_is_400(market: GatewayRun) -> None:
    for accept in (JSON_TYPE, GRAPHQL_RESPONSE):
        status, headers, body = post(market, b'{"query": "{ orders { id } }"', accept)
        assert status == 400
        assert headers["content-type"].startswith(accept)
        assert set(body) == {"errors"} and body["errors"][0]["message"]
    assert market.calls() == {"accounts": 0, "catalog": 0, "orders": 0}


@pytest.mark.parametrize("payload", [{}, {"query": ""}, {"query": None}, {"variables": {"a": 1}}, [1, 2]])
def test_missing_query_is_400(market: GatewayRun, payload: Any) -> None:
    status, _headers, body = post(market, json.dumps(payload).encode())
    assert status == 400
    assert set(body) == {"errors"}


def test_bad_variables_type_is_400(market: GatewayRun) -> None:
    status, _headers, body = post(
        market, json.dumps({"query": "{ orders { id } }", "variables": [1]}).encode()
    )
    assert status == 400
    assert set(body) == {"errors"}


def test_validation_error_status_depends_on_the_media_type(market: GatewayRun) -> None:
    payload = json.dumps({"query": "{ orders { id nope } }"}).encode()
    status, headers, body = post(market, payload, JSON_TYPE)
    assert status == 200
    assert headers["content-type"].startswith(JSON_TYPE)
    assert set(body) == {"errors"}
    assert body["errors"][0]["message"] == "Cannot query field 'nope' on type 'Order'."
    status, headers, body = post(market, payload, GRAPHQL_RESPONSE)
    assert status == 400
    assert headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert set(body) == {"errors"}
    assert market.calls() == {"accounts": 0, "catalog": 0, "orders": 0}


def test_syntax_error_status_depends_on_the_media_type(market: GatewayRun) -> None:
    payload = json.dumps({"query": "{ orders { id "}).encode()
    status, _headers, body = post(market, payload, JSON_TYPE)
    assert (status, set(body)) == (200, {"errors"})
    assert body["errors"][0]["message"].startswith("Syntax Error")
    status, _headers, body = post(market, payload, GRAPHQL_RESPONSE)
    assert (status, set(body)) == (400, {"errors"})


def test_field_errors_are_200_for_both_media_types(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    running = market_with(run_subgraphs, serve_asgi, root={"orders": {"order": fail("nope")}})
    payload = json.dumps({"query": '{ order(id: "o1") { id } }'}).encode()
    for accept in (JSON_TYPE, GRAPHQL_RESPONSE):
        status, headers, body = post(running, payload, accept)
        assert status == 200
        assert headers["content-type"].startswith(accept)
        assert body["data"] == {"order": None}


def test_other_request_shapes(market: GatewayRun) -> None:
    status, _h, text = http(
        "POST",
        market.url,
        body=b'{ order(id: "o4") { id } }',
        headers={"content-type": "application/graphql"},
    )
    assert (status, json.loads(text)) == (200, {"data": {"order": {"id": "o4"}}})
    status, _h, text = http(
        "POST", market.url, body=b'{"query": "{ __typename }"}', headers={"content-type": "text/plain"}
    )
    assert status == 415
    assert set(json.loads(text)) == {"errors"}
    assert "application/graphql" in json.loads(text)["errors"][0]["message"]  # every type it takes is named
    status, headers, _text = http("HEAD", market.url)
    assert status == 405
    assert headers["allow"] == "GET, POST"
    status, headers, _text = http("PUT", market.url, body=b"{}", headers={"content-type": "application/json"})
    assert status == 405 and {"GET", "POST"} <= set(headers["allow"].replace(" ", "").split(","))
    status, _h, text = http("GET", market.url, params={"query": "{ __typename }", "variables": "{bad"})
    assert status == 400
    assert set(json.loads(text)) == {"errors"}


def test_operation_selection_errors(market: GatewayRun) -> None:
    document = "query A { orders { id } } query B { users { id } }"
    for name, message in (
        (None, "Must provide operation name if query contains multiple operations."),
        ("C", 'Unknown operation named "C".'),
    ):
        payload = {"query": document} if name is None else {"query": document, "operationName": name}
        status, _headers, body = post(market, json.dumps(payload).encode())
        assert (status, body) == (200, {"errors": [{"message": message}]})
        status, _headers, body = post(market, json.dumps(payload).encode(), GRAPHQL_RESPONSE)
        assert (status, body) == (400, {"errors": [{"message": message}]})
    status, _headers, body = post(market, json.dumps({"query": document, "operationName": "B"}).encode())
    assert (status, body) == (200, {"data": {"users": [{"id": "u1"}, {"id": "u2"}, {"id": "u3"}]}})
    assert market.calls() == {"accounts": 1, "catalog": 0, "orders": 0}


def test_get_query_works(market: GatewayRun) -> None:
    params = {
        "query": "query($id: ID!) { order(id: $id) { id buyer { name } } }",
        "variables": '{"id": "o4"}',
    }
    status, headers, text = http("GET", market.url, params=params, headers={"accept": JSON_TYPE})
    assert status == 200
    assert headers["content-type"].startswith(JSON_TYPE)
    assert json.loads(text) == {"data": {"order": {"id": "o4", "buyer": {"name": "Alan Turing"}}}}


def test_get_with_a_mutation_is_405(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    world = tasks_world()
    running = start_gateway(serve_asgi, "tasks", run_subgraphs(world.specs))
    params = {"query": 'mutation { completeTask(id: "t1") { done } }'}
    for accept in (JSON_TYPE, GRAPHQL_RESPONSE):
        status, headers, text = http("GET", running.url, params=params, headers={"accept": accept})
        assert status == 405
        assert headers["allow"] == "POST"
        assert set(json.loads(text)) == {"errors"}
    assert world.log == []
    assert running.calls() == {"people": 0, "tasks": 0}
    # the same mutation over POST runs
    assert running.query(params["query"]).json == {"data": {"completeTask": {"done": True}}}
    assert world.log == [("completeTask", "t1")]


def test_get_with_a_mutation_among_queries_selects_by_name(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    running = start_gateway(serve_asgi, "tasks", run_subgraphs(tasks_world().specs))
    document = 'query Q { task(id: "t1") { done } } mutation M { completeTask(id: "t1") { done } }'
    status, _h, text = http("GET", running.url, params={"query": document, "operationName": "Q"})
    assert (status, json.loads(text)) == (200, {"data": {"task": {"done": False}}})
    status, _h, text = http("GET", running.url, params={"query": document, "operationName": "M"})
    assert status == 405
