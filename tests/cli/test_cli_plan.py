"""`turnout plan`: the plan of an operation as the monolith serves it, or under a migration's new routing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from support.fixtures import load_supergraph
from turnout.cli import app

BOARD = "query Board { assignments { id title createdDate } }"


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(load_supergraph("classroom"), encoding="utf-8")
    query = tmp_path / "board.graphql"
    query.write_text(BOARD, encoding="utf-8")
    config = tmp_path / "turnout.yaml"
    config.write_text(
        f"supergraph: {supergraph}\nmigrations:\n  - name: assignments\n    from: monolith\n"
        "    to: assignments\n    fields: [Assignment.createdDate]\n",
        encoding="utf-8",
    )
    return supergraph, query, config


def test_plan_as_the_monolith_serves_it_and_as_migrated(tmp_path: Path) -> None:
    supergraph, query, config = _files(tmp_path)
    plain = CliRunner().invoke(app, ["plan", str(query), "--supergraph", str(supergraph)])
    assert plain.exit_code == 0 and "createdDate" in plain.stdout, plain.output
    old = CliRunner().invoke(app, ["plan", str(query), "--config", str(config)])
    assert old.exit_code == 0, old.output
    assert old.stdout.count("Fetch(") == 1 and 'Fetch(service: "monolith")' in old.stdout
    moved = CliRunner().invoke(
        app, ["plan", str(query), "--config", str(config), "--migrated", "assignments"]
    )
    assert moved.exit_code == 0, moved.output
    # createdDate from the new service; the rest where it was
    assert 'Fetch(service: "assignments")' in moved.stdout and "createdDate" in moved.stdout
    assert not (tmp_path / "turnout.db").exists()  # planning opens no store


def test_plan_refuses_clearly(tmp_path: Path) -> None:
    supergraph, _query, config = _files(tmp_path)
    missing = CliRunner().invoke(
        app, ["plan", str(tmp_path / "nope.graphql"), "--supergraph", str(supergraph)]
    )
    assert missing.exit_code == 2
    assert "turnout: cannot read" in missing.stderr and "nope.graphql" in missing.stderr
    unknown = CliRunner().invoke(app, ["plan", str(_query), "--config", str(config), "--migrated", "nope"])
    assert unknown.exit_code == 2 and "no migration named 'nope'" in unknown.stderr
    no_supergraph = CliRunner().invoke(app, ["plan", str(_query)])
    assert no_supergraph.exit_code == 2 and "no supergraph" in no_supergraph.stderr
