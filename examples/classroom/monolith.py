"""The classroom monolith subgraph: users, courses, assignments, submissions and (for now) progress."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ariadne import EnumType, MutationType, ObjectType, QueryType
from ariadne.contrib.federation import FederatedObjectType, make_federated_schema
from graphql import GraphQLError, GraphQLResolveInfo

from ._app import graphql_app
from .data import (
    ASSIGNMENTS,
    ASSIGNMENTS_BY_COURSE,
    ASSIGNMENTS_BY_ID,
    COURSES,
    COURSES_BY_ID,
    GRADED,
    PROGRESS,
    USERS,
    Record,
    iso_utc,
    local_to_utc,
)

__all__ = ["SDL", "app", "schema"]

SDL = (Path(__file__).parent / "monolith.graphql").read_text(encoding="utf-8")

# Mutable state of this process: profiles (a copy of the records) and hand-ins waiting for a grade,
# one per (user, assignment), so that it stays bounded however long the traffic runs.
_users: dict[str, Record] = {u["id"]: dict(u) for u in USERS}
_pending: dict[tuple[str, str], Record] = {}

query = QueryType()
mutation = MutationType()
user = FederatedObjectType("User")
course = FederatedObjectType("Course")
assignment = FederatedObjectType("Assignment")
progress = ObjectType("Progress")
submission = ObjectType("Submission")
role = EnumType("Role", {"STUDENT": "STUDENT", "TEACHER": "TEACHER"})
status = EnumType("SubmissionStatus", {"PENDING": "PENDING", "GRADED": "GRADED"})


def _assignments(course_id: str | None, first: int | None) -> list[Record]:
    rows = ASSIGNMENTS if course_id is None else ASSIGNMENTS_BY_COURSE.get(course_id, [])
    return rows if first is None else rows[: max(first, 0)]


@query.field("users")
def resolve_users(*_: Any, first: int | None = None, offset: int = 0) -> list[Record]:
    rows = list(_users.values())[max(offset, 0) :]
    return rows if first is None else rows[: max(first, 0)]


@query.field("user")
def resolve_user(*_: Any, id: str) -> Record | None:
    return _users.get(id)


@query.field("courses")
def resolve_courses(*_: Any) -> list[Record]:
    return COURSES


@query.field("course")
def resolve_course(*_: Any, id: str) -> Record | None:
    return COURSES_BY_ID.get(id)


@query.field("assignments")
def resolve_assignments(*_: Any, courseId: str | None = None, first: int | None = None) -> list[Record]:
    return _assignments(courseId, first)


@query.field("assignment")
def resolve_assignment(*_: Any, id: str) -> Record | None:
    return ASSIGNMENTS_BY_ID.get(id)


@mutation.field("submitAssignment")
def resolve_submit_assignment(*_: Any, id: str, userId: str, answer: str) -> Record:
    work = ASSIGNMENTS_BY_ID.get(id)
    student = _users.get(userId)
    if work is None:
        raise GraphQLError(f"No assignment {id}.", extensions={"code": "NOT_FOUND"})
    if student is None:
        raise GraphQLError(f"No user {userId}.", extensions={"code": "NOT_FOUND"})
    if work["courseId"] not in student["courseIds"] or student["role"] != "STUDENT":
        raise GraphQLError(
            f"{userId} does not take course {work['courseId']}.", extensions={"code": "FORBIDDEN"}
        )
    record = {
        "id": f"{id}-{userId}",
        "assignmentId": id,
        "userId": userId,
        "submittedAt": datetime.now(UTC),
        "status": "PENDING",
        "answer": answer,
        "grade": None,
    }
    _pending.pop((userId, id), None)  # re-inserted: newest last
    _pending[(userId, id)] = record
    return record


@mutation.field("updateProfile")
def resolve_update_profile(*_: Any, userId: str, input: dict[str, Any]) -> Record:
    record = _users.get(userId)
    if record is None:
        raise GraphQLError(f"No user {userId}.", extensions={"code": "NOT_FOUND"})
    for key in ("name", "email"):
        if input.get(key) is not None and not str(input[key]).strip():
            raise GraphQLError(f"{key} cannot be empty.", extensions={"code": "BAD_USER_INPUT"})
    record.update({k: v for k, v in input.items() if v is not None and k in ("name", "email", "bio")})
    return record


@user.reference_resolver
def resolve_user_reference(_: Any, _info: GraphQLResolveInfo, representation: Record) -> Record | None:
    return _users.get(str(representation["id"]))


@user.field("courses")
def resolve_user_courses(obj: Record, *_: Any) -> list[Record]:
    return [COURSES_BY_ID[c] for c in obj["courseIds"]]


@user.field("progress")
def resolve_user_progress(obj: Record, *_: Any) -> list[Record]:
    return PROGRESS.get(obj["id"], [])


@user.field("submissions")
def resolve_user_submissions(
    obj: Record, *_: Any, first: int = 10, status: str | None = None
) -> list[Record]:
    pending = [s for (uid, _aid), s in _pending.items() if uid == obj["id"]] if status != "GRADED" else []
    graded = (
        [w for c in obj["courseIds"] for w in GRADED.get((obj["id"], c), [])] if status != "PENDING" else []
    )
    rows = pending[::-1] + sorted(graded, key=lambda w: w["submittedAt"], reverse=True)
    return rows[: max(first, 0)]


@course.reference_resolver
def resolve_course_reference(_: Any, _info: GraphQLResolveInfo, representation: Record) -> Record | None:
    return COURSES_BY_ID.get(str(representation["id"]))


@course.field("teacher")
def resolve_course_teacher(obj: Record, *_: Any) -> Record:
    return _users[obj["teacherId"]]


@course.field("students")
def resolve_course_students(obj: Record, *_: Any) -> list[Record]:
    return [_users[s] for s in obj["studentIds"]]


@course.field("assignments")
def resolve_course_assignments(obj: Record, *_: Any) -> list[Record]:
    return ASSIGNMENTS_BY_COURSE[obj["id"]]


@assignment.reference_resolver
def resolve_assignment_reference(_: Any, _info: GraphQLResolveInfo, representation: Record) -> Record | None:
    return ASSIGNMENTS_BY_ID.get(str(representation["id"]))


@assignment.field("createdDate")
def resolve_created_date(obj: Record, *_: Any) -> str:
    # stored as the school's wall-clock time; converted with the monolith's own CET/CEST rule
    return iso_utc(local_to_utc(obj["createdLocal"]))


@assignment.field("dueDate")
def resolve_due_date(obj: Record, *_: Any) -> str | None:
    return obj["due"].isoformat() if obj["due"] is not None else None


@assignment.field("tags")
def resolve_tags(obj: Record, *_: Any) -> list[str]:
    return list(obj["tags"])


@assignment.field("renderedAt")
def resolve_rendered_at(*_: Any) -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@assignment.field("course")
def resolve_assignment_course(obj: Record, *_: Any) -> Record:
    return COURSES_BY_ID[obj["courseId"]]


@progress.field("course")
def resolve_progress_course(obj: Record, *_: Any) -> Record:
    return COURSES_BY_ID[obj["courseId"]]


@progress.field("completion")
def resolve_completion(obj: Record, *_: Any) -> float:
    return round(obj["done"] / obj["total"], 4) if obj["total"] else 0.0


@progress.field("lastActivity")
def resolve_last_activity(obj: Record, *_: Any) -> str:
    return iso_utc(obj["lastActivity"])


@submission.field("assignment")
def resolve_submission_assignment(obj: Record, *_: Any) -> Record:
    return ASSIGNMENTS_BY_ID[obj["assignmentId"]]


@submission.field("student")
def resolve_submission_student(obj: Record, *_: Any) -> Record:
    return _users[obj["userId"]]


@submission.field("submittedAt")
def resolve_submitted_at(obj: Record, *_: Any) -> str:
    return iso_utc(obj["submittedAt"])


schema = make_federated_schema(
    SDL, query, mutation, user, course, assignment, progress, submission, role, status
)
app = graphql_app(schema, "monolith")
