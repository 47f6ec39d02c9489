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

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..clock import SYSTEM_CLOCK, Clock
from .compare import MigrationComparison

__all__ = ["NOISE_WINDOW_SECONDS", "NoiseTally", "Rates", "noise_since", "noisy_coordinates"]

NOISE_WINDOW_SECONDS = 3600.0
MIN_VALUES = 20
RATIO = 0.8


def noise_since(now: datetime) -> datetime:
    """Where the noise evidence every instance shares begins: the last two windows."""
    return now - timedelta(seconds=2 * NOISE_WINDOW_SECONDS)


def noisy_coordinates(rates: Rates, *, min_values: int = MIN_VALUES, ratio: float = RATIO) -> set[str]:
    """The coordinates whose old side disagrees with itself at least `ratio` times as often as with the new
    side, with `min_values` values seen each way: the one verdict, whether counted here or read from the store."""
    found = set()
    for coordinate, differing in rates.itself_differing.items():
        itself = rates.itself_values.get(coordinate, 0)
        candidate = rates.candidate_values.get(coordinate, 0)
        if itself < min_values or candidate < min_values or not differing:
            continue
        if differing / itself >= ratio * rates.candidate_differing.get(coordinate, 0) / candidate:
            found.add(coordinate)
    return found


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

    def __init__(
        self,
        *,
        min_values: int = MIN_VALUES,
        ratio: float = RATIO,
        window_seconds: float = NOISE_WINDOW_SECONDS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.min_values = min_values
        self.ratio = ratio
        self.window_seconds = window_seconds
        self.clock = clock
        self._started = clock.monotonic()
        self.current = Rates()
        self.previous = Rates()

    def _rotate(self) -> None:
        now = self.clock.monotonic()
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

    def totals(self) -> Rates:
        """The counts of the current and the previous window, added up."""
        self._rotate()
        out = Rates()
        for window in (self.previous, self.current):
            _add(out.itself_values, window.itself_values)
            _add(out.itself_differing, window.itself_differing)
            _add(out.candidate_values, window.candidate_values)
            _add(out.candidate_differing, window.candidate_differing)
        return out

    def noisy(self) -> set[str]:
        return noisy_coordinates(self.totals(), min_values=self.min_values, ratio=self.ratio)
