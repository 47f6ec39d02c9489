"""Data-driven Apollo Federation v2 subgraphs (ariadne) that record requests and fail on demand."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from inspect import isawaitable
from typing import Any, Literal, get_args

import ariadne
import ariadne.contrib.federation.schema as ariadne_federation_schema
from ariadne import ObjectType, SchemaBindable
from ariadne.contrib.federation import make_federated_schema
from ariadne.utils import type_get_extension
from graphql import (
    REMOVE,
    ArgumentNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    OperationDefinitionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

__all__ = [
    "MODES",
    "Mode",
    "RecordedRequest",
    "SubgraphApp",
    "SubgraphSpec",
    "build_subgraph_schema",
    "executable_sdl",
]

Mode = Literal["ok", "error500", "garbage", "hang", "graphql_error"]
MODES: tuple[Mode, ...] = get_args(Mode)

Record = dict[str, Any]
# Parsed @key field set: field name -> nested key fields (None for a leaf).
KeyFields = dict[str, "KeyFields | None"]


@dataclass
class SubgraphSpec:
    """What a test subgraph serves: its SDL, its records per type, and its resolvers.

    ``data`` maps type names to records (plain dicts). Entity types (``@key`` on an
    object or an interface) get a reference resolver that finds the record whose key
    fields equal the representation's; records of abstract types carry ``__typename``.
    ``resolvers`` are ariadne bindables (``QueryType()``, ``FederatedObjectType(...)``
    with its own ``reference_resolver``...). ``root`` is a shortcut for resolvers:
    ``{"me": fn}`` sets ``Query.me``, ``{"Mutation.addUser": fn, "User.friends": fn}``
    set any ``Type.field``; a value that is not callable is returned as is.
    """

    name: str
    sdl: str
    data: dict[str, list[Record]] = field(default_factory=dict)
    resolvers: list[SchemaBindable] = field(default_factory=list)
    root: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the subgraph received it (recorded before any failure mode applies)."""

    method: str
    path: str
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    headers: dict[str, str]
    body: Any
    raw: bytes
    received_at: float

    @property
    def is_entities(self) -> bool:
        """Whether this request is an ``_entities`` fetch (as opposed to a root-field fetch)."""
        return self.query is not None and "_entities" in self.query

    @property
    def representations(self) -> list[Record]:
        """The ``representations`` variable of an ``_entities`` fetch (empty otherwise)."""
        if not self.variables:
            return []
        reps = self.variables.get("representations")
        return list(reps) if isinstance(reps, list) else []


# ---------------------------------------------------------------------------
# Making ariadne accept every Federation 2 SDL
# ---------------------------------------------------------------------------

FEDERATION_SPEC_PREFIX = "https://specs.apollo.dev/federation/"


@cache
def _ariadne_federation_definitions() -> tuple[str, dict[str, frozenset[str]], frozenset[str]]:
    """The newest federation definitions ariadne ships: (version, directive -> argument names, type names)."""
    folder = os.path.join(os.path.dirname(ariadne_federation_schema.__file__), "definitions")
    files = [f for f in os.listdir(folder) if f.startswith("fed_v") and f.endswith(".graphql")]

    def version_key(filename: str) -> tuple[int, ...]:
        return tuple(int(part) for part in filename[len("fed_v") : -len(".graphql")].split("."))

    newest = max(files, key=version_key)
    with open(os.path.join(folder, newest), encoding="utf-8") as handle:
        document = parse(handle.read())
    directives: dict[str, frozenset[str]] = {}
    types: set[str] = set()
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            directives[definition.name.value] = frozenset(a.name.value for a in definition.arguments or ())
        elif isinstance(definition, TypeDefinitionNode):
            types.add(definition.name.value)
    version = newest[len("fed_") : -len(".graphql")]
    return version, directives, frozenset(types)


