"""Helpers shared by the gateway end-to-end tests, the data of their subgraphs, and checks of the wiring itself.

Every ``test_gateway_*`` module starts real subgraphs with the harness (``run_subgraphs``), reads a
composed supergraph from ``tests/fixtures/supergraphs/``, and serves a :class:`Gateway` with
``create_app`` on loopback (``serve_asgi``); requests then go over HTTP with the harness client.
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from graphql import GraphQLError, parse

from support.client import GraphQLResponse, graphql_request
from support.fixtures import (
    FIXTURES_DIR,
    SUPERGRAPHS_DIR,
    load_subgraph_sdls,
    load_supergraph,
    with_subgraph_urls,
)
from support.servers import RunningSubgraph, ServerThread
from support.subgraph import RecordedRequest, SubgraphSpec, build_subgraph_schema
from turnout.gateway import Gateway, GraphQLRequest
from turnout.planner.display import print_plan
from turnout.planner.routing import Routing
from turnout.server.app import create_app
from turnout.supergraph.join_spec import read_supergraph
from turnout.transport.http import HttpTransport

Record = dict[str, Any]
ServeAsgi = Callable[..., ServerThread]
RunSubgraphs = Callable[..., dict[str, RunningSubgraph]]

# The fixture systems these tests added (tests/fixtures/supergraphs/<name>/).
GATEWAY_FIXTURES = ("library", "marketplace", "shipping", "tasks")


# ---------------------------------------------------------------------------
# A gateway in front of running subgraphs
# ---------------------------------------------------------------------------


@dataclass
class GatewayRun:
    """A gateway served over HTTP in front of harness subgraphs."""

    gateway: Gateway
    server: ServerThread
    subgraphs: dict[str, RunningSubgraph]
    # for Gateway.execute calls from the test itself (a connection pool belongs to one event loop)
    direct: Gateway

    @property
    def url(self) -> str:
        return self.server.base_url + "/graphql"

    def query(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> GraphQLResponse:
        """POSTs one request to the gateway (blocking)."""
        return graphql_request(self.url, query, variables, operation_name=operation_name, headers=headers)

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        routing: Routing | None = None,
    ) -> dict[str, Any]:
        """``Gateway.execute`` with a Routing (which the HTTP endpoint does not take), on a twin gateway."""
        return execute(self.direct, query, variables, operation_name=operation_name, routing=routing)

    def requests(self, name: str) -> list[RecordedRequest]:
        """What subgraph ``name`` received so far."""
        return self.subgraphs[name].requests

    def calls(self) -> dict[str, int]:
        """How many requests each subgraph received."""
        return {name: len(s.requests) for name, s in self.subgraphs.items()}

    def reset(self) -> None:
        for subgraph in self.subgraphs.values():
            subgraph.reset()

    def plan(self, query: str, operation_name: str | None = None, routing: Routing | None = None) -> str:
        """The printed plan of ``query`` (for reports)."""
        return plan_text(self.gateway, query, operation_name, routing)


def subgraph_urls(subgraphs: Mapping[str, RunningSubgraph]) -> dict[str, str]:
    return {name: s.url for name, s in subgraphs.items()}


def make_gateway(
    fixture: str,
    subgraphs: Mapping[str, RunningSubgraph],
    *,
    introspection: bool = True,
    timeout: float = 10.0,
    timeouts: Mapping[str, float] | None = None,
) -> Gateway:
    """A Gateway over fixture ``fixture`` whose subgraph URLs point at the running ``subgraphs``."""
    model = read_supergraph(load_supergraph(fixture))
    transport = HttpTransport(timeout=timeout, timeouts=dict(timeouts or {}))
    return Gateway(model, transport, introspection=introspection, urls=subgraph_urls(subgraphs))


def start_gateway(
    serve_asgi: ServeAsgi,
    fixture: str,
    subgraphs: Mapping[str, RunningSubgraph],
    **options: Any,
) -> GatewayRun:
    """``make_gateway`` served by ``create_app`` on loopback (lifespan on, so its connections get closed)."""
    gateway = make_gateway(fixture, subgraphs, **options)
    server = serve_asgi(create_app(gateway), lifespan="on", name=f"gateway-{fixture}")
    return GatewayRun(gateway, server, dict(subgraphs), make_gateway(fixture, subgraphs, **options))


def execute(
    gateway: Gateway,
    query: str,
    variables: Mapping[str, Any] | None = None,
    *,
    operation_name: str | None = None,
    routing: Routing | None = None,
) -> dict[str, Any]:
    """``gateway.execute`` with a Routing, outside any server (subgraphs are still reached over HTTP).

    The gateway's connection pool is closed afterwards: it belongs to this call's event loop.
    """

    async def run() -> dict[str, Any]:
        try:
            request = GraphQLRequest(query=query, variables=variables, operation_name=operation_name)
            if routing is None:
                return await gateway.execute(request)
            return await gateway.execute(request, routing)
        finally:
            await gateway.client.close()

    return asyncio.run(run())


def plan_text(
    gateway: Gateway, query: str, operation_name: str | None = None, routing: Routing | None = None
) -> str:
    plan = gateway.planner.plan(parse(query), operation_name, routing or Routing())
    return print_plan(plan)


def entity_requests(subgraph: RunningSubgraph) -> list[RecordedRequest]:
    return [r for r in subgraph.requests if r.is_entities]


def http(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One raw HTTP request (for GraphQL-over-HTTP status checks): status, headers (lower-case), text."""

    async def run() -> tuple[int, dict[str, str], str]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.request(method, url, data=body, params=params, headers=dict(headers or {})) as response,
        ):
            text = await response.text()
            return response.status, {k.lower(): v for k, v in response.headers.items()}, text

    return asyncio.run(run())


