"""Supergraph hot reload: `turnout serve` swaps supergraphs under load without failing a request.

The gateway runs as a real `turnout serve` process polling its supergraph file (or URL); the test rewrites the
file while 20 clients keep asking, and checks every answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ops_support import (
    Operation,
    exact,
    gateway_process,
    run_load,
    sleep_until,
    write_atomic,
)
from ops_support import (
    classroom_world as classroom_setup,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from support.client import graphql_request
from support.fixtures import load_supergraph, with_subgraph_urls
from support.servers import RunningSubgraph, ServerThread
from support.waiting import eventually, wait_until
from test_gateway_support import MARKET_ORDERS, MARKET_PRODUCTS, MARKET_USERS, marketplace_specs
from turnout.gateway import Gateway, GraphQLRequest
from turnout.migration.store import Store
from turnout.reload import GatewayHolder, SupergraphReloader, SupergraphSource
from turnout.supergraph.join_spec import read_supergraph
from turnout.transport.http import HttpTransport

RunSubgraphs = Callable[..., dict[str, RunningSubgraph]]
ServeAsgi = Callable[..., ServerThread]

NICKNAME = '  """null for users without a nickname."""\n  nickname: String @join__field(graph: ACCOUNTS)\n'


def marketplace_versions(subgraphs: dict[str, RunningSubgraph]) -> tuple[str, str]:
    """v1 without `User.nickname`, v2 with it; both serve everything else."""
    v2 = with_subgraph_urls(load_supergraph("marketplace"), {n: s.url for n, s in subgraphs.items()})
    assert NICKNAME in v2
    return v2.replace(NICKNAME, ""), v2


def marketplace_operations() -> list[Operation]:
    users = {"data": {"users": [{"id": u["id"], "name": u["name"]} for u in MARKET_USERS]}}
    products = {
        "data": {
            "products": [{k: p[k] for k in ("sku", "vendor", "title", "price")} for p in MARKET_PRODUCTS]
        }
    }
    names = {u["id"]: u["name"] for u in MARKET_USERS}
    stock = {
        ("p1", "acme", "red"): 3,
        ("p1", "acme", "blue"): 0,
        ("p1", "globex", "red"): 7,
        ("p2", "acme", "black"): 1,
    }
    orders = {
        "data": {
            "orders": [
                {
                    "id": o["id"],
                    "buyer": {"name": names[o["buyer"]["id"]]} if o["buyer"] else None,
                    "lines": [
                        {
                            "quantity": line["quantity"],
                            "variant": {
                                "color": line["variant"]["color"],
                                "stock": stock[
                                    (
                                        line["variant"]["product"]["sku"],
                                        line["variant"]["product"]["vendor"],
                                        line["variant"]["color"],
                                    )
                                ],
                            },
                        }
                        for line in o["lines"]
                    ],
                }
                for o in MARKET_ORDERS
            ]
        }
    }
    return [
        Operation("users", "query Users { users { id name } }", exact(users)),
        Operation("products", "query Products { products { sku vendor title price } }", exact(products)),
        Operation(
            "orders",
            "query Orders { orders { id buyer { name } lines { quantity variant { color stock } } } }",
            exact(orders),
        ),
    ]


NICKNAMES = "{ users { id nickname } }"


def test_supergraph_reloads_under_load_without_a_failed_request(
    run_subgraphs: RunSubgraphs, tmp_path: Path
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    v1, v2 = marketplace_versions(subgraphs)
    supergraph = tmp_path / "supergraph.graphql"
    write_atomic(supergraph, v1)
    operations = marketplace_operations()
    writes: list[tuple[float, str]] = []

    with gateway_process(
        ["--supergraph", str(supergraph), "--reload-interval", "0.25", "--log-level", "info"],
        tmp_path / "gateway.log",
    ) as gateway:
        before = graphql_request(gateway.url, NICKNAMES)
        assert "Cannot query field 'nickname'" in before.errors[0]["message"]

        async def rewrite(started: float) -> None:
            """v2, v1, v2... every 0.6 s; at 5 s, half a supergraph (an interrupted upload) then an empty file."""
            second, version = 0.6, 1
            while second < 9.4:
                await sleep_until(started, second)
                if 5.0 <= second < 6.2:
                    write_atomic(supergraph, v2[: len(v2) // 2] if second < 5.6 else "")
                    writes.append((second, "broken"))
                else:
                    version = 2 if version == 1 else 1
                    write_atomic(supergraph, v2 if version == 2 else v1)
                    writes.append((second, f"v{version}"))
                second = round(second + 0.6, 1)
            if version == 1:  # end on the version with the new field
                await sleep_until(started, 9.5)
                write_atomic(supergraph, v2)
                writes.append((9.5, "v2"))

        stats = asyncio.run(
            run_load(
                gateway.url, lambda rng: rng.choice(operations), clients=20, duration=10.5, during=rewrite
            )
        )
        print(f"\nreload under load: {stats.summary()}; writes: {len(writes)}")
        assert stats.total > 500, stats.summary()
        assert stats.failures == 0, (stats.summary(), stats.problems[:10])

        wait_until(lambda: not graphql_request(gateway.url, NICKNAMES).errors, 5, interval=0.1)
        after = graphql_request(gateway.url, NICKNAMES)
        assert after.json == {
            "data": {"users": [{"id": u["id"], "nickname": u["nickname"]} for u in MARKET_USERS]}
        }
        log = gateway.log()

    swaps = log.count("now serving supergraph")
    good_writes = sum(1 for _s, kind in writes if kind != "broken")
    print(f"swaps: {swaps} of {good_writes} good writes; refused: {log.count('refused supergraph')}")
    # each good write is a change the 0.25 s poller sees: one swap each
    assert swaps >= good_writes - 1, log
    # both broken contents were refused, once each, with the reason, and the old supergraph kept serving
    refusals = [line for line in log.splitlines() if "refused supergraph" in line]
    refused_versions = [re.search(r"\((\w{12})\)", line).group(1) for line in refusals]  # type: ignore[union-attr]
    assert 1 <= len(refusals) <= 2 and len(set(refused_versions)) == len(refusals), log  # once per content
    assert all("still serving supergraph" in line for line in refusals)
    assert any("line " in line for line in refusals)  # the parse error names the line
    assert "Traceback" not in log
    assert log.count("closed the gateway of supergraph") >= swaps - 1  # replaced gateways were closed


class _SupergraphServer:
    """Serves a supergraph over HTTP with an ETag, answers 304 to If-None-Match, or fails on demand."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.status = 200
        self.requests: list[dict[str, str]] = []
        self.app = Starlette(routes=[Route("/supergraph.graphql", self.serve)])

    async def serve(self, request: Request) -> Response:
        self.requests.append({k.lower(): v for k, v in request.headers.items()})
        if self.status != 200:
            return PlainTextResponse("unavailable", status_code=self.status)
        etag = '"' + hashlib.sha256(self.text.encode()).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"etag": etag})
        return PlainTextResponse(self.text, headers={"etag": etag})


