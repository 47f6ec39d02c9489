"""The evidence recorder: counts and redacted diff samples from the request path, written to the store in batches."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from .evidence import DiffGroupRow, DiffSampleRow, EvidenceBatch, canonical_json, diff_signature, hour_bucket
from .model import ComparisonOutcome, Difference
from .store import Store

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

_ERROR_CHARS = 1000  # what an error sample keeps of the error's message
_MAX_NAME = 200  # migration, operation and coordinate names longer than this are cut (they are keys)
_OUTCOMES = frozenset({"match", "mismatch", "noise", "error"})
_SIDES = frozenset({"from", "to"})


def _now() -> datetime:
    return datetime.now(UTC)


def _name(value: str) -> str:
    return value.replace("\x00", "")[:_MAX_NAME]


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
