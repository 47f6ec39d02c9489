"""The fetch graph's passes: what is done to the fetch groups the walk built before they become a plan.

The graph is the groups with their parents (`FetchGroup.parents`: the groups whose answers a group's
representations read). `levels` is its one ordering (a group runs one step after its latest parent); the
passes, in `PASSES` order, rewrite the groups; the plan stage (query_planner) arranges the result by level.
"""

from __future__ import annotations

from collections.abc import Callable

from .fetch_graph import FetchGroup, FieldBuilder, SelectionBuilder

__all__ = ["PASSES", "levels", "merge_sibling_fetches"]


def levels(groups: list[FetchGroup]) -> dict[int, int]:
    """Each fetch's step: 0 without dependencies, else one after its latest dependency."""
    by_id = {g.id: g for g in groups}
    level: dict[int, int] = {}

    def depth(group: FetchGroup, seen: frozenset[int] = frozenset()) -> int:
        if group.id in level:
            return level[group.id]
        parents = [by_id[p] for p in group.parents if p in by_id and p not in seen]
        value = 0 if not parents else 1 + max(depth(p, seen | {group.id}) for p in parents)
        level[group.id] = value
        return value

    for group in groups:
        depth(group)
    return level


def _rep_names(builder: SelectionBuilder) -> dict[tuple[str, str], str]:
    """(type condition, name sent) -> data key, for the top-level fields of each representation fragment."""
    out: dict[tuple[str, str], str] = {}
    for condition, _directives, fragment in builder.fragments():
        for item in fragment.items.values():
            if isinstance(item, FieldBuilder):
                out[(condition or "", item.name)] = item.response_key
    return out


def merge_sibling_fetches(groups: list[FetchGroup], kind: str) -> list[FetchGroup]:
    """One `_entities` fetch per subgraph and step: entity fetches of one step to one subgraph, at different
    paths, are merged when their selections and representations agree (the fewest subgraph calls)."""
    step = levels(groups) if kind != "mutation" else {}
    if kind == "mutation":
        for root in {g.root_index for g in groups}:
            step.update(levels([g for g in groups if g.root_index == root]))
    kept: dict[tuple[int, int, str], list[FetchGroup]] = {}
    replaced: dict[int, int] = {}
    for group in groups:
        if not group.is_entity:
            continue
        bucket = kept.setdefault((group.root_index, step[group.id], group.graph), [])
        target = next((t for t in bucket if _mergeable(t, group)), None)
        if target is None:
            bucket.append(group)
            continue
        target.selection.merge(group.selection)
        target.requires.merge(group.requires)
        target.rep_typenames.update(group.rep_typenames)
        for path in (group.path, *group.more_paths):
            if path != target.path and path not in target.more_paths:
                target.more_paths.append(path)
        target.parents |= group.parents
        replaced[group.id] = target.id
    if not replaced:
        return groups
    remaining = [g for g in groups if g.id not in replaced]
    for group in remaining:
        group.parents = {replaced.get(p, p) for p in group.parents} - {group.id}
    return remaining


def _mergeable(a: FetchGroup, b: FetchGroup) -> bool:
    if a.contexts or b.contexts:
        return False  # context values are read from ancestors at the fetch's own path
    if a.path == b.path or b.path in a.more_paths:
        return False  # kept apart on purpose (a requirement produced by the other)
    names_a, names_b = _rep_names(a.requires), _rep_names(b.requires)
    if any(names_a[k] != v for k, v in names_b.items() if k in names_a):
        return False
    # one type, one representation: a type reached by two keys (or with requirements at one path only) would
    # get representations that need fields only one of the paths fetched
    shared = {c for c, _n in names_a} & {c for c, _n in names_b}
    if any({n for c, n in names_a if c == t} != {n for c, n in names_b if c == t} for t in shared):
        return False
    # a merged fetch writes what it fetched for a type into that type's objects at every path: two paths may
    # share a type only when they ask the same of it, else a field one path did not ask for would land there
    # (over a key of its own, with its errors)
    mine, theirs = _by_condition(a.selection), _by_condition(b.selection)
    if any(mine[condition] != theirs[condition] for condition in mine.keys() & theirs.keys()):
        return False
    # and one representation per type: the same fields read under the same keys, nested ones included (a key
    # the planner renamed at one path is not there at the other)
    mine, theirs = _by_condition(a.requires), _by_condition(b.requires)
    if any(mine[condition] != theirs[condition] for condition in mine.keys() & theirs.keys()):
        return False
    return (
        a.selection.can_merge(b.selection)
        and a.requires.can_merge(b.requires)
        and _same_response_shapes(a.selection, b.selection)
    )


def _fields_by_key(
    selection: SelectionBuilder, into: dict[str, list[FieldBuilder]]
) -> dict[str, list[FieldBuilder]]:
    """The fields of one object level, fragments flattened, by response key."""
    for item in selection.items.values():
        if isinstance(item, FieldBuilder):
            into.setdefault(item.response_key, []).append(item)
        else:
            _fields_by_key(item, into)
    return into


def _same_response_shapes(a: SelectionBuilder, b: SelectionBuilder) -> bool:
    """Whether the two selections can be one subgraph operation: fields sharing a response key, in fragments on
    any types, select the same field, down every level (GraphQL's "fields in set can merge"; two fields of one
    name whose types differ are aliased apart later, separate_conflicting_fields)."""
    mine, theirs = _fields_by_key(a, {}), _fields_by_key(b, {})
    return all(_one_shape([*mine[key], *theirs[key]]) for key in mine.keys() & theirs.keys())


def _one_shape(fields: list[FieldBuilder]) -> bool:
    if len({f.name for f in fields}) > 1:
        return False
    below: dict[str, list[FieldBuilder]] = {}
    for field in fields:
        if field.sub is not None:
            _fields_by_key(field.sub, below)
    return all(_one_shape(group) for group in below.values())


def _by_condition(selection: SelectionBuilder) -> dict[str, list[str]]:
    """An entity selection's fragments, printed, by type condition."""
    found: dict[str, list[str]] = {}
    for condition, _directives, fragment in selection.fragments():
        found.setdefault(condition or "", []).append(fragment.print(0))
    return found


# the optimisation passes, in order: (groups, operation kind) -> groups
PASSES: tuple[Callable[[list[FetchGroup], str], list[FetchGroup]], ...] = (merge_sibling_fetches,)
