"""The evidence recorder: counts and redacted diff samples from the request path, written to the store in batches."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .evidence import DiffGroupRow, DiffSampleRow, EvidenceBatch, canonical_json, diff_signature, hour_bucket
from .model import ComparisonOutcome, Difference
from .store_protocol import MigrationStore

__all__ = [
    "DEFAULT_REDACT_PATTERNS",
    "DiffGroupRow",
    "DiffSampleRow",
    "EvidenceBatch",
    "Recorder",
    "canonical_json",
    "diff_signature",
]

from ..clock import SYSTEM_CLOCK, Clock
from ..observability.redaction import DEFAULT_REDACT_PATTERNS, REDACTED

log = logging.getLogger("turnout.migration.recorder")

_ERROR_CHARS = 1000  # what an error sample keeps of the error's message
_MAX_NAME = 200  # migration, operation and coordinate names longer than this are cut (they are keys)
_OUTCOMES = frozenset({"match", "mismatch", "noise", "error"})
_SIDES = frozenset({"from", "to"})


def _name(value: str) -> str:
    return value.replace("\x00", "")[:_MAX_NAME]


class Recorder:
    """The batched evidence writer, off the request path.

    The recording methods (comparison, latency, fallback, shadow_dropped) are synchronous, never block on the
    database and never raise because of it: they add to a pending batch that a background task writes every
    `flush_interval` seconds (the store call runs in a thread). When `max_pending` rows wait (pending, and the
    batch being written), new records are dropped and counted in `dropped` (logged when it starts, then once a
    minute and when the store returns, with the count).

    Each batch gets an id when it is first written, and is written again as it is, under the same id, until the
    store takes it: the store records the id in the batch's own transaction, so a write that failed half-way is
    simply done again and one whose commit went through unacknowledged is not counted twice. What is recorded
    meanwhile waits in the pending batch, for the next one.

    Diff samples are redacted: unless `full_values`, a sample keeps the first `preview_chars` characters of the
    value's JSON (then "…") and the sha256 of its canonical JSON; text matching any of `redact_patterns` (by
    default e-mail addresses, auth-scheme credentials, JWTs and long tokens) is replaced by "[redacted]" before
    anything is kept, full values included.
    """

    def __init__(
        self,
        store: MigrationStore,
        flush_interval: float = 1.0,
        max_pending: int = 10000,
        *,
        full_values: bool = False,
        redact_patterns: Iterable[str | re.Pattern[str]] | None = None,
        preview_chars: int = 60,
        clock: Clock = SYSTEM_CLOCK,
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
        self._unsent: tuple[str, EvidenceBatch] | None = None  # the batch being written, and its id
        self._unsent_rows = 0
        self._lock = threading.Lock()  # the recording methods may be called from worker threads too
        self._flush_lock = asyncio.Lock()
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0
        self._dropped_logged = 0
        self._dropped_logged_at = 0.0
        self._drop_told = False
        self._failed_flushes = 0
        self._failing = False
        self._duplicates = 0
        self._prefix = uuid.uuid4().hex[:16]  # this recorder's batch ids: prefix-sequence
        self._sequence = 0

    # -- counters for metrics and tests -----------------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Records dropped because too much was pending."""
        return self._dropped

    @property
    def pending(self) -> int:
        """Rows waiting to be written: the pending batch's and the unwritten batch's."""
        return self._pending.size() + self._unsent_rows

    @property
    def failed_flushes(self) -> int:
        return self._failed_flushes

    @property
    def failing(self) -> bool:
        """The last write to the store failed (evidence waits in memory)."""
        return self._failing

    @property
    def dropping(self) -> bool:
        """The buffer is full: new records are dropped."""
        return self.pending >= self.max_pending

    @property
    def duplicates(self) -> int:
        """Batches written again that the store had taken already (their acknowledgement was lost)."""
        return self._duplicates

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
        at = at or self.clock.now()
        migration, operation = _name(migration), _name(operation)
        with self._lock:
            if self._full():
                return
            batch = self._pending
            batch.add_comparison(migration, operation, outcome, at)
            differed = differing or {}
            for coordinate in {*(values or {}), *differed}:
                batch.add_coverage(
                    migration,
                    _name(coordinate),
                    operation,
                    at,
                    (values or {}).get(coordinate, 0),
                    differed.get(coordinate, 0),
                )
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
        at = at or self.clock.now()
        with self._lock:
            if not self._full():
                self._pending.add_latency(_name(migration), side, ms, at)

    def repeat(
        self,
        migration: str,
        values: Mapping[str, int],
        differing: Mapping[str, int],
        *,
        at: datetime | None = None,
    ) -> None:
        """Count one noise run: the old side compared with itself, per coordinate."""
        at = at or self.clock.now()
        with self._lock:
            if self._full():
                return
            for coordinate in {*values, *differing}:
                self._pending.add_repeat(
                    _name(migration),
                    _name(coordinate),
                    at,
                    values.get(coordinate, 0),
                    differing.get(coordinate, 0),
                )

    def fallback(
        self, migration: str, operation: str, coordinates: Iterable[str] = (), *, at: datetime | None = None
    ) -> None:
        """Count one fallback (a failed `to` fetch re-run on `from`), and one at each migrating field it was
        asked for."""
        at = at or self.clock.now()
        with self._lock:
            if not self._full():
                self._pending.add_fallback(
                    _name(migration), _name(operation), at, coordinates=[_name(c) for c in coordinates]
                )

    def shadow_dropped(self, migration: str, *, at: datetime | None = None) -> None:
        """Count one comparison dropped because the shadow queue was full."""
        at = at or self.clock.now()
        with self._lock:
            if not self._full():
                self._pending.add_shadow_drop(_name(migration), at)

    def _full(self) -> bool:
        if self._pending.size() + self._unsent_rows < self.max_pending:
            return False
        if not self._drop_told:  # the first drop of an episode is logged at once; the rest in sums
            log.warning(
                "evidence recorder: %d rows wait for the store (store.max_pending); new evidence is "
                "dropped and counted (turnout_evidence_dropped_total)",
                self.max_pending,
            )
            self._drop_told = True
            self._dropped_logged = self._dropped + 1
            self._dropped_logged_at = self.clock.monotonic()
        self._dropped += 1
        return True

    def _log_drops(self, *, force: bool = False) -> None:
        """Say how much was dropped since the last time it was said (at most once a minute, unless `force`)."""
        new = self._dropped - self._dropped_logged
        if new > 0 and (force or self.clock.monotonic() - self._dropped_logged_at >= 60):
            log.warning(
                "evidence recorder: %d more records dropped (%d in all) while %d rows waited for the store",
                new,
                self._dropped,
                self.pending,
            )
            self._dropped_logged = self._dropped
            self._dropped_logged_at = self.clock.monotonic()
        if force:
            self._drop_told = False  # the next drop starts a new episode

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
        stopped = asyncio.ensure_future(stop.wait())
        interval: asyncio.Future[None] | None = None
        try:
            while not stop.is_set():
                interval = asyncio.ensure_future(self.clock.sleep(self.flush_interval))
                await asyncio.wait((stopped, interval), return_when=asyncio.FIRST_COMPLETED)
                interval.cancel()
                if stop.is_set():
                    return
                try:
                    await self.flush()
                except Exception:  # never let the loop die
                    log.exception("evidence recorder: flush failed")
        finally:  # stopped, or cancelled while waiting: leave no task behind
            stopped.cancel()
            if interval is not None:
                interval.cancel()

    async def flush(self) -> bool:
        """Write the batch not written yet, if any, then what is pending; False when the store failed (the
        evidence is kept for the next flush)."""
        async with self._flush_lock:
            for _ in range(2):  # the batch left unwritten by a failure, then the pending one
                with self._lock:
                    if self._unsent is None:
                        if self._pending.empty:
                            break
                        self._sequence += 1
                        batch, self._pending = self._pending, EvidenceBatch()
                        self._unsent = (f"{self._prefix}-{self._sequence}", batch)
                        self._unsent_rows = batch.size()
                    batch_id, batch = self._unsent
                try:
                    written = await asyncio.to_thread(self.store.write, batch, batch_id)
                except Exception as error:
                    self._failed_flushes += 1
                    if not self._failing:
                        log.warning(
                            "evidence recorder: store write failed (%s: %s), keeping %d rows in memory",
                            type(error).__name__,
                            str(error).splitlines()[0][:200] if str(error) else "",
                            self.pending,
                        )
                    else:
                        log.debug("evidence recorder: store write failed again", exc_info=True)
                    self._failing = True
                    self._log_drops()
                    return False
                with self._lock:
                    self._unsent, self._unsent_rows = None, 0
                if not written:
                    self._duplicates += 1
                    log.info(
                        "evidence recorder: batch %s was written before (its acknowledgement was lost); "
                        "not counted again",
                        batch_id,
                    )
                if self._failing:
                    log.warning("evidence recorder: store writes succeed again")
                    self._failing = False
                    self._log_drops(force=True)
            self._log_drops()
            return True

    async def close(self) -> None:
        """Stop the background task and flush what is pending (kept, and logged, if the store fails)."""
        task, stop = self._task, self._stop
        self._task = self._stop = None
        if task is not None and stop is not None:
            stop.set()
            await task
        await self.flush()
