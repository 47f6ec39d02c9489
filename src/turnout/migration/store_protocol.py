"""What the migration code needs of a store: one protocol, met by `Store` (SQLite, PostgreSQL) and `MemoryStore`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from .evidence import EvidenceBatch
from .model import (
    DiffGroup,
    InstanceReport,
    InstanceStage,
    MigrationEvidence,
    MigrationState,
    Stage,
    StageChange,
)
from .noise import Rates

__all__ = ["MigrationStore"]


class MigrationStore(Protocol):
    """Stages (with their log and what each instance runs) and evidence, shared by every gateway instance.

    Every method may block (a database call): the request path reaches a store only through the recorder or a
    thread. Datetimes are aware, in UTC."""

    samples_per_hour: int  # diff samples kept per group and hour (the recorder skips the work past it)

    def create_schema(self) -> None: ...

    def close(self) -> None: ...

    # stages
    def get_states(self) -> dict[str, MigrationState]: ...

    def set_stage(
        self,
        name: str,
        stage: Stage,
        *,
        percent: float,
        by: str,
        reason: str,
        forced: bool = False,
        evidence: dict[str, Any],
        expected: MigrationState | None = None,
    ) -> StageChange: ...

    def stage_log(self, name: str | None = None, limit: int = 100) -> list[StageChange]: ...

    def report_instance(self, instance: str, stages: dict[str, InstanceStage]) -> None: ...

    def instances(self, name: str, seen_within: timedelta = ...) -> list[InstanceReport]: ...

    # evidence in
    def write(self, batch: EvidenceBatch, batch_id: str | None = None) -> bool: ...

    def acknowledge(self, signature: str, *, until: datetime, by: str, reason: str) -> bool: ...

    def prune(self, older_than: datetime) -> int: ...

    # evidence out
    def evidence(self, name: str, since: datetime | None = None) -> MigrationEvidence: ...

    def noise_rates(self, name: str, since: datetime) -> Rates: ...

    def diff_groups(
        self, name: str, include_acknowledged: bool = True, samples_per_group: int = 5
    ) -> list[DiffGroup]: ...

    def timeseries(self, name: str, since: datetime) -> list[dict[str, Any]]: ...
