"""@requires, @provides, @external and @shareable through the gateway (shipping: accounts, inventory, products, reviews).

products owns Product (weight, dimensions, price(currency:)); inventory computes shippingEstimate,
packaging and euroLabel from them (@requires, simple / nested selection / argument) and shares
Product.name; reviews computes deliveryNote from inventory's shippingEstimate (a requirement that is
itself required elsewhere) and @provides the author's name.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from graphql import GraphQLError

from support.fixtures import load_subgraph_sdls
from support.subgraph import SubgraphSpec
from test_gateway_support import GatewayRun, Record, RunSubgraphs, ServeAsgi, entity_requests, start_gateway

USERS: list[Record] = [
    {"id": "u1", "name": "Ada Lovelace", "email": "ada@example.com"},
    {"id": "u2", "name": "Alan Turing", "email": "alan@example.com"},
]

PRODUCTS: list[Record] = [
    {
        "upc": "1",
        "name": "Table",
        "weight": 12000,
        "dimensions": {"width": 1200, "height": 750, "depth": 800},
        "prices": {"USD": 25000, "EUR": 23000},
    },
    {
        "upc": "2",
        "name": "Lamp",
        "weight": 800,
        "dimensions": {"width": 200, "height": 450, "depth": 200},
        "prices": {"USD": 4000, "EUR": 3700},
    },
    {
        "upc": "3",
        "name": "Chair",
        "weight": 5000,
        "dimensions": {"width": 450, "height": 900, "depth": 500},
        "prices": {"USD": 9000, "EUR": 8300},
    },
]

# inventory's own copy: the shared name, and a stale weight it must never be asked for (@external).
INVENTORY_PRODUCTS: list[Record] = [
    {"upc": "1", "name": "Table", "weight": -1},
    {"upc": "2", "name": "Lamp", "weight": -1},
    {"upc": "3", "name": "Chair", "weight": -1},
]

STOCK: list[Record] = [
    {"quantity": 4, "product": INVENTORY_PRODUCTS[0]},
    {"quantity": 0, "product": INVENTORY_PRODUCTS[2]},
]

REVIEWS: list[Record] = [
    {
        "id": "r1",
        "body": "Sturdy",
        "author": {"id": "u1", "name": "Ada Lovelace"},
        "editor": {"id": "u2"},
        "product": {"upc": "1"},
    },
    {
        "id": "r2",
        "body": "Too bright",
        "author": {"id": "u2", "name": "Alan Turing"},
        "editor": None,
        "product": {"upc": "2"},
    },
    {
        "id": "r3",
        "body": "Wobbly",
        "author": {"id": "u1", "name": "Ada Lovelace"},
        "editor": {"id": "u2"},
        "product": {"upc": "1"},
    },
]


def _estimate(product: Record, _info: Any) -> int:
    return 1 + int(product["weight"]) // 5000


def _packaging(product: Record, _info: Any) -> str:
    dimensions = product["dimensions"]
    return f"box {dimensions['width']}x{dimensions['height']}"


def _euro_label(product: Record, _info: Any) -> str:
    return f"€{product['price'] / 100:.2f}"


def shipping_specs() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("shipping")
    products = copy.deepcopy(PRODUCTS)
    inventory = copy.deepcopy(INVENTORY_PRODUCTS)
    stock = [{"quantity": s["quantity"], "product": inventory[int(s["product"]["upc"]) - 1]} for s in STOCK]
    reviews = copy.deepcopy(REVIEWS)
    return [
        SubgraphSpec(
            "accounts", sdls["accounts"], data={"User": copy.deepcopy(USERS)}, root={"me": USERS[0]}
        ),
        SubgraphSpec(
            "products",
            sdls["products"],
            data={"Product": products},
            root={
                "products": products,
                "product": lambda *_, upc: next((p for p in products if p["upc"] == upc), None),
                "Product.price": lambda p, _info, currency: p["prices"][currency],
            },
        ),
        SubgraphSpec(
            "inventory",
            sdls["inventory"],
            data={"Product": inventory},
            root={
                "stock": stock,
                "Product.shippingEstimate": _estimate,
                "Product.packaging": _packaging,
                "Product.euroLabel": _euro_label,
            },
        ),
        SubgraphSpec(
            "reviews",
            sdls["reviews"],
            data={},
            root={
                "topReviews": reviews,
                "Product.reviews": lambda p, _info: [r for r in reviews if r["product"]["upc"] == p["upc"]],
                "Product.deliveryNote": lambda p, _info: f"arrives in {p['shippingEstimate']} days",
            },
        ),
    ]


@pytest.fixture
def shop(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> GatewayRun:
    return start_gateway(serve_asgi, "shipping", run_subgraphs(shipping_specs()))


def reps(running: GatewayRun, name: str) -> list[list[Record]]:
    return [r.representations for r in entity_requests(running.subgraphs[name])]


# -- @requires -------------------------------------------------------------------------------------------------


def test_a_client_alias_below_a_required_field_keeps_its_value(shop: GatewayRun) -> None:
    """packaging requires `dimensions { width height }`; the client's `dimensions` has `height: depth`. The
    requirement's `height` is fetched under a key of its own, inside the client's `dimensions`, so the client gets
    the depth (200) and the representation the height (found by difftest against Apollo Gateway)."""
    response = shop.query('{ product(upc: "2") { packaging dimensions { width height: depth } } }')
    assert response.json == {
        "data": {"product": {"packaging": "box 200x450", "dimensions": {"width": 200, "height": 200}}}
    }


def test_a_requirement_under_a_condition_never_holds_back_the_other_fields(shop: GatewayRun) -> None:
    """euroLabel (requires the EUR price) under `@skip(if: $v)`, packaging beside it: the price is read only when
    the fragment is kept, so euroLabel gets a fetch of its own under that condition and packaging's
    representations never wait for a price that was skipped (found by difftest against Apollo Gateway)."""
    query = (
        'query($v: Boolean!) { product(upc: "1") { packaging ... on Product @skip(if: $v) { euroLabel } } }'
    )
    assert "Condition(if: $v)" in shop.plan(query)
    skipped = shop.query(query, {"v": True})
    assert skipped.json == {"data": {"product": {"packaging": "box 1200x750"}}}
    kept = shop.query(query, {"v": False})
    assert kept.json == {"data": {"product": {"packaging": "box 1200x750", "euroLabel": "€230.00"}}}


def test_requires_simple(shop: GatewayRun) -> None:
    response = shop.query("{ products { upc shippingEstimate } }")
    assert response.json == {
        "data": {
            "products": [
                {"upc": "1", "shippingEstimate": 3},
                {"upc": "2", "shippingEstimate": 1},
                {"upc": "3", "shippingEstimate": 2},
            ]
        }
    }
    assert reps(shop, "inventory") == [
        [
            {"__typename": "Product", "upc": "1", "weight": 12000},
            {"__typename": "Product", "upc": "2", "weight": 800},
            {"__typename": "Product", "upc": "3", "weight": 5000},
        ]
    ]
    assert shop.calls() == {"accounts": 0, "products": 1, "inventory": 1, "reviews": 0}


def test_requires_next_to_the_required_field(shop: GatewayRun) -> None:
    response = shop.query('{ product(upc: "2") { weight shippingEstimate } }')
    assert response.json == {"data": {"product": {"weight": 800, "shippingEstimate": 1}}}
    assert reps(shop, "inventory") == [[{"__typename": "Product", "upc": "2", "weight": 800}]]


def test_requires_nested_selection(shop: GatewayRun) -> None:
    response = shop.query('{ product(upc: "1") { packaging } }')
    assert response.json == {"data": {"product": {"packaging": "box 1200x750"}}}
    assert reps(shop, "inventory") == [
        [
            {"__typename": "Product", "upc": "1", "dimensions": {"width": 1200, "height": 750}},
        ]
    ]


def test_requires_nested_selection_next_to_other_subfields(shop: GatewayRun) -> None:
    """The client's `dimensions { depth }` and the requirement's `{ width height }` share one field."""
    response = shop.query('{ product(upc: "3") { dimensions { depth } packaging } }')
    assert response.json == {"data": {"product": {"dimensions": {"depth": 500}, "packaging": "box 450x900"}}}
    assert reps(shop, "inventory") == [
        [
            {"__typename": "Product", "upc": "3", "dimensions": {"width": 450, "height": 900}},
        ]
    ]


def test_requires_with_arguments(shop: GatewayRun) -> None:
    """The requirement is price(currency: EUR); the client's own `price` is in dollars."""
    response = shop.query('{ product(upc: "1") { price euroLabel } }')
    assert response.json == {"data": {"product": {"price": 25000, "euroLabel": "€230.00"}}}
    assert reps(shop, "inventory") == [[{"__typename": "Product", "upc": "1", "price": 23000}]]


