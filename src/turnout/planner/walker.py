"""Walk a normalized operation over the supergraph, choosing moves, and build the fetch groups.

At each object the walker decides, field by field, where the field's value comes from: the subgraph
already fetching the object (a field move), or another subgraph reached through an entity key (an
entity move, possibly after fetching `@requires` fields). When several subgraphs could serve a field,
it scores each option with `estimate` (the number of extra fetches the subtree would need) and takes
the cheapest. Interfaces and unions are narrowed to the object types each subgraph can return.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from graphql import (
    ArgumentNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    parse,
)

from ..supergraph.model import KeyDef
from .capabilities import Capabilities
from .fetch_graph import FetchGroup, FieldBuilder, SelectionBuilder, internal_key
from .normalize import Field, Fragment, Selection, client_keys, normalize_selection_set, print_arguments
from .plan_nodes import ContextRewrite

__all__ = ["PlanningError", "Walker"]

T = TypeVar("T")
INF = float("inf")
# a tie-breaker far below one fetch: the cost of a field resolved after an entity jump
MOVED_FIELD_COST = 1e-4
Conds = tuple[tuple[tuple[object, ...], str], ...]


class ProvidedFields(dict[str, Field]):
    """Fields `@provides` makes local at one position, by name; `selections` is the provided selection set."""

    def __init__(self, selections: Sequence[Selection] | None = None) -> None:
        super().__init__()
        self.selections = selections


NOTHING_PROVIDED = ProvidedFields()


class PlanningError(Exception):
    """The operation cannot be planned over this supergraph (a field no subgraph can reach)."""


@dataclass(frozen=True, slots=True)
class FieldType:
    named: str
    list_depth: int
    composite: bool


_NO_CYCLE = sys.maxsize


@dataclass(frozen=True, slots=True)
class _ContextFrame:
    """An object being walked whose type sets contexts (`@context`): where `@fromContext` values come from."""

    names: frozenset[str]
    group: FetchGroup
    sel: SelectionBuilder
    type_name: str
    path: tuple[str, ...]
    level_keys: dict[str, tuple[str, str]]


class Walker:
    """Builds the fetch groups of one operation under one Routing (through Capabilities)."""

    def __init__(self, caps: Capabilities, operation_name: str | None = None) -> None:
        self.caps = caps
        self.model = caps.model
        self.groups: list[FetchGroup] = []
        self._entity_groups: dict[tuple[object, ...], FetchGroup] = {}
        self._root_groups: dict[str, FetchGroup] = {}
        self._estimates: dict[tuple[object, ...], float] = {}
        self._reach: dict[tuple[object, ...], tuple[float, KeyDef | None]] = {}
        # computations under way, by key: their depth; and the lowest depth a computation re-entered
        self._active: dict[tuple[object, ...], int] = {}
        self._low = _NO_CYCLE
        self._field_types: dict[tuple[str, str], FieldType | None] = {}
        self._flat: dict[tuple[int, str, bool], list[Selection]] = {}
        self._field_sets: dict[int, tuple[Selection, ...]] = {}
        self._sizes: dict[int, int] = {}
        # subgraphs that could produce the object at each response path (shareable fields)
        self._positions: dict[tuple[str, ...], frozenset[str]] = {}
        # response keys the client uses at each object position, so planner-added fields never collide
        self._user_keys: dict[tuple[str, ...], dict[str, tuple[str, str]]] = {}
        self._user_selections: dict[tuple[str, ...], list[Selection]] = {}  # the client's, per response path
        self.client_keys: frozenset[str] = frozenset()  # every response key the operation writes
        # keep the selection tuples alive so their ids stay unique in the caches above
        self._pinned: list[object] = []
        # the enclosing objects that set contexts, innermost last; and the context variables named so far
        self._context_frames: list[_ContextFrame] = []
        self._context_variables = 0
        self._context_sets: dict[str, SelectionSetNode] = {}

    # -- schema helpers -------------------------------------------------------------------------------------

    def field_type(self, type_name: str, field_name: str) -> FieldType | None:
        key = (type_name, field_name)
        if key in self._field_types:
            return self._field_types[key]
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
        found = self._field_sets.get(id(selection_set))
        if found is None:
            found = normalize_selection_set(selection_set, {})
            self._field_sets[id(selection_set)] = found
            self._pinned.append(selection_set)
        return found

    def flatten(self, selections: Sequence[Selection], type_name: str, keep_foreign: bool = False) -> list[Selection]:
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
                out.append(Fragment(type_condition=None, directives=item.directives,
                                    selections=item.selections, directives_text=item.directives_text))
            elif keep_foreign and condition is not None and self._may_overlap(type_name, condition):
                out.append(item)
        self._flat[key] = out
        self._pinned.append(selections)
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
            self._pinned.append(selection)
        return found

    def level_keys(self, items: Sequence[Selection]) -> dict[str, tuple[str, str]]:
        keys: dict[str, tuple[str, str]] = {}
        for item in items:
            if isinstance(item, Field):
                keys.setdefault(item.response_key, (item.name, item.arguments_text))
            else:
                for key, value in self.level_keys(item.selections).items():
                    keys.setdefault(key, value)
        return keys

    def provided_for(self, provided: Sequence[Selection] | None, type_name: str) -> ProvidedFields:
        if not provided:
            return NOTHING_PROVIDED
        out = ProvidedFields(provided)
        for item in self.flatten(provided, type_name):
            if isinstance(item, Field):
                out.setdefault(item.name, item)
        return out

    # -- moves ----------------------------------------------------------------------------------------------

    def local_ok(self, graph: str, type_name: str, field: Field, provided: dict[str, Field], internal: bool) -> bool:
        if field.name in provided:
            return True
        caps = self.caps
        if caps.requires(graph, type_name, field.name) is not None:
            return False
        if internal:
            return caps.has_for_keys(graph, type_name, field.name)
        return caps.serves(graph, type_name, field.name)

    def entity_type_in(self, target: str, type_name: str, field_name: str | None) -> str | None:
        """The type to jump into in `target` for an object of `type_name` (itself, or an interface object)."""
        candidates = [type_name] + [i for i, g in self.caps.interface_objects_for(type_name) if g == target]
        for candidate in candidates:
            if not self.caps.has_type(target, candidate) or not self.caps.resolvable_keys(target, candidate):
                continue
            if field_name is None or self.caps.field_in(target, candidate, field_name) is not None:
                return candidate
        return None

    def reach(self, graph: str, type_name: str, target: str, entity_type: str, depth: int = 0,
              provided: ProvidedFields = NOTHING_PROVIDED) -> float:
        """Fetches needed to jump from `graph` into `target` for an object of `type_name` (INF: impossible).

        One for the jump itself, plus whatever obtaining the cheapest key's fields costs from `graph`.
        """
        return 1.0 + self.best_key(graph, type_name, target, entity_type, depth, provided)[0]

    def best_key(self, graph: str, type_name: str, target: str, entity_type: str, depth: int = 0,
                 provided: ProvidedFields = NOTHING_PROVIDED) -> tuple[float, KeyDef | None]:
        """The key of `target` that is cheapest to obtain from `graph` here, and what obtaining it costs."""
        key = ("reach", graph, type_name, target, entity_type, id(provided.selections) if provided else 0)
        if provided:
            self._pinned.append(provided.selections)

        def compute() -> tuple[float, KeyDef | None]:
            result: tuple[float, KeyDef | None] = (INF, None)
            for k in self.caps.resolvable_keys(target, entity_type):
                needed = self.estimate(graph, type_name, self.field_set(k.selection), provided.selections,
                                       depth + 1, internal=True, exclude=frozenset({target}))
                if needed < result[0]:
                    result = (needed, k)
            return result

        return self._memo(self._reach, key, compute, (INF, None))

    def _memo(self, cache: dict[tuple[object, ...], T], key: tuple[object, ...], compute: Callable[[], T],
              in_cycle: T) -> T:
        """Memoize `compute`; a computation that re-enters one under way sees `in_cycle` (a cycle is never
        the cheapest way). A result is kept when the only guesses below it were about itself (the cycle closed
        there, the value is final); the computations inside a larger cycle are not kept (their guesses were
        about an outer one). Depths as in Tarjan's lowlink."""
        found = cache.get(key)
        if found is not None:
            return found
        depth = self._active.get(key)
        if depth is not None:
            self._low = min(self._low, depth)
            return in_cycle
        outer, self._low = self._low, _NO_CYCLE
        mine = self._active[key] = len(self._active)
        try:
            value = compute()
        finally:
            del self._active[key]
        if self._low >= mine:
            cache[key] = value
            self._low = outer
        else:
            self._low = min(outer, self._low)
        return value

    def options(self, graph: str, type_name: str, field: Field) -> list[tuple[str, str]]:
        """(target subgraph, entity type there) for serving T.f anywhere else (or in `graph` with @requires)."""
        out: list[tuple[str, str]] = []
        for target in self.caps.serving_graphs(type_name, field.name):
            if target == graph and self.caps.requires(graph, type_name, field.name) is None:
                continue
            entity = self.entity_type_in(target, type_name, field.name)
            if entity is not None:
                out.append((target, entity))
        for interface, target in self.caps.interface_objects_for(type_name):
            if (target, interface) in out or not self.caps.serves(target, interface, field.name):
                continue
            if self.caps.resolvable_keys(target, interface):
                out.append((target, interface))
        return out

    # -- estimates --------------------------------------------------------------------------------------------

    def estimate(
        self, graph: str, type_name: str, selections: Sequence[Selection], provided: Sequence[Selection] | None,
        depth: int = 0, internal: bool = False, exclude: frozenset[str] = frozenset(),
    ) -> float:
        """How many extra fetches resolving `selections` from `graph` would take (INF: impossible)."""
        if not selections:
            return 0.0
        key = (graph, type_name, id(selections), id(provided) if provided else 0, internal, exclude)
        self._pinned.append(selections)

        def compute() -> float:
            typedef = self.model.types.get(type_name)
            result = 0.0
            if typedef is not None and typedef.is_abstract and not self.caps.is_interface_object(graph, type_name):
                for runtime in self.caps.runtime_types_in(graph, type_name):
                    items = self.flatten(selections, runtime)
                    cost = self._estimate_object(graph, runtime, items, provided, depth, internal, exclude)
                    result = max(result, cost)
            else:
                iface = typedef is not None and typedef.kind == "interface"
                items = self.flatten(selections, type_name, iface)
                result = self._estimate_object(graph, type_name, items, provided, depth, internal, exclude)
            return result

        return self._memo(self._estimates, key, compute, INF)

    def _estimate_object(
        self, graph: str, type_name: str, items: Sequence[Selection], provided: Sequence[Selection] | None,
        depth: int, internal: bool, exclude: frozenset[str],
    ) -> float:
        provided_here = self.provided_for(provided, type_name)
        targets: set[str] = set()
        total = 0.0
        interface_object = self.caps.is_interface_object(graph, type_name)
        for item in items:
            if isinstance(item, Fragment):
                if item.type_condition is not None:  # a fragment on an interface object's real type
                    if "@real" not in targets:
                        targets.add("@real")
                        total += 1
                    continue
                inner = self.flatten(item.selections, type_name, interface_object)
                total += self._estimate_object(graph, type_name, inner, provided, depth, internal, exclude)
                continue
            if item.name == "__typename":
                if interface_object and "@real" not in targets:
                    targets.add("@real")
                    total += 1
                continue
            cost, target = self._field_cost(graph, type_name, item, provided_here, depth, targets, internal, exclude)
            if cost == INF:
                return INF
            if target is not None:
                targets.add(target)
            total += cost
        return total

    def _field_cost(
        self, graph: str, type_name: str, item: Field, provided_here: ProvidedFields, depth: int,
        targets: set[str], internal: bool, exclude: frozenset[str],
    ) -> tuple[float, str | None]:
        """The cheapest way to resolve one field from `graph`: (extra fetches, subgraph jumped to or None)."""
        ftype = self.field_type(type_name, item.name)
        if ftype is None:
            return 0.0, None
        composite = ftype.composite and bool(item.selections)
        best, best_target = INF, None
        if self.local_ok(graph, type_name, item, provided_here, internal):
            best = 0.0
            if composite:
                sub_provided = self._sub_provided(graph, type_name, item, provided_here)
                best = self.estimate(graph, ftype.named, item.selections, sub_provided, depth + 1)
            if best == 0.0:
                return best, None
        for target, entity in self.options(graph, type_name, item):
            if target in exclude:
                continue
            cost = self.reach(graph, type_name, target, entity, depth, provided_here)
            if cost == INF:
                continue
            if target in targets:
                cost -= 1
            # between plans with as many fetches, prefer the one that moves fewer fields behind a jump
            cost += MOVED_FIELD_COST * self.size(item)
            if composite:
                cost += self.estimate(target, ftype.named, item.selections,
                                      self._target_provides(target, entity, item), depth + 1)
            if cost < best:
                best, best_target = cost, target
        if best == INF and composite:
            split = self._split(graph, type_name, item, provided_here, exclude, depth)
            if split is not None:
                best = sum(cost for cost, _sub in split.values())
        return best, best_target

    def _split(
        self, graph: str, type_name: str, field: Field, provided_here: ProvidedFields, exclude: frozenset[str],
        depth: int = 0, existing: Mapping[str, FetchGroup] | None = None,
    ) -> dict[tuple[str, str], tuple[float, list[Selection]]] | None:
        """Share a field's selections among several subgraphs that all serve the field (value types).

        Returns {(subgraph, entity type): (cost, selections)} or None when some selection fits nowhere.
        """
        ftype = self.field_type(type_name, field.name)
        if ftype is None or self.model.types[ftype.named].is_abstract:
            return None
        candidates: list[tuple[str, str, float]] = []
        if self.local_ok(graph, type_name, field, provided_here, False):
            candidates.append((graph, type_name, 0.0))
        for target, entity in self.options(graph, type_name, field):
            if target in exclude:
                continue
            reach = (0.0 if existing and target in existing
                     else self.reach(graph, type_name, target, entity, depth, provided_here))
            if reach != INF:
                candidates.append((target, entity, reach))
        chosen: dict[tuple[str, str], tuple[float, list[Selection]]] = {}
        for sub in self.flatten(field.selections, ftype.named):
            best: tuple[float, int] | None = None
            single = (sub,)
            self._pinned.append(single)
            for index, (target, entity, reach) in enumerate(candidates):
                provides = (self._sub_provided(graph, type_name, field, provided_here) if target == graph
                            else self._target_provides(target, entity, field))
                cost = self.estimate(target, ftype.named, single, provides, depth + 1)
                if (target, entity) not in chosen:
                    cost += reach
                if cost != INF and (best is None or (cost, index) < best):
                    best = (cost, index)
            if best is None:
                return None
            target, entity, _reach = candidates[best[1]]
            previous = chosen.get((target, entity), (0.0, []))
            chosen[(target, entity)] = (previous[0] + best[0], [*previous[1], sub])
        return chosen

    def _sub_provided(
        self, graph: str, type_name: str, field: Field, provided_here: ProvidedFields
    ) -> tuple[Selection, ...] | None:
        if field.name in provided_here and provided_here[field.name].selections:
            return provided_here[field.name].selections
        provides = self.caps.provides(graph, type_name, field.name)
        return self.field_set(provides) if provides is not None else None

    def _target_provides(self, target: str, entity: str, field: Field) -> tuple[Selection, ...] | None:
        provides = self.caps.provides(target, entity, field.name)
        return self.field_set(provides) if provides is not None else None

    # -- the walk ---------------------------------------------------------------------------------------------

    def new_group(self, graph: str, path: tuple[str, ...], is_entity: bool, operation_type: str,
                  root_index: int) -> FetchGroup:
        group = FetchGroup(id=len(self.groups), graph=graph, path=path, is_entity=is_entity,
                           operation_type=operation_type, root_index=root_index)
        if not is_entity:
            group.selection.parent_type = self.model.root_type(operation_type)
        self.groups.append(group)
        return group

    def plan_root(self, operation_type: str, root_type: str, selections: Sequence[Selection]) -> None:
        self.client_keys = client_keys(selections)
        items = self.flatten(selections, root_type)
        self._plan_root_items(operation_type, root_type, items, [])

    def _plan_root_items(self, operation_type: str, root_type: str, items: Sequence[Selection],
                         wrappers: list[Fragment]) -> None:
        for item in items:
            if isinstance(item, Fragment):
                self._plan_root_items(operation_type, root_type, self.flatten(item.selections, root_type),
                                      [*wrappers, item])
                continue
            if item.name in ("__typename", "__schema", "__type"):
                continue
            ftype = self.field_type(root_type, item.name)
            if ftype is None:
                raise PlanningError(f"Cannot query field \"{item.name}\" on type \"{root_type}\".")
            best: tuple[float, int, str] | None = None
            for order, graph in enumerate(self.caps.serving_graphs(root_type, item.name)):
                provides = self._target_provides(graph, root_type, item)
                cost = self.estimate(graph, ftype.named, item.selections, provides) if ftype.composite else 0.0
                if operation_type == "query" and graph not in self._root_groups:
                    cost += 1
                candidate = (cost, order, graph)
                if best is None or candidate < best:
                    best = candidate
            if best is not None and best[0] != INF:
                parts = [(best[2], item)]
            else:
                parts = self._split_root(root_type, item)
            for graph, part in parts:
                group = self._root_group(operation_type, graph)
                sel = group.selection
                for wrapper in wrappers:
                    sel = sel.fragment(None, wrapper.directives, wrapper.directives_text)
                self.place(group, sel, root_type, (), part, NOTHING_PROVIDED, (), frozenset(), False, ftype, graph,
                           root_type)

    def _split_root(self, root_type: str, field: Field) -> list[tuple[str, Field]]:
        """A root field no single subgraph can answer whole: each serving subgraph answers a part."""
        ftype = self.field_type(root_type, field.name)
        serving = self.caps.serving_graphs(root_type, field.name)
        if ftype is None or not serving or self.model.types[ftype.named].is_abstract:
            raise PlanningError(f"No subgraph can resolve {root_type}.{field.name}.")
        chosen: dict[str, list[Selection]] = {}
        for sub in self.flatten(field.selections, ftype.named):
            single = (sub,)
            self._pinned.append(single)
            best: tuple[float, int] | None = None
            for index, graph in enumerate(serving):
                cost = self.estimate(graph, ftype.named, single, self._target_provides(graph, root_type, field))
                cost += 0 if graph in chosen or graph in self._root_groups else 1
                if cost != INF and (best is None or (cost, index) < best):
                    best = (cost, index)
            if best is None:
                raise PlanningError(f"No subgraph can resolve {root_type}.{field.name}.")
            chosen.setdefault(serving[best[1]], []).append(sub)
        return [(graph, self._with_selections(field, subs)) for graph, subs in chosen.items()]

    def _with_selections(self, field: Field, selections: Sequence[Selection]) -> Field:
        part = Field(response_key=field.response_key, name=field.name, arguments=field.arguments,
                     directives=field.directives, selections=tuple(selections),
                     arguments_text=field.arguments_text, directives_text=field.directives_text)
        self._pinned.append(part)
        return part

    def _root_group(self, operation_type: str, graph: str) -> FetchGroup:
        if operation_type == "mutation":
            last = self.groups[-1] if self.groups else None
            roots = [g for g in self.groups if not g.is_entity]
            if roots and roots[-1].graph == graph and last is not None and not last.is_entity:
                return roots[-1]
            return self.new_group(graph, (), False, operation_type, len(roots))
        group = self._root_groups.get(graph)
        if group is None:
            group = self.new_group(graph, (), False, operation_type, 0)
            self._root_groups[graph] = group
        return group

    def walk(self, group: FetchGroup, sel: SelectionBuilder, type_name: str, path: tuple[str, ...],
             selections: Sequence[Selection], provided: Sequence[Selection] | None, conds: Conds,
             exclude: frozenset[str], internal: bool = False) -> set[int]:
        typedef = self.model.types[type_name]
        if typedef.is_abstract:
            if self.caps.is_interface_object(group.graph, type_name):
                items = self.flatten(selections, type_name, keep_foreign=True)
                return self.walk_object(group, sel, type_name, path, items, provided, conds, exclude, internal)
            return self.walk_abstract(group, sel, type_name, path, selections, provided, conds, exclude, internal)
        return self.walk_object(group, sel, type_name, path, self.flatten(selections, type_name), provided,
                                conds, exclude, internal)

    def walk_abstract(self, group: FetchGroup, sel: SelectionBuilder, type_name: str, path: tuple[str, ...],
                      selections: Sequence[Selection], provided: Sequence[Selection] | None, conds: Conds,
                      exclude: frozenset[str], internal: bool = False) -> set[int]:
        producers = {group.id}
        sel.typename()
        runtime_types = self.caps.runtime_types_in(group.graph, type_name)
        # a shareable field must answer the same from every subgraph that could resolve it here, so
        # only the object types all of them can return are asked for
        for other in self._positions.get(path, ()):
            if (
                other != group.graph
                and self.caps.has_type(other, type_name)
                and not self.caps.is_interface_object(other, type_name)
            ):
                allowed = self.caps.runtime_types_in(other, type_name)
                runtime_types = tuple(t for t in runtime_types if t in allowed)
        if not runtime_types:
            # nothing can come back here, but a field no subgraph can reach from here is still an error
            for item in self.flatten(selections, type_name, keep_foreign=False):
                if isinstance(item, Field) and item.name != "__typename":
                    reachable = self.local_ok(group.graph, type_name, item, NOTHING_PROVIDED, internal) or any(
                        self.reach(group.graph, type_name, target, entity) != INF
                        for target, entity in self.options(group.graph, type_name, item)
                    )
                    if not reachable:
                        raise PlanningError(
                            f"Cannot plan {type_name}.{item.name}: no subgraph can resolve it from "
                            f"\"{self._name(group.graph)}\"."
                        )
        for runtime in runtime_types:
            items = self.flatten(selections, runtime)
            if all(isinstance(i, Field) and i.name == "__typename" and not i.directives for i in items):
                continue
            frag = sel.fragment(runtime)
            producers |= self.walk_object(group, frag, runtime, path, items, provided, conds, exclude, internal)
        return producers

    def walk_object(self, group: FetchGroup, sel: SelectionBuilder, type_name: str, path: tuple[str, ...],
                    items: Sequence[Selection], provided: Sequence[Selection] | None, conds: Conds,
                    exclude: frozenset[str], internal: bool = False) -> set[int]:
        level_keys = self._user_keys.setdefault(path, {})
        if not internal:
            for key, value in self.level_keys(items).items():
                level_keys.setdefault(key, value)
            self._user_selections.setdefault(path, []).extend(items)
        names = self._contexts_set_by(type_name)
        if not names:
            return self._walk_items(group, sel, type_name, path, items, provided, conds, exclude, internal,
                                    level_keys)
        self._context_frames.append(_ContextFrame(names, group, sel, type_name, path, level_keys))
        try:
            return self._walk_items(group, sel, type_name, path, items, provided, conds, exclude, internal,
                                    level_keys)
        finally:
            self._context_frames.pop()

    def _contexts_set_by(self, type_name: str) -> frozenset[str]:
        typedef = self.model.types.get(type_name)
        if typedef is None:
            return frozenset()
        names = set(typedef.contexts)
        for interface in typedef.interfaces:
            other = self.model.types.get(interface)
            if other is not None:
                names.update(other.contexts)
        return frozenset(names)

    def _walk_items(self, group: FetchGroup, sel: SelectionBuilder, type_name: str, path: tuple[str, ...],
                    items: Sequence[Selection], provided: Sequence[Selection] | None, conds: Conds,
                    exclude: frozenset[str], internal: bool, level_keys: dict[str, tuple[str, str]]) -> set[int]:
        producers = {group.id}
        interface_object = self.caps.is_interface_object(group.graph, type_name)
        provided_here = self.provided_for(provided, type_name)
        needs_real_type: list[Selection] = []
        for item in items:
            if isinstance(item, Fragment):
                if item.type_condition is not None:
                    needs_real_type.append(item)
                    continue
                sub = sel.fragment(None, item.directives, item.directives_text)
                inner = self.flatten(item.selections, type_name, interface_object)
                producers |= self.walk_object(group, sub, type_name, path, inner, provided,
                                              (*conds, (tuple(item.directives), item.directives_text)),
                                              exclude, internal)
                continue
            if item.name == "__typename":
                if interface_object:
                    needs_real_type.append(item)
                else:
                    sel.field(item.response_key, "__typename", directives=item.directives,
                              directives_text=item.directives_text)
                continue
            producers |= self.plan_field(group, sel, type_name, path, item, provided_here, conds, exclude,
                                         level_keys, internal)
        if needs_real_type:
            producers |= self.jump_to_real_type(group, sel, type_name, path, needs_real_type, conds, exclude,
                                                level_keys)
        return producers

    def plan_field(self, group: FetchGroup, sel: SelectionBuilder, type_name: str, path: tuple[str, ...],
                   field: Field, provided_here: ProvidedFields, conds: Conds, exclude: frozenset[str],
                   level_keys: dict[str, tuple[str, str]], internal: bool) -> set[int]:
        graph = group.graph
        ftype = self.field_type(type_name, field.name)
        if ftype is None:
            raise PlanningError(f"Cannot query field \"{field.name}\" on type \"{type_name}\".")
        if self.caps.has_context_arguments(type_name, field.name):
            return self._plan_with_context(group, sel, type_name, path, field, provided_here, exclude, level_keys,
                                           internal, ftype)
        best: tuple[float, int, str, str] | None = None
        if self.local_ok(graph, type_name, field, provided_here, internal):
            cost = 0.0
            if ftype.composite and field.selections:
                sub_provided = self._sub_provided(graph, type_name, field, provided_here)
                cost = self.estimate(graph, ftype.named, field.selections, sub_provided)
            if cost == 0.0:
                return self.place(group, sel, type_name, path, field, provided_here, conds, exclude, internal,
                                  ftype, graph, type_name)
            best = (cost, 0, graph, type_name)
        for order, (target, entity) in enumerate(self.options(graph, type_name, field), start=1):
            if target in exclude:
                continue
            existing = self._entity_groups.get((target, path, group.id))
            cost = 0.0 if existing is not None else self.reach(graph, type_name, target, entity, 0, provided_here)
            if cost == INF:
                continue
            cost += MOVED_FIELD_COST * self.size(field)
            if ftype.composite and field.selections:
                cost += self.estimate(target, ftype.named, field.selections,
                                      self._target_provides(target, entity, field))
            candidate = (cost, order, target, entity)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
        if best is None or best[0] == INF:
            split = self._split(graph, type_name, field, provided_here, exclude,
                                existing={g.graph: g for k, g in self._entity_groups.items() if k[1:3] == (path, group.id)})
            if split is None:
                raise PlanningError(
                    f"Cannot plan {type_name}.{field.name}: no subgraph can resolve it from \"{self._name(graph)}\"."
                )
            producers: set[int] = set()
            for (target, entity), (_cost, subs) in split.items():
                part = self._with_selections(field, subs)
                if target == graph and entity == type_name:
                    producers |= self.place(group, sel, type_name, path, part, provided_here, conds, exclude,
                                            internal, ftype, graph, type_name)
                    continue
                child, body = self.entity_group(group, sel, type_name, path, target, entity, conds, exclude,
                                                level_keys, self.caps.requires(target, entity, field.name),
                                                provided_here)
                producers |= {child.id} | self.place(child, body, type_name, path, part, NOTHING_PROVIDED, (), exclude, internal,
                                                     ftype, target, entity)
            return producers
        _, _, target, entity = best
        if target == graph and entity == type_name and best[1] == 0:
            return self.place(group, sel, type_name, path, field, provided_here, conds, exclude, internal,
                              ftype, graph, type_name)
        requires = self.caps.requires(target, entity, field.name)
        child, body = self.entity_group(group, sel, type_name, path, target, entity, conds, exclude, level_keys,
                                        requires, provided_here)
        return {child.id} | self.place(child, body, type_name, path, field, NOTHING_PROVIDED, (), exclude, internal, ftype,
                                       target, entity)

    def _plan_with_context(self, group: FetchGroup, sel: SelectionBuilder, type_name: str, path: tuple[str, ...],
                           field: Field, provided_here: ProvidedFields, exclude: frozenset[str],
                           level_keys: dict[str, tuple[str, str]], internal: bool, ftype: FieldType) -> set[int]:
        """A field with `@fromContext` arguments: always an `_entities` fetch of its own kind (its subgraph may be
        the one already fetching the object), whose variables take their values from the nearest enclosing
        object that sets the context; that object gets the context's selection planned as a requirement."""
        choices: list[tuple[str, str]] = []
        if self.local_ok(group.graph, type_name, field, provided_here, internal):
            choices.append((group.graph, type_name))
        choices += [(t, e) for t, e in self.options(group.graph, type_name, field) if t not in exclude]
        choices = [(t, e) for t, e in choices
                   if (t, e) == (group.graph, type_name) or self.reach(group.graph, type_name, t, e) != INF]
        if not choices:
            raise PlanningError(
                f"Cannot plan {type_name}.{field.name}: no subgraph can resolve it from \"{self._name(group.graph)}\"."
            )
        target, entity = choices[0]
        info = self.caps.field_in(target, entity, field.name)
        contexts = info.context_arguments if info is not None else ()
        child, body = self.entity_group(group, sel, type_name, path, target, entity, (), exclude, level_keys,
                                        self.caps.requires(target, entity, field.name), provided_here)
        arguments = list(field.arguments)
        for context in contexts:
            frame = next((f for f in reversed(self._context_frames) if context.context in f.names), None)
            if frame is None:
                raise PlanningError(
                    f"Cannot plan {type_name}.{field.name}: its argument \"{context.name}\" takes its value from "
                    f"the context \"{context.context}\", which no enclosing object sets."
                )
            needed = self._internal_keys(self.field_set(self._context_set(context.selection)), frame.level_keys)
            if len(needed) != 1 or not isinstance(needed[0], Field):
                raise PlanningError(
                    f"Cannot plan {type_name}.{field.name}: the context selection {context.selection.strip()!r} "
                    "must select one field of the enclosing object."
                )
            self._pinned.append(needed)
            producers = self.walk(frame.group, frame.sel, frame.type_name, frame.path, needed, None, (), exclude,
                                  internal=True)
            child.parents |= producers - {child.id}
            self._context_variables += 1
            variable = f"contextualArgument_{self._context_variables}"
            child.contexts.append(ContextRewrite(variable=variable, type=context.type, ancestor=frame.path,
                                                 keys=(needed[0].response_key,)))
            arguments.append(ArgumentNode(name=NameNode(value=context.name),
                                          value=VariableNode(name=NameNode(value=variable))))
        with_context = Field(response_key=field.response_key, name=field.name, arguments=tuple(arguments),
                             directives=field.directives, selections=field.selections,
                             arguments_text=print_arguments(arguments), directives_text=field.directives_text)
        self._pinned.append(with_context)
        return {child.id} | self.place(child, body, type_name, path, with_context, NOTHING_PROVIDED, (), exclude,
                                       internal, ftype, target, entity)

    def _context_set(self, selection: str) -> SelectionSetNode:
        found = self._context_sets.get(selection)
        if found is None:
            operation = parse(selection, no_location=True).definitions[0]
            assert isinstance(operation, OperationDefinitionNode)
            found = self._context_sets[selection] = operation.selection_set
        return found

    def _name(self, graph: str) -> str:
        return self.model.subgraphs[graph].name

    def place(self, group: FetchGroup, sel: SelectionBuilder, type_name: str, path: tuple[str, ...],
              field: Field, provided_here: ProvidedFields, conds: Conds, exclude: frozenset[str],
              internal: bool, ftype: FieldType, graph: str, entity: str) -> set[int]:
        """Put `field` in `group` at `sel` and walk its selections there."""
        built = sel.field(field.response_key, field.name, arguments=field.arguments,
                          arguments_text=field.arguments_text, directives=field.directives,
                          directives_text=field.directives_text, composite=ftype.composite)
        if not ftype.composite or built.sub is None:
            return {group.id}
        sub_path = path + (field.response_key,) + ("@",) * ftype.list_depth
        sub_provided = self._sub_provided(graph, entity, field, provided_here)
        local = self.local_type(graph, entity, field.name, ftype.named)
        built.sub.parent_type = local
        if local != ftype.named and self.model.types[ftype.named].is_abstract:
            # an object type in this subgraph, an abstract one for the client: the response needs its name
            built.sub.typename()
        if sub_path not in self._positions:
            parents = self._positions.get(path)
            self._positions[sub_path] = frozenset(
                g for g in self.caps.serving_graphs(type_name, field.name)
                if parents is None or g in parents or self.caps.resolvable_keys(g, type_name)
            ) | {graph}
        return self.walk(group, built.sub, local, sub_path, field.selections, sub_provided, (), exclude, internal)

    def field_shape(self, graph: str, type_name: str | None, field_name: str) -> str:
        """The field's type as the subgraph declares it (`[ID!]`), for field-merging checks."""
        if type_name is None:
            return ""
        info = self.caps.field_in(graph, type_name, field_name)
        if info is not None and info.type:
            return info.type
        gtype = self.model.schema.get_type(type_name)
        fields = getattr(gtype, "fields", None)
        if not fields or field_name not in fields:
            return ""
        return str(fields[field_name].type)

    def local_type(self, graph: str, type_name: str, field_name: str, default: str) -> str:
        """The field's type in that subgraph, where it differs from the supergraph's (`@join__field(type:)`)."""
        info = self.caps.field_in(graph, type_name, field_name)
        if info is None or not info.type:
            return default
        named = info.type.replace("[", "").replace("]", "").replace("!", "").strip()
        typedef = self.model.types.get(named)
        return named if typedef is not None and typedef.is_composite else default

    def jump_to_real_type(self, group: FetchGroup, sel: SelectionBuilder, interface: str, path: tuple[str, ...],
                          items: list[Selection], conds: Conds, exclude: frozenset[str],
                          level_keys: dict[str, tuple[str, str]]) -> set[int]:
        """From an interface object, fetch `__typename` and type-conditioned selections where the interface is real."""
        candidates = [
            g for g in self.caps.graph_order
            if g not in exclude and self.caps.has_type(g, interface)
            and not self.caps.is_interface_object(g, interface) and self.caps.resolvable_keys(g, interface)
        ]
        candidates.sort(key=lambda g: self.reach(group.graph, interface, g, interface))
        if not candidates or self.reach(group.graph, interface, candidates[0], interface) == INF:
            raise PlanningError(f"Cannot find the concrete type of {interface}: no subgraph defines it as an entity.")
        target = candidates[0]
        child, body = self.entity_group(group, sel, interface, path, target, interface, conds, exclude,
                                        level_keys, None)
        # First the type: an interface's reference resolver need only tell the object's type. Then, for each
        # object type the client asks fields of, those fields from the entities of that type, whose
        # representations carry the type just learned (fetched as the interface, they might not resolve).
        names = [item for item in items if isinstance(item, Field)]
        producers = {child.id} | self.walk_abstract(child, body, interface, path, names, None, (), exclude)
        conditioned = [item for item in items if isinstance(item, Fragment)]
        for runtime in self.caps.runtime_types_in(target, interface) if conditioned else ():
            fields = [item for item in self.flatten(conditioned, runtime)
                      if not (isinstance(item, Field) and item.name == "__typename" and not item.directives)]
            if not fields:
                continue
            typed = body.fragment(runtime)
            typed.typename()
            entity = runtime if self.caps.resolvable_keys(target, runtime) else interface
            grandchild, inner = self.entity_group(child, typed, runtime, path, target, entity, conds, exclude,
                                                  level_keys, None)
            producers |= {grandchild.id} | self.walk_object(grandchild, inner, runtime, path, fields, None, (),
                                                            exclude)
        return producers

    def entity_group(self, group: FetchGroup, sel: SelectionBuilder, type_name: str, path: tuple[str, ...],
                     target: str, entity: str, conds: Conds, exclude: frozenset[str],
                     level_keys: dict[str, tuple[str, str]], requires: SelectionSetNode | None,
                     provided: ProvidedFields = NOTHING_PROVIDED) -> tuple[FetchGroup, SelectionBuilder]:
        """The `_entities` fetch on `target` for objects at `path`, with their representation planned.

        One fetch per (subgraph, path, parent) takes every field, `@requires` included, unless the
        requirement is itself produced downstream of that fetch; then the field gets a fetch of its own.
        """
        keys = self.caps.resolvable_keys(target, entity)
        chosen = self.best_key(group.graph, type_name, target, entity, 0, provided)[1] or (keys[0] if keys else None)
        if chosen is None:
            raise PlanningError(f"{entity} has no resolvable key in \"{self._name(target)}\".")
        # every branch that reaches the fetch needs the key in its own part of the parent's selection
        sel.typename()
        needed = self._internal_keys(self.field_set(chosen.selection), level_keys,
                                     self._user_selections.get(path, ()))
        producers = self.walk(group, sel, type_name, path, needed, provided.selections, (), exclude | {target},
                              internal=True)
        if requires is not None:
            required = self._internal_keys(self.field_set(requires), level_keys, self._user_selections.get(path, ()))
            producers |= self.walk(group, sel, type_name, path, required, None, (), exclude, internal=True)
            needed = needed + required
        self._pinned.append(needed)
        cache_key: tuple[object, ...] = (target, path, group.id)
        if requires is not None and conds:
            # a requirement read under @skip/@include exists only when its condition holds: the field needing it
            # gets a fetch of its own, run under that condition, so the others' representations never miss it
            cache_key = (target, path, group.id, tuple(text for _directives, text in conds))
        child = self._entity_groups.get(cache_key)
        if child is not None and (
            any(p == child.id or self._depends(p, child.id) for p in producers)
            or self._rep_conflicts(child.requires.fragment(type_name), needed)
        ):
            cache_key = (target, path, group.id, id(requires))
            child = self._entity_groups.get(cache_key)
        if child is None:
            child = self.new_group(target, path, True, "query", group.root_index)
            child.parents.add(group.id)
            self._entity_groups[cache_key] = child
        child.parents |= producers - {child.id}
        rep = child.requires.fragment(type_name)
        rep.typename()
        self._record_rep(rep, needed, needed)
        if entity != type_name or self.caps.is_interface_object(target, entity):
            # the target knows the type by another name (an interface object knows only the interface's,
            # whatever `__typename` the objects were given by another subgraph)
            child.rep_typenames[type_name] = entity
        body = child.selection.fragment(entity)
        for directives, text in conds:
            body = body.fragment(None, directives, text)  # type: ignore[arg-type]
        return child, body

    @staticmethod
    def _rep_conflicts(rep: SelectionBuilder, needed: Sequence[Selection]) -> bool:
        """Whether a representation already carries a field of the same name read from other data."""
        for item in needed:
            if isinstance(item, Field):
                for existing in rep.items.values():
                    if (
                        isinstance(existing, FieldBuilder)
                        and existing.name == item.name
                        and existing.response_key != item.response_key
                    ):
                        return True
        return False

    def _depends(self, group_id: int, ancestor: int) -> bool:
        """Whether group `group_id` runs after `ancestor` (directly or through other fetches)."""
        stack = list(self.groups[group_id].parents)
        seen: set[int] = set()
        while stack:
            current = stack.pop()
            if current == ancestor:
                return True
            if current not in seen:
                seen.add(current)
                stack.extend(self.groups[current].parents)
        return False

    def _internal_keys(self, required: Sequence[Selection], level_keys: Mapping[str, tuple[str, str]],
                       user: Sequence[Selection] = ()) -> tuple[Selection, ...]:
        """A requirement's fields with the response keys they are fetched under: their own name unless the client
        wrote that key for another field (or the same field with other arguments), then an internal key. `user`:
        the client's selections at this level (deeper levels are checked against the client's fields they merge
        into)."""
        out: list[Selection] = []
        for item in required:
            if isinstance(item, Fragment):
                out.append(Fragment(type_condition=item.type_condition, directives=item.directives,
                                    selections=self._internal_keys(item.selections, {}),
                                    directives_text=item.directives_text))
                continue
            key = item.name
            theirs = level_keys.get(item.name)
            if item.arguments_text and theirs != (item.name, item.arguments_text):
                # fields with arguments get a key of their own, so requirements never collide
                digest = hashlib.sha1(item.arguments_text.encode()).hexdigest()[:6]
                key = internal_key(f"_t_{item.name}_{digest}", self.client_keys)
            elif theirs is not None and theirs != (item.name, item.arguments_text) and item.name != "__typename":
                key = internal_key(f"_t_{item.name}", self.client_keys)
            below: list[Selection] = []
            if key == item.name and theirs is not None:  # merged into the client's field: its keys count below
                for field in _fields_named(user, key):
                    below.extend(field.selections)
            out.append(Field(response_key=key, name=item.name, arguments=item.arguments, directives=(),
                             selections=self._internal_keys(item.selections, self.level_keys(below), below),
                             arguments_text=item.arguments_text, directives_text=""))
        return tuple(out)

    def _record_rep(self, rep: SelectionBuilder, renamed: Sequence[Selection], original: Sequence[Selection]) -> None:
        for item in renamed:
            if isinstance(item, Fragment):
                sub = rep.fragment(item.type_condition)
                self._record_rep(sub, item.selections, item.selections)
                continue
            built = rep.field(item.response_key, item.name, composite=bool(item.selections))
            if item.selections and built.sub is not None:
                self._record_rep(built.sub, item.selections, item.selections)


def _fields_named(selections: Sequence[Selection], key: str) -> list[Field]:
    """The fields answering `key` among `selections` (through fragments)."""
    found: list[Field] = []
    for item in selections:
        if isinstance(item, Field):
            if item.response_key == key:
                found.append(item)
        else:
            found.extend(_fields_named(item.selections, key))
    return found
