"""The migrations report: one structure for `turnout migrations`, its --json, and the dashboard's API."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from ..supergraph.model import SupergraphModel
from .model import (
    Coverage,
    Migration,
    MigrationEvidence,
    MigrationState,
    Stage,
    StageChange,
)
from .noise import Rates, noise_since, noisy_coordinates
from .readiness import check_move, evidence_since, fields_declared_by, next_stage
from .store_protocol import MigrationStore

__all__ = [
    "evidence_json",
    "fields_json",
    "instances_text",
    "migration_report",
    "removal_message",
    "rollout_text",
    "stage_change_json",
]


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


def rollout_text(row: dict[str, Any]) -> str:
    """A report row's rollout as every screen shows it: the share served by `to`, or the share compared."""
    if row["percent"] is not None:
        return f"{row['percent']:g}%"
    return f"{row['sampling']:g}% compared" if row.get("sampling") is not None else "-"


def instances_text(row: dict[str, Any]) -> str:
    """How many gateway instances reported lately, and how many of them do not run the stored stage yet."""
    seen = row.get("instances") or []
    if not seen:
        return "-"
    share = row["percent"] if row["percent"] is not None else row.get("sampling")
    behind = [i for i in seen if i["stage"] != row["stage"] or (share is not None and i["percent"] != share)]
    return f"{len(seen)}" + (f" ({len(behind)} behind)" if behind else "")


def evidence_json(evidence: MigrationEvidence) -> dict[str, Any]:
    """The evidence as JSON-ready data (latencies as [p50, p99] lists, times as ISO 8601)."""
    out = asdict(evidence)
    out["match_rate"] = evidence.match_rate
    out["last_fallback"] = _iso(evidence.last_fallback)
    out["latency_from_ms"] = list(evidence.latency_from_ms)
    out["latency_to_ms"] = list(evidence.latency_to_ms)
    out["coverage"] = {
        coordinate: {**asdict(covered), "differing_share": covered.differing_share}
        for coordinate, covered in sorted(evidence.coverage.items())
    }
    return out


def fields_json(migration: Migration, evidence: MigrationEvidence, rates: Rates) -> list[dict[str, Any]]:
    """Per migrating field: what was compared of it (coverage), how its fallbacks went, and its noise rates (the
    old side against itself, and against the new one) with the verdict the engine draws from them."""
    noisy = noisy_coordinates(rates)
    out = []
    for coordinate in migration.fields:
        covered = evidence.coverage.get(coordinate, Coverage())
        row: dict[str, Any] = {
            "coordinate": coordinate,
            "rare": coordinate in migration.rare_fields,
            **asdict(covered),
            "differing_share": covered.differing_share,
        }
        itself = rates.itself_values.get(coordinate, 0)
        candidate = rates.candidate_values.get(coordinate, 0)
        row["noise"] = {
            "itself_values": itself,
            "itself_differing": rates.itself_differing.get(coordinate, 0),
            "candidate_values": candidate,
            "candidate_differing": rates.candidate_differing.get(coordinate, 0),
            "noisy": coordinate in noisy,
        }
        out.append(row)
    return out


def removal_message(migration: Migration, model: SupergraphModel | None) -> str:
    """Whether `from` may drop the migrated fields: what the supergraph says it still declares."""
    if model is None:
        return (
            f"no supergraph known: cannot tell whether {migration.from_subgraph} still declares these fields"
        )
    still_declared = fields_declared_by(model, migration, migration.from_subgraph)
    if still_declared:
        return f"{migration.from_subgraph} still declares {', '.join(still_declared)}"
    return f"{migration.from_subgraph} no longer declares these fields: its old code can go"


def migration_report(
    migrations: list[Migration],
    store: MigrationStore,
    model: SupergraphModel | None = None,
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
        out.append(
            {
                "name": migration.name,
                "from": migration.from_subgraph,
                "to": migration.to_subgraph,
                "fields": list(migration.fields),
                "label": migration.label,
                "stage": str(state.stage),
                "percent": state.percent if state.stage == Stage.MIGRATED else None,
                "sampling": state.percent if state.stage == Stage.SIDE_BY_SIDE else None,
                "changed_at": _iso(state.changed_at),
                "changed_by": state.changed_by,
                "days_in_stage": days,
                "evidence": evidence_json(evidence),
                "field_evidence": fields_json(
                    migration, evidence, store.noise_rates(migration.name, noise_since(now))
                ),
                "gate_evidence": evidence_json(gated),
                "gate_evidence_since": _iso(since),
                "next_stage": str(target) if target else None,
                "ready": verdict.ok if verdict else None,
                "readiness": verdict.summary if verdict else "final stage",
                "blockers": list(verdict.reasons) if verdict else [],
                "removal": removal,
                # what each gateway instance seen in the last minute runs, and since when
                "instances": [
                    {
                        "instance": i.instance,
                        "stage": str(i.stage),
                        "percent": i.percent,
                        "since": _iso(i.since),
                        "seen_at": _iso(i.seen_at),
                    }
                    for i in store.instances(migration.name)
                ],
            }
        )
    return out
