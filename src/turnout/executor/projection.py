"""Shape merged subgraph data into exactly the client's selection, per the GraphQL spec.

Aliases, `__typename`, fragments on runtime types, `@skip`/`@include`, leaf values, and null
propagation: a null in a non-null position nulls the nearest nullable parent, with an error.
Fields the planner added (keys, requirements, internal aliases) are never copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from graphql import (
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    VariableNode,
)

from ..planner.normalize import Field, Selection, collect_fields, type_applies

__all__ = ["Projector"]

Path = list[str | int]


class _Bubble:
    """A null in a non-null position, on its way up to the nearest nullable parent."""


_BUBBLE: _Bubble = _Bubble()
_COMPOSITE = (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)


class Projector:
    """Projects response data onto one operation's selections.

    Two ways, one result: a projection compiled once per operation (and per value of the variables its
    @skip/@include read) runs when the data needs no error; at the first value that would need one (a null in
    a non-null position, a wrong shape, an unknown enum value or type) it gives up, and the interpreting
    projection, which tracks response paths for its errors, runs instead."""

    def __init__(self, schema: GraphQLSchema, *, compiled_size: int = 1000) -> None:
        self.schema = schema
        self._compiled: dict[tuple[Any, ...], tuple[Sequence[Selection], _Completer]] = {}
        self._conditions: dict[int, tuple[Sequence[Selection], tuple[str, ...]]] = {}
        self.compiled_size = compiled_size

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
        compiled = self._compiled_for(root, selections, variables)
        if compiled is not None:
            try:
                result: dict[str, Any] = compiled(data)
                return result
            except _GiveUp:
                pass
        return self.interpret(root, selections, data, variables, errors)

    def interpret(
        self,
        root: GraphQLObjectType,
        selections: Sequence[Selection],
        data: dict[str, Any],
        variables: Mapping[str, Any],
        errors: list[dict[str, Any]],
    ) -> dict[str, Any] | None:
        """The projection that reports errors with their paths."""
        run = _Run(self, variables, errors)
        fields = run.collect(root, selections)
        result = run.object(root, data, fields, [], root=True)
        return result if isinstance(result, dict) else None

    def _compiled_for(
        self, root: GraphQLObjectType, selections: Sequence[Selection], variables: Mapping[str, Any]
    ) -> _Completer | None:
        names = self._condition_variables(selections)
        try:
            key = (id(selections), root.name, *(variables.get(n) for n in names))
            found = self._compiled.get(key)
        except TypeError:  # a variable value that cannot be a key: interpret
            return None
        if found is not None and found[0] is selections:
            return found[1]
        if len(self._compiled) >= self.compiled_size:
            self._compiled.clear()
        completer = _Compiler(self, variables).object(root, selections, root=True)
        self._compiled[key] = (selections, completer)
        return completer

    def _condition_variables(self, selections: Sequence[Selection]) -> tuple[str, ...]:
        """The variables the operation's @skip/@include read: what a compiled projection depends on."""
        found = self._conditions.get(id(selections))
        if found is not None and found[0] is selections:
            return found[1]
        names: set[str] = set()
        stack = list(selections)
        while stack:
            item = stack.pop()
            for directive in item.directives:
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)
            stack.extend(item.selections)
        if len(self._conditions) >= self.compiled_size:
            self._conditions.clear()
        result = tuple(sorted(names))
        self._conditions[id(selections)] = (selections, result)
        return result


