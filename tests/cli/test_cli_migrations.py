"""The operator's commands (`migrations`, `diffs`, `ack`, `migrate`): a config file and the classroom supergraph in
a file. Their logic runs in process on a store in memory, handed to the app through its context object (the
config names a store the real opener refuses, so a command that bypassed it would fail); a few end-to-end tests
open the config's database as an operator's command does: an SQLite file (and PostgreSQL when
TURNOUT_TEST_POSTGRES_DSN is set)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from support.fixtures import load_supergraph
from turnout.assembly import build_gateway
from turnout.cli import app
from turnout.cli.common import CommandContext
from turnout.config import load_config
from turnout.migration.evidence import diff_signature
from turnout.migration.memory_store import MemoryStore
from turnout.migration.model import Difference, Stage
from turnout.migration.recorder import Recorder
from turnout.migration.store import Store
from turnout.supergraph.join_spec import read_supergraph

PG_DSN = os.environ.get("TURNOUT_TEST_POSTGRES_DSN")
TURNOUT_VARIABLES = ("TURNOUT_CONFIG", "TURNOUT_SUPERGRAPH", "TURNOUT_STORE_URL", "TURNOUT_LOG_LEVEL", "USER")

CONFIG = """\
supergraph: {supergraph}
store:
  url: "{store}"
migrations:
  - name: assignments
    from: monolith
    to: assignments
    fields: [Assignment.createdDate, Assignment.tags, Query.assignments]
    gates:
      min_comparisons: 4
      min_match_rate: 0.75
      min_operations: 2
      removed_after_seconds: 3600
  - name: scores
    from: monolith
    to: assignments
    fields: [Assignment.score]
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store of its own: a new SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'turnout.db'}"
        return
    if not PG_DSN:
        pytest.skip("TURNOUT_TEST_POSTGRES_DSN is not set")
    base = make_url(PG_DSN)
    if base.drivername in ("postgres", "postgresql"):
        base = base.set(drivername="postgresql+psycopg")
    schema = f"turnout_cli_{uuid.uuid4().hex}"
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


@dataclass
class Setup:
    """A config file and what it points at."""

    config: Path
    supergraph: Path
    store_url: str
    memory: MemoryStore | None = None  # the store the commands are handed (None: they open the config's)

    def run(self, *args: str, config: bool = True) -> Result:
        extra = ["--config", str(self.config)] if config else []
        memory = self.memory
        given = None if memory is None else CommandContext(open_store=lambda _cfg: memory)
        return CliRunner().invoke(app, [*args, *extra], catch_exceptions=False, obj=given)

    def store(self) -> Store | MemoryStore:
        """The commands' store in memory, or a fresh Store on the same database: what another gateway
        instance would read."""
        if self.memory is not None:
            return self.memory
        store = Store.open(self.store_url)
        store.create_schema()
        return store

    def stage(self, name: str) -> tuple[Stage, float]:
        with self.store() as store:
            state = store.get_states()[name]
        return state.stage, state.percent


def _setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str, memory: MemoryStore | None
) -> Setup:
    for variable in TURNOUT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(load_supergraph("classroom"), encoding="utf-8")
    config = tmp_path / "turnout.yaml"
    config.write_text(CONFIG.format(supergraph=supergraph, store=store_url), encoding="utf-8")
    return Setup(config=config, supergraph=supergraph, store_url=store_url, memory=memory)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Setup:
    """The commands in process on a store in memory. The config's store is one `open_store` refuses."""
    return _setup(tmp_path, monkeypatch, "sqlite:///:memory:", MemoryStore())


