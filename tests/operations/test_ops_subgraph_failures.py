"""Subgraphs that die, hang, answer garbage or 500, behind a real `turnout serve` process under load.

Operations that do not touch the failing subgraph never fail; those that do get the data the other subgraphs
gave, with an error naming the subgraph (and nothing of its internals), within the configured timeout; when the
subgraph comes back, answers are whole again without restarting the gateway.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from ops_support import (
    Operation,
    exact,
    gateway_process,
    restart,
    run_load,
    sleep_until,
    write_atomic,
    write_config,
)

from support.fixtures import load_supergraph, with_subgraph_urls
from support.servers import RunningSubgraph
from test_gateway_support import MARKET_ORDERS, MARKET_PRODUCTS, MARKET_USERS, marketplace_specs

RunSubgraphs = Callable[..., dict[str, RunningSubgraph]]

NAMES = {u["id"]: u["name"] for u in MARKET_USERS}
WHOLE_PRODUCTS = {
    "data": {"products": [{k: p[k] for k in ("sku", "vendor", "title", "price")} for p in MARKET_PRODUCTS]}
}
PRODUCTS = Operation(
    "products", "query Products { products { sku vendor title price } }", exact(WHOLE_PRODUCTS)
)
LINES = Operation(
    "lines",
    "query Lines { orders { id lines { quantity variant { color } } } }",
    exact(
        {
            "data": {
                "orders": [
                    {
                        "id": o["id"],
                        "lines": [
                            {"quantity": line["quantity"], "variant": {"color": line["variant"]["color"]}}
                            for line in o["lines"]
                        ],
                    }
                    for o in MARKET_ORDERS
                ]
            }
        }
    ),
)
BUYERS_QUERY = "query Buyers { orders { id buyer { name } } }"
WHOLE_BUYERS = {
    "data": {
        "orders": [
            {"id": o["id"], "buyer": {"name": NAMES[o["buyer"]["id"]]} if o["buyer"] else None}
            for o in MARKET_ORDERS
        ]
    }
}
PARTIAL_BUYERS = {"orders": [{"id": o["id"], "buyer": None} for o in MARKET_ORDERS]}
INTERNALS = (
    "Traceback",
    "127.0.0.1",
    "localhost",
    "aiohttp",
    "Errno",
    "<html",
    "502 Bad Gateway",
    "not json",
    "\x00",
    ".py",
    "ClientConnector",
    "Internal Server Error",
)


def clean_partial(body: Any, subgraph: str) -> str | None:
    """None when `body` is the orders without their buyers and errors that name `subgraph` and nothing internal."""
    if not isinstance(body, dict) or body.get("data") != PARTIAL_BUYERS:
        return f"not the partial answer: {str(body)[:300]}"
    errors = body.get("errors") or []
    if not errors:
        return "partial data without an error"
    for error in errors:
        message = str(error.get("message", ""))
        if subgraph not in message:
            return f"an error that does not name {subgraph}: {message}"
        shown = str(error)
        leaked = [marker for marker in INTERNALS if marker in shown]
        if leaked:
            return f"internals {leaked} in {shown}"
    return None


def market_supergraph(subgraphs: dict[str, RunningSubgraph], path: Path) -> Path:
    write_atomic(
        path, with_subgraph_urls(load_supergraph("marketplace"), {n: s.url for n, s in subgraphs.items()})
    )
    return path


def test_a_subgraph_killed_under_load(run_subgraphs: RunSubgraphs, tmp_path: Path) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    supergraph = market_supergraph(subgraphs, tmp_path / "supergraph.graphql")
    answers: list[tuple[float, str]] = []  # (second, "whole" | "partial") of the Buyers answers
    timeline: dict[str, Any] = {}

    def buyers(status: int, body: Any) -> str | None:
        second = time.monotonic() - timeline["started"]
        if status == 200 and body == WHOLE_BUYERS:
            answers.append((second, "whole"))
            return None
        problem = clean_partial(body, "accounts") if status == 200 else f"HTTP {status}"
        if problem is None:
            answers.append((second, "partial"))
            timeline.setdefault("example", body["errors"][0])
        return problem

    operations = [PRODUCTS, LINES, Operation("buyers", BUYERS_QUERY, buyers)]

    async def kill_and_revive(started: float) -> None:
        timeline["started"] = started
        await sleep_until(started, 3.0)
        # accounts is going down from here: it stops accepting at once, but its graceful stop may wait up to
        # 5 s for a request still running (seen once in CI, on a loaded machine)
        timeline["stopping"] = time.monotonic() - started
        await asyncio.to_thread(subgraphs["accounts"].server.stop)
        timeline["stopped"] = time.monotonic() - started
        await sleep_until(started, 6.0)
        await asyncio.to_thread(restart, subgraphs["accounts"])
        timeline["restarted"] = time.monotonic() - started

    with gateway_process(
        ["--supergraph", str(supergraph), "--subgraph-timeout", "5"], tmp_path / "gateway.log"
    ) as gateway:
        timeline["started"] = time.monotonic()
        stats = asyncio.run(
            run_load(
                gateway.url,
                lambda rng: rng.choice(operations),
                clients=20,
                duration=10,
                during=kill_and_revive,
            )
        )
        assert gateway.process.poll() is None  # the same process throughout: no restart
        log = gateway.log()

    print(
        f"\nsubgraph killed under load: {stats.summary()}; by operation {dict(stats.sent)}; "
        f"accounts stopped at {timeline['stopped']:.1f}s, back at {timeline['restarted']:.1f}s; "
        f"partial answers {sum(1 for _s, kind in answers if kind == 'partial')}, e.g. {timeline['example']}"
    )
    assert stats.failures == 0, (stats.summary(), stats.problems[:10])
    assert stats.sent["products"] > 50 and stats.sent["lines"] > 50
    partial = [second for second, kind in answers if kind == "partial"]
    assert partial, "no Buyers request ran while accounts was down"
    assert all(timeline["stopping"] - 0.5 <= second <= timeline["restarted"] + 1.0 for second in partial), (
        timeline
    )
    recovered = [kind for second, kind in answers if second > timeline["restarted"] + 1.0]
    assert len(recovered) > 10 and set(recovered) == {"whole"}
    assert "Traceback" not in log


@pytest.mark.parametrize("mode", ["hang", "garbage", "error500"])
def test_a_failing_subgraph_gives_clear_errors_within_the_timeout(
    run_subgraphs: RunSubgraphs, tmp_path: Path, mode: str
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    supergraph = market_supergraph(subgraphs, tmp_path / "supergraph.graphql")
    config = write_config(
        tmp_path / "turnout.yaml", {"subgraph_timeout": 10, "subgraphs": {"accounts": {"timeout": 1.0}}}
    )
    with gateway_process(
        ["--supergraph", str(supergraph), "--config", str(config)], tmp_path / "gateway.log"
    ) as gateway:
        subgraphs["accounts"].mode = mode  # type: ignore[assignment]

        async def ask(session: aiohttp.ClientSession, query: str) -> tuple[float, int, Any]:
            started = time.monotonic()
            async with session.post(gateway.url, json={"query": query}) as response:
                return time.monotonic() - started, response.status, await response.json()

        async def burst() -> list[tuple[float, int, Any]]:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
                return await asyncio.gather(
                    *(
                        ask(session, q)
                        for q in [BUYERS_QUERY] * 10 + ["{ users { id } }"] * 5 + [PRODUCTS.query] * 5
                    )
                )

        results = asyncio.run(burst())
        subgraphs["accounts"].mode = "ok"
        log = gateway.log()

    bound = 1.0 + 1.0 if mode == "hang" else 0.9  # the timeout (1 s), not the default (10 s); else at once
    slowest = max(seconds for seconds, _s, _b in results)
    print(f"\n{mode}: 20 concurrent requests, slowest answer {slowest * 1000:.0f} ms (accounts timeout 1 s)")
    assert slowest < bound
    if mode == "hang":
        assert min(seconds for seconds, _s, body in results[:15]) >= 0.95  # it did wait for the timeout
    for _seconds, status, body in results[:10]:
        assert status == 200 and clean_partial(body, "accounts") is None, body
    for _seconds, status, body in results[10:15]:  # a non-null root field of the failed subgraph: no data
        assert status == 200 and body["data"] is None and body["errors"], body
        assert all(
            "accounts" in e["message"] and not [m for m in INTERNALS if m in str(e)] for e in body["errors"]
        )
    for _seconds, status, body in results[15:]:  # another subgraph's: untouched
        assert (status, body) == (200, WHOLE_PRODUCTS)
    assert "Traceback" not in log
