"""The request pipeline: parse, validate, plan (cached), execute, project."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.validation import NoSchemaIntrospectionCustomRule, specified_rules

from .executor.plan_executor import PlanExecutor
from .executor.projection import Projector
from .planner.plan_nodes import QueryPlan
from .planner.query_planner import PlanningError, QueryPlanner, select_operation
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


@dataclass(frozen=True)
class _Prepared:
    document: DocumentNode
    errors: list[dict[str, Any]]


def _format(error: GraphQLError) -> dict[str, Any]:
    out = error.formatted
    return dict(out)


class Gateway:
    """Serves one supergraph: the planner, the executor and their caches."""

    def __init__(
        self,
        model: SupergraphModel,
        client: SubgraphClient,
        *,
        introspection: bool = True,
        urls: Mapping[str, str] | None = None,
        cache_size: int = 2048,
    ) -> None:
        self.model = model
        self.client = client
        self.introspection = introspection
        self.planner = QueryPlanner(model)
        self.executor = PlanExecutor(model, client, urls)
        self.projector = Projector(model.api_schema)
        self._documents: LRU[str, _Prepared] = LRU(cache_size)
        self._plans: LRU[tuple[str, str | None, Routing], QueryPlan] = LRU(cache_size)
        rules = list(specified_rules)
        if not introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self._rules = rules

    # -- steps ----------------------------------------------------------------------------------------------

    def prepare(self, query: str) -> DocumentNode:
        """Parse and validate a document (cached by its text); RequestError when it is not valid."""
        prepared = self._documents.get(query)
        if prepared is None:
            try:
                document = parse(query)
            except GraphQLSyntaxError as error:
                prepared = _Prepared(DocumentNode(definitions=()), [_format(error)])
            else:
                errors = validate(self.model.api_schema, document, self._rules)
                prepared = _Prepared(document, [_format(e) for e in errors])
            self._documents.put(query, prepared)
        if prepared.errors:
            raise RequestError(prepared.errors)
        return prepared.document

    def plan(self, query: str, operation_name: str | None, routing: Routing = DEFAULT_ROUTING) -> QueryPlan:
        key = (query, operation_name, routing)
        plan = self._plans.get(key)
        if plan is None:
            document = self.prepare(query)
            try:
                plan = self.planner.plan(document, operation_name, routing)
            except PlanningError as error:
                raise RequestError([{"message": str(error)}]) from None
            self._plans.put(key, plan)
        return plan

    async def execute(self, request: GraphQLRequest, routing: Routing = DEFAULT_ROUTING) -> dict[str, Any]:
        """Run one request; returns `{"data": ..., "errors": [...]}`. RequestError when nothing can run."""
        document = self.prepare(request.query)
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
        coerced = get_variable_values(self.model.api_schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            raise RequestError([_format(e) for e in coerced])
        for name, value in coerced.items():
            variables.setdefault(name, value)
        plan = self.plan(request.query, request.operation_name, routing)
        state = await self.executor.execute(plan, variables)
        if plan.has_introspection:
            state.data.update(self._introspect(document, operation, variables))
        data = self.projector.project(plan.root_type, plan.selections, state.data, variables, state.errors)
        response: dict[str, Any] = {"data": data}
        if state.errors:
            response["errors"] = state.errors
        return response

    def _introspect(self, document: DocumentNode, operation: OperationDefinitionNode,
                    variables: Mapping[str, Any]) -> dict[str, Any]:
        """Answer `__schema` / `__type` root fields from the API schema."""
        selections = tuple(
            s for s in operation.selection_set.selections
            if isinstance(s, FieldNode) and s.name.value in ("__schema", "__type")
        )
        only = OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=operation.directives,
            selection_set=SelectionSetNode(selections=selections),
        )
        definitions = tuple(d for d in document.definitions if not isinstance(d, OperationDefinitionNode))
        result = execute(
            self.model.api_schema, DocumentNode(definitions=(only, *definitions)), variable_values=dict(variables)
        )
        if not isinstance(result, ExecutionResult):  # introspection resolvers are synchronous
            raise TypeError("introspection did not complete synchronously")
        if result.errors:
            log.warning("introspection failed: %s", result.errors)
        return dict(result.data or {})
