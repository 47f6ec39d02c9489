"""Checks of the composed supergraph fixtures: they parse, their subgraphs run, and copies stay in sync."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLInterfaceType, build_schema

from support.client import fetch_entities, graphql_request
from support.fixtures import (
    FIXTURES_DIR,
    SUPERGRAPHS_DIR,
    load_subgraph_sdls,
    load_supergraph,
    supergraph_names,
    with_subgraph_urls,
)
from support.subgraph import SubgraphSpec, build_subgraph_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
SHOP_DIR = REPO_ROOT / "examples" / "shop"


def test_fixture_names() -> None:
    names = supergraph_names()
    assert names == sorted(names)
    assert {"media", "migration", "shop"} <= set(names)


@pytest.mark.parametrize("name", ["media", "migration", "shop"])
def test_supergraph_parses_and_subgraphs_build(name: str) -> None:
    supergraph = build_schema(load_supergraph(name))
    assert supergraph.query_type is not None
    sdls = load_subgraph_sdls(name)
    assert sdls
    for subgraph, sdl in sdls.items():
        schema = build_subgraph_schema(SubgraphSpec(subgraph, sdl))
        assert schema.query_type is not None
        assert f'name: "{subgraph}"' in load_supergraph(name)


def test_shop_fixture_matches_the_example() -> None:
    for subgraph, sdl in load_subgraph_sdls("shop").items():
        assert sdl == (SHOP_DIR / f"{subgraph}.graphql").read_text(encoding="utf-8"), subgraph
    assert load_supergraph("shop") == (SHOP_DIR / "supergraph.graphql").read_text(encoding="utf-8")
    assert (FIXTURES_DIR / "compose.mjs").read_bytes() == (SHOP_DIR / "compose.mjs").read_bytes()


def test_migration_fixture_has_plain_and_progressive_override() -> None:
    supergraph = load_supergraph("migration")
    assert '@join__field(graph: CUSTOMERS, override: "monolith")' in supergraph
    assert 'override: "monolith", overrideLabel: "percent(25)"' in supergraph


def test_media_fixture_has_interface_object() -> None:
    schema = build_schema(load_supergraph("media"))
    assert isinstance(schema.get_type("Media"), GraphQLInterfaceType)
    assert "isInterfaceObject: true" in load_supergraph("media")


def test_with_subgraph_urls() -> None:
    sdl = with_subgraph_urls(load_supergraph("shop"), {"reviews": "http://127.0.0.1:9/graphql"})
    assert '@join__graph(name: "reviews", url: "http://127.0.0.1:9/graphql")' in sdl
    assert '@join__graph(name: "accounts", url: "http://127.0.0.1:4101/graphql")' in sdl
    with pytest.raises(KeyError):
        with_subgraph_urls(sdl, {"nope": "http://127.0.0.1:1/graphql"})


def test_interface_object_round_trip(run_subgraphs: Any) -> None:
    """What a gateway does for ``topRated { title }``: reviews knows only Media ids, media knows the rest."""
    sdls = load_subgraph_sdls("media")
    media_data: dict[str, list[dict[str, Any]]] = {
        "Book": [{"id": "1", "title": "Dune", "author": "Herbert", "pages": 412}],
        "Movie": [{"id": "2", "title": "Alien", "director": "Scott", "minutes": 117}],
    }
    ratings = {"1": [4, 5], "2": [5, 5]}

    def top_rated(*_: Any, first: int = 3) -> list[dict[str, Any]]:
        best = sorted(ratings, key=lambda i: -sum(ratings[i]) / len(ratings[i]))
        return [{"id": i} for i in best[:first]]

    running = run_subgraphs(
        SubgraphSpec("media", sdls["media"], data=media_data),
        SubgraphSpec(
            "reviews",
            sdls["reviews"],
            root={
                "topRated": top_rated,
                "Media.averageRating": lambda m, _info: sum(ratings[m["id"]]) / len(ratings[m["id"]]),
                "Media.reviews": lambda m, _info: [
                    {"id": f"{m['id']}-{n}", "body": "ok", "rating": r}
                    for n, r in enumerate(ratings[m["id"]])
                ],
            },
        ),
    )
    top = graphql_request(running["reviews"].url, "{ topRated { __typename id averageRating } }").data[
        "topRated"
    ]
    assert top == [
        {"__typename": "Media", "id": "2", "averageRating": 5.0},
        {"__typename": "Media", "id": "1", "averageRating": 4.5},
    ]
    reps = [{"__typename": "Media", "id": m["id"]} for m in top]
    titles = fetch_entities(running["media"].url, reps, "__typename ... on Media { title }").data["_entities"]
    assert titles == [{"__typename": "Movie", "title": "Alien"}, {"__typename": "Book", "title": "Dune"}]
    # And the other way round: an interface-object entity in reviews.
    reviews = fetch_entities(
        running["reviews"].url, [{"__typename": "Media", "id": "1"}], "... on Media { reviews { rating } }"
    ).data["_entities"]
    assert reviews == [{"reviews": [{"rating": 4}, {"rating": 5}]}]


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
@pytest.mark.parametrize("name", ["media", "migration", "shop"])
def test_supergraph_is_up_to_date(name: str) -> None:
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
