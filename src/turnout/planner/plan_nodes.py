"""Query plan nodes: a closed set of frozen dataclasses (Fetch, Flatten, Sequence, Parallel, Condition)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .normalize import Selection

__all__ = [
    "Condition",
    "ContextRewrite",
    "Fetch",
    "Flatten",
    "Parallel",
    "PlanNode",
    "QueryPlan",
    "Rename",
    "RepField",
    "RepFragment",
    "Sequence",
    "Shape",
]

PlanNode = Union["Fetch", "Flatten", "Sequence", "Parallel", "Condition"]

Shape = tuple[str | None, tuple[tuple[str, str, str, "Shape | None"], ...]]
"""A root fetch's selection without fragments or conditions, as executor.reuse compares answers:
(the level's type when it is an object type, else None; ((response key, name, arguments, sub-shape), ...))."""
RepSelection = Union["RepField", "RepFragment"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RepField:
    """A field of a representation: read from `key` in the response data, sent as `name`."""

    key: str
    name: str
    selections: tuple[RepSelection, ...] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RepFragment:
    """The representation of objects whose type matches `type_condition`."""

    type_condition: str
    typename: str | None
    selections: tuple[RepSelection, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Rename:
    """A subgraph answer's `key` (an alias the planner chose) stored under `data_key` in the response data."""

    type_condition: str | None
    key: str
    data_key: str
    children: tuple[Rename, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ContextRewrite:
    """A `@fromContext` argument: the entity fetch's variable `variable` takes, for each object, the value at
    `keys` in its nearest ancestor at response path `ancestor` (a prefix of the Flatten path)."""

    variable: str
    type: str
    ancestor: tuple[str, ...]
    keys: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Fetch:
    """One request to a subgraph. With `requires`, an `_entities` request for the objects at its Flatten path."""

    id: int
    service: str
    graph: str
    operation: str
    operation_kind: str
    variable_usages: tuple[str, ...]
    requires: tuple[RepFragment, ...] | None = None
    display_requires: str | None = None
    display_selection: str = ""
    renames: tuple[Rename, ...] = ()
    # the response keys the planner chose itself (`_t_...`, distinct from every key of the client's operation):
    # an error below one is not on a path the client asked for
    internal_keys: frozenset[str] = frozenset()
    # entity fetches with `@fromContext` arguments: one request per distinct set of context values
    contexts: tuple[ContextRewrite, ...] = ()
    # the schema coordinates ("Type.field") this fetch asks its subgraph for: what a failure of it fails
    coordinates: frozenset[str] = frozenset()
    # the response data keys it fills on the objects at its path (the root's, for a root fetch), `__typename`
    # and the keys only a representation needs aside: what a fallback replaces when it failed
    data_keys: frozenset[str] = frozenset()
    # a root query fetch's selection when it has no fragments nor conditions (executor.reuse), else None
    shape: Shape | None = None
    # an entity fetch's selection per entity type, when each is such a plain selection (executor.reuse)
    entity_shapes: tuple[tuple[str, Shape], ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Flatten:
    """Run `node` for every object found at `path` of the response (`@` stands for list items).

    `more_paths`: further paths whose objects join the same `_entities` request (one fetch per subgraph
    and step instead of one per path).
    """

    path: tuple[str, ...]
    node: Fetch
    more_paths: tuple[tuple[str, ...], ...] = ()

    @property
    def paths(self) -> tuple[tuple[str, ...], ...]:
        return (self.path, *self.more_paths)


@dataclass(frozen=True, kw_only=True, slots=True)
class Sequence:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Parallel:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Condition:
    """Run `if_clause` when the boolean variable is true, `else_clause` otherwise."""

    variable: str
    if_clause: PlanNode | None
    else_clause: PlanNode | None


@dataclass(frozen=True, kw_only=True, slots=True)
class QueryPlan:
    """A plan, and what the executor needs to shape the client's response from the fetched data."""

    node: PlanNode | None
    operation_kind: str
    root_type: str
    selections: tuple[Selection, ...]
    has_introspection: bool = False
    # the subgraph operations, in order: two plans with the same signature fetch the same things
    signature: tuple[str, ...] = ()
