"""Normalize a client operation: fragments inlined, selections as small frozen trees the planner walks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Union

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    print_ast,
)

__all__ = [
    "Field",
    "Fragment",
    "Occurrence",
    "Selection",
    "SelectionLimitError",
    "client_keys",
    "collect_fields",
    "collect_variables",
    "directives_include",
    "each_field",
    "normalize_selection_set",
    "print_arguments",
    "print_directives",
    "type_applies",
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


# What one normalization may do before it is refused: items added to selection sets (merges included).
# A 15,000-token document (the parser's limit) adds under 100,000 items unless fragments multiply them.
DEFAULT_MAX_WORK = 1_000_000


class SelectionLimitError(Exception):
    """An operation whose selections, fragments expanded and merged, exceed what planning may visit."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _field_type(schema: GraphQLSchema | None, parent: str | None, name: str) -> str | None:
    if schema is None or parent is None:
        return None
    parent_type = schema.get_type(parent)
    if not isinstance(parent_type, GraphQLObjectType | GraphQLInterfaceType):
        return None
    definition = parent_type.fields.get(name)
    return None if definition is None else get_named_type(definition.type).name


class _Entry:
    """One field or fragment of a selection set being collected, with the selection sets merged into it."""

    __slots__ = ("item", "subs")

    def __init__(self, item: Selection) -> None:
        self.item = item
        self.subs: list[tuple[Selection, ...]] = [item.selections] if item.selections else []

    def add(self, selections: tuple[Selection, ...]) -> None:
        if selections and not any(s is selections for s in self.subs):
            self.subs.append(selections)


