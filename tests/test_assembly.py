"""Assembly: migrations from the config checked against the supergraph, and a gateway wired with its engine."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from support.fixtures import load_supergraph
from turnout.assembly import AssemblyError, build_gateway, build_migrations, cohort_key, open_store
from turnout.config import Config, MigrationConfig, StoreConfig
from turnout.migration.model import CoordinateRule, Gates, Stage
from turnout.migration.recorder import Recorder
from turnout.migration.routing import CohortKey
from turnout.migration.store import Store
from turnout.supergraph.join_spec import read_supergraph
from turnout.supergraph.model import SupergraphModel

CLASSROOM = read_supergraph(load_supergraph("classroom"))
OVERRIDES = read_supergraph(load_supergraph("migration"))


def migration(**settings: Any) -> MigrationConfig:
    return MigrationConfig.model_validate({"name": "m", **settings})


def build(model: SupergraphModel, *configs: MigrationConfig) -> list[Any]:
    return build_migrations(list(configs), model)


def refused(model: SupergraphModel, *configs: MigrationConfig) -> str:
    with pytest.raises(AssemblyError) as raised:
        build_migrations(list(configs), model)
    return str(raised.value)


def test_a_declared_migration_is_built_with_its_settings() -> None:
    [built] = build(
        CLASSROOM,
        migration(
            name="assignments",
            **{"from": "monolith", "to": "assignments"},
            fields=["Assignment.createdDate", "Query.assignments", "Assignment.createdDate"],
            rules={"Assignment.tags": {"unordered": True}, "Assignment.*": {"null_equals_missing": True}},
            sample_rate=0.5,
            noise_rate=0.2,
            reverse_compare=True,
            gates={"min_comparisons": 10},
        ),
    )
    assert built.name == "assignments"
    assert (built.from_subgraph, built.to_subgraph, built.label) == ("monolith", "assignments", None)
    assert built.fields == ("Assignment.createdDate", "Query.assignments")  # duplicates dropped, order kept
    assert built.rules == {
        "Assignment.tags": CoordinateRule(unordered=True),
        "Assignment.*": CoordinateRule(null_equals_missing=True),
    }
    assert (built.sample_rate, built.noise_rate, built.reverse_compare) == (0.5, 0.2, True)
    assert built.gates == Gates(min_comparisons=10)


def test_subgraph_names_are_checked() -> None:
    message = refused(
        CLASSROOM, migration(**{"from": "monolith", "to": "assignment"}, fields=["Assignment.title"])
    )
    assert message == (
        "migration m: the supergraph has no subgraph named 'assignment' (it has assignments, monolith)"
    )
    message = refused(
        CLASSROOM, migration(**{"from": "MONOLITH", "to": "assignments"}, fields=["Assignment.title"])
    )
    assert "no subgraph named 'MONOLITH'" in message  # the subgraph's name, not its join__Graph value


def test_from_and_to_are_required_and_distinct() -> None:
    assert "`from` and `to` subgraphs are required" in refused(
        CLASSROOM, migration(to="assignments", fields=["Assignment.title"])
    )
    assert refused(
        CLASSROOM, migration(**{"from": "monolith", "to": "monolith"}, fields=["Assignment.title"])
    ) == ("migration m: `from` and `to` are both 'monolith'")


@pytest.mark.parametrize(
    "coordinate", ["Assignment.dueDate", "Homework.title", "Assignment", "assignments", ""]
)
def test_coordinates_are_checked(coordinate: str) -> None:
    message = refused(
        CLASSROOM,
        migration(**{"from": "monolith", "to": "assignments"}, fields=["Assignment.title", coordinate]),
    )
    assert message.startswith(f"migration m: {coordinate} is not a field of the supergraph")


def test_a_migration_needs_fields() -> None:
    assert (
        refused(CLASSROOM, migration(**{"from": "monolith", "to": "assignments"})) == "migration m: no fields"
    )


def test_rules_must_name_fields() -> None:
    message = refused(
        CLASSROOM,
        migration(
            **{"from": "monolith", "to": "assignments"},
            fields=["Assignment.tags"],
            rules={"Assignment.tag": {"unordered": True}},
        ),
    )
    assert message.startswith("migration m: rule for Assignment.tag, which is not a field of the supergraph")


def test_a_field_moves_in_one_migration_only() -> None:
    first = migration(name="first", **{"from": "monolith", "to": "assignments"}, fields=["Assignment.title"])
    second = migration(
        name="second",
        **{"from": "monolith", "to": "assignments"},
        fields=["Assignment.score", "Assignment.title"],
    )
    assert refused(CLASSROOM, first, second) == (
        "migration second: Assignment.title is already moved by migration first"
    )
    assert "two migrations are named 'first'" in refused(CLASSROOM, first, first)


def test_a_label_binds_the_override_fields_and_derives_from_and_to() -> None:
    [built] = build(OVERRIDES, migration(name="tiers", label="percent(25)"))
    assert built.label == "percent(25)"
    assert built.fields == ("Customer.tier",)
    assert (built.from_subgraph, built.to_subgraph) == ("monolith", "customers")


def test_a_label_accepts_matching_subgraphs_and_its_own_fields() -> None:
    [built] = build(
        OVERRIDES,
        migration(label="percent(25)", fields=["Customer.tier"], **{"from": "monolith", "to": "customers"}),
    )
    assert (built.fields, built.from_subgraph, built.to_subgraph) == (
        ("Customer.tier",),
        "monolith",
        "customers",
    )


def test_a_label_nobody_uses_is_refused() -> None:
    assert refused(OVERRIDES, migration(label="percent(50)")) == (
        "migration m: no @override in the supergraph has label 'percent(50)'"
    )
    assert "no @override in the supergraph has label" in refused(CLASSROOM, migration(label="percent(25)"))


def test_a_label_disagreeing_with_the_config_is_refused() -> None:
    assert refused(OVERRIDES, migration(label="percent(25)", to="monolith")) == (
        "migration m: `to` is 'monolith', but label 'percent(25)' moves fields to 'customers'"
    )
    assert refused(OVERRIDES, migration(label="percent(25)", **{"from": "customers"})) == (
        "migration m: `from` is 'customers', but label 'percent(25)' overrides fields of 'monolith'"
    )
    # routing flips the label: a field the label does not override would never move
    assert refused(OVERRIDES, migration(label="percent(25)", fields=["Customer.tier", "Customer.name"])) == (
        "migration m: Customer.name not overridden with label 'percent(25)' (its fields: Customer.tier)"
    )
    assert "Customer.nope is not a field" in refused(
        OVERRIDES, migration(label="percent(25)", fields=["Customer.nope"])
    )


def test_one_label_one_migration() -> None:
    first, second = migration(name="a", label="percent(25)"), migration(name="b", label="percent(25)")
    assert refused(OVERRIDES, first, second) == "migrations a and b are both bound to label 'percent(25)'"


def test_no_migrations_is_no_migrations() -> None:
    assert build_migrations([], CLASSROOM) == []


def test_cohort_key_from_config() -> None:
    assert cohort_key(Config()) == CohortKey()
    assert cohort_key(Config.model_validate({"cohort": {"header": "X-User"}})) == CohortKey(
        source="header", name="X-User"
    )
    assert cohort_key(Config.model_validate({"cohort": {"claim": "sub"}})) == CohortKey(
        source="claim", name="sub"
    )
    assert cohort_key(Config.model_validate({"cohort": {"variable": "userId"}})) == CohortKey(
        source="variable", name="userId"
    )


def test_open_store_creates_the_file_and_its_tables(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "turnout.db"
    store = open_store(Config(store=StoreConfig(url=f"sqlite:///{path}", samples_per_hour=2)))
    try:
        assert store.samples_per_hour == 2
        assert store.get_states() == {}
    finally:
        store.close()
    assert path.exists()


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "mysql://root@127.0.0.1/test", "not a url"]
)
def test_a_store_that_cannot_be_opened_is_an_assembly_error(url: str) -> None:
    with pytest.raises(AssemblyError, match="cannot open the store"):
        open_store(Config(store=StoreConfig(url=url)))


def test_an_unreachable_database_is_an_assembly_error_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://turnout:s3cret@127.0.0.1:1/turnout?connect_timeout=2"
    with pytest.raises(AssemblyError) as raised:
        open_store(Config(store=StoreConfig(url=url)))
    assert "cannot open the store postgresql+psycopg://turnout:***@127.0.0.1:1/turnout" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_build_gateway_with_migrations_wires_an_engine(tmp_path: Path) -> None:
    db = tmp_path / "store" / "turnout.db"
    cfg = Config.model_validate(
        {
            "store": {"url": f"sqlite:///{db}", "flush_interval": 0.25, "full_values": True},
            "cohort": {"header": "x-user"},
            "refresh_interval": 0.5,
            "subgraph_timeout": 3,
            "shadow": {"queue_size": 7, "concurrency": 2, "timeout": 60},
            "migrations": [
                {
                    "name": "assignments",
                    "from": "monolith",
                    "to": "assignments",
                    "fields": ["Assignment.createdDate"],
                    "sample_rate": 1.0,
                }
            ],
        }
    )
    gateway = build_gateway(cfg, CLASSROOM)
    engine = gateway.engine
    assert engine is not None
    assert list(engine.migrations) == ["assignments"]
    assert engine.migrations["assignments"].fields == ("Assignment.createdDate",)
    assert engine.cohort == CohortKey(source="header", name="x-user")
    assert engine.refresh_interval == 0.5
    assert (engine.shadow.size, engine.shadow.concurrency) == (7, 2)
    assert engine.shadow.timeout == 3  # never longer than the primary's
    assert isinstance(engine.state_source, Store)
    assert db.exists()
    assert {
        "turnout_migration_state",
        "turnout_stage_log",
        "turnout_comparisons",
        "turnout_diff_groups",
        "turnout_diff_samples",
    } <= tables(db)
    assert any(isinstance(getattr(hook, "__self__", None), Recorder) for hook in gateway.on_start)

    store: Store = engine.state_source

    async def run() -> None:
        await gateway.start()
        try:
            before = engine.states["assignments"]
            store.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=100, by="test", reason="", evidence={})
            await engine.refresh()
            after = engine.states["assignments"]
            assert (before.stage, after.stage) == (Stage.MONOLITH, Stage.SIDE_BY_SIDE)
        finally:
            await gateway.close()

    asyncio.run(run())
    # the gateway's close disposed of the store's connections; the file keeps the stage for the next one
    with Store.open(f"sqlite:///{db}") as reopened:
        assert reopened.get_states()["assignments"].stage == Stage.SIDE_BY_SIDE


def test_build_gateway_without_migrations_has_no_engine_and_no_store(tmp_path: Path) -> None:
    db = tmp_path / "turnout.db"
    gateway = build_gateway(Config(store=StoreConfig(url=f"sqlite:///{db}")), CLASSROOM)
    assert gateway.engine is None
    from turnout.assembly import tune_gc

    assert gateway.on_start == [tune_gc] and gateway.on_close == []
    assert not db.exists()
    asyncio.run(gateway.close())


def test_build_gateway_refuses_a_migration_that_does_not_fit(tmp_path: Path) -> None:
    db = tmp_path / "turnout.db"
    cfg = Config.model_validate(
        {"store": {"url": f"sqlite:///{db}"}, "migrations": [{"name": "x", "label": "percent(25)"}]}
    )
    with pytest.raises(AssemblyError, match="no @override in the supergraph has label"):
        build_gateway(cfg, CLASSROOM)
    assert not db.exists()  # checked before anything is opened


def test_build_gateway_with_a_store_it_cannot_open(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    cfg = Config.model_validate(
        {
            "store": {"url": f"sqlite:///{blocker / 'turnout.db'}"},  # its folder would be a file
            "migrations": [
                {"name": "m", "from": "monolith", "to": "assignments", "fields": ["Assignment.title"]}
            ],
        }
    )
    with pytest.raises(AssemblyError, match=f"cannot open the store sqlite:///{blocker}/turnout.db: "):
        build_gateway(cfg, CLASSROOM)


def test_retention_prunes_evidence_older_than_the_period(tmp_path: Path) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta

    from turnout.assembly import _Retention
    from turnout.migration.evidence import EvidenceBatch
    from turnout.migration.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'retention.db'}")
    store.create_schema()
    now = datetime.now(UTC)
    batch = EvidenceBatch()
    batch.add_comparison("m", "Old", "match", now - timedelta(days=30), count=5)
    batch.add_comparison("m", "New", "match", now - timedelta(minutes=5), count=2)
    store.write(batch)
    assert store.evidence("m").comparisons == 7
    removed = asyncio.run(_Retention(store, timedelta(days=14)).prune())
    assert removed >= 1
    evidence = store.evidence("m")
    assert (evidence.comparisons, evidence.operations) == (2, 1)
    store.close()
