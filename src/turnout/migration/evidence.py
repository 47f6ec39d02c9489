"""Evidence as counted before it is written: the time buckets and the latency histogram every counter row is keyed
by, the rows of diff groups and samples, and the batch (`EvidenceBatch`) the recorder fills and the store writes.
Pure data and arithmetic: no SQL, no I/O (the store writes a batch; the recorder fills one)."""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .model import match_rate

__all__ = [
    "LATENCY_BOUNDS_MS",
    "DiffGroupRow",
    "DiffSampleRow",
    "EvidenceBatch",
    "canonical_json",
    "diff_signature",
    "hour_bucket",
    "latency_bucket",
    "latency_quantile",
    "minute_bucket",
]

# Upper bounds (ms) of the latency histogram buckets: 40 log-spaced bounds from 0.5ms to 60s. Bucket i counts
# values in (bounds[i-1], bounds[i]]; bucket 40 counts everything above 60s.
LATENCY_BOUNDS_MS: tuple[float, ...] = tuple(round(0.5 * (60_000 / 0.5) ** (i / 39), 4) for i in range(40))


def _utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def hour_bucket(at: datetime) -> datetime:
    """The start (aware, UTC) of the hour `at` falls in: the key that bounds diff samples per hour."""
    return _utc(at).replace(minute=0, second=0, microsecond=0)


def minute_bucket(at: datetime) -> datetime:
    """The start (aware, UTC) of the minute `at` falls in: the key of every counter row (the `hour` column)."""
    return _utc(at).replace(second=0, microsecond=0)


def latency_bucket(ms: float) -> int:
    """Index of the histogram bucket for a latency in milliseconds (0 .. len(LATENCY_BOUNDS_MS))."""
    if math.isnan(ms):
        raise ValueError("latency is NaN")
    return bisect.bisect_left(LATENCY_BOUNDS_MS, max(ms, 0.0))