class _Normalizer:
    """Fragments expanded once per fragment and merged as they are collected.

    A selection set is collected as the spec's CollectFields would see it: fields with one response key (and
    the same name, arguments and directives) merge into their first occurrence; a fragment without directives
    on the enclosing type (or without a type condition) is flattened into it; a fragment that repeats the one
    just before it (same type condition and directives) merges into it, and one identical to an earlier one is
    dropped. Results are interned, so equal selection sets are one object: a fragment spread a million times
    costs what its distinct selections cost, and the planner's and projection's memos (keyed by identity) hit.
    Response order is the spec's: nothing moves ahead of a field that came before it.
    """

    def __init__(
        self,
        fragments: Mapping[str, FragmentDefinitionNode],
        schema: GraphQLSchema | None,
        max_selections: int | None,
        max_work: int | None,
    ) -> None:
        self.fragments = fragments
        self.schema = schema
        self.max_selections = max_selections
        self.work_left = max_work
        self.named: dict[str, tuple[Selection, ...]] = {}
        self.visiting: set[str] = set()
        self.interned: dict[tuple[object, ...], tuple[Selection, ...]] = {}
        self.sizes: dict[int, int] = {}
        self.merged: dict[tuple[object, ...], tuple[Selection, ...]] = {}

    def size(self, selections: tuple[Selection, ...]) -> int:
        """The selections in the tree below `selections` (shared subtrees counted each time they occur)."""
        return self.sizes.get(id(selections), 0) if selections else 0

    def selection_set(self, node: SelectionSetNode | None, parent: str | None) -> tuple[Selection, ...]:
        if node is None:
            return ()
        level: dict[object, _Entry] = {}
        order: list[_Entry] = []
        for child in node.selections:
            if isinstance(child, FieldNode):
                directives = _kept_directives(child.directives)
                if directives is None:
                    continue
                name = child.name.value
                self._add(
                    level,
                    order,
                    Field(
                        response_key=child.alias.value if child.alias else name,
                        name=name,
                        arguments=tuple(child.arguments or ()),
                        directives=directives,
                        selections=self.selection_set(
                            child.selection_set, _field_type(self.schema, parent, name)
                        ),
                        arguments_text=print_arguments(child.arguments or ()),
                        directives_text=print_directives(directives),
                    ),
                    parent,
                )
                continue
            if isinstance(child, InlineFragmentNode):
                condition = child.type_condition.name.value if child.type_condition else None
                selections = self.selection_set(child.selection_set, condition or parent)
            elif isinstance(child, FragmentSpreadNode):
                definition = self.fragments.get(child.name.value)
                if definition is None:
                    continue
                condition = definition.type_condition.name.value
                selections = self.fragment(child.name.value, definition)
            else:  # pragma: no cover - no other selection kinds exist
                continue
            directives = _kept_directives(child.directives)
            if directives is None:
                continue
            self._add(
                level,
                order,
                Fragment(
                    type_condition=condition,
                    directives=directives,
                    selections=selections,
                    directives_text=print_directives(directives),
                ),
                parent,
            )
        return self._finish(order, parent)

    def fragment(self, name: str, definition: FragmentDefinitionNode) -> tuple[Selection, ...]:
        found = self.named.get(name)
        if found is None:
            if name in self.visiting:  # a cycle (validation reports it): nothing
                return ()
            self.visiting.add(name)
            try:
                found = self.selection_set(definition.selection_set, definition.type_condition.name.value)
            finally:
                self.visiting.discard(name)
            self.named[name] = found
        return found

    def _spend(self, amount: int) -> None:
        if self.work_left is not None:
            self.work_left -= amount
            if self.work_left < 0:
                raise SelectionLimitError(
                    "The operation's fragments expand to more selections than the gateway plans."
                )

    def _add(
        self, level: dict[object, _Entry], order: list[_Entry], item: Selection, parent: str | None
    ) -> None:
        self._spend(1)
        if isinstance(item, Field):
            key: object = (item.response_key, item.name, item.arguments_text, item.directives_text)
            entry = level.get(key)
            if entry is None:
                entry = level[key] = _Entry(item)
                order.append(entry)
            else:
                entry.add(item.selections)
            return
        if not item.directives and item.type_condition in (None, parent):
            for inner in item.selections:  # collected in place, as CollectFields does
                self._add(level, order, inner, parent)
            return
        key = (None, item.type_condition, item.directives_text)
        entry = level.get(key)
        last = order[-1] if order else None
        if (
            last is not None
            and isinstance(last.item, Fragment)
            and (last.item.type_condition, last.item.directives_text) == key[1:]
        ):
            last.add(item.selections)  # merged into the fragment just before: nothing moves ahead
        elif entry is not None and any(s is item.selections for s in entry.subs):
            pass  # identical to an earlier fragment: adds nothing
        else:
            entry = _Entry(item)
            level.setdefault(key, entry)
            order.append(entry)

    def _merge(self, subs: list[tuple[Selection, ...]], parent: str | None) -> tuple[Selection, ...]:
        if not subs:
            return ()
        if len(subs) == 1:
            return subs[0]
        key = (parent, *(id(s) for s in subs))
        found = self.merged.get(key)
        if found is None:
            level: dict[object, _Entry] = {}
            order: list[_Entry] = []
            for selections in subs:
                for item in selections:
                    self._add(level, order, item, parent)
            found = self.merged[key] = self._finish(order, parent)
        return found

    def _finish(self, order: list[_Entry], parent: str | None) -> tuple[Selection, ...]:
        items: list[Selection] = []
        for entry in order:
            item = entry.item
            if isinstance(item, Field):
                selections = self._merge(entry.subs, _field_type(self.schema, parent, item.name))
            else:
                selections = self._merge(entry.subs, item.type_condition or parent)
            if selections is not item.selections:
                item = replace(item, selections=selections)
            items.append(item)
        return self._intern(tuple(items))

    def _intern(self, selections: tuple[Selection, ...]) -> tuple[Selection, ...]:
        key = tuple(
            (s.response_key, s.name, s.arguments_text, s.directives_text, id(s.selections))
            if isinstance(s, Field)
            else (s.type_condition, s.directives_text, id(s.selections))
            for s in selections
        )
        found = self.interned.get(key)
        if found is not None:
            return found
        self.interned[key] = selections
        size = sum(1 + self.size(s.selections) for s in selections)
        self.sizes[id(selections)] = size
        if self.max_selections is not None and size > self.max_selections:
            raise SelectionLimitError(
                f"The operation selects {size} fields and fragments once its fragments are expanded and merged, "
                f"more than the limit of {self.max_selections}."
            )
        return selections