@pytest.fixture
def db_setup(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Setup:
    """End to end: the commands open the config's database, as they do for an operator."""
    return _setup(tmp_path, monkeypatch, store_url, None)


FIELDS = {
    "assignments": ("Assignment.createdDate", "Assignment.tags", "Query.assignments"),
    "scores": ("Assignment.score",),
}


def record(
    setup: Setup,
    *,
    matches: dict[str, int],
    mismatches: dict[str, int] | None = None,
    errors: int = 0,
    migration: str = "assignments",
) -> None:
    """Evidence as the gateway's recorder writes it: comparisons per operation, one diff group per mismatching
    operation (Assignment.createdDate, a timezone bug)."""
    every = {c: 1 for c in FIELDS.get(migration, ())}  # each comparison reached every field once
    with setup.store() as store:
        recorder = Recorder(store)
        for operation, count in matches.items():
            for _ in range(count):
                recorder.comparison(migration, operation, "match", [], set(), values=every)
        for operation, count in (mismatches or {}).items():
            for i in range(count):
                recorder.comparison(
                    migration,
                    operation,
                    "mismatch",
                    [
                        Difference(
                            path=("assignments", i, "createdDate"),
                            coordinate="Assignment.createdDate",
                            kind="value",
                            primary="2024-03-02T10:00:00Z",
                            candidate="2024-03-02T09:00:00Z",
                        )
                    ],
                    set(),
                    values=every,
                    differing={"Assignment.createdDate": 1},
                )
        for _ in range(errors):
            recorder.comparison(migration, "Broken", "error", [], set())
        recorder.latency(migration, "from", 4.0)
        recorder.latency(migration, "to", 9.0)
        assert asyncio.run(recorder.flush())


def signature(operation: str = "ListAssignments") -> str:
    return diff_signature("assignments", "Assignment.createdDate", operation, "value")


def migrations_json(setup: Setup) -> dict[str, dict[str, Any]]:
    result = setup.run("migrations", "--json")
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in orjson.loads(result.stdout)["migrations"]}


# -- migrations -------------------------------------------------------------------------------------------------


def test_migrations_table(setup: Setup) -> None:
    result = setup.run("migrations")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "turnout migrations" in out
    for text in (
        "assignments",
        "Assignment.createdDate",
        "Query.assignments",
        "scores",
        "Assignment.score",
        "monolith",
        "side_by_side: ready",
    ):
        assert text in out
    assert result.stderr == ""


def test_migrations_json(setup: Setup) -> None:
    rows = migrations_json(setup)
    assert list(rows) == ["assignments", "scores"]
    row = rows["assignments"]
    assert row["fields"] == ["Assignment.createdDate", "Assignment.tags", "Query.assignments"]
    assert (row["from"], row["to"], row["stage"], row["percent"]) == (
        "monolith",
        "assignments",
        "monolith",
        None,
    )
    assert (row["next_stage"], row["ready"], row["readiness"]) == ("side_by_side", True, "ready")
    assert row["evidence"]["comparisons"] == 0


def test_migrations_show_recorded_evidence(db_setup: Setup) -> None:
    record(db_setup, matches={"ListAssignments": 3, "GetAssignment": 2}, mismatches={"ListAssignments": 1})
    assert db_setup.run("migrate", "assignments", "--to", "side_by_side", "--by", "ada").exit_code == 0
    row = migrations_json(db_setup)["assignments"]
    evidence = row["evidence"]
    assert (evidence["comparisons"], evidence["matches"], evidence["mismatches"]) == (6, 5, 1)
    assert (evidence["operations"], evidence["open_diff_groups"]) == (2, 1)
    assert evidence["latency_from_ms"][0] < evidence["latency_to_ms"][0]
    assert (row["stage"], row["changed_by"], row["ready"]) == ("side_by_side", "ada", False)
    assert row["blockers"] == ["1 diff groups open (fix or acknowledge them)"]
    table = db_setup.run("migrations").stdout
    assert "83.3%" in table and "migrated: 1 diff groups" in table and "10% compared" in table


def test_migrations_without_any_configured(setup: Setup) -> None:
    setup.config.write_text(f"store: {{url: '{setup.store_url}'}}\n", encoding="utf-8")
    result = setup.run("migrations")
    assert (result.exit_code, result.stdout.strip()) == (
        0,
        "no migrations configured (add them under `migrations:` in the config)",
    )
    document = orjson.loads(setup.run("migrations", "--json").stdout)
    assert (document["migrations"], document["log"]) == ([], [])


