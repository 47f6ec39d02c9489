"""The evidence recorder: counts and redacted diff samples from the request path, written to the store in batches."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .model import ComparisonOutcome, Difference
from .store import Store, hour_bucket, latency_bucket, minute_bucket

__all__ = [
    "DEFAULT_REDACT_PATTERNS",
    "DiffGroupRow",
    "DiffSampleRow",
    "EvidenceBatch",
    "Recorder",
    "canonical_json",
    "diff_signature",
]

from ..observability.redaction import DEFAULT_REDACT_PATTERNS, REDACTED

log = logging.getLogger("turnout.migration.recorder")

_MAX_NAME = 200  # migration, operation and coordinate names longer than this are cut (they are keys)
_OUTCOMES = frozenset({"match", "mismatch", "noise", "error"})
_SIDES = frozenset({"from", "to"})


def _now() -> datetime:
    return datetime.now(UTC)


def _name(value: str) -> str:
    return value.replace("\x00", "")[:_MAX_NAME]


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


_ERROR_CHARS = 1000  # what an error sample keeps of the error's message


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

    def add_comparison(self, migration: str, operation: str, outcome: str, at: datetime, count: int = 1) -> None:
        key = (migration, operation, minute_bucket(at), outcome)
        self.comparisons[key] = self.comparisons.get(key, 0) + count

    def add_latency(self, migration: str, side: str, ms: float, at: datetime) -> None:
        key = (migration, side, minute_bucket(at), latency_bucket(ms))
        self.latencies[key] = self.latencies.get(key, 0) + 1

    def add_fallback(self, migration: str, operation: str, at: datetime, count: int = 1,
                     coordinates: Iterable[str] = ()) -> None:
        key = (migration, operation, minute_bucket(at))
        seen, last = self.fallbacks.get(key, (0, at))
        self.fallbacks[key] = (seen + count, max(last, at))
        for coordinate in coordinates:
            fkey = (migration, coordinate, minute_bucket(at))
            self.fallback_fields[fkey] = self.fallback_fields.get(fkey, 0) + count

    def add_coverage(self, migration: str, coordinate: str, operation: str, at: datetime, values: int,
                     differing: int, comparisons: int = 1) -> None:
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

    def trim_samples(self, max_rows: int) -> int:
        """Drop the newest samples until the batch has at most `max_rows` rows (counters are kept); returns how
        many were dropped."""
        excess = min(self.size() - max_rows, len(self.diff_samples))
        if excess <= 0:
            return 0
        for sample in self.diff_samples[-excess:]:
            key = (sample.signature, sample.hour)
            self.sample_counts[key] -= 1
        del self.diff_samples[-excess:]
        return excess


class Recorder:
    """The batched evidence writer, off the request path.

    The recording methods (comparison, latency, fallback, shadow_dropped) are synchronous, never block on the
    database and never raise because of it: they add to a pending batch that a background task writes every
    `flush_interval` seconds (the store call runs in a thread). When `max_pending` rows are pending, new records
    are dropped and counted in `dropped`. A failed write is logged and its batch kept for the next flush.

    Diff samples are redacted: unless `full_values`, a sample keeps the first `preview_chars` characters of the
    value's JSON (then "…") and the sha256 of its canonical JSON; text matching any of `redact_patterns` (by
    default e-mail addresses, auth-scheme credentials, JWTs and long tokens) is replaced by "[redacted]" before
    anything is kept, full values included.
    """

    def __init__(
        self,
        store: Store,
        flush_interval: float = 1.0,
        max_pending: int = 10000,
        *,
        full_values: bool = False,
        redact_patterns: Iterable[str | re.Pattern[str]] | None = None,
        preview_chars: int = 60,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        if flush_interval <= 0:
            raise ValueError("flush_interval must be > 0")
        self.store = store
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.full_values = full_values
        self.preview_chars = preview_chars
        self.clock = clock
        patterns = DEFAULT_REDACT_PATTERNS if redact_patterns is None else redact_patterns
        self.redact_patterns: tuple[re.Pattern[str], ...] = tuple(
            p if isinstance(p, re.Pattern) else re.compile(p) for p in patterns
        )
        self._pending = EvidenceBatch()
        self._lock = threading.Lock()  # the recording methods may be called from worker threads too
        self._flush_lock = asyncio.Lock()
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0
        self._failed_flushes = 0
        self._failing = False

    # -- counters for metrics and tests -----------------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Records dropped because too much was pending."""
        return self._dropped

    @property
    def pending(self) -> int:
        """Rows waiting for the next flush."""
        return self._pending.size()

    @property
    def failed_flushes(self) -> int:
        return self._failed_flushes

    # -- the request path ---------------------------------------------------------------------------------------------

    def comparison(
        self,
        migration: str,
        operation: str,
        outcome: ComparisonOutcome,
        differences: list[Difference],
        noisy_coordinates: set[str],
        *,
        values: Mapping[str, int] | None = None,
        differing: Mapping[str, int] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Count one comparison, what it covered of each coordinate, and group its differences (a group counts
        the comparisons it appeared in)."""
        if outcome not in _OUTCOMES:
            raise ValueError(f"unknown comparison outcome {outcome!r}")
        at = at or self.clock()
        migration, operation = _name(migration), _name(operation)
        with self._lock:
            if self._full():
                return
            batch = self._pending
            batch.add_comparison(migration, operation, outcome, at)
            differed = differing or {}
            for coordinate in {*(values or {}), *differed}:
                batch.add_coverage(migration, _name(coordinate), operation, at, (values or {}).get(coordinate, 0),
                                   differed.get(coordinate, 0))
            seen: set[str] = set()
            for difference in differences:
                coordinate, kind = _name(difference.coordinate), _name(difference.kind)
                signature = diff_signature(migration, coordinate, operation, kind)
                if signature in seen:
                    continue
                seen.add(signature)
                batch.add_diff_group(
                    DiffGroupRow(
                        signature=signature,
                        migration=migration,
                        coordinate=coordinate,
                        operation=operation,
                        kind=kind,
                        noise=difference.coordinate in noisy_coordinates,
                        count=1,
                        first_seen=at,
                        last_seen=at,
                    )
                )
                hour = hour_bucket(at)
                limit = self.store.samples_per_hour
                if batch.sample_counts.get((signature, hour), 0) < limit:  # else skip the JSON work
                    batch.add_diff_sample(self._sample(signature, hour, at, difference), limit)

    def latency(self, migration: str, side: str, ms: float, *, at: datetime | None = None) -> None:
        """Count one fetch's latency on `side` ('from' or 'to')."""
        if side not in _SIDES:
            raise ValueError(f"latency side must be 'from' or 'to', not {side!r}")
        if not math.isfinite(ms):
            return
        at = at or self.clock()
        with self._lock:
            if not self._full():
                self._pending.add_latency(_name(migration), side, ms, at)

    def repeat(self, migration: str, values: Mapping[str, int], differing: Mapping[str, int], *,
               at: datetime | None = None) -> None:
        """Count one noise run: the old side compared with itself, per coordinate."""
        at = at or self.clock()
        with self._lock:
            if self._full():
                return
            for coordinate in {*values, *differing}:
                self._pending.add_repeat(_name(migration), _name(coordinate), at, values.get(coordinate, 0),
                                         differing.get(coordinate, 0))

    def fallback(self, migration: str, operation: str, coordinates: Iterable[str] = (), *,
                 at: datetime | None = None) -> None:
        """Count one fallback (a failed `to` fetch re-run on `from`), and one at each migrating field it was
        asked for."""
        at = at or self.clock()
        with self._lock:
            if not self._full():
                self._pending.add_fallback(_name(migration), _name(operation), at,
                                           coordinates=[_name(c) for c in coordinates])

    def shadow_dropped(self, migration: str, *, at: datetime | None = None) -> None:
        """Count one comparison dropped because the shadow queue was full."""
        at = at or self.clock()
        with self._lock:
            if not self._full():
                self._pending.add_shadow_drop(_name(migration), at)

    def _full(self) -> bool:
        if self._pending.size() < self.max_pending:
            return False
        if not self._dropped:
            log.warning("evidence recorder: %d rows pending, dropping new records", self.max_pending)
        self._dropped += 1
        return True

    def redact(self, text: str) -> str:
        for pattern in self.redact_patterns:
            text = pattern.sub(REDACTED, text)
        return text

    def _value(self, value: Any, preview: int) -> tuple[str, str]:
        text = value if isinstance(value, str) and preview == _ERROR_CHARS else canonical_json(value)
        digest = hashlib.sha256(text.encode()).hexdigest()
        shown = self.redact(text)
        if not self.full_values and len(shown) > preview:
            shown = shown[:preview] + "…"
        return shown.replace("\x00", ""), digest

    def _sample(self, signature: str, hour: datetime, at: datetime, difference: Difference) -> DiffSampleRow:
        # an error is kept as the subgraph said it (redacted all the same), not cut to a value's preview
        preview = _ERROR_CHARS if difference.kind == "error" else self.preview_chars
        primary, primary_hash = self._value(difference.primary, preview)
        candidate, candidate_hash = self._value(difference.candidate, preview)
        path = ".".join(str(part) for part in difference.path)
        return DiffSampleRow(
            signature=signature,
            hour=hour,
            at=at,
            path=self.redact(path).replace("\x00", ""),
            primary=primary,
            candidate=candidate,
            primary_hash=primary_hash,
            candidate_hash=candidate_hash,
        )

    # -- writing ----------------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start flushing every `flush_interval` seconds in a background task."""
        if self._task is not None and not self._task.done():
            return
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run(self._stop), name="turnout-evidence-recorder")

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.flush_interval)
            if stop.is_set():
                return
            try:
                await self.flush()
            except Exception:  # never let the loop die
                log.exception("evidence recorder: flush failed")

    async def flush(self) -> bool:
        """Write what is pending; False when the store failed (the batch is kept for the next flush)."""
        async with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, EvidenceBatch()
            if batch.empty:
                return True
            try:
                await asyncio.to_thread(self.store.write, batch)
            except Exception:
                self._failed_flushes += 1
                if not self._failing:
                    log.warning("evidence recorder: store write failed, keeping %d rows", batch.size(), exc_info=True)
                else:
                    log.debug("evidence recorder: store write failed again", exc_info=True)
                self._failing = True
                with self._lock:
                    batch.merge(self._pending, self.store.samples_per_hour)
                    self._dropped += batch.trim_samples(self.max_pending)
                    self._pending = batch
                return False
            if self._failing:
                log.info("evidence recorder: store writes succeed again")
                self._failing = False
            return True

    async def close(self) -> None:
        """Stop the background task and flush what is pending (kept, and logged, if the store fails)."""
        task, stop = self._task, self._stop
        self._task = self._stop = None
        if task is not None and stop is not None:
            stop.set()
            await task
        await self.flush()
