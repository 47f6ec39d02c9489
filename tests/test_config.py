"""Config: YAML, then TURNOUT_* variables, then command flags; every unusable input is a ConfigError that says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from turnout.config import Config, ConfigError, load_config


def write(tmp_path: Path, text: str, name: str = "turnout.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


FULL = """\
supergraph: ./supergraph.graphql
server:
  host: 0.0.0.0
  port: 4100
  introspection: false
subgraph_timeout: 12.5
subgraphs:
  accounts:
    url: http://accounts.internal:4001/graphql
    timeout: 5
  products:
    timeout: 2
log_level: INFO
store:
  url: sqlite:///var/turnout.db
  samples_per_hour: 3
cohort:
  header: x-user-id
migrations:
  - name: assignments
    from: monolith
    to: assignments
    fields: [Assignment.createdDate, Query.assignments]
    sample_rate: 0.5
    rules:
      Assignment.tags: {unordered: true}
      Assignment.score: {float_tolerance: 0.01}
    gates:
      min_comparisons: 10
      min_match_rate: 0.95
  - name: tiers
    label: percent(25)
"""


def test_defaults_without_a_file() -> None:
    cfg = load_config(None, env={})
    assert cfg == Config()
    assert cfg.server.port == 4000
    assert cfg.store.url == "sqlite:///turnout.db"
    assert cfg.log_level == "warning"
    assert cfg.migrations == []


def test_yaml_is_read_in_full(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL), env={})
    assert cfg.supergraph == "./supergraph.graphql"
    assert (cfg.server.host, cfg.server.port, cfg.server.introspection) == ("0.0.0.0", 4100, False)
    assert cfg.subgraph_timeout == 12.5
    assert cfg.subgraph_urls() == {"accounts": "http://accounts.internal:4001/graphql"}
    assert cfg.subgraph_timeouts() == {"accounts": 5.0, "products": 2.0}
    assert cfg.log_level == "info"  # normalised: logging and uvicorn both take it
    assert cfg.store.samples_per_hour == 3
    assert cfg.cohort.header == "x-user-id"
    first, second = cfg.migrations
    assert (first.name, first.from_subgraph, first.to_subgraph) == ("assignments", "monolith", "assignments")
    assert first.fields == ["Assignment.createdDate", "Query.assignments"]
    assert first.rules["Assignment.tags"].unordered
    assert first.rules["Assignment.score"].float_tolerance == 0.01
    assert (first.gates.min_comparisons, first.gates.min_match_rate, first.gates.min_operations) == (
        10,
        0.95,
        1,
    )
    assert (second.name, second.label, second.from_subgraph, second.fields) == (
        "tiers",
        "percent(25)",
        None,
        [],
    )


def test_an_empty_file_is_the_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), env={}) == Config()
    assert load_config(write(tmp_path, "# nothing yet\n"), env={}) == Config()


def test_precedence_yaml_then_environment_then_flags(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "supergraph: from-yaml.graphql\nserver: {host: yaml-host, port: 4100}\n"
        "log_level: error\nstore: {url: 'sqlite:///yaml.db'}\n",
    )
    env = {
        "TURNOUT_PORT": "4200",
        "TURNOUT_LOG_LEVEL": "debug",
        "TURNOUT_STORE_URL": "sqlite:///env.db",
        "TURNOUT_SUPERGRAPH": "from-env.graphql",
        "TURNOUT_INTROSPECTION": "false",
        "TURNOUT_HOST": "",  # empty: unset
    }
    flags = {("server", "port"): 4300, ("supergraph",): None, ("log_level",): "info"}
    cfg = load_config(path, env=env, overrides=flags)
    assert cfg.server.host == "yaml-host"  # only the file sets it
    assert cfg.server.port == 4300  # the flag beats the variable and the file
    assert cfg.log_level == "info"
    assert cfg.supergraph == "from-env.graphql"  # a flag left at None does not override
    assert cfg.store.url == "sqlite:///env.db"  # the variable beats the file
    assert cfg.server.introspection is False  # parsed from text


def test_environment_reaches_into_sections_the_file_leaves_empty(tmp_path: Path) -> None:
    cfg = load_config(
        write(tmp_path, "server:\nstore:\n"),
        env={"TURNOUT_HOST": "0.0.0.0", "TURNOUT_STORE_URL": "sqlite:///x.db"},
    )
    assert cfg.server.host == "0.0.0.0"
    assert cfg.store.url == "sqlite:///x.db"


def test_process_environment_is_read_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURNOUT_SUBGRAPH_TIMEOUT", "7")
    assert load_config(None).subgraph_timeout == 7.0


def error_of(tmp_path: Path, text: str, **kwargs: object) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, env=kwargs.pop("env", {}), **kwargs)  # type: ignore[arg-type]
    return str(raised.value)


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "server:\n  host: [127.0.0.1\n  port: 4000\n")
    assert message.startswith(f"{tmp_path / 'turnout.yaml'} is not valid YAML: line ")
    assert "<unicode string>" not in message


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    assert "must hold a mapping of settings, not list" in error_of(tmp_path, "- supergraph.graphql\n")


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*nope\.yaml: No such file"):
        load_config(tmp_path / "nope.yaml", env={})


def test_a_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "turnout.yaml"
    path.write_bytes(b"\xff\xfe\x00server")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(path, env={})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("serverr:\n  host: x\n", "serverr: unknown setting"),
        ("server:\n  hots: x\n", "server.hots: unknown setting"),
        ("migrations:\n  - name: m\n    form: monolith\n", "migrations[0].form: unknown setting"),
        ("subgraph_timeout: -1\n", "subgraph_timeout: Input should be greater than 0"),
        ("subgraph_timeout: 0\n", "subgraph_timeout: Input should be greater than 0"),
        (
            "subgraphs:\n  accounts:\n    timeout: -5\n",
            "subgraphs.accounts.timeout: Input should be greater than 0",
        ),
        ("shadow:\n  timeout: -0.5\n", "shadow.timeout: Input should be greater than 0"),
        ("server:\n  port: 70000\n", "server.port: Input should be less than or equal to 65535"),
        (
            "migrations:\n  - name: m\n    sample_rate: 1.5\n",
            "migrations[0].sample_rate: Input should be less than or equal to 1",
        ),
        (
            "migrations:\n  - name: m\n    noise_rate: -0.1\n",
            "migrations[0].noise_rate: Input should be greater than or equal to 0",
        ),
        (
            "migrations:\n  - name: m\n    gates: {min_match_rate: 2}\n",
            "migrations[0].gates.min_match_rate: Input should be less than or equal to 1",
        ),
        (
            "migrations:\n  - from: monolith\n    to: assignments\n",
            "migrations[0].name: required setting missing",
        ),
        (
            "migrations:\n  - name: a\n  - name: b\n  - {from: monolith}\n",
            "migrations[2].name: required setting missing",
        ),
        ("migrations:\n  - name: 'has spaces'\n", "migrations[0].name: String should match pattern"),
        (
            "migrations:\n  - name: m\n  - name: m\n",
            "migrations: two migrations are named 'm'; names must be unique",
        ),
        (
            "log_level: loud\n",
            "log_level: unknown log level 'loud'; one of critical, error, warning, info, debug",
        ),
        ("server: 4000\n", "server: Input should be a valid dictionary"),
    ],
)
def test_invalid_settings_say_where_and_why(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(f"invalid configuration in {tmp_path / 'turnout.yaml'}: ")
    assert expected in message


def test_every_problem_is_listed(tmp_path: Path) -> None:
    message = error_of(tmp_path, "subgraph_timeout: -1\nbogus: 1\nmigrations:\n  - sample_rate: 3\n")
    for part in (
        "subgraph_timeout:",
        "bogus: unknown setting",
        "migrations[0].name:",
        "migrations[0].sample_rate:",
    ):
        assert part in message


def test_a_bad_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(None, env={"TURNOUT_PORT": "four thousand"})
    assert str(raised.value) == (
        "invalid configuration: server.port: Input should be a valid integer, unable to parse string as an "
        "integer (from TURNOUT_PORT)"
    )
    with pytest.raises(ConfigError, match=r"subgraph_timeout: .* \(from TURNOUT_SUBGRAPH_TIMEOUT\)"):
        load_config(None, env={"TURNOUT_SUBGRAPH_TIMEOUT": "-3"})


def test_a_bad_flag_is_named() -> None:
    with pytest.raises(ConfigError, match=r"server\.port: .* \(from a command-line option\)"):
        load_config(None, env={}, overrides={("server", "port"): -1})


def test_a_variable_cannot_reach_into_a_setting_that_is_not_a_section(tmp_path: Path) -> None:
    message = error_of(tmp_path, "server: 4000\n", env={"TURNOUT_HOST": "0.0.0.0"})
    assert message == (
        f"invalid configuration in {tmp_path / 'turnout.yaml'}: server must be a mapping of settings "
        "to take TURNOUT_HOST"
    )


def test_the_execution_limit_is_auto_a_number_or_refused() -> None:
    assert load_config(env={}).server.execution_limit == "auto"
    assert load_config(env={"TURNOUT_EXECUTION_LIMIT": "16"}).server.execution_limit == 16
    assert load_config(env={"TURNOUT_EXECUTION_LIMIT": "auto"}).server.execution_limit == "auto"
    for wrong in ("0", "-3", "fast"):
        with pytest.raises(ConfigError, match="execution_limit"):
            load_config(env={"TURNOUT_EXECUTION_LIMIT": wrong})