def test_migrations_without_a_supergraph_keep_the_configured_gates(setup: Setup) -> None:
    text = setup.config.read_text(encoding="utf-8").replace(f"supergraph: {setup.supergraph}\n", "")
    setup.config.write_text(text, encoding="utf-8")
    with setup.store() as store:
        store.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=100, by="t", reason="", evidence={})
    row = migrations_json(setup)["assignments"]
    # the config's gates, not the defaults: 4 comparisons, 2 operations
    assert row["blockers"] == [
        "0 comparisons, 4 needed",
        "match rate unknown (no comparison judged), 75.00% needed",
        "never compared: Assignment.createdDate, Assignment.tags, Query.assignments",
        "0 distinct operations compared, 2 needed",
    ]
    assert migrations_json(setup)["scores"]["readiness"] == (
        "no supergraph to check that assignments resolves the fields"
    )


def test_a_supergraph_flag_replaces_the_configs(setup: Setup, tmp_path: Path) -> None:
    other = tmp_path / "other.graphql"
    other.write_text(load_supergraph("migration"), encoding="utf-8")
    result = setup.run("migrations", "--supergraph", str(other))
    assert result.exit_code == 2
    assert (
        "turnout: migration assignments: the supergraph has no subgraph named 'assignments'" in result.stderr
    )


# -- migrate ----------------------------------------------------------------------------------------------------


def test_migrate_one_stage_with_its_gate(setup: Setup) -> None:
    result = setup.run("migrate", "assignments", "--to", "side_by_side", "--by", "ada", "--reason", "start")
    assert result.exit_code == 0, result.output
    # entering side_by_side compares the configured sample_rate's share (0.1 by default)
    assert result.stdout.strip() == "assignments: monolith -> side_by_side comparing 10% of requests"
    assert setup.stage("assignments") == (Stage.SIDE_BY_SIDE, 10.0)
    with setup.store() as store:
        [change] = store.stage_log("assignments")
        assert "scores" not in store.get_states()
    assert (change.from_stage, change.to_stage, change.by, change.reason, change.forced) == (
        Stage.MONOLITH,
        Stage.SIDE_BY_SIDE,
        "ada",
        "start",
        False,
    )
    assert change.evidence["comparisons"] == 0


def test_migrate_refused_by_the_gate(setup: Setup) -> None:
    assert setup.run("migrate", "assignments", "--to", "side_by_side").exit_code == 0
    record(setup, matches={"ListAssignments": 2})
    result = setup.run("migrate", "assignments", "--to", "migrated")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert (
        "turnout: assignments cannot move from side_by_side to migrated: 2 comparisons, 4 needed; "
        "1 distinct operations compared, 2 needed"
    ) in result.stderr
    assert "--force --reason" in result.stderr
    assert setup.stage("assignments") == (Stage.SIDE_BY_SIDE, 10.0)
    with setup.store() as store:
        assert len(store.stage_log("assignments")) == 1  # a refused move is not logged


def test_migrate_refuses_to_skip_a_stage(setup: Setup) -> None:
    result = setup.run("migrate", "assignments", "--to", "migrated")
    assert result.exit_code == 1
    assert "stages are taken one at a time: from monolith the next is side_by_side" in result.stderr


def test_migrate_refuses_side_by_side_when_to_does_not_resolve_the_fields(setup: Setup) -> None:
    text = setup.config.read_text(encoding="utf-8").replace(
        "fields: [Assignment.score]", "fields: [Assignment.score, Query.users]"
    )
    setup.config.write_text(text, encoding="utf-8")
    result = setup.run("migrate", "scores", "--to", "side_by_side")
    assert result.exit_code == 1
    assert "assignments does not resolve Query.users" in result.stderr


