"""The migration engine: stages from the store, a Decision per request, and the evidence it records."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

from ..clock import SYSTEM_CLOCK, Clock
from ..executor.memo import FetchRecord
from ..supergraph.model import SupergraphModel
from .compare import MigrationComparison
from .model import ComparisonOutcome, Difference, InstanceStage, Migration, MigrationState, Stage
from .noise import NoiseTally, noise_since, noisy_coordinates
from .routing import CohortKey, Decision, Router, cohort_bucket
from .shadow import ShadowQueue
from .store_protocol import MigrationStore

__all__ = ["EvidenceSink", "Fanout", "MigrationEngine"]

log = logging.getLogger("turnout.migration")


class EvidenceSink(Protocol):
    """Where comparisons, latencies and fallbacks go (the batched recorder); never blocks."""

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
    ) -> None: ...

    def latency(self, migration: str, side: str, ms: float) -> None: ...

    def repeat(self, migration: str, values: Mapping[str, int], differing: Mapping[str, int]) -> None: ...

    def fallback(self, migration: str, operation: str, coordinates: Iterable[str] = ()) -> None: ...

    def shadow_dropped(self, migration: str) -> None: ...


class Fanout:
    """Several evidence sinks behind one (the store's recorder, the metrics)."""

    def __init__(self, sinks: Iterable[EvidenceSink]) -> None:
        self.sinks = list(sinks)

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
    ) -> None:
        for sink in self.sinks:
            sink.comparison(
                migration,
                operation,
                outcome,
                differences,
                noisy_coordinates,
                values=values,
                differing=differing,
            )

    def latency(self, migration: str, side: str, ms: float) -> None:
        for sink in self.sinks:
            sink.latency(migration, side, ms)

    def repeat(self, migration: str, values: Mapping[str, int], differing: Mapping[str, int]) -> None:
        for sink in self.sinks:
            sink.repeat(migration, values, differing)

    def fallback(self, migration: str, operation: str, coordinates: Iterable[str] = ()) -> None:
        for sink in self.sinks:
            sink.fallback(migration, operation, coordinates)

    def shadow_dropped(self, migration: str) -> None:
        for sink in self.sinks:
            sink.shadow_dropped(migration)


