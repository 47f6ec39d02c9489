"""What a migration does to a request once it has run: fall back to the old subgraph where the new one failed, and
schedule the comparison with the candidate routing off the request path.

The gateway owns the pipeline (planning, execution, projection); it hands this module one `RequestRun`: how to plan
the same request under another routing, run a plan, shape a response, and count subgraph calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLSchema

from ..executor.fallback import replace_failed
from ..executor.memo import FetchMemo, FetchRecord
from ..executor.plan_executor import ExecutionState
from ..planner.plan_nodes import QueryPlan
from ..planner.routing import Routing
from .compare import MigrationComparison, compare_failure, compare_for_migration
from .engine import MigrationEngine
from .model import Migration
from .routing import Decision

__all__ = ["RequestRun", "compare_later", "fall_back"]


@dataclass(frozen=True, kw_only=True)
class RequestRun:
    """One request as the migration runtime sees it."""

    plan: Callable[
        [Routing], QueryPlan | None
    ]  # the request under another routing; None if it cannot be planned
    execute: Callable[[QueryPlan, FetchMemo | None], Awaitable[ExecutionState]]
    writes_known: Callable[
        [QueryPlan, FetchMemo], bool
    ]  # every write of the plan already answered in the memo
    project: Callable[[QueryPlan, ExecutionState], dict[str, Any]]  # the response ({"data", "errors"})
    count: Callable[[list[FetchRecord], str], None]  # subgraph calls made, by purpose (fallback, shadow)
    schema: GraphQLSchema
    variables: dict[str, Any]
    kind: str
    operation_name: str


async def fall_back(
    engine: MigrationEngine,
    run: RequestRun,
    decision: Decision,
    plan: QueryPlan,
    state: ExecutionState,
    memo: FetchMemo | None,
) -> tuple[QueryPlan, ExecutionState]:
    """When a migrated field's new subgraph failed, the old one answers what the failed fetches were to answer
    (executor.fallback); the rest of the response stays the new side's. Recorded per migration and per field.
    The whole response comes from the old side only where the two runs' objects do not match up."""
    assert decision.fallback is not None
    services = {m.to_subgraph for m in decision.served_by_to}
    failed = [f for f in state.fetches if not f.ok and f.service in services]
    culprits = [m for m in decision.served_by_to if any(f.service == m.to_subgraph for f in failed)]
    if not culprits:
        return plan, state
    fallback_plan = run.plan(decision.fallback)
    if fallback_plan is None:
        return plan, state
    if run.kind == "mutation" and (memo is None or not run.writes_known(fallback_plan, memo)):
        # never a second write: a mutation falls back only when its writes need not be sent again
        return plan, state
    fallback_state = await run.execute(fallback_plan, memo)
    run.count(fallback_state.fetches, "fallback")
    for migration in culprits:
        asked = frozenset().union(*(f.coordinates for f in failed if f.service == migration.to_subgraph))
        engine.record_fallback(migration, run.operation_name, asked)
    state.fell_back = True
    if replace_failed(state, fallback_state, failed, services):
        return plan, state
    # the two runs' objects do not match up (the old side lists others): no partial answer can be trusted
    fallback_state.fell_back = True
    return fallback_plan, fallback_state


def compare_later(
    engine: MigrationEngine,
    run: RequestRun,
    decision: Decision,
    plan: QueryPlan,
    state: ExecutionState,
    response: dict[str, Any],
    memo: FetchMemo,
) -> None:
    """Pick the migration this request is compared for (if any) and queue the comparison: the candidate plan
    run with the request's memo (only what migrates goes to the network), compared on that migration's
    coordinates, and, for a share of comparisons, the old side run again alongside (noise)."""
    if state.fell_back:
        # part of the response came from a fallback, the candidates were made against the primary routing:
        # their differences would mix another migration's fallback into this one's evidence. Not compared.
        return
    # the candidates were sampled in `decide`; those this operation's plan does not touch compare nothing
    eligible: dict[str, QueryPlan] = {}
    for name, candidate_routing in decision.candidates.items():
        candidate = run.plan(candidate_routing)
        if candidate is not None and candidate.signature != plan.signature:
            eligible[name] = candidate
    migration = engine.pick_shadow(list(eligible))
    if migration is None:
        return
    candidate_plan = eligible[migration.name]
    primary_fetches = list(state.fetches)
    repeat = engine.wants_noise_run(migration)
    decided = engine.states.get(migration.name)

    def compare(candidate: dict[str, Any]) -> MigrationComparison:
        return compare_for_migration(
            response,
            candidate,
            schema=run.schema,
            root_type=plan.root_type,
            selections=plan.selections,
            variables=run.variables,
            coordinates=frozenset(migration.fields),
            rules=migration.rules,
        )

    async def job() -> None:
        if engine.states.get(migration.name) != decided:
            # the migration moved since this request: its evidence belongs to the stage it was made in
            engine.record_drop(migration)
            return
        try:
            async with asyncio.timeout(engine.shadow.timeout):
                # the old side again, concurrently with the candidate, when noise is measured: a write landing
                # meanwhile touches both runs alike, never only the one compared with the new side
                runs = [run.execute(candidate_plan, memo.copy())]
                if repeat:
                    # only the fetches asking a migrating coordinate go to the old side again: the rest cannot
                    # touch what is compared
                    runs.append(run.execute(plan, memo.copy(fresh=frozenset(migration.fields))))
                candidate_state, *again = await asyncio.gather(*runs)
        except TimeoutError:
            engine.record_comparison(
                migration,
                run.operation_name,
                MigrationComparison(differences=[], values={}, differing={}),
                candidate_failed=True,
            )
            return
        _record(engine, run, migration, candidate_plan, candidate_state, compare)
        if again:
            engine.learn_noise(migration, compare(run.project(plan, again[0])))
        engine.record_latencies(migration, [*primary_fetches, *candidate_state.fetches])
        for shadow_state in (candidate_state, *again):
            run.count(shadow_state.fetches, "shadow")

    if not engine.shadow.submit(job, on_stale=lambda: engine.record_drop(migration)):
        engine.record_drop(migration)


def _record(
    engine: MigrationEngine,
    run: RequestRun,
    migration: Migration,
    candidate_plan: QueryPlan,
    candidate_state: ExecutionState,
    compare: Callable[[dict[str, Any]], MigrationComparison],
) -> None:
    """One comparison's outcome: an `error` when the new side failed (compare_failure), else the differences."""
    failed = [f for f in candidate_state.fetches if not f.ok and f.service == migration.to_subgraph]
    if not failed:
        engine.record_comparison(
            migration,
            run.operation_name,
            compare(run.project(candidate_plan, candidate_state)),
            candidate_failed=False,
        )
        return
    errors = [
        e
        for e in candidate_state.errors
        if e.get("extensions", {}).get("serviceName") == migration.to_subgraph
    ]
    failure = compare_failure(
        errors,
        failed,
        schema=run.schema,
        root_type=candidate_plan.root_type,
        selections=candidate_plan.selections,
        variables=run.variables,
        data=candidate_state.data,
        coordinates=frozenset(migration.fields),
    )
    engine.record_comparison(migration, run.operation_name, failure, candidate_failed=True)
