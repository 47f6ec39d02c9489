"""Read an Apollo Federation supergraph SDL (`@link` core schemas, `join` v0.1 to v0.5) into a SupergraphModel."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    EnumValueNode,
    FieldDefinitionNode,
    GraphQLError,
    GraphQLSyntaxError,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListValueNode,
    Node,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ObjectValueNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    SelectionSetNode,
    Source,
    StringValueNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    ValueNode,
    build_ast_schema,
    parse,
)
from graphql.language import print_ast

from .api_schema import build_api_schema
from .links import LinkedSpecs
from .model import (
    ContextArgument,
    FieldDef,
    FieldInGraph,
    KeyDef,
    Subgraph,
    SupergraphError,
    SupergraphModel,
    TypeDef,
    TypeInGraph,
    TypeKind,
)

__all__ = ["TYPE_KINDS", "LinkedSpecs", "parse_field_set", "read_supergraph"]


def _line(source: Source, node: Node | None) -> int | None:
    if node is None or node.loc is None:
        return None
    return int(source.get_location(node.loc.start).line)


def _value(node: ValueNode) -> Any:
    """A literal argument value as Python data (enum values as their names)."""
    if isinstance(node, StringValueNode | EnumValueNode):
        return node.value
    if isinstance(node, BooleanValueNode):
        return node.value
    if isinstance(node, ListValueNode):
        return [_value(v) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _value(f.value) for f in node.fields}
    value = getattr(node, "value", None)
    return value


def _args(directive: DirectiveNode) -> dict[str, Any]:
    arguments: Iterable[ArgumentNode] = directive.arguments or ()
    return {a.name.value: _value(a.value) for a in arguments}


def parse_field_set(text: str) -> SelectionSetNode:
    """Parse a `FieldSet` string (`"id organization { id }"`) into a selection set."""
    document = parse("{" + text + "}", no_location=True)
    operation = document.definitions[0]
    selection_set: SelectionSetNode = operation.selection_set  # type: ignore[attr-defined]
    return selection_set


# the kind of type each definition or extension node declares
TYPE_KINDS: dict[type, TypeKind] = {
    ObjectTypeDefinitionNode: "object",
    ObjectTypeExtensionNode: "object",
    InterfaceTypeDefinitionNode: "interface",
    InterfaceTypeExtensionNode: "interface",
    UnionTypeDefinitionNode: "union",
    UnionTypeExtensionNode: "union",
    EnumTypeDefinitionNode: "enum",
    EnumTypeExtensionNode: "enum",
    InputObjectTypeDefinitionNode: "input",
    InputObjectTypeExtensionNode: "input",
    ScalarTypeDefinitionNode: "scalar",
    ScalarTypeExtensionNode: "scalar",
}


class _Reader:
    def __init__(self, sdl: str) -> None:
        self.sdl = sdl
        self.source = Source(sdl, "supergraph")
        try:
            self.document: DocumentNode = parse(self.source)
        except GraphQLSyntaxError as error:
            line = error.locations[0].line if error.locations else None
            raise SupergraphError(f"syntax error: {error.message}", line=line) from None
        self.links = LinkedSpecs()
        self.subgraphs: dict[str, Subgraph] = {}
        self.types: dict[str, TypeDef] = {}

    def _guess_line(self, message: str) -> int | None:
        """The first line using a name the message quotes (graphql-core's TypeErrors carry no location)."""
        for name in re.findall(r"'([_A-Za-z][_0-9A-Za-z.]*)'", message):
            word = re.compile(r"\b" + re.escape(name.split(".")[-1]) + r"\b")
            for number, line in enumerate(self.sdl.splitlines(), start=1):
                if word.search(line) and not line.lstrip().startswith(
                    ("type ", "enum ", "interface ", "union ", "input ", "scalar ")
                ):
                    return number
        return None

    def error(self, message: str, node: Node | None) -> SupergraphError:
        return SupergraphError(message, line=_line(self.source, node))

    def read(self) -> SupergraphModel:
        self._read_links()
        if "join" not in self.links.features:
            raise SupergraphError(
                "not a supergraph: no @link (or @core) to https://specs.apollo.dev/join; "
                "compose the subgraphs first (rover supergraph compose, or turnout compose)"
            )
        version = self.links.features["join"][0]
        if version not in {"0.1", "0.2", "0.3", "0.4", "0.5"}:
            raise SupergraphError(f"join spec v{version} is not supported (v0.1 to v0.5 are)")
        try:
            schema = build_ast_schema(self.document, assume_valid_sdl=False)
        except (GraphQLError, TypeError) as error:
            nodes = getattr(error, "nodes", None)
            if nodes:
                raise self.error(f"invalid supergraph schema: {error}", nodes[0]) from None
            raise SupergraphError(
                f"invalid supergraph schema: {error}", line=self._guess_line(str(error))
            ) from None
        self._read_graphs()
        self._read_types()
        query_type = schema.query_type.name if schema.query_type else None
        if query_type is None:
            raise SupergraphError("the supergraph has no query root type")
        possible: dict[str, tuple[str, ...]] = {}
        for name, typedef in self.types.items():
            if typedef.kind == "union":
                possible[name] = typedef.members
            elif typedef.kind == "interface":
                gql = schema.get_type(name)
                possible[name] = tuple(t.name for t in schema.get_possible_types(gql))  # type: ignore[arg-type]
        try:
            api_schema = build_api_schema(self.document, self.links)
        except GraphQLError as error:
            nodes = error.nodes or []
            raise self.error(
                f"cannot derive the API schema: {error.message}", nodes[0] if nodes else None
            ) from None
        return SupergraphModel(
            sdl=self.sdl,
            schema=schema,
            api_schema=api_schema,
            subgraphs=self.subgraphs,
            types=self.types,
            query_type=query_type,
            mutation_type=schema.mutation_type.name if schema.mutation_type else None,
            subscription_type=schema.subscription_type.name if schema.subscription_type else None,
            possible_types=possible,
        )

    # -- @link / @core -------------------------------------------------------------------------------------

    def _read_links(self) -> None:
        for definition in self.document.definitions:
            if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                continue
            for directive in definition.directives or ():
                name = directive.name.value
                if name not in ("link", "core"):
                    continue
                args = _args(directive)
                url = args.get("url") or args.get("feature")
                if not isinstance(url, str):
                    raise self.error(f"@{name} without a url", directive)
                imports = args.get("import") or []
                if not isinstance(imports, list):
                    raise self.error("@link(import:) must be a list", directive)
                self.links.add(url, args.get("as"), imports, _line(self.source, directive))

    def _directives(self, nodes: Iterable[Node], feature: str, directive: str) -> list[DirectiveNode]:
        local = self.links.directive_name(feature, directive)
        found: list[DirectiveNode] = []
        for node in nodes:
            for d in getattr(node, "directives", None) or ():
                if d.name.value == local:
                    found.append(d)
        return found

    # -- join__Graph ---------------------------------------------------------------------------------------

    def _read_graphs(self) -> None:
        prefix = self.links.features["join"][1]
        enum_name = f"{prefix}__Graph"
        for definition in self.document.definitions:
            if isinstance(definition, EnumTypeDefinitionNode) and definition.name.value == enum_name:
                for value in definition.values or ():
                    marks = self._directives([value], "join", "graph")
                    if not marks:
                        raise self.error(f"{enum_name}.{value.name.value} has no @{prefix}__graph", value)
                    args = _args(marks[0])
                    name, url = args.get("name"), args.get("url")
                    if not isinstance(name, str) or not isinstance(url, str):
                        raise self.error(f"@{prefix}__graph needs name and url", marks[0])
                    self.subgraphs[value.name.value] = Subgraph(enum=value.name.value, name=name, url=url)
        if not self.subgraphs:
            raise SupergraphError(
                f"the supergraph declares no subgraphs (enum {enum_name} is missing or empty)"
            )

    def _graph(self, args: dict[str, Any], node: Node) -> str:
        graph = args.get("graph")
        if not isinstance(graph, str) or graph not in self.subgraphs:
            raise self.error(f"unknown subgraph {graph!r}", node)
        return graph

    def _graph_by_name(self, name: str) -> str | None:
        for enum, subgraph in self.subgraphs.items():
            if subgraph.name == name or enum == name:
                return enum
        return None

    def _field_set(self, text: Any, node: Node) -> SelectionSetNode:
        if not isinstance(text, str):
            raise self.error("a field set must be a string", node)
        try:
            return parse_field_set(text)
        except GraphQLSyntaxError as error:
            raise self.error(f"invalid field set {text!r}: {error.message}", node) from None

    # -- types and fields ----------------------------------------------------------------------------------

    def _read_types(self) -> None:
        grouped: dict[str, list[Node]] = {}
        kinds: dict[str, TypeKind] = {}
        for definition in self.document.definitions:
            kind = TYPE_KINDS.get(type(definition))
            if kind is None:
                continue
            name = definition.name.value  # type: ignore[attr-defined]
            if self.links.is_machinery_type(name):
                continue
            grouped.setdefault(name, []).append(definition)
            kinds[name] = kind
        all_graphs = list(self.subgraphs)
        for name, nodes in grouped.items():
            typedef = TypeDef(name=name, kind=kinds[name])
            owner: str | None = None
            for d in self._directives(nodes, "join", "owner"):
                owner = self._graph(_args(d), d)
            for d in self._directives(nodes, "join", "type"):
                args = _args(d)
                graph = self._graph(args, d)
                entry = typedef.in_graphs.setdefault(graph, TypeInGraph(graph=graph))
                if args.get("key") is not None:
                    entry.keys.append(
                        KeyDef(
                            fields=args["key"],
                            selection=self._field_set(args["key"], d),
                            resolvable=args.get("resolvable", True) is not False,
                        )
                    )
                if args.get("extension"):
                    entry.extension = True
                if args.get("isInterfaceObject"):
                    entry.interface_object = True
            if not typedef.in_graphs:
                # join v0.1 value types (and types composition left unmarked) live in every subgraph
                for graph in [owner] if owner else all_graphs:
                    typedef.in_graphs[graph] = TypeInGraph(graph=graph)
            elif owner and owner not in typedef.in_graphs:
                typedef.in_graphs[owner] = TypeInGraph(graph=owner)
            interfaces: list[str] = []
            members: list[str] = []
            contexts: list[str] = []
            for node in nodes:
                interfaces.extend(i.name.value for i in getattr(node, "interfaces", None) or ())
                members.extend(m.name.value for m in getattr(node, "types", None) or ())
            typedef.interfaces = tuple(dict.fromkeys(interfaces))
            typedef.members = tuple(dict.fromkeys(members))
            for d in self._directives(nodes, "join", "implements"):
                args = _args(d)
                typedef.implements_in.setdefault(self._graph(args, d), set()).add(str(args.get("interface")))
            if typedef.kind in ("object", "interface") and not self._directives(nodes, "join", "implements"):
                for graph in typedef.in_graphs:
                    typedef.implements_in[graph] = set(typedef.interfaces)
            for d in self._directives(nodes, "join", "unionMember"):
                args = _args(d)
                typedef.members_in.setdefault(self._graph(args, d), set()).add(str(args.get("member")))
            for d in self._directives(nodes, "context", "context"):
                contexts.append(str(_args(d).get("name")))
            typedef.contexts = tuple(contexts)
            if typedef.kind in ("object", "interface"):
                default_graphs = [owner] if owner else list(typedef.in_graphs)
                for node in nodes:
                    for fnode in getattr(node, "fields", None) or ():
                        self._read_field(typedef, fnode, default_graphs)
                if owner:
                    # join v0.1: a subgraph that declares a key can return the key's fields
                    for graph, entry in typedef.in_graphs.items():
                        for key in entry.keys:
                            for selection in key.selection.selections:
                                fdef = typedef.fields.get(getattr(selection, "name").value)  # noqa: B009
                                if fdef is not None and graph not in fdef.in_graphs:
                                    fdef.in_graphs[graph] = FieldInGraph(graph=graph)
            if typedef.kind == "enum":
                for node in nodes:
                    for value in getattr(node, "values", None) or ():
                        for d in self._directives([value], "join", "enumValue"):
                            self._graph(_args(d), d)
            self.types[name] = typedef
        for typedef in self.types.values():
            if typedef.kind == "union" and not typedef.members_in:
                for graph in typedef.in_graphs:
                    typedef.members_in[graph] = {
                        m for m in typedef.members if graph in self.types.get(m, typedef).in_graphs
                    }

    def _read_field(self, typedef: TypeDef, node: FieldDefinitionNode, default_graphs: list[str]) -> None:
        fdef = FieldDef(parent=typedef.name, name=node.name.value)
        marks = self._directives([node], "join", "field")
        graph_marks = [d for d in marks if _args(d).get("graph") is not None]
        if not marks:
            for graph in default_graphs:
                fdef.in_graphs[graph] = FieldInGraph(graph=graph)
        for d in graph_marks:
            args = _args(d)
            graph = self._graph(args, d)
            override_from = None
            if isinstance(args.get("override"), str):
                override_from = self._graph_by_name(args["override"]) or args["override"]
            context_arguments = tuple(
                ContextArgument(
                    name=str(c.get("name")),
                    type=str(c.get("type")),
                    context=str(c.get("context")),
                    selection=str(c.get("selection")),
                )
                for c in args.get("contextArguments") or ()
                if isinstance(c, dict)
            )
            fdef.in_graphs[graph] = FieldInGraph(
                graph=graph,
                external=bool(args.get("external")),
                requires=self._field_set(args["requires"], d) if args.get("requires") else None,
                requires_text=args.get("requires"),
                provides=self._field_set(args["provides"], d) if args.get("provides") else None,
                provides_text=args.get("provides"),
                override_from=override_from,
                override_label=args.get("overrideLabel"),
                used_overridden=bool(args.get("usedOverridden")),
                type=args.get("type"),
                context_arguments=context_arguments,
            )
        typedef.fields[fdef.name] = fdef


def read_supergraph(sdl: str) -> SupergraphModel:
    """Read a supergraph SDL; raise SupergraphError (naming the line) when it cannot be served."""
    return _Reader(sdl).read()


def print_selection_set(selection_set: SelectionSetNode) -> str:
    return print_ast(selection_set)
