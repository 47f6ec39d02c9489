"""The supergraph source (what counts as a change), the serve settings, and the holder's bookkeeping."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from turnout.config import ConfigError, load_config
from turnout.gateway import Gateway
from turnout.reload import GatewayHolder, SourceError, SupergraphSource, shown_location
from turnout.supergraph.join_spec import read_supergraph
from turnout.transport.http import HttpTransport


def test_a_file_is_a_change_only_when_its_content_is(tmp_path: Path) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text("type Query { a: Int }", encoding="utf-8")
    source = SupergraphSource(str(path))
    first = source.read()
    assert len(first.version) == 12 and source.changed() is None
    path.write_text("type Query { a: Int }", encoding="utf-8")  # rewritten, same bytes
    assert source.changed() is None
    path.write_text("type Query { b: Int }", encoding="utf-8")
    found = source.changed()
    assert found is not None and found.text == "type Query { b: Int }" and found.sha256 != first.sha256
    assert source.changed() is None
    # same size, same mtime (a second write within one clock tick): still seen, by the content hash
    stat = path.stat()
    path.write_text("type Query { c: Int }", encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (source.changed() or pytest.fail("missed")).text == "type Query { c: Int }"
    source.forget()  # after a transient refusal: the same content is reported again
    assert source.changed() is not None


def test_an_old_unchanged_file_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text("type Query { a: Int }", encoding="utf-8")
    old = time.time() - 60
    os.utime(path, (old, old))
    source = SupergraphSource(str(path))
    source.read()
    reads: list[Path] = []
    read_bytes = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads.append(self)
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    assert [source.changed() for _ in range(5)] == [None] * 5
    assert reads == []  # a stat per poll, no read
    os.utime(path, (old + 1, old + 1))  # touched: read, hashed, same content: no change
    assert source.changed() is None and len(reads) == 1


def test_unreadable_supergraphs_say_why(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="No such file"):
        SupergraphSource(str(tmp_path / "missing.graphql")).read()
    binary = tmp_path / "binary.graphql"
    binary.write_bytes(b"\xff\xfe type Query")
    with pytest.raises(SourceError, match="not UTF-8"):
        SupergraphSource(str(binary)).read()
    with pytest.raises(SourceError):
        SupergraphSource("http://127.0.0.1:9/supergraph.graphql", timeout=2).read()


def test_urls_are_shown_without_credentials() -> None:
    assert (
        shown_location("https://ci:t0ken@registry.example:8443/graphs/main.graphql?key=abc#x")
        == "https://registry.example:8443/graphs/main.graphql"
    )
    assert shown_location("/etc/turnout/supergraph.graphql") == "/etc/turnout/supergraph.graphql"


def test_serve_settings_from_the_file_variables_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "turnout.yaml"
    config.write_text(
        "reload_interval: 2.5\nserver:\n  workers: 3\n  shutdown_timeout: 12\n", encoding="utf-8"
    )
    cfg = load_config(config, env={})
    assert (cfg.reload_interval, cfg.server.workers, cfg.server.shutdown_timeout) == (2.5, 3, 12.0)
    cfg = load_config(
        config, env={"TURNOUT_WORKERS": "4", "TURNOUT_RELOAD_INTERVAL": "0", "TURNOUT_SHUTDOWN_TIMEOUT": "5"}
    )
    assert (cfg.reload_interval, cfg.server.workers, cfg.server.shutdown_timeout) == (0.0, 4, 5.0)
    cfg = load_config(config, env={"TURNOUT_WORKERS": "4"}, overrides={("server", "workers"): 2})
    assert cfg.server.workers == 2
    defaults = load_config(None, env={})
    assert (defaults.reload_interval, defaults.server.workers, defaults.server.shutdown_timeout) == (
        10.0,
        1,
        30.0,
    )
    for bad in (
        {"TURNOUT_WORKERS": "0"},
        {"TURNOUT_RELOAD_INTERVAL": "-1"},
        {"TURNOUT_SHUTDOWN_TIMEOUT": "0"},
    ):
        with pytest.raises(ConfigError):
            load_config(None, env=bad)


def test_a_lease_holds_the_gateway_it_started_on() -> None:
    from support.fixtures import load_supergraph
    from support.waiting import eventually

    model = read_supergraph(load_supergraph("marketplace"))
    first, second = Gateway(model, HttpTransport()), Gateway(model, HttpTransport())
    closed: list[Gateway] = []

    async def scenario() -> None:
        holder = GatewayHolder(first, version="one", drain_timeout=5)
        first.on_close.append(lambda: _note(closed, first))
        await holder.start()
        with holder.lease() as leased:
            await holder.swap(second, "two")
            assert leased is first and holder.gateway is second and holder.version == "two"
            # a window for the retiring task to (wrongly) close a leased gateway: no event marks that it did not
            await asyncio.sleep(0.05)
            assert closed == [] and holder.retiring == 1  # still leased: not closed
        await eventually(lambda: closed, 1, describe="not closed once its lease ended")
        assert closed == [first] and holder.retiring == 0
        await holder.close(1)
        with pytest.raises(RuntimeError):
            await holder.swap(Gateway(model, HttpTransport()), "three")

    asyncio.run(scenario())


async def _note(closed: list[Gateway], item: Gateway) -> None:
    closed.append(item)


def test_the_settings_reach_the_worker_processes_whole() -> None:
    """`serve --workers N` hands its Config to each worker as JSON: every setting must survive the trip."""
    from turnout.config import Config

    cfg = Config.model_validate(
        {
            "supergraph": "https://user:pw@registry.example/supergraph.graphql",
            "server": {"workers": 3, "shutdown_timeout": 7},
            "subgraphs": {"accounts": {"url": "http://accounts.internal/graphql", "timeout": 2}},
            "migrations": [
                {
                    "name": "m",
                    "from": "monolith",
                    "to": "assignments",
                    "fields": ["Assignment.tags"],
                    "rules": {"Assignment.tags": {"unordered": True}},
                }
            ],
            "store": {
                "url": "postgresql+psycopg://turnout:secret@db.internal/turnout",
                "redact_patterns": ["x-\\d+"],
            },
            "cohort": {"header": "x-user"},
            "reload_interval": 3,
        }
    )
    assert Config.model_validate_json(cfg.model_dump_json(by_alias=True)) == cfg
