"""Configuration changes without a restart, on a real `turnout serve`: the file re-read when it changes and on
SIGHUP, bad files refused (the running config stays), good ones applied atomically under load."""

from __future__ import annotations

import asyncio
import random
import re
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
from ops_support import (
    MIGRATING_FIELDS,
    ClassroomProcess,
    GatewayProcess,
    Operation,
    classroom_migration,
    run_load,
    sleep_until,
    write_atomic,
)

from support.fixtures import load_supergraph, with_subgraph_urls
from support.waiting import eventually
from turnout.migration.model import Stage
from turnout.migration.store import Store

BOARD = "query Board { assignments { id title createdDate tags } }"
WITHOUT_TAGS = [f for f in MIGRATING_FIELDS if f != "Assignment.tags"]


def _answered(status: int, body: Any) -> str | None:
    if status != 200 or not isinstance(body, dict) or body.get("errors") or not body.get("data"):
        return f"HTTP {status}: {str(body)[:200]}"
    return None


def _world(tmp_path: Path, subgraphs: ClassroomProcess, reload_interval: float) -> tuple[Path, Path, str]:
    supergraph = tmp_path / "supergraph.graphql"
    write_atomic(
        supergraph,
        with_subgraph_urls(load_supergraph("classroom"), {n: subgraphs.url(n) for n in subgraphs.ports}),
    )
    store_url = f"sqlite:///{tmp_path / 'turnout.db'}"
    with Store.open(store_url) as store:
        store.create_schema()
        for name in ("assignments", "tags"):
            store.set_stage(name, Stage.SIDE_BY_SIDE, percent=100, by="test", reason="test", evidence={})
    config = tmp_path / "turnout.yaml"
    write_atomic(config, _config(store_url, reload_interval, [classroom_migration(fields=WITHOUT_TAGS)]))
    return supergraph, config, store_url


def _config(store_url: str, reload_interval: float, migrations: list[dict[str, Any]]) -> str:
    import yaml

    return yaml.safe_dump(
        {
            "store": {"url": store_url, "flush_interval": 0.2},
            "migrations": migrations,
            "cohort": {"header": "x-user"},
            "reload_interval": reload_interval,
        },
        sort_keys=False,
    )


async def _metrics(url: str) -> str:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(url + "/metrics") as response,
    ):
        return await response.text()


def _count(text: str, migration: str, outcome: str) -> int:
    match = re.search(
        rf'^turnout_migration_comparisons_total{{migration="{migration}",outcome="{outcome}"}} (\S+)$',
        text,
        re.M,
    )
    return int(float(match.group(1))) if match else 0


async def _settled(url: str, timeout: float = 15.0) -> str:
    """/metrics once the comparisons have stopped moving (the shadow queue is empty) and the evidence is written."""
    previous: list[list[str] | None] = [None]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:

        async def settled() -> str | None:
            async with session.get(url + "/ready") as response:
                pending = (await response.json())["evidence"]["pending"]
            text = await _metrics(url)
            counts = re.findall(r"^turnout_migration_comparisons_total\{.*\} (\S+)$", text, re.M)
            if counts == previous[0] and pending == 0:
                return text
            previous[0] = counts
            return None

        # asked every 0.5 s, longer than a flush (0.2 s): a comparison in between shows
        return await eventually(settled, timeout, interval=0.5, describe="the comparisons did not settle")


async def _wait_for(gateway: GatewayProcess, pattern: str, count: int = 1, timeout: float = 15.0) -> None:
    await eventually(
        lambda: gateway.count(pattern) >= count,
        timeout,
        interval=0.05,
        describe=lambda: f"no {pattern!r} in the log:\n{gateway.log()}",
    )


