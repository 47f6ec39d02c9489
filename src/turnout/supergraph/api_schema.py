"""Derive the API schema (what clients see) from a supergraph document."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    GraphQLSchema,
    NamedTypeNode,
    Node,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    build_ast_schema,
)

from .links import LinkedSpecs

__all__ = ["build_api_schema"]

N = TypeVar("N", bound=Node)

_EXECUTABLE_LOCATIONS = frozenset(
    {
        "QUERY",
        "MUTATION",
        "SUBSCRIPTION",
        "FIELD",
        "FRAGMENT_DEFINITION",
        "FRAGMENT_SPREAD",
        "INLINE_FRAGMENT",
        "VARIABLE_DEFINITION",
    }
)


def _named(node: Any) -> str:
    while not isinstance(node, NamedTypeNode):
        node = node.type
    return str(node.name.value)


class _Filter:
    def __init__(self, links: LinkedSpecs) -> None:
        self.links = links
        self.inaccessible = links.directive_name("inaccessible", "inaccessible")
        self.removed_types: set[str] = set()
        # custom directives that only annotate the type system: clients never see them
        self.removed_directives: set[str] = set()

    def hidden(self, node: Node) -> bool:
        if self.inaccessible is None:
            return False
        return any(d.name.value == self.inaccessible for d in getattr(node, "directives", None) or ())

    def directives(self, directives: Iterable[DirectiveNode] | None) -> tuple[DirectiveNode, ...]:
        return tuple(
            d
            for d in directives or ()
            if not self.links.is_machinery_directive(d.name.value)
            and d.name.value not in self.removed_directives
        )

    def strip(self, node: N, **changes: Any) -> N:
        values = {key: getattr(node, key) for key in node.keys}
        values.update(changes)
        values["loc"] = None
        if "directives" in values:
            values["directives"] = self.directives(values["directives"])
        return type(node)(**values)

    def keep_type_ref(self, type_node: Any) -> bool:
        return _named(type_node) not in self.removed_types

    def field(self, node: Any) -> Any:
        if "arguments" not in node.keys:  # an input field
            return self.strip(node)
        arguments = tuple(
            self.strip(a) for a in node.arguments or () if not self.hidden(a) and self.keep_type_ref(a.type)
        )
        return self.strip(node, arguments=arguments)

    def type_node(self, node: Any) -> Any:
        changes: dict[str, Any] = {}
        if "fields" in node.keys and node.fields is not None:
            changes["fields"] = tuple(
                self.field(f) for f in node.fields if not self.hidden(f) and self.keep_type_ref(f.type)
            )
        if "values" in node.keys and node.values is not None:
            changes["values"] = tuple(self.strip(v) for v in node.values if not self.hidden(v))
        if "interfaces" in node.keys and node.interfaces is not None:
            changes["interfaces"] = tuple(
                i for i in node.interfaces if i.name.value not in self.removed_types
            )
        if "types" in node.keys and node.types is not None:
            changes["types"] = tuple(t for t in node.types if t.name.value not in self.removed_types)
        return self.strip(node, **changes)


def build_api_schema(document: DocumentNode, links: LinkedSpecs) -> GraphQLSchema:
    """Remove federation machinery and `@inaccessible` elements; build the schema clients are served."""
    keep = _Filter(links)
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode) and not any(
            location.value in _EXECUTABLE_LOCATIONS for location in definition.locations
        ):
            keep.removed_directives.add(definition.name.value)
    for definition in document.definitions:
        if isinstance(definition, TypeDefinitionNode | TypeExtensionNode):
            name = definition.name.value
            if links.is_machinery_type(name) or keep.hidden(definition):
                keep.removed_types.add(name)
    definitions: list[Any] = []
    for definition in document.definitions:
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            operation_types = tuple(
                o for o in definition.operation_types or () if o.type.name.value not in keep.removed_types
            )
            if isinstance(definition, SchemaExtensionNode) and not operation_types:
                continue
            definitions.append(keep.strip(definition, operation_types=operation_types))
        elif isinstance(definition, DirectiveDefinitionNode):
            name = definition.name.value
            if (
                name in ("link", "core")
                or links.is_machinery_directive(name)
                or name in keep.removed_directives
            ):
                continue
            definitions.append(keep.strip(definition))
        elif isinstance(definition, TypeDefinitionNode | TypeExtensionNode):
            if definition.name.value in keep.removed_types:
                continue
            converted = keep.type_node(definition)
            # a type left with no fields (all inaccessible) cannot be served
            if "fields" in converted.keys and converted.fields is not None and not converted.fields:
                continue
            definitions.append(converted)
        else:
            definitions.append(definition)
    return build_ast_schema(DocumentNode(definitions=tuple(definitions)), assume_valid_sdl=True)
