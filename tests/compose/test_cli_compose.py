"""`turnout compose --config supergraph.yaml`: SDL files and `_service.sdl` fetched over HTTP, errors, output."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from support.servers import RunningSubgraph
from support.subgraph import SubgraphSpec
from turnout.cli import app
from turnout.supergraph.join_spec import read_supergraph

USERS = """extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Query { me: User }
type User @key(fields: "id") { id: ID! name: String }
"""
REVIEWS = """extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type User @key(fields: "id") { id: ID! reviews: [String!]! }
"""
CLASH = """extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Query { me: String }
"""


def _config(tmp_path: Path, entries: dict[str, str]) -> Path:
    lines = ["federation_version: =2.3.2", "subgraphs:"]
    for name, schema in entries.items():
        lines += [
            f"  {name}:",
            f"    routing_url: http://127.0.0.1:9/{name}",
            "    schema:",
            f"      {schema}",
        ]
    config = tmp_path / "supergraph.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def test_compose_from_files_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "sdl").mkdir()
    (tmp_path / "sdl" / "users.graphql").write_text(USERS, encoding="utf-8")
    (tmp_path / "sdl" / "reviews.graphql").write_text(REVIEWS, encoding="utf-8")
    config = _config(tmp_path, {"users": "file: sdl/users.graphql", "reviews": "file: ./sdl/reviews.graphql"})
    result = CliRunner().invoke(app, ["compose", "--config", str(config)])
    assert result.exit_code == 0, result.output
    model = read_supergraph(result.stdout)
    assert {s.name: s.url for s in model.subgraphs.values()} == {
        "users": "http://127.0.0.1:9/users",
        "reviews": "http://127.0.0.1:9/reviews",
    }
    assert set(model.types["User"].fields["reviews"].in_graphs) == {"REVIEWS"}
    out = tmp_path / "out" / "supergraph.graphql"
    out.parent.mkdir()
    written = CliRunner().invoke(app, ["compose", "--config", str(config), "--output", str(out)])
    assert written.exit_code == 0 and written.stdout == ""
    assert out.read_text(encoding="utf-8") == result.stdout


def test_compose_fetches_service_sdl(tmp_path: Path, run_subgraphs: object) -> None:
    running: dict[str, RunningSubgraph] = run_subgraphs(  # type: ignore[operator]
        SubgraphSpec("users", USERS, data={"User": [{"id": "1", "name": "Ada"}]}),
        SubgraphSpec("reviews", REVIEWS, data={"User": [{"id": "1", "reviews": ["fine"]}]}),
    )
    config = _config(tmp_path, {name: f"subgraph_url: {r.url}" for name, r in running.items()})
    result = CliRunner().invoke(app, ["compose", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "reviews: [String!]! @join__field(graph: REVIEWS)" in result.stdout
    assert all(any("_service" in (q or "") for q in r.app.queries) for r in running.values())


def test_composition_errors_exit_1_with_code_subgraphs_and_lines(tmp_path: Path) -> None:
    (tmp_path / "users.graphql").write_text(USERS, encoding="utf-8")
    (tmp_path / "clash.graphql").write_text(CLASH, encoding="utf-8")
    config = _config(tmp_path, {"users": "file: users.graphql", "clash": "file: clash.graphql"})
    result = CliRunner().invoke(app, ["compose", "--config", str(config)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "composition failed with" in result.stderr
    assert "[INVALID_FIELD_SHARING]" in result.stderr and "Query.me" in result.stderr
    assert "(clash:2, users:2)" in result.stderr  # subgraphs in name order, as Apollo composes them


def test_bad_configs_are_refused_clearly(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["compose", "--config", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    config = _config(tmp_path, {"users": "graphref: acme@current"})
    shape = CliRunner().invoke(app, ["compose", "--config", str(config)])
    assert shape.exit_code == 2 and "subgraphs.users.schema" in shape.stderr
    config = _config(tmp_path, {"users": "file: users.graphql"})
    unreadable = CliRunner().invoke(app, ["compose", "--config", str(config)])
    assert unreadable.exit_code == 2 and "subgraph users: cannot read" in unreadable.stderr
    config = _config(tmp_path, {"users": "subgraph_url: http://127.0.0.1:9/graphql"})
    down = CliRunner().invoke(app, ["compose", "--config", str(config), "--timeout", "2"])
    assert down.exit_code == 2 and "subgraph users: cannot fetch _service.sdl" in down.stderr
