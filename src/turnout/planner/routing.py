"""Routing: the plain input that decides which subgraph serves a field for one request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Routing"]


@dataclass(frozen=True, kw_only=True)
class Routing:
    """Per request: forced subgraph (by name) per schema coordinate, and the active override labels.

    `assignments` maps coordinates such as `Assignment.createdDate` to the subgraph that must serve them.
    `active_labels` holds the `@override(label:)` labels that are on for this request (`percent(N)` draws
    included); an override whose label is not active leaves the field with the subgraph it overrides.
    """

    assignments: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    active_labels: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
        """A hashable identity, for plan caches."""
        return tuple(sorted(self.assignments.items())), tuple(sorted(self.active_labels))

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Routing) and self.key == other.key


DEFAULT_ROUTING = Routing()
