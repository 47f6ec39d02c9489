"""Read one subgraph's SDL: resolve its `@link` to the federation spec (or Federation 1 bare names), drop the
federation machinery (`_Service`, `_entities`...), and gather each type's definition and extensions."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from typing import Any

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeExtensionNode,
    EnumValueNode,
    FieldDefinitionNode,
    GraphQLSyntaxError,
    InputObjectTypeExtensionNode,
    InputValueDefinitionNode,
    InterfaceTypeExtensionNode,
    ListValueNode,
    NamedTypeNode,
    NameNode,
    Node,
    ObjectTypeExtensionNode,
    ObjectValueNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    Source,
    StringValueNode,
    TypeNode,
    UnionTypeExtensionNode,
    ValueNode,
    parse,
)
from graphql.language import ListTypeNode, NonNullTypeNode

from ..supergraph.join_spec import TYPE_KINDS
from .errors import CompositionError, Location
from .model import Applied, SubArg, SubEnumValue, SubField, Subgraph, SubKey, SubType

__all__ = ["FEDERATION_DIRECTIVES", "read_subgraph"]

FEDERATION_DIRECTIVES = (
    "key",
    "requires",
    "provides",
    "external",
    "shareable",
    "override",
    "inaccessible",
    "tag",
    "interfaceObject",
    "extends",
    "composeDirective",
    "authenticated",
    "requiresScopes",
    "policy",
    "context",
    "fromContext",
    "cost",
    "listSize",
)
# access control a supergraph must keep: refused rather than silently dropped
_NOT_COMPOSED = frozenset({"authenticated", "requiresScopes", "policy"})
_FED1_DIRECTIVES = ("key", "requires", "provides", "external", "extends", "tag", "inaccessible")
_SPEC_URL = re.compile(
    r"^https?://[^/]+(?:/.*)?/(?P<name>[A-Za-z_][A-Za-z0-9_-]*)/v(?P<major>\d+)\.(?P<minor>\d+)/?$"
)
_MACHINERY_TYPES = {
    "_Service",
    "_Any",
    "_Entity",
    "_FieldSet",
    "FieldSet",
    "link__Import",
    "link__Purpose",
    "link__FieldSet",
}
_ROOTS = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}
_EXTENSIONS = (
    ObjectTypeExtensionNode,
    InterfaceTypeExtensionNode,
    UnionTypeExtensionNode,
    EnumTypeExtensionNode,
    InputObjectTypeExtensionNode,
    ScalarTypeExtensionNode,
)


def _value(node: ValueNode) -> Any:
    if isinstance(node, StringValueNode | EnumValueNode | BooleanValueNode):
        return node.value
    if isinstance(node, ListValueNode):
        return [_value(v) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _value(f.value) for f in node.fields}
    return getattr(node, "value", None)


def _args(directive: DirectiveNode) -> dict[str, Any]:
    arguments: Iterable[ArgumentNode] = directive.arguments or ()
    return {a.name.value: _value(a.value) for a in arguments}


class _Reader:
    def __init__(self, name: str, url: str, sdl: str) -> None:
        self.name = name
        self.source = Source(sdl, name)
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|[\n\r]", sdl)]
        self.errors: list[CompositionError] = []
        self.subgraph = Subgraph(name=name, url=url)
        self.local: dict[str, str] = {}  # local directive name -> federation directive name
        self.machinery_prefixes: set[str] = {"link"}
        self.renames: dict[str, str] = {}  # root type renames (a subgraph's `schema { query: RootQuery }`)
        self.refused: set[tuple[str, int | None]] = set()

    def line(self, node: Node | None) -> int | None:
        if node is None or node.loc is None:
            return None
        return bisect.bisect_right(self.line_starts, node.loc.start)

    def error(self, code: str, message: str, node: Node | None = None) -> None:
        self.errors.append(
            CompositionError(
                code=code,
                message=f"[{self.name}] {message}",
                locations=(Location(subgraph=self.name, line=self.line(node)),),
            )
        )

    # -- @link ------------------------------------------------------------------------------------------------

    def read_links(self, document: DocumentNode) -> None:
        fed_link: tuple[str | None, Sequence[Any], tuple[int, int]] | None = None
        for definition in document.definitions:
            if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                continue
            for directive in definition.directives or ():
                if directive.name.value != "link":
                    continue
                args = _args(directive)
                match = _SPEC_URL.match(str(args.get("url") or ""))
                if not match:
                    continue
                spec, version = match.group("name"), (int(match.group("major")), int(match.group("minor")))
                imports = args.get("import") or []
                prefix = args.get("as") or spec
                if spec == "federation":
                    fed_link = (args.get("as"), imports, version)
                elif spec in ("inaccessible", "tag"):
                    self.local[prefix] = spec
                    self._imports(imports, spec_directives={spec})
                self.machinery_prefixes.add(prefix)
        if fed_link is None:
            self.subgraph.fed2 = False
            self.subgraph.version = (1, 0)
            for fed1 in _FED1_DIRECTIVES:
                self.local.setdefault(fed1, fed1)
            return
        alias, imports, version = fed_link
        self.subgraph.version = version
        prefix = alias or "federation"
        for fed2 in FEDERATION_DIRECTIVES:
            self.local[f"{prefix}__{fed2}"] = fed2
        self._imports(imports, spec_directives=set(FEDERATION_DIRECTIVES))

    def _imports(self, imports: Sequence[Any], spec_directives: set[str]) -> None:
        for item in imports:
            if isinstance(item, str):
                original, local = item, item
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                original, local = item["name"], item.get("as") or item["name"]
            else:
                continue
            if original.startswith("@") and original[1:] in spec_directives:
                self.local[local.lstrip("@")] = original[1:]

    def fed(self, node: Node) -> list[tuple[str, dict[str, Any], DirectiveNode]]:
        """The federation directives applied to `node`: (federation name, arguments, node)."""
        found = []
        for directive in getattr(node, "directives", None) or ():
            name = self.local.get(directive.name.value)
            if name in _NOT_COMPOSED and (name, self.line(directive)) not in self.refused:
                self.refused.add((name, self.line(directive)))
                self.error(
                    "UNSUPPORTED_FEATURE",
                    f"@{name} is not composed by turnout yet: its access rule would be lost in the "
                    f"supergraph (compose this graph with Apollo's composition)",
                    directive,
                )
            if name is not None:
                found.append((name, _args(directive), directive))
            elif directive.name.value == "deprecated":
                found.append(("deprecated", _args(directive), directive))
            elif directive.name.value == "specifiedBy":
                found.append(("specifiedBy", _args(directive), directive))
        return found

    def applied(self, node: Node) -> Applied:
        applied = Applied()
        for name, args, _directive in self.fed(node):
            if name == "inaccessible":
                applied.inaccessible = True
            elif name == "tag" and isinstance(args.get("name"), str):
                applied.tags.append(args["name"])
            elif name == "deprecated":
                reason = args.get("reason")
                applied.deprecated = reason if isinstance(reason, str) else ""
            elif name == "specifiedBy" and isinstance(args.get("url"), str):
                applied.specified_by = args["url"]
        return applied

    # -- types ------------------------------------------------------------------------------------------------

    def is_machinery(self, name: str) -> bool:
        if name in _MACHINERY_TYPES:
            return True
        return "__" in name and name.split("__", 1)[0] in self.machinery_prefixes | {"federation"}

    def type_ref(self, node: TypeNode) -> TypeNode:
        if isinstance(node, NonNullTypeNode):
            return NonNullTypeNode(type=self.type_ref(node.type))
        if isinstance(node, ListTypeNode):
            return ListTypeNode(type=self.type_ref(node.type))
        assert isinstance(node, NamedTypeNode)
        renamed = self.renames.get(node.name.value)
        return node if renamed is None else NamedTypeNode(name=NameNode(value=renamed))

    def read(self, sdl: str) -> tuple[Subgraph | None, list[CompositionError]]:
        try:
            document = parse(self.source)
        except GraphQLSyntaxError as error:
            line = error.locations[0].line if error.locations else None
            self.errors.append(
                CompositionError(
                    code="INVALID_GRAPHQL",
                    message=f"[{self.name}] {error.message}",
                    locations=(Location(subgraph=self.name, line=line),),
                )
            )
            return None, self.errors
        self.read_links(document)
        for definition in document.definitions:
            if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                for operation in definition.operation_types or ():
                    kind = operation.operation.value
                    self.subgraph.roots[kind] = _ROOTS[kind]
                    if operation.type.name.value != _ROOTS[kind]:
                        self.renames[operation.type.name.value] = _ROOTS[kind]
        grouped: dict[str, list[Node]] = {}
        for definition in document.definitions:
            if isinstance(definition, DirectiveDefinitionNode | SchemaDefinitionNode | SchemaExtensionNode):
                continue
            if type(definition) not in TYPE_KINDS:
                self.error("INVALID_GRAPHQL", f"unexpected definition {definition.kind}", definition)
                continue
            name = definition.name.value  # type: ignore[attr-defined]
            if self.is_machinery(name):
                continue
            name = self.renames.get(name, name)
            grouped.setdefault(name, []).append(definition)
        for kind_name, root in _ROOTS.items():
            if (
                root in grouped
                and kind_name not in self.subgraph.roots
                and not any(r == root for r in self.renames.values())
            ):
                self.subgraph.roots[kind_name] = root
        for name, nodes in grouped.items():
            self.read_type(name, nodes)
        if (
            "Query" not in self.subgraph.types
        ):  # federation adds `_service` (and `_entities`): always a Query type
            self.subgraph.types["Query"] = SubType(name="Query", kind="object", has_definition=True)
            self.subgraph.roots.setdefault("query", "Query")
        return self.subgraph, self.errors

    def read_type(self, name: str, nodes: list[Node]) -> None:
        kinds = {TYPE_KINDS[type(node)] for node in nodes}
        if len(kinds) > 1:
            self.error("INVALID_GRAPHQL", f'Type "{name}" is defined with different kinds', nodes[1])
            return
        kind = kinds.pop()
        sub = SubType(name=name, kind=kind, line=self.line(nodes[0]))
        sub.has_definition = any(not isinstance(node, _EXTENSIONS) for node in nodes)
        sub.extends = not sub.has_definition
        for node in nodes:
            extension = isinstance(node, _EXTENSIONS)
            description = getattr(node, "description", None)
            if description is not None and sub.description is None:
                sub.description = description.value
            applied = self.applied(node)
            sub.applied.inaccessible |= applied.inaccessible
            sub.applied.tags.extend(t for t in applied.tags if t not in sub.applied.tags)
            sub.applied.specified_by = sub.applied.specified_by or applied.specified_by
            type_shareable = type_external = False
            for fed_name, args, directive in self.fed(node):
                if fed_name == "key":
                    fields = args.get("fields")
                    if isinstance(fields, list):
                        fields = " ".join(str(f) for f in fields)
                    sub.keys.append(
                        SubKey(
                            fields=str(fields),
                            resolvable=args.get("resolvable", True) is not False,
                            resolvable_given="resolvable" in args,
                            extension=extension,
                            line=self.line(directive),
                        )
                    )
                elif fed_name == "extends":
                    sub.extends = sub.extends_directive = True
                elif fed_name == "interfaceObject":
                    sub.interface_object = True
                elif fed_name == "context" and isinstance(args.get("name"), str):
                    sub.contexts.append(args["name"])
                elif fed_name == "shareable":
                    type_shareable = True
                elif fed_name == "external" and self.subgraph.fed2:
                    type_external = True
            sub.interfaces.extend(
                i.name.value
                for i in getattr(node, "interfaces", None) or ()
                if i.name.value not in sub.interfaces
            )
            sub.members.extend(
                self.renames.get(m.name.value, m.name.value)
                for m in getattr(node, "types", None) or ()
                if m.name.value not in sub.members
            )
            for value in getattr(node, "values", None) or ():
                if isinstance(value, InputValueDefinitionNode):
                    sub.fields[value.name.value] = self.read_input_field(value)
                else:
                    sub.values[value.name.value] = SubEnumValue(
                        name=value.name.value,
                        description=value.description.value if value.description else None,
                        applied=self.applied(value),
                    )
            for fnode in getattr(node, "fields", None) or ():
                if isinstance(fnode, InputValueDefinitionNode):
                    sub.fields[fnode.name.value] = self.read_input_field(fnode)
                    continue
                assert isinstance(fnode, FieldDefinitionNode)
                if name == "Query" and fnode.name.value in ("_service", "_entities"):
                    continue
                read = self.read_field(fnode)
                read.shareable = read.shareable or type_shareable
                read.external = read.external or type_external
                sub.fields[read.name] = read
        self.subgraph.types[name] = sub

    def read_input_field(self, node: InputValueDefinitionNode) -> SubField:
        return SubField(
            name=node.name.value,
            type=self.type_ref(node.type),
            default=node.default_value,
            description=node.description.value if node.description else None,
            applied=self.applied(node),
            line=self.line(node),
        )

    def read_field(self, node: FieldDefinitionNode) -> SubField:
        result = SubField(
            name=node.name.value,
            type=self.type_ref(node.type),
            description=node.description.value if node.description else None,
            applied=self.applied(node),
            line=self.line(node),
        )
        for arg in node.arguments or ():
            result.args[arg.name.value] = SubArg(
                name=arg.name.value,
                type=self.type_ref(arg.type),
                default=arg.default_value,
                description=arg.description.value if arg.description else None,
                applied=self.applied(arg),
                line=self.line(arg),
                from_context=next(
                    (str(a.get("field")) for n, a, _d in self.fed(arg) if n == "fromContext"), None
                ),
            )
        for fed_name, args, directive in self.fed(node):
            if fed_name == "external":
                result.external = True
            elif fed_name == "shareable":
                result.shareable = True
            elif fed_name in ("requires", "provides"):
                fields = args.get("fields")
                if isinstance(fields, list):
                    fields = " ".join(str(f) for f in fields)
                setattr(result, fed_name, str(fields))
                setattr(result, f"{fed_name}_line", self.line(directive))
            elif fed_name == "override":
                result.override_from = args.get("from")
                label = args.get("label")
                result.override_label = label if isinstance(label, str) else None
        return result


def read_subgraph(name: str, url: str, sdl: str) -> tuple[Subgraph | None, list[CompositionError]]:
    """The subgraph's model and the errors found reading it (None when it cannot be parsed)."""
    return _Reader(name, url, sdl).read(sdl)
