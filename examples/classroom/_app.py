"""The HTTP side shared by the classroom subgraphs: ariadne's ASGI GraphQL app at /graphql."""

from __future__ import annotations

from ariadne.asgi import GraphQL
from graphql import GraphQLSchema
from starlette.applications import Starlette
from starlette.routing import Route

__all__ = ["GRAPHQL_PATH", "graphql_app", "resolver_logger"]

GRAPHQL_PATH = "/graphql"


def resolver_logger(name: str) -> str:
    """The logger the resolver errors of subgraph ``name`` go to (with their tracebacks)."""
    return f"examples.classroom.{name}"


def graphql_app(schema: GraphQLSchema, name: str) -> Starlette:
    """POST /graphql executes operations; GET /graphql shows ariadne's GraphiQL explorer."""
    graphql = GraphQL(schema, logger=resolver_logger(name))
    return Starlette(routes=[Route(GRAPHQL_PATH, graphql, methods=["GET", "POST"])])
