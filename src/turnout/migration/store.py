"""The evidence store: comparison counters, latencies, coverage, diff groups and samples (SQLAlchemy Core).

The stages and their log are `StageRecords`' (migration/store_records.py), the tables `store_schema`'s, and what
the numbers mean (buckets, quantiles, sample quotas, the minute series) `evidence`'s: this module is the SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import batch_log
from . import store_schema as tables
from .evidence import EvidenceBatch, latency_quantile, minute_bucket, minute_series, samples_within_quota
from .model import Coverage, DiffGroup, DiffSample, MigrationEvidence
from .noise import Rates
from .store_engine import create_store_engine
from .store_records import StageConflict, StageRecords

__all__ = ["StageConflict", "Store"]

_HOUR = timedelta(hours=1)
_SIDES = ("from", "to")


def _now() -> datetime:
    return datetime.now(UTC)


_IN_CHUNK = 500  # bound parameters per IN (...) list


class Store(StageRecords):
    """Where stages and evidence live: an SQLite file (one host) or PostgreSQL (several gateway instances).

    Thread-safe (one Engine, a connection per call); every method is a blocking database call, so the request
    path reaches it only through the Recorder or asyncio.to_thread. Datetimes are returned aware, in UTC.
    """

    def __init__(self, engine: Engine, *, samples_per_hour: int = 5) -> None:
        super().__init__(engine)
        if samples_per_hour < 0:
            raise ValueError("samples_per_hour must be >= 0")
        self.samples_per_hour = samples_per_hour

    @classmethod
    def open(cls, url: str, *, samples_per_hour: int = 5, busy_timeout: float = 5.0) -> Store:
        """A store for `sqlite:///path/file.db` (file and directories created) or `postgresql+psycopg://...`."""
        return cls(create_store_engine(url, busy_timeout=busy_timeout), samples_per_hour=samples_per_hour)

    def create_schema(self) -> None:
        """Create the tables that do not exist yet (safe to call from several instances at once)."""
        try:
            tables.metadata.create_all(self.engine, checkfirst=True)
            batch_log.create_table(self.engine)
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.OperationalError):
            # another instance created the same table between our check and our CREATE: check again
            tables.metadata.create_all(self.engine, checkfirst=True)
            batch_log.create_table(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

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
                tables.comparisons,
                [
                    {"migration": m, "operation": op, "hour": hour, "outcome": outcome, "count": n}
                    for (m, op, hour, outcome), n in batch.comparisons.items()
                ],
                keys=("migration", "operation", "hour", "outcome"),
            )
            self._add_rows(
                conn,
                tables.latency,
                [
                    {"migration": m, "side": side, "hour": hour, "bucket": bucket, "count": n}
                    for (m, side, hour, bucket), n in batch.latencies.items()
                ],
                keys=("migration", "side", "hour", "bucket"),
            )
            self._add_rows(
                conn,
                tables.fallbacks,
                [
                    {"migration": m, "operation": op, "hour": hour, "count": n, "last_at": last}
                    for (m, op, hour), (n, last) in batch.fallbacks.items()
                ],
                keys=("migration", "operation", "hour"),
                latest=("last_at",),
            )
            self._add_rows(
                conn,
                tables.fallback_fields,
                [
                    {"migration": m, "coordinate": c, "hour": hour, "count": n}
                    for (m, c, hour), n in batch.fallback_fields.items()
                ],
                keys=("migration", "coordinate", "hour"),
            )
            self._add_rows(
                conn,
                tables.shadow_drops,
                [{"migration": m, "hour": hour, "count": n} for (m, hour), n in batch.shadow_drops.items()],
                keys=("migration", "hour"),
            )
            self._add_rows(
                conn,
                tables.coverage,
                [
                    {
                        "migration": m,
                        "coordinate": c,
                        "operation": op,
                        "hour": hour,
                        "comparisons": n,
                        "values": values,
                        "differing": differing,
                    }
                    for (m, c, op, hour), (n, values, differing) in batch.coverage.items()
                ],
                keys=("migration", "coordinate", "operation", "hour"),
                add=("comparisons", "values", "differing"),
            )
            self._add_rows(
                conn,
                tables.noise,
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
                tables.diff_groups,
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
                sa.select(tables.diff_samples.c.signature, tables.diff_samples.c.hour, sa.func.count())
                .where(
                    tables.diff_samples.c.signature.in_(signatures[start : start + _IN_CHUNK]),
                    tables.diff_samples.c.hour >= earliest,
                )
                .group_by(tables.diff_samples.c.signature, tables.diff_samples.c.hour)
            )
            for signature, hour, count in conn.execute(query):
                stored[(signature, hour)] = int(count)
        rows = [
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
            for sample in samples_within_quota(batch.diff_samples, stored, self.samples_per_hour)
        ]
        if rows:
            conn.execute(sa.insert(tables.diff_samples), rows)

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
                sa.select(tables.comparisons.c.outcome, sa.func.sum(tables.comparisons.c.count))
                .where(*recent(tables.comparisons))
                .group_by(tables.comparisons.c.outcome)
            ):
                outcomes[outcome] = int(count or 0)
            operations = conn.execute(
                sa.select(sa.func.count(sa.distinct(tables.comparisons.c.operation))).where(
                    *recent(tables.comparisons), tables.comparisons.c.count > 0
                )
            ).scalar_one()
            for side, bucket, count in conn.execute(
                sa.select(tables.latency.c.side, tables.latency.c.bucket, sa.func.sum(tables.latency.c.count))
                .where(*recent(tables.latency))
                .group_by(tables.latency.c.side, tables.latency.c.bucket)
            ):
                latency.setdefault(side, {})[int(bucket)] = int(count or 0)
            fallbacks, last_fallback = conn.execute(
                sa.select(
                    sa.func.sum(tables.fallbacks.c.count), sa.func.max(tables.fallbacks.c.last_at)
                ).where(*recent(tables.fallbacks))
            ).one()
            dropped = conn.execute(
                sa.select(sa.func.sum(tables.shadow_drops.c.count)).where(*recent(tables.shadow_drops))
            ).scalar_one()
            open_query = sa.select(sa.func.count()).where(
                tables.diff_groups.c.migration == name,
                tables.diff_groups.c.noise.is_(False),
                sa.or_(
                    tables.diff_groups.c.acknowledged_until.is_(None),
                    tables.diff_groups.c.acknowledged_until <= now,
                ),
            )
            if hour is not None:  # from the same minute as the counters, so that both tell one story
                open_query = open_query.where(tables.diff_groups.c.last_seen >= hour)
            open_groups = conn.execute(open_query).scalar_one()
            coverage = self._coverage(conn, recent(tables.coverage))
            for coordinate, count in conn.execute(
                sa.select(tables.fallback_fields.c.coordinate, sa.func.sum(tables.fallback_fields.c.count))
                .where(*recent(tables.fallback_fields))
                .group_by(tables.fallback_fields.c.coordinate)
            ):
                coverage[coordinate] = replace(
                    coverage.get(coordinate, Coverage()), fallbacks=int(count or 0)
                )
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
                sa.select(
                    tables.noise.c.coordinate,
                    sa.func.sum(tables.noise.c["values"]),
                    sa.func.sum(tables.noise.c.differing),
                )
                .where(tables.noise.c.migration == name, tables.noise.c.hour >= hour)
                .group_by(tables.noise.c.coordinate)
            ):
                rates.itself_values[coordinate] = int(values or 0)
                rates.itself_differing[coordinate] = int(differing or 0)
            if rates.itself_values:
                for coordinate, values, differing in conn.execute(
                    sa.select(
                        tables.coverage.c.coordinate,
                        sa.func.sum(tables.coverage.c["values"]),
                        sa.func.sum(tables.coverage.c.differing),
                    )
                    .where(
                        tables.coverage.c.migration == name,
                        tables.coverage.c.hour >= hour,
                        tables.coverage.c.coordinate.in_(list(rates.itself_values)),
                    )
                    .group_by(tables.coverage.c.coordinate)
                ):
                    rates.candidate_values[coordinate] = int(values or 0)
                    rates.candidate_differing[coordinate] = int(differing or 0)
        return rates

    @staticmethod
    def _coverage(conn: Connection, where: list[sa.ColumnElement[bool]]) -> dict[str, Coverage]:
        found: dict[str, Coverage] = {}
        query = (
            sa.select(
                tables.coverage.c.coordinate,
                sa.func.sum(tables.coverage.c.comparisons),
                sa.func.sum(tables.coverage.c["values"]),
                sa.func.sum(tables.coverage.c.differing),
                sa.func.count(sa.distinct(tables.coverage.c.operation)),
            )
            .where(*where)
            .group_by(tables.coverage.c.coordinate)
        )
        for coordinate, comparisons, values, differing, operations in conn.execute(query):
            found[coordinate] = Coverage(
                comparisons=int(comparisons or 0),
                values=int(values or 0),
                differing=int(differing or 0),
                operations=int(operations or 0),
            )
        return found

    def diff_groups(
        self, name: str, include_acknowledged: bool = True, samples_per_group: int = 5
    ) -> list[DiffGroup]:
        """The diff groups of `name`, most frequent first, each with its newest samples."""
        query = sa.select(tables.diff_groups).where(tables.diff_groups.c.migration == name)
        if not include_acknowledged:
            query = query.where(
                sa.or_(
                    tables.diff_groups.c.acknowledged_until.is_(None),
                    tables.diff_groups.c.acknowledged_until <= _now(),
                )
            )
        query = query.order_by(
            tables.diff_groups.c.count.desc(),
            tables.diff_groups.c.last_seen.desc(),
            tables.diff_groups.c.signature,
        )
        samples: dict[str, list[DiffSample]] = defaultdict(list)
        with self._begin() as conn:
            groups = conn.execute(query).all()
            if groups and samples_per_group > 0:
                rank = (
                    sa.func.row_number()
                    .over(
                        partition_by=tables.diff_samples.c.signature,
                        order_by=(tables.diff_samples.c.at.desc(), tables.diff_samples.c.id.desc()),
                    )
                    .label("rank")
                )
                ranked = (
                    sa.select(tables.diff_samples, rank)
                    .join(
                        tables.diff_groups, tables.diff_groups.c.signature == tables.diff_samples.c.signature
                    )
                    .where(tables.diff_groups.c.migration == name)
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
                sa.update(tables.diff_groups)
                .where(tables.diff_groups.c.signature == signature)
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
                sa.select(
                    tables.comparisons.c.hour,
                    tables.comparisons.c.outcome,
                    sa.func.sum(tables.comparisons.c.count),
                )
                .where(tables.comparisons.c.migration == name, tables.comparisons.c.hour >= start)
                .group_by(tables.comparisons.c.hour, tables.comparisons.c.outcome)
            ):
                outcomes[hour][outcome] = int(count or 0)
            for hour, side, bucket, count in conn.execute(
                sa.select(
                    tables.latency.c.hour,
                    tables.latency.c.side,
                    tables.latency.c.bucket,
                    tables.latency.c.count,
                ).where(tables.latency.c.migration == name, tables.latency.c.hour >= start)
            ):
                histograms[hour].setdefault(side, {})[int(bucket)] = int(count)
            for hour, count in conn.execute(
                sa.select(tables.fallbacks.c.hour, sa.func.sum(tables.fallbacks.c.count))
                .where(tables.fallbacks.c.migration == name, tables.fallbacks.c.hour >= start)
                .group_by(tables.fallbacks.c.hour)
            ):
                fallbacks[hour] = int(count or 0)
            for hour, count in conn.execute(
                sa.select(tables.shadow_drops.c.hour, tables.shadow_drops.c.count).where(
                    tables.shadow_drops.c.migration == name, tables.shadow_drops.c.hour >= start
                )
            ):
                drops[hour] = int(count)
        return minute_series(outcomes, histograms, fallbacks, drops)

    # -- retention ------------------------------------------------------------------------------------------------

    def prune(self, older_than: datetime) -> int:
        """Delete evidence older than `older_than`; returns the number of rows deleted.

        Samples taken before it, hourly rows whose hour ended by then, and diff groups last seen before it
        (unless their acknowledgement is still running). Stages and the stage log are kept.
        """
        cutoff = tables.utc(older_than)
        deleted = 0
        with self._begin(write=True) as conn:
            result = conn.execute(sa.delete(tables.diff_samples).where(tables.diff_samples.c.at < cutoff))
            deleted += max(result.rowcount, 0)
            stale = sa.and_(
                tables.diff_groups.c.last_seen < cutoff,
                sa.or_(
                    tables.diff_groups.c.acknowledged_until.is_(None),
                    tables.diff_groups.c.acknowledged_until <= _now(),
                ),
            )
            # samples of a stale group are older than its last_seen, so already gone; no cascade needed
            result = conn.execute(sa.delete(tables.diff_groups).where(stale))
            deleted += max(result.rowcount, 0)
            for table in tables.HOURLY:
                result = conn.execute(sa.delete(table).where(table.c.hour <= cutoff - _HOUR))
                deleted += max(result.rowcount, 0)
            batch_log.prune(conn)
        return deleted