class _ExecutableSdlVisitor(Visitor):
    """Rewrites an SDL into one that ariadne's ``make_federated_schema`` builds.

    ariadne appends its own federation definitions to the SDL, picked from the first
    ``@link`` url, and those lack newer directives (``@context``, ``@cost``...) and
    arguments (``@override(label:)``). So: drop ``@link``s (one pointing at the newest
    definitions ariadne has is added back), drop definitions ariadne supplies itself,
    keep only the arguments ariadne knows, and drop directives defined nowhere.
    """

    def __init__(
        self,
        known: Mapping[str, frozenset[str]],
        own: frozenset[str],
        builtin_types: frozenset[str],
    ):
        super().__init__()
        self.known = known
        self.own = own
        self.builtin_types = builtin_types

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> Any:
        name = node.name.value
        if name == "link":
            return REMOVE
        if name in self.own:
            return None
        if name not in self.known:
            return REMOVE
        allowed = self.known[name]
        arguments: tuple[ArgumentNode, ...] = tuple(node.arguments or ())
        kept = tuple(a for a in arguments if a.name.value in allowed)
        if len(kept) == len(arguments):
            return None
        return DirectiveNode(name=node.name, arguments=kept)

    def enter_directive_definition(self, node: DirectiveDefinitionNode, *_args: Any) -> Any:
        return REMOVE if node.name.value in self.known else None

    def enter_scalar_type_definition(self, node: TypeDefinitionNode, *_args: Any) -> Any:
        return REMOVE if node.name.value in self.builtin_types else None

    def enter_enum_type_definition(self, node: TypeDefinitionNode, *_args: Any) -> Any:
        return REMOVE if node.name.value in self.builtin_types else None


def _drop_empty_schema_nodes(document: DocumentNode) -> DocumentNode:
    """Removes ``schema``/``extend schema`` nodes left with neither directives nor operation types."""
    definitions = [
        d
        for d in document.definitions
        if not (
            isinstance(d, SchemaExtensionNode | SchemaDefinitionNode)
            and not d.directives
            and not d.operation_types
        )
    ]
    return DocumentNode(definitions=tuple(definitions))


_DEFINITION_OF_EXTENSION: dict[type[Any], type[TypeDefinitionNode]] = {
    ObjectTypeExtensionNode: ObjectTypeDefinitionNode,
    InterfaceTypeExtensionNode: InterfaceTypeDefinitionNode,
    UnionTypeExtensionNode: UnionTypeDefinitionNode,
    EnumTypeExtensionNode: EnumTypeDefinitionNode,
    InputObjectTypeExtensionNode: InputObjectTypeDefinitionNode,
    ScalarTypeExtensionNode: ScalarTypeDefinitionNode,
}


def _define_orphan_extensions(document: DocumentNode) -> DocumentNode:
    """Turns ``extend type X`` into ``type X`` where X has no definition (valid in a subgraph SDL)."""
    defined = {d.name.value for d in document.definitions if isinstance(d, TypeDefinitionNode)}
    definitions: list[Any] = []
    for node in document.definitions:
        definition_class = _DEFINITION_OF_EXTENSION.get(type(node))
        if isinstance(node, TypeExtensionNode) and definition_class and node.name.value not in defined:
            defined.add(node.name.value)
            attributes = {key: getattr(node, key) for key in node.keys if key != "loc"}
            node = definition_class(**attributes, description=None)
        definitions.append(node)
    return DocumentNode(definitions=tuple(definitions))


def executable_sdl(sdl: str) -> str:
    """The SDL that ariadne is given for ``sdl`` (the subgraph still reports ``sdl`` itself)."""
    version, known, builtin_types = _ariadne_federation_definitions()
    document = parse(sdl)
    own = frozenset(
        d.name.value
        for d in document.definitions
        if isinstance(d, DirectiveDefinitionNode) and d.name.value not in known
    )
    rewritten = visit(document, _ExecutableSdlVisitor(known, own, builtin_types))
    rewritten = _define_orphan_extensions(_drop_empty_schema_nodes(rewritten))
    link = f'extend schema @link(url: "{FEDERATION_SPEC_PREFIX}{version}")'
    return link + "\n\n" + print_ast(rewritten)


