"""Promotion gates: what a migration must show before it moves a stage forward."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..supergraph.model import SupergraphModel
from .model import Coverage, Migration, MigrationEvidence, MigrationState, Stage

__all__ = ["Verdict", "check_move", "evidence_since", "fields_declared_by", "next_stage"]


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """Whether a move may happen, and why not."""

    target: Stage
    ok: bool
    reasons: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        return "ready" if self.ok else "; ".join(self.reasons)


def next_stage(stage: Stage) -> Stage | None:
    order = list(Stage)
    index = order.index(stage)
    return order[index + 1] if index + 1 < len(order) else None


def fields_declared_by(model: SupergraphModel | None, migration: Migration, subgraph: str) -> list[str]:
    """The migration's coordinates that `subgraph` (by name) declares in the supergraph."""
    if model is None:
        return []
    graph = model.subgraph_by_name(subgraph)
    if graph is None:
        return []
    coordinates = list(migration.fields)
    if migration.label:
        coordinates = [
            fdef.coordinate
            for typedef in model.types.values()
            for fdef in typedef.fields.values()
            if any(info.override_label == migration.label for info in fdef.in_graphs.values())
        ]
    found = []
    for coordinate in coordinates:
        type_name, _, field_name = coordinate.partition(".")
        typedef = model.types.get(type_name)
        fdef = typedef.fields.get(field_name) if typedef else None
        info = fdef.in_graphs.get(graph.enum) if fdef else None
        if info is not None and not info.external:
            found.append(coordinate)
    return found


def evidence_since(
    migration: Migration, state: MigrationState, now: datetime | None = None
) -> datetime | None:
    """Where the evidence the gates read begins: when the migration entered its current stage (a stage entered
    again, after a rollback, starts afresh), and no earlier than the gates' window. None: all of it."""
    since = state.changed_at
    window = migration.gates.evidence_window_seconds
    if window is not None:
        start = (now or datetime.now(UTC)) - timedelta(seconds=window)
        since = start if since is None else max(since, start)
    return since


def _coverage_gaps(migration: Migration, evidence: MigrationEvidence) -> list[str]:
    """Readiness is coverage: each field of the migration compared `min_comparisons` times (a field declared
    rare needs only to have been compared once). How many distinct operations compared each field is shown
    with its coverage; the gate on distinct operations is the migration's."""
    gates = migration.gates
    never: list[str] = []
    short: list[str] = []
    for coordinate in migration.fields:
        covered = evidence.coverage.get(coordinate, Coverage())
        if covered.comparisons == 0:
            if gates.min_comparisons > 0:
                never.append(coordinate)
            continue
        if coordinate in migration.rare_fields:
            continue
        # (a field short of what the whole migration is short of too is said once, by the migration's gate)
        if covered.comparisons < gates.min_comparisons <= evidence.comparisons:
            short.append(f"{coordinate}: {covered.comparisons} comparisons, {gates.min_comparisons} needed")
    out = [f"never compared: {', '.join(never)}"] if never else []
    return out + short


def check_move(
    migration: Migration,
    state: MigrationState,
    target: Stage,
    evidence: MigrationEvidence,
    *,
    percent: float = 100.0,
    model: SupergraphModel | None = None,
    now: datetime | None = None,
) -> Verdict:
    """The gate for moving `migration` from its stage to `target` (moving back is always allowed)."""
    now = now or datetime.now(UTC)
    reasons: list[str] = []
    gates = migration.gates
    if target.order <= state.stage.order:
        return Verdict(target=target, ok=True)
    if target.order > state.stage.order + 1:
        reasons.append(
            f"stages are taken one at a time: from {state.stage} the next is {next_stage(state.stage)}"
        )
    if target == Stage.SIDE_BY_SIDE:
        if model is None:
            reasons.append(f"no supergraph to check that {migration.to_subgraph} resolves the fields")
        else:
            declared = fields_declared_by(model, migration, migration.to_subgraph)
            missing = [c for c in migration.fields if c not in declared] if not migration.label else []
            if missing or (migration.label and not declared):
                reasons.append(
                    f"{migration.to_subgraph} does not resolve {', '.join(missing) or 'the labelled fields'}"
                )
    if target == Stage.MIGRATED:
        rate = evidence.match_rate  # candidate errors count against it (model.match_rate)
        if evidence.comparisons < gates.min_comparisons:
            reasons.append(f"{evidence.comparisons} comparisons, {gates.min_comparisons} needed")
        if rate is None:
            if gates.min_match_rate > 0:
                reasons.append(
                    f"match rate unknown (no comparison judged), {gates.min_match_rate:.2%} needed"
                )
        elif rate < gates.min_match_rate:
            failed = f", {evidence.errors} candidate errors counted as failures" if evidence.errors else ""
            reasons.append(f"match rate {rate:.2%}{failed}, {gates.min_match_rate:.2%} needed")
        reasons.extend(_coverage_gaps(migration, evidence))
        if evidence.operations < gates.min_operations:
            reasons.append(
                f"{evidence.operations} distinct operations compared, {gates.min_operations} needed"
            )
        if evidence.open_diff_groups:
            reasons.append(f"{evidence.open_diff_groups} diff groups open (fix or acknowledge them)")
    if target == Stage.REMOVED:
        if state.percent < 100.0:
            reasons.append(f"rollout is {state.percent:g}%, 100% needed")
        if evidence.last_fallback is not None:
            quiet = (now - evidence.last_fallback).total_seconds()
            if quiet < gates.removed_after_seconds:
                reasons.append(
                    f"last fallback {quiet:.0f}s ago, {gates.removed_after_seconds:.0f}s without one needed"
                )
        if state.changed_at is not None and state.stage == Stage.MIGRATED:
            held = (now - state.changed_at).total_seconds()
            if held < gates.removed_after_seconds:
                reasons.append(f"migrated for {held:.0f}s, {gates.removed_after_seconds:.0f}s needed")
    return Verdict(target=target, ok=not reasons, reasons=tuple(reasons))
