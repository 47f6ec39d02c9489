"""Test support: real Apollo Federation v2 subgraphs on loopback, servers in threads, supergraph fixtures."""

from __future__ import annotations

from .client import GraphQLResponse, fetch_entities, graphql_request, post_graphql
from .fixtures import (
    FIXTURES_DIR,
    SUPERGRAPHS_DIR,
    load_subgraph_sdls,
    load_supergraph,
    supergraph_names,
    with_subgraph_urls,
)
from .servers import RunningSubgraph, ServerThread, run_subgraphs, serve_asgi, start_subgraphs, stop_all
from .subgraph import MODES, Mode, RecordedRequest, SubgraphApp, SubgraphSpec, build_subgraph_schema

__all__ = [
    "FIXTURES_DIR",
    "MODES",
    "SUPERGRAPHS_DIR",
    "GraphQLResponse",
    "Mode",
    "RecordedRequest",
    "RunningSubgraph",
    "ServerThread",
    "SubgraphApp",
    "SubgraphSpec",
    "build_subgraph_schema",
    "fetch_entities",
    "graphql_request",
    "load_subgraph_sdls",
    "load_supergraph",
    "post_graphql",
    "run_subgraphs",
    "serve_asgi",
    "start_subgraphs",
    "stop_all",
    "supergraph_names",
    "with_subgraph_urls",
]