class MigrationEngine:
    """Decides each request's routing from the migrations' stored stages and records what happens."""

    def __init__(
        self,
        model: SupergraphModel,
        migrations: Sequence[Migration],
        *,
        states: MigrationStore | None = None,
        evidence: EvidenceSink | None = None,
        cohort: CohortKey | None = None,
        shadow: ShadowQueue | None = None,
        refresh_interval: float = 2.0,
        rng: random.Random | None = None,
        instance: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.model = model
        self.clock = clock
        self.migrations = {m.name: m for m in migrations}
        self.router = Router(model, list(migrations))
        self.state_source = states
        self.evidence = evidence
        self.cohort = cohort or CohortKey()
        self.shadow = shadow or ShadowQueue(clock=clock)
        self.refresh_interval = refresh_interval
        self.rng = rng or random.Random()
        self.states: dict[str, MigrationState] = {m.name: MigrationState(name=m.name) for m in migrations}
        # what this instance runs, and since when: reported to the store on every refresh
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"
        self.picked: dict[str, InstanceStage] = {}
        # per migration: how often each coordinate differs between two runs of the old side, and between the
        # old side and the new; a coordinate is noise when the first is about as frequent as the second
        self.noise: dict[str, NoiseTally] = {m.name: NoiseTally(clock=clock) for m in migrations}
        # the verdicts from every instance's counts in the store (refreshed with the stages); None without one
        self._stored_noise: dict[str, set[str]] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._refreshed_at: float | None = None  # clock.monotonic() of the last stages read from the store
        self._refresh_failing = False

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.refresh()
        except Exception as error:
            if self._refreshed_at is None:  # nothing read ever: the stages are unknown, refuse to start
                raise
            # a reload while the store is away: serve the stages the replaced engine read last
            log.error(
                "could not read migration stages (%s); serving the ones read %.0f s ago until the store "
                "answers again",
                _problem(error),
                self.stages_age(),
            )
            self._refresh_failing = True
        self.shadow.start()
        if self.state_source is not None and self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_forever(), name="turnout-stage-refresh")

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        await self.shadow.close()

    async def refresh(self) -> None:
        """Read every migration's stage from the store, and tell it what this instance now runs."""
        if self.state_source is None:
            return
        stored = await asyncio.to_thread(self.state_source.get_states)
        self._refreshed_at = self.clock.monotonic()
        self.states = {name: stored.get(name, MigrationState(name=name)) for name in self.migrations}
        now = self.clock.now()
        for name, state in self.states.items():
            known = self.picked.get(name)
            if known is None or (known.stage, known.percent) != (state.stage, state.percent):
                self.picked[name] = InstanceStage(stage=state.stage, percent=state.percent, since=now)
        # noise as every instance measured it, over the last two windows: shared, and expiring
        source, since = self.state_source, noise_since(now)
        try:
            found = await asyncio.to_thread(
                lambda: {name: source.noise_rates(name, since) for name in self.migrations}
            )
        except Exception as error:
            log.warning(
                "could not read the noise rates from the store (%s); keeping the last ones", _problem(error)
            )
        else:
            self._stored_noise = {name: noisy_coordinates(rates) for name, rates in found.items()}
        try:
            await asyncio.to_thread(source.report_instance, self.instance, dict(self.picked))
        except Exception as error:
            log.warning("could not report this instance's stages to the store (%s)", _problem(error))

    async def _refresh_forever(self) -> None:
        while True:
            await self.clock.sleep(self.refresh_interval)
            try:
                await self.refresh()
            except Exception as error:
                if not self._refresh_failing:  # once per outage, not every interval
                    log.error(
                        "could not read migration stages (%s); serving the last ones read until the "
                        "store answers again",
                        _problem(error),
                    )
                self._refresh_failing = True
            else:
                if self._refresh_failing:
                    log.warning("migration stages read from the store again")
                self._refresh_failing = False

    def carry_over(self, old: MigrationEngine) -> None:
        """Take the stages `old` (the engine this one replaces) read last, for the migrations both know."""
        if old._refreshed_at is None:
            return
        for name in self.migrations:
            if name in old.states:
                self.states[name] = old.states[name]
            if name in old.picked:
                self.picked[name] = old.picked[name]
        self._refreshed_at = old._refreshed_at

    def stages_age(self) -> float | None:
        """Seconds since the stages were last read from the store (None: never, or no store)."""
        if self._refreshed_at is None:
            return None
        return self.clock.monotonic() - self._refreshed_at

    # -- per request ----------------------------------------------------------------------------------------

    def decide(self, headers: Mapping[str, str], variables: Mapping[str, Any] | None, kind: str) -> Decision:
        """The routing of one request, with the candidate routings it is compared under. The sampling coin of
        each comparison is flipped here, before the request runs: a request no comparison will use keeps no
        answers for it (the fetch memo costs a serialization per fetch), and each migration is sampled at its
        own rate. Writes are never candidates unless the migration declares them safe to run twice."""
        bucket = cohort_bucket(self.cohort, headers, variables, self.rng)
        decision = self.router.decide(self.states, bucket)
        if not decision.candidates:
            return decision
        sampled = {
            name: routing
            for name, routing in decision.candidates.items()
            if (kind == "query" or (kind == "mutation" and self.migrations[name].shadow_mutations))
            and self.rng.random() < self.sampling(self.migrations[name])
        }
        return dataclasses.replace(decision, candidates=MappingProxyType(sampled))

    def pick_shadow(self, eligible: Sequence[str]) -> Migration | None:
        """The one migration this request is compared for, among the sampled ones its plan touches: one
        comparison per request at most, so two migrations sampled together take turns."""
        if not eligible:
            return None
        return self.migrations[self.rng.choice(eligible)]

    def sampling(self, migration: Migration) -> float:
        """The share of eligible requests compared: in side_by_side the stored stage's percent (set with
        `turnout migrate NAME --to side_by_side --percent N`, picked up like a stage), else `sample_rate`."""
        state = self.states.get(migration.name)
        if state is not None and state.stage == Stage.SIDE_BY_SIDE:
            return state.percent / 100.0
        return migration.sample_rate

    def wants_noise_run(self, migration: Migration) -> bool:
        return self.rng.random() < migration.noise_rate

    # -- evidence ---------------------------------------------------------------------------------------------

    def record_comparison(
        self, migration: Migration, operation: str, comparison: MigrationComparison, candidate_failed: bool
    ) -> ComparisonOutcome:
        """Record one comparison of `migration` (its differences already on its own coordinates)."""
        differences = comparison.differences
        noisy = self.noisy_for(migration.name)
        outcome: ComparisonOutcome
        if candidate_failed:
            outcome = "error"
        elif not differences:
            outcome = "match"
        elif all(d.coordinate in noisy for d in differences):
            outcome = "noise"
        else:
            outcome = "mismatch"
        if not candidate_failed and migration.name in self.noise:
            self.noise[migration.name].against_candidate(comparison)
        if self.evidence is not None:
            # a failure of the new side is never noise, whatever its coordinates
            self.evidence.comparison(
                migration.name,
                operation,
                outcome,
                differences,
                set() if candidate_failed else noisy,
                values=comparison.values,
                differing=comparison.differing,
            )
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "comparison %s of %s: %s",
                migration.name,
                operation,
                outcome,
                extra={"migration": migration.name, "operation": operation, "outcome": outcome},
            )
        return outcome

    def learn_noise(self, migration: Migration, repeat: MigrationComparison) -> None:
        """An old-vs-old comparison (the primary run twice, concurrently with the candidate)."""
        if migration.name in self.noise:
            self.noise[migration.name].against_itself(repeat)
        if self.evidence is not None:
            self.evidence.repeat(migration.name, repeat.values, repeat.differing)

    def noisy_for(self, name: str) -> set[str]:
        """The coordinates of migration `name` judged noise now: from every instance's counts in the store when
        there is one (read on each refresh), and this instance's own not yet written."""
        tally = self.noise.get(name)
        own = tally.noisy() if tally is not None else set()
        return own | self._stored_noise.get(name, set()) if self._stored_noise is not None else own

    @property
    def noisy(self) -> dict[str, set[str]]:
        """`noisy_for` of every migration."""
        return {name: self.noisy_for(name) for name in self.noise}

    def record_latencies(self, migration: Migration, fetches: Iterable[FetchRecord]) -> None:
        if self.evidence is None:
            return
        for fetch in fetches:
            if fetch.memo_hit:
                continue
            if fetch.service == migration.from_subgraph:
                self.evidence.latency(migration.name, "from", fetch.milliseconds)
            elif fetch.service == migration.to_subgraph:
                self.evidence.latency(migration.name, "to", fetch.milliseconds)

    def record_fallback(self, migration: Migration, operation: str, coordinates: Iterable[str] = ()) -> None:
        """One request of `operation` whose fetches to `migration`'s new subgraph failed and were answered by
        the old one; `coordinates`: the migrating fields those fetches were asked for."""
        if self.evidence is not None:
            self.evidence.fallback(
                migration.name, operation, sorted(set(coordinates) & set(migration.fields))
            )

    def record_drop(self, migration: Migration) -> None:
        if self.evidence is not None:
            self.evidence.shadow_dropped(migration.name)


def _problem(error: BaseException) -> str:
    """An error in one line for the log (a database error's first line; its traceback helps nobody here)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__
