"""`turnout serve --supergraph supergraph.yaml`: the gateway composes its subgraphs itself and serves them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from support.client import graphql_request
from support.servers import RunningSubgraph
from support.subgraph import SubgraphSpec
from turnout.cli import ServeError, serving_app
from turnout.cli.serving import SWITCH_INTERVAL
from turnout.config import load_config
from turnout.reload import ComposedSource, SourceError, open_source

HEADER = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'
USERS = HEADER + 'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String }\n'
REVIEWS = HEADER + 'type User @key(fields: "id") { id: ID! reviews: [String!]! }\n'


def _config(tmp_path: Path, running: dict[str, RunningSubgraph]) -> Path:
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        "subgraphs:\n"
        + "".join(
            f"  {name}:\n    routing_url: {r.url}\n    schema:\n      subgraph_url: {r.url}\n"
            for name, r in running.items()
        ),
        encoding="utf-8",
    )
    return config


def test_serve_composes_a_supergraph_yaml(tmp_path: Path, run_subgraphs: Any, serve_asgi: Any) -> None:
    running = run_subgraphs(
        SubgraphSpec(
            "users",
            USERS,
            data={"User": [{"id": "1", "name": "Ada"}]},
            root={"me": {"id": "1", "name": "Ada"}},
        ),
        SubgraphSpec("reviews", REVIEWS, data={"User": [{"id": "1", "reviews": ["fine", "great"]}]}),
    )
    cfg = load_config(
        None, overrides={("supergraph",): str(_config(tmp_path, running)), ("reload_interval",): 0}
    )
    sys.setswitchinterval(0.005)  # Python's default
    server = serve_asgi(serving_app(cfg), lifespan="on")
    # the serving process hands the GIL back to its event loop sooner than Python's default (cli/serving.py)
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    response = graphql_request(server.base_url + "/graphql", "{ me { name reviews } }")
    assert response.json == {"data": {"me": {"name": "Ada", "reviews": ["fine", "great"]}}}


def test_a_composition_that_fails_is_refused_with_its_errors(tmp_path: Path, run_subgraphs: Any) -> None:
    running = run_subgraphs(SubgraphSpec("users", USERS), SubgraphSpec("again", USERS))
    cfg = load_config(None, overrides={("supergraph",): str(_config(tmp_path, running))})
    with pytest.raises(ServeError, match=r"INVALID_FIELD_SHARING.*Query\.me"):
        serving_app(cfg)


def test_composed_source_reports_a_change_once(tmp_path: Path) -> None:
    (tmp_path / "users.graphql").write_text(USERS, encoding="utf-8")
    config = tmp_path / "supergraph.yml"
    config.write_text(
        "subgraphs:\n  users:\n    routing_url: http://127.0.0.1:9/graphql\n    schema:\n"
        "      file: users.graphql\n",
        encoding="utf-8",
    )
    source = open_source(str(config))
    assert isinstance(source, ComposedSource)
    first = source.read()
    assert "join__Graph" in first.text and source.changed() is None
    assert source.compositions == 1  # unchanged subgraphs are not composed again
    (tmp_path / "users.graphql").write_text(USERS.replace("name: String", "name: String age: Int"), "utf-8")
    changed = source.changed()
    assert changed is not None and "age: Int" in changed.text and source.changed() is None
    (tmp_path / "users.graphql").write_text("type Query {", encoding="utf-8")
    with pytest.raises(SourceError, match="INVALID_GRAPHQL"):
        source.changed()


FED1_USERS = 'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String }\n'
FED1_REVIEWS = 'extend type User @key(fields: "id") {\n  id: ID! @external\n  reviews: [String!]!\n}\n'


def test_federation_1_subgraphs_composed_and_served(
    tmp_path: Path, run_subgraphs: Any, serve_asgi: Any
) -> None:
    running = run_subgraphs(
        SubgraphSpec(
            "users",
            FED1_USERS,
            data={"User": [{"id": "1", "name": "Ada"}]},
            root={"me": {"id": "1", "name": "Ada"}},
        ),
        SubgraphSpec("reviews", FED1_REVIEWS, data={"User": [{"id": "1", "reviews": ["fine"]}]}),
    )
    cfg = load_config(
        None, overrides={("supergraph",): str(_config(tmp_path, running)), ("reload_interval",): 0}
    )
    server = serve_asgi(serving_app(cfg), lifespan="on")
    response = graphql_request(server.base_url + "/graphql", "{ me { name reviews } }")
    assert response.json == {"data": {"me": {"name": "Ada", "reviews": ["fine"]}}}
    [fetch] = [r for r in running["reviews"].requests if "_entities" in (r.query or "")]
    assert fetch.representations == [{"__typename": "User", "id": "1"}]


def test_loading_sdls_from_inside_an_event_loop(tmp_path: Path) -> None:
    """`serve --workers N` composes in uvicorn's app factory, where an event loop already runs."""
    import asyncio

    from turnout.compose import load_sdls, read_config

    (tmp_path / "users.graphql").write_text(USERS, encoding="utf-8")
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        "subgraphs:\n  users:\n    routing_url: http://127.0.0.1:9/graphql\n    schema:\n"
        "      file: users.graphql\n",
        encoding="utf-8",
    )

    async def inside() -> list[str]:
        return [i.sdl for i in load_sdls(read_config(config))]

    assert asyncio.run(inside()) == [USERS]


def test_composed_source_sees_a_changed_service_sdl(tmp_path: Path, serve_asgi: Any) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    current = {"sdl": USERS}

    async def endpoint(request: Request) -> JSONResponse:
        body = await request.json()
        assert "_service" in body["query"]
        return JSONResponse({"data": {"_service": {"sdl": current["sdl"]}}})

    server = serve_asgi(Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])]))
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        f"subgraphs:\n  users:\n    routing_url: {server.base_url}/graphql\n    schema:\n"
        f"      subgraph_url: {server.base_url}/graphql\n",
        encoding="utf-8",
    )
    source = ComposedSource(str(config))
    assert "age" not in source.read().text and source.changed() is None
    current["sdl"] = USERS.replace("name: String", "name: String age: Int")
    changed = source.changed()
    assert changed is not None and "age: Int" in changed.text
