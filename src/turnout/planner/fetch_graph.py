"""Fetch groups: the subgraph operations a plan is made of, built up while the walker visits a query."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from graphql import ArgumentNode, DirectiveNode

from .normalize import Field, collect_variables
from .plan_nodes import ContextRewrite

__all__ = [
    "FetchGroup",
    "FieldBuilder",
    "SelectionBuilder",
    "internal_key",
    "runs_after",
    "separate_conflicting_fields",
]


def internal_key(base: str, taken: frozenset[str] | set[str]) -> str:
    """A response key of the planner's own (`_t_...`), made distinct from every key the client wrote, so that
    the executor can tell its own keys from the client's by name."""
    key = base
    while key in taken:
        key += "_"
    return key


class FieldBuilder:
    """A field of a subgraph operation under construction."""

    __slots__ = (
        "arguments",
        "arguments_text",
        "data_key",
        "directives",
        "directives_text",
        "name",
        "response_key",
        "sub",
    )

    def __init__(self, response_key: str, name: str, composite: bool, of: Field | None = None) -> None:
        """`of`: the operation's field this one asks for (its arguments and directives), if any."""
        self.response_key = response_key
        # the key the value is stored under in the response data; differs from the alias sent to the
        # subgraph only when two fragments would otherwise ask for one key with two types
        self.data_key = response_key
        self.name = name
        self.arguments: tuple[ArgumentNode, ...] = of.arguments if of is not None else ()
        self.arguments_text = of.arguments_text if of is not None else ""
        self.directives: tuple[DirectiveNode, ...] = of.directives if of is not None else ()
        self.directives_text = of.directives_text if of is not None else ""
        self.sub: SelectionBuilder | None = SelectionBuilder() if composite else None


class SelectionBuilder:
    """A selection set under construction: fields by response key, inline fragments by condition."""

    __slots__ = ("condition", "items", "parent_type")

    def __init__(
        self,
        condition: tuple[str | None, tuple[DirectiveNode, ...]] = (None, ()),
        parent_type: str | None = None,
    ) -> None:
        # for an inline fragment: its type condition and directives
        self.condition = condition
        # the type whose fields this selection set selects (in the subgraph)
        self.parent_type = parent_type
        self.items: dict[tuple[str, ...], FieldBuilder | SelectionBuilder] = {}
        # keys: ("f", response_key, directives_text) or ("t", type_condition or "", directives_text)

    def __bool__(self) -> bool:
        return bool(self.items)

    def field(
        self, response_key: str, name: str, *, composite: bool = False, of: Field | None = None
    ) -> FieldBuilder:
        """The field under `response_key` (added unless there), asking what `of` asks (arguments, directives)."""
        key = ("f", response_key, of.directives_text if of is not None else "")
        existing = self.items.get(key)
        if isinstance(existing, FieldBuilder):
            return existing
        created = FieldBuilder(response_key, name, composite, of)
        self.items[key] = created
        return created

    def typename(self) -> None:
        self.field("__typename", "__typename")

    def fragment(
        self,
        type_condition: str | None,
        directives: tuple[DirectiveNode, ...] = (),
        directives_text: str = "",
    ) -> SelectionBuilder:
        key = ("t", type_condition or "", directives_text)
        existing = self.items.get(key)
        if isinstance(existing, SelectionBuilder):
            return existing
        created = SelectionBuilder((type_condition, directives), type_condition or self.parent_type)
        self.items[key] = created
        return created

    def fragments(self) -> list[tuple[str | None, tuple[DirectiveNode, ...], SelectionBuilder]]:
        out = []
        for key, item in self.items.items():
            if key[0] == "t" and isinstance(item, SelectionBuilder):
                out.append((item.condition[0], item.condition[1], item))
        return out

    # -- merging ----------------------------------------------------------------------------------------------

    def can_merge(self, other: SelectionBuilder) -> bool:
        """Whether `other` can join this selection set without two fields sharing a key but not a meaning."""
        for key, item in other.items.items():
            mine = self.items.get(key)
            if mine is None:
                continue
            if isinstance(item, FieldBuilder) and isinstance(mine, FieldBuilder):
                if (mine.name, mine.arguments_text, mine.data_key) != (
                    item.name,
                    item.arguments_text,
                    item.data_key,
                ):
                    return False
                if mine.sub is not None and item.sub is not None and not mine.sub.can_merge(item.sub):
                    return False
            elif (
                isinstance(item, SelectionBuilder)
                and isinstance(mine, SelectionBuilder)
                and not mine.can_merge(item)
            ):
                return False
        return True

    def merge(self, other: SelectionBuilder) -> None:
        """Add `other`'s selections (check `can_merge` first)."""
        for key, item in other.items.items():
            mine = self.items.get(key)
            if mine is None:
                self.items[key] = item
            elif isinstance(item, FieldBuilder) and isinstance(mine, FieldBuilder):
                if mine.sub is not None and item.sub is not None:
                    mine.sub.merge(item.sub)
            elif isinstance(item, SelectionBuilder) and isinstance(mine, SelectionBuilder):
                mine.merge(item)

    # -- printing -------------------------------------------------------------------------------------------

    def print(self, indent: int | None = None) -> str:
        """`{ a b { c } }` compact (indent None) or pretty with the given indentation."""
        parts: list[str] = []
        self._print(parts, indent)
        return "".join(parts)

    def _print(self, out: list[str], indent: int | None) -> None:
        if indent is None:
            out.append("{")
            first = True
            for key, item in self.items.items():
                if not first:
                    out.append(" ")
                first = False
                self._print_item(out, key, item, None)
            out.append("}")
            return
        pad = "  " * (indent + 1)
        out.append("{\n")
        for key, item in self.items.items():
            out.append(pad)
            self._print_item(out, key, item, indent + 1)
            out.append("\n")
        out.append("  " * indent + "}")

    def _print_item(
        self, out: list[str], key: tuple[str, ...], item: FieldBuilder | SelectionBuilder, indent: int | None
    ) -> None:
        if isinstance(item, FieldBuilder):
            if item.response_key != item.name:
                out.append(f"{item.response_key}: ")
            out.append(item.name)
            out.append(item.arguments_text)
            out.append(item.directives_text)
            if item.sub is not None:
                out.append(" ")
                if not item.sub:
                    item.sub.typename()
                item.sub._print(out, indent)
        else:
            condition = key[1]
            out.append("..." + (f" on {condition}" if condition else ""))
            out.append(key[2])
            out.append(" ")
            if not item:
                item.typename()
            item._print(out, indent)

    def variables(self, found: set[str]) -> None:
        for item in self.items.values():
            if isinstance(item, FieldBuilder):
                collect_variables(item.arguments, item.directives, found)
                if item.sub is not None:
                    item.sub.variables(found)
            else:
                collect_variables((), item.condition[1], found)
                item.variables(found)


