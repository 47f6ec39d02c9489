"""Shape merged subgraph data into exactly the client's selection, per the GraphQL spec.

Aliases, `__typename`, fragments on runtime types, `@skip`/`@include`, leaf values, and null
propagation: a null in a non-null position nulls the nearest nullable parent, with an error.
Fields the planner added (keys, requirements, internal aliases) are never copied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    VariableNode,
)

from ..planner.normalize import Field, Selection

__all__ = ["Projector", "directives_include"]

Path = list[str | int]


class _Bubble:
    """A null in a non-null position, on its way up to the nearest nullable parent."""


_BUBBLE: _Bubble = _Bubble()
_COMPOSITE = (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)


def directives_include(directives: Sequence[DirectiveNode], variables: Mapping[str, Any]) -> bool:
    """Evaluate @skip / @include against the request's variables."""
    for directive in directives:
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        value: Any = None
        for argument in directive.arguments or ():
            if argument.name.value == "if":
                node = argument.value
                if isinstance(node, BooleanValueNode):
                    value = node.value
                elif isinstance(node, VariableNode):
                    value = variables.get(node.name.value)
        if name == "skip" and value is True:
            return False
        if name == "include" and value is not True:
            return False
    return True


class Projector:
    """Projects response data onto one operation's selections."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._possible: dict[str, frozenset[str]] = {}

    def project(
        self,
        root_type: str,
        selections: Sequence[Selection],
        data: dict[str, Any],
        variables: Mapping[str, Any],
        errors: list[dict[str, Any]],
    ) -> dict[str, Any] | None:
        root = self.schema.get_type(root_type)
        assert isinstance(root, GraphQLObjectType)
        run = _Run(self, variables, errors)
        fields: dict[str, list[Field]] = {}
        run.collect(root, selections, fields)
        result = run.object(root, data, fields, [], root=True)
        return result if isinstance(result, dict) else None

    def possible(self, abstract: str) -> frozenset[str]:
        found = self._possible.get(abstract)
        if found is None:
            gtype = self.schema.get_type(abstract)
            if isinstance(gtype, GraphQLInterfaceType | GraphQLUnionType):
                found = frozenset(t.name for t in self.schema.get_possible_types(gtype))
            else:
                found = frozenset()
            self._possible[abstract] = found
        return found


class _Run:
    def __init__(self, projector: Projector, variables: Mapping[str, Any], errors: list[dict[str, Any]]) -> None:
        self.projector = projector
        self.schema = projector.schema
        self.variables = variables
        self.errors = errors
        self.collected: dict[tuple[str, object], dict[str, list[Field]]] = {}

    def matches(self, runtime: GraphQLObjectType | GraphQLInterfaceType, condition: str | None) -> bool:
        if condition is None or condition == runtime.name:
            return True
        if isinstance(runtime, GraphQLInterfaceType):
            return any(i.name == condition for i in runtime.interfaces)
        return runtime.name in self.projector.possible(condition)

    def collect(self, runtime: GraphQLObjectType | GraphQLInterfaceType, selections: Sequence[Selection],
                out: dict[str, list[Field]]) -> None:
        for item in selections:
            if item.directives and not directives_include(item.directives, self.variables):
                continue
            if isinstance(item, Field):
                out.setdefault(item.response_key, []).append(item)
            elif self.matches(runtime, item.type_condition):
                self.collect(runtime, item.selections, out)

    def object(self, otype: GraphQLObjectType | GraphQLInterfaceType, value: dict[str, Any],
               fields: dict[str, list[Field]], path: Path, root: bool = False) -> dict[str, Any] | _Bubble:
        result: dict[str, Any] = {}
        for key, occurrences in fields.items():
            name = occurrences[0].name
            if name == "__typename":
                result[key] = otype.name
                continue
            if root and name in ("__schema", "__type"):
                result[key] = value.get(key)
                continue
            definition = otype.fields.get(name)
            if definition is None:
                continue
            completed = self.complete(definition.type, value.get(key), occurrences, [*path, key], otype.name)
            if isinstance(completed, _Bubble):
                return completed
            result[key] = completed
        return result

    def complete(self, gtype: GraphQLOutputType, value: Any, occurrences: list[Field], path: Path,
                 parent: str) -> Any:
        if isinstance(gtype, GraphQLNonNull):
            completed = self.complete(gtype.of_type, value, occurrences, path, parent)
            if completed is None:
                self.null_error(path, parent, occurrences[0].name)
                return _BUBBLE
            return completed
        if value is None:
            return None
        if isinstance(gtype, GraphQLList):
            if not isinstance(value, list):
                self.error(f"Expected a list for {parent}.{occurrences[0].name}.", path)
                return None
            items = []
            for index, item in enumerate(value):
                completed = self.complete(gtype.of_type, item, occurrences, [*path, index], parent)
                if completed is _BUBBLE:
                    return None
                items.append(completed)
            return items
        if isinstance(gtype, GraphQLEnumType):
            if isinstance(value, str) and value in gtype.values:
                return value
            self.error(f'Enum "{gtype.name}" cannot represent value: {value!r}', path)
            return None
        if isinstance(gtype, _COMPOSITE):
            if not isinstance(value, dict):
                self.error(f"Expected an object for {parent}.{occurrences[0].name}.", path)
                return None
            runtime = self.runtime_type(gtype, value)
            if runtime is None:
                self.error(
                    f'Abstract type "{gtype.name}" could not be resolved to an object type '
                    f"(got {value.get('__typename')!r}).",
                    path,
                )
                return None
            # every object of one type under one field selects the same fields: collect them once per request
            key = (runtime.name, id(occurrences[0]) if len(occurrences) == 1 else tuple(map(id, occurrences)))
            fields = self.collected.get(key)
            if fields is None:
                fields = {}
                for occurrence in occurrences:
                    self.collect(runtime, occurrence.selections, fields)
                self.collected[key] = fields
            result = self.object(runtime, value, fields, path)
            return None if result is _BUBBLE else result
        return value

    def runtime_type(self, gtype: GraphQLObjectType | GraphQLAbstractType, value: dict[str, Any]
                     ) -> GraphQLObjectType | GraphQLInterfaceType | None:
        if isinstance(gtype, GraphQLObjectType):
            return gtype
        typename = value.get("__typename")
        found = self.schema.get_type(typename) if isinstance(typename, str) else None
        if isinstance(found, GraphQLObjectType) and found.name in self.projector.possible(gtype.name):
            return found
        if isinstance(found, GraphQLInterfaceType) and (
            found.name == gtype.name or found.name in {i.name for i in getattr(gtype, "interfaces", ())}
            or isinstance(gtype, GraphQLInterfaceType)
        ):
            # an interface object whose concrete type was not needed
            return found
        if typename is None and isinstance(gtype, GraphQLInterfaceType):
            return gtype
        return None

    def error(self, message: str, path: Path) -> None:
        self.errors.append({"message": message, "path": path})

    def null_error(self, path: Path, parent: str, field: str) -> None:
        for error in self.errors:
            other = error.get("path")
            if other is None:
                if error.get("extensions", {}).get("serviceName"):
                    return
                continue
            shorter = min(len(other), len(path))
            if other[:shorter] == path[:shorter]:
                return
        self.errors.append({"message": f"Cannot return null for non-nullable field {parent}.{field}.", "path": path})
