"""Normalize a client operation: fragments inlined, selections as small frozen trees the planner walks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Union

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    print_ast,
)

__all__ = [
    "Field",
    "Fragment",
    "Selection",
    "collect_variables",
    "normalize_selection_set",
    "print_arguments",
    "print_directives",
]

Selection = Union["Field", "Fragment"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Field:
    """A field of the client's operation (or of a field set), with its response key."""

    response_key: str
    name: str
    arguments: tuple[ArgumentNode, ...] = ()
    directives: tuple[DirectiveNode, ...] = ()
    selections: tuple[Selection, ...] = ()
    arguments_text: str = ""
    directives_text: str = ""

    @property
    def is_leaf(self) -> bool:
        return not self.selections


@dataclass(frozen=True, kw_only=True, slots=True)
class Fragment:
    """An inline fragment (named fragment spreads are inlined into these)."""

    type_condition: str | None
    directives: tuple[DirectiveNode, ...] = ()
    selections: tuple[Selection, ...] = ()
    directives_text: str = ""


def print_arguments(arguments: Iterable[ArgumentNode]) -> str:
    args = list(arguments)
    if not args:
        return ""
    return "(" + ", ".join(f"{a.name.value}: {print_ast(a.value)}" for a in args) + ")"


def print_directives(directives: Iterable[DirectiveNode]) -> str:
    return "".join(" " + print_ast(d) for d in directives)


# Directives that are the gateway's business and are not forwarded (nothing yet besides these two which are).
_EXECUTABLE_FORWARDED = frozenset({"skip", "include"})


def _literal_condition(directive: DirectiveNode) -> bool | None:
    """The value of `@skip(if: true)`-style literal conditions: True to keep, False to drop, None if variable."""
    for argument in directive.arguments or ():
        if argument.name.value == "if" and isinstance(argument.value, BooleanValueNode):
            return argument.value.value != (directive.name.value == "skip")
    return None


def _kept_directives(directives: Iterable[DirectiveNode] | None) -> tuple[DirectiveNode, ...] | None:
    """The directives forwarded to subgraphs, literal conditions resolved; None when the selection is skipped."""
    kept = []
    for directive in directives or ():
        if directive.name.value not in _EXECUTABLE_FORWARDED:
            continue
        literal = _literal_condition(directive)
        if literal is False:
            return None
        if literal is None:
            kept.append(directive)
    return tuple(kept)


def normalize_selection_set(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    parent_type: str | None = None,
) -> tuple[Selection, ...]:
    """Turn a selection set into Field/Fragment trees; spreads become inline fragments."""
    if selection_set is None:
        return ()
    out: list[Selection] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            directives = _kept_directives(node.directives)
            if directives is None:
                continue
            name = node.name.value
            out.append(
                Field(
                    response_key=node.alias.value if node.alias else name,
                    name=name,
                    arguments=tuple(node.arguments or ()),
                    directives=directives,
                    selections=normalize_selection_set(node.selection_set, fragments),
                    arguments_text=print_arguments(node.arguments or ()),
                    directives_text=print_directives(directives),
                )
            )
        elif isinstance(node, InlineFragmentNode):
            condition = node.type_condition.name.value if node.type_condition else None
            directives = _kept_directives(node.directives)
            if directives is None:
                continue
            out.append(
                Fragment(
                    type_condition=condition,
                    directives=directives,
                    selections=normalize_selection_set(node.selection_set, fragments),
                    directives_text=print_directives(directives),
                )
            )
        elif isinstance(node, FragmentSpreadNode):
            definition = fragments.get(node.name.value)
            if definition is None:
                continue
            directives = _kept_directives(node.directives)
            if directives is None:
                continue
            out.append(
                Fragment(
                    type_condition=definition.type_condition.name.value,
                    directives=directives,
                    selections=normalize_selection_set(definition.selection_set, fragments),
                    directives_text=print_directives(directives),
                )
            )
    return tuple(out)


def _variables_in_value(value: ValueNode, found: set[str]) -> None:
    if isinstance(value, VariableNode):
        found.add(value.name.value)
        return
    for child in getattr(value, "values", None) or ():
        _variables_in_value(child, found)
    for child in getattr(value, "fields", None) or ():
        _variables_in_value(child.value, found)


def collect_variables(arguments: Iterable[ArgumentNode], directives: Iterable[DirectiveNode], found: set[str]) -> None:
    for argument in arguments:
        _variables_in_value(argument.value, found)
    for directive in directives:
        for argument in directive.arguments or ():
            _variables_in_value(argument.value, found)


def operation_selections(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[Selection, ...]:
    return normalize_selection_set(operation.selection_set, fragments)