def separate_conflicting_fields(
    selection: SelectionBuilder,
    type_of: Callable[[str | None, str], str],
    taken: frozenset[str] = frozenset(),
) -> bool:
    """Alias apart fields that share a response key but not a type across sibling fragments.

    `... on User { id }` and `... on Admin { id }` are invalid together in a subgraph whose `User.id`
    is `ID!` and `Admin.id` is `ID`. The later one is sent as `_t_id_Admin` and keeps `id` as its
    data key, so the executor renames it back. Returns whether anything was renamed.
    """
    renamed = False
    seen: dict[str, str] = {}
    for builder, built in _fields_at_level(selection):
        shape = type_of(builder.parent_type, built.name)
        known = seen.setdefault(built.response_key, shape)
        if known != shape and built.name != "__typename":
            alias = internal_key(f"_t_{built.data_key}_{builder.parent_type}", taken)
            old_key = ("f", built.response_key, built.directives_text)
            built.response_key = alias
            builder.items = {
                (("f", alias, built.directives_text) if key == old_key else key): item
                for key, item in builder.items.items()
            }
            renamed = True
    for _builder, built in _fields_at_level(selection):
        if built.sub is not None:
            renamed = separate_conflicting_fields(built.sub, type_of, taken) or renamed
    return renamed


def _fields_at_level(selection: SelectionBuilder) -> list[tuple[SelectionBuilder, FieldBuilder]]:
    out: list[tuple[SelectionBuilder, FieldBuilder]] = []
    for item in list(selection.items.values()):
        if isinstance(item, FieldBuilder):
            out.append((selection, item))
        else:
            out.extend(_fields_at_level(item))
    return out


@dataclass(eq=False, kw_only=True)
class FetchGroup:
    """One subgraph operation: a root fetch, or an `_entities` fetch at a path of the response."""

    id: int
    graph: str
    path: tuple[str, ...]
    is_entity: bool
    operation_type: str = "query"
    selection: SelectionBuilder = field(default_factory=SelectionBuilder)
    # entity fetches: what each representation carries, per type condition in the response data
    requires: SelectionBuilder = field(default_factory=SelectionBuilder)
    # type condition in the data -> __typename sent in the representation (interface objects)
    rep_typenames: dict[str, str] = field(default_factory=dict)
    parents: set[int] = field(default_factory=set)
    root_index: int = 0
    # further paths this entity fetch serves (sibling fetches to the same subgraph merged into it)
    more_paths: list[tuple[str, ...]] = field(default_factory=list)
    # `@fromContext` values this fetch's variables take from an ancestor of its objects
    contexts: list[ContextRewrite] = field(default_factory=list)


def runs_after(groups: Sequence[FetchGroup], group_id: int, ancestor: int) -> bool:
    """Whether group `group_id` runs after `ancestor` (directly or through other fetches); `groups` by id."""
    stack = list(groups[group_id].parents)
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if current == ancestor:
            return True
        if current not in seen:
            seen.add(current)
            stack.extend(groups[current].parents)
    return False
