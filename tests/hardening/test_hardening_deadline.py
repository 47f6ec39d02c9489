"""The request deadline (`request_timeout`): past it the client gets a clean timeout error (HTTP 504,
REQUEST_TIMEOUT, whatever the media type) instead of waiting for a slow subgraph; the gateway keeps serving."""

from __future__ import annotations

import time

from hardening_support import GRAPHQL_RESPONSE, JSON, ServeAsgi, raw_request, serve_configured

from test_gateway_support import RunSubgraphs, marketplace_specs

TIMED_OUT = {"errors": [{"message": "Request timed out", "extensions": {"code": "REQUEST_TIMEOUT"}}]}


def test_the_request_deadline_answers_a_clean_timeout(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    served = serve_configured(serve_asgi, subgraphs, {"request_timeout": 0.5, "subgraph_timeout": 10})
    subgraphs["orders"].delay = 3.0  # within its own timeout, beyond the request's
    for accept in (GRAPHQL_RESPONSE, JSON):
        started = time.monotonic()
        answer = served.post('{ user(id: "u1") { name orders { id } } }', accept=accept)
        assert time.monotonic() - started < 2.5
        assert (answer.status, answer.json) == (504, TIMED_OUT)
    metrics = raw_request(served.server.base_url + "/metrics", "GET").body.decode()
    assert 'turnout_requests_total{kind="unknown",outcome="timeout"} 2.0' in metrics
    # requests that do not wait on the slow subgraph are answered as usual, and so is everything once it is fast
    assert served.post('{ user(id: "u2") { name } }').json == {"data": {"user": {"name": "Alan Turing"}}}
    subgraphs["orders"].delay = 0.0
    answer = served.post('{ user(id: "u1") { name orders { id } } }')
    assert answer.status == 200 and "errors" not in answer.json


def test_a_slow_subgraph_within_the_deadline_gives_partial_data(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    served = serve_configured(
        serve_asgi, subgraphs, {"request_timeout": 5, "subgraphs": {"orders": {"timeout": 0.3}}}
    )
    subgraphs["orders"].delay = 2.0
    answer = served.post('{ user(id: "u2") { name orders { id } } }', accept=JSON)
    assert answer.status == 200
    # `orders` is non-null: its null takes the user with it, and the client learns why
    assert answer.json["data"] == {"user": None}
    assert answer.json["errors"][0]["extensions"]["code"] == "SUBREQUEST_TIMEOUT"
