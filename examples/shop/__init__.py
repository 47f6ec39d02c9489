"""The example shop: three Federation 2 subgraphs (accounts, products, reviews) and their supergraph."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from graphql import GraphQLSchema
from starlette.types import ASGIApp

__all__ = [
    "DEFAULT_PORTS",
    "GRAPHQL_PATH",
    "SUBGRAPHS",
    "SUPERGRAPH_PATH",
    "app_for",
    "schema_for",
    "sdl_for",
    "supergraph_sdl",
]

HERE = Path(__file__).resolve().parent
SUBGRAPHS: tuple[str, ...] = ("accounts", "products", "reviews")
DEFAULT_PORTS: dict[str, int] = {"accounts": 4101, "products": 4102, "reviews": 4103}
GRAPHQL_PATH = "/graphql"
SUPERGRAPH_PATH = HERE / "supergraph.graphql"

_JOIN_GRAPH = re.compile(r'(@join__graph\(\s*name:\s*"(?P<name>[^"]+)"\s*,\s*url:\s*")(?P<url>[^"]*)(")')


def _module(name: str) -> ModuleType:
    if name not in SUBGRAPHS:
        raise KeyError(f"unknown shop subgraph {name!r}; expected one of {', '.join(SUBGRAPHS)}")
    return importlib.import_module(f"{__name__}.{name}")


def app_for(name: str) -> ASGIApp:
    """The ASGI app of subgraph ``name``, serving GraphQL at ``/graphql``."""
    app: ASGIApp = _module(name).app
    return app


def schema_for(name: str) -> GraphQLSchema:
    """The executable federated schema of subgraph ``name``."""
    schema: GraphQLSchema = _module(name).schema
    return schema


def sdl_for(name: str) -> str:
    """The Federation 2 SDL of subgraph ``name`` (as in ``<name>.graphql``)."""
    return (HERE / f"{_module(name).__name__.rsplit('.', 1)[-1]}.graphql").read_text(encoding="utf-8")


def supergraph_sdl(urls: Mapping[str, str] | None = None) -> str:
    """The composed supergraph; ``urls`` (subgraph name -> URL) replace the 127.0.0.1:410x placeholders."""
    sdl = SUPERGRAPH_PATH.read_text(encoding="utf-8")
    if not urls:
        return sdl
    unknown = set(urls) - set(SUBGRAPHS)
    if unknown:
        raise KeyError(f"unknown shop subgraphs: {sorted(unknown)}")
    return _JOIN_GRAPH.sub(lambda m: m.group(1) + urls.get(m.group("name"), m.group("url")) + m.group(4), sdl)
