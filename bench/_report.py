"""The benchmarks' figures and tables: nearest-rank quantiles, medians, a window's latencies, aligned tables."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence

__all__ = ["LatencyWindow", "median", "nearest_rank", "print_table", "quantile"]


def nearest_rank(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of values already sorted (NaN when there are none)."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def quantile(values: Iterable[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of ``values`` in any order (NaN when there are none)."""
    return nearest_rank(sorted(values), q)


def median(values: Iterable[float], *, finite: bool = False) -> float:
    """The median of ``values`` (with ``finite``, of those that are not NaN); NaN when there are none."""
    kept = [v for v in values if not (finite and math.isnan(v))]
    return statistics.median(kept) if kept else math.nan


class LatencyWindow:
    """A measured window of ``seconds`` and the latencies (seconds) of every request that ended in it: a mixin
    for a benchmark's row (a dataclass with these two fields)."""

    seconds: float
    latencies: list[float]

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def quantile_ms(self, q: float) -> float:
        """Nearest-rank quantile of the latencies, in milliseconds."""
        return quantile(self.latencies, q) * 1000.0

    def per_request_ms(self, value: float) -> float:
        """``value`` (CPU seconds, say) per request of the window, in milliseconds."""
        return value / self.requests * 1000.0 if self.requests else math.nan


def print_table(
    title: str, columns: Sequence[str], lines: Sequence[Sequence[str]], *, name_left: bool = True
) -> None:
    """A blank line, ``title``, then the header and ``lines`` in columns two spaces apart, each as wide as its
    widest cell: figures to the right, the first column (the row's name) to the left when ``name_left``."""
    widths = [
        max(len(c), *(len(line[i]) for line in lines)) if lines else len(c) for i, c in enumerate(columns)
    ]
    print(f"\n{title}")
    for line in (columns, *lines):
        print(
            "  ".join(
                cell.ljust(w) if i == 0 and name_left else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