def test_migrate_forced_is_logged(db_setup: Setup) -> None:
    assert db_setup.run("migrate", "assignments", "--to", "side_by_side").exit_code == 0
    record(db_setup, matches={"ListAssignments": 1})
    result = db_setup.run(
        "migrate",
        "assignments",
        "--to",
        "migrated",
        "--percent",
        "10",
        "--force",
        "--reason",
        "deadline; reviewed by hand",
        "--by",
        "grace",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "assignments: side_by_side -> migrated at 10% (forced past: 1 comparisons, 4 needed;"
    )
    assert db_setup.stage("assignments") == (Stage.MIGRATED, 10.0)
    with db_setup.store() as store:
        latest, first = store.stage_log("assignments")
    assert (first.to_stage, first.forced) == (Stage.SIDE_BY_SIDE, False)
    assert (latest.from_stage, latest.to_stage, latest.percent) == (Stage.SIDE_BY_SIDE, Stage.MIGRATED, 10.0)
    assert (latest.forced, latest.by, latest.reason) == (True, "grace", "deadline; reviewed by hand")
    assert latest.evidence["comparisons"] == 1
    assert latest.evidence["matches"] == 1
    assert latest.evidence["latency_from_ms"][0] is not None  # a list, not its text
    assert latest.evidence["blockers"] == [
        "1 comparisons, 4 needed",
        "1 distinct operations compared, 2 needed",
    ]


def test_migrate_forced_when_the_gate_agrees_is_not_marked_forced(setup: Setup) -> None:
    result = setup.run(
        "migrate", "assignments", "--to", "side_by_side", "--force", "--reason", "just in case"
    )
    assert (result.exit_code, result.stdout.strip()) == (
        0,
        "assignments: monolith -> side_by_side comparing 10% of requests",
    )
    with setup.store() as store:
        [change] = store.stage_log("assignments")
    assert (change.forced, change.reason) == (False, "just in case")


