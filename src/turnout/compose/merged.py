"""The supergraph composition builds: merged types and fields with their `join__*` metadata, ready to print."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graphql import TypeNode, ValueNode

from .model import Applied, Kind

__all__ = [
    "Graph",
    "JoinField",
    "JoinType",
    "MergedArg",
    "MergedEnumValue",
    "MergedField",
    "MergedType",
    "Supergraph",
    "graph_enum_names",
]


@dataclass(frozen=True)
class Graph:
    name: str  # the subgraph's name
    enum: str  # its join__Graph value
    url: str


@dataclass
class JoinType:
    graph: str  # enum value
    key: str | None = None
    extension: bool = False
    resolvable: bool = True
    interface_object: bool = False
    resolvable_given: bool = False


@dataclass
class JoinField:
    graph: (
        str | None
    )  # None: `@join__field` with no graph (an interface object's field added to an implementation)
    requires: str | None = None
    provides: str | None = None
    type: str | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    override_label: str | None = None
    context_arguments: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # context, name, type, sel.


@dataclass
class MergedArg:
    name: str
    type: TypeNode
    default: ValueNode | None = None
    description: str | None = None
    applied: Applied = field(default_factory=Applied)


@dataclass
class MergedField:
    name: str
    type: TypeNode
    args: dict[str, MergedArg] = field(default_factory=dict)
    description: str | None = None
    applied: Applied = field(default_factory=Applied)
    joins: list[JoinField] = field(
        default_factory=list
    )  # empty: no join__field (in every subgraph of the type)
    default: ValueNode | None = None


@dataclass
class MergedEnumValue:
    name: str
    description: str | None = None
    applied: Applied = field(default_factory=Applied)
    graphs: list[str] = field(default_factory=list)


@dataclass
class MergedType:
    name: str
    kind: Kind
    description: str | None = None
    applied: Applied = field(default_factory=Applied)
    joins: list[JoinType] = field(default_factory=list)
    fields: dict[str, MergedField] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)
    implements: list[tuple[str, str]] = field(default_factory=list)  # (graph enum, interface)
    members: list[str] = field(default_factory=list)
    member_joins: list[tuple[str, str]] = field(default_factory=list)  # (graph enum, member)
    values: dict[str, MergedEnumValue] = field(default_factory=dict)
    contexts: list[str] = field(default_factory=list)  # `SUBGRAPH__NAME` of each @context


@dataclass
class Supergraph:
    graphs: list[Graph]
    types: dict[str, MergedType]
    roots: dict[str, str]
    join_version: str = "0.3"

    @property
    def uses_inaccessible(self) -> bool:
        return any(_uses(t, "inaccessible") for t in self.types.values())

    @property
    def uses_context(self) -> bool:
        return any(t.contexts for t in self.types.values())

    @property
    def uses_tag(self) -> bool:
        return any(_uses(t, "tags") for t in self.types.values())


def _uses(merged: MergedType, attribute: str) -> bool:
    def on(applied: Applied) -> bool:
        return bool(getattr(applied, attribute))

    if on(merged.applied) or any(on(v.applied) for v in merged.values.values()):
        return True
    return any(on(f.applied) or any(on(a.applied) for a in f.args.values()) for f in merged.fields.values())


def graph_enum_names(names: list[str]) -> list[str]:
    """The join__Graph values of subgraph names, as Apollo makes them (upper case, `_` for others, unique)."""
    used: set[str] = set()
    result = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", name).upper()
        if not base or base[0].isdigit():
            base = "_" + base
        candidate, index = base, 1
        while candidate in used:
            candidate, index = f"{base}_{index}", index + 1
        used.add(candidate)
        result.append(candidate)
    return result
