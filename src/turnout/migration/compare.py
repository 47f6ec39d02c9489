"""Structural comparison of two GraphQL responses, each difference attributed to its schema coordinate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
)

from ..executor.memo import FetchRecord
from ..planner.normalize import Selection
from .coordinates import MAX_DEPTH, Entry, Path, ResponseCoordinates, error_paths, unwrap
from .json_values import PLAIN, canonical, deep_equal, kind_of, numbers_equal, same_json
from .model import CoordinateRule, Difference

__all__ = ["MigrationComparison", "compare_failure", "compare_for_migration", "compare_responses"]

_Composite = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
_Runtime = GraphQLObjectType | GraphQLInterfaceType

_NO_RULES: Mapping[str, CoordinateRule] = MappingProxyType({})

# Unordered matching first pairs elements with equal canonical forms; the leftovers (which may still be
# equal within a float tolerance) are paired by full comparison only while that stays this cheap.
_PAIRWISE_LIMIT = 4096


def compare_responses(
    primary: dict[str, Any],
    candidate: dict[str, Any],
    *,
    schema: GraphQLSchema,
    root_type: str,
    selections: tuple[Selection, ...],
    variables: Mapping[str, Any],
    rules: Mapping[str, CoordinateRule] = _NO_RULES,
    default_rule: CoordinateRule = CoordinateRule(),
) -> list[Difference]:
    """The differences between two full responses ({"data": ..., "errors": [...]}) of one operation.

    `selections` are the operation's normalized selections on `root_type`; `variables` decide @skip/@include.
    Rules are looked up by coordinate ("Type.field"), then "Type.*", else `default_rule`.
    Data differences come first, in document order; error differences follow, ordered by their paths
    in document order, and a difference in the number of errors without a path comes last.
    """
    comparator = _Comparator(schema, root_type, variables, rules, default_rule)
    comparator.responses(primary, candidate, selections)
    return comparator.out


@dataclass(frozen=True, kw_only=True)
class MigrationComparison:
    """What one comparison says of one migration's coordinates.

    `differences` are on the migration's coordinates only, each at the nearest migrating field on its path (a
    difference below a migrating field, at a field that does not migrate itself, is that field's doing; one
    with no migrating field on its path belongs to no migration). `values`: per migrating coordinate, how many
    of its values the two responses both had to compare; `differing`: how many of those differed."""

    differences: list[Difference]
    values: dict[str, int]
    differing: dict[str, int]


def compare_for_migration(
    primary: dict[str, Any],
    candidate: dict[str, Any],
    *,
    schema: GraphQLSchema,
    root_type: str,
    selections: tuple[Selection, ...],
    variables: Mapping[str, Any],
    coordinates: frozenset[str],
    rules: Mapping[str, CoordinateRule] = _NO_RULES,
    exhaustive: bool = False,
) -> MigrationComparison:
    """`compare_responses`, attributed to the migrating `coordinates` (see MigrationComparison).

    Only what can hold a migrating field is walked, and equal subtrees (the same JSON) are only counted, not
    compared: with the old side's answers reused, most of a response is equal. `exhaustive` walks and compares
    everything: the same result, slower (the reference the shortcuts are tested against)."""
    comparator = _Comparator(schema, root_type, variables, rules, CoordinateRule())
    comparator.counted = coordinates
    if not exhaustive:
        comparator.migrating = frozenset(c.rpartition(".")[2] for c in coordinates)
    p_data, c_data = comparator.responses(primary, candidate, selections)
    differences: list[Difference] = []
    differing: dict[str, set[Path]] = {}
    for difference in comparator.out:
        owner = comparator.owner(difference.path, p_data, c_data, selections, coordinates)
        if owner is None:
            continue
        coordinate, depth = owner
        if coordinate != difference.coordinate:
            difference = replace(difference, coordinate=coordinate)
        differences.append(difference)
        differing.setdefault(coordinate, set()).add(difference.path[: depth + 1])
    values = dict(comparator.values)
    for coordinate, paths in differing.items():  # an error at a value neither side had still counts one
        values[coordinate] = max(values.get(coordinate, 0), len(paths))
    return MigrationComparison(
        differences=differences, values=values, differing={c: len(paths) for c, paths in differing.items()}
    )


def compare_failure(
    errors: Iterable[Any],
    failed: Sequence[FetchRecord],
    *,
    schema: GraphQLSchema,
    root_type: str,
    selections: tuple[Selection, ...],
    variables: Mapping[str, Any],
    data: Any,
    coordinates: frozenset[str],
) -> MigrationComparison:
    """A comparison whose candidate failed (`failed`: its fetches to the new side that did; `errors`: theirs in
    its response). An `error` at the migrating coordinate on each error's path; for an error with none there
    (no path, or one ending at an entity), at each migrating coordinate a failed fetch asked for. The sample is
    the subgraph's own message (the store redacts it). The nulls a failure causes upward are no differences."""
    comparator = _Comparator(schema, root_type, variables, _NO_RULES, CoordinateRule())
    found: dict[str, None] = {}
    unlocated = False
    for error in errors:
        raw = error.get("path") if isinstance(error, Mapping) else None
        owner = (
            comparator.owner(tuple(raw), data, data, selections, coordinates)
            if isinstance(raw, list | tuple) and raw
            else None
        )
        if owner is None:
            unlocated = True
        else:
            found[owner[0]] = None
    if unlocated or not found:
        for fetch in failed:
            found.update(dict.fromkeys(sorted(fetch.coordinates & coordinates)))
    message = next((f.error for f in failed if f.error), None)
    return MigrationComparison(
        differences=[Difference(path=(), coordinate=c, kind="error", candidate=message) for c in found],
        values={},
        differing={},
    )