def test_the_whole_way_through_evidence_diffs_ack_and_rollout(db_setup: Setup) -> None:
    assert db_setup.run("migrate", "assignments", "--to", "side_by_side").exit_code == 0
    record(db_setup, matches={"ListAssignments": 5, "GetAssignment": 3}, mismatches={"ListAssignments": 2})

    # the mismatches form one open diff group, which blocks `migrated`
    result = db_setup.run("migrate", "assignments", "--to", "migrated", "--percent", "25")
    assert result.exit_code == 1
    assert "1 diff groups open" in result.stderr

    listed = db_setup.run("diffs", "assignments")
    assert listed.exit_code == 0, listed.output
    for text in (
        signature()[:12],
        "Assignment.createdDate",
        "ListAssignments",
        "value",
        "open",
        '"2024-03-02T10:00:00Z" -> "2024-03-02T09:00:00Z"',
    ):
        assert text in listed.stdout
    [group] = orjson.loads(db_setup.run("diffs", "assignments", "--json").stdout)["groups"]
    assert (group["signature"], group["count"], group["acknowledged_until"]) == (signature(), 2, None)
    assert {sample["path"] for sample in group["samples"]} == {
        "assignments.0.createdDate",
        "assignments.1.createdDate",
    }

    acked = db_setup.run(
        "ack",
        signature()[:8],
        "--migration",
        "assignments",
        "--reason",
        "timezone fixed in v2",
        "--days",
        "3",
        "--by",
        "ada",
    )
    assert acked.exit_code == 0, acked.output
    assert acked.stdout.strip() == f"acknowledged {signature()[:12]} for 3 days"
    with db_setup.store() as store:
        assert store.evidence("assignments").open_diff_groups == 0
        [stored] = store.diff_groups("assignments")
    assert (stored.acknowledged_by, stored.acknowledged_reason) == ("ada", "timezone fixed in v2")
    assert stored.acknowledged_until is not None
    assert timedelta(days=2.9) < stored.acknowledged_until - datetime.now(UTC) <= timedelta(days=3)
    assert "acknowledged until" in db_setup.run("diffs", "assignments").stdout

    # 8 matches of 10 judged: 80% >= 75%, over 2 operations
    moved = db_setup.run("migrate", "assignments", "--to", "migrated", "--percent", "25")
    assert moved.exit_code == 0, moved.output
    assert moved.stdout.strip() == "assignments: side_by_side -> migrated at 25%"
    assert db_setup.stage("assignments") == (Stage.MIGRATED, 25.0)

    # `removed` needs the whole rollout (and an hour in migrated, per this config)
    result = db_setup.run("migrate", "assignments", "--to", "removed")
    assert result.exit_code == 1
    assert "rollout is 25%, 100% needed" in result.stderr
    assert "s needed" in result.stderr.split("rollout is 25%, 100% needed")[1]

    # the same stage again: a new rollout; without --percent the rollout is kept, and nothing is logged
    assert db_setup.run("migrate", "assignments", "--to", "migrated", "--percent", "100").exit_code == 0
    assert db_setup.stage("assignments") == (Stage.MIGRATED, 100.0)
    again = db_setup.run("migrate", "assignments", "--to", "migrated")
    assert (again.exit_code, again.stdout.strip()) == (
        0,
        "assignments: already migrated at 100%; nothing changed",
    )
    assert db_setup.stage("assignments") == (Stage.MIGRATED, 100.0)

    row = migrations_json(db_setup)["assignments"]
    assert (row["stage"], row["percent"], row["next_stage"]) == ("migrated", 100.0, "removed")
    assert row["readiness"].startswith("migrated for ")

    # moving back needs no evidence
    back = db_setup.run("migrate", "assignments", "--to", "monolith", "--reason", "incident 42")
    assert (back.exit_code, back.stdout.strip()) == (0, "assignments: migrated -> monolith")
    with db_setup.store() as store:
        log = store.stage_log("assignments")
    assert [(c.from_stage.value, c.to_stage.value, c.percent) for c in reversed(log)] == [
        ("monolith", "side_by_side", 10.0),
        ("side_by_side", "migrated", 25.0),
        ("migrated", "migrated", 100.0),
        ("migrated", "monolith", 100.0),
    ]


def test_a_stage_set_by_the_cli_is_seen_by_every_gateway(db_setup: Setup) -> None:
    cfg = load_config(db_setup.config, env={})
    model = read_supergraph(db_setup.supergraph.read_text(encoding="utf-8"))
    gateways = [build_gateway(cfg, model), build_gateway(cfg, model)]

    async def stages() -> list[tuple[Stage, float]]:
        seen = []
        for gateway in gateways:
            assert gateway.engine is not None
            await gateway.engine.refresh()
            state = gateway.engine.states["assignments"]
            seen.append((state.stage, state.percent))
        return seen

    async def close() -> None:
        for gateway in gateways:
            await gateway.close()

    try:
        assert asyncio.run(stages()) == [(Stage.MONOLITH, 100.0)] * 2
        assert db_setup.run("migrate", "assignments", "--to", "side_by_side").exit_code == 0
        assert asyncio.run(stages()) == [(Stage.SIDE_BY_SIDE, 10.0)] * 2
        # the sampling share, changed at runtime: stored and picked up like a stage
        assert (
            db_setup.run("migrate", "assignments", "--to", "side_by_side", "--percent", "100").exit_code == 0
        )
        assert asyncio.run(stages()) == [(Stage.SIDE_BY_SIDE, 100.0)] * 2
        result = db_setup.run(
            "migrate", "assignments", "--to", "migrated", "--percent", "25", "--force", "--reason", "canary"
        )
        assert result.exit_code == 0, result.output
        assert asyncio.run(stages()) == [(Stage.MIGRATED, 25.0)] * 2
    finally:
        asyncio.run(close())
    # and so does a third CLI invocation
    assert migrations_json(db_setup)["assignments"]["percent"] == 25.0


# -- diffs and ack ------------------------------------------------------------------------------------------------


