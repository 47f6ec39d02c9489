"""@override through the gateway (migration: customers, monolith).

`Customer.email` moved to customers with a plain @override; `Customer.tier` is moving with
@override(label: "percent(25)"): the gateway serves it from customers only when the request's
Routing has that label active. Routing.assignments pins a coordinate to a subgraph.

The HTTP endpoint always plans with the default Routing; per-request routing goes through
`Gateway.execute` (the subgraphs are still reached over HTTP).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from support.fixtures import load_subgraph_sdls
from support.subgraph import SubgraphSpec
from test_gateway_support import (
    GatewayRun,
    Record,
    RunSubgraphs,
    ServeAsgi,
    entity_requests,
    start_gateway,
)
from turnout.planner.routing import Routing

# The monolith still has its old copies; the values differ so the tests can tell who answered.
MONOLITH_CUSTOMERS: list[Record] = [
    {"id": "c1", "name": "Ada", "email": "ada@old.example", "tier": "gold (monolith)"},
    {"id": "c2", "name": "Alan", "email": "alan@old.example", "tier": "silver (monolith)"},
]
CUSTOMERS: list[Record] = [
    {"id": "c1", "email": "ada@new.example", "tier": "gold (customers)", "loyaltyPoints": 120},
    {"id": "c2", "email": "alan@new.example", "tier": "silver (customers)", "loyaltyPoints": 5},
]
ORDERS: list[Record] = [
    {
        "id": "o1",
        "status": "SHIPPED",
        "total": 1500,
        "customerId": "c1",
        "lines": [{"sku": "anvil", "quantity": 1, "price": 1500}],
    },
    {
        "id": "o2",
        "status": "PENDING",
        "total": 300,
        "customerId": "c2",
        "lines": [{"sku": "rope", "quantity": 3, "price": 100}],
    },
]

LABEL = "percent(25)"


def migration_specs() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("migration")
    old = copy.deepcopy(MONOLITH_CUSTOMERS)
    new = copy.deepcopy(CUSTOMERS)
    orders = copy.deepcopy(ORDERS)

    def customer(id: str) -> Record | None:
        return next((c for c in old if c["id"] == id), None)

    def place_order(*_: Any, customerId: str, sku: str, quantity: int) -> Record:
        order = {
            "id": f"o{len(orders) + 1}",
            "status": "PENDING",
            "total": 100 * quantity,
            "customerId": customerId,
            "lines": [{"sku": sku, "quantity": quantity, "price": 100}],
        }
        orders.append(order)
        return order

    return [
        SubgraphSpec("customers", sdls["customers"], data={"Customer": new}),
        SubgraphSpec(
            "monolith",
            sdls["monolith"],
            data={"Customer": old, "Order": orders},
            root={
                "customer": lambda *_, id: customer(id),
                "customers": lambda *_, first: old[:first],
                "order": lambda *_, id: next((o for o in orders if o["id"] == id), None),
                "orders": lambda *_, status=None: [o for o in orders if status in (None, o["status"])],
                "Mutation.placeOrder": place_order,
                "Customer.orders": lambda c, _info: [o for o in orders if o["customerId"] == c["id"]],
                "Order.customer": lambda o, _info: customer(o["customerId"]),
            },
        ),
    ]


@pytest.fixture
def migration(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> GatewayRun:
    return start_gateway(serve_asgi, "migration", run_subgraphs(migration_specs()))


def test_static_override_serves_the_new_subgraph(migration: GatewayRun) -> None:
    response = migration.query('{ customer(id: "c1") { name email } }')
    assert response.json == {"data": {"customer": {"name": "Ada", "email": "ada@new.example"}}}
    [root] = migration.requests("monolith")
    assert root.query is not None and "email" not in root.query
    [fetch] = migration.requests("customers")
    assert fetch.representations == [{"__typename": "Customer", "id": "c1"}]


def test_static_override_in_lists_and_nested_positions(migration: GatewayRun) -> None:
    response = migration.query("{ orders { id customer { email loyaltyPoints } } }")
    assert response.json == {
        "data": {
            "orders": [
                {"id": "o1", "customer": {"email": "ada@new.example", "loyaltyPoints": 120}},
                {"id": "o2", "customer": {"email": "alan@new.example", "loyaltyPoints": 5}},
            ]
        }
    }
    assert migration.calls() == {"customers": 1, "monolith": 1}


def test_progressive_override_off_by_default(migration: GatewayRun) -> None:
    """Over HTTP (default Routing: no label active) the field stays with the monolith."""
    response = migration.query('{ customer(id: "c1") { tier } }')
    assert response.json == {"data": {"customer": {"tier": "gold (monolith)"}}}
    assert migration.calls() == {"customers": 0, "monolith": 1}


def test_progressive_override_label_active(migration: GatewayRun) -> None:
    result = migration.execute(
        '{ customer(id: "c1") { tier } }', routing=Routing(active_labels=frozenset({LABEL}))
    )
    assert result == {"data": {"customer": {"tier": "gold (customers)"}}}
    [fetch] = migration.requests("customers")
    assert fetch.representations == [{"__typename": "Customer", "id": "c1"}]


def test_progressive_override_other_label_active(migration: GatewayRun) -> None:
    result = migration.execute(
        '{ customer(id: "c1") { tier } }', routing=Routing(active_labels=frozenset({"percent(50)"}))
    )
    assert result == {"data": {"customer": {"tier": "gold (monolith)"}}}
    assert migration.calls() == {"customers": 0, "monolith": 1}


def test_progressive_override_decided_per_request(migration: GatewayRun) -> None:
    """The same query, alternately with and without the label: plans are not shared across routings."""
    query = "{ customers { id tier email loyaltyPoints } }"
    on = Routing(active_labels=frozenset({LABEL}))
    expected_on = {
        "data": {
            "customers": [
                {"id": "c1", "tier": "gold (customers)", "email": "ada@new.example", "loyaltyPoints": 120},
                {"id": "c2", "tier": "silver (customers)", "email": "alan@new.example", "loyaltyPoints": 5},
            ]
        }
    }
    expected_off = {
        "data": {
            "customers": [
                {"id": "c1", "tier": "gold (monolith)", "email": "ada@new.example", "loyaltyPoints": 120},
                {"id": "c2", "tier": "silver (monolith)", "email": "alan@new.example", "loyaltyPoints": 5},
            ]
        }
    }
    assert migration.execute(query, routing=on) == expected_on
    assert migration.execute(query) == expected_off
    assert migration.execute(query, routing=on) == expected_on
    assert migration.query(query).json == expected_off
    # every run: one monolith fetch and one customers fetch carrying all the customers' fields
    assert migration.calls() == {"customers": 4, "monolith": 4}


def test_assignment_forces_the_new_subgraph_without_the_label(migration: GatewayRun) -> None:
    routing = Routing(assignments={"Customer.tier": "customers"})
    result = migration.execute('{ customer(id: "c2") { name tier } }', routing=routing)
    assert result == {"data": {"customer": {"name": "Alan", "tier": "silver (customers)"}}}
    assert [r.representations for r in entity_requests(migration.subgraphs["customers"])] == [
        [{"__typename": "Customer", "id": "c2"}]
    ]


def test_assignment_wins_over_an_active_label(migration: GatewayRun) -> None:
    routing = Routing(assignments={"Customer.tier": "monolith"}, active_labels=frozenset({LABEL}))
    result = migration.execute('{ customer(id: "c2") { name tier } }', routing=routing)
    assert result == {"data": {"customer": {"name": "Alan", "tier": "silver (monolith)"}}}
    assert migration.calls() == {"customers": 0, "monolith": 1}


def test_assignment_of_one_coordinate_leaves_the_others_alone(migration: GatewayRun) -> None:
    routing = Routing(assignments={"Customer.tier": "customers"})
    result = migration.execute('{ order(id: "o1") { total customer { name email tier } } }', routing=routing)
    assert result == {
        "data": {
            "order": {
                "total": 1500,
                "customer": {"name": "Ada", "email": "ada@new.example", "tier": "gold (customers)"},
            }
        }
    }
    assert migration.calls() == {"customers": 1, "monolith": 1}


def test_override_below_a_mutation(migration: GatewayRun) -> None:
    query = 'mutation { placeOrder(customerId: "c2", sku: "rope", quantity: 2) { id total customer { email tier } } }'
    response = migration.query(query)
    assert response.json == {
        "data": {
            "placeOrder": {
                "id": "o3",
                "total": 200,
                "customer": {"email": "alan@new.example", "tier": "silver (monolith)"},
            }
        }
    }
    result = migration.execute(
        query.replace("rope", "hook"), routing=Routing(active_labels=frozenset({LABEL}))
    )
    assert result == {
        "data": {
            "placeOrder": {
                "id": "o4",
                "total": 200,
                "customer": {"email": "alan@new.example", "tier": "silver (customers)"},
            }
        }
    }
