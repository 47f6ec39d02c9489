"""executor.fallback: what a failed fetch was to fill, taken from the old side's run; nothing else."""

from __future__ import annotations

import copy
from typing import Any

from turnout.executor.fallback import replace_failed
from turnout.executor.memo import FetchRecord
from turnout.executor.plan_executor import ExecutionState
from turnout.planner.plan_nodes import Fetch

NEW = "assignments"


def _state(data: dict[str, Any], errors: list[dict[str, Any]] | None = None) -> ExecutionState:
    return ExecutionState(variables={}, data=data, errors=errors or [])


def _failed(paths: tuple[tuple[str, ...], ...], keys: set[str]) -> FetchRecord:
    fetch = Fetch(
        id=0,
        service=NEW,
        graph="ASSIGNMENTS",
        operation="",
        operation_kind="query",
        variable_usages=(),
        data_keys=frozenset(keys),
    )
    return FetchRecord(
        service=NEW, milliseconds=1.0, ok=False, memo_hit=False, root=not paths, fetch=fetch, paths=paths
    )


OLD = {"users": [{"id": "u1", "items": [{"id": "a1", "date": "old1"}, {"id": "a2", "date": "old2"}]}]}


def test_only_the_objects_named_by_the_errors_are_replaced() -> None:
    primary = _state(
        {"users": [{"id": "u1", "items": [{"id": "a1", "date": "new1"}, {"id": "a2"}]}]},
        [{"message": "x", "path": ["users", 0, "items", 1, "date"], "extensions": {"serviceName": NEW}}],
    )
    fallback = _state(copy.deepcopy(OLD))
    assert replace_failed(primary, fallback, [_failed((("users", "@", "items", "@"),), {"date"})], {NEW})
    assert primary.data["users"][0]["items"] == [{"id": "a1", "date": "new1"}, {"id": "a2", "date": "old2"}]
    assert primary.errors == []  # the failed fetch's errors are gone; the fallback had none


def test_an_error_without_a_path_replaces_every_object_of_the_fetch() -> None:
    primary = _state(
        {"users": [{"id": "u1", "items": [{"id": "a1"}, {"id": "a2"}]}]},
        [{"message": "connection failed", "extensions": {"serviceName": NEW}}],
    )
    assert replace_failed(
        primary, _state(copy.deepcopy(OLD)), [_failed((("users", "@", "items", "@"),), {"date"})], {NEW}
    )
    assert [i["date"] for i in primary.data["users"][0]["items"]] == ["old1", "old2"]


def test_objects_that_do_not_match_up_give_up_the_partial_answer() -> None:
    other = {"users": [{"id": "u1", "items": [{"id": "a9", "date": "old9"}, {"id": "a2", "date": "old2"}]}]}
    primary = _state(
        {"users": [{"id": "u1", "items": [{"id": "a1"}, {"id": "a2"}]}]},
        [{"message": "down", "extensions": {"serviceName": NEW}}],
    )
    assert not replace_failed(
        primary, _state(other), [_failed((("users", "@", "items", "@"),), {"date"})], {NEW}
    )
    shorter = {"users": [{"id": "u1", "items": [{"id": "a1", "date": "old1"}]}]}
    assert not replace_failed(
        primary, _state(shorter), [_failed((("users", "@", "items", "@"),), {"date"})], {NEW}
    )


def test_a_failed_root_fetch_takes_its_root_fields() -> None:
    primary = _state({"me": {"id": "u1"}}, [{"message": "down", "extensions": {"serviceName": NEW}}])
    fallback = _state({"me": {"id": "u1"}, "items": [{"id": "a1"}]})
    assert replace_failed(primary, fallback, [_failed((), {"items"})], {NEW})
    assert primary.data == {"me": {"id": "u1"}, "items": [{"id": "a1"}]}
