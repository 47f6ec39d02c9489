"""Promotion gates: every gate of check_move, with evidence made by hand."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from support.fixtures import load_supergraph
from turnout.migration.model import Coverage, Gates, Migration, MigrationEvidence, MigrationState, Stage
from turnout.migration.readiness import Verdict, check_move, fields_declared_by, next_stage
from turnout.supergraph.join_spec import read_supergraph

CLASSROOM = read_supergraph(load_supergraph("classroom"))
OVERRIDES = read_supergraph(load_supergraph("migration"))
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

GATES = Gates(min_match_rate=0.99, min_comparisons=100, min_operations=2, removed_after_seconds=86400)
MIGRATION = Migration(
    name="assignments",
    from_subgraph="monolith",
    to_subgraph="assignments",
    fields=("Assignment.createdDate", "Query.assignments"),
    gates=GATES,
)
# enough of everything to enter `migrated`
GOOD = MigrationEvidence(
    name="assignments",
    comparisons=200,
    matches=199,
    mismatches=1,
    operations=2,
    coverage={c: Coverage(comparisons=200, operations=2, values=300, differing=1) for c in MIGRATION.fields},
)


def state(stage: Stage, percent: float = 100.0, changed: timedelta | None = 2 * DAY) -> MigrationState:
    return MigrationState(
        name="assignments",
        stage=stage,
        percent=percent,
        changed_at=None if changed is None else NOW - changed,
    )


def check(
    target: Stage,
    current: MigrationState,
    evidence: MigrationEvidence = GOOD,
    migration: Migration = MIGRATION,
    **kwargs: object,
) -> Verdict:
    kwargs.setdefault("model", CLASSROOM)
    return check_move(migration, current, target, evidence, now=NOW, **kwargs)  # type: ignore[arg-type]


def test_next_stage() -> None:
    assert [next_stage(s) for s in Stage] == [Stage.SIDE_BY_SIDE, Stage.MIGRATED, Stage.REMOVED, None]


def test_verdict_summary() -> None:
    assert Verdict(target=Stage.MIGRATED, ok=True).summary == "ready"
    assert Verdict(target=Stage.MIGRATED, ok=False, reasons=("a", "b")).summary == "a; b"


# -- side_by_side: `to` must declare the fields -------------------------------------------------------------


def test_side_by_side_when_to_declares_the_fields() -> None:
    assert check(
        Stage.SIDE_BY_SIDE, MigrationState(name="assignments"), MigrationEvidence(name="assignments")
    ).ok


def test_side_by_side_refused_when_to_does_not_declare_a_field() -> None:
    moving_users = replace(MIGRATION, fields=("Query.users", "Assignment.title", "User.name"))
    verdict = check(Stage.SIDE_BY_SIDE, MigrationState(name="assignments"), migration=moving_users)
    assert not verdict.ok
    assert verdict.reasons == ("assignments does not resolve Query.users, User.name",)


def test_side_by_side_refused_for_a_subgraph_the_supergraph_lacks() -> None:
    verdict = check(
        Stage.SIDE_BY_SIDE,
        MigrationState(name="assignments"),
        migration=replace(MIGRATION, to_subgraph="grading"),
    )
    assert verdict.reasons == ("grading does not resolve Assignment.createdDate, Query.assignments",)


def test_side_by_side_refused_without_a_supergraph_to_check() -> None:
    verdict = check(Stage.SIDE_BY_SIDE, MigrationState(name="assignments"), model=None)
    assert verdict.reasons == ("no supergraph to check that assignments resolves the fields",)


def test_side_by_side_for_a_label_checks_the_labelled_fields() -> None:
    tiers = Migration(
        name="tiers",
        from_subgraph="monolith",
        to_subgraph="customers",
        fields=("Customer.tier",),
        label="percent(25)",
    )
    assert check(Stage.SIDE_BY_SIDE, MigrationState(name="tiers"), migration=tiers, model=OVERRIDES).ok
    unknown = replace(tiers, to_subgraph="billing")
    assert check(
        Stage.SIDE_BY_SIDE, MigrationState(name="tiers"), migration=unknown, model=OVERRIDES
    ).reasons == ("billing does not resolve the labelled fields",)


def test_fields_declared_by() -> None:
    assert fields_declared_by(CLASSROOM, MIGRATION, "monolith") == [
        "Assignment.createdDate",
        "Query.assignments",
    ]
    assert fields_declared_by(CLASSROOM, replace(MIGRATION, fields=("Query.users",)), "assignments") == []
    assert fields_declared_by(CLASSROOM, MIGRATION, "nobody") == []
    assert fields_declared_by(None, MIGRATION, "monolith") == []
    email = Migration(
        name="email", from_subgraph="monolith", to_subgraph="customers", fields=("Customer.email",)
    )
    # a plain @override: composition keeps only the overriding subgraph's field
    assert fields_declared_by(OVERRIDES, email, "customers") == ["Customer.email"]
    assert fields_declared_by(OVERRIDES, email, "monolith") == []
    tiers = replace(email, fields=("Customer.tier",), label="percent(25)")
    assert fields_declared_by(OVERRIDES, tiers, "monolith") == ["Customer.tier"]


# -- migrated: match rate, comparisons, operations, open diff groups ------------------------------------------


def test_migrated_with_enough_evidence() -> None:
    verdict = check(Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), GOOD)
    assert verdict == Verdict(target=Stage.MIGRATED, ok=True)


def test_migrated_needs_the_match_rate() -> None:
    verdict = check(Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), replace(GOOD, matches=190, mismatches=10))
    assert verdict.reasons == ("match rate 95.00%, 99.00% needed",)


def test_the_match_rate_threshold_is_inclusive() -> None:
    assert check(Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), replace(GOOD, matches=198, mismatches=2)).ok


def test_migrated_counts_candidate_errors_against_the_match_rate() -> None:
    # 99 of 100 comparisons failed on `to`: the one that was judged matched, but this is no match rate of 100%
    evidence = replace(GOOD, comparisons=100, matches=1, mismatches=0, errors=99)
    verdict = check(Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), evidence)
    assert verdict.reasons == ("match rate 1.00%, 99 candidate errors counted as failures, 99.00% needed",)


def test_migrated_noise_does_not_count_against_the_match_rate() -> None:
    evidence = replace(GOOD, comparisons=300, matches=199, mismatches=1, noise=100)
    assert check(Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), evidence).ok


def test_migrated_needs_comparisons() -> None:
    verdict = check(
        Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), replace(GOOD, comparisons=99, matches=99, mismatches=0)
    )
    assert verdict.reasons == ("99 comparisons, 100 needed",)


def test_migrated_with_no_evidence_at_all() -> None:
    verdict = check(Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), MigrationEvidence(name="assignments"))
    assert verdict.reasons == (
        "0 comparisons, 100 needed",
        "match rate unknown (no comparison judged), 99.00% needed",
        "never compared: Assignment.createdDate, Query.assignments",
        "0 distinct operations compared, 2 needed",
    )


def test_migrated_with_gates_that_ask_for_nothing() -> None:
    lenient = replace(MIGRATION, gates=Gates(min_match_rate=0, min_comparisons=0, min_operations=0))
    assert check(
        Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), MigrationEvidence(name="assignments"), migration=lenient
    ).ok


def test_migrated_needs_distinct_operations() -> None:
    verdict = check(Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), replace(GOOD, operations=1))
    assert verdict.reasons == ("1 distinct operations compared, 2 needed",)


def test_migrated_needs_no_open_diff_groups() -> None:
    verdict = check(Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), replace(GOOD, open_diff_groups=3))
    assert verdict.reasons == ("3 diff groups open (fix or acknowledge them)",)


def test_migrated_lists_every_failing_gate() -> None:
    evidence = MigrationEvidence(
        name="assignments",
        comparisons=10,
        matches=5,
        mismatches=5,
        operations=1,
        open_diff_groups=1,
        coverage={"Query.assignments": Coverage(comparisons=10, operations=1, values=10)},
    )
    verdict = check(Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), evidence)
    assert not verdict.ok
    assert verdict.summary == (
        "10 comparisons, 100 needed; match rate 50.00%, 99.00% needed; "
        "never compared: Assignment.createdDate; "
        "1 distinct operations compared, 2 needed; 1 diff groups open (fix or acknowledge them)"
    )


def test_migrated_needs_every_field_compared() -> None:
    """A six-field migration of which one field was compared 40 times is not ready: coverage, per field."""
    six = replace(
        MIGRATION,
        fields=(
            "Query.assignments",
            "Assignment.createdDate",
            "Assignment.title",
            "Assignment.tags",
            "Assignment.score",
            "Assignment.dueDate",
        ),
        gates=replace(GATES, min_comparisons=20, min_operations=1),
    )
    one = Coverage(comparisons=40, operations=2, values=40)
    evidence = replace(GOOD, comparisons=40, matches=40, mismatches=0, coverage={"Query.assignments": one})
    verdict = check(Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), evidence, migration=six)
    assert verdict.reasons == (
        "never compared: Assignment.createdDate, Assignment.title, Assignment.tags, "
        "Assignment.score, Assignment.dueDate",
    )
    # a field declared rare needs one comparison, not min_comparisons
    rare = replace(six, rare_fields=frozenset({"Assignment.dueDate"}))
    covered = {
        c: (one if c != "Assignment.dueDate" else Coverage(comparisons=1, operations=1, values=1))
        for c in six.fields
    }
    assert check(
        Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), replace(evidence, coverage=covered), migration=rare
    ).ok
    assert not check(
        Stage.MIGRATED, state(Stage.SIDE_BY_SIDE), replace(evidence, coverage=covered), migration=six
    ).ok


# -- removed: full rollout, no recent fallback, time in stage --------------------------------------------------


def test_removed_when_quiet_for_long_enough() -> None:
    evidence = replace(GOOD, fallbacks=4, last_fallback=NOW - 2 * DAY)
    assert check(Stage.REMOVED, state(Stage.MIGRATED, changed=2 * DAY), evidence).ok


def test_removed_needs_full_rollout() -> None:
    verdict = check(Stage.REMOVED, state(Stage.MIGRATED, percent=25))
    assert verdict.reasons == ("rollout is 25%, 100% needed",)


def test_removed_needs_no_recent_fallback() -> None:
    evidence = replace(GOOD, fallbacks=1, last_fallback=NOW - timedelta(hours=1))
    verdict = check(Stage.REMOVED, state(Stage.MIGRATED), evidence)
    assert verdict.reasons == ("last fallback 3600s ago, 86400s without one needed",)


def test_removed_needs_time_in_migrated() -> None:
    verdict = check(Stage.REMOVED, state(Stage.MIGRATED, changed=timedelta(minutes=10)))
    assert verdict.reasons == ("migrated for 600s, 86400s needed",)


def test_removed_lists_every_failing_gate() -> None:
    evidence = replace(GOOD, fallbacks=1, last_fallback=NOW - timedelta(seconds=30))
    verdict = check(Stage.REMOVED, state(Stage.MIGRATED, percent=50, changed=timedelta(seconds=60)), evidence)
    assert verdict.reasons == (
        "rollout is 50%, 100% needed",
        "last fallback 30s ago, 86400s without one needed",
        "migrated for 60s, 86400s needed",
    )


def test_removed_period_is_configurable() -> None:
    quick = replace(MIGRATION, gates=replace(GATES, removed_after_seconds=60))
    evidence = replace(GOOD, fallbacks=1, last_fallback=NOW - timedelta(seconds=61))
    assert check(
        Stage.REMOVED, state(Stage.MIGRATED, changed=timedelta(seconds=61)), evidence, migration=quick
    ).ok


# -- direction --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Stage.REMOVED, Stage.MIGRATED),
        (Stage.REMOVED, Stage.MONOLITH),
        (Stage.MIGRATED, Stage.SIDE_BY_SIDE),
        (Stage.MIGRATED, Stage.MONOLITH),
        (Stage.SIDE_BY_SIDE, Stage.MONOLITH),
        (Stage.MIGRATED, Stage.MIGRATED),
        (Stage.MONOLITH, Stage.MONOLITH),
    ],
)
def test_moving_back_or_staying_is_always_allowed(current: Stage, target: Stage) -> None:
    awful = MigrationEvidence(
        name="assignments", comparisons=5, mismatches=5, fallbacks=9, last_fallback=NOW, open_diff_groups=7
    )
    assert check(target, state(current, percent=10, changed=timedelta(0)), awful, model=None).ok


@pytest.mark.parametrize(
    ("current", "target", "first"),
    [
        (
            Stage.MONOLITH,
            Stage.MIGRATED,
            "stages are taken one at a time: from monolith the next is side_by_side",
        ),
        (
            Stage.MONOLITH,
            Stage.REMOVED,
            "stages are taken one at a time: from monolith the next is side_by_side",
        ),
        (
            Stage.SIDE_BY_SIDE,
            Stage.REMOVED,
            "stages are taken one at a time: from side_by_side the next is migrated",
        ),
    ],
)
def test_skipping_a_stage_is_refused(current: Stage, target: Stage, first: str) -> None:
    # even with evidence that would satisfy the target's own gate
    verdict = check(target, MigrationState(name="assignments", stage=current), GOOD)
    assert not verdict.ok
    assert verdict.reasons[0] == first


def test_now_defaults_to_the_clock() -> None:
    recent = MigrationState(name="assignments", stage=Stage.MIGRATED, changed_at=datetime.now(UTC))
    [reason] = check_move(MIGRATION, recent, Stage.REMOVED, GOOD).reasons
    assert re.fullmatch(r"migrated for [0-9]s, 86400s needed", reason)