def fail(message: str) -> Callable[..., Any]:
    """A resolver that raises a GraphQL error."""

    def resolve(*_args: Any, **_kwargs: Any) -> Any:
        raise GraphQLError(message)

    return resolve


# ---------------------------------------------------------------------------
# marketplace: accounts, catalog, orders (entities, keys, errors)
# ---------------------------------------------------------------------------

MARKET_USERS: list[Record] = [
    {"id": "u1", "email": "ada@example.com", "name": "Ada Lovelace", "nickname": "countess"},
    {"id": "u2", "email": "alan@example.com", "name": "Alan Turing", "nickname": None},
    {"id": "u3", "email": "grace@example.com", "name": "Grace Hopper", "nickname": "amazing grace"},
]

MARKET_PRODUCTS: list[Record] = [
    {
        "sku": "p1",
        "vendor": "acme",
        "title": "Anvil",
        "price": 5000,
        "createdBy": {"email": "ada@example.com"},
    },
    {"sku": "p1", "vendor": "globex", "title": "Gizmo", "price": 1200, "createdBy": None},
    {
        "sku": "p2",
        "vendor": "acme",
        "title": "Rocket skates",
        "price": 9900,
        "createdBy": {"email": "grace@example.com"},
    },
]

MARKET_VARIANTS: list[Record] = [
    {"product": {"sku": "p1", "vendor": "acme"}, "color": "red", "stock": 3},
    {"product": {"sku": "p1", "vendor": "acme"}, "color": "blue", "stock": 0},
    {"product": {"sku": "p1", "vendor": "globex"}, "color": "red", "stock": 7},
    {"product": {"sku": "p2", "vendor": "acme"}, "color": "black", "stock": 1},
]


def _line(quantity: int, sku: str, vendor: str, color: str) -> Record:
    return {"quantity": quantity, "variant": {"product": {"sku": sku, "vendor": vendor}, "color": color}}


MARKET_ORDERS: list[Record] = [
    {
        "id": "o1",
        "buyer": {"id": "u1"},
        "lines": [_line(2, "p1", "acme", "red"), _line(1, "p1", "globex", "red")],
        "recommended": [{"sku": "p2", "vendor": "acme"}, {"sku": "p1", "vendor": "globex"}],
    },
    {"id": "o2", "buyer": None, "lines": [_line(1, "p2", "acme", "black")], "recommended": []},
    {
        "id": "o3",
        "buyer": {"id": "u1"},
        "lines": [_line(1, "p1", "acme", "blue")],
        "recommended": [{"sku": "p1", "vendor": "globex"}],
    },
    {"id": "o4", "buyer": {"id": "u2"}, "lines": [], "recommended": []},
]


