"""Satisfiability: every field of the API schema can be reached from the root types through the subgraphs.

A walk over the API schema from the roots: at each position (a supergraph type) it keeps the subgraph states
that could be there (a subgraph, possibly standing in through an `@interfaceObject`, and the fields a
`@provides` made local), widened by entity jumps (a resolvable key whose fields the current subgraph has). Each
field must be resolvable from at least one of them (its `@requires` fields collectible too); when none can, the
error (`SATISFIABILITY_ERROR`) shows the API query that cannot be satisfied and why, subgraph by subgraph.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from graphql import FieldNode, InlineFragmentNode, SelectionSetNode

from .errors import CompositionError, Location
from .fieldsets import FieldSetError, parse_field_set
from .merged import JoinField, MergedType, Supergraph
from .model import named_type

__all__ = ["check_satisfiability"]

Provided = tuple[tuple[str, "Provided"], ...]
_MAX_POSITIONS = 200_000
_MAX_LABEL_COMBINATIONS = 8


@dataclass(frozen=True)
class _State:
    graph: str
    via: str | None = None  # the @interfaceObject type standing in for the object type
    provided: Provided = ()


def _provided(selection_set: SelectionSetNode | None) -> Provided:
    if selection_set is None:
        return ()
    found: dict[str, Provided] = {}
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found[selection.name.value] = _provided(selection.selection_set)
        elif isinstance(selection, InlineFragmentNode):
            found.update(dict(_provided(selection.selection_set)))
    return tuple(sorted(found.items()))


def _parse(text: str) -> SelectionSetNode | None:
    try:
        return parse_field_set(text)
    except FieldSetError:
        return None


class _Checker:
    def __init__(self, supergraph: Supergraph, labels: dict[str, bool], reported: set[str]) -> None:
        self.supergraph = supergraph
        self.labels = labels  # progressive override labels, each on or off for this walk
        self.reported = reported
        self.types = supergraph.types
        self.names = {g.enum: g.name for g in supergraph.graphs}
        self.errors: list[CompositionError] = []
        self.closures: dict[tuple[str, frozenset[_State]], set[_State]] = {}
        self.closing: set[tuple[str, frozenset[_State]]] = set()

    # -- where fields live ------------------------------------------------------------------------------------

    def graphs_of(self, type_name: str) -> set[str]:
        merged = self.types.get(type_name)
        return {j.graph for j in merged.joins} if merged is not None else set()

    def field_in(self, type_name: str, field_name: str, graph: str) -> JoinField | None:
        merged = self.types.get(type_name)
        if merged is None or field_name not in merged.fields:
            return None
        field = merged.fields[field_name]
        if not field.joins:
            return JoinField(graph=graph) if graph in self.graphs_of(type_name) else None
        for join in field.joins:
            if join.graph == graph:
                return join
        return None

    def local(
        self, state: _State, type_name: str, field_name: str, *, for_key: bool = False
    ) -> JoinField | None:
        """The field's join in the state's subgraph when that subgraph can resolve it there."""
        if field_name == "__typename":
            return JoinField(graph=state.graph)
        join = self.field_in(state.via or type_name, field_name, state.graph)
        if join is None:
            return None
        if join.external:
            return join if any(name == field_name for name, _sub in state.provided) else None
        if join.used_overridden and not for_key:
            return None
        if join.override_label is not None and (join.override is not None) != self.labels.get(
            join.override_label
        ):
            return None  # the overriding side serves with the label on, the overridden side with it off
        return join

    def selection_available(
        self,
        states: set[_State],
        type_name: str,
        selection_set: SelectionSetNode | None,
        *,
        conditions: bool = False,
    ) -> bool:
        """Can these states (together) collect the selection, entity jumps below included?"""
        if selection_set is None:
            return True
        for selection in selection_set.selections:
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else type_name
                if not self.selection_available(
                    states, condition, selection.selection_set, conditions=conditions
                ):
                    return False
                continue
            if not isinstance(selection, FieldNode):
                return False
            name = selection.name.value
            having = [
                s
                for s in states
                if (j := self.local(s, type_name, name, for_key=True)) is not None
                and not (conditions and j.override_label)
            ]
            if not having:
                return False
            if selection.selection_set is None:
                continue
            merged = self.types.get(type_name)
            if merged is None or name not in merged.fields:
                return False
            child = named_type(merged.fields[name].type)
            below = self.close(frozenset(_State(s.graph) for s in having), child)
            if not self.selection_available(below, child, selection.selection_set, conditions=conditions):
                return False
        return True

    # -- entity jumps -----------------------------------------------------------------------------------------

    def close(self, states: frozenset[_State], type_name: str) -> set[_State]:
        """The states plus every entity jump they can make (keys collectible from what they have)."""
        merged = self.types.get(type_name)
        if merged is None or merged.kind not in ("object", "interface"):
            return set(states)
        memo = (type_name, states)
        if memo in self.closures:
            return self.closures[memo]
        if memo in self.closing:
            return set(states)
        self.closing.add(memo)
        targets: list[tuple[str, MergedType, bool]] = [(type_name, merged, False)]
        if merged.kind == "object":
            targets.extend((i, self.types[i], True) for i in merged.interfaces if i in self.types)
        closed = set(states)
        changed = True
        while changed:
            changed = False
            for name, target, through_interface in targets:
                for join in target.joins:
                    if (
                        join.key is None
                        or not join.resolvable
                        or (through_interface and not join.interface_object)
                    ):
                        continue
                    jumped = _State(join.graph, name if through_interface else None)
                    if jumped in closed:
                        continue
                    key = _parse(join.key)
                    if key is not None and self.selection_available(closed, type_name, key):
                        closed.add(jumped)
                        changed = True
        self.closing.discard(memo)
        self.closures[memo] = closed
        return closed

    # -- the walk ---------------------------------------------------------------------------------------------

    def requires_met(self, closed: set[_State], type_name: str, join: JoinField) -> bool:
        """Can the fields a @requires names be collected from where the walk is (entity jumps included)?
        Fields moving by a progressive @override (a label) cannot serve a condition, as in Apollo's."""
        if join.requires is None:
            return True
        return self.selection_available(closed, type_name, _parse(join.requires), conditions=True)

    def step(self, closed: set[_State], type_name: str, field_name: str) -> tuple[set[_State], list[str]]:
        merged = self.types[type_name]
        found: set[_State] = set()
        reasons: list[str] = []
        for state in sorted(closed, key=lambda s: (s.graph, s.via or "")):
            join = self.local(state, type_name, field_name)
            if join is None and merged.kind == "interface" and state.via is None:
                exploded = self.exploded(state, type_name, field_name)
                if exploded:
                    found |= exploded
                    continue
            if join is None:
                reasons.append(f'cannot find field "{type_name}.{field_name}"')
                continue
            if not self.requires_met(closed, type_name, join):
                reasons.append(
                    f'cannot satisfy @requires(fields: "{join.requires}") on field "{type_name}.{field_name}"'
                )
                continue
            provided: Provided = ()
            sub = dict(state.provided).get(field_name)
            if sub:
                provided = sub
            if join.provides is not None:
                provided = _provided(_parse(join.provides))
            found.add(_State(state.graph, None, provided))
        return found, reasons

    def exploded(self, state: _State, interface: str, field_name: str) -> set[_State] | None:
        """Type explosion: the states where each implementation of `interface` in the state's subgraph resolves
        the field (None when one cannot)."""
        implementations = [
            t for t in self.types.values() if t.kind == "object" and (state.graph, interface) in t.implements
        ]
        if not implementations:
            return None
        found: set[_State] = set()
        for implementation in implementations:
            resolving = {
                _State(s.graph)
                for s in self.close(frozenset({_State(state.graph)}), implementation.name)
                if self.local(s, implementation.name, field_name) is not None
            }
            if not resolving:
                return None
            found |= resolving
        return found

    def runtime_states(self, states: frozenset[_State], abstract: str, runtime: str) -> frozenset[_State]:
        closed = self.close(states, abstract) if self.types[abstract].kind == "interface" else set(states)
        merged = self.types[abstract]
        found = set()
        for state in closed:
            if merged.kind == "union" and (state.graph, runtime) in merged.member_joins:
                found.add(_State(state.graph, None, dict(state.provided).get(runtime, state.provided)))
            elif merged.kind == "interface" and (state.graph, abstract) in self.types[runtime].implements:
                found.add(_State(state.graph, None, state.provided))
        return frozenset(found)

    def possible(self, abstract: str) -> list[str]:
        merged = self.types[abstract]
        if merged.kind == "union":
            return list(merged.members)
        return [t.name for t in self.types.values() if t.kind == "object" and abstract in t.interfaces]

    def check(self) -> list[CompositionError]:
        start: deque[tuple[str, frozenset[_State], tuple[str, ...]]] = deque()
        for root in self.supergraph.roots.values():
            start.append((root, frozenset(_State(g) for g in self.graphs_of(root)), ()))
        seen: set[tuple[str, frozenset[_State]]] = set()
        while start and len(seen) < _MAX_POSITIONS:
            type_name, states, path = start.popleft()
            if (type_name, states) in seen:
                continue
            seen.add((type_name, states))
            merged = self.types[type_name]
            if merged.kind == "union" or merged.kind == "interface":
                for runtime in self.possible(type_name):
                    narrowed = self.runtime_states(states, type_name, runtime)
                    if narrowed and runtime in self.types:
                        start.append((runtime, narrowed, (*path, f"... on {runtime}")))
            if merged.kind not in ("object", "interface"):
                continue
            if merged.kind == "interface" and not self.possible(type_name):
                continue  # no object can ever be there
            closed = self.close(states, type_name)
            for field_name, field in merged.fields.items():
                if field.applied.inaccessible:
                    continue
                found, reasons = self.step(closed, type_name, field_name)
                child = named_type(field.type)
                if not found:
                    coordinate = f"{type_name}.{field_name}"
                    if coordinate not in self.reported:
                        self.reported.add(coordinate)
                        self.report((*path, field_name), closed, reasons)
                    continue
                if child in self.types and self.types[child].kind in ("object", "interface", "union"):
                    start.append((child, frozenset(found), (*path, field_name)))
        return self.errors

    def report(self, path: tuple[str, ...], closed: set[_State], reasons: list[str]) -> None:
        query = "{\n"
        indent = "  "
        for part in path[:-1]:
            query += f"{indent}{part} {{\n"
            indent += "  "
        query += f"{indent}{path[-1]}\n"
        for _part in path[:-1]:
            indent = indent[:-2]
            query += f"{indent}}}\n"
        query += "}"
        graphs = sorted({s.graph for s in closed})
        why = (
            "\n".join(
                f'- from subgraph "{self.names.get(g, g)}": {reason}'
                for g, reason in zip(graphs, reasons, strict=False)
            )
            or "- no subgraph can reach it"
        )
        self.errors.append(
            CompositionError(
                code="SATISFIABILITY_ERROR",
                message=f"The following supergraph API query:\n{query}\ncannot be satisfied by the subgraphs because:\n"
                f"{why}",
                locations=tuple(Location(subgraph=self.names.get(g, g)) for g in graphs),
            )
        )


def check_satisfiability(supergraph: Supergraph) -> list[CompositionError]:
    """The SATISFIABILITY_ERRORs of a merged supergraph (empty when every API field can be reached): with each
    progressive override label on and off (every combination of up to 8 labels, then each label alone)."""
    labels = sorted(
        {
            j.override_label
            for t in supergraph.types.values()
            for f in t.fields.values()
            for j in f.joins
            if j.override_label is not None
        }
    )
    if len(labels) <= _MAX_LABEL_COMBINATIONS:
        assignments = [
            dict(zip(labels, values, strict=True))
            for values in itertools.product((False, True), repeat=len(labels))
        ]
    else:
        assignments = [{label: label == on for label in labels} for on in labels] + [
            dict.fromkeys(labels, False)
        ]
    errors: list[CompositionError] = []
    reported: set[str] = set()
    for assignment in assignments:
        errors.extend(_Checker(supergraph, assignment, reported).check())
    return errors
