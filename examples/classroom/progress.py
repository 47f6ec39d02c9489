"""The new progress service: per-course progress of students (User.progress), rounded its own way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ariadne import ObjectType
from ariadne.contrib.federation import FederatedObjectType, make_federated_schema
from graphql import GraphQLResolveInfo

from ._app import graphql_app
from .data import PROGRESS, Record, iso_utc

__all__ = ["SDL", "app", "schema"]

SDL = (Path(__file__).parent / "progress.graphql").read_text(encoding="utf-8")

user = FederatedObjectType("User")
progress = ObjectType("Progress")


@user.reference_resolver
def resolve_user_reference(_: Any, _info: GraphQLResolveInfo, representation: Record) -> Record:
    return {"id": str(representation["id"])}


@user.field("progress")
def resolve_user_progress(obj: Record, *_: Any) -> list[Record]:
    return PROGRESS.get(obj["id"], [])


@progress.field("course")
def resolve_progress_course(obj: Record, *_: Any) -> Record:
    return {"id": obj["courseId"]}


@progress.field("completion")
def resolve_completion(obj: Record, *_: Any) -> float:
    # a percentage with two decimals, as the product team asked: 0.5385 becomes 0.54
    return round(obj["done"] / obj["total"], 2) if obj["total"] else 0.0


@progress.field("lastActivity")
def resolve_last_activity(obj: Record, *_: Any) -> str:
    return iso_utc(obj["lastActivity"])


schema = make_federated_schema(SDL, user, progress)
app = graphql_app(schema, "progress")