class _Run:
    def __init__(
        self, projector: Projector, variables: Mapping[str, Any], errors: list[dict[str, Any]]
    ) -> None:
        self.projector = projector
        self.schema = projector.schema
        self.variables = variables
        self.errors = errors
        self.collected: dict[tuple[str, object], dict[str, list[Field]]] = {}

    def collect(
        self, runtime: GraphQLObjectType | GraphQLInterfaceType, selections: Iterable[Selection]
    ) -> dict[str, list[Field]]:
        """The fields that apply to a value of `runtime`, by response key (`collect_fields`)."""
        return collect_fields(
            selections, self.variables, lambda condition: type_applies(self.schema, runtime, condition)
        )

    def object(
        self,
        otype: GraphQLObjectType | GraphQLInterfaceType,
        value: dict[str, Any],
        fields: dict[str, list[Field]],
        path: Path,
        root: bool = False,
    ) -> dict[str, Any] | _Bubble:
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

    def complete(
        self, gtype: GraphQLOutputType, value: Any, occurrences: list[Field], path: Path, parent: str
    ) -> Any:
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
                fields = self.collect(runtime, [item for o in occurrences for item in o.selections])
                self.collected[key] = fields
            result = self.object(runtime, value, fields, path)
            return None if result is _BUBBLE else result
        return value

    def runtime_type(
        self, gtype: GraphQLObjectType | GraphQLAbstractType, value: dict[str, Any]
    ) -> GraphQLObjectType | GraphQLInterfaceType | None:
        if isinstance(gtype, GraphQLObjectType):
            return gtype
        typename = value.get("__typename")
        found = self.schema.get_type(typename) if isinstance(typename, str) else None
        if isinstance(found, GraphQLObjectType) and self.schema.is_sub_type(gtype, found):
            return found
        if isinstance(found, GraphQLInterfaceType) and (
            found.name == gtype.name
            or found.name in {i.name for i in getattr(gtype, "interfaces", ())}
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
        self.errors.append(
            {"message": f"Cannot return null for non-nullable field {parent}.{field}.", "path": path}
        )


# -- the compiled projection ------------------------------------------------------------------------------------

_Completer = Callable[[Any], Any]


class _GiveUp(Exception):
    """The data needs an error somewhere: the interpreting projection takes over."""


_LEAF, _LEAF_NON_NULL, _TYPENAME, _CALL, _CALL_NON_NULL, _COPY = range(6)


class _Compiler:
    """Builds, for one operation and one set of @skip/@include values, a function per selection set that
    copies exactly the selected fields. Object selections are compiled on first use (types may recurse)."""

    def __init__(self, projector: Projector, variables: Mapping[str, Any]) -> None:
        self.projector = projector
        self.run = _Run(projector, variables, [])  # its field collection and type resolution, no errors

    def object(
        self,
        otype: GraphQLObjectType | GraphQLInterfaceType,
        selections: Sequence[Selection],
        root: bool = False,
    ) -> _Completer:
        return self._object(otype, self.run.collect(otype, selections), root)

    def _object(
        self, otype: GraphQLObjectType | GraphQLInterfaceType, fields: dict[str, list[Field]], root: bool
    ) -> _Completer:
        entries: list[tuple[str, int, Any]] = []
        for key, occurrences in fields.items():
            name = occurrences[0].name
            if name == "__typename":
                entries.append((key, _TYPENAME, otype.name))
            elif root and name in ("__schema", "__type"):
                entries.append((key, _COPY, None))
            elif (definition := otype.fields.get(name)) is not None:
                gtype = definition.type
                non_null = isinstance(gtype, GraphQLNonNull)
                inner = gtype.of_type if isinstance(gtype, GraphQLNonNull) else gtype
                if isinstance(inner, GraphQLScalarType):
                    entries.append((key, _LEAF_NON_NULL if non_null else _LEAF, None))
                else:
                    entries.append(
                        (key, _CALL_NON_NULL if non_null else _CALL, self._type(inner, occurrences))
                    )
        return _generate(otype.name, entries)

    def _type(self, gtype: GraphQLOutputType, occurrences: list[Field]) -> _Completer:
        """The completer of a non-null value of the nullable type `gtype`."""
        if isinstance(gtype, GraphQLList):
            return self._list(gtype.of_type, occurrences)
        if isinstance(gtype, GraphQLEnumType):
            values = frozenset(gtype.values)

            def enum(value: Any) -> Any:
                if type(value) is not str or value not in values:
                    raise _GiveUp
                return value

            return enum
        if isinstance(gtype, GraphQLObjectType):
            return self._lazy(gtype, occurrences)
        assert isinstance(gtype, GraphQLInterfaceType | GraphQLUnionType)
        return self._abstract(gtype, occurrences)

    def _list(self, item_type: GraphQLOutputType, occurrences: list[Field]) -> _Completer:
        non_null = isinstance(item_type, GraphQLNonNull)
        inner = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if isinstance(inner, GraphQLScalarType):

            def leaves(value: Any) -> Any:
                if type(value) is not list or (non_null and None in value):
                    raise _GiveUp
                return value

            return leaves
        complete_item = self._type(inner, occurrences)

        def items(value: Any) -> Any:
            if type(value) is not list:
                raise _GiveUp
            return [None if item is None else complete_item(item) for item in value]

        if non_null:

            def items_non_null(value: Any) -> Any:
                if type(value) is not list:
                    raise _GiveUp
                out = []
                for item in value:
                    if item is None:
                        raise _GiveUp
                    out.append(complete_item(item))
                return out

            return items_non_null
        return items

    def _lazy(self, otype: GraphQLObjectType | GraphQLInterfaceType, occurrences: list[Field]) -> _Completer:
        """The completer of the fields `occurrences` select on `otype` (compiled now: selections are finite)."""
        selections = [item for occurrence in occurrences for item in occurrence.selections]
        return self._object(otype, self.run.collect(otype, selections), False)

    def _abstract(
        self, gtype: GraphQLInterfaceType | GraphQLUnionType, occurrences: list[Field]
    ) -> _Completer:
        by_typename: dict[Any, _Completer] = {}
        run = self.run

        def complete(value: Any) -> Any:
            if type(value) is not dict:
                raise _GiveUp
            typename = value.get("__typename")
            if typename is not None and type(typename) is not str:
                raise _GiveUp
            completer = by_typename.get(typename)
            if completer is None:
                runtime = run.runtime_type(gtype, value)
                if runtime is None:
                    raise _GiveUp
                completer = by_typename[typename] = self._lazy(runtime, occurrences)
            return completer(value)

        return complete


def _generate(typename: str, entries: list[tuple[str, int, Any]]) -> _Completer:
    """The completer of one object selection as straight-line Python: one statement per field, no loop and no
    dispatch. Names in the source are response keys and type names (GraphQL names: letters, digits and `_`),
    written with repr(); callables are passed in the namespace."""
    namespace: dict[str, Any] = {"_GiveUp": _GiveUp}
    lines = [
        "def complete(value):",
        "    if type(value) is not dict:",
        "        raise _GiveUp",
        "    get = value.get",
    ]
    items: list[str] = []
    for index, (key, kind, argument) in enumerate(entries):
        name = f"v{index}"
        if kind == _TYPENAME:
            items.append(f"{key!r}: {argument!r}")
            continue
        lines.append(f"    {name} = get({key!r})")
        if kind == _LEAF_NON_NULL:
            lines.append(f"    if {name} is None:\n        raise _GiveUp")
        elif kind == _CALL:
            namespace[f"f{index}"] = argument
            lines.append(f"    if {name} is not None:\n        {name} = f{index}({name})")
        elif kind == _CALL_NON_NULL:
            namespace[f"f{index}"] = argument
            lines.append(f"    if {name} is None:\n        raise _GiveUp\n    {name} = f{index}({name})")
        items.append(f"{key!r}: {name}")
    lines.append("    return {" + ", ".join(items) + "}")
    exec(compile("\n".join(lines), f"<projection of {typename}>", "exec"), namespace)
    completer: _Completer = namespace["complete"]
    return completer
