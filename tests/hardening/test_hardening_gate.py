"""The execution gate over real HTTP (`server.execution_limit`): a fixed limit is what a subgraph sees at most at
once, the automatic one opens up when subgraphs are slow instead of holding requests back, and the wait for a
turn counts in the request's deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from hardening_support import Answer, ServeAsgi, raw_request, serve_configured

from test_gateway_support import RunSubgraphs, marketplace_specs

QUERY = '{ user(id: "u2") { name } }'  # one call to `accounts`
EXPECTED = {"data": {"user": {"name": "Alan Turing"}}}


def _burst(post: Callable[[str], Answer], count: int) -> list[Answer]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(post, [QUERY] * count))


def _metric(base_url: str, name: str) -> float:
    text = raw_request(base_url + "/metrics", "GET").body.decode()
    line = next(line for line in text.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


def test_a_fixed_limit_is_the_most_requests_a_subgraph_sees_at_once(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    served = serve_configured(serve_asgi, subgraphs, {"server": {"execution_limit": 2}})
    accounts = subgraphs["accounts"]
    accounts.delay = 0.3
    answers = _burst(served.post, 8)
    assert [(a.status, a.json) for a in answers] == [(200, EXPECTED)] * 8
    assert accounts.app.most_in_flight == 2
    base = served.server.base_url
    assert _metric(base, "turnout_execution_limit") == 2
    assert _metric(base, "turnout_requests_waited_total") >= 6
    assert _metric(base, "turnout_waiting_requests") == 0


def test_the_automatic_limit_opens_up_for_a_slow_subgraph(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    """It starts at 8; with requests waiting on a slow subgraph the loop is idle, so more get in: the subgraph
    sees more than 8 at once, and the limit the metrics show has grown."""
    subgraphs = run_subgraphs(marketplace_specs())
    served = serve_configured(serve_asgi, subgraphs)  # the default: auto
    accounts = subgraphs["accounts"]
    accounts.delay = 0.5
    answers = _burst(served.post, 40)
    assert [(a.status, a.json) for a in answers] == [(200, EXPECTED)] * 40
    assert accounts.app.most_in_flight > 8
    assert _metric(served.server.base_url, "turnout_execution_limit") > 8


def test_the_wait_for_a_turn_counts_in_the_request_deadline(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    """One slot, a subgraph slower than the deadline, four requests at once: each gets its timeout after about
    the deadline, counted from its arrival, not after the ones before it had theirs (2 s for the last one)."""
    subgraphs = run_subgraphs(marketplace_specs())
    served = serve_configured(
        serve_asgi,
        subgraphs,
        {"server": {"execution_limit": 1}, "request_timeout": 0.5, "subgraph_timeout": 10},
    )
    accounts = subgraphs["accounts"]
    accounts.delay = 3.0

    def timed(query: str) -> tuple[Answer, float]:
        started = time.monotonic()
        answer = served.post(query)
        return answer, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(timed, [QUERY] * 4))
    assert [a.status for a, _ in results] == [504] * 4
    assert all(a.json["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT" for a, _ in results)
    assert max(elapsed for _, elapsed in results) < 1.5
    accounts.delay = 0.0
    assert served.post(QUERY).json == EXPECTED  # every slot came back when its request timed out
