"""Header propagation per subgraph: a subgraph receives exactly the client headers its rules propagate
(renamed, defaulted), the ones they insert, minus the ones they remove; nothing without rules; never a
hop-by-hop header or one the transport owns."""

from __future__ import annotations

from typing import Any

import pytest
from hardening_support import ServeAsgi, serve_configured

from test_gateway_support import RunSubgraphs, marketplace_specs
from turnout.config import Config, ConfigError, load_config
from turnout.transport.base import HeaderRule, HeaderRules

pytestmark = pytest.mark.timeout(60)

# what the transport itself sends with every request (aiohttp adds host, user-agent, content-length)
TRANSPORT = {"host", "accept", "accept-encoding", "user-agent", "content-length", "content-type"}

CLIENT = {
    "authorization": "Bearer abc",
    "x-user": "u1",
    "x-tenant-a": "1",
    "x-tenant-debug": "yes",
    "x-other": "no",
    "connection": "keep-alive",
    "keep-alive": "timeout=5",
    "te": "trailers",
    "trailer": "x-checksum",
    "proxy-authorization": "Basic c2VjcmV0",
    "proxy-connection": "keep-alive",
    "accept": "application/graphql-response+json",
    "accept-encoding": "identity",
    "content-type": "application/json",
}

SETTINGS: dict[str, Any] = {
    "subgraphs": {
        "accounts": {
            "headers": [
                {"propagate": {"named": "Authorization"}},
                {"propagate": {"named": "x-user", "rename": "x-user-id"}},
                {"propagate": {"named": "x-locale", "default": "en"}},
                {"propagate": {"matching": "x-tenant-.*"}},
                {"insert": {"name": "x-gateway", "value": "turnout"}},
                {"remove": {"named": "x-tenant-debug"}},
            ]
        },
        "catalog": {"headers": [{"propagate": {"matching": ".*"}}]},
        # orders: no rules
    }
}


def forwarded(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in TRANSPORT}


def test_subgraphs_receive_exactly_what_their_rules_say(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    running = serve_configured(serve_asgi, run_subgraphs(marketplace_specs()), SETTINGS)
    answer = running.post("{ orders { id buyer { name } } products { sku } }", headers=CLIENT)
    assert answer.status == 200 and "errors" not in answer.json, answer.text
    accounts, catalog, orders = (running.subgraphs[n].requests for n in ("accounts", "catalog", "orders"))
    assert len(accounts) == 1 and accounts[0].is_entities  # an entity fetch carries them too
    assert forwarded(accounts[0].headers) == {
        "authorization": "Bearer abc",
        "x-user-id": "u1",
        "x-locale": "en",
        "x-tenant-a": "1",
        "x-gateway": "turnout",
    }
    assert forwarded(catalog[0].headers) == {
        "authorization": "Bearer abc",
        "x-user": "u1",
        "x-tenant-a": "1",
        "x-tenant-debug": "yes",
        "x-other": "no",
    }
    assert forwarded(orders[0].headers) == {}  # no rules: nothing of the client's
    for request in (*accounts, *catalog, *orders):
        assert request.headers["content-type"] == "application/json"
        assert request.headers["accept"] == "application/json"
        assert request.headers["host"].startswith("127.0.0.1:")  # the subgraph's own
        assert request.headers["accept-encoding"] != "identity"
        for hop in ("keep-alive", "te", "trailer", "proxy-authorization", "proxy-connection"):
            assert hop not in request.headers
        assert request.headers.get("connection", "") != "keep-alive" or "connection" not in CLIENT


def test_the_rules_in_order() -> None:
    rules = HeaderRules(
        [
            HeaderRule("propagate", matching="x-.*"),
            HeaderRule("remove", matching="x-secret-.*"),
            HeaderRule("propagate", named="x-secret-ok"),
            HeaderRule("propagate", named="cookie", rename="x-cookie"),
            HeaderRule("insert", named="X-Static", value="1"),
            HeaderRule("propagate", named="x-missing", default="d"),
            HeaderRule("propagate", named="x-absent"),
        ]
    )
    client = {"X-A": "a", "x-secret-key": "k", "x-secret-ok": "ok", "Cookie": "c=1", "authorization": "t"}
    assert rules.apply(client) == {
        "x-a": "a",
        "x-secret-ok": "ok",
        "x-cookie": "c=1",
        "x-static": "1",
        "x-missing": "d",
    }
    assert HeaderRules().apply(client) == {}
    # a match is of the whole name
    assert HeaderRules([HeaderRule("propagate", matching="x-a")]).apply({"x-ab": "1", "x-a": "2"}) == {
        "x-a": "2"
    }


@pytest.mark.parametrize(
    "name",
    [
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-anything",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-type",
        "accept",
        "accept-encoding",
    ],
)
def test_hop_by_hop_headers_never_pass(name: str) -> None:
    everything = HeaderRules(
        [
            HeaderRule("propagate", matching=".*"),
            HeaderRule("propagate", named=name),
            HeaderRule("propagate", named="x-a", rename=name),
            HeaderRule("insert", named=name, value="v"),
        ]
    )
    assert everything.apply({name: "v", "x-a": "1"}) == {"x-a": "1"}


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"insert": {"name": "Connection", "value": "close"}}, "hop-by-hop"),
        ({"propagate": {"named": "x-a", "rename": "host"}}, "hop-by-hop"),
        ({"propagate": {"named": "proxy-authorization"}}, "hop-by-hop"),
        ({"insert": {"name": "x-a", "value": "a\r\nInjected: 1"}}, "line breaks"),
        ({"insert": {"name": "bad name", "value": "v"}}, "not a valid header name"),
        ({"propagate": {"matching": "("}}, "not a regular expression"),
        ({"propagate": {"named": "a", "matching": "b"}}, "exactly one of `named` or `matching`"),
        ({"propagate": {"matching": "x-.*", "rename": "y"}}, "go with `named`"),
        ({"propagate": {"named": "a"}, "insert": {"name": "b", "value": "c"}}, "exactly one of `propagate`"),
    ],
)
def test_rules_the_config_refuses(tmp_path: Any, rule: dict[str, Any], problem: str) -> None:
    import yaml

    path = tmp_path / "turnout.yaml"
    path.write_text(yaml.safe_dump({"subgraphs": {"accounts": {"headers": [rule]}}}))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert problem in str(caught.value)
    assert "subgraphs.accounts.headers[0]" in str(caught.value)


def test_defaults() -> None:
    config = Config.model_validate({"subgraphs": {"accounts": {"url": "http://a"}}})
    assert config.subgraphs["accounts"].headers == [] and config.subgraphs["accounts"].expose_errors is False
    assert config.csrf.enabled and config.csrf.required_headers == [
        "x-apollo-operation-name",
        "apollo-require-preflight",
    ]
    assert config.limits.batching is False
