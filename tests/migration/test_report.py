"""The migrations report: one row per migration with its stage, rollout, evidence, readiness and removal advice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from support.fixtures import load_supergraph
from turnout.migration.evidence import EvidenceBatch
from turnout.migration.memory_store import MemoryStore
from turnout.migration.model import (
    ComparisonOutcome,
    Coverage,
    Gates,
    Migration,
    MigrationEvidence,
    MigrationState,
    Stage,
    StageChange,
)
from turnout.migration.readiness import evidence_since
from turnout.migration.recorder import Recorder
from turnout.migration.report import evidence_json, migration_report, removal_message, stage_change_json
from turnout.migration.store import Store
from turnout.supergraph.join_spec import read_supergraph
from turnout.supergraph.model import SupergraphModel

CLASSROOM = read_supergraph(load_supergraph("classroom"))
OVERRIDES = read_supergraph(load_supergraph("migration"))
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

ASSIGNMENTS = Migration(
    name="assignments",
    from_subgraph="monolith",
    to_subgraph="assignments",
    fields=("Assignment.createdDate", "Query.assignments"),
    gates=Gates(min_comparisons=10, min_match_rate=0.9, min_operations=1),
)
BOTH_FIELDS = {"Assignment.createdDate": 1, "Query.assignments": 1}  # a comparison that reached both fields
EMAIL = Migration(name="email", from_subgraph="monolith", to_subgraph="customers", fields=("Customer.email",))
TIERS = Migration(
    name="tiers",
    from_subgraph="monolith",
    to_subgraph="customers",
    fields=("Customer.tier",),
    label="percent(25)",
)


class Evidence(MemoryStore):
    """A store (in memory) whose stages and evidence are made by hand."""

    def __init__(
        self,
        states: dict[str, MigrationState] | None = None,
        by_name: dict[str, MigrationEvidence] | None = None,
    ) -> None:
        super().__init__()
        self.states = dict(states or {})
        self.by_name = dict(by_name or {})

    def get_states(self) -> dict[str, MigrationState]:
        return dict(self.states)

    def evidence(self, name: str, since: datetime | None = None) -> MigrationEvidence:
        return self.by_name.get(name, MigrationEvidence(name=name))


def row_of(
    migration: Migration, source: Evidence, model: SupergraphModel | None = CLASSROOM
) -> dict[str, Any]:
    [row] = migration_report([migration], source, model, now=NOW)
    return row


# what the report says of a migration nothing was recorded for, whole and since its stage began
NO_EVIDENCE = {
    "name": "assignments",
    "comparisons": 0,
    "matches": 0,
    "mismatches": 0,
    "noise": 0,
    "errors": 0,
    "operations": 0,
    "fallbacks": 0,
    "last_fallback": None,
    "shadow_dropped": 0,
    "latency_from_ms": [None, None],
    "latency_to_ms": [None, None],
    "open_diff_groups": 0,
    "match_rate": None,
    "coverage": {},
}


def test_a_migration_never_moved_is_in_monolith() -> None:
    row = row_of(ASSIGNMENTS, Evidence())
    assert row == {
        "name": "assignments",
        "from": "monolith",
        "to": "assignments",
        "fields": ["Assignment.createdDate", "Query.assignments"],
        "label": None,
        "stage": "monolith",
        "percent": None,
        "changed_at": None,
        "changed_by": None,
        "days_in_stage": None,
        "evidence": NO_EVIDENCE,
        "gate_evidence": NO_EVIDENCE,
        "gate_evidence_since": None,
        "next_stage": "side_by_side",
        "ready": True,
        "readiness": "ready",
        "blockers": [],
        "removal": None,
        "sampling": None,
        "instances": [],
        "field_evidence": [
            {
                "coordinate": coordinate,
                "rare": False,
                "comparisons": 0,
                "operations": 0,
                "values": 0,
                "differing": 0,
                "fallbacks": 0,
                "differing_share": None,
                "noise": {
                    "itself_values": 0,
                    "itself_differing": 0,
                    "candidate_values": 0,
                    "candidate_differing": 0,
                    "noisy": False,
                },
            }
            for coordinate in ("Assignment.createdDate", "Query.assignments")
        ],
    }


def test_side_by_side_with_evidence_short_of_the_gate() -> None:
    source = Evidence(
        states={
            "assignments": MigrationState(
                name="assignments",
                stage=Stage.SIDE_BY_SIDE,
                changed_at=NOW - timedelta(days=3),
                changed_by="ada",
                reason="go",
            )
        },
        by_name={
            "assignments": MigrationEvidence(
                name="assignments",
                comparisons=8,
                matches=6,
                mismatches=2,
                operations=1,
                latency_from_ms=(2.0, 9.5),
                latency_to_ms=(3.0, 12.25),
                open_diff_groups=1,
                coverage={"Query.assignments": Coverage(comparisons=8, operations=1, values=8)},
            )
        },
    )
    row = row_of(ASSIGNMENTS, source)
    assert row["stage"] == "side_by_side"
    assert row["percent"] is None
    assert row["changed_at"] == "2025-05-29T12:00:00+00:00"
    assert row["changed_by"] == "ada"
    assert row["days_in_stage"] == 3.0
    evidence = row["evidence"]
    assert (evidence["comparisons"], evidence["match_rate"]) == (8, 0.75)
    assert (evidence["latency_from_ms"], evidence["latency_to_ms"]) == ([2.0, 9.5], [3.0, 12.25])
    assert row["next_stage"] == "migrated"
    assert row["ready"] is False
    assert row["blockers"] == [
        "8 comparisons, 10 needed",
        "match rate 75.00%, 90.00% needed",
        "never compared: Assignment.createdDate",
        "1 diff groups open (fix or acknowledge them)",
    ]
    assert row["readiness"] == "; ".join(row["blockers"])
    assert row["removal"] is None


def test_migrated_shows_its_rollout() -> None:
    source = Evidence(
        states={
            "assignments": MigrationState(
                name="assignments", stage=Stage.MIGRATED, percent=25, changed_at=NOW - timedelta(days=5)
            )
        }
    )
    row = row_of(ASSIGNMENTS, source)
    assert (row["stage"], row["percent"], row["next_stage"]) == ("migrated", 25, "removed")
    assert row["readiness"] == "rollout is 25%, 100% needed"


def test_migrated_ready_for_removal() -> None:
    source = Evidence(
        states={
            "assignments": MigrationState(
                name="assignments", stage=Stage.MIGRATED, changed_at=NOW - timedelta(days=5)
            )
        },
        by_name={
            "assignments": MigrationEvidence(
                name="assignments", fallbacks=2, last_fallback=NOW - timedelta(days=4)
            )
        },
    )
    row = row_of(ASSIGNMENTS, source)
    assert (row["ready"], row["readiness"], row["percent"]) == (True, "ready", 100.0)
    assert row["evidence"]["last_fallback"] == "2025-05-28T12:00:00+00:00"


def test_removed_while_from_still_declares_the_fields() -> None:
    source = Evidence(
        states={"assignments": MigrationState(name="assignments", stage=Stage.REMOVED, changed_at=NOW)}
    )
    row = row_of(ASSIGNMENTS, source)
    assert (row["stage"], row["next_stage"], row["ready"]) == ("removed", None, None)
    assert row["readiness"] == "final stage"
    assert row["blockers"] == []
    assert row["removal"] == "monolith still declares Assignment.createdDate, Query.assignments"


def test_removed_once_from_no_longer_declares_the_fields() -> None:
    source = Evidence(states={"email": MigrationState(name="email", stage=Stage.REMOVED, changed_at=NOW)})
    row = row_of(EMAIL, source, OVERRIDES)
    assert row["removal"] == "monolith no longer declares these fields: its old code can go"


def test_removed_for_a_label_looks_at_the_labelled_fields() -> None:
    source = Evidence(states={"tiers": MigrationState(name="tiers", stage=Stage.REMOVED, changed_at=NOW)})
    row = row_of(TIERS, source, OVERRIDES)
    assert row["label"] == "percent(25)"
    assert row["removal"] == "monolith still declares Customer.tier"


def test_removed_without_a_supergraph_does_not_guess() -> None:
    source = Evidence(states={"assignments": MigrationState(name="assignments", stage=Stage.REMOVED)})
    row = row_of(ASSIGNMENTS, source, None)
    assert row["removal"] == ("no supergraph known: cannot tell whether monolith still declares these fields")
    assert removal_message(ASSIGNMENTS, None) == row["removal"]


def test_without_a_supergraph_side_by_side_is_not_reported_ready() -> None:
    row = row_of(ASSIGNMENTS, Evidence(), None)
    assert row["ready"] is False
    assert row["readiness"] == "no supergraph to check that assignments resolves the fields"


def test_one_row_per_migration_in_config_order_and_stored_states_of_others_ignored() -> None:
    source = Evidence(
        states={
            "gone": MigrationState(name="gone", stage=Stage.MIGRATED),
            "tiers": MigrationState(name="tiers", stage=Stage.SIDE_BY_SIDE),
        }
    )
    rows = migration_report([TIERS, EMAIL], source, OVERRIDES, now=NOW)
    assert [(r["name"], r["stage"]) for r in rows] == [("tiers", "side_by_side"), ("email", "monolith")]
    assert migration_report([], source, OVERRIDES) == []


def test_the_report_is_json() -> None:
    source = Evidence(
        states={
            "assignments": MigrationState(
                name="assignments", stage=Stage.MIGRATED, percent=50, changed_at=NOW
            )
        },
        by_name={"assignments": MigrationEvidence(name="assignments", last_fallback=NOW)},
    )
    rows = migration_report([ASSIGNMENTS], source, CLASSROOM, now=NOW)
    assert orjson.loads(orjson.dumps(rows)) == rows


def test_stage_change_json() -> None:
    change = StageChange(
        name="m",
        from_stage=Stage.SIDE_BY_SIDE,
        to_stage=Stage.MIGRATED,
        percent=25.0,
        at=NOW,
        by="ada",
        reason="looks fine",
        forced=True,
        evidence={"comparisons": 3},
    )
    assert stage_change_json(change) == {
        "name": "m",
        "from": "side_by_side",
        "to": "migrated",
        "percent": 25.0,
        "at": "2025-06-01T12:00:00+00:00",
        "by": "ada",
        "reason": "looks fine",
        "forced": True,
        "evidence": {"comparisons": 3},
    }


def test_evidence_json_match_rate() -> None:
    out = evidence_json(MigrationEvidence(name="m", comparisons=4, matches=3, mismatches=1, noise=5))
    assert (out["match_rate"], out["noise"], out["comparisons"]) == (0.75, 5, 4)


def test_report_from_a_real_store(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'turnout.db'}")
    store.create_schema()
    try:
        recorder = Recorder(store)
        for i in range(12):
            recorder.comparison("assignments", f"Op{i % 2}", "match", [], set(), values=BOTH_FIELDS)
        recorder.latency("assignments", "from", 4.0)
        recorder.latency("assignments", "to", 6.0)
        asyncio.run(recorder.flush())
        store.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=100, by="ada", reason="start", evidence={})
        [row] = migration_report([ASSIGNMENTS], store, CLASSROOM)
    finally:
        store.close()
    evidence = row["evidence"]
    assert row["stage"] == "side_by_side"
    assert row["changed_by"] == "ada"
    assert (evidence["comparisons"], evidence["matches"], evidence["operations"]) == (12, 12, 2)
    assert evidence["match_rate"] == 1.0
    # histogram quantiles: within the bucket of each value, so only their order is exact
    assert 0 < evidence["latency_from_ms"][0] < evidence["latency_to_ms"][0] < 10
    assert (row["next_stage"], row["ready"], row["readiness"]) == ("migrated", True, "ready")


def test_the_gates_read_the_evidence_of_the_current_stage(tmp_path: Path) -> None:
    """Mismatches from before the migration (re-)entered side_by_side, say before a fix, no longer count."""
    store = Store.open(f"sqlite:///{tmp_path / 'turnout.db'}")
    store.create_schema()
    now = datetime.now(UTC)
    try:
        old = EvidenceBatch()
        old.add_comparison("assignments", "Op0", "mismatch", now - timedelta(hours=2), count=50)
        old.add_comparison("assignments", "Op1", "match", now - timedelta(hours=2), count=50)
        for coordinate in BOTH_FIELDS:
            old.add_coverage(
                "assignments",
                coordinate,
                "Op1",
                now - timedelta(hours=2),
                values=50,
                differing=0,
                comparisons=50,
            )
        store.write(old)
        store.set_stage(
            "assignments", Stage.SIDE_BY_SIDE, percent=100, by="ada", reason="after the fix", evidence={}
        )
        fresh = EvidenceBatch()
        for op in ("Op0", "Op1"):
            fresh.add_comparison("assignments", op, "match", now, count=60)
            for coordinate in BOTH_FIELDS:
                fresh.add_coverage("assignments", coordinate, op, now, values=60, differing=0, comparisons=60)
        store.write(fresh)
        [row] = migration_report([ASSIGNMENTS], store, CLASSROOM)
        everything = store.evidence("assignments")
    finally:
        store.close()
    assert (everything.comparisons, everything.mismatches) == (220, 50)  # still stored, for the record
    assert (row["evidence"]["comparisons"], row["evidence"]["mismatches"]) == (220, 50)  # and shown
    assert (row["gate_evidence"]["comparisons"], row["gate_evidence"]["mismatches"]) == (120, 0)
    assert row["gate_evidence_since"] is not None
    assert (row["next_stage"], row["ready"]) == ("migrated", True)


def test_evidence_since_the_stage_began_and_within_the_window() -> None:
    entered = NOW - timedelta(days=3)
    state = MigrationState(name="assignments", stage=Stage.SIDE_BY_SIDE, changed_at=entered)
    assert evidence_since(ASSIGNMENTS, state, NOW) == entered
    assert evidence_since(ASSIGNMENTS, MigrationState(name="assignments"), NOW) is None
    windowed = Migration(
        name="assignments",
        from_subgraph="monolith",
        to_subgraph="assignments",
        fields=ASSIGNMENTS.fields,
        gates=Gates(evidence_window_seconds=86400),
    )
    assert evidence_since(windowed, state, NOW) == NOW - timedelta(days=1)
    assert evidence_since(windowed, MigrationState(name="assignments"), NOW) == NOW - timedelta(days=1)
    recent = MigrationState(name="assignments", stage=Stage.SIDE_BY_SIDE, changed_at=NOW - timedelta(hours=2))
    assert evidence_since(windowed, recent, NOW) == NOW - timedelta(hours=2)


def test_one_match_rate_on_every_screen(tmp_path: Path) -> None:
    """6 matches, 1 mismatch, 3 candidate errors, 2 noise: 60.0% in the report, the table, the dashboard, the
    time series and the gate's refusal alike (model.match_rate: errors are non-matches, noise is not judged)."""
    from rich.console import Console

    from turnout.migration.api import migrations_document
    from turnout.migration.table import migrations_table
    from turnout.server.dashboard import render_dashboard

    store = Store.open(f"sqlite:///{tmp_path / 'turnout.db'}")
    store.create_schema()
    try:
        recorder = Recorder(store)
        outcomes: tuple[tuple[ComparisonOutcome, int], ...] = (
            ("match", 6),
            ("mismatch", 1),
            ("error", 3),
            ("noise", 2),
        )
        for outcome, count in outcomes:
            for _ in range(count):
                recorder.comparison("assignments", "Op", outcome, [], set(), values=BOTH_FIELDS)
        asyncio.run(recorder.flush())
        store.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=100, by="ada", reason="start", evidence={})
        document = migrations_document([ASSIGNMENTS], store, CLASSROOM)
    finally:
        store.close()
    [row] = document["migrations"]
    assert row["evidence"]["match_rate"] == row["gate_evidence"]["match_rate"] == 0.6
    [point] = row["timeseries"]
    assert point["match_rate"] == 0.6
    assert "match rate 60.00%, 3 candidate errors counted as failures, 90.00% needed" in row["blockers"]
    console = Console(width=300, record=True)
    console.print(migrations_table(document["migrations"]))
    assert " 60.0% " in console.export_text()
    assert '<td class="rate">60.0%</td>' in render_dashboard(document)


