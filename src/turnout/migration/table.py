"""The `turnout migrations` table, as rich renders it (the CLI and the demo print the same)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from .report import instances_text, rollout_text

__all__ = ["migrations_table"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def migrations_table(report: list[dict[str, Any]], *, title: str = "turnout migrations") -> Table:
    """One row per migration: fields, stage, rollout, evidence, latency old vs new, what the next stage needs."""
    table = Table(title=title, show_lines=False)
    for column in (
        "migration",
        "fields",
        "stage",
        "rollout",
        "instances",
        "comparisons",
        "match",
        "ops",
        "noise",
        "fallbacks",
        "from p50/p99 ms",
        "to p50/p99 ms",
        "next",
    ):
        table.add_column(column, overflow="fold")
    for row in report:
        ev = row["evidence"]
        rate = ev["match_rate"]
        table.add_row(
            row["name"],
            ", ".join(row["fields"]),
            row["stage"],
            rollout_text(row),
            instances_text(row),
            str(ev["comparisons"]),
            "-" if rate is None else f"{rate:.1%}",
            str(ev["operations"]),
            str(ev["noise"]),
            str(ev["fallbacks"]),
            f"{_ms(ev['latency_from_ms'][0])}/{_ms(ev['latency_from_ms'][1])}",
            f"{_ms(ev['latency_to_ms'][0])}/{_ms(ev['latency_to_ms'][1])}",
            (f"{row['next_stage']}: " if row["next_stage"] else "") + (row["removal"] or row["readiness"]),
        )
    return table
