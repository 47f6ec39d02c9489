"""Where each key of a response is in the schema: its coordinate (`Type.field`), its type, the operation's fields
that select it, and the comparison rule of that coordinate. The comparison (migration/compare.py) walks two
responses with it; what it works out is the same for every object of one type under one selection, so it is
kept by the selections' identity for the comparison's life. It also finds the coordinate at an error's path,
and a value's normal form (what the comparison sees of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
)

from ..planner.normalize import Field, Occurrence, Selection, each_field, type_applies
from .json_values import canonical
from .model import CoordinateRule

__all__ = [
    "MAX_DEPTH",
    "Composite",
    "Entry",
    "Occurrence",
    "Path",
    "ResponseCoordinates",
    "Runtime",
    "unwrap",
]

Path = tuple[str | int, ...]

Composite = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
Runtime = GraphQLObjectType | GraphQLInterfaceType


@dataclass(frozen=True, slots=True)
class Entry:
    """One response key of an object: where it is in the schema and which fields of the operation select it."""

    coordinate: str
    gtype: GraphQLOutputType | None
    groups: tuple[tuple[Selection, ...], ...]  # the sub-selections of the fields that select the key


# Beyond this many path segments values are compared whole, as plain JSON without rules and without recursion,
# so that no input can exhaust the stack.
MAX_DEPTH = 128


def unwrap(gtype: GraphQLOutputType | None) -> GraphQLOutputType | None:
    return gtype.of_type if isinstance(gtype, GraphQLNonNull) else gtype


class ResponseCoordinates:
    """The schema, the operation's variables and the rules, read for one comparison."""

    def __init__(
        self,
        schema: GraphQLSchema,
        root_type: str,
        variables: Mapping[str, Any],
        rules: Mapping[str, CoordinateRule],
        default_rule: CoordinateRule,
    ) -> None:
        self.schema = schema
        self.root_type = root_type
        self.variables = variables
        self.rules = rules
        self.default_rule = default_rule
        self._collected: dict[tuple[int, ...], dict[str, list[Occurrence]]] = {}
        self._resolved: dict[tuple[int, str, tuple[str, ...]], dict[str, Entry]] = {}
        self._rule_of: dict[str, CoordinateRule] = {}
        self._plain: dict[tuple[int, str], dict[str, Entry]] = {}
        # Field names of the migrating coordinates (compare_for_migration): outside every migrating field, only
        # the keys whose selections may lead to one are compared (a difference with no migrating field on its
        # path belongs to no migration); below one, everything is. None: everything, everywhere.
        self.migrating: frozenset[str] | None = None
        self._leads: dict[int, bool] = {}

    # -- schema and rules -------------------------------------------------------------------------------

    def composite(self, name: str) -> Composite | None:
        found = self.schema.get_type(name)
        return (
            found if isinstance(found, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType) else None
        )

    def rule(self, coordinate: str) -> CoordinateRule:
        found = self._rule_of.get(coordinate)
        if found is None:
            found = self.rules.get(coordinate)
            if found is None and "." in coordinate:
                found = self.rules.get(coordinate.split(".", 1)[0] + ".*")
            found = self._rule_of[coordinate] = self.default_rule if found is None else found
        return found

    def runtimes(self, parent: Composite | None, values: Iterable[Any]) -> tuple[Runtime, ...]:
        """The object's runtime types: static for object types, else each side's known `__typename`."""
        if parent is None or isinstance(parent, GraphQLObjectType):
            return () if parent is None else (parent,)
        found: list[Runtime] = []
        for value in values:
            typename = value.get("__typename") if isinstance(value, Mapping) else None
            gtype = self.schema.get_type(typename) if isinstance(typename, str) else None
            if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType) and gtype not in found:
                found.append(gtype)
        return tuple(found)

    # -- selections ---------------------------------------------------------------------------------------

    def collect(self, groups: tuple[tuple[Selection, ...], ...]) -> dict[str, list[Occurrence]]:
        """Every included field by response key in document order, with its fragments' type conditions."""
        key = tuple(id(group) for group in groups)
        found = self._collected.get(key)
        if found is None:
            found = {}
            for group in groups:
                for field, conditions in each_field(group, self.variables):
                    found.setdefault(field.response_key, []).append((field, conditions))
            self._collected[key] = found
        return found

    def entries(
        self,
        parent: Composite | None,
        parent_name: str,
        groups: tuple[tuple[Selection, ...], ...],
        values: Iterable[Any],
    ) -> dict[str, Entry]:
        if isinstance(parent, GraphQLObjectType):  # the same for every value: kept by type and selections
            plain = self._plain.get((id(groups), parent_name))
            if plain is None:
                plain = self._plain[(id(groups), parent_name)] = self._entries(
                    parent, parent_name, groups, ()
                )
            return plain
        return self._entries(parent, parent_name, groups, values)

    def _entries(
        self,
        parent: Composite | None,
        parent_name: str,
        groups: tuple[tuple[Selection, ...], ...],
        values: Iterable[Any],
    ) -> dict[str, Entry]:
        collected = self.collect(groups)
        runtimes = self.runtimes(parent, values)
        key = (id(collected), parent_name, tuple(r.name for r in runtimes))
        found = self._resolved.get(key)
        if found is None:
            found = {
                response_key: self._entry(parent, parent_name, runtimes, occurrences)
                for response_key, occurrences in collected.items()
            }
            self._resolved[key] = found
        return found

    def _entry(
        self,
        parent: Composite | None,
        parent_name: str,
        runtimes: tuple[Runtime, ...],
        occurrences: list[Occurrence],
    ) -> Entry:
        name = occurrences[0][0].name
        for runtime in runtimes:
            applicable = tuple(
                f
                for f, conditions in occurrences
                if all(type_applies(self.schema, runtime, c) for c in conditions)
            )
            if applicable:
                return Entry(
                    f"{runtime.name}.{name}",
                    self._field_type(name, [runtime.name]),
                    tuple(f.selections for f in applicable),
                )
        # No runtime type known (or none the fields apply to): the fragment the key came from, if only one.
        innermost = {conditions[-1] if conditions else None for _, conditions in occurrences}
        single = next(iter(innermost)) if len(innermost) == 1 else None
        owner = single if single is not None else parent_name
        lookup = [owner, *(c for c in innermost if c is not None), parent_name]
        if parent is not None:
            lookup.append(parent.name)
        return Entry(
            f"{owner}.{name}", self._field_type(name, lookup), tuple(f.selections for f, _ in occurrences)
        )

    def _field_type(self, name: str, owners: Sequence[str]) -> GraphQLOutputType | None:
        if name == "__typename":
            return GraphQLString
        for owner in owners:
            gtype = self.schema.get_type(owner)
            if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType) and name in gtype.fields:
                found: GraphQLOutputType = gtype.fields[name].type
                return found
        return None

    def leads(self, groups: tuple[tuple[Selection, ...], ...]) -> bool:
        """Whether these selections (or any below them) select a field named like a migrating coordinate
        (always, when every field is compared)."""
        if self.migrating is None:
            return True
        found = self._leads.get(id(groups))
        if found is None:
            names = self.migrating or frozenset()
            stack: list[Selection] = [item for group in groups for item in group]
            found = False
            while stack and not found:
                item = stack.pop()
                found = isinstance(item, Field) and item.name in names
                stack.extend(item.selections)
            self._leads[id(groups)] = found
        return found

    # -- paths and values -----------------------------------------------------------------------------

    def owner(
        self,
        path: Path,
        p_data: Any,
        c_data: Any,
        selections: tuple[Selection, ...],
        coordinates: frozenset[str],
    ) -> tuple[str, int] | None:
        """The nearest field of `coordinates` on `path`, with the index of its path segment; None if none is."""
        along: list[tuple[int, str]] = []
        self.locate(path, p_data, c_data, selections, along)
        return next(
            ((coordinate, depth) for depth, coordinate in reversed(along) if coordinate in coordinates), None
        )

    def locate(
        self,
        path: Path,
        p_data: Any,
        c_data: Any,
        selections: tuple[Selection, ...],
        along: list[tuple[int, str]] | None = None,
    ) -> tuple[str, bool, list[tuple[int, int, str]]]:
        """The coordinate at an error's path, whether a rule ignores it, and its document-order sort key."""
        gtype: GraphQLOutputType | None = self.composite(self.root_type)
        groups: tuple[tuple[Selection, ...], ...] = (selections,)
        coordinate, ignored = self.root_type, self.default_rule.ignore
        p, c = p_data, c_data
        order: list[tuple[int, int, str]] = []
        for depth, segment in enumerate(path):
            gtype = unwrap(gtype)
            if isinstance(segment, int):
                gtype = gtype.of_type if isinstance(gtype, GraphQLList) else None
                p = p[segment] if isinstance(p, list | tuple) and -len(p) <= segment < len(p) else None
                c = c[segment] if isinstance(c, list | tuple) and -len(c) <= segment < len(c) else None
                order.append((1, segment, ""))
                continue
            parent = (
                gtype
                if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
                else None
            )
            if parent is not None or depth == 0:  # (an unknown root type still names the root's fields)
                parent_name = parent.name if parent is not None else self.root_type
                entries = self.entries(parent, parent_name, groups, (p, c))
                entry = entries.get(segment) or Entry(f"{parent_name}.{segment}", None, ())
                position = list(entries).index(segment) if segment in entries else len(entries)
                coordinate, gtype, groups = entry.coordinate, entry.gtype, entry.groups
                ignored = ignored or self.rule(coordinate).ignore
                if along is not None:
                    along.append((depth, coordinate))
            else:
                gtype, groups, position = None, (), 0
            order.append((0, position, segment))
            p = p.get(segment) if isinstance(p, Mapping) else None
            c = c.get(segment) if isinstance(c, Mapping) else None
        return coordinate, ignored, order

    def normal(
        self,
        gtype: GraphQLOutputType | None,
        value: Any,
        coordinate: str,
        rule: CoordinateRule,
        groups: tuple[tuple[Selection, ...], ...],
        depth: int,
    ) -> Any:
        """A value as the comparison sees it: ignored and null-equals-missing keys dropped, unordered lists
        sorted, integral floats as ints. Equal normal forms compare equal (float tolerance aside)."""
        if rule.ignore:
            return None
        if depth > MAX_DEPTH:
            return canonical(value)
        gtype = unwrap(gtype)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                entries = self.entries(gtype, gtype.name, groups, (value,))
                for key, inner in value.items():
                    entry = entries.get(key) or Entry(f"{gtype.name}.{key}", None, ())
                    inner_rule = self.rule(entry.coordinate)
                    if not inner_rule.ignore and not (inner is None and inner_rule.null_equals_missing):
                        out[key] = self.normal(
                            entry.gtype, inner, entry.coordinate, inner_rule, entry.groups, depth + 1
                        )
            else:
                for key, inner in value.items():
                    if not (inner is None and rule.null_equals_missing):
                        out[key] = self.normal(None, inner, coordinate, rule, (), depth + 1)
            return out
        if isinstance(value, list | tuple):
            item = gtype.of_type if isinstance(gtype, GraphQLList) else None
            items = [self.normal(item, v, coordinate, rule, groups, depth + 1) for v in value]
            return sorted(items, key=canonical) if rule.unordered else items
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


def error_paths(errors: Any) -> tuple[dict[Path, Any], int]:
    """Errors with a path, first per path; and how many errors have none."""
    paths: dict[Path, Any] = {}
    bare = 0
    for error in errors if isinstance(errors, list | tuple) else ():
        raw = error.get("path") if isinstance(error, Mapping) else None
        if (
            isinstance(raw, list | tuple)
            and raw
            and all(isinstance(s, str | int) and not isinstance(s, bool) for s in raw)
        ):
            paths.setdefault(tuple(raw), error)
        else:
            bare += 1
    return paths, bare