class _Comparator(ResponseCoordinates):
    """One comparison's walk over two responses: differences out, values of counted coordinates tallied."""

    def __init__(
        self,
        schema: GraphQLSchema,
        root_type: str,
        variables: Mapping[str, Any],
        rules: Mapping[str, CoordinateRule],
        default_rule: CoordinateRule,
    ) -> None:
        super().__init__(schema, root_type, variables, rules, default_rule)
        self.out: list[Difference] = []
        self._same: dict[tuple[int, int, int, str, int, int], bool] = {}
        self._probing = 0
        # the coordinates whose values are counted (compare_for_migration), and the counts
        self.counted: frozenset[str] = frozenset()
        self.values: dict[str, int] = {}
        self._owned = 0  # inside a migrating field: everything below it is compared (see `migrating`)
        self._keys: dict[tuple[int, bool], list[tuple[str, Entry, bool, CoordinateRule]]] = {}
        self._tallies: dict[
            tuple[int, str],
            dict[str, tuple[str, bool, GraphQLOutputType | None, tuple[tuple[Selection, ...], ...]]],
        ] = {}

    def responses(self, primary: Any, candidate: Any, selections: tuple[Selection, ...]) -> tuple[Any, Any]:
        """Compare two whole responses (data, then errors); their data, for the caller's own use."""
        p_response: Mapping[str, Any] = primary if isinstance(primary, Mapping) else {}
        c_response: Mapping[str, Any] = candidate if isinstance(candidate, Mapping) else {}
        p_data, c_data = p_response.get("data"), c_response.get("data")
        if isinstance(p_data, Mapping) and isinstance(c_data, Mapping):
            if self.migrating is not None and same_json(p_data, c_data):
                self.count(self.composite(self.root_type), p_data, (selections,), 0)
            else:
                self.object(self.composite(self.root_type), self.root_type, p_data, c_data, (selections,), ())
        else:
            self.value(None, p_data, c_data, (), self.root_type, self.default_rule, ())
        self.errors(p_response.get("errors"), c_response.get("errors"), p_data, c_data, selections)
        return p_data, c_data

    # -- data ---------------------------------------------------------------------------------------------

    def emit(
        self, path: Path, coordinate: str, kind: str, primary: Any = None, candidate: Any = None
    ) -> None:
        self.out.append(
            Difference(path=path, coordinate=coordinate, kind=kind, primary=primary, candidate=candidate)
        )

    def object(
        self,
        parent: _Composite | None,
        parent_name: str,
        p: Mapping[str, Any],
        c: Mapping[str, Any],
        groups: tuple[tuple[Selection, ...], ...],
        path: Path,
    ) -> None:
        entries = self.entries(parent, parent_name, groups, (p, c))
        pruning = self.migrating is not None and not (self._owned or self._probing)
        plan = self._keys.get((id(entries), pruning))
        if plan is None:
            plan = self._keys[(id(entries), pruning)] = self.key_plan(entries, pruning)
        for key, entry, counted, rule in plan:
            if key in p and key in c:
                self.pair(entry, counted, rule, p[key], c[key], path, key)
            elif key in p or key in c:
                self.one_side(entry, counted, rule, p, c, path, key)
        if not (p.keys() <= entries.keys() and c.keys() <= entries.keys()):
            # keys the operation did not select (a subgraph answering more than asked)
            extra = [*(k for k in p if k not in entries), *(k for k in c if k not in entries and k not in p)]
            for key, entry, counted, rule in self.key_plan(
                {k: Entry(f"{parent_name}.{k}", None, ()) for k in extra}, pruning
            ):
                if key in p and key in c:
                    self.pair(entry, counted, rule, p[key], c[key], path, key)
                else:
                    self.one_side(entry, counted, rule, p, c, path, key)

    def key_plan(
        self, entries: Mapping[str, Entry], pruning: bool
    ) -> list[tuple[str, Entry, bool, CoordinateRule]]:
        """The keys of an object to compare, in order, with whether each is counted and its rule: the keys that
        lead to no migrating field (when pruning) and the ignored ones are left out. The same for every object
        of one type and selection: kept with them."""
        plan = []
        for key, entry in entries.items():
            counted = entry.coordinate in self.counted
            if pruning and not counted and not self.leads(entry.groups):
                continue
            rule = self.rule(entry.coordinate)
            if not rule.ignore:
                plan.append((key, entry, counted, rule))
        return plan

    def pair(
        self,
        entry: Entry,
        counted: bool,
        rule: CoordinateRule,
        p_value: Any,
        c_value: Any,
        path: Path,
        key: str,
    ) -> None:
        """One key present on both sides."""
        if counted and not self._probing:
            self.values[entry.coordinate] = self.values.get(entry.coordinate, 0) + 1
        p_type = type(p_value)
        if p_value is c_value or (p_type is type(c_value) and p_type in PLAIN and p_value == c_value):
            return  # the same scalar: no rule finds a difference in it
        if p_type is float and type(c_value) is float:  # the commonest differing scalar: no dispatch
            if not numbers_equal(p_value, c_value, rule.float_tolerance):
                self.emit((*path, key), entry.coordinate, "value", p_value, c_value)
            return
        if counted:
            if self.equal_json(p_value, c_value):
                self.count(entry.gtype, p_value, entry.groups, len(path) + 1)
                return
            self._owned += 1
            try:
                self.value(entry.gtype, p_value, c_value, (*path, key), entry.coordinate, rule, entry.groups)
            finally:
                self._owned -= 1
        else:
            self.value(entry.gtype, p_value, c_value, (*path, key), entry.coordinate, rule, entry.groups)

    def one_side(
        self,
        entry: Entry,
        counted: bool,
        rule: CoordinateRule,
        p: Mapping[str, Any],
        c: Mapping[str, Any],
        path: Path,
        key: str,
    ) -> None:
        """One key of an object present on one side only."""
        if counted and not self._probing:
            self.values[entry.coordinate] = self.values.get(entry.coordinate, 0) + 1
        self.absent(p, c, key, path, entry.coordinate, rule)

    def absent(
        self,
        p: Mapping[str, Any],
        c: Mapping[str, Any],
        key: str,
        path: Path,
        coordinate: str,
        rule: CoordinateRule,
    ) -> None:
        """`key` is on one side only: missing or extra (a null may stand for absent)."""
        if key in p:
            if not (rule.null_equals_missing and p[key] is None):
                self.emit((*path, key), coordinate, "missing", primary=p[key])
        elif not (rule.null_equals_missing and c[key] is None):
            self.emit((*path, key), coordinate, "extra", candidate=c[key])

    def value(
        self,
        gtype: GraphQLOutputType | None,
        p: Any,
        c: Any,
        path: Path,
        coordinate: str,
        rule: CoordinateRule,
        groups: tuple[tuple[Selection, ...], ...],
    ) -> None:
        """Compare two values at one coordinate; `gtype` None means plain JSON (a custom scalar, an unknown key)."""
        if rule.ignore:
            return
        if len(path) > MAX_DEPTH:
            if not deep_equal(p, c):
                self.emit(path, coordinate, "value", p, c)
            return
        gtype = unwrap(gtype)
        kind = kind_of(p)
        if kind != kind_of(c):
            self.emit(path, coordinate, "type", p, c)
        elif kind in ("object", "array"):
            # Pairing list elements compares pairs again: remember which pairs were equal. When only equality
            # matters (probing), a pair known to differ is marked with one difference, which `equal` drops.
            key = (id(p), id(c), id(gtype), coordinate, id(rule), id(groups))
            same = self._same.get(key)
            if same is not None and (same or self._probing):
                if not same:
                    self.emit(path, coordinate, "value", p, c)
                return
            mark = len(self.out)
            self.container(gtype, kind, p, c, path, coordinate, rule, groups)
            self._same[key] = len(self.out) == mark
        elif kind == "number":
            if not numbers_equal(p, c, rule.float_tolerance):
                self.emit(path, coordinate, "value", p, c)
        elif p != c:
            self.emit(path, coordinate, "value", p, c)

    def container(
        self,
        gtype: GraphQLOutputType | None,
        kind: str,
        p: Any,
        c: Any,
        path: Path,
        coordinate: str,
        rule: CoordinateRule,
        groups: tuple[tuple[Selection, ...], ...],
    ) -> None:
        if kind == "object":
            if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                self.object(gtype, gtype.name, p, c, groups, path)
            else:
                self.json_object(p, c, path, coordinate, rule)
        else:
            item = gtype.of_type if isinstance(gtype, GraphQLList) else None
            self.array(item, p, c, path, coordinate, rule, groups)

    def equal_json(self, p: Any, c: Any) -> bool:
        """The shortcut: two composite values with the same JSON (compare_for_migration, not when probing)."""
        return (
            self.migrating is not None
            and not self._probing
            and (type(p) is dict or type(p) is list)
            and same_json(p, c)
        )

    def count(
        self,
        gtype: GraphQLOutputType | None,
        value: Any,
        groups: tuple[tuple[Selection, ...], ...],
        depth: int,
    ) -> None:
        """Count the migrating coordinates' values in `value`, as comparing it with an equal one would have."""
        if depth >= MAX_DEPTH:
            return
        if isinstance(gtype, GraphQLNonNull):
            gtype = gtype.of_type
        if type(value) is list:  # JSON as parsed: exact types, cheaper than the ABCs
            item = gtype.of_type if isinstance(gtype, GraphQLList) else None
            for inner in value:
                self.count(item, inner, groups, depth + 1)
            return
        if type(value) is not dict or not isinstance(
            gtype, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
        ):
            return
        tally = self.tally(gtype, groups, value)
        values = self.values
        for key, inner in value.items():
            found = tally.get(key)
            if found is None:
                found = self._tallied(Entry(f"{gtype.name}.{key}", None, ()))
            coordinate, counted, sub_type, sub_groups = found
            if counted:
                values[coordinate] = values.get(coordinate, 0) + 1
            if sub_groups and (type(inner) is dict or type(inner) is list):
                self.count(sub_type, inner, sub_groups, depth + 1)

    def tally(
        self, gtype: _Composite, groups: tuple[tuple[Selection, ...], ...], value: Mapping[str, Any]
    ) -> dict[str, tuple[str, bool, GraphQLOutputType | None, tuple[tuple[Selection, ...], ...]]]:
        """Per response key: its coordinate, whether it is counted, and what to count below it (nothing when a
        rule ignores it). An object type's is the same for every value: kept by type and selections."""
        key = (id(groups), gtype.name) if isinstance(gtype, GraphQLObjectType) else None
        found = self._tallies.get(key) if key is not None else None
        if found is None:
            entries = self.entries(gtype, gtype.name, groups, (value,))
            found = {response_key: self._tallied(entry) for response_key, entry in entries.items()}
            if key is not None:
                self._tallies[key] = found
        return found

    def _tallied(
        self, entry: Entry
    ) -> tuple[str, bool, GraphQLOutputType | None, tuple[tuple[Selection, ...], ...]]:
        if self.rule(entry.coordinate).ignore:
            return entry.coordinate, False, None, ()
        below = entry.groups if self.leads(entry.groups) else ()  # none counted below: not walked
        return entry.coordinate, entry.coordinate in self.counted, entry.gtype, below

    def json_object(
        self, p: Mapping[str, Any], c: Mapping[str, Any], path: Path, coordinate: str, rule: CoordinateRule
    ) -> None:
        for key in [*p, *(k for k in c if k not in p)]:
            if key in p and key in c:
                self.value(None, p[key], c[key], (*path, key), coordinate, rule, ())
            else:
                self.absent(p, c, key, path, coordinate, rule)

    def array(
        self,
        item: GraphQLOutputType | None,
        p: Sequence[Any],
        c: Sequence[Any],
        path: Path,
        coordinate: str,
        rule: CoordinateRule,
        groups: tuple[tuple[Selection, ...], ...],
    ) -> None:
        if rule.unordered:
            left_p, left_c = self.unmatched(item, p, c, path, coordinate, rule, groups)
            if self.counted and not self._probing:  # the elements paired as equal: their values are compared
                unpaired = set(left_p)
                for i, value in enumerate(p):
                    if i not in unpaired:
                        self.count(item, value, groups, len(path) + 1)
            if not (left_p or left_c):
                return
            if len(p) != len(c):
                self.emit(path, coordinate, "length", len(p), len(c))
            for i, j in zip(left_p, left_c, strict=False):
                self.value(item, p[i], c[j], (*path, i), coordinate, rule, groups)
            return
        if len(p) != len(c):
            self.emit(path, coordinate, "length", len(p), len(c))
        mark = len(self.out)
        for i in range(min(len(p), len(c))):
            if self.equal_json(p[i], c[i]):
                self.count(item, p[i], groups, len(path) + 1)
            else:
                self.value(item, p[i], c[i], (*path, i), coordinate, rule, groups)
        if len(p) == len(c) and len(self.out) > mark:
            left_p, left_c = self.unmatched(item, p, c, path, coordinate, rule, groups)
            if not (left_p or left_c):
                del self.out[mark:]
                self.emit(path, coordinate, "order", list(p), list(c))

    def equal(
        self,
        gtype: GraphQLOutputType | None,
        p: Any,
        c: Any,
        path: Path,
        coordinate: str,
        rule: CoordinateRule,
        groups: tuple[tuple[Selection, ...], ...],
    ) -> bool:
        mark = len(self.out)
        self._probing += 1
        try:
            self.value(gtype, p, c, path, coordinate, rule, groups)
        finally:
            self._probing -= 1
        same = len(self.out) == mark
        del self.out[mark:]
        return same

    def unmatched(
        self,
        item: GraphQLOutputType | None,
        p: Sequence[Any],
        c: Sequence[Any],
        path: Path,
        coordinate: str,
        rule: CoordinateRule,
        groups: tuple[tuple[Selection, ...], ...],
    ) -> tuple[list[int], list[int]]:
        """Pair the two lists' elements as multisets; the indices left unpaired on each side, in order.

        Elements pair when their normal forms are equal; the rest (which may still be equal within a float
        tolerance) are tried pair by pair when there are few, else neighbours in canonical order are tried."""
        depth = len(path) + 1
        p_keys = [canonical(self.normal(item, value, coordinate, rule, groups, depth)) for value in p]
        c_keys = [canonical(self.normal(item, value, coordinate, rule, groups, depth)) for value in c]
        waiting: dict[str, list[int]] = {}
        for j, key in enumerate(c_keys):
            waiting.setdefault(key, []).append(j)
        left_p: list[int] = []
        for i, key in enumerate(p_keys):
            same = waiting.get(key)
            if same:
                same.pop(0)
            else:
                left_p.append(i)
        left_c = sorted(j for indices in waiting.values() for j in indices)
        if not (left_p and left_c):
            return left_p, left_c
        if len(left_p) * len(left_c) <= _PAIRWISE_LIMIT:
            tries = [(i, j) for i in left_p for j in left_c]
        else:
            tries = list(
                zip(
                    sorted(left_p, key=p_keys.__getitem__),
                    sorted(left_c, key=c_keys.__getitem__),
                    strict=False,
                )
            )
        paired_p: set[int] = set()
        paired_c: set[int] = set()
        for i, j in tries:
            if (
                i not in paired_p
                and j not in paired_c
                and self.equal(item, p[i], c[j], (*path, i), coordinate, rule, groups)
            ):
                paired_p.add(i)
                paired_c.add(j)
        return [i for i in left_p if i not in paired_p], [j for j in left_c if j not in paired_c]

    # -- errors -------------------------------------------------------------------------------------------

    def errors(
        self, p_errors: Any, c_errors: Any, p_data: Any, c_data: Any, selections: tuple[Selection, ...]
    ) -> None:
        p_paths, p_bare = error_paths(p_errors)
        c_paths, c_bare = error_paths(c_errors)
        found: list[tuple[list[tuple[int, int, str]], Difference]] = []
        for paths, other, side in ((p_paths, c_paths, "primary"), (c_paths, p_paths, "candidate")):
            for path, error in paths.items():
                if path in other:
                    continue
                coordinate, ignored, order = self.locate(path, p_data, c_data, selections)
                if ignored:
                    continue
                difference = Difference(
                    path=path,
                    coordinate=coordinate,
                    kind="error",
                    primary=error if side == "primary" else None,
                    candidate=error if side == "candidate" else None,
                )
                found.append((order, difference))
        found.sort(key=lambda item: item[0])
        self.out.extend(difference for _, difference in found)
        if p_bare != c_bare and not self.default_rule.ignore:
            self.emit((), self.root_type, "error", p_bare, c_bare)
