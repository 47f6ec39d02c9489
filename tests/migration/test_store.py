"""The evidence store against real databases: an SQLite file, and PostgreSQL when TURNOUT_TEST_POSTGRES_DSN is set."""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from turnout.migration.evidence import (
    LATENCY_BOUNDS_MS,
    DiffGroupRow,
    DiffSampleRow,
    EvidenceBatch,
    diff_signature,
    hour_bucket,
    latency_bucket,
    latency_quantile,
    minute_bucket,
)
from turnout.migration.memory_store import MemoryStore
from turnout.migration.model import InstanceStage, MigrationEvidence, MigrationState, Stage
from turnout.migration.noise import Rates
from turnout.migration.store import StageConflict, Store
from turnout.migration.store_protocol import MigrationStore

PG_DSN = os.environ.get("TURNOUT_TEST_POSTGRES_DSN")
NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)
THIS_HOUR = hour_bucket(NOW)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL of its own: a new SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""
    with _database(request.param, tmp_path) as url:
        yield url


@contextlib.contextmanager
def _database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'evidence' / 'turnout.db'}"
        return
    if not PG_DSN:
        pytest.skip("TURNOUT_TEST_POSTGRES_DSN is not set")
    base = make_url(PG_DSN)
    if base.drivername in ("postgres", "postgresql"):
        base = base.set(drivername="postgresql+psycopg")
    schema = f"turnout_test_{uuid.uuid4().hex}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MigrationStore]:
    """The store's contract, on each kind of store: SQLite, PostgreSQL, and the in-memory one."""
    if request.param == "memory":
        yield MemoryStore(samples_per_hour=3)
        return
    with _database(request.param, tmp_path) as url:
        opened = Store.open(url, samples_per_hour=3)
        opened.create_schema()
        yield opened
        opened.close()


def add_diff(
    batch: EvidenceBatch,
    *,
    migration: str = "m",
    coordinate: str = "User.email",
    operation: str = "GetUser",
    kind: str = "value",
    at: datetime = NOW,
    noise: bool = False,
    samples: int = 1,
) -> str:
    """One comparison's worth of a diff group, with `samples` samples."""
    signature = diff_signature(migration, coordinate, operation, kind)
    batch.add_diff_group(
        DiffGroupRow(
            signature=signature,
            migration=migration,
            coordinate=coordinate,
            operation=operation,
            kind=kind,
            noise=noise,
            count=1,
            first_seen=at,
            last_seen=at,
        )
    )
    for i in range(samples):
        batch.add_diff_sample(
            DiffSampleRow(
                signature=signature,
                hour=hour_bucket(at),
                at=at + timedelta(microseconds=i),
                path=f"user.{i}",
                primary=f'"p{i}"',
                candidate=f'"c{i}"',
                primary_hash="a" * 64,
                candidate_hash="b" * 64,
            ),
            limit=1000,
        )
    return signature


# -- opening --------------------------------------------------------------------------------------------------


def test_sqlite_store_creates_its_file_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "turnout.db"
    store = Store.open(f"sqlite:///{path}")
    try:
        store.create_schema()
        assert path.exists()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        store.close()
    with sqlite3.connect(path) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    raw.close()
    assert {
        "turnout_migration_state",
        "turnout_stage_log",
        "turnout_comparisons",
        "turnout_latency",
        "turnout_fallbacks",
        "turnout_shadow_drops",
        "turnout_diff_groups",
        "turnout_diff_samples",
    } <= tables


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite:///:memory:", "sqlite://"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        Store.open(url)


def test_create_schema_is_idempotent(store: MigrationStore) -> None:
    store.set_stage("m", Stage.SIDE_BY_SIDE, percent=100, by="ana", reason="start", evidence={})
    store.create_schema()
    store.create_schema()
    assert store.get_states()["m"].stage == Stage.SIDE_BY_SIDE


# -- stages ---------------------------------------------------------------------------------------------------