# ---------------------------------------------------------------------------
# Entities
# ---------------------------------------------------------------------------


def _parse_field_set(fields: str) -> KeyFields:
    document = parse("{" + fields + "}")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)

    def convert(selections: Iterable[Any]) -> KeyFields:
        out: KeyFields = {}
        for selection in selections:
            if isinstance(selection, FieldNode):
                sub = selection.selection_set
                out[selection.name.value] = convert(sub.selections) if sub else None
            elif getattr(selection, "selection_set", None) is not None:  # inline fragment
                out.update(convert(selection.selection_set.selections))
        return out

    return convert(operation.selection_set.selections)


def entity_keys(graphql_type: GraphQLObjectType | GraphQLInterfaceType) -> list[KeyFields]:
    """The parsed ``@key(fields:)`` of a type, from its definition and its extensions."""
    nodes = [graphql_type.ast_node, *(graphql_type.extension_ast_nodes or ())]
    keys: list[KeyFields] = []
    for node in nodes:
        for directive in (node.directives or ()) if node is not None else ():
            if directive.name.value != "key":
                continue
            for argument in directive.arguments or ():
                if argument.name.value == "fields" and isinstance(argument.value, StringValueNode):
                    keys.append(_parse_field_set(argument.value.value))
    return keys


def _scalar_equal(left: Any, right: Any) -> bool:
    if left == right:
        return True
    # An ID arrives as a string even where the record holds an int.
    return left is not None and right is not None and str(left) == str(right)


def _matches(record: Any, representation: Any, key: KeyFields | None) -> bool:
    if key is None:
        return _scalar_equal(record, representation)
    if isinstance(representation, list):
        return (
            isinstance(record, list)
            and len(record) == len(representation)
            and all(_matches(a, b, key) for a, b in zip(record, representation, strict=True))
        )
    if not isinstance(record, Mapping) or not isinstance(representation, Mapping):
        return False
    return all(
        name in representation and _matches(record.get(name), representation[name], sub)
        for name, sub in key.items()
    )


def _deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> Record:
    merged = dict(base)
    for name, value in extra.items():
        current = merged.get(name)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[name] = _deep_merge(current, value)
        else:
            merged[name] = value
    return merged