def normalize_selection_set(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    parent_type: str | None = None,
    *,
    schema: GraphQLSchema | None = None,
    max_selections: int | None = None,
    max_work: int | None = DEFAULT_MAX_WORK,
) -> tuple[Selection, ...]:
    """Turn a selection set into Field/Fragment trees: spreads expanded, repeated selections merged.

    With `schema` (and the `parent_type` of the selection set), fragments on the enclosing type are flattened.
    SelectionLimitError when the merged tree would hold more than `max_selections` selections, or collecting it
    would take more than `max_work` steps.
    """
    normalizer = _Normalizer(fragments, schema, max_selections, max_work)
    return normalizer.selection_set(selection_set, parent_type)


def _variables_in_value(value: ValueNode, found: set[str]) -> None:
    if isinstance(value, VariableNode):
        found.add(value.name.value)
        return
    for child in getattr(value, "values", None) or ():
        _variables_in_value(child, found)
    for child in getattr(value, "fields", None) or ():
        _variables_in_value(child.value, found)


def client_keys(selections: Iterable[Selection]) -> frozenset[str]:
    """Every response key the operation writes, at any level: the names an internal key must not take."""
    found: set[str] = set()
    stack = list(selections)
    while stack:
        item = stack.pop()
        if isinstance(item, Field):
            found.add(item.response_key)
        stack.extend(item.selections)
    return frozenset(found)


def collect_variables(
    arguments: Iterable[ArgumentNode], directives: Iterable[DirectiveNode], found: set[str]
) -> None:
    for argument in arguments:
        _variables_in_value(argument.value, found)
    for directive in directives:
        for argument in directive.arguments or ():
            _variables_in_value(argument.value, found)


def operation_selections(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[Selection, ...]:
    return normalize_selection_set(operation.selection_set, fragments)


# -- field collection ------------------------------------------------------------------------------------------
# GraphQL's CollectFields over normalized selections: the one place that decides which fields of a selection
# set apply (to a runtime type, under the request's @skip/@include), used by the planner, the projection and
# the comparison. graphql-core's `collect_fields` does the same over the AST, where turnout has an AST.

# a field of the operation with the type conditions of the fragments around it, outermost first
Occurrence = tuple[Field, tuple[str, ...]]


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


def each_field(
    selections: Iterable[Selection],
    variables: Mapping[str, Any] | None = None,
    applies: Callable[[str], bool] | None = None,
    conditions: tuple[str, ...] = (),
) -> Iterator[Occurrence]:
    """Every field the selections include, fragments expanded in document order, with the type conditions of
    the fragments it sits in. With `variables`, @skip/@include are decided (without: planning time, every field
    is kept); fragments whose type condition `applies` rejects are left out (without: none is)."""
    for item in selections:
        if variables is not None and item.directives and not directives_include(item.directives, variables):
            continue
        if isinstance(item, Field):
            yield item, conditions
        elif item.type_condition is None:
            yield from each_field(item.selections, variables, applies, conditions)
        elif applies is None or applies(item.type_condition):
            yield from each_field(item.selections, variables, applies, (*conditions, item.type_condition))


def collect_fields(
    selections: Iterable[Selection],
    variables: Mapping[str, Any] | None = None,
    applies: Callable[[str], bool] | None = None,
    out: dict[str, list[Field]] | None = None,
) -> dict[str, list[Field]]:
    """The included fields by response key, in document order: the rule of `each_field`, without the type
    conditions (written out as a plain recursion: the planner collects a level for every object it walks)."""
    if out is None:
        out = {}
    for item in selections:
        if variables is not None and item.directives and not directives_include(item.directives, variables):
            continue
        if isinstance(item, Field):
            found = out.get(item.response_key)
            if found is None:
                out[item.response_key] = [item]
            else:
                found.append(item)
        elif item.type_condition is None or applies is None or applies(item.type_condition):
            collect_fields(item.selections, variables, applies, out)
    return out


def type_applies(
    schema: GraphQLSchema, runtime: GraphQLObjectType | GraphQLInterfaceType, condition: str | None
) -> bool:
    """Whether a fragment on `condition` applies to a value of the `runtime` type (an interface runtime: a value
    whose object type is not known, from an interface object)."""
    if condition is None or condition == runtime.name:
        return True
    gtype = schema.get_type(condition)
    return isinstance(gtype, GraphQLInterfaceType | GraphQLUnionType) and schema.is_sub_type(gtype, runtime)