def test_requires_with_arguments_and_client_aliases(shop: GatewayRun) -> None:
    query = "{ products { eur: price(currency: EUR) price(currency: USD) euroLabel } }"
    response = shop.query(query)
    assert response.json == {
        "data": {
            "products": [
                {"eur": 23000, "price": 25000, "euroLabel": "€230.00"},
                {"eur": 3700, "price": 4000, "euroLabel": "€37.00"},
                {"eur": 8300, "price": 9000, "euroLabel": "€83.00"},
            ]
        }
    }
    assert reps(shop, "inventory") == [
        [
            {"__typename": "Product", "upc": "1", "price": 23000},
            {"__typename": "Product", "upc": "2", "price": 3700},
            {"__typename": "Product", "upc": "3", "price": 8300},
        ]
    ]


def test_requires_from_a_third_subgraph(shop: GatewayRun) -> None:
    """reviews -> products (weight) -> inventory (shippingEstimate)."""
    response = shop.query("{ topReviews { id product { shippingEstimate } } }")
    assert response.json == {
        "data": {
            "topReviews": [
                {"id": "r1", "product": {"shippingEstimate": 3}},
                {"id": "r2", "product": {"shippingEstimate": 1}},
                {"id": "r3", "product": {"shippingEstimate": 3}},
            ]
        }
    }
    assert reps(shop, "products") == [
        [{"__typename": "Product", "upc": "1"}, {"__typename": "Product", "upc": "2"}]
    ]
    assert reps(shop, "inventory") == [
        [
            {"__typename": "Product", "upc": "1", "weight": 12000},
            {"__typename": "Product", "upc": "2", "weight": 800},
        ]
    ]
    assert shop.calls() == {"accounts": 0, "products": 1, "inventory": 1, "reviews": 1}


