"""The migrations report: one structure for `turnout migrations`, its --json, and the dashboard's API."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Protocol

from ..supergraph.model import SupergraphModel
from .model import DiffGroup, Migration, MigrationEvidence, MigrationState, Stage, StageChange
from .readiness import check_move, evidence_since, fields_declared_by, next_stage

__all__ = ["EvidenceSource", "evidence_json", "migration_report", "removal_message", "stage_change_json"]


class EvidenceSource(Protocol):
    def get_states(self) -> dict[str, MigrationState]: ...

    def evidence(self, name: str, since: datetime | None = None) -> MigrationEvidence: ...

    def diff_groups(self, name: str, include_acknowledged: bool = True,
                    samples_per_group: int = 5) -> list[DiffGroup]: ...

    def stage_log(self, name: str | None = None, limit: int = 100) -> list[StageChange]: ...


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def stage_change_json(change: StageChange) -> dict[str, Any]:
    return {
        "name": change.name,
        "from": str(change.from_stage),
        "to": str(change.to_stage),
        "percent": change.percent,
        "at": _iso(change.at),
        "by": change.by,
        "reason": change.reason,
        "forced": change.forced,
        "evidence": change.evidence,
    }


def evidence_json(evidence: MigrationEvidence) -> dict[str, Any]:
    """The evidence as JSON-ready data (latencies as [p50, p99] lists, times as ISO 8601)."""
    out = asdict(evidence)
    out["match_rate"] = evidence.match_rate
    out["last_fallback"] = _iso(evidence.last_fallback)
    out["latency_from_ms"] = list(evidence.latency_from_ms)
    out["latency_to_ms"] = list(evidence.latency_to_ms)
    return out


def removal_message(migration: Migration, model: SupergraphModel | None) -> str:
    """Whether `from` may drop the migrated fields: what the supergraph says it still declares."""
    if model is None:
        return f"no supergraph known: cannot tell whether {migration.from_subgraph} still declares these fields"
    still_declared = fields_declared_by(model, migration, migration.from_subgraph)
    if still_declared:
        return f"{migration.from_subgraph} still declares {', '.join(still_declared)}"
    return f"{migration.from_subgraph} no longer declares these fields: its old code can go"


def migration_report(
    migrations: list[Migration], store: EvidenceSource, model: SupergraphModel | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every migration: its fields, stage, rollout, evidence and what the next stage needs."""
    now = now or datetime.now(UTC)
    states = store.get_states()
    out = []
    for migration in migrations:
        state = states.get(migration.name, MigrationState(name=migration.name))
        evidence = store.evidence(migration.name)
        # the gates judge the evidence of the current stage; what is shown is all of it
        since = evidence_since(migration, state, now)
        gated = store.evidence(migration.name, since=since) if since is not None else evidence
        target = next_stage(state.stage)
        verdict = check_move(migration, state, target, gated, model=model, now=now) if target else None
        days = (now - state.changed_at).total_seconds() / 86400 if state.changed_at else None
        removal = removal_message(migration, model) if state.stage == Stage.REMOVED else None
        out.append({
            "name": migration.name,
            "from": migration.from_subgraph,
            "to": migration.to_subgraph,
            "fields": list(migration.fields),
            "label": migration.label,
            "stage": str(state.stage),
            "percent": state.percent if state.stage == Stage.MIGRATED else None,
            "changed_at": _iso(state.changed_at),
            "changed_by": state.changed_by,
            "days_in_stage": days,
            "evidence": evidence_json(evidence),
            "gate_evidence": evidence_json(gated),
            "gate_evidence_since": _iso(since),
            "next_stage": str(target) if target else None,
            "ready": verdict.ok if verdict else None,
            "readiness": verdict.summary if verdict else "final stage",
            "blockers": list(verdict.reasons) if verdict else [],
            "removal": removal,
        })
    return out
