"""Where each key of a response is in the schema: its coordinate (`Type.field`), its type, the operation's fields
that select it, and the comparison rule of that coordinate. The comparison (migration/compare.py) walks two
responses with it; what it works out is the same for every object of one type under one selection, so it is
kept by the selections' identity for the comparison's life.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
)

from ..planner.normalize import Field, Occurrence, Selection, each_field, type_applies
from .model import CoordinateRule

__all__ = ["Composite", "Entry", "Occurrence", "ResponseCoordinates", "Runtime"]

Composite = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
Runtime = GraphQLObjectType | GraphQLInterfaceType


@dataclass(frozen=True, slots=True)
class Entry:
    """One response key of an object: where it is in the schema and which fields of the operation select it."""

    coordinate: str
    gtype: GraphQLOutputType | None
    groups: tuple[tuple[Selection, ...], ...]  # the sub-selections of the fields that select the key


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