def test_diffs_with_nothing_recorded(setup: Setup) -> None:
    result = setup.run("diffs", "scores")
    assert (result.exit_code, result.stdout.strip()) == (0, "no differences recorded for scores")
    assert orjson.loads(setup.run("diffs", "scores", "--json").stdout) == {"groups": []}


def test_diffs_show_an_expired_acknowledgement_as_open(setup: Setup) -> None:
    record(setup, matches={}, mismatches={"ListAssignments": 1})
    with setup.store() as store:
        assert store.acknowledge(
            signature(), until=datetime.now(UTC) - timedelta(hours=1), by="ada", reason="old"
        )
        assert store.evidence("assignments").open_diff_groups == 1
    out = setup.run("diffs", "assignments").stdout
    assert "open (acknowledgement expired" in out
    assert "acknowledged until" not in out


def test_ack_needs_an_unambiguous_prefix(setup: Setup) -> None:
    operations = [f"Op{i}" for i in range(17)]  # 17 groups: two of them share a first hex digit
    record(setup, matches={}, mismatches=dict.fromkeys(operations, 1))
    signatures = [signature(op) for op in operations]
    shared = next(c for c in "0123456789abcdef" if sum(s.startswith(c) for s in signatures) > 1)
    sharing = sum(s.startswith(shared) for s in signatures)
    result = setup.run("ack", shared, "--migration", "assignments", "--reason", "r")
    assert result.exit_code == 2
    assert (
        f"turnout: {shared!r} is ambiguous: {sharing} diff groups of assignments start with it "
        "(give more characters)"
    ) in result.stderr

    missing = next(p for p in ("0" * 12, "f" * 12) if not any(s.startswith(p) for s in signatures))
    result = setup.run("ack", missing, "--migration", "assignments", "--reason", "r")
    assert result.exit_code == 2
    assert f"no diff group of assignments has a signature starting with {missing!r}" in result.stderr
    with setup.store() as store:
        assert store.evidence("assignments").open_diff_groups == 17

    # the whole signature, in capitals, is fine too
    result = setup.run("ack", signatures[2].upper(), "--migration", "assignments", "--reason", "r")
    assert result.exit_code == 0, result.output
    with setup.store() as store:
        assert store.evidence("assignments").open_diff_groups == 16


def test_ack_only_touches_its_migrations_groups(setup: Setup) -> None:
    record(setup, matches={}, mismatches={"ListAssignments": 1})
    result = setup.run("ack", signature()[:10], "--migration", "scores", "--reason", "r")
    assert result.exit_code == 2
    assert "no diff group of scores" in result.stderr


# -- bad input: a clear message and exit code 2 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["migrate", "nope", "--to", "side_by_side"],
            "turnout: no migration named 'nope' (known: assignments, scores)",
        ),
        (
            ["migrate", "assignments", "--to", "production"],
            "turnout: unknown stage 'production'; one of monolith, side_by_side, migrated, removed",
        ),
        (
            ["migrate", "assignments", "--to", "migrated", "--percent", "150"],
            "turnout: --percent must be between 0 and 100, not 150",
        ),
        (
            ["migrate", "assignments", "--to", "migrated", "--percent", "-1"],
            "turnout: --percent must be between 0 and 100, not -1",
        ),
        (
            ["migrate", "assignments", "--to", "migrated", "--percent", "nan"],
            "turnout: --percent must be between 0 and 100, not nan",
        ),
        (
            ["migrate", "assignments", "--to", "removed", "--percent", "50"],
            "turnout: --percent is the rollout in migrated or the sampling share in side_by_side; removed has none",
        ),
        (
            ["migrate", "assignments", "--to", "migrated", "--force"],
            "turnout: --force needs a --reason (it is kept in the stage log)",
        ),
        (
            ["migrate", "assignments", "--to", "migrated", "--force", "--reason", "  "],
            "turnout: --force needs a --reason (it is kept in the stage log)",
        ),
        (["diffs", "nope"], "turnout: no migration named 'nope' (known: assignments, scores)"),
        (
            ["ack", "abc", "--migration", "nope", "--reason", "r"],
            "turnout: no migration named 'nope' (known: assignments, scores)",
        ),
        (
            ["ack", "", "--migration", "assignments", "--reason", "r"],
            "turnout: give a diff group's signature",
        ),
        (
            ["ack", "abc", "--migration", "assignments", "--reason", " "],
            "turnout: --reason must say why the difference is acceptable",
        ),
        (
            ["ack", "abc", "--migration", "assignments", "--reason", "r", "--days", "0"],
            "turnout: --days must be more than 0",
        ),
    ],
)
def test_bad_input(setup: Setup, args: list[str], message: str) -> None:
    result = setup.run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message)
    assert result.stdout == ""
    with setup.store() as store:
        assert store.get_states() == {}  # nothing moved


