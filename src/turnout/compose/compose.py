"""Compose subgraph SDLs into a Federation 2 supergraph SDL: read, normalize, merge, check, print."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import CompositionError, CompositionFailed, Hint
from .merge import merge
from .normalize import normalize_subgraphs
from .printer import print_supergraph
from .satisfiability import check_satisfiability
from .subgraph import read_subgraph

__all__ = ["CompositionResult", "SubgraphInput", "compose", "compose_or_raise"]


@dataclass(frozen=True)
class SubgraphInput:
    """One subgraph to compose: its name, the URL the gateway routes to, and its SDL."""

    name: str
    url: str
    sdl: str


@dataclass
class CompositionResult:
    supergraph_sdl: str | None
    errors: list[CompositionError] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.supergraph_sdl is not None and not self.errors


def compose(inputs: Sequence[SubgraphInput]) -> CompositionResult:
    """Compose `inputs`; the result carries the supergraph SDL, or the errors (Apollo's codes) and hints."""
    if not inputs:
        return CompositionResult(
            None, [CompositionError(code="NO_SUBGRAPHS", message="no subgraphs to compose")]
        )
    names = [i.name for i in inputs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        return CompositionResult(
            None,
            [
                CompositionError(
                    code="INVALID_SUBGRAPH_NAME", message=f"duplicate subgraph names: {', '.join(duplicates)}"
                )
            ],
        )
    errors: list[CompositionError] = []
    subgraphs = []
    for one in sorted(
        inputs, key=lambda i: i.name
    ):  # Apollo's order (by name): join__Graph values, field order
        subgraph, found = read_subgraph(one.name, one.url, one.sdl)
        errors.extend(found)
        if subgraph is not None:
            subgraphs.append(subgraph)
    if errors:
        return CompositionResult(None, errors)
    errors = normalize_subgraphs(subgraphs)
    if errors:
        return CompositionResult(None, errors)
    supergraph, errors, hints = merge(subgraphs)
    if errors:
        return CompositionResult(None, errors, hints)
    errors = check_satisfiability(supergraph)
    if errors:
        return CompositionResult(None, errors, hints)
    return CompositionResult(print_supergraph(supergraph), [], hints)


def compose_or_raise(inputs: Sequence[SubgraphInput]) -> tuple[str, list[Hint]]:
    result = compose(inputs)
    if not result.ok:
        raise CompositionFailed(result.errors, result.hints)
    assert result.supergraph_sdl is not None
    return result.supergraph_sdl, result.hints