def test_a_migration_added_and_a_rule_changed_under_load(tmp_path: Path) -> None:
    subgraphs = (
        ClassroomProcess()
    )  # its new service is an hour off on a2's createdDate: a mismatch per request
    try:
        supergraph, config, store_url = _world(tmp_path, subgraphs, reload_interval=0.5)
        gateway = GatewayProcess(
            ["--supergraph", str(supergraph), "--config", str(config), "--log-level", "info"],
            tmp_path / "gateway.log",
        )
        gateway.wait_ready()
        seen: dict[str, Any] = {}

        async def change(started: float) -> None:
            await sleep_until(started, 2.0)
            seen["before"] = await _metrics(gateway.base_url)
            write_atomic(config, "migrations: [name: broken\n")  # not YAML
            await _wait_for(gateway, r"refused config")
            rules = {"Assignment.createdDate": {"ignore": True}}
            write_atomic(
                config,
                _config(
                    store_url,
                    0.5,
                    [  # a field no subgraph has: the assembly refuses it
                        classroom_migration(fields=WITHOUT_TAGS, rules=rules),
                        classroom_migration(name="tags", fields=["Assignment.nope"]),
                    ],
                ),
            )
            await _wait_for(gateway, r"refused config", 2)
            assert gateway.count(r"now serving config") == 0
            write_atomic(
                config,
                _config(
                    store_url,
                    0.5,
                    [
                        classroom_migration(fields=WITHOUT_TAGS, rules=rules),
                        classroom_migration(name="tags", fields=["Assignment.tags"]),
                    ],
                ),
            )
            await _wait_for(gateway, r"now serving config")
            seen["applied"] = time.monotonic() - started
            await _wait_for(
                gateway, r"closed the gateway of supergraph"
            )  # the old one's comparisons are done
            seen["after_swap"] = await _metrics(gateway.base_url)

        stats = asyncio.run(
            run_load(
                gateway.url,
                lambda _rng: Operation(
                    "Board", BOARD, _answered, headers={"x-user": f"u{random.randrange(50)}"}
                ),
                clients=6,
                duration=14.0,
                during=change,
            )
        )
        final = asyncio.run(_settled(gateway.base_url))  # the last comparisons, queued off the request path
        gateway.signal(signal.SIGTERM)
        code = gateway.wait(20)
    finally:
        gateway.stop()
        subgraphs.close()
    log = gateway.log()
    before, after_swap = seen["before"], seen["after_swap"]
    counts = {
        name: {
            o: (_count(before, name, o), _count(after_swap, name, o), _count(final, name, o))
            for o in ("match", "mismatch")
        }
        for name in ("assignments", "tags")
    }
    print(
        f"\nconfig reload under load: {stats.summary()}; applied at {seen['applied']:.1f}s; comparisons "
        f"(before / at the swap / at the end): {counts}"
    )
    assert stats.failures == 0, stats.problems[:5]
    assert code == 0 and "Traceback" not in log
    assert re.search(
        r"refused config .*turnout.yaml \(file changed\): invalid configuration|"
        r"refused config .*turnout.yaml \(file changed\): .* is not valid YAML",
        log,
    ), log
    assert re.search(
        r"refused config .*\(file changed\): migration tags: Assignment.nope is not a field", log
    ), log
    assert "added tags, removed none" in log
    assignments, tags = counts["assignments"], counts["tags"]
    assert assignments["mismatch"][0] > 0  # the timezone bug, before the rule
    assert assignments["mismatch"][2] == assignments["mismatch"][1]  # none after: createdDate is ignored now
    assert assignments["match"][2] > assignments["match"][1] + 20  # ... and comparisons went on, matching
    assert tags["match"][0] == 0 and tags["match"][2] > 20  # the added migration compares from the reload on
    with Store.open(store_url) as store:
        assert store.evidence("tags").comparisons == tags["match"][2] + tags["mismatch"][2]


