"""The cost model: how many extra fetches resolving selections from a subgraph takes, and `choose`, the one place
where a field's move is decided, for the estimates below it and for the walk that builds the fetches.

Estimates look ahead through keys and requirements, which may cycle (A's key needs B, B's needs A): `_memo`
resolves cycles as Tarjan's lowlink does, and a cycle is never the cheapest way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence, Set
from typing import NamedTuple, TypeVar

from ..supergraph.model import KeyDef
from .capabilities import Capabilities
from .moves import STAY, Choice, Jump, Split
from .normalize import Field, Fragment, Selection
from .selections import NOTHING_PROVIDED, FieldType, ProvidedFields, SelectionView

__all__ = ["INF", "CostModel", "Joined", "Spot"]

T = TypeVar("T")
INF = float("inf")
# a tie-breaker far below one fetch: the cost of a field resolved after an entity jump
MOVED_FIELD_COST = 1e-4
_NO_CYCLE = sys.maxsize


class Spot(NamedTuple):
    """Where selections are resolved: the subgraph fetching the object, the object's type, the selections
    `@provides` makes local there, the subgraphs not to jump to, whether the fields are the planner's own (a key,
    a requirement: a subgraph's `@external` key fields count)."""

    graph: str
    type_name: str
    provided: Sequence[Selection] | None = None
    exclude: frozenset[str] = frozenset()
    internal: bool = False


class Joined(NamedTuple):
    """The subgraphs the object already jumps to. In estimates, a jump there shares that fetch (one less); in
    the walk (`built`), the fetch exists: joining it costs nothing."""

    targets: Set[str] = frozenset()
    built: bool = False


NOT_JOINED = Joined()
_FREE_STAY = Choice(0.0, STAY)
_NO_MOVE = Choice(INF, None)


