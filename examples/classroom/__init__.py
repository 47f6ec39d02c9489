"""The classroom: a monolith subgraph and two new services (assignments, progress) taking fields over from it."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from graphql import GraphQLSchema
from starlette.types import ASGIApp

from ._app import GRAPHQL_PATH

__all__ = [
    "DEFAULT_PORTS",
    "GRAPHQL_PATH",
    "MIGRATIONS_PATH",
    "SUBGRAPHS",
    "SUPERGRAPH_PATH",
    "app_for",
    "default_urls",
    "schema_for",
    "sdl_for",
    "supergraph_sdl",
]

HERE = Path(__file__).resolve().parent
# The order of the placeholder ports in supergraph.graphql: monolith 4201, assignments 4202, progress 4203.
SUBGRAPHS: tuple[str, ...] = ("monolith", "assignments", "progress")
DEFAULT_PORTS: dict[str, int] = {"monolith": 4201, "assignments": 4202, "progress": 4203}
SUPERGRAPH_PATH = HERE / "supergraph.graphql"
MIGRATIONS_PATH = HERE / "migrations.yaml"

_JOIN_GRAPH = re.compile(r'(@join__graph\(\s*name:\s*"(?P<name>[^"]+)"\s*,\s*url:\s*")(?P<url>[^"]*)(")')


def _module(name: str) -> ModuleType:
    if name not in SUBGRAPHS:
        raise KeyError(f"unknown classroom subgraph {name!r}; expected one of {', '.join(SUBGRAPHS)}")
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
    _module(name)
    return (HERE / f"{name}.graphql").read_text(encoding="utf-8")


def default_urls(host: str = "127.0.0.1") -> dict[str, str]:
    """Subgraph name -> ``http://HOST:PORT/graphql`` on the default ports."""
    return {name: f"http://{host}:{port}{GRAPHQL_PATH}" for name, port in DEFAULT_PORTS.items()}


def supergraph_sdl(urls: Mapping[str, str] | None = None) -> str:
    """The composed supergraph; ``urls`` (subgraph name -> URL) replace the 127.0.0.1:420x placeholders."""
    sdl = SUPERGRAPH_PATH.read_text(encoding="utf-8")
    if not urls:
        return sdl
    unknown = set(urls) - set(SUBGRAPHS)
    if unknown:
        raise KeyError(f"unknown classroom subgraphs: {sorted(unknown)}")
    return _JOIN_GRAPH.sub(lambda m: m.group(1) + urls.get(m.group("name"), m.group("url")) + m.group(4), sdl)
