"""Checks of the example shop in examples/shop: its subgraphs answer like the supergraph promises."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.client import fetch_entities, graphql_request
from support.servers import RunningSubgraph, serve_asgi
from support.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_app_for_every_subgraph() -> None:
    from examples import shop

    for name in shop.SUBGRAPHS:
        with serve_asgi(shop.app_for(name), name=name) as server:
            response = graphql_request(server.base_url + shop.GRAPHQL_PATH, "{ _service { sdl } }")
            assert response.status == 200
            assert response.data["_service"]["sdl"].startswith("extend schema")
    with pytest.raises(KeyError):
        shop.app_for("inventory")


def test_supergraph_sdl_urls() -> None:
    from examples import shop

    sdl = shop.supergraph_sdl({"products": "http://127.0.0.1:5555/graphql"})
    assert '@join__graph(name: "products", url: "http://127.0.0.1:5555/graphql")' in sdl
    assert '@join__graph(name: "accounts", url: "http://127.0.0.1:4101/graphql")' in sdl


def test_shop_plan_by_hand(shop_subgraphs: dict[str, RunningSubgraph]) -> None:
    """The fetches a gateway would make for topProducts { name valueScore reviews { author { name } } }."""
    accounts, products, reviews = (shop_subgraphs[n] for n in ("accounts", "products", "reviews"))

    top = graphql_request(products.url, "{ topProducts(first: 3) { upc name price } }").data["topProducts"]
    assert [p["upc"] for p in top] == ["0001", "0002", "0003"]

    reps = [{"__typename": "Product", "upc": p["upc"], "price": p["price"]} for p in top]
    scored = fetch_entities(
        reviews.url, reps, "... on Product { valueScore averageRating reviews { author { id username } } }"
    ).data["_entities"]
    assert len(scored) == 3
    for product, entity in zip(top, scored, strict=True):
        if entity["averageRating"] is None:
            assert entity["valueScore"] is None
        else:
            assert entity["valueScore"] == round(entity["averageRating"] / (product["price"] / 100), 4)

    authors = {r["author"]["id"]: r["author"]["username"] for e in scored for r in e["reviews"]}
    assert authors
    users = fetch_entities(
        accounts.url, [{"__typename": "User", "id": i} for i in authors], "... on User { id username name }"
    ).data["_entities"]
    # reviews @provides username: its copy agrees with the owner's.
    assert {u["id"]: u["username"] for u in users} == authors
    assert [len(s.requests) for s in (accounts, products, reviews)] == [1, 1, 1]


def test_shop_feedback_interface(shop_subgraphs: dict[str, RunningSubgraph]) -> None:
    query = """
    { latestFeedback(first: 6) { __typename id body author { id username } product { upc }
        ... on Review { rating } ... on Question { answer } } }
    """
    feedback = graphql_request(shop_subgraphs["reviews"].url, query).data["latestFeedback"]
    assert len(feedback) == 6
    assert {f["__typename"] for f in feedback} == {"Review", "Question"}
    me = graphql_request(shop_subgraphs["accounts"].url, "{ me { id username } }")
    assert me.data == {"me": {"id": "1", "username": "ada1"}}
    counts = fetch_entities(
        shop_subgraphs["reviews"].url,
        [{"__typename": "User", "id": "1"}],
        "... on User { feedbackCount reviews { id } }",
    ).data["_entities"][0]
    assert counts["feedbackCount"] >= len(counts["reviews"]) > 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_module_runs_a_subgraph() -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "examples.shop.serve",
            "products",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/graphql"

        def answered() -> Any:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            return graphql_request(url, '{ product(upc: "0002") { name category } }', timeout=2)

        result = wait_until(
            answered, 30, interval=0.1, ignoring=(OSError,), describe="the example never answered"
        )
        assert result.data == {"product": {"name": "Chef Knife", "category": "KITCHEN"}}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        finally:
            if process.stdout:
                process.stdout.close()
