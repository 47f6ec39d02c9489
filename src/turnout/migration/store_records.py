"""The store's SQL plumbing and its stage records: a migration's stage and share, its log, what each instance runs.

`Store` (migration/store.py) adds the evidence on top; both share one engine and these helpers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from . import store_schema as tables
from .model import InstanceReport, InstanceStage, MigrationState, Stage, StageChange

__all__ = ["StageConflict", "StageRecords", "StoreBase"]


def _now() -> datetime:
    return datetime.now(UTC)


class StageConflict(Exception):
    """A compare-and-set of a stage found another stage than the one its decision was made on."""

    def __init__(self, name: str, stage: Stage, percent: float, by: str | None, at: datetime | None) -> None:
        who = f" by {by}" if by else ""
        when = f" at {at:%Y-%m-%d %H:%M:%S} UTC" if at else ""
        super().__init__(f"{name} was moved meanwhile: it is now {stage.value} at {percent:g}%{who}{when}")
        self.stage = stage
        self.percent = percent


class StoreBase:
    """One SQLAlchemy engine (SQLite or PostgreSQL) and the transactions and upserts every record type uses."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {engine.dialect.name!r}: use SQLite or PostgreSQL")
        self.engine = engine

    @contextmanager
    def _begin(self, *, write: bool = False) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if write:
                conn.execution_options(turnout_write=True)
            with conn.begin():
                yield conn

    def _insert(self, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _add_rows(
        self,
        conn: Connection,
        table: sa.Table,
        rows: list[dict[str, Any]],
        *,
        keys: Sequence[str],
        add: Sequence[str] = ("count",),
        latest: Sequence[str] = (),
        earliest: Sequence[str] = (),
        replace: Sequence[str] = (),
    ) -> None:
        """Upsert rows: counters in `add` are summed, `latest`/`earliest` keep the max/min, `replace` overwrite."""
        if not rows:
            return
        rows = sorted(rows, key=lambda row: tuple(row[k] for k in keys))  # one lock order: no deadlocks
        insert = self._insert(table)
        excluded = insert.excluded
        update: dict[str, Any] = {c: table.c[c] + excluded[c] for c in add}
        for c in latest:
            update[c] = sa.case((excluded[c] > table.c[c], excluded[c]), else_=table.c[c])
        for c in earliest:
            update[c] = sa.case((excluded[c] < table.c[c], excluded[c]), else_=table.c[c])
        for c in replace:
            update[c] = excluded[c]
        conn.execute(insert.on_conflict_do_update(index_elements=list(keys), set_=update), rows)


class StageRecords(StoreBase):
    """Stages (compare-and-set), the stage log, and the stages each gateway instance reports it runs."""

    def get_states(self) -> dict[str, MigrationState]:
        """Every stored migration state, by name (a migration never moved has no row: it is in `monolith`)."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(tables.state)).all()
        return {
            row.name: MigrationState(
                name=row.name,
                stage=Stage(row.stage),
                percent=row.percent,
                changed_at=row.changed_at,
                changed_by=row.changed_by,
                reason=row.reason,
            )
            for row in rows
        }

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
    ) -> StageChange:
        """Move `name` to `stage` and log it, atomically: the logged `from_stage` is the one replaced.

        With `expected` (the state a decision was made on), a compare-and-set: when the stage or percent stored
        is no longer that one (someone else moved it meanwhile), nothing changes and StageConflict is raised."""
        stage = Stage(stage)
        percent = float(percent)
        if not 0.0 <= percent <= 100.0:
            raise ValueError(f"percent must be within 0..100, not {percent}")
        at = _now()
        with self._begin(write=True) as conn:
            conn.execute(
                self._insert(tables.state)
                .values(name=name, stage=Stage.MONOLITH.value, percent=100.0)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            old, old_percent, changed_by, changed_at = conn.execute(
                sa.select(
                    tables.state.c.stage,
                    tables.state.c.percent,
                    tables.state.c.changed_by,
                    tables.state.c.changed_at,
                )
                .where(tables.state.c.name == name)
                .with_for_update()
            ).one()
            if expected is not None and (
                old != Stage(expected.stage).value or float(old_percent) != float(expected.percent)
            ):
                raise StageConflict(name, Stage(old), float(old_percent), changed_by, changed_at)
            conn.execute(
                sa.update(tables.state)
                .where(tables.state.c.name == name)
                .values(stage=stage.value, percent=percent, changed_at=at, changed_by=by, reason=reason)
            )
            conn.execute(
                sa.insert(tables.stage_log).values(
                    name=name,
                    from_stage=old,
                    to_stage=stage.value,
                    percent=percent,
                    at=at,
                    by=by,
                    reason=reason,
                    forced=forced,
                    evidence=evidence,
                )
            )
        return StageChange(
            name=name,
            from_stage=Stage(old),
            to_stage=stage,
            percent=percent,
            at=at,
            by=by,
            reason=reason,
            forced=forced,
            evidence=dict(evidence),
        )

    def report_instance(self, instance: str, stages: dict[str, InstanceStage]) -> None:
        """What the gateway instance `instance` runs now (written on each of its stage refreshes)."""
        row = {
            "instance": instance[:200],
            "seen_at": _now(),
            "stages": {
                name: {"stage": str(s.stage), "percent": s.percent, "since": s.since.isoformat()}
                for name, s in stages.items()
            },
        }
        with self._begin(write=True) as conn:
            insert = self._insert(tables.instances)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["instance"],
                    set_={"seen_at": insert.excluded.seen_at, "stages": insert.excluded.stages},
                ),
                [row],
            )

    def instances(self, name: str, seen_within: timedelta = timedelta(seconds=60)) -> list[InstanceReport]:
        """The instances seen within `seen_within`, with what each runs of migration `name`; instances not seen
        for a day are forgotten."""
        now = _now()
        with self._begin() as conn:
            rows = conn.execute(
                sa.select(tables.instances)
                .where(tables.instances.c.seen_at >= now - seen_within)
                .order_by(tables.instances.c.instance)
            ).all()
        found = []
        for row in rows:
            picked = (row.stages or {}).get(name)
            if not isinstance(picked, dict):
                continue
            found.append(
                InstanceReport(
                    instance=row.instance,
                    seen_at=row.seen_at,
                    stage=Stage(picked["stage"]),
                    percent=float(picked["percent"]),
                    since=datetime.fromisoformat(picked["since"]),
                )
            )
        return found

    def stage_log(self, name: str | None = None, limit: int = 100) -> list[StageChange]:
        """Stage changes, newest first (of one migration, or of all)."""
        query = sa.select(tables.stage_log).order_by(tables.stage_log.c.id.desc()).limit(limit)
        if name is not None:
            query = query.where(tables.stage_log.c.name == name)
        with self._begin() as conn:
            rows = conn.execute(query).all()
        return [
            StageChange(
                name=row.name,
                from_stage=Stage(row.from_stage),
                to_stage=Stage(row.to_stage),
                percent=row.percent,
                at=row.at,
                by=row.by,
                reason=row.reason,
                forced=bool(row.forced),
                evidence=dict(row.evidence or {}),
            )
            for row in rows
        ]
