"""The operator plane: the dashboard, its API and its writes on the admin listener of `turnout serve` (a process
of its own), never on the public GraphQL port; a write needs a bearer token and is recorded under its holder's
name."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ops_support import classroom_world, gateway_process

from support.client import graphql_request
from support.waiting import wait_until
from test_gateway_support import RunSubgraphs
from turnout.migration.store import Store

TOKEN = "s3cret-token-of-alice-0123"
BOARD = "query Board { assignments { id title createdDate tags } }"


def _request(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> tuple[int, bytes]:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_dashboard_and_its_writes_are_on_the_admin_listener_only(
    run_subgraphs: RunSubgraphs, tmp_path: Path
) -> None:
    world = classroom_world(run_subgraphs, tmp_path, admin={"tokens": {"alice": TOKEN}})
    store_url, config = world["store_url"], world["config"]
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(world["supergraph"])
    args = ["--supergraph", str(supergraph), "--config", str(config)]
    with gateway_process(args, tmp_path / "gateway.log") as gateway:
        for user in ("u1", "u2", "u3"):
            assert not graphql_request(gateway.url, BOARD, headers={"x-user": user}).errors
        # the public port: GraphQL, health and metrics only
        for path in ("/migrations", "/migrations/", "/migrations/api"):
            assert _request(gateway.base_url + path)[0] == 404, path
        assert _request(gateway.base_url + "/migrations/api/ack", "POST", {"signature": "x", "reason": "r"})[
            0
        ] in (404, 405)
        # the admin listener: reads open (protect_reads is off), a diff group to acknowledge

        def diff_groups() -> list[dict[str, Any]]:
            status, body = _request(gateway.admin_url + "/migrations/api")
            assert status == 200
            found: list[dict[str, Any]] = next(
                m for m in json.loads(body)["migrations"] if m["name"] == "assignments"
            )["diff_groups"]
            return found

        groups = wait_until(
            diff_groups,
            10,
            interval=0.2,
            describe="the classroom's new service differs: a diff group is expected",
        )
        signature = groups[0]["signature"]
        ack = {
            "signature": signature,
            "reason": "known: time zones",
            "days": 365,
            "by": "cto: anyone can do this",
        }
        status, body = _request(gateway.admin_url + "/migrations/api/ack", "POST", ack)
        assert status == 401 and b"Bearer" in body
        status, _ = _request(gateway.admin_url + "/migrations/api/ack", "POST", ack, token=TOKEN[:-1] + "x")
        assert status == 401
        status, body = _request(gateway.admin_url + "/migrations/api/ack", "POST", ack, token=TOKEN)
        assert status == 200, body
        assert json.loads(body)["by"] == "alice"
    with Store.open(store_url) as store:
        (group,) = [g for g in store.diff_groups("assignments") if g.signature == signature]
    assert group.acknowledged_by == "alice"  # the token's holder, not what the request said
    assert group.acknowledged_reason == "known: time zones"


def test_stage_moves_from_the_dashboard_go_through_the_gate_and_name_their_holder(
    run_subgraphs: RunSubgraphs, tmp_path: Path
) -> None:
    """`POST /migrations/api/move` is the CLI's use case (migration.stages.move_stage) on the admin listener: a
    token is needed, the gate refuses what the evidence does not support (never forced from here), a move is
    recorded under the token's holder, and the public port has no such route."""
    world = classroom_world(run_subgraphs, tmp_path, admin={"tokens": {"alice": TOKEN}})
    store_url, config = world["store_url"], world["config"]
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(world["supergraph"])
    args = ["--supergraph", str(supergraph), "--config", str(config)]
    move = {"name": "assignments", "to": "migrated", "percent": 10, "reason": "looks fine", "force": True}
    with gateway_process(args, tmp_path / "gateway.log") as gateway:
        assert _request(gateway.base_url + "/migrations/api/move", "POST", move)[0] in (404, 405)
        assert _request(gateway.admin_url + "/migrations/api/move", "POST", move)[0] == 401
        status, body = _request(gateway.admin_url + "/migrations/api/move", "POST", move, token=TOKEN)
        assert status == 409, body  # no comparison yet: the gate says why, and `force` is not heard here
        assert any("comparisons" in reason for reason in json.loads(body)["reasons"]), body
        assert (
            _request(
                gateway.admin_url + "/migrations/api/move", "POST", {**move, "to": "sideways"}, token=TOKEN
            )[0]
            == 400
        )
        assert (
            _request(
                gateway.admin_url + "/migrations/api/move", "POST", {**move, "name": "nope"}, token=TOKEN
            )[0]
            == 404
        )
        back = {"name": "assignments", "to": "side_by_side", "percent": 25, "reason": "sample less"}
        status, body = _request(gateway.admin_url + "/migrations/api/move", "POST", back, token=TOKEN)
        assert status == 200, body
        assert json.loads(body) == {"moved": True, "stage": "side_by_side", "percent": 25.0, "by": "alice"}
        page = _request(gateway.admin_url + "/migrations/")[1].decode()
        assert 'form class="move" data-migration="assignments"' in page
    with Store.open(store_url) as store:
        state = store.get_states()["assignments"]
        [last, *_] = store.stage_log("assignments")
    assert (str(state.stage), state.percent) == ("side_by_side", 25.0)
    assert (last.by, last.reason, last.forced) == ("alice", "sample less", False)
