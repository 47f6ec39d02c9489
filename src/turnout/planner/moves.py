"""The moves a field's value can take to reach the client, and the choice between them.

At an object fetched from one subgraph, each field is either answered there (`Stay`), fetched from another subgraph
through an entity key (`Jump`: an `_entities` call, after the key's and any `@requires` fields are fetched), or,
for a value type no single subgraph can answer whole, answered in parts by several (`Split`). An interface object
(`@interfaceObject`) knows neither `__typename` nor type-conditioned fields: those take a jump to a subgraph that
knows the real type (`Walker.jump_to_real_type`; in estimates, one fetch per object).
"""

from __future__ import annotations

from typing import NamedTuple

from .normalize import Selection

__all__ = ["STAY", "Choice", "Jump", "Move", "Split", "Stay"]


class Stay(NamedTuple):
    """The field from the subgraph already fetching its object."""


class Jump(NamedTuple):
    """The field from `target`, which knows the object as `entity` (the type itself, or an interface object)."""

    target: str
    entity: str


class Split(NamedTuple):
    """The field's selections shared among subgraphs that all serve the field: (subgraph, type there, selections),
    the current subgraph's part under the object's own type."""

    parts: tuple[tuple[str, str, tuple[Selection, ...]], ...]


Move = Stay | Jump | Split
STAY = Stay()
# (named tuples: a plan decides thousands of fields, and a tuple is the cheapest record Python builds)


class Choice(NamedTuple):
    """The cheapest move for a field and its cost in extra fetches (`move` None: no way to resolve it)."""

    cost: float
    move: Move | None