def test_set_stage_writes_state_and_log(store: MigrationStore) -> None:
    assert store.get_states() == {}
    first = store.set_stage(
        "assignments", Stage.SIDE_BY_SIDE, percent=100, by="ana", reason="to resolves", evidence={"k": [1, 2]}
    )
    assert first.from_stage == Stage.MONOLITH
    assert first.to_stage == Stage.SIDE_BY_SIDE
    assert first.at.tzinfo is not None
    second = store.set_stage(
        "assignments",
        Stage.MIGRATED,
        percent=25.0,
        by="bo",
        reason="match rate 99.9%",
        forced=True,
        evidence={"comparisons": 1200, "match_rate": 0.999},
    )
    assert second.from_stage == Stage.SIDE_BY_SIDE
    store.set_stage("other", Stage.SIDE_BY_SIDE, percent=100, by="cy", reason="", evidence={})

    state = store.get_states()["assignments"]
    assert (state.stage, state.percent, state.changed_by, state.reason) == (
        Stage.MIGRATED,
        25.0,
        "bo",
        "match rate 99.9%",
    )
    assert state.changed_at == second.at

    log = store.stage_log("assignments")
    assert log == [second, first]
    assert log[0].forced and not log[1].forced
    assert log[0].evidence == {"comparisons": 1200, "match_rate": 0.999}
    assert [c.name for c in store.stage_log()] == ["other", "assignments", "assignments"]
    assert [c.name for c in store.stage_log(limit=1)] == ["other"]


def test_set_stage_refuses_a_percent_out_of_range(store: MigrationStore) -> None:
    with pytest.raises(ValueError):
        store.set_stage("m", Stage.MIGRATED, percent=120, by="ana", reason="", evidence={})
    assert store.get_states() == {}
    assert store.stage_log() == []


def test_two_instances_see_each_others_stage_changes(store_url: str) -> None:
    a = Store.open(store_url)
    b = Store.open(store_url)
    try:
        a.create_schema()
        b.create_schema()
        a.set_stage("m", Stage.SIDE_BY_SIDE, percent=100, by="a", reason="", evidence={})
        assert b.get_states()["m"].stage == Stage.SIDE_BY_SIDE
        change = b.set_stage("m", Stage.MIGRATED, percent=10, by="b", reason="", evidence={})
        assert change.from_stage == Stage.SIDE_BY_SIDE
        assert a.get_states()["m"].stage == Stage.MIGRATED
        assert a.get_states()["m"].percent == 10
        assert [c.by for c in a.stage_log("m")] == ["b", "a"]
    finally:
        a.close()
        b.close()


def test_concurrent_stage_changes_from_two_instances_log_an_unbroken_chain(store_url: str) -> None:
    stores = [Store.open(store_url), Store.open(store_url)]
    stores[0].create_schema()
    stages = list(Stage)
    errors: list[BaseException] = []

    def move(store: Store, k: int) -> None:
        try:
            for i in range(15):
                store.set_stage("m", stages[(i + k) % 4], percent=50, by=f"t{k}", reason="", evidence={})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=move, args=(stores[k % 2], k)) for k in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        log = list(reversed(stores[1].stage_log("m", limit=1000)))
        assert len(log) == 60
        assert log[0].from_stage == Stage.MONOLITH
        for before, after in itertools.pairwise(log):
            assert after.from_stage == before.to_stage
        assert stores[0].get_states()["m"].stage == log[-1].to_stage
    finally:
        for s in stores:
            s.close()


def test_a_compare_and_set_on_a_stale_state_changes_nothing(store_url: str) -> None:
    """Two operators decide on the same state; the second one's move is refused, the first one's kept."""
    a, b = Store.open(store_url), Store.open(store_url)
    a.create_schema()
    try:
        seen_by_a = a.get_states().get("m", MigrationState(name="m"))
        seen_by_b = b.get_states().get("m", MigrationState(name="m"))
        a.set_stage(
            "m", Stage.SIDE_BY_SIDE, percent=100, by="ana", reason="", evidence={}, expected=seen_by_a
        )
        with pytest.raises(
            StageConflict, match=r"m was moved meanwhile: it is now side_by_side at 100% by ana"
        ):
            b.set_stage("m", Stage.MIGRATED, percent=10, by="bob", reason="", evidence={}, expected=seen_by_b)
        state = b.get_states()["m"]
        assert (state.stage, state.percent, state.changed_by) == (Stage.SIDE_BY_SIDE, 100, "ana")
        assert [c.by for c in b.stage_log("m")] == ["ana"]
        # a rollout percent changed meanwhile is a conflict too; the current state goes through
        a.set_stage("m", Stage.MIGRATED, percent=10, by="ana", reason="", evidence={}, expected=state)
        with pytest.raises(StageConflict):
            b.set_stage("m", Stage.MIGRATED, percent=50, by="bob", reason="", evidence={}, expected=state)
        current = b.get_states()["m"]
        b.set_stage("m", Stage.MIGRATED, percent=50, by="bob", reason="", evidence={}, expected=current)
        assert b.get_states()["m"].percent == 50
    finally:
        a.close()
        b.close()


