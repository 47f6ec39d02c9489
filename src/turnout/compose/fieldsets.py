"""Field sets (`@key(fields:)`, `@requires`, `@provides`): parsed and walked against a subgraph's types."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from graphql import FieldNode, GraphQLSyntaxError, InlineFragmentNode, SelectionSetNode, parse

from .model import SubField, Subgraph, named_type

__all__ = ["FieldSetError", "Target", "collect", "parse_field_set"]


class FieldSetError(Exception):
    """A field set that does not parse or names a field its type does not have (the message says which)."""


@dataclass(frozen=True)
class Target:
    """One field a field set selects: its parent type, the field, and whether it was selected with arguments."""

    parent: str
    field: SubField
    has_args: bool = False
    depth: int = 0


@functools.lru_cache(maxsize=4096)
def parse_field_set(text: str) -> SelectionSetNode:
    """The selection set of a field set string (cached: callers must not change it)."""
    try:
        document = parse("{" + text + "}", no_location=True)
    except GraphQLSyntaxError as error:
        raise FieldSetError(f'invalid field set "{text}": {error.message}') from None
    operation = document.definitions[0]
    selection_set: SelectionSetNode = operation.selection_set  # type: ignore[attr-defined]
    return selection_set


def collect(subgraph: Subgraph, parent: str, text: str) -> list[Target]:
    """Every field `text` selects, starting at type `parent`; FieldSetError when one does not exist."""
    targets: list[Target] = []
    _walk(subgraph, parent, parse_field_set(text), targets, 0)
    return targets


def _walk(
    subgraph: Subgraph, parent: str, selection_set: SelectionSetNode, out: list[Target], depth: int
) -> None:
    sub = subgraph.types.get(parent)
    if sub is None:
        raise FieldSetError(f'type "{parent}" is not defined')
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else parent
            if condition not in subgraph.types:
                raise FieldSetError(f'unknown type condition "{condition}"')
            _walk(subgraph, condition, selection.selection_set, out, depth)
            continue
        if not isinstance(selection, FieldNode):
            raise FieldSetError("fragment spreads are not allowed in a field set")
        name = selection.name.value
        if name == "__typename":
            continue
        field = sub.fields.get(name)
        if field is None:
            raise FieldSetError(
                f'Cannot query field "{name}" on type "{parent}" (if the field is defined in another '
                f"subgraph, you need to add it to this subgraph with @external)"
            )
        out.append(Target(parent=parent, field=field, has_args=bool(selection.arguments), depth=depth))
        if selection.selection_set is not None:
            _walk(subgraph, named_type(field.type), selection.selection_set, out, depth + 1)