def test_stage_names_are_forgiving_about_case_and_dashes(setup: Setup) -> None:
    result = setup.run("migrate", "assignments", "--to", "Side-By-Side")
    assert (result.exit_code, result.stdout.strip()) == (
        0,
        "assignments: monolith -> side_by_side comparing 10% of requests",
    )


def test_a_bad_config_file(setup: Setup) -> None:
    setup.config.write_text("migrations:\n  - name: assignments\n    sample_rate: 3\n", encoding="utf-8")
    for args in (
        ["migrations"],
        ["diffs", "assignments"],
        ["migrate", "assignments", "--to", "side_by_side"],
        ["ack", "abc", "--migration", "assignments", "--reason", "r"],
    ):
        result = setup.run(*args)
        assert result.exit_code == 2
        assert result.stderr.startswith(
            f"turnout: invalid configuration in {setup.config}: "
            "migrations[0].sample_rate: Input should be less than or equal to 1"
        )


def test_a_config_that_does_not_fit_the_supergraph(setup: Setup) -> None:
    text = setup.config.read_text(encoding="utf-8").replace("Assignment.tags", "Assignment.tagz")
    setup.config.write_text(text, encoding="utf-8")
    result = setup.run("migrations")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "turnout: migration assignments: Assignment.tagz is not a field of the supergraph"
    )


def test_a_missing_supergraph_file(setup: Setup, tmp_path: Path) -> None:
    result = setup.run("migrations", "--supergraph", str(tmp_path / "missing.graphql"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"turnout: cannot load supergraph {tmp_path / 'missing.graphql'}")


def test_a_store_that_cannot_be_opened(db_setup: Setup) -> None:
    text = db_setup.config.read_text(encoding="utf-8").replace(db_setup.store_url, "sqlite:///:memory:")
    db_setup.config.write_text(text, encoding="utf-8")
    result = db_setup.run("migrations")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "turnout: cannot open the store sqlite:///:memory:: the SQLite store needs a file path"
    )


def test_migrate_says_plainly_that_the_store_cannot_be_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import time

    for variable in TURNOUT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    with socket.socket() as sock:  # a port nothing listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(load_supergraph("classroom"), encoding="utf-8")
    config = tmp_path / "turnout.yaml"
    store = f"postgresql+psycopg://turnout:s3cret@127.0.0.1:{port}/turnout"
    config.write_text(CONFIG.format(supergraph=supergraph, store=store), encoding="utf-8")
    started = time.monotonic()
    result = CliRunner().invoke(
        app,
        ["migrate", "assignments", "--to", "side_by_side", "--config", str(config)],
        catch_exceptions=False,
    )
    took = time.monotonic() - started
    print(
        f"\nmigrate with the store down: exit {result.exit_code} after {took:.2f}s: {result.stderr.strip()}"
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"turnout: cannot open the store postgresql+psycopg://turnout:***@127.0.0.1:"
        f"{port}/turnout: it does not answer: "
    )
    assert "refused" in result.stderr and "s3cret" not in result.stderr
    assert "Traceback" not in result.stderr and "sqlalche.me" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert took < 10