# -- evidence ---------------------------------------------------------------------------------------------------


def test_instances_report_what_each_runs_and_since_when(store: MigrationStore) -> None:
    """Each instance's latest report, per migration, with the time it picked its stage up (to the microsecond)."""
    since = datetime(2024, 3, 4, 12, 0, 0, 250_000, tzinfo=UTC)
    store.report_instance("gw-2", {"m": InstanceStage(stage=Stage.MONOLITH, percent=100.0, since=since)})
    store.report_instance("gw-1", {"m": InstanceStage(stage=Stage.MONOLITH, percent=100.0, since=since)})
    later = since + timedelta(seconds=1.5)
    store.report_instance(
        "gw-1",
        {
            "m": InstanceStage(stage=Stage.SIDE_BY_SIDE, percent=25.0, since=later),
            "other": InstanceStage(stage=Stage.MIGRATED, percent=10.0, since=later),
        },
    )
    reports = store.instances("m")
    assert [(r.instance, r.stage, r.percent, r.since) for r in reports] == [
        ("gw-1", Stage.SIDE_BY_SIDE, 25.0, later),  # the latest report replaces the first
        ("gw-2", Stage.MONOLITH, 100.0, since),
    ]
    assert all(abs(r.seen_at - datetime.now(UTC)) < timedelta(minutes=1) for r in reports)
    assert [r.instance for r in store.instances("other")] == ["gw-1"]  # gw-2 runs nothing of it
    assert store.instances("m", seen_within=timedelta(seconds=-1)) == []  # none seen in the future


def test_noise_rates_from_the_repeats_and_the_coverage_since_a_minute(store: MigrationStore) -> None:
    """Old-vs-old counts per coordinate from the repeats, old-vs-new from the coverage of the coordinates that
    were repeated, over every operation, from the minute `since` falls in; other migrations apart."""
    old, recent = NOW - timedelta(minutes=30), minute_bucket(NOW)
    batch = EvidenceBatch()
    batch.add_repeat("m", "A.x", recent, values=10, differing=4)
    batch.add_repeat("m", "A.x", recent + timedelta(seconds=30), values=5, differing=1)
    batch.add_repeat("m", "A.x", old, values=100, differing=100)  # before `since`
    batch.add_repeat("other", "A.x", recent, values=7, differing=7)
    batch.add_coverage("m", "A.x", "Q1", recent, values=8, differing=3)
    batch.add_coverage("m", "A.x", "Q2", recent, values=2, differing=0)
    batch.add_coverage("m", "A.x", "Q1", old, values=50, differing=50)
    batch.add_coverage("m", "A.y", "Q1", recent, values=9, differing=9)  # never repeated: no rate
    assert store.write(batch)
    rates = store.noise_rates("m", since=recent + timedelta(seconds=59))
    assert (rates.itself_values, rates.itself_differing) == ({"A.x": 15}, {"A.x": 5})
    assert (rates.candidate_values, rates.candidate_differing) == ({"A.x": 10}, {"A.x": 3})
    assert store.noise_rates("m", since=NOW + timedelta(hours=1)) == Rates()


