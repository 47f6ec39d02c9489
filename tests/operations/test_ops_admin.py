"""The operator plane: the dashboard, its API and its writes on the admin listener of `turnout serve` (a process
of its own), never on the public GraphQL port; a write needs a bearer token and is recorded under its holder's
name."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ops_support import classroom_world, gateway_process

from support.client import graphql_request
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


def test_the_dashboard_and_its_writes_are_on_the_admin_listener_only(run_subgraphs: RunSubgraphs,
                                                                     tmp_path: Path) -> None:
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
        assert _request(gateway.base_url + "/migrations/api/ack", "POST", {"signature": "x", "reason": "r"})[0] \
            in (404, 405)
        # the admin listener: reads open (protect_reads is off), a diff group to acknowledge
        groups: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while not groups and time.monotonic() < deadline:
            status, body = _request(gateway.admin_url + "/migrations/api")
            assert status == 200
            groups = next(m for m in json.loads(body)["migrations"] if m["name"] == "assignments")["diff_groups"]
            time.sleep(0.2)
        assert groups, "the classroom's new service differs: a diff group is expected"
        signature = groups[0]["signature"]
        ack = {"signature": signature, "reason": "known: time zones", "days": 365, "by": "cto: anyone can do this"}
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