def marketplace_specs(
    *,
    users: list[Record] | None = None,
    orders: list[Record] | None = None,
    root: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[SubgraphSpec]:
    """The three marketplace subgraphs with fresh copies of the data; ``root`` adds resolvers per subgraph."""
    sdls = load_subgraph_sdls("marketplace")
    user_records = copy.deepcopy(MARKET_USERS if users is None else users)
    products = copy.deepcopy(MARKET_PRODUCTS)
    variants = copy.deepcopy(MARKET_VARIANTS)
    order_records = copy.deepcopy(MARKET_ORDERS if orders is None else orders)
    extra = {name: dict(resolvers) for name, resolvers in (root or {}).items()}

    def product_by_key(key: Record) -> Record | None:
        return next((p for p in products if p["sku"] == key["sku"] and p["vendor"] == key["vendor"]), None)

    def variants_of(product: Record, _info: Any) -> list[Record]:
        return [v for v in variants if v["product"] == {"sku": product["sku"], "vendor": product["vendor"]}]

    def orders_of(user: Record, _info: Any) -> list[Record]:
        return [o for o in order_records if o["buyer"] is not None and o["buyer"]["id"] == user["id"]]

    return [
        SubgraphSpec(
            "accounts",
            sdls["accounts"],
            data={"User": user_records},
            root={
                "users": user_records,
                "user": lambda *_, id: next((u for u in user_records if u["id"] == id), None),
                **extra.get("accounts", {}),
            },
        ),
        SubgraphSpec(
            "catalog",
            sdls["catalog"],
            data={"Product": products, "Variant": variants},
            root={
                "products": products,
                "product": lambda *_, sku, vendor: product_by_key({"sku": sku, "vendor": vendor}),
                "Product.variants": variants_of,
                "Variant.product": lambda v, _info: product_by_key(v["product"]),
                **extra.get("catalog", {}),
            },
        ),
        SubgraphSpec(
            "orders",
            sdls["orders"],
            data={"Order": order_records},
            root={
                "orders": order_records,
                "order": lambda *_, id: next((o for o in order_records if o["id"] == id), None),
                "User.orders": orders_of,
                **extra.get("orders", {}),
            },
        ),
    ]


# ---------------------------------------------------------------------------
# tasks: tasks, people (operations, mutations)
# ---------------------------------------------------------------------------

TASK_USERS: list[Record] = [
    {"id": "u1", "name": "Ada Lovelace", "email": "ada@example.com"},
    {"id": "u2", "name": "Alan Turing", "email": "alan@example.com"},
]

TASKS: list[Record] = [
    {
        "id": "t1",
        "title": "Write tests",
        "priority": "HIGH",
        "due": "2024-05-01T09:00:00Z",
        "done": False,
        "meta": {"labels": ["qa", "e2e"], "estimate": {"hours": 3, "confidence": None}},
        "assignee": {"id": "u1"},
    },
    {
        "id": "t2",
        "title": "Fix planner",
        "priority": "MEDIUM",
        "due": None,
        "done": False,
        "meta": None,
        "assignee": {"id": "u2"},
    },
    {
        "id": "t3",
        "title": "Ship it",
        "priority": "LOW",
        "due": "2024-06-01T00:00:00Z",
        "done": True,
        "meta": [1, "two", {"three": 3.5}],
        "assignee": None,
    },
]

TASK_WATCHERS: dict[str, list[str]] = {"t1": ["u2"], "t2": ["u1", "u2"], "t3": []}


@dataclass
class TasksWorld:
    """The tasks system's mutable state, and the log of mutations as the subgraphs ran them."""

    users: list[Record]
    tasks: list[Record]
    log: list[tuple[str, str]]
    specs: list[SubgraphSpec]


def tasks_world() -> TasksWorld:
    sdls = load_subgraph_sdls("tasks")
    users = copy.deepcopy(TASK_USERS)
    tasks = copy.deepcopy(TASKS)
    log: list[tuple[str, str]] = []

    def find_task(id: str) -> Record | None:
        return next((t for t in tasks if t["id"] == id), None)

    def list_tasks(*_: Any, filter: Record | None = None, first: int) -> list[Record]:
        found = list(tasks)
        if filter:
            if filter.get("priorities") is not None:
                found = [t for t in found if t["priority"] in filter["priorities"]]
            if filter.get("dueBefore") is not None:
                found = [t for t in found if t["due"] is not None and t["due"] < filter["dueBefore"]]
            assignee = filter.get("assignee")
            if assignee and assignee.get("id") is not None:
                found = [t for t in found if t["assignee"] and t["assignee"]["id"] == assignee["id"]]
        return found[:first]

    def create_task(*_: Any, input: Record) -> Record:
        log.append(("createTask", input["title"]))
        task = {
            "id": f"t{len(tasks) + 1}",
            "title": input["title"],
            "priority": input["priority"],
            "due": input.get("due"),
            "done": False,
            "meta": input.get("meta"),
            "assignee": {"id": input["assigneeId"]} if input.get("assigneeId") else None,
        }
        tasks.append(task)
        return task

    def complete_task(*_: Any, id: str) -> Record | None:
        log.append(("completeTask", id))
        task = find_task(id)
        if task is not None:
            task["done"] = True
        return task

    def rename_user(*_: Any, id: str, name: str) -> Record:
        log.append(("renameUser", name))
        user = next(u for u in users if u["id"] == id)
        user["name"] = name
        return user

    def watchers(task: Record, _info: Any) -> list[Record]:
        return [next(u for u in users if u["id"] == i) for i in TASK_WATCHERS.get(task["id"], [])]

    specs = [
        SubgraphSpec(
            "people",
            sdls["people"],
            data={"User": users},
            root={
                "me": lambda *_: users[0],
                "users": lambda *_: users,
                "Mutation.renameUser": rename_user,
                "Task.watchers": watchers,
            },
        ),
        SubgraphSpec(
            "tasks",
            sdls["tasks"],
            data={"Task": tasks},
            root={
                "tasks": list_tasks,
                "task": lambda *_, id: find_task(id),
                "Mutation.createTask": create_task,
                "Mutation.completeTask": complete_task,
            },
        ),
    ]
    return TasksWorld(users, tasks, log, specs)


# ---------------------------------------------------------------------------
# Checks of the wiring and of the fixtures
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", GATEWAY_FIXTURES)
def test_fixture_supergraph_reads_and_subgraphs_build(name: str) -> None:
    model = read_supergraph(load_supergraph(name))
    sdls = load_subgraph_sdls(name)
    assert sorted(s.name for s in model.subgraphs.values()) == sorted(sdls)
    for subgraph, sdl in sdls.items():
        assert build_subgraph_schema(SubgraphSpec(subgraph, sdl)).query_type is not None


def _composer() -> tuple[str, str] | None:
    compose_dir = os.environ.get("COMPOSE_DIR")
    node = shutil.which("node")
    if (
        not node
        or not compose_dir
        or not (Path(compose_dir) / "node_modules" / "@apollo" / "composition").is_dir()
    ):
        return None
    return node, compose_dir


@pytest.mark.skipif(
    _composer() is None, reason="set COMPOSE_DIR to a folder whose node_modules has @apollo/composition"
)
@pytest.mark.parametrize("name", GATEWAY_FIXTURES)
def test_fixture_supergraph_is_up_to_date(name: str) -> None:
    composer = _composer()
    assert composer is not None
    node, compose_dir = composer
    result = subprocess.run(
        [node, str(FIXTURES_DIR / "compose.mjs"), str(SUPERGRAPHS_DIR / name)],
        cwd=compose_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == load_supergraph(name)


def test_health_and_a_first_query(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = start_gateway(serve_asgi, "marketplace", run_subgraphs(marketplace_specs()))
    status, _headers, text = http("GET", running.server.base_url + "/health")
    assert (status, text) == (200, '{"status":"ok"}')
    response = running.query('{ user(id: "u2") { id name } }')
    assert response.status == 200
    assert response.json == {"data": {"user": {"id": "u2", "name": "Alan Turing"}}}
    assert running.calls() == {"accounts": 1, "catalog": 0, "orders": 0}


def test_subgraph_urls_from_the_supergraph(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    """Without ``urls=``, the gateway calls the URLs written in the supergraph."""
    subgraphs = run_subgraphs(marketplace_specs())
    model = read_supergraph(with_subgraph_urls(load_supergraph("marketplace"), subgraph_urls(subgraphs)))
    server = serve_asgi(create_app(Gateway(model, HttpTransport(timeout=5))), lifespan="on")
    response = graphql_request(server.base_url + "/graphql", "{ orders { id } }")
    assert response.json == {"data": {"orders": [{"id": "o1"}, {"id": "o2"}, {"id": "o3"}, {"id": "o4"}]}}
    assert len(subgraphs["orders"].requests) == 1
