"""In-flight deduplication of identical subgraph queries (off by default): concurrent identical queries share one
subgraph call, each caller with its own copy of the answer; mutations are always sent, each one; a caller that goes
away does not cancel the call for the others."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from pathlib import Path
from typing import Any

from support.fixtures import load_supergraph
from support.waiting import eventually
from test_gateway_support import RunSubgraphs, marketplace_specs, subgraph_urls, tasks_world
from turnout.assembly import build_gateway
from turnout.config import Config
from turnout.gateway import Gateway, GraphQLRequest
from turnout.supergraph.join_spec import read_supergraph
from turnout.transport.http import HttpTransport

USERS = "{ users { id name } }"


def gateway(fixture: str, subgraphs: Any, deduplicate: bool | Collection[str]) -> Gateway:
    model = read_supergraph(load_supergraph(fixture))
    return Gateway(model, HttpTransport(timeout=10, deduplicate=deduplicate), urls=subgraph_urls(subgraphs))


async def concurrently(gw: Gateway, query: str, times: int) -> list[dict[str, Any]]:
    try:
        return list(await asyncio.gather(*(gw.execute(GraphQLRequest(query=query)) for _ in range(times))))
    finally:
        await gw.client.close()


def test_identical_queries_in_flight_share_one_call(run_subgraphs: RunSubgraphs) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    accounts = subgraphs["accounts"]
    accounts.delay = 0.3  # all eight are in flight together
    answers = asyncio.run(concurrently(gateway("marketplace", subgraphs, True), USERS, 8))
    assert len(accounts.requests) == 1
    assert all(a == answers[0] for a in answers) and "errors" not in answers[0]
    assert len(answers[0]["data"]["users"]) >= 2
    # each caller got its own objects: changing one answer changes no other
    answers[0]["data"]["users"][0]["name"] = "changed"
    assert answers[1]["data"]["users"][0]["name"] != "changed"

    accounts.reset()
    accounts.delay = 0.3
    again = asyncio.run(concurrently(gateway("marketplace", subgraphs, False), USERS, 8))
    assert len(accounts.requests) == 8  # off: every query sent
    assert again[1] == answers[1]


def test_only_the_subgraphs_named(run_subgraphs: RunSubgraphs) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    subgraphs["accounts"].delay = 0.3
    asyncio.run(concurrently(gateway("marketplace", subgraphs, {"catalog"}), USERS, 4))
    assert len(subgraphs["accounts"].requests) == 4


def test_mutations_are_never_deduplicated(run_subgraphs: RunSubgraphs) -> None:
    world = tasks_world()
    subgraphs = run_subgraphs(world.specs)
    for subgraph in subgraphs.values():
        subgraph.delay = 0.2
    mutation = 'mutation { createTask(input: {title: "Same"}) { title } }'
    answers = asyncio.run(concurrently(gateway("tasks", subgraphs, True), mutation, 3))
    assert [a["data"]["createTask"]["title"] for a in answers] == ["Same"] * 3
    assert [entry for entry in world.log if entry[0] == "createTask"] == [("createTask", "Same")] * 3


def test_a_caller_that_goes_away_does_not_cancel_the_call_for_the_others(run_subgraphs: RunSubgraphs) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    subgraphs["accounts"].delay = 0.4

    async def run() -> dict[str, Any]:
        gw = gateway("marketplace", subgraphs, True)
        try:
            first = asyncio.create_task(gw.execute(GraphQLRequest(query=USERS)))
            await eventually(lambda: subgraphs["accounts"].requests, 5, describe="the call never left")
            second = asyncio.create_task(gw.execute(GraphQLRequest(query=USERS)))
            client = gw.client
            assert isinstance(client, HttpTransport)
            await eventually(lambda: client.deduplicated == 1, 5, describe="the second never joined the call")
            assert not first.done()
            first.cancel()  # the caller whose request started the call
            return await second
        finally:
            await gw.client.close()

    answer = asyncio.run(run())
    assert "errors" not in answer and answer["data"]["users"]
    assert len(subgraphs["accounts"].requests) == 1


def test_the_setting_globally_and_per_subgraph() -> None:
    names = ["accounts", "catalog", "orders"]
    assert Config().deduplicated_subgraphs(names) == set()
    on = Config.model_validate(
        {"deduplicate_queries": True, "subgraphs": {"orders": {"deduplicate_queries": False}}}
    )
    assert on.deduplicated_subgraphs(names) == {"accounts", "catalog"}
    one = Config.model_validate({"subgraphs": {"catalog": {"deduplicate_queries": True}}})
    assert one.deduplicated_subgraphs(names) == {"catalog"}


def test_turned_on_in_the_config(run_subgraphs: RunSubgraphs, tmp_path: Path) -> None:
    """From the config to the subgraph: the supergraph's subgraph names (not its enum values) are matched."""
    subgraphs = run_subgraphs(marketplace_specs())
    subgraphs["accounts"].delay = 0.3
    cfg = Config.model_validate(
        {
            "deduplicate_queries": True,
            "store": {"url": f"sqlite:///{tmp_path / 'turnout.db'}"},
            "subgraphs": {name: {"url": s.url} for name, s in subgraphs.items()},
        }
    )
    gw = build_gateway(cfg, read_supergraph(load_supergraph("marketplace")))
    answers = asyncio.run(concurrently(gw, USERS, 6))
    assert all(a == answers[0] for a in answers) and "errors" not in answers[0]
    assert len(subgraphs["accounts"].requests) == 1
