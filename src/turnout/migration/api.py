"""The migrations JSON document: what the dashboard shows and `turnout migrations --json` prints."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from ..supergraph.model import SupergraphModel
from .model import Migration
from .report import migration_report, stage_change_json
from .store_protocol import MigrationStore

__all__ = ["migrations_document"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def migrations_document(
    migrations: list[Migration],
    store: MigrationStore,
    model: SupergraphModel | None = None,
    *,
    now: datetime | None = None,
    window: timedelta = timedelta(hours=24),
    samples_per_group: int = 3,
) -> dict[str, Any]:
    """Every migration with its evidence, readiness, time series, diff groups; and the stage-change log."""
    now = now or datetime.now(UTC)
    rows = migration_report(migrations, store, model, now=now)
    for row in rows:
        row["timeseries"] = _jsonable(store.timeseries(row["name"], now - window))
        row["diff_groups"] = [
            _jsonable(asdict(group))
            for group in store.diff_groups(row["name"], samples_per_group=samples_per_group)
        ]
    return {
        "generated_at": now.isoformat(),
        "migrations": rows,
        "log": [stage_change_json(change) for change in store.stage_log(None, 50)],
    }