def test_write_adds_counters_up(store: MigrationStore) -> None:
    for _ in range(2):
        batch = EvidenceBatch()
        batch.add_comparison("m", "GetUser", "match", NOW, count=40)
        batch.add_comparison("m", "GetUser", "mismatch", NOW)
        batch.add_comparison("m", "ListUsers", "noise", NOW, count=2)
        batch.add_comparison("m", "ListUsers", "error", NOW, count=3)
        batch.add_comparison("elsewhere", "Other", "match", NOW, count=7)
        for ms in (1.0, 2.0, 3.0, 4.0):
            batch.add_latency("m", "from", ms, NOW)
            batch.add_latency("m", "to", ms * 10, NOW)
        batch.add_fallback("m", "GetUser", NOW - timedelta(minutes=1))
        batch.add_fallback("m", "GetUser", NOW)
        batch.add_shadow_drop("m", NOW, count=5)
        store.write(batch)

    evidence = store.evidence("m")
    assert evidence.comparisons == 92
    assert (evidence.matches, evidence.mismatches, evidence.noise, evidence.errors) == (80, 2, 4, 6)
    assert evidence.match_rate == pytest.approx(80 / 88)  # candidate errors count as non-matches
    assert evidence.operations == 2
    assert evidence.fallbacks == 4
    assert evidence.last_fallback == NOW
    assert evidence.shadow_dropped == 10
    p50_from, p99_from = evidence.latency_from_ms
    p50_to, p99_to = evidence.latency_to_ms
    assert p50_from is not None and p99_from is not None and p50_to is not None and p99_to is not None
    assert 1.5 <= p50_from <= 3.5 and 3.0 <= p99_from <= 5.5
    assert 15 <= p50_to <= 35 and 30 <= p99_to <= 55
    assert store.evidence("elsewhere").comparisons == 14
    assert store.evidence("unknown") == MigrationEvidence(name="unknown")


def test_empty_batch_writes_nothing(store: MigrationStore) -> None:
    store.write(EvidenceBatch())
    assert store.evidence("m").comparisons == 0


def test_a_batch_is_written_whole_or_not_at_all(store: MigrationStore) -> None:
    batch = EvidenceBatch()
    batch.add_comparison("m", "GetUser", "match", NOW, count=5)
    # a sample whose group is not in the batch (nor stored) breaks the foreign key: nothing may be kept
    batch.diff_samples.append(
        DiffSampleRow(
            signature="f" * 64,
            hour=THIS_HOUR,
            at=NOW,
            path="x",
            primary="1",
            candidate="2",
            primary_hash="a" * 64,
            candidate_hash="b" * 64,
        )
    )
    with pytest.raises((sa.exc.IntegrityError, ValueError)):  # a broken foreign key; the memory store's check
        store.write(batch)
    assert store.evidence("m").comparisons == 0


def test_evidence_since_counts_from_the_hour_it_falls_in(store: MigrationStore) -> None:
    old, recent = NOW - 5 * HOUR, NOW
    batch = EvidenceBatch()
    batch.add_comparison("m", "Old", "match", old, count=10)
    batch.add_comparison("m", "New", "mismatch", recent, count=2)
    batch.add_latency("m", "from", 1000.0, old)
    batch.add_fallback("m", "Old", old)
    batch.add_shadow_drop("m", old)
    add_diff(batch, operation="Old", at=old)
    add_diff(batch, operation="New", at=recent)
    store.write(batch)

    everything = store.evidence("m")
    assert (everything.comparisons, everything.operations, everything.open_diff_groups) == (12, 2, 2)
    recent_only = store.evidence("m", since=NOW - HOUR)
    assert (recent_only.comparisons, recent_only.mismatches, recent_only.operations) == (2, 2, 1)
    assert recent_only.fallbacks == 0 and recent_only.last_fallback is None
    assert recent_only.shadow_dropped == 0
    assert recent_only.latency_from_ms == (None, None)
    assert recent_only.open_diff_groups == 1


def test_diff_samples_are_bounded_per_group_and_hour(store: MigrationStore) -> None:
    # ten minutes into an hour, whatever the time of day: a minute later is still that hour
    earlier = THIS_HOUR - 2 * HOUR + timedelta(minutes=10)
    batch = EvidenceBatch()
    signature = add_diff(batch, at=earlier, samples=5)
    store.write(batch)
    batch = EvidenceBatch()
    add_diff(batch, at=earlier + timedelta(minutes=1), samples=2)
    store.write(batch)
    [group] = store.diff_groups("m", samples_per_group=100)
    assert group.count == 2
    assert len(group.samples) == 3  # samples_per_hour=3

    batch = EvidenceBatch()
    add_diff(batch, at=earlier + HOUR, samples=5)  # the next hour has its own allowance
    store.write(batch)
    [group] = store.diff_groups("m", samples_per_group=100)
    assert group.signature == signature
    assert group.count == 3
    assert len(group.samples) == 6
    assert group.first_seen == earlier
    assert group.last_seen == earlier + HOUR