def test_requirement_that_is_itself_required(shop: GatewayRun) -> None:
    """deliveryNote (reviews) requires shippingEstimate (inventory), which requires weight (products)."""
    response = shop.query("{ products { name deliveryNote } }")
    assert response.json == {
        "data": {
            "products": [
                {"name": "Table", "deliveryNote": "arrives in 3 days"},
                {"name": "Lamp", "deliveryNote": "arrives in 1 days"},
                {"name": "Chair", "deliveryNote": "arrives in 2 days"},
            ]
        }
    }
    assert reps(shop, "reviews") == [
        [
            {"__typename": "Product", "upc": "1", "shippingEstimate": 3},
            {"__typename": "Product", "upc": "2", "shippingEstimate": 1},
            {"__typename": "Product", "upc": "3", "shippingEstimate": 2},
        ]
    ]
    assert shop.calls() == {"accounts": 0, "products": 1, "inventory": 1, "reviews": 1}


def test_requirement_chain_back_into_the_first_subgraph(shop: GatewayRun) -> None:
    """reviews -> products -> inventory -> reviews."""
    response = shop.query("{ topReviews { body product { deliveryNote } } }")
    assert response.json == {
        "data": {
            "topReviews": [
                {"body": "Sturdy", "product": {"deliveryNote": "arrives in 3 days"}},
                {"body": "Too bright", "product": {"deliveryNote": "arrives in 1 days"}},
                {"body": "Wobbly", "product": {"deliveryNote": "arrives in 3 days"}},
            ]
        }
    }
    assert shop.calls() == {"accounts": 0, "products": 1, "inventory": 1, "reviews": 2}


