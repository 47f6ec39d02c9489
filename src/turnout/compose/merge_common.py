"""What every step of merging shares: the subgraphs, the merged types so far, the errors and hints reported
with Apollo's codes, and the rules for descriptions, default values and type references that fields, arguments
and input fields all follow."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from graphql import TypeNode, ValueNode, print_ast

from .errors import CompositionError, Hint, Location
from .merged import MergedType, graph_enum_names
from .model import Applied, Kind, SubArg, SubField, Subgraph
from .types import is_strict_subtype, same_type, same_value

__all__ = ["MergeContext", "merge_applied", "quoted_subgraphs"]


class MergeContext:
    """The merge's state and reports; `merge.py`'s merger and `merge_values.py`'s build on it."""

    def __init__(self, subgraphs: list[Subgraph]) -> None:
        self.subgraphs = subgraphs
        self.by_name = {s.name: s for s in subgraphs}
        enums = graph_enum_names([s.name for s in subgraphs])
        self.enum = {s.name: e for s, e in zip(subgraphs, enums, strict=True)}
        self.errors: list[CompositionError] = []
        self.hints: list[Hint] = []
        self.types: dict[str, MergedType] = {}
        self.kinds: dict[str, Kind] = {}
        self.enum_usage: dict[str, set[str]] = {}
        self.having: dict[str, set[str]] = {}  # type name -> the subgraphs with a type of that name
        self.interface_objects: set[str] = set()  # interfaces some subgraph has as @interfaceObject

    # -- reporting --------------------------------------------------------------------------------------------

    def error(self, code: str, message: str, *where: tuple[str, int | None]) -> None:
        self.errors.append(CompositionError(code=code, message=message, locations=_locations(where)))

    def hint(self, code: str, message: str, *where: tuple[str, int | None]) -> None:
        self.hints.append(Hint(code=code, message=message, locations=_locations(where)))

    # -- rules shared by fields, arguments and input fields ---------------------------------------------------

    def describe(self, element: str, descriptions: Iterable[str | None]) -> str | None:
        """The description the supergraph gets: the only one, the only non-empty one, or the most common."""
        counts: dict[str, int] = {}
        for description in descriptions:
            if description is not None:
                counts[description] = counts.get(description, 0) + 1
        if not counts:
            return None
        non_empty = [d for d in counts if d != ""]
        if len(counts) == 1:
            return next(iter(counts))
        if len(non_empty) == 1:
            return non_empty[0]
        chosen = max(non_empty, key=lambda d: counts[d])
        self.hint(
            "INCONSISTENT_DESCRIPTION",
            f'Element "{element}" has inconsistent descriptions across subgraphs. '
            f'The supergraph will use description "{chosen}".',
        )
        return chosen

    def related(self, sup: str, sub: str) -> bool:
        merged = self.types.get(sup)
        if merged is None:
            return False
        if merged.kind == "union":
            return sub in merged.members
        target = self.types.get(sub)
        return target is not None and sup in target.interfaces

    def merge_default(
        self, what: str, code: str, defaults: list[tuple[Subgraph, ValueNode | None, int | None]]
    ) -> ValueNode | None:
        values = [d for _s, d, _l in defaults]
        distinct = [v for v in values if v is not None]
        if any(not same_value(distinct[0], v) for v in distinct[1:]):
            self.error(
                code,
                f"{what} has incompatible default values across subgraphs",
                *[(s.name, line) for s, _d, line in defaults],
            )
            return distinct[0]
        if distinct and len(distinct) != len(values):
            self.hint(
                "INCONSISTENT_DEFAULT_VALUE_PRESENCE",
                f"{what} has a default value in only some subgraphs: the supergraph will not use a default.",
            )
            return None
        return distinct[0] if distinct else None

    def merge_type_reference(
        self,
        coordinate: str,
        sources: Sequence[tuple[Subgraph, SubField | SubArg]],
        *,
        input_position: bool,
        argument: bool = False,
    ) -> tuple[bool, TypeNode]:
        dest: TypeNode | None = None
        subtypes = incompatible = False
        for _s, element in sources:
            node: TypeNode = element.type
            if dest is None or same_type(dest, node):
                dest = node
            elif is_strict_subtype(dest, node, self.related):
                subtypes = True
                if input_position:
                    dest = node
            elif is_strict_subtype(node, dest, self.related):
                subtypes = True
                if not input_position:
                    dest = node
            else:
                incompatible = True
        assert dest is not None
        if incompatible:
            kind = "argument" if argument else "field"
            described = ", ".join(f'type "{print_ast(e.type)}" in "{s.name}"' for s, e in sources)
            self.error(
                "FIELD_ARGUMENT_TYPE_MISMATCH" if argument else "FIELD_TYPE_MISMATCH",
                f'Type of {kind} "{coordinate}" is incompatible across subgraphs: it has {described}',
                *[(s.name, e.line) for s, e in sources],
            )
        elif subtypes:
            kind = "ARGUMENT" if argument else "FIELD"
            self.hint(
                f"INCONSISTENT_BUT_COMPATIBLE_{kind}_TYPE",
                f'Type of {kind.lower()} "{coordinate}" is inconsistent but compatible across subgraphs: will '
                f'use type "{print_ast(dest)}" in the supergraph.',
            )
        return not (subtypes or incompatible), dest


def quoted_subgraphs(names: Iterable[str]) -> str:
    listed = [n if n.startswith('"') else f'"{n}"' for n in names]
    if len(listed) == 1:
        return f"subgraph {listed[0]}"
    return "subgraphs " + (", ".join(listed[:-1]) + " and " + listed[-1] if listed else "")


def _locations(where: Iterable[tuple[str, int | None]]) -> tuple[Location, ...]:
    return tuple(Location(subgraph=s, line=line) for s, line in where)


def merge_applied(applied: list[Applied]) -> Applied:
    result = Applied()
    for one in applied:
        result.inaccessible |= one.inaccessible
        result.tags.extend(t for t in one.tags if t not in result.tags)
        if result.deprecated is None:
            result.deprecated = one.deprecated
        if result.specified_by is None:
            result.specified_by = one.specified_by
    return result