def test_diff_groups_most_frequent_first_with_newest_samples(store: MigrationStore) -> None:
    rare = EvidenceBatch()
    add_diff(rare, coordinate="User.name", at=NOW - timedelta(minutes=5))
    store.write(rare)
    for i in range(3):
        batch = EvidenceBatch()
        add_diff(batch, coordinate="User.email", kind="type", at=NOW - timedelta(minutes=3 - i), samples=1)
        store.write(batch)
    noisy = EvidenceBatch()
    add_diff(noisy, coordinate="User.seen", noise=True)
    add_diff(noisy, migration="other", coordinate="X.y")
    store.write(noisy)

    groups = store.diff_groups("m", samples_per_group=2)
    assert next((g.coordinate, g.count) for g in groups) == ("User.email", 3)
    assert {g.coordinate for g in groups} == {"User.email", "User.name", "User.seen"}
    email = groups[0]
    assert email.kind == "type" and email.operation == "GetUser" and email.migration == "m"
    assert len(email.samples) == 2
    assert email.samples[0].at > email.samples[1].at  # newest first
    assert email.samples[0].at == NOW - timedelta(minutes=1)
    assert email.samples[0].primary_hash == "a" * 64
    assert [g.noise for g in groups if g.coordinate == "User.seen"] == [True]
    assert all(not g.samples for g in store.diff_groups("m", samples_per_group=0))


def test_acknowledged_groups_are_not_open_until_the_acknowledgement_expires(store: MigrationStore) -> None:
    batch = EvidenceBatch()
    first = add_diff(batch, coordinate="User.email")
    second = add_diff(batch, coordinate="User.name")
    add_diff(batch, coordinate="User.seen", noise=True)
    store.write(batch)
    assert store.evidence("m").open_diff_groups == 2

    until = NOW + timedelta(days=1)
    assert store.acknowledge(first, until=until, by="ana", reason="timezone fix shipped") is True
    assert store.evidence("m").open_diff_groups == 1
    acknowledged = next(g for g in store.diff_groups("m") if g.signature == first)
    assert acknowledged.acknowledged_until == until
    assert (acknowledged.acknowledged_by, acknowledged.acknowledged_reason) == ("ana", "timezone fix shipped")
    assert {g.signature for g in store.diff_groups("m", include_acknowledged=False)} >= {second}
    assert first not in {g.signature for g in store.diff_groups("m", include_acknowledged=False)}

    assert store.acknowledge(second, until=NOW - timedelta(seconds=1), by="bo", reason="expired") is True
    assert store.evidence("m").open_diff_groups == 1
    assert second in {g.signature for g in store.diff_groups("m", include_acknowledged=False)}
    assert store.acknowledge("0" * 64, until=until, by="ana", reason="") is False


def test_timeseries_per_minute(store: MigrationStore) -> None:
    two_ago, now = NOW - 2 * HOUR, NOW
    batch = EvidenceBatch()
    batch.add_comparison("m", "A", "match", two_ago, count=9)
    batch.add_comparison("m", "A", "mismatch", two_ago, count=1)
    batch.add_comparison("m", "B", "error", now, count=4)
    batch.add_latency("m", "from", 10.0, two_ago)
    batch.add_latency("m", "to", 20.0, now)
    batch.add_fallback("m", "A", now)
    batch.add_shadow_drop("m", now, count=2)
    batch.add_comparison("m", "A", "match", NOW - 30 * HOUR, count=100)  # before `since`
    store.write(batch)

    series = store.timeseries("m", since=NOW - 3 * HOUR)
    assert [row["hour"] for row in series] == [minute_bucket(two_ago), minute_bucket(now)]
    old, new = series
    assert (old["comparisons"], old["matches"], old["mismatches"], old["match_rate"]) == (10, 9, 1, 0.9)
    assert old["p50_from_ms"] is not None and 8 <= old["p50_from_ms"] <= 11
    assert old["p50_to_ms"] is None
    assert (new["comparisons"], new["errors"], new["match_rate"]) == (4, 4, 0.0)
    assert (new["fallbacks"], new["shadow_dropped"]) == (1, 2)
    bucket = latency_bucket(20.0)  # a quantile lies inside the bucket of its value
    assert LATENCY_BOUNDS_MS[bucket - 1] <= new["p99_to_ms"] <= LATENCY_BOUNDS_MS[bucket]
    assert store.timeseries("nothing", since=NOW - 3 * HOUR) == []