def test_several_requirements_in_one_entity_fetch(shop: GatewayRun) -> None:
    response = shop.query('{ product(upc: "2") { shippingEstimate packaging euroLabel } }')
    assert response.json == {
        "data": {"product": {"shippingEstimate": 1, "packaging": "box 200x450", "euroLabel": "€37.00"}}
    }
    assert reps(shop, "inventory") == [
        [
            {
                "__typename": "Product",
                "upc": "2",
                "weight": 800,
                "dimensions": {"width": 200, "height": 450},
                "price": 3700,
            },
        ]
    ]


# -- @provides ------------------------------------------------------------------------------------------------


def test_provides_used_no_extra_call(shop: GatewayRun) -> None:
    response = shop.query("{ topReviews { id author { name } } }")
    assert response.json == {
        "data": {
            "topReviews": [
                {"id": "r1", "author": {"name": "Ada Lovelace"}},
                {"id": "r2", "author": {"name": "Alan Turing"}},
                {"id": "r3", "author": {"name": "Ada Lovelace"}},
            ]
        }
    }
    assert shop.calls() == {"accounts": 0, "products": 0, "inventory": 0, "reviews": 1}


def test_provides_does_not_cover_other_fields(shop: GatewayRun) -> None:
    response = shop.query("{ topReviews { author { name email } } }")
    assert response.json == {
        "data": {
            "topReviews": [
                {"author": {"name": "Ada Lovelace", "email": "ada@example.com"}},
                {"author": {"name": "Alan Turing", "email": "alan@example.com"}},
                {"author": {"name": "Ada Lovelace", "email": "ada@example.com"}},
            ]
        }
    }
    assert reps(shop, "accounts") == [
        [{"__typename": "User", "id": "u1"}, {"__typename": "User", "id": "u2"}]
    ]


def test_not_provided_path_needs_an_entity_call(shop: GatewayRun) -> None:
    """editor has no @provides: its name comes from accounts, though reviews has the same User type."""
    response = shop.query("{ topReviews { id editor { name } } }")
    assert response.json == {
        "data": {
            "topReviews": [
                {"id": "r1", "editor": {"name": "Alan Turing"}},
                {"id": "r2", "editor": None},
                {"id": "r3", "editor": {"name": "Alan Turing"}},
            ]
        }
    }
    assert reps(shop, "accounts") == [[{"__typename": "User", "id": "u2"}]]
    assert shop.calls() == {"accounts": 1, "products": 0, "inventory": 0, "reviews": 1}


def test_provided_and_not_provided_paths_in_one_query(shop: GatewayRun) -> None:
    response = shop.query("{ topReviews { author { id name } editor { id name } } }")
    assert response.json == {
        "data": {
            "topReviews": [
                {
                    "author": {"id": "u1", "name": "Ada Lovelace"},
                    "editor": {"id": "u2", "name": "Alan Turing"},
                },
                {"author": {"id": "u2", "name": "Alan Turing"}, "editor": None},
                {
                    "author": {"id": "u1", "name": "Ada Lovelace"},
                    "editor": {"id": "u2", "name": "Alan Turing"},
                },
            ]
        }
    }
    assert reps(shop, "accounts") == [[{"__typename": "User", "id": "u2"}]]


