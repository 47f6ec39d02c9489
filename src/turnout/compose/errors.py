"""Composition errors and hints: Apollo's codes, the subgraphs involved and the line in each subgraph's SDL."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CompositionError", "CompositionFailed", "Hint", "Location"]


@dataclass(frozen=True, kw_only=True)
class Location:
    """Where in which subgraph's SDL an error points (line 1-based; None when unknown)."""

    subgraph: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.subgraph}:{self.line}" if self.line is not None else self.subgraph


@dataclass(frozen=True, kw_only=True)
class CompositionError:
    """One reason the subgraphs do not compose, with Apollo's error code (`INVALID_FIELD_SHARING`...)."""

    code: str
    message: str
    locations: tuple[Location, ...] = ()

    @property
    def subgraphs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(location.subgraph for location in self.locations))

    def __str__(self) -> str:
        where = ", ".join(str(location) for location in self.locations)
        return f"[{self.code}] {self.message}" + (f" ({where})" if where else "")


@dataclass(frozen=True, kw_only=True)
class Hint:
    """Something that composes but deserves attention (`OVERRIDE_MIGRATION_IN_PROGRESS`...)."""

    code: str
    message: str
    locations: tuple[Location, ...] = ()

    def __str__(self) -> str:
        where = ", ".join(str(location) for location in self.locations)
        return f"[{self.code}] {self.message}" + (f" ({where})" if where else "")


@dataclass
class CompositionFailed(Exception):
    """Composition failed; `errors` says why (never empty)."""

    errors: list[CompositionError] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"composition failed with {len(self.errors)} error(s):"]
        lines.extend(f"- {error}" for error in self.errors)
        return "\n".join(lines)
