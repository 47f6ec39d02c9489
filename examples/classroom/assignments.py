"""The new assignments service: assignment lists and fields, with the bugs a rewrite really has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ariadne import QueryType
from ariadne.contrib.federation import FederatedObjectType, make_federated_schema
from graphql import GraphQLResolveInfo

from ._app import graphql_app
from .data import ASSIGNMENTS, ASSIGNMENTS_BY_COURSE, ASSIGNMENTS_BY_ID, Record, iso_utc

__all__ = ["SCHOOL_TIME", "SDL", "app", "schema"]

SDL = (Path(__file__).parent / "assignments.graphql").read_text(encoding="utf-8")

# "The school is in Berlin, that's UTC+1": right in winter, an hour off in summer time (the bug).
SCHOOL_TIME = timezone(timedelta(hours=1), "CET")

query = QueryType()
assignment = FederatedObjectType("Assignment")


@query.field("assignments")
def resolve_assignments(*_: Any, courseId: str | None = None, first: int | None = None) -> list[Record]:
    rows = ASSIGNMENTS if courseId is None else ASSIGNMENTS_BY_COURSE.get(courseId, [])
    return rows if first is None else rows[: max(first, 0)]


@query.field("assignment")
def resolve_assignment(*_: Any, id: str) -> Record | None:
    return ASSIGNMENTS_BY_ID.get(id)


@assignment.reference_resolver
def resolve_assignment_reference(_: Any, _info: GraphQLResolveInfo, representation: Record) -> Record | None:
    return ASSIGNMENTS_BY_ID.get(str(representation["id"]))


@assignment.field("createdDate")
def resolve_created_date(obj: Record, *_: Any) -> str:
    return iso_utc(obj["createdLocal"].replace(tzinfo=SCHOOL_TIME))


@assignment.field("dueDate")
def resolve_due_date(obj: Record, *_: Any) -> str:
    # the new model says every assignment has a due date; readings (and a few others) do not
    due: Any = obj["due"]
    return str(due.isoformat())


@assignment.field("tags")
def resolve_tags(obj: Record, *_: Any) -> list[str]:
    return sorted(obj["tags"])


@assignment.field("renderedAt")
def resolve_rendered_at(*_: Any) -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


schema = make_federated_schema(SDL, query, assignment)
app = graphql_app(schema, "assignments")