class CostModel:
    """Costs of resolving selections under one routing's capabilities, memoized for one plan."""

    def __init__(self, caps: Capabilities, view: SelectionView) -> None:
        self.caps = caps
        self.model = caps.model
        self.view = view
        self._estimates: dict[tuple[object, ...], float] = {}
        self._reach: dict[tuple[object, ...], tuple[float, KeyDef | None]] = {}
        # computations under way, by key: their depth; and the lowest depth a computation re-entered
        self._active: dict[tuple[object, ...], int] = {}
        self._low = _NO_CYCLE

    # -- what a subgraph offers ------------------------------------------------------------------------------

    def local_ok(
        self, graph: str, type_name: str, field: Field, provided: dict[str, Field], internal: bool
    ) -> bool:
        """Whether `graph`, fetching an object of `type_name`, answers `field` there."""
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

    def sub_provided(
        self, graph: str, type_name: str, field: Field, provided_here: ProvidedFields
    ) -> tuple[Selection, ...] | None:
        """What `@provides` makes local below `field` when `graph` answers it."""
        if field.name in provided_here and provided_here[field.name].selections:
            return provided_here[field.name].selections
        provides = self.caps.provides(graph, type_name, field.name)
        return self.view.field_set(provides) if provides is not None else None

    def target_provides(self, target: str, entity: str, field: Field) -> tuple[Selection, ...] | None:
        provides = self.caps.provides(target, entity, field.name)
        return self.view.field_set(provides) if provides is not None else None

    # -- jumps ------------------------------------------------------------------------------------------------

    def reach(
        self,
        graph: str,
        type_name: str,
        target: str,
        entity_type: str,
        provided: ProvidedFields = NOTHING_PROVIDED,
    ) -> float:
        """Fetches needed to jump from `graph` into `target` for an object of `type_name` (INF: impossible).

        One for the jump itself, plus whatever obtaining the cheapest key's fields costs from `graph`.
        """
        return 1.0 + self.best_key(graph, type_name, target, entity_type, provided)[0]

    def best_key(
        self,
        graph: str,
        type_name: str,
        target: str,
        entity_type: str,
        provided: ProvidedFields = NOTHING_PROVIDED,
    ) -> tuple[float, KeyDef | None]:
        """The key of `target` that is cheapest to obtain from `graph` here, and what obtaining it costs."""
        key = ("reach", graph, type_name, target, entity_type, id(provided.selections) if provided else 0)
        found = self._reach.get(key)
        if found is not None:  # (the common case: no closure made, nothing pinned again)
            return found
        if provided:
            self.view.pin(provided.selections)

        def compute() -> tuple[float, KeyDef | None]:
            result: tuple[float, KeyDef | None] = (INF, None)
            spot = Spot(graph, type_name, provided.selections, frozenset({target}), True)
            for k in self.caps.resolvable_keys(target, entity_type):
                needed = self.estimate(spot, self.view.field_set(k.selection))
                if needed < result[0]:
                    result = (needed, k)
            return result

        return self._memo(self._reach, key, compute, (INF, None))

    def _memo(
        self,
        cache: dict[tuple[object, ...], T],
        key: tuple[object, ...],
        compute: Callable[[], T],
        in_cycle: T,
    ) -> T:
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

    # -- estimates --------------------------------------------------------------------------------------------

    def estimate(self, spot: Spot, selections: Sequence[Selection]) -> float:
        """How many extra fetches resolving `selections` at `spot` would take (INF: impossible)."""
        if not selections:
            return 0.0
        provided = spot.provided
        key = (
            spot.graph,
            spot.type_name,
            id(selections),
            id(provided) if provided else 0,
            spot.internal,
            spot.exclude,
        )
        found = self._estimates.get(key)
        if found is not None:
            return found
        self.view.pin(selections)

        def compute() -> float:
            typedef = self.model.types.get(spot.type_name)
            result = 0.0
            if (
                typedef is not None
                and typedef.is_abstract
                and not self.caps.is_interface_object(spot.graph, spot.type_name)
            ):
                for runtime in self.caps.runtime_types_in(spot.graph, spot.type_name):
                    items = self.view.flatten(selections, runtime)
                    result = max(result, self._estimate_object(_at_type(spot, runtime), items))
            else:
                iface = typedef is not None and typedef.kind == "interface"
                items = self.view.flatten(selections, spot.type_name, iface)
                result = self._estimate_object(spot, items)
            return result

        return self._memo(self._estimates, key, compute, INF)

    def _estimate_object(self, spot: Spot, items: Sequence[Selection]) -> float:
        provided_here = self.view.provided_for(spot.provided, spot.type_name)
        targets: set[str] = set()
        real_type_jump = (
            False  # an interface object's `__typename` and type conditions: one jump for them all
        )
        total = 0.0
        interface_object = self.caps.is_interface_object(spot.graph, spot.type_name)
        joined = Joined(targets)
        for item in items:
            if isinstance(item, Fragment):
                if item.type_condition is not None:  # a fragment on an interface object's real type
                    if not real_type_jump:
                        real_type_jump = True
                        total += 1
                    continue
                total += self._estimate_object(
                    spot, self.view.flatten(item.selections, spot.type_name, interface_object)
                )
                continue
            if item.name == "__typename":
                if interface_object and not real_type_jump:
                    real_type_jump = True
                    total += 1
                continue
            ftype = self.view.field_type(spot.type_name, item.name)
            if ftype is None:
                continue
            choice = self.choose(spot, item, ftype, provided_here, joined)
            if choice.cost == INF:
                return INF
            if isinstance(choice.move, Jump):
                targets.add(choice.move.target)
            total += choice.cost
        return total

    # -- the decision -----------------------------------------------------------------------------------------

    def choose(
        self,
        spot: Spot,
        field: Field,
        ftype: FieldType,
        provided_here: ProvidedFields,
        joined: Joined = NOT_JOINED,
    ) -> Choice:
        """The cheapest move for `field` (of type `ftype`) on an object at `spot`: staying wins ties, then the
        first option; a value type no subgraph answers whole is split."""
        composite = ftype.composite and bool(field.selections)
        # the best so far, as plain values (a Choice is made once, at the end)
        best_cost, best_target, best_entity = INF, "", ""
        stay = False
        if self.local_ok(spot.graph, spot.type_name, field, provided_here, spot.internal):
            cost = 0.0
            if composite:
                sub = self.sub_provided(spot.graph, spot.type_name, field, provided_here)
                cost = self.estimate(Spot(spot.graph, ftype.named, sub), field.selections)
            if cost == 0.0:
                return _FREE_STAY
            best_cost, stay = cost, True
        for target, entity in self.options(spot.graph, spot.type_name, field):
            if target in spot.exclude:
                continue
            if joined.built and target in joined.targets:
                cost = 0.0
            else:
                cost = self.reach(spot.graph, spot.type_name, target, entity, provided_here)
                if cost == INF:
                    continue
                if target in joined.targets:
                    cost -= 1
            # between plans with as many fetches, prefer the one that moves fewer fields behind a jump
            cost += MOVED_FIELD_COST * self.view.size(field)
            if composite:
                provides = self.target_provides(target, entity, field)
                cost += self.estimate(Spot(target, ftype.named, provides), field.selections)
            if cost < best_cost:
                best_cost, best_target, best_entity, stay = cost, target, entity, False
        if best_cost == INF:
            split = self._split(spot, field, ftype, provided_here, joined) if composite else None
            return split if split is not None else _NO_MOVE
        return Choice(best_cost, STAY if stay else Jump(best_target, best_entity))

    def _split(
        self, spot: Spot, field: Field, ftype: FieldType, provided_here: ProvidedFields, joined: Joined
    ) -> Choice | None:
        """Share a field's selections among several subgraphs that all serve the field (value types): each
        selection goes where it costs least (a jump counted once). None when some selection fits nowhere."""
        if self.model.types[ftype.named].is_abstract:
            return None
        graph, type_name = spot.graph, spot.type_name
        candidates: list[tuple[str, str, float]] = []
        if self.local_ok(graph, type_name, field, provided_here, False):
            candidates.append((graph, type_name, 0.0))
        for target, entity in self.options(graph, type_name, field):
            if target in spot.exclude:
                continue
            reach = (
                0.0
                if joined.built and target in joined.targets
                else self.reach(graph, type_name, target, entity, provided_here)
            )
            if reach != INF:
                candidates.append((target, entity, reach))
        chosen: dict[tuple[str, str], tuple[float, list[Selection]]] = {}
        for sub in self.view.flatten(field.selections, ftype.named):
            best: tuple[float, int] | None = None
            single = (sub,)
            self.view.pin(single)
            for index, (target, entity, reach) in enumerate(candidates):
                provides = (
                    self.sub_provided(graph, type_name, field, provided_here)
                    if target == graph
                    else self.target_provides(target, entity, field)
                )
                cost = self.estimate(Spot(target, ftype.named, provides), single)
                if (target, entity) not in chosen:
                    cost += reach
                if cost != INF and (best is None or (cost, index) < best):
                    best = (cost, index)
            if best is None:
                return None
            target, entity, _reach = candidates[best[1]]
            previous = chosen.get((target, entity), (0.0, []))
            chosen[(target, entity)] = (previous[0] + best[0], [*previous[1], sub])
        parts = tuple((target, entity, tuple(subs)) for (target, entity), (_cost, subs) in chosen.items())
        return Choice(sum(cost for cost, _subs in chosen.values()), Split(parts))


def _at_type(spot: Spot, type_name: str) -> Spot:
    return Spot(spot.graph, type_name, spot.provided, spot.exclude, spot.internal)