def test_sighup_applies_the_file_and_keeps_what_needs_a_restart(tmp_path: Path) -> None:
    subgraphs = ClassroomProcess()
    try:
        supergraph, config, store_url = _world(
            tmp_path, subgraphs, reload_interval=0
        )  # no polling: SIGHUP only
        gateway = GatewayProcess(
            ["--supergraph", str(supergraph), "--config", str(config), "--log-level", "info"],
            tmp_path / "gateway.log",
        )
        gateway.wait_ready()
        text = _config(
            store_url,
            0,
            [
                classroom_migration(fields=WITHOUT_TAGS, sample_rate=0.5),
                classroom_migration(name="tags", fields=["Assignment.tags"]),
            ],
        )
        write_atomic(config, text.replace("flush_interval: 0.2", "flush_interval: 5"))  # a store setting
        # a window, what a poll would take: there is no event for a poll that does not happen
        time.sleep(0.3)
        assert gateway.count(r"now serving config") == 0  # not polled
        gateway.signal(signal.SIGHUP)
        asyncio.run(_wait_for(gateway, r"now serving config"))
        gateway.signal(signal.SIGHUP)  # the same file again
        asyncio.run(_wait_for(gateway, r"nothing to apply"))
        gateway.signal(signal.SIGTERM)
        code = gateway.wait(20)
    finally:
        gateway.stop()
        subgraphs.close()
    log = gateway.log()
    assert code == 0 and "Traceback" not in log
    assert "(SIGHUP): store changed; that takes a restart, the running values stay" in log
    assert "(SIGHUP): migrations assignments, tags (added tags, removed none)" in log


def test_each_worker_applies_a_changed_file(tmp_path: Path) -> None:
    subgraphs = ClassroomProcess()
    try:
        supergraph, config, store_url = _world(tmp_path, subgraphs, reload_interval=0.3)
        gateway = GatewayProcess(
            [
                "--supergraph",
                str(supergraph),
                "--config",
                str(config),
                "--workers",
                "2",
                "--log-level",
                "info",
            ],
            tmp_path / "gateway.log",
        )
        gateway.wait_ready(timeout=30)
        asyncio.run(_wait_for(gateway, r"Application startup complete", 2, timeout=30))
        write_atomic(
            config,
            _config(
                store_url,
                0.3,
                [
                    classroom_migration(fields=WITHOUT_TAGS),
                    classroom_migration(name="tags", fields=["Assignment.tags"]),
                ],
            ),
        )
        asyncio.run(_wait_for(gateway, r"now serving config .*added tags", 2))
        gateway.signal(signal.SIGTERM)
        code = gateway.wait(30)
    finally:
        gateway.stop()
        subgraphs.close()
    log = gateway.log()
    assert code == 0 and "Traceback" not in log
    assert gateway.count(r"now serving config .*\(file changed\): migrations assignments, tags") == 2


def test_the_first_migration_is_added_without_a_restart(tmp_path: Path) -> None:
    subgraphs = ClassroomProcess()  # a gateway deployed before any migration: store configured, none declared
    try:
        supergraph, config, store_url = _world(tmp_path, subgraphs, reload_interval=0.3)
        write_atomic(config, _config(store_url, 0.3, []))
        gateway = GatewayProcess(
            ["--supergraph", str(supergraph), "--config", str(config), "--log-level", "info"],
            tmp_path / "gateway.log",
        )
        gateway.wait_ready()
        write_atomic(config, _config(store_url, 0.3, [classroom_migration()]))
        asyncio.run(_wait_for(gateway, r"now serving config .*added assignments"))

        async def use() -> tuple[int, Any]:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
                for _ in range(5):
                    async with session.post(
                        gateway.url, json={"query": BOARD}, headers={"x-user": "u1"}
                    ) as r:
                        assert r.status == 200

                async def compared() -> bool:
                    return _count(await _metrics(gateway.base_url), "assignments", "mismatch") >= 5

                await eventually(compared, 10, interval=0.1)
                async with session.get(gateway.admin_url + "/migrations/api") as r:
                    return r.status, await r.json()

        status, dashboard = asyncio.run(use())
        gateway.signal(signal.SIGTERM)
        code = gateway.wait(20)
    finally:
        gateway.stop()
        subgraphs.close()
    assert code == 0 and "Traceback" not in gateway.log()
    assert status == 200 and "assignments" in str(dashboard)
    with Store.open(store_url) as store:
        assert store.evidence("assignments").comparisons == 5
