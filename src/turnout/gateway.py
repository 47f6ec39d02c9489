"""The request pipeline: parse, validate, plan (cached), execute, project."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from graphql import (
    SKIP,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    get_named_type,
    is_introspection_type,
    parse,
    validate,
)
from graphql.execution.collect_fields import collect_fields
from graphql.execution.values import get_variable_values
from graphql.validation import ValidationRule, specified_rules
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from .admission.csrf import CsrfPrevention
from .admission.gate import ExecutionGate
from .admission.limits import (
    Limits,
    collapse_repeated_selections,
    limit_rules,
    nesting_error,
    remove_suggestions,
)
from .executor.memo import FetchMemo, FetchRecord
from .executor.plan_executor import ExecutionState, PlanExecutor
from .executor.projection import Projector
from .metrics import Metrics
from .migration.engine import MigrationEngine
from .migration.runtime import RequestRun, compare_later, fall_back
from .observability.logs import note_trace_id
from .observability.tracing import default_tracer
from .planner.plan_nodes import QueryPlan
from .planner.query_planner import PlanningError, QueryPlanner, SelectionLimitError, select_operation
from .planner.routing import DEFAULT_ROUTING, Routing
from .supergraph.model import SupergraphModel
from .transport.base import SubgraphClient

__all__ = ["Gateway", "GraphQLRequest", "RequestError"]

log = logging.getLogger("turnout.gateway")

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items


class RequestError(Exception):
    """A request that cannot be executed at all (syntax, validation, variables): no `data` in the response."""

    def __init__(self, errors: list[dict[str, Any]], *, status: int = 400) -> None:
        super().__init__(errors[0]["message"] if errors else "bad request")
        self.errors = errors
        self.status = status


@dataclass(frozen=True, kw_only=True)
class GraphQLRequest:
    """One GraphQL request as the HTTP layer hands it to the gateway."""

    query: str
    operation_name: str | None = None
    variables: Mapping[str, Any] | None = None
    extensions: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "POST"


# documents longer than this are not kept by the document cache (parsed again when they come back): a large
# document's AST weighs about 150 times its text; a refused one's errors may quote its text
_CACHED_DOCUMENT_CHARS = 64 * 1024
_CACHED_REFUSED_CHARS = 4 * 1024

# Documents longer than this are parsed, validated and planned on a thread of their own when no cache has them.
# A hostile document of a few kilobytes can cost a second of CPU in graphql-core's validation (the overlapping-
# fields rule compares fields pairwise; 3,000 copies of one field: 0.8 s), and planning a selection tree at the
# `max_selections` limit about half a second; on the event loop that would stall every other request. One thread
# takes them in turn, so they compete with the loop for the interpreter but cannot hold it: the loop still runs
# every few milliseconds (CPython's switch interval), the request deadline still fires, and SIGTERM is heard.
# Normal operations (a few hundred bytes, or cached) never leave the loop.
OFF_LOOP_CHARS = 2048


@dataclass(frozen=True)
class _Prepared:
    document: DocumentNode
    errors: list[dict[str, Any]]


def _format(error: GraphQLError) -> dict[str, Any]:
    out = error.formatted
    return dict(out)


class _NoIntrospection(ValidationRule):
    """Introspection refused: one error per introspection field the operation starts with (graphql-core's
    NoSchemaIntrospectionCustomRule reports every field below it too)."""

    def enter_field(self, node: FieldNode, *_args: Any) -> Any:
        named = get_named_type(self.context.get_type())
        if named is not None and is_introspection_type(named):
            self.report_error(
                GraphQLError(
                    "GraphQL introspection has been disabled, but the requested query contained the field "
                    f"'{node.name.value}'.",
                    node,
                )
            )
            return SKIP
        return None


def _document_of(prepared: _Prepared) -> DocumentNode:
    if prepared.errors:
        raise RequestError(prepared.errors)
    return prepared.document


class Gateway:
    """Serves one supergraph: the planner, the executor and their caches."""

    def __init__(
        self,
        model: SupergraphModel,
        client: SubgraphClient,
        *,
        introspection: bool = False,
        urls: Mapping[str, str] | None = None,
        cache_size: int = 2048,
        engine: MigrationEngine | None = None,
        metrics: Metrics | None = None,
        limits: Limits | None = None,
        csrf: CsrfPrevention | None = None,
        expose_errors: bool | Collection[str] = True,
        request_timeout: float | None = None,
        tracer: Tracer | None = None,
        gate: ExecutionGate | None = None,
    ) -> None:
        """`gate`: how many requests execute at once, the others waiting their turn within the request's
        timeout (none when None; `turnout serve` shares one per process across reloads). `limits`: what one
        request may cost (`Limits()`'s defaults when None); `csrf`: the CSRF prevention the HTTP endpoint applies
        (none when None); `expose_errors`: the subgraphs whose errors clients see
        as written (True: all), the others' are redacted. `turnout serve` builds it from the config, whose
        defaults are the safe ones: CSRF prevention on, every subgraph's errors redacted."""
        self.limits = limits if limits is not None else Limits()
        self.csrf = csrf
        self.engine = engine
        self.metrics = metrics
        # started with the server and closed after it, in reverse order (the evidence recorder, ...)
        self.on_start: list[Callable[[], Awaitable[None]]] = []
        self.on_close: list[Callable[[], Awaitable[None]]] = []
        self.model = model
        self.client = client
        self.introspection = introspection
        self.request_timeout = request_timeout  # seconds a whole request may take (None: no limit)
        self.gate = gate
        self.tracer = tracer if tracer is not None else default_tracer()  # None: no spans
        self.planner = QueryPlanner(model)
        self.executor = PlanExecutor(model, client, urls, expose_errors=expose_errors, tracer=self.tracer)
        self.projector = Projector(model.api_schema)
        self._documents: LRU[bytes, _Prepared] = LRU(cache_size)
        # the thread for costly documents (see OFF_LOOP_CHARS), with a planner of its own: the planner's
        # caches are not shared between threads
        self._costly = ThreadPoolExecutor(max_workers=1, thread_name_prefix="turnout-costly")
        self._costly_planner = QueryPlanner(model)
        self._plans: LRU[tuple[str, str | None, Routing], QueryPlan] = LRU(cache_size)
        rules = list(specified_rules)
        if not introspection:
            rules.append(_NoIntrospection)
        self._rules = rules
        self._limit_rules = limit_rules(self.limits)

    async def start(self) -> None:
        for hook in self.on_start:
            await hook()
        if self.engine is not None:
            await self.engine.start()

    async def close(self) -> None:
        """Stop comparisons, flush evidence, close subgraph connections."""
        if self.engine is not None:
            await self.engine.close()
        for hook in reversed(self.on_close):
            await hook()
        await self.client.close()
        self._costly.shutdown(wait=False, cancel_futures=True)

    # -- steps ----------------------------------------------------------------------------------------------

    def prepare(self, query: str) -> DocumentNode:
        """Parse and validate a document (cached by its hash); RequestError when it is not valid.

        The limits come first: the parser's (tokens, comments, nesting), then the validation rules of
        `Limits` (depth, aliases, root fields, directives), and only then graphql-core's specified rules.
        """
        prepared = self._cached_document(query) or self._kept(query, self._prepare(query))
        return _document_of(prepared)

    async def prepare_off_loop(self, query: str) -> DocumentNode:
        """`prepare`, on the costly-document thread when the document is long and not cached."""
        if len(query) <= OFF_LOOP_CHARS:
            return self.prepare(query)
        prepared = self._cached_document(query) or self._kept(
            query, await asyncio.get_running_loop().run_in_executor(self._costly, self._prepare, query)
        )
        return _document_of(prepared)

    @staticmethod
    def _document_key(query: str) -> bytes:
        return hashlib.blake2b(query.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def _cached_document(self, query: str) -> _Prepared | None:
        if len(query) > _CACHED_DOCUMENT_CHARS:
            return None
        return self._documents.get(self._document_key(query))

    def _kept(self, query: str, prepared: _Prepared) -> _Prepared:
        """`prepared`, cached unless too large (or refused and large enough to be quoted back)."""
        if len(query) <= _CACHED_DOCUMENT_CHARS and (
            not prepared.errors or len(query) <= _CACHED_REFUSED_CHARS
        ):
            self._documents.put(self._document_key(query), prepared)
        return prepared

    def _prepare(self, query: str) -> _Prepared:
        limits = self.limits
        empty = DocumentNode(definitions=())
        try:
            document = parse(query, max_lexical_tokens=limits.max_tokens, max_comments=limits.max_tokens)
        except GraphQLSyntaxError as error:
            return _Prepared(empty, [_format(error)])
        except RecursionError:  # graphql-core before 3.2.4 lets it through
            return _Prepared(
                empty, [{"message": "Syntax Error: Document is nested too deeply. Parsing aborted."}]
            )
        too_deep = nesting_error(document, limits.max_nesting)
        if too_deep is not None:
            return _Prepared(empty, [_format(too_deep)])
        try:
            errors = validate(self.model.api_schema, document, self._limit_rules) if self._limit_rules else []
            if not errors:
                document = collapse_repeated_selections(document)  # before the rules that compare pairs
                errors = validate(self.model.api_schema, document, self._rules)
        except RecursionError:
            return _Prepared(empty, [{"message": "The document is nested too deeply to be validated."}])
        formatted = [_format(e) for e in errors]
        if not self.introspection:  # "Did you mean ...?" would reveal the schema introspection hides
            for formatted_error in formatted:
                formatted_error["message"] = remove_suggestions(str(formatted_error["message"]))
        return _Prepared(empty if formatted else document, formatted)

    def plan(self, query: str, operation_name: str | None, routing: Routing = DEFAULT_ROUTING) -> QueryPlan:
        key = (query, operation_name, routing)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(self.planner, self.prepare(query), operation_name, routing)
            self._plans.put(key, plan)
        return plan

    async def plan_off_loop(
        self, query: str, document: DocumentNode, operation_name: str | None, routing: Routing
    ) -> QueryPlan:
        """`plan`, on the costly-document thread when the document is long and its plan not cached."""
        if len(query) <= OFF_LOOP_CHARS or (query, operation_name, routing) in self._plans:
            return self.plan(query, operation_name, routing)
        plan = await asyncio.get_running_loop().run_in_executor(
            self._costly, self._plan, self._costly_planner, document, operation_name, routing
        )
        self._plans.put((query, operation_name, routing), plan)
        return plan

    def _plan(
        self, planner: QueryPlanner, document: DocumentNode, operation_name: str | None, routing: Routing
    ) -> QueryPlan:
        limit = self.limits.max_selections
        try:
            if self.tracer is None:
                return planner.plan(document, operation_name, routing, max_selections=limit)
            with self.tracer.start_as_current_span("turnout.plan"):
                return planner.plan(document, operation_name, routing, max_selections=limit)
        except PlanningError as error:
            raise RequestError([{"message": str(error)}]) from None
        except SelectionLimitError as error:
            raise RequestError(
                [{"message": error.message, "extensions": {"code": "MAX_SELECTIONS_LIMIT"}}]
            ) from None

    async def execute(self, request: GraphQLRequest, routing: Routing | None = None) -> dict[str, Any]:
        """Run one request; returns `{"data": ..., "errors": [...]}`. RequestError when nothing can run.

        Without an explicit routing, the migration engine (if any) decides it for this request; shadow
        comparisons are queued after the response is built and never delay it.
        """
        if self.tracer is None:
            return await self._measured(request, routing)
        with self.tracer.start_as_current_span("graphql.request", kind=SpanKind.SERVER) as span:
            note_trace_id(span.get_span_context().trace_id)  # for the request's log lines
            if request.operation_name:
                span.set_attribute("graphql.operation.name", request.operation_name)
            try:
                response = await self._measured(request, routing)
            except RequestError as error:
                span.set_status(Status(StatusCode.ERROR, "request refused"))
                span.set_attribute("turnout.http.status", error.status)
                raise
            if "errors" in response:
                span.set_attribute("graphql.errors", len(response["errors"]))
            return response

    async def _measured(self, request: GraphQLRequest, routing: Routing | None) -> dict[str, Any]:
        if self.metrics is None:
            return (await self._within_deadline(request, routing))[0]
        started = time.perf_counter()
        try:
            response, kind = await self._within_deadline(request, routing)
        except RequestError as error:
            outcome = "timeout" if error.status == 504 else "rejected"
            self.metrics.request("unknown", outcome, time.perf_counter() - started)
            raise
        self.metrics.request(kind, "errors" if "errors" in response else "ok", time.perf_counter() - started)
        return response

    async def _within_deadline(
        self, request: GraphQLRequest, routing: Routing | None
    ) -> tuple[dict[str, Any], str]:
        """`_execute` bounded by the request timeout: past it, what is still running is cancelled (shared
        in-flight subgraph calls go on for their other callers) and the client gets a clean timeout error."""
        if self.request_timeout is None:
            return await self._gated(request, routing)
        deadline = asyncio.timeout(self.request_timeout)
        try:
            async with deadline:
                return await self._gated(request, routing)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise RequestError(
                [{"message": "Request timed out", "extensions": {"code": "REQUEST_TIMEOUT"}}], status=504
            ) from None

    async def _gated(self, request: GraphQLRequest, routing: Routing | None) -> tuple[dict[str, Any], str]:
        """`_execute` once the gate lets the request in (its wait counts in the request's timeout)."""
        gate = self.gate
        if gate is None:
            return await self._execute(request, routing)
        await gate.acquire()
        try:
            return await self._execute(request, routing)
        finally:
            gate.release()

    async def _execute(self, request: GraphQLRequest, routing: Routing | None) -> tuple[dict[str, Any], str]:
        document, operation, variables = self._admit(request, await self.prepare_off_loop(request.query))
        kind = operation.operation.value
        decision = None
        if routing is None:
            if self.engine is not None:
                decision = self.engine.decide(request.headers, variables, kind)
                routing = decision.primary
            else:
                routing = DEFAULT_ROUTING
        plan = await self.plan_off_loop(request.query, document, request.operation_name, routing)
        memo = (
            FetchMemo() if decision is not None and (decision.candidates or decision.served_by_to) else None
        )
        state = await self.executor.execute(plan, variables, memo, request.headers)
        if self.metrics is not None:
            self.metrics.fetches(state.fetches)  # failed ones too, when a fallback answers in their place
        run = None
        if decision is not None and self.engine is not None:
            operation_name = request.operation_name or (
                operation.name.value if operation.name else "(anonymous)"
            )
            run = self._run(request, variables, kind, operation_name)
            if decision.served_by_to:
                plan, state = await fall_back(self.engine, run, decision, plan, state, memo)
        response = self._respond(plan, state, document, operation, variables)
        if run is not None and decision is not None and decision.candidates and memo is not None:
            assert self.engine is not None
            compare_later(self.engine, run, decision, plan, state, response, memo)
        return response, kind

    def _admit(
        self, request: GraphQLRequest, document: DocumentNode
    ) -> tuple[DocumentNode, OperationDefinitionNode, dict[str, Any]]:
        try:
            operation = select_operation(document, request.operation_name)
        except PlanningError as error:
            raise RequestError([{"message": str(error)}]) from None
        kind = operation.operation.value
        if kind == "subscription":
            raise RequestError([{"message": "Subscriptions are not supported by this gateway."}])
        if kind == "mutation" and request.method == "GET":
            raise RequestError([{"message": "Mutations cannot be sent with GET; use POST."}], status=405)
        variables = dict(request.variables or {})
        try:
            coerced = get_variable_values(
                self.model.api_schema, operation.variable_definitions or (), variables
            )
        except RecursionError:
            raise RequestError([{"message": "The variables are nested too deeply."}]) from None
        if isinstance(coerced, list):
            errors = [_format(e) for e in coerced]
            if not self.introspection:
                for formatted_error in errors:
                    formatted_error["message"] = remove_suggestions(str(formatted_error["message"]))
            raise RequestError(errors)
        for name, value in coerced.items():
            variables.setdefault(name, value)
        return document, operation, variables

    def _respond(
        self,
        plan: QueryPlan,
        state: ExecutionState,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
    ) -> dict[str, Any]:
        if plan.has_introspection:
            state.data.update(self._introspect(document, operation, variables))
        data = self.projector.project(plan.root_type, plan.selections, state.data, variables, state.errors)
        response: dict[str, Any] = {"data": data}
        if state.errors:
            response["errors"] = state.errors
        return response

    # -- migrations -----------------------------------------------------------------------------------------

    def _run(
        self, request: GraphQLRequest, variables: dict[str, Any], kind: str, operation_name: str
    ) -> RequestRun:
        """This request, for the migration runtime (migration.runtime)."""

        def plan(routing: Routing) -> QueryPlan | None:
            try:
                return self.plan(request.query, request.operation_name, routing)
            except RequestError:
                return None

        def count(fetches: list[FetchRecord], purpose: str) -> None:
            if self.metrics is not None:
                self.metrics.fetches(fetches, purpose)

        def project(plan: QueryPlan, state: ExecutionState) -> dict[str, Any]:
            data = self.projector.project(
                plan.root_type, plan.selections, state.data, variables, state.errors
            )
            return {"data": data, "errors": state.errors} if state.errors else {"data": data}

        return RequestRun(
            plan=plan,
            execute=lambda plan, memo: self.executor.execute(plan, variables, memo, request.headers),
            writes_known=lambda plan, memo: self.executor.writes_known(plan, variables, memo),
            project=project,
            count=count,
            schema=self.model.api_schema,
            variables=variables,
            kind=kind,
            operation_name=operation_name,
        )

    def _introspect(
        self, document: DocumentNode, operation: OperationDefinitionNode, variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Answer `__schema` / `__type` root fields (in fragments too) from the API schema."""
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        schema = self.model.api_schema
        root = schema.get_root_type(operation.operation)
        assert root is not None  # the operation validated against this schema
        # the root fields as GraphQL collects them (fragments followed, @skip/@include decided): the introspecting
        # ones run here, the rest was planned
        collected = collect_fields(schema, fragments, dict(variables), root, operation.selection_set)
        introspecting = [
            node
            for nodes in collected.values()
            for node in nodes
            if node.name.value in ("__schema", "__type")
        ]
        only = OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=operation.directives,
            selection_set=SelectionSetNode(selections=tuple(introspecting)),
        )
        definitions = tuple(d for d in document.definitions if not isinstance(d, OperationDefinitionNode))
        result = execute(
            schema,
            DocumentNode(definitions=(only, *definitions)),
            variable_values=dict(variables),
        )
        if not isinstance(result, ExecutionResult):  # introspection resolvers are synchronous
            raise TypeError("introspection did not complete synchronously")
        if result.errors:
            log.warning("introspection failed: %s", result.errors)
        return dict(result.data or {})
