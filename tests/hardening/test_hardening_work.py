"""Requests that cost little to send and much to serve, against `turnout serve` in a process of its own with
the defaults: fragment bombs (spreads repeated, 10^6 to 10^7 of them once expanded) and fragments that double
at each level. Each is answered within a second (data or a clear limit error) while a normal query sent
alongside keeps answering within a second, and the process's memory barely moves."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hardening_support import rss, turnout_serve

from test_gateway_support import RunSubgraphs, marketplace_specs

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the gateway's RSS from /proc"),
]

NORMAL = '{ user(id: "u2") { name } }'
NORMAL_ANSWER = {"data": {"user": {"name": "Alan Turing"}}}


def repeated_bomb(width: int, depth: int, names: int = 1) -> str:
    """Fragments on User, each spreading the level below `width` times: width**depth spreads in all.
    With `names` > 1, each level has that many fragments of the same content under different names."""
    fragments = [f"fragment F0_{n} on User {{ name id }}" for n in range(names)]
    for level in range(1, depth + 1):
        spreads = " ".join(f"...F{level - 1}_{i % names}" for i in range(width))
        top = 1 if level == depth else names  # one fragment at the top: every fragment is used
        fragments += [f"fragment F{level}_{n} on User {{ {spreads} }}" for n in range(top)]
    return f"{{ users {{ ...F{depth}_0 }} }} " + " ".join(fragments)


def doubling_bomb(depth: int) -> str:
    """Each level selects the level below at two different paths: a tree of 2**depth branches that no
    merging can shrink (the paths differ)."""
    fragments = ["fragment U0 on User { name }"]
    for level in range(1, depth + 1):
        below = f"U{level - 1}"
        fragments.append(
            f"fragment U{level} on User {{ orders {{ buyer {{ ...{below} }} "
            f"lines {{ variant {{ product {{ createdBy {{ ...{below} }} }} }} }} }} }}"
        )
    return f"{{ users {{ ...U{depth} }} }} " + " ".join(fragments)


async def _post(session: aiohttp.ClientSession, url: str, query: str) -> tuple[float, int, Any]:
    started = time.monotonic()
    async with session.post(url, json={"query": query}) as response:
        body = await response.json(content_type=None)
        return time.monotonic() - started, response.status, body


async def _alongside(url: str, queries: list[str]) -> tuple[list[tuple[float, int, Any]], list[float]]:
    """Sends `queries` one after the other while a normal query is sent in a loop; their answers with their
    times, and the normal query's times."""
    normal_times: list[float] = []
    done = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def normal() -> None:
            while not done.is_set():
                elapsed, status, body = await _post(session, url, NORMAL)
                assert (status, body) == (200, NORMAL_ANSWER)
                normal_times.append(elapsed)
                await asyncio.sleep(0.01)  # the normal client's pace: part of the traffic being measured

        loop = asyncio.create_task(normal())
        answers = []
        for query in queries:
            answers.append(await _post(session, url, query))
        done.set()
        await loop
    return answers, normal_times


