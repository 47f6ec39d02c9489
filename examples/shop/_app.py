"""The HTTP side shared by the shop subgraphs: ariadne's ASGI GraphQL app at /graphql."""

from __future__ import annotations

from ariadne.asgi import GraphQL
from graphql import GraphQLSchema
from starlette.applications import Starlette
from starlette.routing import Route

GRAPHQL_PATH = "/graphql"


def graphql_app(schema: GraphQLSchema) -> Starlette:
    """POST /graphql executes operations; GET /graphql shows ariadne's GraphiQL explorer."""
    return Starlette(routes=[Route(GRAPHQL_PATH, GraphQL(schema), methods=["GET", "POST"])])