def test_each_field_shows_its_coverage_fallbacks_and_noise(tmp_path: Path) -> None:
    """Per field, from the store: values compared and differing, fallbacks of the fetches asked for it, and the
    noise runs' numbers with the engine's verdict (noise.noisy_coordinates): the JSON and the page agree."""
    from turnout.migration.api import migrations_document
    from turnout.server.dashboard import render_dashboard

    store = Store.open(f"sqlite:///{tmp_path / 'turnout.db'}")
    store.create_schema()
    try:
        recorder = Recorder(store)
        for n in range(30):  # createdDate differs on 1 value in 3; Query.assignments never
            differing = {"Assignment.createdDate": 1} if n % 3 == 0 else {}
            recorder.comparison(
                "assignments",
                "Op",
                "mismatch" if differing else "match",
                [],
                set(),
                values={"Assignment.createdDate": 3, "Query.assignments": 1},
                differing=differing,
            )
            # the old side against itself: createdDate differs as often (noise), Query.assignments never
            recorder.repeat(
                "assignments",
                {"Assignment.createdDate": 3, "Query.assignments": 1},
                {"Assignment.createdDate": 1} if n % 3 == 0 else {},
            )
        recorder.fallback("assignments", "Op", ["Assignment.createdDate"])
        recorder.fallback("assignments", "Op", ["Assignment.createdDate", "Query.assignments"])
        asyncio.run(recorder.flush())
        document = migrations_document([ASSIGNMENTS], store, CLASSROOM)
    finally:
        store.close()
    [row] = document["migrations"]
    fields = {f["coordinate"]: f for f in row["field_evidence"]}
    created, listed = fields["Assignment.createdDate"], fields["Query.assignments"]
    assert (created["values"], created["differing"], created["fallbacks"]) == (90, 10, 2)
    assert (listed["values"], listed["differing"], listed["fallbacks"]) == (30, 0, 1)
    assert created["noise"] == {
        "itself_values": 90,
        "itself_differing": 10,
        "candidate_values": 90,
        "candidate_differing": 10,
        "noisy": True,
    }
    assert listed["noise"]["noisy"] is False
    assert row["evidence"]["fallbacks"] == 2  # requests, not fields
    page = render_dashboard(document)
    created_row = page.split('data-coordinate="Assignment.createdDate"')[1].split("</tr>")[0]
    assert '<td class="differing">10/90 (11.1%)</td>' in created_row
    assert '<td class="fallbacks">2</td>' in created_row
    assert '10/90 (11.1%) <span class="tag noise">noise</span>' in created_row
