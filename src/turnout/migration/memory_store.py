"""A store in memory: the same contract as `Store` (migration/store.py), for one process and for tests.

Nothing survives the process and nothing is shared between instances: a gateway runs on it only when no
`store.url` is configured for a quick try; the tests of the engine, the report, the stage moves and the CLI
(handed to the commands as `cli.common.CommandContext`) use it where no database is the point.
`tests/migration/test_store.py` runs the store's contract against it too, so the two cannot drift apart.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from .evidence import EvidenceBatch, latency_quantile, minute_bucket, minute_series, samples_within_quota
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
)
from .noise import Rates
from .store_records import StageConflict

__all__ = ["MemoryStore"]

_HOUR = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Sample:
    signature: str
    hour: datetime
    sequence: int
    sample: DiffSample


class MemoryStore:
    """Stages and evidence in dictionaries, behind one lock (thread-safe, like `Store`)."""

    def __init__(self, *, samples_per_hour: int = 5) -> None:
        if samples_per_hour < 0:
            raise ValueError("samples_per_hour must be >= 0")
        self.samples_per_hour = samples_per_hour
        self._lock = threading.Lock()
        self._states: dict[str, MigrationState] = {}
        self._log: list[StageChange] = []
        self._instances: dict[str, tuple[datetime, dict[str, InstanceStage]]] = {}
        self._batches: set[str] = set()
        self._comparisons: dict[tuple[str, str, datetime, str], int] = defaultdict(int)
        self._latencies: dict[tuple[str, str, datetime, int], int] = defaultdict(int)
        self._fallbacks: dict[tuple[str, str, datetime], tuple[int, datetime]] = {}
        self._fallback_fields: dict[tuple[str, str, datetime], int] = defaultdict(int)
        self._drops: dict[tuple[str, datetime], int] = defaultdict(int)
        self._coverage: dict[tuple[str, str, str, datetime], tuple[int, int, int]] = {}
        self._repeats: dict[tuple[str, str, datetime], tuple[int, int]] = {}
        self._groups: dict[str, DiffGroup] = {}
        self._samples: list[_Sample] = []
        self._sequence = 0

    # the lifecycle of a database store, for callers that treat both alike

    def create_schema(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- stages -----------------------------------------------------------------------------------------------

    def get_states(self) -> dict[str, MigrationState]:
        with self._lock:
            return dict(self._states)

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
        stage = Stage(stage)
        percent = float(percent)
        if not 0.0 <= percent <= 100.0:
            raise ValueError(f"percent must be within 0..100, not {percent}")
        at = _now()
        with self._lock:
            old = self._states.get(name, MigrationState(name=name, stage=Stage.MONOLITH, percent=100.0))
            if expected is not None and (
                old.stage != Stage(expected.stage) or float(old.percent) != float(expected.percent)
            ):
                raise StageConflict(name, old.stage, float(old.percent), old.changed_by, old.changed_at)
            self._states[name] = MigrationState(
                name=name, stage=stage, percent=percent, changed_at=at, changed_by=by, reason=reason
            )
            change = StageChange(
                name=name,
                from_stage=old.stage,
                to_stage=stage,
                percent=percent,
                at=at,
                by=by,
                reason=reason,
                forced=forced,
                evidence=dict(evidence),
            )
            self._log.append(change)
        return change

    def report_instance(self, instance: str, stages: dict[str, InstanceStage]) -> None:
        with self._lock:
            self._instances[instance[:200]] = (_now(), dict(stages))

    def instances(self, name: str, seen_within: timedelta = timedelta(seconds=60)) -> list[InstanceReport]:
        now = _now()
        with self._lock:
            seen = sorted(self._instances.items())
        return [
            InstanceReport(
                instance=instance,
                seen_at=at,
                stage=Stage(stages[name].stage),
                percent=float(stages[name].percent),
                since=stages[name].since,
            )
            for instance, (at, stages) in seen
            if at >= now - seen_within and name in stages
        ]

    def stage_log(self, name: str | None = None, limit: int = 100) -> list[StageChange]:
        with self._lock:
            changes = [c for c in reversed(self._log) if name is None or c.name == name]
        return changes[:limit]

    # -- evidence in ------------------------------------------------------------------------------------------

    def write(self, batch: EvidenceBatch, batch_id: str | None = None) -> bool:
        if batch.empty:
            return True
        with self._lock:
            if batch_id is not None and batch_id in self._batches:
                return False
            orphans = {s.signature for s in batch.diff_samples} - set(batch.diff_groups) - set(self._groups)
            if orphans:  # as a database's foreign key would: the whole batch or nothing
                raise ValueError(f"diff samples of unknown groups: {sorted(orphans)[:3]}")
            if batch_id is not None:
                self._batches.add(batch_id)
            for key, n in batch.comparisons.items():
                self._comparisons[key] += n
            for latency_key, n in batch.latencies.items():
                self._latencies[latency_key] += n
            for fallback_key, (n, last) in batch.fallbacks.items():
                count, latest = self._fallbacks.get(fallback_key, (0, last))
                self._fallbacks[fallback_key] = (count + n, max(latest, last))
            for field_key, n in batch.fallback_fields.items():
                self._fallback_fields[field_key] += n
            for drop_key, n in batch.shadow_drops.items():
                self._drops[drop_key] += n
            for coverage_key, (n, values, differing) in batch.coverage.items():
                had = self._coverage.get(coverage_key, (0, 0, 0))
                self._coverage[coverage_key] = (had[0] + n, had[1] + values, had[2] + differing)
            for repeat_key, (values, differing) in batch.repeats.items():
                seen = self._repeats.get(repeat_key, (0, 0))
                self._repeats[repeat_key] = (seen[0] + values, seen[1] + differing)
            for g in batch.diff_groups.values():
                old = self._groups.get(g.signature)
                if old is None:
                    self._groups[g.signature] = DiffGroup(
                        signature=g.signature,
                        migration=g.migration,
                        coordinate=g.coordinate,
                        operation=g.operation,
                        kind=g.kind,
                        count=g.count,
                        first_seen=g.first_seen,
                        last_seen=g.last_seen,
                        noise=g.noise,
                    )
                else:
                    self._groups[g.signature] = replace(
                        old,
                        count=old.count + g.count,
                        first_seen=min(old.first_seen, g.first_seen),
                        last_seen=max(old.last_seen, g.last_seen),
                        noise=g.noise,
                    )
            self._add_samples(batch)
        return True

    def _add_samples(self, batch: EvidenceBatch) -> None:
        if not batch.diff_samples or self.samples_per_hour <= 0:
            return
        stored: dict[tuple[str, datetime], int] = defaultdict(int)
        for kept in self._samples:
            stored[(kept.signature, kept.hour)] += 1
        for sample in samples_within_quota(batch.diff_samples, stored, self.samples_per_hour):
            self._sequence += 1
            self._samples.append(
                _Sample(
                    sample.signature,
                    sample.hour,
                    self._sequence,
                    DiffSample(
                        at=sample.at,
                        path=sample.path,
                        primary=sample.primary,
                        candidate=sample.candidate,
                        primary_hash=sample.primary_hash,
                        candidate_hash=sample.candidate_hash,
                    ),
                )
            )

    # -- evidence out -----------------------------------------------------------------------------------------

    def evidence(self, name: str, since: datetime | None = None) -> MigrationEvidence:
        start = minute_bucket(since) if since is not None else None

        def recent(migration: str, minute: datetime) -> bool:
            return migration == name and (start is None or minute >= start)

        now = _now()
        with self._lock:
            outcomes: dict[str, int] = defaultdict(int)
            operations: set[str] = set()
            for (m, op, minute, outcome), n in self._comparisons.items():
                if recent(m, minute):
                    outcomes[outcome] += n
                    if n > 0:
                        operations.add(op)
            latency: dict[str, dict[int, int]] = {"from": defaultdict(int), "to": defaultdict(int)}
            for (m, side, minute, bucket), n in self._latencies.items():
                if recent(m, minute):
                    latency.setdefault(side, defaultdict(int))[bucket] += n
            fallen = [v for (m, _op, minute), v in self._fallbacks.items() if recent(m, minute)]
            dropped = sum(n for (m, minute), n in self._drops.items() if recent(m, minute))
            open_groups = sum(
                1
                for g in self._groups.values()
                if g.migration == name
                and not g.noise
                and (g.acknowledged_until is None or g.acknowledged_until <= now)
                and (start is None or g.last_seen >= start)
            )
            coverage = _coverage(
                (m, c, op, minute, v) for (m, c, op, minute), v in self._coverage.items() if recent(m, minute)
            )
            for (m, coordinate, minute), n in self._fallback_fields.items():
                if recent(m, minute):
                    found = coverage.get(coordinate, Coverage())
                    coverage[coordinate] = replace(found, fallbacks=found.fallbacks + n)
        return MigrationEvidence(
            name=name,
            comparisons=sum(outcomes.values()),
            matches=outcomes.get("match", 0),
            mismatches=outcomes.get("mismatch", 0),
            noise=outcomes.get("noise", 0),
            errors=outcomes.get("error", 0),
            operations=len(operations),
            fallbacks=sum(n for n, _at in fallen),
            last_fallback=max((at for _n, at in fallen), default=None),
            shadow_dropped=dropped,
            latency_from_ms=(latency_quantile(latency["from"], 0.5), latency_quantile(latency["from"], 0.99)),
            latency_to_ms=(latency_quantile(latency["to"], 0.5), latency_quantile(latency["to"], 0.99)),
            open_diff_groups=open_groups,
            coverage=coverage,
        )

    def noise_rates(self, name: str, since: datetime) -> Rates:
        start = minute_bucket(since)
        rates = Rates()
        with self._lock:
            for (m, coordinate, minute), (values, differing) in self._repeats.items():
                if m == name and minute >= start:
                    rates.itself_values[coordinate] = rates.itself_values.get(coordinate, 0) + values
                    rates.itself_differing[coordinate] = rates.itself_differing.get(coordinate, 0) + differing
            for (m, coordinate, _op, minute), (_n, values, differing) in self._coverage.items():
                if m == name and minute >= start and coordinate in rates.itself_values:
                    rates.candidate_values[coordinate] = rates.candidate_values.get(coordinate, 0) + values
                    rates.candidate_differing[coordinate] = (
                        rates.candidate_differing.get(coordinate, 0) + differing
                    )
        return rates

    def diff_groups(
        self, name: str, include_acknowledged: bool = True, samples_per_group: int = 5
    ) -> list[DiffGroup]:
        now = _now()
        with self._lock:
            groups = [
                g
                for g in self._groups.values()
                if g.migration == name
                and (include_acknowledged or g.acknowledged_until is None or g.acknowledged_until <= now)
            ]
            samples: dict[str, list[_Sample]] = defaultdict(list)
            for kept in self._samples:
                samples[kept.signature].append(kept)
        groups.sort(key=lambda g: g.signature)
        groups.sort(key=lambda g: (g.count, g.last_seen), reverse=True)
        out = []
        for g in groups:
            newest = sorted(
                samples.get(g.signature, ()), key=lambda s: (s.sample.at, s.sequence), reverse=True
            )
            out.append(replace(g, samples=tuple(s.sample for s in newest[: max(samples_per_group, 0)])))
        return out

    def acknowledge(self, signature: str, *, until: datetime, by: str, reason: str) -> bool:
        with self._lock:
            group = self._groups.get(signature)
            if group is None:
                return False
            self._groups[signature] = replace(
                group, acknowledged_until=until, acknowledged_by=by, acknowledged_reason=reason
            )
        return True

    def timeseries(self, name: str, since: datetime) -> list[dict[str, Any]]:
        start = minute_bucket(since)
        outcomes: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        histograms: dict[datetime, dict[str, dict[int, int]]] = defaultdict(
            lambda: {"from": defaultdict(int), "to": defaultdict(int)}
        )
        fallbacks: dict[datetime, int] = defaultdict(int)
        drops: dict[datetime, int] = defaultdict(int)
        with self._lock:
            for (m, _op, minute, outcome), n in self._comparisons.items():
                if m == name and minute >= start:
                    outcomes[minute][outcome] += n
            for (m, side, minute, bucket), n in self._latencies.items():
                if m == name and minute >= start:
                    histograms[minute].setdefault(side, defaultdict(int))[bucket] += n
            for (m, _op, minute), (n, _at) in self._fallbacks.items():
                if m == name and minute >= start:
                    fallbacks[minute] += n
            for (m, minute), n in self._drops.items():
                if m == name and minute >= start:
                    drops[minute] += n
        return minute_series(outcomes, histograms, fallbacks, drops)

    def prune(self, older_than: datetime) -> int:
        cutoff = older_than if older_than.tzinfo is not None else older_than.replace(tzinfo=UTC)
        now = _now()
        with self._lock:
            before = len(self._samples)
            self._samples = [s for s in self._samples if s.sample.at >= cutoff]
            deleted = before - len(self._samples)
            stale = [
                signature
                for signature, g in self._groups.items()
                if g.last_seen < cutoff and (g.acknowledged_until is None or g.acknowledged_until <= now)
            ]
            for signature in stale:
                del self._groups[signature]
            deleted += len(stale)
            last = cutoff - _HOUR  # a bucket whose hour ended by the cutoff
            counters: list[
                tuple[dict[Any, Any], int]
            ] = [  # each counter table, where its key holds the minute
                (self._comparisons, 2),
                (self._latencies, 2),
                (self._fallbacks, 2),
                (self._fallback_fields, 2),
                (self._drops, 1),
                (self._coverage, 3),
                (self._repeats, 2),
            ]
            for table, at in counters:
                old = [key for key in table if key[at] <= last]
                for key in old:
                    del table[key]
                deleted += len(old)
        return deleted


def _coverage(rows: Iterable[tuple[str, str, str, datetime, tuple[int, int, int]]]) -> dict[str, Coverage]:
    sums: dict[str, list[int]] = {}
    operations: dict[str, set[str]] = defaultdict(set)
    for _m, coordinate, operation, _minute, (n, values, differing) in rows:
        total = sums.setdefault(coordinate, [0, 0, 0])
        total[0] += n
        total[1] += values
        total[2] += differing
        operations[coordinate].add(operation)
    return {
        coordinate: Coverage(
            comparisons=n, values=values, differing=differing, operations=len(operations[coordinate])
        )
        for coordinate, (n, values, differing) in sums.items()
    }