def latency_quantile(counts: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of a histogram {bucket index: count}, interpolated inside its bucket."""
    total = sum(c for c in counts.values() if c > 0)
    if total <= 0:
        return None
    rank = min(max(q, 0.0), 1.0) * total
    seen = 0
    for index in sorted(counts):
        count = counts[index]
        if count <= 0:
            continue
        if seen + count >= rank:
            if index >= len(LATENCY_BOUNDS_MS):
                return LATENCY_BOUNDS_MS[-1]
            lower = LATENCY_BOUNDS_MS[index - 1] if index > 0 else 0.0
            upper = LATENCY_BOUNDS_MS[index]
            return lower + (upper - lower) * ((rank - seen) / count)
        seen += count
    return LATENCY_BOUNDS_MS[-1]


def canonical_json(value: Any) -> str:
    """The canonical JSON text of a value: sorted keys, no spaces, UTF-8 kept (what sample hashes are of)."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # keys that cannot be sorted or serialised
        return json.dumps(repr(value), ensure_ascii=False)


def diff_signature(migration: str, coordinate: str, operation: str, kind: str) -> str:
    """The identity of a diff group: sha256 hex of `migration|coordinate|operation|kind`."""
    return hashlib.sha256(f"{migration}|{coordinate}|{operation}|{kind}".encode()).hexdigest()


@dataclass(kw_only=True, slots=True)
class DiffGroupRow:
    """A diff group's pending increment."""

    signature: str
    migration: str
    coordinate: str
    operation: str
    kind: str
    noise: bool
    count: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class DiffSampleRow:
    """A pending diff sample, already redacted."""

    signature: str
    hour: datetime
    at: datetime
    path: str
    primary: str
    candidate: str
    primary_hash: str
    candidate_hash: str


@dataclass
class EvidenceBatch:
    """Evidence not yet written: counters keyed like the store's rows, and diff samples."""

    comparisons: dict[tuple[str, str, datetime, str], int] = field(default_factory=dict)
    """(migration, operation, hour, outcome) -> count"""
    latencies: dict[tuple[str, str, datetime, int], int] = field(default_factory=dict)
    """(migration, side, hour, bucket index) -> count"""
    fallbacks: dict[tuple[str, str, datetime], tuple[int, datetime]] = field(default_factory=dict)
    """(migration, operation, hour) -> (count, last at)"""
    fallback_fields: dict[tuple[str, str, datetime], int] = field(default_factory=dict)
    """(migration, coordinate, hour) -> requests whose fetch of it fell back"""
    shadow_drops: dict[tuple[str, datetime], int] = field(default_factory=dict)
    """(migration, hour) -> count"""
    coverage: dict[tuple[str, str, str, datetime], tuple[int, int, int]] = field(default_factory=dict)
    """(migration, coordinate, operation, hour) -> (comparisons, values compared, values differing)"""
    repeats: dict[tuple[str, str, datetime], tuple[int, int]] = field(default_factory=dict)
    """(migration, coordinate, hour) -> (values the old side was compared with itself on, values differing)"""
    diff_groups: dict[str, DiffGroupRow] = field(default_factory=dict)
    """signature -> pending increment"""
    diff_samples: list[DiffSampleRow] = field(default_factory=list)
    sample_counts: dict[tuple[str, datetime], int] = field(default_factory=dict, repr=False)
    """(signature, hour) -> samples in diff_samples"""

    @property
    def empty(self) -> bool:
        return not (
            self.comparisons
            or self.latencies
            or self.fallbacks
            or self.fallback_fields
            or self.shadow_drops
            or self.coverage
            or self.repeats
            or self.diff_groups
            or self.diff_samples
        )

    def size(self) -> int:
        """Rows this batch would write (at most)."""
        return (
            len(self.comparisons)
            + len(self.latencies)
            + len(self.fallbacks)
            + len(self.fallback_fields)
            + len(self.shadow_drops)
            + len(self.coverage)
            + len(self.repeats)
            + len(self.diff_groups)
            + len(self.diff_samples)
        )

    def add_comparison(
        self, migration: str, operation: str, outcome: str, at: datetime, count: int = 1
    ) -> None:
        key = (migration, operation, minute_bucket(at), outcome)
        self.comparisons[key] = self.comparisons.get(key, 0) + count

    def add_latency(self, migration: str, side: str, ms: float, at: datetime) -> None:
        key = (migration, side, minute_bucket(at), latency_bucket(ms))
        self.latencies[key] = self.latencies.get(key, 0) + 1

    def add_fallback(
        self, migration: str, operation: str, at: datetime, count: int = 1, coordinates: Iterable[str] = ()
    ) -> None:
        key = (migration, operation, minute_bucket(at))
        seen, last = self.fallbacks.get(key, (0, at))
        self.fallbacks[key] = (seen + count, max(last, at))
        for coordinate in coordinates:
            fkey = (migration, coordinate, minute_bucket(at))
            self.fallback_fields[fkey] = self.fallback_fields.get(fkey, 0) + count

    def add_coverage(
        self,
        migration: str,
        coordinate: str,
        operation: str,
        at: datetime,
        values: int,
        differing: int,
        comparisons: int = 1,
    ) -> None:
        key = (migration, coordinate, operation, minute_bucket(at))
        n, v, d = self.coverage.get(key, (0, 0, 0))
        self.coverage[key] = (n + comparisons, v + values, d + differing)

    def add_repeat(self, migration: str, coordinate: str, at: datetime, values: int, differing: int) -> None:
        key = (migration, coordinate, minute_bucket(at))
        v, d = self.repeats.get(key, (0, 0))
        self.repeats[key] = (v + values, d + differing)

    def add_shadow_drop(self, migration: str, at: datetime, count: int = 1) -> None:
        key = (migration, minute_bucket(at))
        self.shadow_drops[key] = self.shadow_drops.get(key, 0) + count

    def add_diff_group(self, row: DiffGroupRow) -> None:
        """Add a group increment (count, seen times; the newest noise flag wins)."""
        group = self.diff_groups.get(row.signature)
        if group is None:
            self.diff_groups[row.signature] = DiffGroupRow(
                signature=row.signature,
                migration=row.migration,
                coordinate=row.coordinate,
                operation=row.operation,
                kind=row.kind,
                noise=row.noise,
                count=row.count,
                first_seen=row.first_seen,
                last_seen=row.last_seen,
            )
            return
        group.count += row.count
        group.first_seen = min(group.first_seen, row.first_seen)
        if row.last_seen >= group.last_seen:
            group.last_seen = row.last_seen
            group.noise = row.noise

    def add_diff_sample(self, sample: DiffSampleRow, limit: int) -> bool:
        """Keep a sample unless `limit` samples of its group and hour are pending already (its group must be in
        the batch)."""
        key = (sample.signature, sample.hour)
        if self.sample_counts.get(key, 0) >= limit:
            return False
        self.sample_counts[key] = self.sample_counts.get(key, 0) + 1
        self.diff_samples.append(sample)
        return True

    def merge(self, other: EvidenceBatch, samples_per_hour: int) -> None:
        """Add `other` into this batch."""
        for ckey, n in other.comparisons.items():
            self.comparisons[ckey] = self.comparisons.get(ckey, 0) + n
        for lkey, n in other.latencies.items():
            self.latencies[lkey] = self.latencies.get(lkey, 0) + n
        for fkey, (n, last) in other.fallbacks.items():
            seen, mine = self.fallbacks.get(fkey, (0, last))
            self.fallbacks[fkey] = (seen + n, max(mine, last))
        for fkey2, n in other.fallback_fields.items():
            self.fallback_fields[fkey2] = self.fallback_fields.get(fkey2, 0) + n
        for dkey, n in other.shadow_drops.items():
            self.shadow_drops[dkey] = self.shadow_drops.get(dkey, 0) + n
        for (m, c, hour), (values, differing) in other.repeats.items():
            was = self.repeats.get((m, c, hour), (0, 0))
            self.repeats[(m, c, hour)] = (was[0] + values, was[1] + differing)
        for (m, c, op, hour), (n, values, differing) in other.coverage.items():
            had = self.coverage.get((m, c, op, hour), (0, 0, 0))
            self.coverage[(m, c, op, hour)] = (had[0] + n, had[1] + values, had[2] + differing)
        for group in other.diff_groups.values():
            self.add_diff_group(group)
        for sample in other.diff_samples:
            self.add_diff_sample(sample, samples_per_hour)


def samples_within_quota(
    samples: Iterable[DiffSampleRow], stored: dict[tuple[str, datetime], int], per_hour: int
) -> list[DiffSampleRow]:
    """The samples to keep: at most `per_hour` per diff group and bucket, counting the `stored` ones (updated)."""
    kept: list[DiffSampleRow] = []
    for sample in samples:
        key = (sample.signature, sample.hour)
        if stored.get(key, 0) >= per_hour:
            continue
        stored[key] = stored.get(key, 0) + 1
        kept.append(sample)
    return kept


def minute_series(
    outcomes: Mapping[datetime, Mapping[str, int]],
    histograms: Mapping[datetime, Mapping[str, Mapping[int, int]]],
    fallbacks: Mapping[datetime, int],
    drops: Mapping[datetime, int],
) -> list[dict[str, Any]]:
    """The dashboard's time series from per-minute counters: per minute with any evidence, oldest first, the
    counts, the match rate (`model.match_rate`), fallbacks, drops and p50/p99 per side."""
    series: list[dict[str, Any]] = []
    for minute in sorted(set(outcomes) | set(histograms) | set(fallbacks) | set(drops)):
        counts = outcomes.get(minute, {})
        matches, mismatches = counts.get("match", 0), counts.get("mismatch", 0)
        histogram = histograms.get(minute, {})
        series.append(
            {
                "hour": minute,
                "comparisons": sum(counts.values()),
                "matches": matches,
                "mismatches": mismatches,
                "noise": counts.get("noise", 0),
                "errors": counts.get("error", 0),
                "match_rate": match_rate(matches, mismatches, counts.get("error", 0)),
                "fallbacks": fallbacks.get(minute, 0),
                "shadow_dropped": drops.get(minute, 0),
                "p50_from_ms": latency_quantile(histogram.get("from", {}), 0.5),
                "p99_from_ms": latency_quantile(histogram.get("from", {}), 0.99),
                "p50_to_ms": latency_quantile(histogram.get("to", {}), 0.5),
                "p99_to_ms": latency_quantile(histogram.get("to", {}), 0.99),
            }
        )
    return series
