"""A subgraph as composition sees it: its types, fields and the federation directives on them, normalized."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from graphql import ListTypeNode, NamedTypeNode, NonNullTypeNode, TypeNode, ValueNode, print_ast

__all__ = [
    "Applied",
    "Kind",
    "SubArg",
    "SubEnumValue",
    "SubField",
    "SubKey",
    "SubType",
    "Subgraph",
    "named_type",
    "type_str",
]

Kind = Literal["object", "interface", "union", "enum", "input", "scalar"]


def named_type(node: TypeNode) -> str:
    """The named type under list and non-null wrappers."""
    while isinstance(node, ListTypeNode | NonNullTypeNode):
        node = node.type
    assert isinstance(node, NamedTypeNode)
    return node.name.value


def type_str(node: TypeNode) -> str:
    return print_ast(node)


@dataclass
class Applied:
    """The directives composition carries into the supergraph (not the federation ones, which become join__*)."""

    inaccessible: bool = False
    tags: list[str] = field(default_factory=list)
    deprecated: str | None = None  # the reason; "" is the default reason
    specified_by: str | None = None


@dataclass
class SubArg:
    name: str
    type: TypeNode
    default: ValueNode | None = None
    description: str | None = None
    applied: Applied = field(default_factory=Applied)
    line: int | None = None
    from_context: str | None = None  # @fromContext(field: "$context { selection }")


@dataclass
class SubField:
    name: str
    type: TypeNode
    args: dict[str, SubArg] = field(default_factory=dict)
    description: str | None = None
    applied: Applied = field(default_factory=Applied)
    external: bool = False
    shareable: bool = False  # @shareable on the field, or on the type (definition or extension it is in)
    requires: str | None = None
    provides: str | None = None
    override_from: str | None = None
    override_label: str | None = None
    default: ValueNode | None = None  # input fields
    line: int | None = None
    requires_line: int | None = None
    provides_line: int | None = None


@dataclass
class SubKey:
    fields: str
    resolvable: bool = True
    resolvable_given: bool = False  # `resolvable:` written out (Apollo prints it back)
    extension: bool = False
    line: int | None = None


@dataclass
class SubEnumValue:
    name: str
    description: str | None = None
    applied: Applied = field(default_factory=Applied)


@dataclass
class SubType:
    name: str
    kind: Kind
    description: str | None = None
    applied: Applied = field(default_factory=Applied)
    fields: dict[str, SubField] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    values: dict[str, SubEnumValue] = field(default_factory=dict)
    keys: list[SubKey] = field(default_factory=list)
    interface_object: bool = False
    contexts: list[str] = field(default_factory=list)  # @context(name:)
    extends: bool = False  # @extends, or only `extend type` nodes
    extends_directive: bool = False  # @extends itself
    has_definition: bool = False
    line: int | None = None

    @property
    def is_entity(self) -> bool:
        return bool(self.keys)


@dataclass
class Subgraph:
    name: str
    url: str
    types: dict[str, SubType] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)  # "query" -> "Query" (names are normalized)
    fed2: bool = True
    version: tuple[int, int] = (2, 0)
    interface_keys: set[str] = field(
        default_factory=set
    )  # fed1 interfaces that had @key (dropped on upgrade)
    # computed once normalized: (type, field) coordinates
    shareable: set[tuple[str, str]] = field(default_factory=set)
    used: set[tuple[str, str]] = field(default_factory=set)  # by a key, requires, provides or an interface
    provided: set[tuple[str, str]] = field(default_factory=set)  # by some @provides

    def implementations(self, interface: str) -> list[str]:
        return [t.name for t in self.types.values() if interface in t.interfaces and t.kind == "object"]

    def field(self, type_name: str, field_name: str) -> SubField | None:
        found = self.types.get(type_name)
        return found.fields.get(field_name) if found is not None else None
