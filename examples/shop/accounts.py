"""The accounts subgraph of the example shop: users (entity User @key(fields: "id"))."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ariadne import QueryType
from ariadne.contrib.federation import FederatedObjectType, make_federated_schema
from graphql import GraphQLResolveInfo

from ._app import graphql_app
from .data import USERS, USERS_BY_ID, Record

SDL = (Path(__file__).parent / "accounts.graphql").read_text(encoding="utf-8")
ME_ID = "1"

query = QueryType()
user = FederatedObjectType("User")


@query.field("me")
def resolve_me(*_: Any) -> Record:
    return USERS_BY_ID[ME_ID]


@query.field("users")
def resolve_users(*_: Any, first: int | None = None) -> list[Record]:
    return USERS if first is None else USERS[: max(first, 0)]


@query.field("user")
def resolve_user(*_: Any, id: str) -> Record | None:
    return USERS_BY_ID.get(id)


@user.reference_resolver
def resolve_user_reference(_: Any, _info: GraphQLResolveInfo, representation: Record) -> Record | None:
    return USERS_BY_ID.get(str(representation["id"]))


schema = make_federated_schema(SDL, query, user)
app = graphql_app(schema)
