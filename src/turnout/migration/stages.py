"""Moving a migration to another stage: the one use case that the CLI, the demo and any operator tool share.

The gate judges the evidence of the current stage (since the migration entered it), the move is a
compare-and-set on the state the verdict was made on (a move by someone else meanwhile raises StageConflict,
never overwritten), and a forced move records what it overrode. `percent` is the rollout in `migrated` and the
sampling share in `side_by_side`; unless given, a stage keeps its own, and entering `side_by_side` starts at the
migration's configured `sample_rate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..supergraph.model import SupergraphModel
from .model import Migration, MigrationEvidence, MigrationState, Stage, StageChange
from .readiness import Verdict, check_move, evidence_since
from .report import evidence_json
from .store_protocol import MigrationStore

__all__ = ["Move", "default_percent", "move_stage"]


@dataclass(frozen=True, kw_only=True)
class Move:
    """What came of a move: the verdict, the change made (None when refused or when nothing was to change)."""

    state: MigrationState  # the state the verdict was made on
    verdict: Verdict
    evidence: MigrationEvidence  # what the gate read
    change: StageChange | None = None

    @property
    def unchanged(self) -> bool:
        return self.change is None and self.verdict.ok


def default_percent(migration: Migration, state: MigrationState, target: Stage) -> float:
    """The percent of a move that names none: the stage's own when staying in it, else where it starts."""
    if target == state.stage:
        return state.percent
    if target == Stage.SIDE_BY_SIDE:
        return migration.sample_rate * 100.0
    return 100.0


def move_stage(
    store: MigrationStore,
    migration: Migration,
    target: Stage,
    *,
    by: str,
    percent: float | None = None,
    reason: str | None = None,
    force: bool = False,
    model: SupergraphModel | None = None,
    now: datetime | None = None,
) -> Move:
    """Move `migration` to `target` if its gate allows (or `force`); StageConflict if it moved meanwhile."""
    state = store.get_states().get(migration.name, MigrationState(name=migration.name))
    evidence = store.evidence(migration.name, since=evidence_since(migration, state, now))
    share = percent if percent is not None else default_percent(migration, state, target)
    if target == state.stage and share == state.percent:  # nothing to change: nothing logged
        return Move(state=state, verdict=Verdict(target=target, ok=True), evidence=evidence)
    verdict = check_move(migration, state, target, evidence, percent=share, model=model, now=now)
    if not verdict.ok and not force:
        return Move(state=state, verdict=verdict, evidence=evidence)
    logged = evidence_json(evidence)
    if not verdict.ok:
        logged["blockers"] = list(verdict.reasons)  # what the force overrode
    change = store.set_stage(
        migration.name,
        target,
        percent=share,
        by=by,
        reason=reason or ("" if verdict.ok else verdict.summary),
        forced=not verdict.ok,
        evidence=logged,
        expected=state,
    )
    return Move(state=state, verdict=verdict, evidence=evidence, change=change)
