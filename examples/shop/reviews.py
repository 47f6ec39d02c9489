"""The reviews subgraph of the example shop: reviews and questions (interface Feedback) on users and products."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ariadne import InterfaceType, QueryType
from ariadne.contrib.federation import FederatedObjectType, make_federated_schema
from graphql import GraphQLResolveInfo

from ._app import graphql_app
from .data import QUESTIONS, REVIEWS, Record

SDL = (Path(__file__).parent / "reviews.graphql").read_text(encoding="utf-8")

FEEDBACK: list[Record] = sorted(REVIEWS + QUESTIONS, key=lambda f: f["posted"], reverse=True)
REVIEWS_BY_ID: dict[str, Record] = {r["id"]: r for r in REVIEWS}

query = QueryType()
feedback = InterfaceType("Feedback")
user = FederatedObjectType("User")
product = FederatedObjectType("Product")


@query.field("latestFeedback")
def resolve_latest_feedback(*_: Any, first: int = 5) -> list[Record]:
    return FEEDBACK[: max(first, 0)]


@query.field("review")
def resolve_review(*_: Any, id: str) -> Record | None:
    return REVIEWS_BY_ID.get(id)


@feedback.type_resolver
def resolve_feedback_type(obj: Record, *_: Any) -> str:
    return str(obj["__typename"])


# Users and products are owned elsewhere: an entity here is just its key (plus, for
# Product, the @requires'd price the gateway sends along).
@user.reference_resolver
def resolve_user_reference(_: Any, _info: GraphQLResolveInfo, representation: Record) -> Record:
    return {"id": str(representation["id"])}


@user.field("reviews")
def resolve_user_reviews(obj: Record, *_: Any) -> list[Record]:
    return [r for r in REVIEWS if r["author"]["id"] == obj["id"]]


@user.field("feedbackCount")
def resolve_user_feedback_count(obj: Record, *_: Any) -> int:
    return sum(1 for f in FEEDBACK if f["author"]["id"] == obj["id"])


@product.reference_resolver
def resolve_product_reference(_: Any, _info: GraphQLResolveInfo, representation: Record) -> Record:
    return {"upc": str(representation["upc"]), "price": representation.get("price")}


@product.field("reviews")
def resolve_product_reviews(obj: Record, *_: Any) -> list[Record]:
    return [r for r in REVIEWS if r["product"]["upc"] == obj["upc"]]


@product.field("questions")
def resolve_product_questions(obj: Record, *_: Any) -> list[Record]:
    return [q for q in QUESTIONS if q["product"]["upc"] == obj["upc"]]


def _average_rating(upc: str) -> float | None:
    ratings = [r["rating"] for r in REVIEWS if r["product"]["upc"] == upc]
    return round(sum(ratings) / len(ratings), 2) if ratings else None


@product.field("averageRating")
def resolve_average_rating(obj: Record, *_: Any) -> float | None:
    return _average_rating(obj["upc"])


@product.field("valueScore")
def resolve_value_score(obj: Record, *_: Any) -> float | None:
    average, price = _average_rating(obj["upc"]), obj.get("price")
    if average is None or not price:
        return None
    return round(average / (float(price) / 100), 4)


schema = make_federated_schema(SDL, query, feedback, user, product)
app = graphql_app(schema)
