"""`log_format: json` on a real `turnout serve`: every line of its log is one JSON object; a request's lines (the
access line, its comparison's) carry its request id and trace id, the migration and the outcome."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ops_support import classroom_world, gateway_process

from support.client import graphql_request
from support.servers import RunningSubgraph
from support.waiting import wait_until

RunSubgraphs = Callable[..., dict[str, RunningSubgraph]]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_json_lines_carry_the_request_and_the_comparison(run_subgraphs: RunSubgraphs, tmp_path: Path) -> None:
    world = classroom_world(run_subgraphs, tmp_path, log_format="json", access_log=True, log_level="debug")
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(world["supergraph"], encoding="utf-8")
    with gateway_process(
        ["--supergraph", str(supergraph), "--config", str(world["config"])], tmp_path / "gateway.log"
    ) as gateway:
        response = graphql_request(
            gateway.url,
            "query Board { assignments { id createdDate } }",
            headers={
                "x-user": "u1",
                "x-request-id": "req-42",
                "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
            },
        )
        headers = {name.lower(): value for name, value in response.headers.items()}
        assert response.status == 200 and headers["x-request-id"] == "req-42", headers
        # the comparison runs after the response
        wait_until(lambda: '"outcome":"mismatch"' in gateway.log(), 10, describe=gateway.log)
    lines = [line for line in gateway.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line: one JSON object (uvicorn's too)
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    [access] = [r for r in records if r["logger"] == "turnout.access"]
    assert access["request_id"] == "req-42" and access["trace_id"] == TRACE
    assert (access["status"], access["outcome"]) == (200, "ok") and access["duration_ms"] > 0
    [compared] = [r for r in records if r.get("outcome") == "mismatch"]
    assert compared["migration"] == "assignments" and compared["operation"] == "Board"
    assert compared["request_id"] == "req-42"  # the comparison ran after the response, off the request path
    assert any("Application startup complete" in r["message"] for r in records)