# -- @external and @shareable -----------------------------------------------------------------------------------


def test_external_field_comes_from_its_owner(shop: GatewayRun) -> None:
    """inventory declares weight @external (its copy is stale): the value must come from products."""
    response = shop.query("{ stock { quantity product { name weight } } }")
    assert response.json == {
        "data": {
            "stock": [
                {"quantity": 4, "product": {"name": "Table", "weight": 12000}},
                {"quantity": 0, "product": {"name": "Chair", "weight": 5000}},
            ]
        }
    }
    assert reps(shop, "products") == [
        [{"__typename": "Product", "upc": "1"}, {"__typename": "Product", "upc": "3"}]
    ]
    assert shop.calls() == {"accounts": 0, "products": 1, "inventory": 1, "reviews": 0}


def test_requirement_from_an_inventory_root(shop: GatewayRun) -> None:
    """stock -> products for the weight -> back to inventory for the estimate."""
    response = shop.query("{ stock { product { shippingEstimate } } }")
    assert response.json == {
        "data": {"stock": [{"product": {"shippingEstimate": 3}}, {"product": {"shippingEstimate": 2}}]}
    }
    assert reps(shop, "inventory") == [
        [
            {"__typename": "Product", "upc": "1", "weight": 12000},
            {"__typename": "Product", "upc": "3", "weight": 5000},
        ]
    ]


def test_shareable_field_is_resolved_where_the_object_already_is(shop: GatewayRun) -> None:
    response = shop.query("{ stock { product { upc name } } }")
    assert response.json == {
        "data": {
            "stock": [{"product": {"upc": "1", "name": "Table"}}, {"product": {"upc": "3", "name": "Chair"}}]
        }
    }
    assert shop.calls() == {"accounts": 0, "products": 0, "inventory": 1, "reviews": 0}
    shop.reset()
    response = shop.query("{ products { name dimensions { width } } }")
    assert response.json == {
        "data": {
            "products": [
                {"name": "Table", "dimensions": {"width": 1200}},
                {"name": "Lamp", "dimensions": {"width": 200}},
                {"name": "Chair", "dimensions": {"width": 450}},
            ]
        }
    }
    assert shop.calls() == {"accounts": 0, "products": 1, "inventory": 0, "reviews": 0}


def test_shareable_field_next_to_a_requirement(shop: GatewayRun) -> None:
    """name may come from products or inventory; either way one fetch each."""
    response = shop.query('{ product(upc: "3") { name shippingEstimate } }')
    assert response.json == {"data": {"product": {"name": "Chair", "shippingEstimate": 2}}}
    assert shop.calls() == {"accounts": 0, "products": 1, "inventory": 1, "reviews": 0}


# -- errors around requirements -------------------------------------------------------------------------------


def test_error_in_a_requirement_names_no_internal_alias(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    """The euro price is only a requirement of euroLabel; its error must not show the planner's alias for it."""
    specs = shipping_specs()
    products = next(s for s in specs if s.name == "products")

    def price(product: Record, _info: Any, currency: str) -> int:
        if currency == "EUR":
            raise GraphQLError("no exchange rate", extensions={"code": "NO_FX"})
        value: int = product["prices"][currency]
        return value

    products.root["Product.price"] = price
    running = start_gateway(serve_asgi, "shipping", run_subgraphs(specs))
    response = running.query('{ product(upc: "2") { upc euroLabel } }')
    body = response.json
    # price is non-null: products itself nulls the product
    assert body["data"] == {"product": None}
    [error] = body["errors"]
    assert (error["message"], error["extensions"]) == (
        "no exchange rate",
        {"code": "NO_FX", "serviceName": "products"},
    )
    # only response keys of the client's operation: the product, or the field that could not be computed
    assert error["path"] in (["product"], ["product", "euroLabel"])
    assert running.calls()["inventory"] == 0