def test_supergraph_from_a_url_is_polled_with_its_etag(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi, tmp_path: Path
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    v1, v2 = marketplace_versions(subgraphs)
    source = _SupergraphServer(v1)
    server = serve_asgi(source.app)
    # credentials and a query string in the URL never reach the log
    url = f"http://deploy:s3cr3t-pass@127.0.0.1:{server.port}/supergraph.graphql?token=abc123secret"

    with gateway_process(
        ["--supergraph", url, "--reload-interval", "0.2", "--log-level", "info"], tmp_path / "gateway.log"
    ) as gateway:
        # polled, and answered 304: nothing rebuilt
        wait_until(lambda: len([r for r in source.requests if "if-none-match" in r]) >= 3, 5)
        assert graphql_request(gateway.url, NICKNAMES).errors

        source.status = 503  # the URL fails: logged once, the old supergraph keeps serving
        failing_from = len(source.requests)
        wait_until(lambda: len(source.requests) >= failing_from + 3, 5, describe="not polled while failing")
        assert graphql_request(gateway.url, "{ users { id } }").json == {
            "data": {"users": [{"id": u["id"]} for u in MARKET_USERS]}
        }

        source.status, source.text = 200, v2
        wait_until(lambda: not graphql_request(gateway.url, NICKNAMES).errors, 5, interval=0.1)
        assert graphql_request(gateway.url, NICKNAMES).data["users"][0] == {
            "id": "u1",
            "nickname": "countess",
        }
        log = gateway.log()

    assert log.count("HTTP 503") == 1, log  # once per distinct problem, not at every poll
    assert "can be read again" in log and log.count("now serving supergraph") == 1
    assert "s3cr3t-pass" not in log and "abc123secret" not in log and "deploy:" not in log


def test_a_swap_lets_running_requests_finish_on_the_old_gateway(
    run_subgraphs: RunSubgraphs, tmp_path: Path
) -> None:
    """In process: a slow request leased before a swap completes on the old gateway, which closes only then."""
    subgraphs = run_subgraphs(marketplace_specs())
    v1, v2 = marketplace_versions(subgraphs)

    def build(text: str) -> Gateway:
        return Gateway(read_supergraph(text), HttpTransport(timeout=5))

    async def scenario(tmp: Path) -> None:
        path = tmp / "supergraph.graphql"
        write_atomic(path, v1)
        source = SupergraphSource(str(path))
        first = source.read()
        old = build(first.text)
        holder = GatewayHolder(old, version=first.version, drain_timeout=10)
        reloader = SupergraphReloader(holder, source, build, interval=0)
        await holder.start()
        subgraphs["accounts"].app.delay = 1.0

        async def slow() -> dict[str, Any]:
            with holder.lease() as gateway:
                return await gateway.execute(GraphQLRequest(query="{ users { id } }"))

        asked = len(subgraphs["accounts"].requests)
        running = asyncio.create_task(slow())
        await eventually(lambda: len(subgraphs["accounts"].requests) > asked, 5, describe="never sent")
        write_atomic(path, v2)
        assert await reloader.check()
        assert holder.gateway is not old and holder.retiring == 1
        subgraphs["accounts"].app.delay = 0.0
        # new requests see the new supergraph at once, while the slow one still runs on the old
        with holder.lease() as gateway:
            assert await gateway.execute(GraphQLRequest(query=NICKNAMES)) == {
                "data": {"users": [{"id": u["id"], "nickname": u["nickname"]} for u in MARKET_USERS]}
            }
        assert not running.done() and holder.retiring == 1
        assert await running == {"data": {"users": [{"id": u["id"]} for u in MARKET_USERS]}}
        await eventually(lambda: holder.retiring == 0, 1, describe="not closed once its request was done")
        assert holder.current.in_flight == 0
        # unchanged file: no reload; a broken one: refused
        assert not await reloader.check()
        write_atomic(path, "type Query {")
        assert not await reloader.check() and reloader.refused == 1
        await holder.close(5)

    asyncio.run(scenario(tmp_path))


@pytest.fixture
def classroom_world(run_subgraphs: RunSubgraphs, tmp_path: Path) -> dict[str, Any]:
    return classroom_setup(run_subgraphs, tmp_path, refresh_interval=0.5)


BOARD = "query Board { assignments { id title createdDate tags } }"


def _comparisons(store_url: str) -> int:
    with Store.open(store_url) as store:
        return store.evidence("assignments").comparisons


def _metric(text: str, name: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def test_reload_keeps_the_migration_engine_and_its_evidence(
    classroom_world: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "supergraph.graphql"
    write_atomic(path, classroom_world["supergraph"])
    store_url = classroom_world["store_url"]
    args = [
        "--supergraph",
        str(path),
        "--config",
        str(classroom_world["config"]),
        "--reload-interval",
        "0.2",
        "--log-level",
        "info",
    ]
    with gateway_process(args, tmp_path / "gateway.log") as gateway:
        for _ in range(5):
            assert not graphql_request(gateway.url, BOARD, headers={"x-user": "u1"}).errors
        wait_until(lambda: _comparisons(store_url) >= 5, 5, interval=0.1)
        assert _comparisons(store_url) == 5
        requests_before = _metric(asyncio.run(_text(gateway.base_url + "/metrics")), "turnout_requests_total")

        # a new supergraph (same graph, new text): a new engine on the same store and recorder
        write_atomic(path, classroom_world["supergraph"] + "\n# v2\n")
        wait_until(lambda: gateway.count("now serving supergraph") == 1, 5, describe=gateway.log)
        for _ in range(5):
            assert not graphql_request(gateway.url, BOARD, headers={"x-user": "u1"}).errors
        wait_until(lambda: _comparisons(store_url) >= 10, 5, interval=0.1)
        assert _comparisons(store_url) == 10  # side_by_side goes on after the reload
        metrics = asyncio.run(_text(gateway.base_url + "/metrics"))
        assert (
            _metric(metrics, "turnout_requests_total") == requests_before + 5
        )  # counters kept across reloads
        dashboard = asyncio.run(_text(gateway.admin_url + "/migrations/api"))
        assert '"assignments"' in dashboard and "side_by_side" in dashboard

        # a supergraph without a migrating field does not fit the migrations: refused, the current one serves
        without_tags = classroom_world["supergraph"].replace("  tags: [String!]!\n", "", 1)
        write_atomic(path, without_tags)
        wait_until(lambda: gateway.count("refused supergraph") == 1, 5, describe=gateway.log)
        assert not graphql_request(gateway.url, BOARD, headers={"x-user": "u1"}).errors
        log = gateway.log()
    refusal = next(line for line in log.splitlines() if "refused supergraph" in line)
    assert "Assignment.tags is not a field of the supergraph" in refusal


async def _text(url: str) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.text()
