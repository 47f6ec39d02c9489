"""The evidence store: stages, their log, comparison counters, latencies and diff samples (SQLAlchemy Core)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine

from . import batch_log
from .evidence import EvidenceBatch, latency_quantile, minute_bucket
from .model import (
    Coverage,
    DiffGroup,
    DiffSample,
    InstanceReport,
    InstanceStage,
    MigrationEvidence,
    MigrationState,
    Stage,
    StageChange,
    match_rate,
)
from .noise import Rates
from .store_engine import create_store_engine

__all__ = ["StageConflict", "Store"]

_HOUR = timedelta(hours=1)
_SIDES = ("from", "to")


def _utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class _UTCDateTime(sa.TypeDecorator[datetime]):
    """Datetimes stored as UTC and always read back aware (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _utc(value)


_metadata = sa.MetaData()
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Count = sa.BigInteger

_state = sa.Table(
    "turnout_migration_state",
    _metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("percent", sa.Float, nullable=False),
    sa.Column("changed_at", _UTCDateTime),
    sa.Column("changed_by", sa.Text),
    sa.Column("reason", sa.Text),
)

# what each gateway instance runs: per migration the stage and percent it picked up, and when
_instances = sa.Table(
    "turnout_instances",
    _metadata,
    sa.Column("instance", sa.String, primary_key=True),
    sa.Column("seen_at", _UTCDateTime, nullable=False),
    sa.Column("stages", sa.JSON, nullable=False),
    sa.Index("ix_turnout_instances_seen_at", "seen_at"),
)

_stage_log = sa.Table(
    "turnout_stage_log",
    _metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("from_stage", sa.String(32), nullable=False),
    sa.Column("to_stage", sa.String(32), nullable=False),
    sa.Column("percent", sa.Float, nullable=False),
    sa.Column("at", _UTCDateTime, nullable=False),
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("forced", sa.Boolean, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Index("ix_turnout_stage_log_name_id", "name", "id"),
)

_comparisons = sa.Table(
    "turnout_comparisons",
    _metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("operation", sa.String, primary_key=True),
    sa.Column("hour", _UTCDateTime, primary_key=True),
    sa.Column("outcome", sa.String(16), primary_key=True),
    sa.Column("count", _Count, nullable=False),
    sa.Index("ix_turnout_comparisons_hour", "hour"),
)

_latency = sa.Table(
    "turnout_latency",
    _metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("side", sa.String(8), primary_key=True),
    sa.Column("hour", _UTCDateTime, primary_key=True),
    sa.Column("bucket", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("count", _Count, nullable=False),
    sa.Index("ix_turnout_latency_hour", "hour"),
)

_fallbacks = sa.Table(
    "turnout_fallbacks",
    _metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("operation", sa.String, primary_key=True),
    sa.Column("hour", _UTCDateTime, primary_key=True),
    sa.Column("count", _Count, nullable=False),
    sa.Column("last_at", _UTCDateTime, nullable=False),
    sa.Index("ix_turnout_fallbacks_hour", "hour"),
)

# per migrating coordinate: requests whose fetch of it failed on the new side and was answered by the old one
_fallback_fields = sa.Table(
    "turnout_fallback_fields",
    _metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("coordinate", sa.String, primary_key=True),
    sa.Column("hour", _UTCDateTime, primary_key=True),
    sa.Column("count", _Count, nullable=False),
    sa.Index("ix_turnout_fallback_fields_hour", "hour"),
)

_shadow_drops = sa.Table(
    "turnout_shadow_drops",
    _metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("hour", _UTCDateTime, primary_key=True),
    sa.Column("count", _Count, nullable=False),
    sa.Index("ix_turnout_shadow_drops_hour", "hour"),
)

_diff_groups = sa.Table(
    "turnout_diff_groups",
    _metadata,
    sa.Column("signature", sa.String(64), primary_key=True),
    sa.Column("migration", sa.String, nullable=False),
    sa.Column("coordinate", sa.String, nullable=False),
    sa.Column("operation", sa.String, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("noise", sa.Boolean, nullable=False),
    sa.Column("count", _Count, nullable=False),
    sa.Column("first_seen", _UTCDateTime, nullable=False),
    sa.Column("last_seen", _UTCDateTime, nullable=False),
    sa.Column("acknowledged_until", _UTCDateTime),
    sa.Column("acknowledged_by", sa.Text),
    sa.Column("acknowledged_reason", sa.Text),
    sa.Index("ix_turnout_diff_groups_migration", "migration"),
)

_diff_samples = sa.Table(
    "turnout_diff_samples",
    _metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column(
        "signature",
        sa.String(64),
        sa.ForeignKey("turnout_diff_groups.signature", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("hour", _UTCDateTime, nullable=False),   # hour bucket of `at`: samples are bounded per hour
    sa.Column("at", _UTCDateTime, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("primary", sa.Text, nullable=False),
    sa.Column("candidate", sa.Text, nullable=False),
    sa.Column("primary_hash", sa.String(64), nullable=False),
    sa.Column("candidate_hash", sa.String(64), nullable=False),
    sa.Index("ix_turnout_diff_samples_signature_hour", "signature", "hour"),
    sa.Index("ix_turnout_diff_samples_at", "at"),
)

# per migrating coordinate and operation: comparisons that reached it, values of it compared, values that differed
_coverage = sa.Table(
    "turnout_coverage",
    _metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("coordinate", sa.String, primary_key=True),
    sa.Column("operation", sa.String, primary_key=True),
    sa.Column("hour", _UTCDateTime, primary_key=True),
    sa.Column("comparisons", _Count, nullable=False),
    sa.Column("values", _Count, nullable=False),
    sa.Column("differing", _Count, nullable=False),
    sa.Index("ix_turnout_coverage_hour", "hour"),
)

# per migrating coordinate: values the old side was compared with itself on, and how many differed (noise runs)
_noise = sa.Table(
    "turnout_noise",
    _metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("coordinate", sa.String, primary_key=True),
    sa.Column("hour", _UTCDateTime, primary_key=True),
    sa.Column("values", _Count, nullable=False),
    sa.Column("differing", _Count, nullable=False),
    sa.Index("ix_turnout_noise_hour", "hour"),
)

_HOURLY = (_comparisons, _latency, _fallbacks, _fallback_fields, _shadow_drops, _coverage, _noise)
_IN_CHUNK = 500  # bound parameters per IN (...) list


class StageConflict(Exception):
    """A compare-and-set of a stage found another stage than the one its decision was made on."""

    def __init__(self, name: str, stage: Stage, percent: float, by: str | None, at: datetime | None) -> None:
        who = f" by {by}" if by else ""
        when = f" at {at:%Y-%m-%d %H:%M:%S} UTC" if at else ""
        super().__init__(f"{name} was moved meanwhile: it is now {stage.value} at {percent:g}%{who}{when}")
        self.stage = stage
        self.percent = percent


class Store:
    """Where stages and evidence live: an SQLite file (one host) or PostgreSQL (several gateway instances).

    Thread-safe (one Engine, a connection per call); every method is a blocking database call, so the request
    path reaches it only through the Recorder or asyncio.to_thread. Datetimes are returned aware, in UTC.
    """

    def __init__(self, engine: Engine, *, samples_per_hour: int = 5) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {engine.dialect.name!r}: use SQLite or PostgreSQL")
        if samples_per_hour < 0:
            raise ValueError("samples_per_hour must be >= 0")
        self.engine = engine
        self.samples_per_hour = samples_per_hour

    @classmethod
    def open(cls, url: str, *, samples_per_hour: int = 5, busy_timeout: float = 5.0) -> Store:
        """A store for `sqlite:///path/file.db` (file and directories created) or `postgresql+psycopg://...`."""
        return cls(create_store_engine(url, busy_timeout=busy_timeout), samples_per_hour=samples_per_hour)

    def create_schema(self) -> None:
        """Create the tables that do not exist yet (safe to call from several instances at once)."""
        try:
            _metadata.create_all(self.engine, checkfirst=True)
            batch_log.create_table(self.engine)
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.OperationalError):
            # another instance created the same table between our check and our CREATE: check again
            _metadata.create_all(self.engine, checkfirst=True)
            batch_log.create_table(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------------------------

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

    # -- stages -----------------------------------------------------------------------------------------------

    def get_states(self) -> dict[str, MigrationState]:
        """Every stored migration state, by name (a migration never moved has no row: it is in `monolith`)."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(_state)).all()
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
                self._insert(_state)
                .values(name=name, stage=Stage.MONOLITH.value, percent=100.0)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            old, old_percent, changed_by, changed_at = conn.execute(
                sa.select(_state.c.stage, _state.c.percent, _state.c.changed_by, _state.c.changed_at)
                .where(_state.c.name == name).with_for_update()
            ).one()
            if expected is not None and (old != Stage(expected.stage).value
                                         or float(old_percent) != float(expected.percent)):
                raise StageConflict(name, Stage(old), float(old_percent), changed_by, changed_at)
            conn.execute(
                sa.update(_state)
                .where(_state.c.name == name)
                .values(stage=stage.value, percent=percent, changed_at=at, changed_by=by, reason=reason)
            )
            conn.execute(
                sa.insert(_stage_log).values(
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
        row = {"instance": instance[:200], "seen_at": _now(),
               "stages": {name: {"stage": str(s.stage), "percent": s.percent, "since": s.since.isoformat()}
                          for name, s in stages.items()}}
        with self._begin(write=True) as conn:
            insert = self._insert(_instances)
            conn.execute(insert.on_conflict_do_update(
                index_elements=["instance"], set_={"seen_at": insert.excluded.seen_at,
                                                   "stages": insert.excluded.stages}), [row])

    def instances(self, name: str, seen_within: timedelta = timedelta(seconds=60)) -> list[InstanceReport]:
        """The instances seen within `seen_within`, with what each runs of migration `name`; instances not seen
        for a day are forgotten."""
        now = _now()
        with self._begin() as conn:
            rows = conn.execute(sa.select(_instances).where(_instances.c.seen_at >= now - seen_within)
                                .order_by(_instances.c.instance)).all()
        found = []
        for row in rows:
            picked = (row.stages or {}).get(name)
            if not isinstance(picked, dict):
                continue
            found.append(InstanceReport(instance=row.instance, seen_at=row.seen_at, stage=Stage(picked["stage"]),
                                        percent=float(picked["percent"]),
                                        since=datetime.fromisoformat(picked["since"])))
        return found

    def stage_log(self, name: str | None = None, limit: int = 100) -> list[StageChange]:
        """Stage changes, newest first (of one migration, or of all)."""
        query = sa.select(_stage_log).order_by(_stage_log.c.id.desc()).limit(limit)
        if name is not None:
            query = query.where(_stage_log.c.name == name)
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

    # -- evidence in --------------------------------------------------------------------------------------------

    def write(self, batch: EvidenceBatch, batch_id: str | None = None) -> bool:
        """Add a batch of evidence in one transaction (all of it or nothing); with a `batch_id`, only once
        (False: that id was written before, nothing was added)."""
        if batch.empty:
            return True
        with self._begin(write=True) as conn:
            if batch_id is not None and not batch_log.claim(conn, batch_id):
                return False
            self._add_rows(
                conn,
                _comparisons,
                [
                    {"migration": m, "operation": op, "hour": hour, "outcome": outcome, "count": n}
                    for (m, op, hour, outcome), n in batch.comparisons.items()
                ],
                keys=("migration", "operation", "hour", "outcome"),
            )
            self._add_rows(
                conn,
                _latency,
                [
                    {"migration": m, "side": side, "hour": hour, "bucket": bucket, "count": n}
                    for (m, side, hour, bucket), n in batch.latencies.items()
                ],
                keys=("migration", "side", "hour", "bucket"),
            )
            self._add_rows(
                conn,
                _fallbacks,
                [
                    {"migration": m, "operation": op, "hour": hour, "count": n, "last_at": last}
                    for (m, op, hour), (n, last) in batch.fallbacks.items()
                ],
                keys=("migration", "operation", "hour"),
                latest=("last_at",),
            )
            self._add_rows(
                conn,
                _fallback_fields,
                [{"migration": m, "coordinate": c, "hour": hour, "count": n}
                 for (m, c, hour), n in batch.fallback_fields.items()],
                keys=("migration", "coordinate", "hour"),
            )
            self._add_rows(
                conn,
                _shadow_drops,
                [{"migration": m, "hour": hour, "count": n} for (m, hour), n in batch.shadow_drops.items()],
                keys=("migration", "hour"),
            )
            self._add_rows(
                conn,
                _coverage,
                [
                    {"migration": m, "coordinate": c, "operation": op, "hour": hour, "comparisons": n,
                     "values": values, "differing": differing}
                    for (m, c, op, hour), (n, values, differing) in batch.coverage.items()
                ],
                keys=("migration", "coordinate", "operation", "hour"),
                add=("comparisons", "values", "differing"),
            )
            self._add_rows(
                conn,
                _noise,
                [
                    {"migration": m, "coordinate": c, "hour": hour, "values": values, "differing": differing}
                    for (m, c, hour), (values, differing) in batch.repeats.items()
                ],
                keys=("migration", "coordinate", "hour"),
                add=("values", "differing"),
            )
            # groups first: the upsert locks each group's row (PostgreSQL), so counting its samples below is
            # exact even with several gateway instances writing at once
            self._add_rows(
                conn,
                _diff_groups,
                [
                    {
                        "signature": g.signature,
                        "migration": g.migration,
                        "coordinate": g.coordinate,
                        "operation": g.operation,
                        "kind": g.kind,
                        "noise": g.noise,
                        "count": g.count,
                        "first_seen": g.first_seen,
                        "last_seen": g.last_seen,
                    }
                    for g in batch.diff_groups.values()
                ],
                keys=("signature",),
                earliest=("first_seen",),
                latest=("last_seen",),
                replace=("noise",),
            )
            self._add_samples(conn, batch)
        return True

    def _add_samples(self, conn: Connection, batch: EvidenceBatch) -> None:
        if not batch.diff_samples or self.samples_per_hour <= 0:
            return
        signatures = sorted({s.signature for s in batch.diff_samples})
        earliest = min(s.hour for s in batch.diff_samples)
        stored: dict[tuple[str, datetime], int] = {}
        for start in range(0, len(signatures), _IN_CHUNK):
            query = (
                sa.select(_diff_samples.c.signature, _diff_samples.c.hour, sa.func.count())
                .where(
                    _diff_samples.c.signature.in_(signatures[start : start + _IN_CHUNK]),
                    _diff_samples.c.hour >= earliest,
                )
                .group_by(_diff_samples.c.signature, _diff_samples.c.hour)
            )
            for signature, hour, count in conn.execute(query):
                stored[(signature, hour)] = int(count)
        rows: list[dict[str, Any]] = []
        for sample in batch.diff_samples:
            key = (sample.signature, sample.hour)
            if stored.get(key, 0) >= self.samples_per_hour:
                continue
            stored[key] = stored.get(key, 0) + 1
            rows.append(
                {
                    "signature": sample.signature,
                    "hour": sample.hour,
                    "at": sample.at,
                    "path": sample.path,
                    "primary": sample.primary,
                    "candidate": sample.candidate,
                    "primary_hash": sample.primary_hash,
                    "candidate_hash": sample.candidate_hash,
                }
            )
        if rows:
            conn.execute(sa.insert(_diff_samples), rows)

    # -- evidence out -------------------------------------------------------------------------------------------

    def evidence(self, name: str, since: datetime | None = None) -> MigrationEvidence:
        """What is known of `name` since `since` (hourly counters from the hour `since` falls in; None: all)."""
        hour = minute_bucket(since) if since is not None else None

        def recent(table: sa.Table) -> list[sa.ColumnElement[bool]]:
            where = [table.c.migration == name]
            if hour is not None:
                where.append(table.c.hour >= hour)
            return where

        now = _now()
        outcomes: dict[str, int] = {}
        latency: dict[str, dict[int, int]] = {side: {} for side in _SIDES}
        with self._begin() as conn:
            for outcome, count in conn.execute(
                sa.select(_comparisons.c.outcome, sa.func.sum(_comparisons.c.count))
                .where(*recent(_comparisons))
                .group_by(_comparisons.c.outcome)
            ):
                outcomes[outcome] = int(count or 0)
            operations = conn.execute(
                sa.select(sa.func.count(sa.distinct(_comparisons.c.operation))).where(
                    *recent(_comparisons), _comparisons.c.count > 0
                )
            ).scalar_one()
            for side, bucket, count in conn.execute(
                sa.select(_latency.c.side, _latency.c.bucket, sa.func.sum(_latency.c.count))
                .where(*recent(_latency))
                .group_by(_latency.c.side, _latency.c.bucket)
            ):
                latency.setdefault(side, {})[int(bucket)] = int(count or 0)
            fallbacks, last_fallback = conn.execute(
                sa.select(sa.func.sum(_fallbacks.c.count), sa.func.max(_fallbacks.c.last_at)).where(
                    *recent(_fallbacks)
                )
            ).one()
            dropped = conn.execute(
                sa.select(sa.func.sum(_shadow_drops.c.count)).where(*recent(_shadow_drops))
            ).scalar_one()
            open_query = sa.select(sa.func.count()).where(
                _diff_groups.c.migration == name,
                _diff_groups.c.noise.is_(False),
                sa.or_(_diff_groups.c.acknowledged_until.is_(None), _diff_groups.c.acknowledged_until <= now),
            )
            if hour is not None:  # from the same minute as the counters, so that both tell one story
                open_query = open_query.where(_diff_groups.c.last_seen >= hour)
            open_groups = conn.execute(open_query).scalar_one()
            coverage = self._coverage(conn, recent(_coverage))
            for coordinate, count in conn.execute(
                sa.select(_fallback_fields.c.coordinate, sa.func.sum(_fallback_fields.c.count))
                .where(*recent(_fallback_fields)).group_by(_fallback_fields.c.coordinate)
            ):
                coverage[coordinate] = replace(coverage.get(coordinate, Coverage()), fallbacks=int(count or 0))
        return MigrationEvidence(
            name=name,
            comparisons=sum(outcomes.values()),
            matches=outcomes.get("match", 0),
            mismatches=outcomes.get("mismatch", 0),
            noise=outcomes.get("noise", 0),
            errors=outcomes.get("error", 0),
            operations=int(operations or 0),
            fallbacks=int(fallbacks or 0),
            last_fallback=last_fallback,
            shadow_dropped=int(dropped or 0),
            latency_from_ms=(latency_quantile(latency["from"], 0.5), latency_quantile(latency["from"], 0.99)),
            latency_to_ms=(latency_quantile(latency["to"], 0.5), latency_quantile(latency["to"], 0.99)),
            open_diff_groups=int(open_groups or 0),
            coverage=coverage,
        )

    def noise_rates(self, name: str, since: datetime) -> Rates:
        """What every instance measured of `name` since `since`: the old side against itself (noise runs) and
        against the new side (comparisons), per coordinate; migration.noise judges it."""
        rates = Rates()
        hour = minute_bucket(since)
        with self._begin() as conn:
            for coordinate, values, differing in conn.execute(
                sa.select(_noise.c.coordinate, sa.func.sum(_noise.c["values"]), sa.func.sum(_noise.c.differing))
                .where(_noise.c.migration == name, _noise.c.hour >= hour).group_by(_noise.c.coordinate)
            ):
                rates.itself_values[coordinate] = int(values or 0)
                rates.itself_differing[coordinate] = int(differing or 0)
            if rates.itself_values:
                for coordinate, values, differing in conn.execute(
                    sa.select(_coverage.c.coordinate, sa.func.sum(_coverage.c["values"]),
                              sa.func.sum(_coverage.c.differing))
                    .where(_coverage.c.migration == name, _coverage.c.hour >= hour,
                           _coverage.c.coordinate.in_(list(rates.itself_values)))
                    .group_by(_coverage.c.coordinate)
                ):
                    rates.candidate_values[coordinate] = int(values or 0)
                    rates.candidate_differing[coordinate] = int(differing or 0)
        return rates

    @staticmethod
    def _coverage(conn: Connection, where: list[sa.ColumnElement[bool]]) -> dict[str, Coverage]:
        found: dict[str, Coverage] = {}
        query = (
            sa.select(_coverage.c.coordinate, sa.func.sum(_coverage.c.comparisons), sa.func.sum(_coverage.c["values"]),
                      sa.func.sum(_coverage.c.differing), sa.func.count(sa.distinct(_coverage.c.operation)))
            .where(*where)
            .group_by(_coverage.c.coordinate)
        )
        for coordinate, comparisons, values, differing, operations in conn.execute(query):
            found[coordinate] = Coverage(comparisons=int(comparisons or 0), values=int(values or 0),
                                         differing=int(differing or 0), operations=int(operations or 0))
        return found

    def diff_groups(
        self, name: str, include_acknowledged: bool = True, samples_per_group: int = 5
    ) -> list[DiffGroup]:
        """The diff groups of `name`, most frequent first, each with its newest samples."""
        query = sa.select(_diff_groups).where(_diff_groups.c.migration == name)
        if not include_acknowledged:
            query = query.where(
                sa.or_(
                    _diff_groups.c.acknowledged_until.is_(None),
                    _diff_groups.c.acknowledged_until <= _now(),
                )
            )
        query = query.order_by(
            _diff_groups.c.count.desc(), _diff_groups.c.last_seen.desc(), _diff_groups.c.signature
        )
        samples: dict[str, list[DiffSample]] = defaultdict(list)
        with self._begin() as conn:
            groups = conn.execute(query).all()
            if groups and samples_per_group > 0:
                rank = (
                    sa.func.row_number()
                    .over(
                        partition_by=_diff_samples.c.signature,
                        order_by=(_diff_samples.c.at.desc(), _diff_samples.c.id.desc()),
                    )
                    .label("rank")
                )
                ranked = (
                    sa.select(_diff_samples, rank)
                    .join(_diff_groups, _diff_groups.c.signature == _diff_samples.c.signature)
                    .where(_diff_groups.c.migration == name)
                    .subquery()
                )
                for row in conn.execute(
                    sa.select(ranked)
                    .where(ranked.c.rank <= samples_per_group)
                    .order_by(ranked.c.signature, ranked.c.rank)
                ):
                    samples[row.signature].append(
                        DiffSample(
                            at=row.at,
                            path=row.path,
                            primary=row.primary,
                            candidate=row.candidate,
                            primary_hash=row.primary_hash,
                            candidate_hash=row.candidate_hash,
                        )
                    )
        return [
            DiffGroup(
                signature=g.signature,
                migration=g.migration,
                coordinate=g.coordinate,
                operation=g.operation,
                kind=g.kind,
                count=int(g._mapping["count"]),
                first_seen=g.first_seen,
                last_seen=g.last_seen,
                noise=bool(g.noise),
                acknowledged_until=g.acknowledged_until,
                acknowledged_by=g.acknowledged_by,
                acknowledged_reason=g.acknowledged_reason,
                samples=tuple(samples.get(g.signature, ())),
            )
            for g in groups
        ]

    def acknowledge(self, signature: str, *, until: datetime, by: str, reason: str) -> bool:
        """Accept a diff group until `until` (it stops counting as open); False when there is no such group."""
        with self._begin(write=True) as conn:
            result = conn.execute(
                sa.update(_diff_groups)
                .where(_diff_groups.c.signature == signature)
                .values(acknowledged_until=until, acknowledged_by=by, acknowledged_reason=reason)
            )
        return bool(result.rowcount)

    def timeseries(self, name: str, since: datetime) -> list[dict[str, Any]]:
        """Per minute with any evidence, oldest first: counts, match rate, fallbacks, drops, p50/p99 per side.

        Keys: hour (aware datetime), comparisons, matches, mismatches, noise, errors, match_rate (None when
        nothing was judged), fallbacks, shadow_dropped, p50_from_ms, p99_from_ms, p50_to_ms, p99_to_ms.
        """
        start = minute_bucket(since)
        outcomes: dict[datetime, dict[str, int]] = defaultdict(dict)
        histograms: dict[datetime, dict[str, dict[int, int]]] = defaultdict(lambda: {s: {} for s in _SIDES})
        fallbacks: dict[datetime, int] = {}
        drops: dict[datetime, int] = {}
        with self._begin() as conn:
            for hour, outcome, count in conn.execute(
                sa.select(_comparisons.c.hour, _comparisons.c.outcome, sa.func.sum(_comparisons.c.count))
                .where(_comparisons.c.migration == name, _comparisons.c.hour >= start)
                .group_by(_comparisons.c.hour, _comparisons.c.outcome)
            ):
                outcomes[hour][outcome] = int(count or 0)
            for hour, side, bucket, count in conn.execute(
                sa.select(_latency.c.hour, _latency.c.side, _latency.c.bucket, _latency.c.count).where(
                    _latency.c.migration == name, _latency.c.hour >= start
                )
            ):
                histograms[hour].setdefault(side, {})[int(bucket)] = int(count)
            for hour, count in conn.execute(
                sa.select(_fallbacks.c.hour, sa.func.sum(_fallbacks.c.count))
                .where(_fallbacks.c.migration == name, _fallbacks.c.hour >= start)
                .group_by(_fallbacks.c.hour)
            ):
                fallbacks[hour] = int(count or 0)
            for hour, count in conn.execute(
                sa.select(_shadow_drops.c.hour, _shadow_drops.c.count).where(
                    _shadow_drops.c.migration == name, _shadow_drops.c.hour >= start
                )
            ):
                drops[hour] = int(count)
        series: list[dict[str, Any]] = []
        for hour in sorted(set(outcomes) | set(histograms) | set(fallbacks) | set(drops)):
            counts = outcomes.get(hour, {})
            matches, mismatches = counts.get("match", 0), counts.get("mismatch", 0)
            histogram = histograms.get(hour, {})
            series.append(
                {
                    "hour": hour,
                    "comparisons": sum(counts.values()),
                    "matches": matches,
                    "mismatches": mismatches,
                    "noise": counts.get("noise", 0),
                    "errors": counts.get("error", 0),
                    "match_rate": match_rate(matches, mismatches, counts.get("error", 0)),
                    "fallbacks": fallbacks.get(hour, 0),
                    "shadow_dropped": drops.get(hour, 0),
                    "p50_from_ms": latency_quantile(histogram.get("from", {}), 0.5),
                    "p99_from_ms": latency_quantile(histogram.get("from", {}), 0.99),
                    "p50_to_ms": latency_quantile(histogram.get("to", {}), 0.5),
                    "p99_to_ms": latency_quantile(histogram.get("to", {}), 0.99),
                }
            )
        return series

    # -- retention ------------------------------------------------------------------------------------------------

    def prune(self, older_than: datetime) -> int:
        """Delete evidence older than `older_than`; returns the number of rows deleted.

        Samples taken before it, hourly rows whose hour ended by then, and diff groups last seen before it
        (unless their acknowledgement is still running). Stages and the stage log are kept.
        """
        cutoff = _utc(older_than)
        deleted = 0
        with self._begin(write=True) as conn:
            result = conn.execute(sa.delete(_diff_samples).where(_diff_samples.c.at < cutoff))
            deleted += max(result.rowcount, 0)
            stale = sa.and_(
                _diff_groups.c.last_seen < cutoff,
                sa.or_(
                    _diff_groups.c.acknowledged_until.is_(None),
                    _diff_groups.c.acknowledged_until <= _now(),
                ),
            )
            # samples of a stale group are older than its last_seen, so already gone; no cascade needed
            result = conn.execute(sa.delete(_diff_groups).where(stale))
            deleted += max(result.rowcount, 0)
            for table in _HOURLY:
                result = conn.execute(sa.delete(table).where(table.c.hour <= cutoff - _HOUR))
                deleted += max(result.rowcount, 0)
            batch_log.prune(conn)
        return deleted