class _EntityResolver:
    """The ``Query._entities`` resolver: user reference resolvers first, then the records in ``data``."""

    def __init__(self, data: Mapping[str, list[Record]]):
        self.data = data

    async def __call__(
        self, _root: Any, info: GraphQLResolveInfo, representations: list[Record]
    ) -> list[Any]:
        return [await self.resolve_one(info, representation) for representation in representations]

    async def resolve_one(self, info: GraphQLResolveInfo, representation: Record) -> Any:
        typename = representation.get("__typename")
        graphql_type = info.schema.get_type(typename) if isinstance(typename, str) else None
        if not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            raise GraphQLError(f"_entities: {typename!r} is not an object or interface type of this subgraph")
        custom = type_get_extension(graphql_type, "__resolve_reference__")
        if custom is not None:
            value = custom(graphql_type, info, representation)
            if isawaitable(value):
                value = await value
            return self._typed(graphql_type, value)
        return self._lookup(info.schema, graphql_type, representation)

    @staticmethod
    def _typed(graphql_type: GraphQLObjectType | GraphQLInterfaceType, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(graphql_type, GraphQLInterfaceType):
            if isinstance(value, Mapping) and value.get("__typename") in (None, graphql_type.name):
                raise GraphQLError(
                    f"reference resolver of interface {graphql_type.name} must set a concrete __typename"
                )
            return value
        if isinstance(value, Mapping):
            return {**value, "__typename": graphql_type.name}
        setattr(value, f"_{value.__class__.__name__}__typename", graphql_type.name)
        return value

    def _candidates(
        self, schema: GraphQLSchema, graphql_type: GraphQLObjectType | GraphQLInterfaceType
    ) -> list[tuple[str, Record]] | None:
        if isinstance(graphql_type, GraphQLObjectType):
            if graphql_type.name not in self.data:
                return None
            return [(graphql_type.name, r) for r in self.data[graphql_type.name]]
        names = [graphql_type.name, *(t.name for t in schema.get_possible_types(graphql_type))]
        if not any(name in self.data for name in names):
            return None
        found: list[tuple[str, Record]] = []
        for name in names:
            found.extend((str(r.get("__typename", name)), r) for r in self.data.get(name, ()))
        return found

    def _lookup(
        self,
        schema: GraphQLSchema,
        graphql_type: GraphQLObjectType | GraphQLInterfaceType,
        representation: Record,
    ) -> Record | None:
        candidates = self._candidates(schema, graphql_type)
        if candidates is None:
            if isinstance(graphql_type, GraphQLInterfaceType):
                return None  # no record can tell the concrete type
            # A type without records (e.g. a stub this subgraph only extends): the
            # representation itself is the entity; resolvers read its fields.
            return {**representation, "__typename": graphql_type.name}
        keys = entity_keys(graphql_type)
        for typename, record in candidates:
            if any(
                all(name in representation for name in key) and _matches(record, representation, key)
                for key in keys
            ):
                return {**_deep_merge(record, representation), "__typename": typename}
        return None


# ---------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------


def _constant(value: Any) -> Callable[..., Any]:
    def resolve(*_args: Any, **_kwargs: Any) -> Any:
        return value

    return resolve


def _root_bindables(root: Mapping[str, Any]) -> list[SchemaBindable]:
    by_type: dict[str, ObjectType] = {}
    for path, value in root.items():
        type_name, _, field_name = path.rpartition(".")
        bindable = by_type.setdefault(type_name or "Query", ObjectType(type_name or "Query"))
        bindable.set_field(field_name, value if callable(value) else _constant(value))
    return list(by_type.values())


def build_subgraph_schema(spec: SubgraphSpec) -> GraphQLSchema:
    """An executable federated schema for ``spec``, with ``_entities`` and ``_service { sdl }``."""
    schema = make_federated_schema(executable_sdl(spec.sdl), *spec.resolvers, *_root_bindables(spec.root))
    query = schema.query_type
    assert query is not None
    original_sdl = spec.sdl
    query.fields["_service"].resolve = lambda *_: {"sdl": original_sdl}
    if "_entities" in query.fields:
        query.fields["_entities"].resolve = _EntityResolver(spec.data)
    return schema


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


class SubgraphApp:
    """ASGI app serving one subgraph at ``path``: records requests, then answers per ``mode``.

    Modes: ``ok`` (execute), ``error500`` (HTTP 500, text body), ``garbage`` (HTTP 200
    with a body that is not JSON), ``hang`` (no answer until the mode changes or the
    server stops), ``graphql_error`` (HTTP 200 with ``data: null`` and an error).
    ``delay`` seconds are waited before answering in every mode.
    """

    def __init__(
        self,
        name: str,
        schema: GraphQLSchema,
        *,
        sdl: str | None = None,
        path: str = "/graphql",
        debug: bool = False,
        hang_timeout: float = 60.0,
    ):
        self.name = name
        self.schema = schema
        self.sdl = sdl
        self.path = path
        self.debug = debug
        self.hang_timeout = hang_timeout
        self.requests: list[RecordedRequest] = []
        self.delay = 0.0
        self.in_flight = 0  # requests being answered now
        self.most_in_flight = 0  # the most at once since the start (or `reset`)
        self._mode: Mode = "ok"
        self._mode_budget: int | None = None
        self._closing = False
        self._app = Starlette(routes=[Route(path, self._endpoint, methods=["GET", "POST"])])

    @classmethod
    def from_spec(cls, spec: SubgraphSpec, **options: Any) -> SubgraphApp:
        """Builds the schema of ``spec`` and serves it."""
        return cls(spec.name, build_subgraph_schema(spec), sdl=spec.sdl, **options)

    # -- controls (called from the test's thread) --------------------------

    @property
    def mode(self) -> Mode:
        """The current failure mode (``"ok"`` for none)."""
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self.set_mode(mode)

    def set_mode(self, mode: Mode, *, times: int | None = None) -> None:
        """Switches to ``mode``; with ``times``, only for that many requests, then back to ``ok``."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        self._mode_budget = times
        self._mode = mode

    def reset(self) -> None:
        """Forgets recorded requests and goes back to mode ``ok`` without delay."""
        self.requests.clear()
        self.set_mode("ok")
        self.delay = 0.0
        self.most_in_flight = 0

    def close(self) -> None:
        """Releases hanging requests (they answer 503); called before the server stops."""
        self._closing = True

    @property
    def queries(self) -> list[str | None]:
        """The query strings received, in order."""
        return [r.query for r in self.requests]

    # -- ASGI ------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def _take_mode(self) -> Mode:
        mode = self._mode
        if self._mode_budget is not None:
            self._mode_budget -= 1
            if self._mode_budget <= 0:
                self._mode_budget = None
                self._mode = "ok"
        return mode

    async def _record(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        body: Any
        if request.method == "GET":
            params = dict(request.query_params)
            body = dict(params)
            for name in ("variables", "extensions"):
                if name in params:
                    with contextlib.suppress(ValueError):
                        body[name] = json.loads(params[name])
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
        fields = body if isinstance(body, dict) else {}
        query, variables, operation_name = (
            fields.get("query"),
            fields.get("variables"),
            fields.get("operationName"),
        )
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=query if isinstance(query, str) else None,
            variables=variables if isinstance(variables, dict) else None,
            operation_name=operation_name if isinstance(operation_name, str) else None,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            raw=raw,
            received_at=time.monotonic(),
        )
        self.requests.append(recorded)
        return recorded

    async def _hang(self) -> bool:
        """Waits while the mode is ``hang``; False if released by shutdown or timeout."""
        deadline = time.monotonic() + self.hang_timeout
        while self._mode == "hang" and not self._closing:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)  # the hang under test (released by a mode set from another thread)
        return not self._closing

    async def _endpoint(self, request: Request) -> Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        recorded = await self._record(request)
        mode = self._take_mode()
        if self.delay:
            await asyncio.sleep(self.delay)  # the slow subgraph under test
        if mode == "hang":
            if not await self._hang():
                return PlainTextResponse("subgraph stopped hanging without answering", status_code=503)
            mode = "ok" if self._mode == "hang" else self._mode
        if mode == "error500":
            return PlainTextResponse("Internal Server Error", status_code=500)
        if mode == "garbage":
            return Response(
                b"<html><body>502 Bad Gateway</body>\x00 not json {", media_type="application/json"
            )
        if mode == "graphql_error":
            return JSONResponse(
                {
                    "data": None,
                    "errors": [
                        {
                            "message": f"subgraph {self.name} failed (injected graphql_error)",
                            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                        }
                    ],
                }
            )
        if not isinstance(recorded.body, dict):
            return JSONResponse(
                {"errors": [{"message": "request body must be a JSON object"}]}, status_code=400
            )
        _success, result = await ariadne.graphql(
            self.schema,
            recorded.body,
            context_value={"request": request, "subgraph": self},
            debug=self.debug,
        )
        # Like Apollo Server: 200 once execution started (even with data: null), else 400.
        return JSONResponse(result, status_code=200 if "data" in result else 400)
