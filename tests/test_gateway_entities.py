"""Entities across three subgraphs (marketplace: accounts, catalog, orders), through the gateway over HTTP.

accounts owns User (keys ``id`` and ``email``); catalog owns Product (composite key ``sku vendor``) and
Variant (nested key ``product { sku vendor } color``) and knows users by email only, through a
non-resolvable key; orders owns Order, adds ``User.orders`` and knows products and variants by key.
"""

from __future__ import annotations

import pytest

from test_gateway_support import (
    GatewayRun,
    RunSubgraphs,
    ServeAsgi,
    entity_requests,
    marketplace_specs,
    start_gateway,
)


@pytest.fixture
def market(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> GatewayRun:
    return start_gateway(serve_asgi, "marketplace", run_subgraphs(marketplace_specs()))


def test_single_key_jump(market: GatewayRun) -> None:
    response = market.query('{ order(id: "o4") { id buyer { id name } } }')
    assert response.json == {"data": {"order": {"id": "o4", "buyer": {"id": "u2", "name": "Alan Turing"}}}}
    [fetch] = market.requests("accounts")
    assert fetch.representations == [{"__typename": "User", "id": "u2"}]
    assert market.calls() == {"accounts": 1, "catalog": 0, "orders": 1}


def test_multiple_keys_the_key_the_source_knows_is_used(market: GatewayRun) -> None:
    """catalog knows a product's creator by email only: the jump into accounts uses the email key."""
    response = market.query("{ products { title createdBy { name nickname } } }")
    assert response.json == {
        "data": {
            "products": [
                {"title": "Anvil", "createdBy": {"name": "Ada Lovelace", "nickname": "countess"}},
                {"title": "Gizmo", "createdBy": None},
                {
                    "title": "Rocket skates",
                    "createdBy": {"name": "Grace Hopper", "nickname": "amazing grace"},
                },
            ]
        }
    }
    [fetch] = market.requests("accounts")
    assert fetch.representations == [
        {"__typename": "User", "email": "ada@example.com"},
        {"__typename": "User", "email": "grace@example.com"},
    ]


def test_multiple_keys_id_key_from_orders(market: GatewayRun) -> None:
    """orders knows buyers by id: the same User is reached through its other key."""
    response = market.query('{ order(id: "o1") { buyer { email name } } }')
    assert response.json == {
        "data": {"order": {"buyer": {"email": "ada@example.com", "name": "Ada Lovelace"}}}
    }
    [fetch] = market.requests("accounts")
    assert fetch.representations == [{"__typename": "User", "id": "u1"}]


def test_composite_key(market: GatewayRun) -> None:
    response = market.query('{ order(id: "o1") { recommended { sku vendor title price } } }')
    assert response.json == {
        "data": {
            "order": {
                "recommended": [
                    {"sku": "p2", "vendor": "acme", "title": "Rocket skates", "price": 9900},
                    {"sku": "p1", "vendor": "globex", "title": "Gizmo", "price": 1200},
                ]
            }
        }
    }
    [fetch] = market.requests("catalog")
    assert fetch.representations == [
        {"__typename": "Product", "sku": "p2", "vendor": "acme"},
        {"__typename": "Product", "sku": "p1", "vendor": "globex"},
    ]


def test_nested_key(market: GatewayRun) -> None:
    response = market.query('{ order(id: "o1") { lines { quantity variant { color stock } } } }')
    assert response.json == {
        "data": {
            "order": {
                "lines": [
                    {"quantity": 2, "variant": {"color": "red", "stock": 3}},
                    {"quantity": 1, "variant": {"color": "red", "stock": 7}},
                ]
            }
        }
    }
    [fetch] = market.requests("catalog")
    assert fetch.representations == [
        {"__typename": "Variant", "product": {"sku": "p1", "vendor": "acme"}, "color": "red"},
        {"__typename": "Variant", "product": {"sku": "p1", "vendor": "globex"}, "color": "red"},
    ]


def test_nested_key_then_fields_of_the_nested_entity(market: GatewayRun) -> None:
    query = '{ order(id: "o3") { lines { variant { stock product { sku title createdBy { name } } } } } }'
    response = market.query(query)
    assert response.json == {
        "data": {
            "order": {
                "lines": [
                    {
                        "variant": {
                            "stock": 0,
                            "product": {"sku": "p1", "title": "Anvil", "createdBy": {"name": "Ada Lovelace"}},
                        }
                    }
                ]
            }
        }
    }
    assert market.calls() == {"accounts": 1, "catalog": 1, "orders": 1}


def test_non_resolvable_key_is_never_jumped_into(market: GatewayRun) -> None:
    """catalog declares User.email but its User key is resolvable: false; accounts must serve it."""
    response = market.query("{ orders { id buyer { email } } }")
    assert response.json == {
        "data": {
            "orders": [
                {"id": "o1", "buyer": {"email": "ada@example.com"}},
                {"id": "o2", "buyer": None},
                {"id": "o3", "buyer": {"email": "ada@example.com"}},
                {"id": "o4", "buyer": {"email": "alan@example.com"}},
            ]
        }
    }
    assert market.requests("catalog") == []
    [fetch] = market.requests("accounts")
    assert fetch.is_entities


def test_field_of_a_non_resolvable_stub_is_served_locally(market: GatewayRun) -> None:
    """createdBy { email } is known to catalog itself: no jump at all."""
    response = market.query("{ products { createdBy { email } } }")
    assert response.json == {
        "data": {
            "products": [
                {"createdBy": {"email": "ada@example.com"}},
                {"createdBy": None},
                {"createdBy": {"email": "grace@example.com"}},
            ]
        }
    }
    assert market.calls() == {"accounts": 0, "catalog": 1, "orders": 0}


def test_chain_through_three_subgraphs(market: GatewayRun) -> None:
    """catalog -> accounts (by email) -> orders (by id): each hop uses a key the previous one returned."""
    response = market.query("{ products { title createdBy { name orders { id lines { quantity } } } } }")
    assert response.json == {
        "data": {
            "products": [
                {
                    "title": "Anvil",
                    "createdBy": {
                        "name": "Ada Lovelace",
                        "orders": [
                            {"id": "o1", "lines": [{"quantity": 2}, {"quantity": 1}]},
                            {"id": "o3", "lines": [{"quantity": 1}]},
                        ],
                    },
                },
                {"title": "Gizmo", "createdBy": None},
                {"title": "Rocket skates", "createdBy": {"name": "Grace Hopper", "orders": []}},
            ]
        }
    }
    [to_orders] = entity_requests(market.subgraphs["orders"])
    assert to_orders.representations == [
        {"__typename": "User", "id": "u1"},
        {"__typename": "User", "id": "u3"},
    ]
    assert market.calls() == {"accounts": 1, "catalog": 1, "orders": 1}


def test_field_order_does_not_change_the_outcome(market: GatewayRun) -> None:
    """`orders` needs User.id, which catalog must fetch from accounts like `id` itself."""
    expected = {
        "data": {
            "products": [
                {"createdBy": {"id": "u1", "orders": [{"id": "o1"}, {"id": "o3"}]}},
                {"createdBy": None},
                {"createdBy": {"id": "u3", "orders": []}},
            ]
        }
    }
    assert market.query("{ products { createdBy { orders { id } id } } }").json == expected
    reordered = market.query("{ products { createdBy { id orders { id } } } }").json
    assert reordered == expected


def test_nested_lists_of_entities(market: GatewayRun) -> None:
    response = market.query("{ users { id orders { id lines { variant { color stock } } } } }")
    assert response.json == {
        "data": {
            "users": [
                {
                    "id": "u1",
                    "orders": [
                        {
                            "id": "o1",
                            "lines": [
                                {"variant": {"color": "red", "stock": 3}},
                                {"variant": {"color": "red", "stock": 7}},
                            ],
                        },
                        {"id": "o3", "lines": [{"variant": {"color": "blue", "stock": 0}}]},
                    ],
                },
                {"id": "u2", "orders": [{"id": "o4", "lines": []}]},
                {"id": "u3", "orders": []},
            ]
        }
    }
    assert market.calls() == {"accounts": 1, "catalog": 1, "orders": 1}


def test_two_subgraphs_in_parallel_then_a_third(market: GatewayRun) -> None:
    query = "{ orders { id buyer { name } lines { variant { stock product { title createdBy { nickname } } } } } }"
    response = market.query(query)
    anvil = {"title": "Anvil", "createdBy": {"nickname": "countess"}}
    gizmo = {"title": "Gizmo", "createdBy": None}
    skates = {"title": "Rocket skates", "createdBy": {"nickname": "amazing grace"}}
    assert response.json == {
        "data": {
            "orders": [
                {
                    "id": "o1",
                    "buyer": {"name": "Ada Lovelace"},
                    "lines": [
                        {"variant": {"stock": 3, "product": anvil}},
                        {"variant": {"stock": 7, "product": gizmo}},
                    ],
                },
                {"id": "o2", "buyer": None, "lines": [{"variant": {"stock": 1, "product": skates}}]},
                {
                    "id": "o3",
                    "buyer": {"name": "Ada Lovelace"},
                    "lines": [{"variant": {"stock": 0, "product": anvil}}],
                },
                {"id": "o4", "buyer": {"name": "Alan Turing"}, "lines": []},
            ]
        }
    }
    # buyers by id and creators by email: two different positions, one fetch each
    assert sorted(map(str, (r.representations for r in market.requests("accounts")))) == sorted(
        map(
            str,
            (
                [{"__typename": "User", "id": "u1"}, {"__typename": "User", "id": "u2"}],
                [
                    {"__typename": "User", "email": "ada@example.com"},
                    {"__typename": "User", "email": "grace@example.com"},
                ],
            ),
        )
    )


def test_duplicate_representations_are_sent_once(market: GatewayRun) -> None:
    response = market.query("{ orders { id buyer { name } } }")
    assert response.json == {
        "data": {
            "orders": [
                {"id": "o1", "buyer": {"name": "Ada Lovelace"}},
                {"id": "o2", "buyer": None},
                {"id": "o3", "buyer": {"name": "Ada Lovelace"}},
                {"id": "o4", "buyer": {"name": "Alan Turing"}},
            ]
        }
    }
    [fetch] = market.requests("accounts")
    assert fetch.representations == [{"__typename": "User", "id": "u1"}, {"__typename": "User", "id": "u2"}]


def test_duplicate_composite_and_nested_representations_are_sent_once(market: GatewayRun) -> None:
    response = market.query(
        "{ orders { recommended { title } lines { variant { product { sku } stock } } } }"
    )
    assert response.json == {
        "data": {
            "orders": [
                {
                    "recommended": [{"title": "Rocket skates"}, {"title": "Gizmo"}],
                    "lines": [
                        {"variant": {"product": {"sku": "p1"}, "stock": 3}},
                        {"variant": {"product": {"sku": "p1"}, "stock": 7}},
                    ],
                },
                {"recommended": [], "lines": [{"variant": {"product": {"sku": "p2"}, "stock": 1}}]},
                {
                    "recommended": [{"title": "Gizmo"}],
                    "lines": [{"variant": {"product": {"sku": "p1"}, "stock": 0}}],
                },
                {"recommended": [], "lines": []},
            ]
        }
    }
    products: list[dict[str, object]] = []
    variants: list[dict[str, object]] = []
    for fetch in market.requests("catalog"):
        for rep in fetch.representations:
            (products if rep["__typename"] == "Product" else variants).append(rep)
    assert products == [
        {"__typename": "Product", "sku": "p2", "vendor": "acme"},
        {"__typename": "Product", "sku": "p1", "vendor": "globex"},
    ]
    assert len(variants) == 4  # four different variants, none twice


def test_null_keys_skip_the_entity_call(market: GatewayRun) -> None:
    response = market.query('{ order(id: "o2") { id buyer { name orders { id } } } }')
    assert response.json == {"data": {"order": {"id": "o2", "buyer": None}}}
    assert market.calls() == {"accounts": 0, "catalog": 0, "orders": 1}


def test_a_conditional_field_moved_to_an_entity_fetch_is_not_fetched_when_excluded(
    market: GatewayRun,
) -> None:
    """The entity fetch of a field under @include(if: $v) runs only when $v is true (a Condition node)."""
    query = "query($o: Boolean!) { users { name orders @include(if: $o) { id } } }"
    off = market.query(query, {"o": False}).json
    assert "errors" not in off and all(set(u) == {"name"} for u in off["data"]["users"])
    assert market.calls() == {"accounts": 1, "catalog": 0, "orders": 0}
    on = market.query(query, {"o": True}).json
    assert "errors" not in on and all("orders" in u for u in on["data"]["users"])
    assert market.calls() == {"accounts": 2, "catalog": 0, "orders": 1}


def test_null_entity_in_a_list_is_left_out_of_the_representations(market: GatewayRun) -> None:
    response = market.query('{ product(sku: "p1", vendor: "globex") { title createdBy { name } } }')
    assert response.json == {"data": {"product": {"title": "Gizmo", "createdBy": None}}}
    assert market.calls() == {"accounts": 0, "catalog": 1, "orders": 0}


def test_empty_list_skips_the_entity_call(market: GatewayRun) -> None:
    response = market.query('{ order(id: "o4") { lines { variant { stock } } recommended { title } } }')
    assert response.json == {"data": {"order": {"lines": [], "recommended": []}}}
    assert market.calls() == {"accounts": 0, "catalog": 0, "orders": 1}


def test_missing_root_object_skips_every_entity_call(market: GatewayRun) -> None:
    response = market.query('{ order(id: "nope") { buyer { name } lines { variant { stock } } } }')
    assert response.json == {"data": {"order": None}}
    assert market.calls() == {"accounts": 0, "catalog": 0, "orders": 1}


def test_entity_back_into_the_subgraph_it_came_from(market: GatewayRun) -> None:
    """accounts -> orders -> accounts again: the second accounts fetch is an _entities call on User."""
    response = market.query('{ user(id: "u2") { name orders { id buyer { id nickname } } } }')
    assert response.json == {
        "data": {
            "user": {"name": "Alan Turing", "orders": [{"id": "o4", "buyer": {"id": "u2", "nickname": None}}]}
        }
    }
    first, second = market.requests("accounts")
    assert not first.is_entities
    assert second.representations == [{"__typename": "User", "id": "u2"}]
    assert market.calls() == {"accounts": 2, "catalog": 0, "orders": 1}


def test_a_chain_of_twelve_entity_jumps_plans_and_answers(market: GatewayRun) -> None:
    """catalog -> accounts -> orders -> catalog, four times over: 13 fetches, each waiting for the one before.
    The planner once gave up past 16 levels of estimates ("No subgraph can resolve Query.products")."""
    cycle = "title createdBy { name orders { lines { variant { product { "
    query = "{ products { " + cycle * 4 + "title" + " } } } } }" * 4 + " } }"
    assert market.plan(query).count("Fetch(") == 13
    response = market.query(query)
    assert "errors" not in response.json, response.json
    # follow the first product's chain down: every level answered, the last one a title
    level = response.json["data"]["products"][0]
    for _ in range(4):
        assert isinstance(level["title"], str)
        level = level["createdBy"]["orders"][0]["lines"][0]["variant"]["product"]
    assert isinstance(level["title"], str)
