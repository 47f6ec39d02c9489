"""The products subgraph of the example shop: the catalogue (entity Product @key(fields: "upc"))."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ariadne import QueryType
from ariadne.contrib.federation import FederatedObjectType, make_federated_schema
from graphql import GraphQLResolveInfo

from ._app import graphql_app
from .data import PRODUCTS, PRODUCTS_BY_UPC, Record

SDL = (Path(__file__).parent / "products.graphql").read_text(encoding="utf-8")

query = QueryType()
product = FederatedObjectType("Product")


@query.field("topProducts")
def resolve_top_products(*_: Any, first: int = 5) -> list[Record]:
    return PRODUCTS[: max(first, 0)]


@query.field("product")
def resolve_product(*_: Any, upc: str) -> Record | None:
    return PRODUCTS_BY_UPC.get(upc)


@product.reference_resolver
def resolve_product_reference(_: Any, _info: GraphQLResolveInfo, representation: Record) -> Record | None:
    return PRODUCTS_BY_UPC.get(str(representation["upc"]))


schema = make_federated_schema(SDL, query, product)
app = graphql_app(schema)
