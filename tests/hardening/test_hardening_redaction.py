"""Subgraph errors are redacted by default: the client sees where (path), what kind (`extensions.code`) and
which subgraph, never the subgraph's message or its other extensions (stack traces, SQL...); operators find the
full error in the `turnout.subgraph` log. `expose_errors: true` passes one subgraph's errors through. Transport
failures are told as a class of failure, without URLs or exception text."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from graphql import GraphQLError
from hardening_support import ServeAsgi, Served, serve_configured

from support.clock import FakeClock
from support.subgraph import SubgraphApp
from test_gateway_support import RunSubgraphs, marketplace_specs
from turnout.executor.plan_executor import REDACTED, _entity_errors, _LogBudget, _subgraph_error

pytestmark = pytest.mark.timeout(60)

SECRET = "hunter2"
STACK = [
    "Traceback (most recent call last):",
    '  File "/srv/accounts/db.py", line 42, in nickname',
    f'psycopg.OperationalError: password authentication failed for "admin" ({SECRET})',
]


def leaky(*_args: Any, **_kwargs: Any) -> Any:
    raise GraphQLError(
        f"connection to postgresql://admin:{SECRET}@db.internal:5432/users failed",
        extensions={
            "code": "INTERNAL_SERVER_ERROR",
            "exception": {"stacktrace": STACK},
            "sql": "SELECT nickname FROM users WHERE id = $1",
        },
    )


def start(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi, **settings: Any) -> Served:
    specs = marketplace_specs(root={"accounts": {"User.nickname": leaky}, "orders": {"order": leaky}})
    return serve_configured(serve_asgi, run_subgraphs([SubgraphApp.from_spec(s) for s in specs]), settings)


def test_redacted_by_default(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi, caplog: pytest.LogCaptureFixture
) -> None:
    running = start(run_subgraphs, serve_asgi)
    with caplog.at_level(logging.WARNING, logger="turnout.subgraph"):
        # an entity fetch's errors (accounts, behind orders) and a root fetch's (orders)
        answer = running.post('{ orders { id buyer { nickname } } order(id: "o1") { id } }')
    assert answer.status == 200
    assert SECRET not in answer.text and "stacktrace" not in answer.text and "SELECT" not in answer.text
    assert "db.internal" not in answer.text
    body = answer.json
    assert body["data"]["order"] is None
    assert body["data"]["orders"][0] == {"id": "o1", "buyer": {"nickname": None}}
    expected = [
        {
            "message": REDACTED,
            "path": ["order"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "serviceName": "orders"},
        },
        *(
            {
                "message": REDACTED,
                "path": ["orders", i, "buyer", "nickname"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "serviceName": "accounts"},
            }
            for i in (0, 2, 3)
        ),
    ]
    assert sorted(body["errors"], key=json.dumps) == sorted(expected, key=json.dumps)
    # the operators' copy: the full error, in the log
    logged = [r.getMessage() for r in caplog.records if r.name == "turnout.subgraph"]
    assert any(
        SECRET in m and "stacktrace" in m and "serviceName" not in m and "accounts" in m for m in logged
    )
    assert any(SECRET in m and m.startswith("subgraph orders") for m in logged)


def test_expose_errors_per_subgraph(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = start(run_subgraphs, serve_asgi, subgraphs={"accounts": {"expose_errors": True}})
    body = running.post('{ orders { id buyer { nickname } } order(id: "o1") { id } }').json
    by_service: dict[str, list[dict[str, Any]]] = {}
    for error in body["errors"]:
        by_service.setdefault(error["extensions"]["serviceName"], []).append(error)
    exposed = by_service["accounts"][0]
    assert exposed["message"] == f"connection to postgresql://admin:{SECRET}@db.internal:5432/users failed"
    assert exposed["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "exception": {"stacktrace": STACK},
        "sql": "SELECT nickname FROM users WHERE id = $1",
        "serviceName": "accounts",
    }
    assert by_service["orders"] == [
        {
            "message": REDACTED,
            "path": ["order"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "serviceName": "orders"},
        }
    ]


def test_transport_errors_name_a_class_of_failure(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi, caplog: pytest.LogCaptureFixture
) -> None:
    running = start(run_subgraphs, serve_asgi)
    accounts = running.subgraphs["accounts"]
    port = str(accounts.server.port)
    query = "{ orders { id buyer { name } } }"
    accounts.set_mode("garbage")
    body = running.post(query).json
    assert body["errors"] == [
        {
            "message": 'Subgraph "accounts" answered with a body that is not a GraphQL response.',
            "extensions": {"code": "SUBREQUEST_MALFORMED_RESPONSE", "serviceName": "accounts"},
        }
    ]
    accounts.set_mode("error500")
    body = running.post(query).json
    assert body["errors"][0]["message"] == 'Subgraph "accounts" answered HTTP 500.'
    accounts.set_mode("ok")
    accounts.stop()
    with caplog.at_level(logging.WARNING, logger="turnout.subgraph"):
        answer = running.post(query)
    (error,) = answer.json["errors"]
    assert error == {
        "message": 'Subgraph "accounts" could not be reached: connection failed.',
        "extensions": {"code": "SUBREQUEST_HTTP_ERROR", "serviceName": "accounts"},
    }
    assert port not in answer.text and "127.0.0.1" not in answer.text and "Errno" not in answer.text
    assert any(port in r.getMessage() for r in caplog.records if r.name == "turnout.subgraph")


def test_formatting() -> None:
    error = {
        "message": f"secret {SECRET}",
        "path": ["a", 0],
        "locations": [{"line": 1, "column": 2}],
        "extensions": {"code": "X", "exception": {"stacktrace": STACK}},
    }
    assert _subgraph_error(error, "s", expose=False) == {
        "message": REDACTED,
        "path": ["a", 0],
        "extensions": {"code": "X", "serviceName": "s"},
    }
    assert _subgraph_error(f"oops {SECRET}", "s", expose=False) == {
        "message": REDACTED,
        "extensions": {"serviceName": "s"},
    }
    # a code that is not a short string is not a code
    odd = {"message": "m", "extensions": {"code": {"nested": SECRET}}}
    assert _subgraph_error(odd, "s", expose=False) == {
        "message": REDACTED,
        "extensions": {"serviceName": "s"},
    }
    assert _subgraph_error(error, "s", expose=True)["message"] == f"secret {SECRET}"
    entity = {
        "message": SECRET,
        "path": ["_entities", 0, "name"],
        "extensions": {"code": "Y", "trace": SECRET},
    }
    target: dict[str, Any] = {}
    assert _entity_errors(entity, "s", [[(target, ["users", 1]), (target, ["me"])]], expose=False) == [
        {"message": REDACTED, "path": ["users", 1, "name"], "extensions": {"code": "Y", "serviceName": "s"}},
        {"message": REDACTED, "path": ["me", "name"], "extensions": {"code": "Y", "serviceName": "s"}},
    ]


def test_a_failing_subgraph_under_load_does_not_flood_the_log(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi, caplog: pytest.LogCaptureFixture
) -> None:
    """At most 20 lines per subgraph and 10 s; every client still gets its error."""
    running = start(run_subgraphs, serve_asgi)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="turnout.subgraph"):
        for _ in range(40):
            answer = running.post('{ order(id: "o1") { id } }')
            assert answer.json["errors"][0]["extensions"]["serviceName"] == "orders"
    elapsed = time.monotonic() - started
    logged = [r.getMessage() for r in caplog.records if r.name == "turnout.subgraph"]
    lines = len([m for m in logged if m.startswith("subgraph orders returned an error")])
    assert lines == 20 if elapsed < 10 else 20 <= lines < 40, (elapsed, lines)


def test_the_log_budget_says_what_it_held_back() -> None:
    clock = FakeClock()
    budget = _LogBudget(lines=3, seconds=10.0, clock=clock)
    assert [budget.allow("a") for _ in range(5)] == [(True, 0)] * 3 + [(False, 0)] * 2
    assert budget.allow("b") == (True, 0)  # per subgraph
    clock.advance(9.9)
    assert budget.allow("a") == (False, 0)  # the window is not over: still held back
    clock.advance(0.1)
    assert budget.allow("a") == (True, 3)  # a new window: the 3 held back are reported with its first line
    assert budget.allow("a") == (True, 0)
