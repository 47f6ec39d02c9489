"""Noise as a measured rate, per coordinate (Diffy's idea).

A sample of comparisons also runs the old side a second time, concurrently with the candidate (so that a write
landing in between touches both runs alike). Per coordinate, two rates of disagreement per value are kept: the
old side against itself, and the old side against the new one. A coordinate is noise when, with enough values
seen both ways, the old side disagrees with itself at least `ratio` times as often as it disagrees with the new
side: a timestamp that changes on every call is noise; a field the new service gets wrong one time in seven is
not, even if a concurrent write once made two old runs differ. The counts cover the current window and the one
before it, so that a verdict expires with the behaviour that earned it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .compare import MigrationComparison

__all__ = ["NoiseTally", "Rates"]


@dataclass
class Rates:
    """Values compared and values that differed, per coordinate, old against itself and old against new."""

    itself_values: dict[str, int] = field(default_factory=dict)
    itself_differing: dict[str, int] = field(default_factory=dict)
    candidate_values: dict[str, int] = field(default_factory=dict)
    candidate_differing: dict[str, int] = field(default_factory=dict)


def _add(into: dict[str, int], counts: dict[str, int]) -> None:
    for coordinate, n in counts.items():
        into[coordinate] = into.get(coordinate, 0) + n


class NoiseTally:
    """The noise rates of one migration's coordinates (see the module's docstring)."""

    def __init__(self, *, min_values: int = 20, ratio: float = 0.8, window_seconds: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.min_values = min_values
        self.ratio = ratio
        self.window_seconds = window_seconds
        self.clock = clock
        self._started = clock()
        self.current = Rates()
        self.previous = Rates()

    def _rotate(self) -> None:
        now = self.clock()
        if now - self._started >= self.window_seconds:
            self.previous = self.current if now - self._started < 2 * self.window_seconds else Rates()
            self.current = Rates()
            self._started = now

    def against_itself(self, comparison: MigrationComparison) -> None:
        self._rotate()
        _add(self.current.itself_values, comparison.values)
        _add(self.current.itself_differing, comparison.differing)

    def against_candidate(self, comparison: MigrationComparison) -> None:
        self._rotate()
        _add(self.current.candidate_values, comparison.values)
        _add(self.current.candidate_differing, comparison.differing)

    def rates(self, coordinate: str) -> tuple[int, float | None, int, float | None]:
        """(values compared old vs old, their disagreement rate, values old vs new, theirs)."""
        self._rotate()

        def total(name: str) -> int:
            return int(getattr(self.current, name).get(coordinate, 0) + getattr(self.previous, name).get(coordinate, 0))

        itself, candidate = total("itself_values"), total("candidate_values")
        return (itself, total("itself_differing") / itself if itself else None,
                candidate, total("candidate_differing") / candidate if candidate else None)

    def noisy(self) -> set[str]:
        coordinates = {*self.current.itself_differing, *self.previous.itself_differing}
        found = set()
        for coordinate in coordinates:
            itself, itself_rate, candidate, candidate_rate = self.rates(coordinate)
            if itself < self.min_values or candidate < self.min_values or not itself_rate:
                continue
            if candidate_rate is not None and itself_rate >= self.ratio * candidate_rate:
                found.add(coordinate)
        return found
