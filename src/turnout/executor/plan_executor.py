"""Run a query plan: fetches concurrently where the plan allows, results merged into one response tree."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from ..clock import SYSTEM_CLOCK, Clock
from ..observability.redaction import redact
from ..planner.plan_nodes import (
    Condition,
    Fetch,
    Flatten,
    Parallel,
    PlanNode,
    QueryPlan,
    Rename,
    Sequence,
)
from ..supergraph.model import SupergraphModel
from ..transport.base import SubgraphClient, TransportError
from .entities import Representations, collect_objects, object_paths, objects_by_context
from .memo import FetchMemo, FetchRecord
from .merge import deep_merge, merge_into

__all__ = ["REDACTED", "ExecutionState", "PlanExecutor"]

log = logging.getLogger("turnout.subgraph")

# what a client sees of a subgraph's error unless that subgraph's errors are exposed (as Apollo Router)
REDACTED = "Subgraph errors redacted"


@dataclass
class ExecutionState:
    """The response being built: merged data and the errors collected so far."""

    variables: Mapping[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    subgraph_calls: int = 0
    memo: FetchMemo | None = None
    fetches: list[FetchRecord] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)  # the client's, for the transport's header rules
    fell_back: bool = False  # part (or all) of it came from a run of the old side after the new one failed


class PlanExecutor:
    """Executes plans against subgraphs through a SubgraphClient."""

    def __init__(
        self,
        model: SupergraphModel,
        client: SubgraphClient,
        urls: Mapping[str, str] | None = None,
        *,
        expose_errors: bool | Collection[str] = True,
        tracer: Tracer | None = None,
    ) -> None:
        """`expose_errors`: whose errors clients see as the subgraph wrote them (True: every subgraph's);
        the others' are redacted to their path, `extensions.code` and `serviceName`, and logged in full."""
        self.model = model
        self.expose_errors = expose_errors
        self.tracer = tracer  # a span per subgraph call when set
        self.log_budget = _LogBudget()  # subgraph errors logged: at most 20 per subgraph and 10 s
        self.client = client
        self.urls = {g.name: (urls or {}).get(g.name, g.url) for g in model.subgraphs.values()}
        self.object_types = frozenset(n for n, t in model.types.items() if t.kind == "object")
        self._representations: dict[int, Representations] = {}

    async def execute(
        self,
        plan: QueryPlan,
        variables: Mapping[str, Any],
        memo: FetchMemo | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ExecutionState:
        """Run `plan`. With a memo, answers already in it are reused and new ones are added to it.

        `headers` are the client request's; the transport's rules decide which ones each subgraph receives."""
        state = ExecutionState(variables=variables, memo=memo, headers=headers or {})
        if plan.node is not None:
            await self._run(plan.node, state)
        return state

    def writes_known(self, plan: QueryPlan, variables: Mapping[str, Any], memo: FetchMemo) -> bool:
        """Whether every root fetch of `plan` (for a mutation: the writes) already has its answer in `memo`."""
        state = ExecutionState(variables=variables)
        roots: list[Fetch] = []
        stack: list[PlanNode] = [plan.node] if plan.node is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, Fetch):
                roots.append(node)
            elif isinstance(node, Sequence | Parallel):
                stack.extend(node.nodes)
            elif isinstance(node, Condition):
                stack.extend(n for n in (node.if_clause, node.else_clause) if n is not None)
        return all(FetchMemo.key(f.service, self._request(f, state)) in memo.answers for f in roots)

    async def _run(self, node: PlanNode, state: ExecutionState) -> None:
        if isinstance(node, Fetch):
            await self._root_fetch(node, state)
        elif isinstance(node, Flatten):
            await self._entity_fetch(node, state)
        elif isinstance(node, Sequence):
            for child in node.nodes:
                await self._run(child, state)
        elif isinstance(node, Parallel):
            await asyncio.gather(*(self._run(child, state) for child in node.nodes))
        elif isinstance(node, Condition):
            branch = node.if_clause if state.variables.get(node.variable) else node.else_clause
            if branch is not None:
                await self._run(branch, state)

    def _request(
        self, fetch: Fetch, state: ExecutionState, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        variables = {v: state.variables[v] for v in fetch.variable_usages if v in state.variables}
        if extra:
            variables.update(extra)
        request: dict[str, Any] = {"query": fetch.operation}
        if variables:
            request["variables"] = variables
        return request

    async def _send(
        self,
        fetch: Fetch,
        request: dict[str, Any],
        state: ExecutionState,
        root: bool,
        paths: tuple[tuple[str, ...], ...] = (),
    ) -> dict[str, Any] | None:
        memo = state.memo if state.memo is None or state.memo.reusable(fetch) else None
        key = FetchMemo.key(fetch.service, request) if memo is not None else b""
        kept: bytes | TransportError | dict[str, Any] | None = (
            memo.answers.get(key) if memo is not None else None
        )
        if kept is None and memo is not None:
            if fetch.shape is not None:
                kept = memo.covering(fetch.service, request, fetch.shape)
            elif fetch.entity_shapes:
                kept = memo.entities(
                    fetch.service, request.get("variables", {}).get("representations"), fetch.entity_shapes
                )
        hit = kept is not None
        started = time.perf_counter()
        answer: dict[str, Any] | TransportError
        if isinstance(kept, bytes):
            answer = orjson.loads(kept)
        elif kept is not None:
            answer = kept  # an error, or an answer cut from a covering one (already a fresh dict)
        else:
            state.subgraph_calls += 1
            with self._span(fetch, request, root) as span:
                try:
                    answer = await self.client.send(
                        fetch.service, self.urls[fetch.service], request, state.headers
                    )
                except TransportError as error:
                    answer = error
                if span is not None:
                    _annotate(span, answer)
            if memo is not None:
                if isinstance(answer, TransportError):
                    memo.answers[key] = answer
                else:
                    raw = memo.answers[key] = orjson.dumps(answer)
                    if fetch.shape is not None and not answer.get("errors"):
                        memo.keep_root(fetch.service, request, fetch.shape, raw)
        elapsed = (time.perf_counter() - started) * 1000.0
        if isinstance(answer, TransportError):
            state.fetches.append(
                FetchRecord(
                    service=fetch.service,
                    milliseconds=elapsed,
                    ok=False,
                    memo_hit=hit,
                    root=root,
                    fetch=fetch,
                    error=str(answer),
                    paths=paths,
                )
            )
            state.errors.append(
                {"message": str(answer), "extensions": {"code": answer.code, "serviceName": fetch.service}}
            )
            return None
        errors = answer.get("errors")
        state.fetches.append(
            FetchRecord(
                service=fetch.service,
                milliseconds=elapsed,
                ok=not errors,
                memo_hit=hit,
                root=root,
                fetch=fetch,
                error=_first_message(errors) if errors else None,
                paths=paths,
            )
        )
        return answer

    def _span(self, fetch: Fetch, request: dict[str, Any], root: bool) -> AbstractContextManager[Span | None]:
        """The span of one subgraph call: its subgraph and kind of fetch (nothing without a tracer)."""
        if self.tracer is None:
            return nullcontext()
        attributes: dict[str, str | int] = {
            "turnout.subgraph": fetch.service,
            "turnout.fetch": "root" if root else "entities",
        }
        if not root:
            attributes["turnout.representations"] = len(
                request.get("variables", {}).get("representations") or ()
            )
        return self.tracer.start_as_current_span(
            "subgraph.fetch", kind=SpanKind.CLIENT, attributes=attributes
        )

    async def _root_fetch(self, fetch: Fetch, state: ExecutionState) -> None:
        response = await self._send(fetch, self._request(fetch, state), state, True)
        if response is None:
            return
        expose = self._exposes(fetch.service)
        for error in response.get("errors") or ():
            state.errors.append(
                _subgraph_error(error, fetch.service, expose=expose, budget=self.log_budget, fetch=fetch)
            )
        data = response.get("data")
        if isinstance(data, dict):
            if fetch.renames:
                self._rename(data, fetch.renames)
            deep_merge(state.data, data, self.object_types)

    def _exposes(self, service: str) -> bool:
        return self.expose_errors is True or (
            not isinstance(self.expose_errors, bool) and service in self.expose_errors
        )

    def _rename(self, value: Any, renames: tuple[Rename, ...], typename: Any = None) -> None:
        """Move values the planner fetched under an alias back to their key in the response data. `typename`:
        the object's type when its answer may not say it (an entity: its representation's)."""
        if isinstance(value, list):
            for item in value:
                self._rename(item, renames)
            return
        if not isinstance(value, dict):
            return
        typename = value.get("__typename", typename)
        for rename in renames:
            if rename.key not in value or not _matches(
                typename, rename.type_condition, self.model.possible_types
            ):
                continue
            if rename.children:
                self._rename(value[rename.key], rename.children)
            if rename.key != rename.data_key:
                value[rename.data_key] = value.pop(rename.key)

    async def _entity_fetch(self, node: Flatten, state: ExecutionState) -> None:
        fetch = node.node
        builder = self._representations.get(fetch.id)
        if builder is None or builder.requires is not fetch.requires:
            builder = Representations(fetch.requires or (), self.model.possible_types)
            self._representations[fetch.id] = builder
        if fetch.contexts:
            # one request per distinct set of context values, concurrently
            by_values = objects_by_context(state.data, node.path, fetch.contexts)
            await asyncio.gather(
                *(
                    self._entities(
                        node,
                        state,
                        *builder.group(objects),
                        {c.variable: v for c, v in zip(fetch.contexts, values, strict=True)},
                    )
                    for values, objects in by_values
                )
            )
            return
        await self._entities(node, state, *builder.group(collect_objects(state.data, node.paths)))

    async def _entities(
        self,
        node: Flatten,
        state: ExecutionState,
        representations: list[dict[str, Any]],
        targets: list[list[dict[str, Any]]],
        extra: dict[str, Any] | None = None,
    ) -> None:
        """One `_entities` request; each entity merged into the objects that share its representation."""
        if not representations:
            return
        fetch = node.node
        request = self._request(fetch, state, {"representations": representations, **(extra or {})})
        response = await self._send(fetch, request, state, False, node.paths)
        if response is None:
            return
        expose = self._exposes(fetch.service)
        errors = response.get("errors") or ()
        if errors:
            located = _with_paths(state.data, node.paths, targets)
            for error in errors:
                state.errors.extend(
                    _entity_errors(
                        error, fetch.service, located, expose=expose, fetch=fetch, budget=self.log_budget
                    )
                )
        data = response.get("data")
        entities = data.get("_entities") if isinstance(data, dict) else None
        if not isinstance(entities, list):
            return
        for index, entity in enumerate(entities[: len(targets)]):
            if isinstance(entity, dict):
                if fetch.renames:
                    self._rename(entity, fetch.renames, representations[index].get("__typename"))
                merge_into(targets[index], entity, self.object_types)


def _with_paths(
    data: dict[str, Any], paths: tuple[tuple[str, ...], ...], targets: list[list[dict[str, Any]]]
) -> list[list[tuple[dict[str, Any], list[str | int]]]]:
    """The targets of each representation with their response paths (for errors only)."""
    found: dict[int, list[list[str | int]]] = {}
    for path in paths:
        object_paths(data, path, found)
    return [[(obj, where) for obj in objects for where in found.get(id(obj), ())] for objects in targets]


def _annotate(span: Span, answer: dict[str, Any] | TransportError) -> None:
    """What went wrong, in the span: the subgraph's errors as events, redacted (the span keeps what clients may
    not see)."""
    if isinstance(answer, TransportError):
        span.set_status(Status(StatusCode.ERROR, redact(str(answer))[:500]))
        span.set_attribute("turnout.error.code", answer.code)
        return
    errors = answer.get("errors") or ()
    if errors:
        span.set_status(Status(StatusCode.ERROR, f"{len(errors)} GraphQL errors"))
    for error in list(errors)[:20]:
        message = error.get("message") if isinstance(error, dict) else error
        span.add_event("subgraph.error", {"message": redact(str(message))[:1000]})


def _first_message(errors: Any) -> str:
    first = errors[0] if isinstance(errors, list) and errors else errors
    message = first.get("message") if isinstance(first, dict) else first
    return str(message)[:2000]


def _matches(typename: Any, condition: str | None, possible: Mapping[str, tuple[str, ...]]) -> bool:
    return condition is None or typename == condition or typename in possible.get(condition, ())


def _client_path(path: list[Any], fetch: Fetch | None) -> list[Any]:
    """A subgraph error path as the client sees it: a key the planner aliased apart back to its own, cut where
    a key the planner fetched for itself begins (`Fetch.internal_keys`: no client key has their names)."""
    if fetch is None or not fetch.internal_keys:
        return path
    out: list[Any] = []
    for segment in path:
        if isinstance(segment, str) and segment in fetch.internal_keys:
            data_key = _renamed(fetch.renames).get(segment)
            if data_key is None:
                return out
            segment = data_key
        out.append(segment)
    return out


def _renamed(renames: tuple[Rename, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    stack = list(renames)
    while stack:
        rename = stack.pop()
        if rename.key != rename.data_key:
            found[rename.key] = rename.data_key
        stack.extend(rename.children)
    return found


class _LogBudget:
    """At most `lines` log lines of subgraph errors per subgraph and `seconds`: a failing subgraph under load
    would otherwise write one per request. What is held back is counted and said in the next window's line."""

    def __init__(self, lines: int = 20, seconds: float = 10.0, clock: Clock = SYSTEM_CLOCK) -> None:
        self.lines = lines
        self.seconds = seconds
        self.clock = clock
        self._windows: dict[str, tuple[float, int, int]] = {}  # service -> (window start, logged, held back)

    def allow(self, service: str) -> tuple[bool, int]:
        """(may this error be logged, how many were held back in the window that just ended)."""
        now = self.clock.monotonic()
        start, logged, held = self._windows.get(service, (now, 0, 0))
        reported = 0
        if now - start >= self.seconds:
            start, logged, reported, held = now, 0, held, 0
        if logged < self.lines:
            self._windows[service] = (start, logged + 1, held)
            return True, reported
        self._windows[service] = (start, logged, held + 1)
        return False, reported


def _log_error(error: Any, service: str, expose: bool, budget: _LogBudget | None = None) -> None:
    """The subgraph's error as it wrote it, for operators (clients may only see it redacted); within a budget
    per subgraph (the spans of a traced request keep every one)."""
    level = logging.INFO if expose else logging.WARNING
    if not log.isEnabledFor(level):
        return
    if budget is not None:
        allowed, held = budget.allow(service)
        if held:
            log.log(
                level,
                "subgraph %s: %d more errors not logged in the last %g s",
                service,
                held,
                budget.seconds,
            )
        if not allowed:
            return
    try:
        text = orjson.dumps(error).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(error)
    log.log(level, "subgraph %s returned an error: %s", service, redact(text[:4000]))


def _subgraph_error(
    error: Any,
    service: str,
    path: list[Any] | None = None,
    *,
    expose: bool = True,
    logged: bool = False,
    budget: _LogBudget | None = None,
    fetch: Fetch | None = None,
) -> dict[str, Any]:
    """A subgraph's error as the client sees it: as written when exposed, else only the path, the code and the
    subgraph's name (message and every other extension, stack traces included, stay in the log)."""
    if not logged:
        _log_error(error, service, expose, budget)
    if not isinstance(error, dict):
        return {"message": str(error) if expose else REDACTED, "extensions": {"serviceName": service}}
    extensions = error.get("extensions")
    extensions = extensions if isinstance(extensions, dict) else {}
    if expose:
        out: dict[str, Any] = {"message": str(error.get("message", "Subgraph error"))}
    else:
        out = {"message": REDACTED}
        code = extensions.get("code")
        extensions = {"code": code} if isinstance(code, str) and len(code) <= 100 else {}
    given = error.get("path")
    if path is None and isinstance(given, list):
        path = given
    if path is not None:
        out["path"] = _client_path(path, fetch)
    out["extensions"] = {**extensions, "serviceName": service}
    return out


def _entity_errors(
    error: Any,
    service: str,
    targets: list[list[tuple[dict[str, Any], list[str | int]]]],
    *,
    expose: bool = True,
    budget: _LogBudget | None = None,
    fetch: Fetch | None = None,
) -> list[dict[str, Any]]:
    """An `_entities` error, once at every response path that shares the failed representation."""
    _log_error(error, service, expose, budget)
    path = error.get("path") if isinstance(error, dict) else None
    if (
        isinstance(path, list)
        and len(path) >= 2
        and path[0] == "_entities"
        and isinstance(path[1], int)
        and path[1] < len(targets)
    ):
        inside = _client_path(path[2:], fetch)
        return [
            _subgraph_error(error, service, [*where, *inside], expose=expose, logged=True)
            for _obj, where in targets[path[1]]
        ]
    formatted = _subgraph_error(error, service, expose=expose, logged=True)
    formatted.pop("path", None)  # a path inside the subgraph's own operation means nothing to the client
    return [formatted]