def test_fragment_bombs_cost_what_their_distinct_selections_cost(
    tmp_path: Path, run_subgraphs: RunSubgraphs
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    bombs = {
        "10^6 spreads": repeated_bomb(10, 6),
        "10^7 spreads": repeated_bomb(10, 7),
        "2^20 spreads": repeated_bomb(2, 20),
        "2^20 spreads, two names a level": repeated_bomb(2, 20, names=2),
        "10^6 spreads, three names a level": repeated_bomb(10, 6, names=3),
    }
    with turnout_serve(tmp_path, {name: s.url for name, s in subgraphs.items()}) as (base, process):
        url = base + "/graphql"
        asyncio.run(_alongside(url, [NORMAL, repeated_bomb(3, 3)]))  # warm: the process at its working size
        before = rss(process.pid)
        # each bomb three times over, distinct texts (a trailing comment) so that no cache answers
        queries = [f"{query} # {copy}" for query in bombs.values() for copy in range(3)]
        answers, normal_times = asyncio.run(_alongside(url, queries))
        after = rss(process.pid)
    report = "\n".join(
        f"{name}: {len(query)} bytes, {elapsed:.3f}s, {status}"
        for (name, query), (elapsed, status, _body) in zip(bombs.items(), answers[::3], strict=True)
    )
    report += (
        f"\nnormal query alongside: {len(normal_times)} answers, worst {max(normal_times):.3f}s; "
        f"RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB"
    )
    print(report)
    users = [
        {"name": "Ada Lovelace", "id": "u1"},
        {"name": "Alan Turing", "id": "u2"},
        {"name": "Grace Hopper", "id": "u3"},
    ]
    for elapsed, status, body in answers:
        assert (status, body) == (200, {"data": {"users": users}}), report
        assert elapsed < 1.0, report
    assert normal_times and max(normal_times) < 1.0, report
    assert after - before < 50 * 2**20, report


def test_a_selection_tree_too_large_to_plan_is_refused_quickly(
    tmp_path: Path, run_subgraphs: RunSubgraphs
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    with turnout_serve(tmp_path, {name: s.url for name, s in subgraphs.items()}) as (base, _process):
        url = base + "/graphql"
        answers, normal_times = asyncio.run(_alongside(url, [doubling_bomb(depth) for depth in (4, 16, 19)]))
    (small_time, small_status, small), *refused = answers
    assert small_status == 200 and "errors" not in small, small
    assert small_time < 1.0
    for elapsed, status, body in refused:
        assert status == 200 and "data" not in body, body  # application/json: refused with 200
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "MAX_SELECTIONS_LIMIT", error
        assert "more than the limit of 10000" in error["message"], error
        assert elapsed < 1.0
    assert max(normal_times) < 1.0


def test_costly_validation_does_not_hold_other_requests(tmp_path: Path, run_subgraphs: RunSubgraphs) -> None:
    """20 documents repeating one field 3,000 times (15 KB; graphql-core's overlapping-fields rule compares
    every pair) and 20 declaring 2,000 unused variables, all at once, while a normal query is sent in a loop."""
    subgraphs = run_subgraphs(marketplace_specs())
    repeated = "{ users { " + "name " * 3_000 + "} }"
    unused = "query(" + ", ".join(f"$v{i}: ID" for i in range(2_000)) + ") { users { id } }"
    assert len(repeated) > 15_000

    async def run(url: str) -> tuple[list[tuple[float, int, Any]], list[float]]:
        normal_times: list[float] = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            await _post(session, url, NORMAL)
            costly = [
                asyncio.create_task(_post(session, url, f"{query} # {i}"))
                for i in range(20)
                for query in (repeated, unused)
            ]
            while not all(task.done() for task in costly):
                elapsed, status, body = await _post(session, url, NORMAL)
                assert (status, body) == (200, NORMAL_ANSWER)
                normal_times.append(elapsed)
                await asyncio.sleep(0.02)  # the normal client's pace: part of the traffic being measured
            return [task.result() for task in costly], normal_times

    with turnout_serve(tmp_path, {name: s.url for name, s in subgraphs.items()}) as (base, _process):
        answers, normal_times = asyncio.run(run(base + "/graphql"))
    report = (
        f"costly documents answered in {max(a[0] for a in answers):.2f}s at worst; normal query: "
        f"{len(normal_times)} answers, worst {max(normal_times):.3f}s"
    )
    print(report)
    names = [{"name": "Ada Lovelace"}, {"name": "Alan Turing"}, {"name": "Grace Hopper"}]
    for index, (_elapsed, status, body) in enumerate(answers):
        if index % 2 == 0:  # the repeated field: one field, answered
            assert (status, body) == (200, {"data": {"users": names}}), body
        else:
            assert status == 200 and "data" not in body, body
            assert body["errors"][0]["message"] == "Variable '$v0' is never used.", body
    assert len(normal_times) >= 3, report
    assert max(normal_times) < 1.0, report