def test_prune_deletes_old_samples_and_hourly_rows(store: MigrationStore) -> None:
    old, recent = NOW - 48 * HOUR, NOW
    batch = EvidenceBatch()
    batch.add_comparison("m", "A", "match", old, count=5)
    batch.add_comparison("m", "A", "match", recent, count=1)
    batch.add_latency("m", "from", 3.0, old)
    batch.add_fallback("m", "A", old)
    batch.add_shadow_drop("m", old)
    stale = add_diff(batch, coordinate="Old.field", at=old, samples=2)
    kept = add_diff(batch, coordinate="Acked.field", at=old, samples=1)
    add_diff(batch, coordinate="Both.field", at=old, samples=1)
    add_diff(batch, coordinate="Both.field", at=recent, samples=1)
    store.write(batch)
    store.acknowledge(kept, until=NOW + timedelta(days=7), by="ana", reason="known")

    deleted = store.prune(NOW - 24 * HOUR)
    # 4 old samples, 1 stale group, 4 hourly rows
    assert deleted == 9
    evidence = store.evidence("m")
    assert evidence.comparisons == 1
    assert (evidence.fallbacks, evidence.shadow_dropped, evidence.latency_from_ms) == (0, 0, (None, None))
    groups = {g.coordinate: g for g in store.diff_groups("m", samples_per_group=10)}
    assert stale not in {g.signature for g in groups.values()}
    assert set(groups) == {"Acked.field", "Both.field"}
    assert groups["Acked.field"].samples == ()
    assert [s.at for s in groups["Both.field"].samples] == [recent]
    assert store.prune(NOW - 24 * HOUR) == 0


def test_prune_keeps_the_hour_the_cutoff_falls_in(store: MigrationStore) -> None:
    batch = EvidenceBatch()
    batch.add_comparison("m", "A", "match", THIS_HOUR - HOUR, count=1)
    batch.add_comparison("m", "A", "match", THIS_HOUR, count=1)
    store.write(batch)
    assert store.prune(THIS_HOUR + timedelta(minutes=30)) == 1
    assert store.evidence("m").comparisons == 1


# -- the latency histogram ------------------------------------------------------------------------------------


def test_latency_buckets_are_log_spaced_from_half_a_millisecond_to_a_minute() -> None:
    assert len(LATENCY_BOUNDS_MS) == 40
    assert LATENCY_BOUNDS_MS[0] == 0.5 and LATENCY_BOUNDS_MS[-1] == 60_000
    ratios = {round(b / a, 6) for a, b in itertools.pairwise(LATENCY_BOUNDS_MS)}
    assert max(ratios) / min(ratios) < 1.001
    assert latency_bucket(0) == 0 and latency_bucket(-3) == 0 and latency_bucket(0.5) == 0
    assert latency_bucket(0.51) == 1
    assert latency_bucket(60_000) == 39 and latency_bucket(1e9) == 40


def test_latency_quantiles_from_a_histogram() -> None:
    assert latency_quantile({}, 0.5) is None
    assert latency_quantile({3: 0}, 0.5) is None
    counts: dict[int, int] = {}
    for ms in range(1, 1001):
        bucket = latency_bucket(float(ms))
        counts[bucket] = counts.get(bucket, 0) + 1
    p50, p99 = latency_quantile(counts, 0.5), latency_quantile(counts, 0.99)
    assert p50 is not None and p99 is not None
    assert 500 * 0.8 <= p50 <= 500 * 1.2
    assert 990 * 0.8 <= p99 <= 990 * 1.2
    assert latency_quantile({40: 3}, 0.99) == 60_000
