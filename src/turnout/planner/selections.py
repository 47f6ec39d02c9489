"""The operation's selections as the planner reads them: field types, fragments resolved per object type, sizes.

One `SelectionView` per plan: what it computes about a selection tuple is kept by the tuple's identity, and the
tuples it has seen are kept alive with it (`pin`) so that no identity is reused while the plan is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from graphql import GraphQLInterfaceType, GraphQLList, GraphQLNonNull, GraphQLObjectType, SelectionSetNode

from .capabilities import Capabilities
from .normalize import Field, Fragment, Selection, normalize_selection_set

__all__ = ["NOTHING_PROVIDED", "FieldType", "ProvidedFields", "SelectionView"]


@dataclass(frozen=True, slots=True)
class FieldType:
    """A field's type in the supergraph: the named type, how many lists wrap it, whether it has fields."""

    named: str
    list_depth: int
    composite: bool


class ProvidedFields(dict[str, Field]):
    """Fields `@provides` makes local at one position, by name; `selections` is the provided selection set."""

    def __init__(self, selections: Sequence[Selection] | None = None) -> None:
        super().__init__()
        self.selections = selections


NOTHING_PROVIDED = ProvidedFields()


_MISSING = object()


class SelectionView:
    """The schema and the operation's selections, read for one plan (under one routing's capabilities)."""

    def __init__(self, caps: Capabilities) -> None:
        self.caps = caps
        self.model = caps.model
        self._field_types: dict[tuple[str, str], FieldType | None] = {}
        self._flat: dict[tuple[int, str, bool], list[Selection]] = {}
        self._field_sets: dict[int, tuple[Selection, ...]] = {}
        self._sizes: dict[int, int] = {}
        # the objects whose identities key the caches of this plan (theirs and the cost model's), kept alive
        self._pinned: list[object] = []

    def pin(self, value: object) -> None:
        """Keep `value` alive while the plan is built: its identity keys a cache."""
        self._pinned.append(value)

    def field_type(self, type_name: str, field_name: str) -> FieldType | None:
        key = (type_name, field_name)
        known = self._field_types.get(key, _MISSING)
        if known is not _MISSING:
            return cast(FieldType | None, known)
        gtype = self.model.schema.get_type(type_name)
        result: FieldType | None = None
        if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType) and field_name in gtype.fields:
            t = gtype.fields[field_name].type
            depth = 0
            while isinstance(t, GraphQLNonNull | GraphQLList):
                if isinstance(t, GraphQLList):
                    depth += 1
                t = t.of_type
            typedef = self.model.types.get(t.name)
            result = FieldType(t.name, depth, bool(typedef and typedef.is_composite))
        self._field_types[key] = result
        return result

    def field_set(self, selection_set: SelectionSetNode) -> tuple[Selection, ...]:
        """A `@key`/`@requires`/`@provides` selection set, normalized like the operation's."""
        found = self._field_sets.get(id(selection_set))
        if found is None:
            found = normalize_selection_set(selection_set, {})
            self._field_sets[id(selection_set)] = found
            self.pin(selection_set)
        return found

    def flatten(
        self, selections: Sequence[Selection], type_name: str, keep_foreign: bool = False
    ) -> list[Selection]:
        """The selections that apply to an object of `type_name`; type conditions resolved.

        Fragments that still carry @skip/@include stay as condition-only fragments. With keep_foreign
        (an interface object, whose real type is not known yet) fragments on other types are kept.
        """
        key = (id(selections), type_name, keep_foreign)
        found = self._flat.get(key)
        if found is not None:
            return found
        out: list[Selection] = []
        for item in selections:
            if isinstance(item, Field):
                out.append(item)
                continue
            condition = item.type_condition
            matches = self._matches(type_name, condition)
            if matches and not item.directives:
                out.extend(self.flatten(item.selections, type_name, keep_foreign))
            elif matches:
                out.append(
                    Fragment(
                        type_condition=None,
                        directives=item.directives,
                        selections=item.selections,
                        directives_text=item.directives_text,
                    )
                )
            elif keep_foreign and condition is not None and self._may_overlap(type_name, condition):
                out.append(item)
        self._flat[key] = out
        self.pin(selections)
        return out

    def _matches(self, type_name: str, condition: str | None) -> bool:
        if condition is None or condition == type_name:
            return True
        typedef = self.model.types.get(type_name)
        if typedef is not None and typedef.kind == "interface":
            # an interface object "is" every interface the interface implements
            return condition in typedef.interfaces
        return self.caps.type_matches(type_name, condition)

    def _may_overlap(self, type_name: str, condition: str) -> bool:
        mine = set(self.caps.possible_types(type_name))
        return bool(mine & set(self.caps.possible_types(condition)))

    def size(self, selection: Selection) -> int:
        """Fields in a selection's subtree (itself included)."""
        found = self._sizes.get(id(selection))
        if found is None:
            own = 1 if isinstance(selection, Field) else 0
            found = own + sum(self.size(s) for s in selection.selections)
            self._sizes[id(selection)] = found
            self.pin(selection)
        return found

    def provided_for(self, provided: Sequence[Selection] | None, type_name: str) -> ProvidedFields:
        """What `@provides` makes local on an object of `type_name`, by field name."""
        if not provided:
            return NOTHING_PROVIDED
        out = ProvidedFields(provided)
        for item in self.flatten(provided, type_name):
            if isinstance(item, Field):
                out.setdefault(item.name, item)
        return out

    def with_selections(self, field: Field, selections: Sequence[Selection]) -> Field:
        """`field` asking only `selections` (a part of it, when a field's selections are split)."""
        part = Field(
            response_key=field.response_key,
            name=field.name,
            arguments=field.arguments,
            directives=field.directives,
            selections=tuple(selections),
            arguments_text=field.arguments_text,
            directives_text=field.directives_text,
        )
        self.pin(part)
        return part
