"""The supergraph as the planner sees it: subgraphs, and which subgraph holds which type and field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from graphql import GraphQLSchema, SelectionSetNode

__all__ = [
    "ContextArgument",
    "FieldDef",
    "FieldInGraph",
    "KeyDef",
    "Subgraph",
    "SupergraphError",
    "SupergraphModel",
    "TypeDef",
    "TypeInGraph",
    "TypeKind",
]

TypeKind = Literal["object", "interface", "union", "enum", "input", "scalar"]


class SupergraphError(ValueError):
    """A supergraph that cannot be read; the message names the line where it can."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True, kw_only=True)
class Subgraph:
    """One subgraph: its `join__Graph` enum value, its name and its URL."""

    enum: str
    name: str
    url: str


@dataclass(frozen=True, kw_only=True)
class KeyDef:
    """One `@key` of an entity in one subgraph."""

    fields: str
    selection: SelectionSetNode
    resolvable: bool


@dataclass(frozen=True, kw_only=True)
class ContextArgument:
    """A field argument filled from an ancestor's context (`@fromContext`)."""

    name: str
    type: str
    context: str
    selection: str


@dataclass(kw_only=True)
class TypeInGraph:
    """What one subgraph declares of a type."""

    graph: str
    keys: list[KeyDef] = field(default_factory=list)
    extension: bool = False
    interface_object: bool = False


@dataclass(frozen=True, kw_only=True)
class FieldInGraph:
    """What one subgraph declares of a field (`@join__field`)."""

    graph: str
    external: bool = False
    requires: SelectionSetNode | None = None
    requires_text: str | None = None
    provides: SelectionSetNode | None = None
    provides_text: str | None = None
    override_from: str | None = None
    override_label: str | None = None
    used_overridden: bool = False
    type: str | None = None
    context_arguments: tuple[ContextArgument, ...] = ()


@dataclass(kw_only=True)
class FieldDef:
    """A field of an object or interface type, and the subgraphs that declare it."""

    parent: str
    name: str
    in_graphs: dict[str, FieldInGraph] = field(default_factory=dict)

    @property
    def coordinate(self) -> str:
        return f"{self.parent}.{self.name}"


@dataclass(kw_only=True)
class TypeDef:
    """A named type of the supergraph and where it lives."""

    name: str
    kind: TypeKind
    in_graphs: dict[str, TypeInGraph] = field(default_factory=dict)
    fields: dict[str, FieldDef] = field(default_factory=dict)
    # graph -> interfaces this type implements in that graph
    implements_in: dict[str, set[str]] = field(default_factory=dict)
    # graph -> union members in that graph
    members_in: dict[str, set[str]] = field(default_factory=dict)
    # every interface of the type / every member of the union, in the supergraph
    interfaces: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    # graph -> context names this type sets (`@context`)
    contexts: tuple[str, ...] = ()

    @property
    def is_composite(self) -> bool:
        return self.kind in ("object", "interface", "union")

    @property
    def is_abstract(self) -> bool:
        return self.kind in ("interface", "union")


@dataclass(kw_only=True)
class SupergraphModel:
    """Everything read from a supergraph SDL."""

    sdl: str
    schema: GraphQLSchema
    api_schema: GraphQLSchema
    subgraphs: dict[str, Subgraph]
    types: dict[str, TypeDef]
    query_type: str
    mutation_type: str | None
    subscription_type: str | None
    # interface or union -> object types that may be returned for it, in the supergraph
    possible_types: dict[str, tuple[str, ...]]

    def subgraph_by_name(self, name: str) -> Subgraph | None:
        for subgraph in self.subgraphs.values():
            if subgraph.name == name:
                return subgraph
        return None

    def root_type(self, operation: str) -> str | None:
        if operation == "query":
            return self.query_type
        if operation == "mutation":
            return self.mutation_type
        return self.subscription_type
