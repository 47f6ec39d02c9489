"""CSRF prevention, on by default: a request a browser could send cross-site without a preflight (GET, or a
POST with a simple content-type or none) is refused with 400 unless it carries a preflight-only header."""

from __future__ import annotations

import json

import pytest
from hardening_support import GRAPHQL_RESPONSE, JSON, Answer, ServeAsgi, Served, raw_request, serve_configured

from test_gateway_support import RunSubgraphs, marketplace_specs
from turnout.admission.csrf import CsrfPrevention

pytestmark = pytest.mark.timeout(60)

QUERY = '{ user(id: "u2") { name } }'
BODY = json.dumps({"query": QUERY}).encode()
DATA = {"data": {"user": {"name": "Alan Turing"}}}


@pytest.fixture
def market(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> Served:
    return serve_configured(serve_asgi, run_subgraphs(marketplace_specs()))


def assert_blocked(answer: Answer) -> None:
    body = answer.json
    assert answer.status == 400, body
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "CSRF_ERROR"}
    assert "Cross-Site Request Forgery" in error["message"]
    assert "apollo-require-preflight" in error["message"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "TEXT/PLAIN",
        None,
    ],
)
def test_simple_posts_are_refused(market: Served, content_type: str | None) -> None:
    headers = {"accept": GRAPHQL_RESPONSE}
    if content_type is not None:
        headers["content-type"] = content_type
    assert_blocked(raw_request(market.url, "POST", BODY, headers))
    assert not market.subgraphs["accounts"].requests


def test_get_without_a_preflight_header_is_refused(market: Served) -> None:
    assert_blocked(raw_request(market.url, "GET", params={"query": QUERY}))
    assert_blocked(
        raw_request(market.url, "GET", params={"query": QUERY}, headers={"x-apollo-operation-name": ""})
    )
    assert_blocked(
        raw_request(market.url, "GET", params={"query": QUERY}, headers={"apollo-require-preflight": " "})
    )
    assert not market.subgraphs["accounts"].requests


@pytest.mark.parametrize(
    "header", ["x-apollo-operation-name", "apollo-require-preflight", "Apollo-Require-Preflight"]
)
def test_a_preflight_header_lets_them_through(market: Served, header: str) -> None:
    answer = raw_request(market.url, "GET", params={"query": QUERY}, headers={header: "Q"})
    assert (answer.status, answer.json) == (200, DATA)
    # a simple POST with the header passes CSRF prevention, then meets the content-type rule
    answer = raw_request(market.url, "POST", BODY, {"content-type": "text/plain", header: "1"})
    assert answer.status == 415


@pytest.mark.parametrize("content_type", [JSON, GRAPHQL_RESPONSE, "application/json; charset=utf-8"])
def test_json_posts_pass(market: Served, content_type: str) -> None:
    answer = raw_request(market.url, "POST", BODY, {"content-type": content_type})
    assert (answer.status, answer.json) == (200, DATA)


def test_a_non_simple_content_type_passes(market: Served) -> None:
    """Browsers preflight any other content-type (as Apollo Router's rule: only the simple ones are refused)."""
    answer = raw_request(market.url, "POST", QUERY.encode(), {"content-type": "application/graphql"})
    assert (answer.status, answer.json) == (200, DATA)


def test_configured_headers_and_switching_it_off(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    custom = serve_configured(serve_asgi, subgraphs, {"csrf": {"required_headers": ["X-Requested-With"]}})
    answer = raw_request(
        custom.url, "GET", params={"query": QUERY}, headers={"x-requested-with": "XMLHttpRequest"}
    )
    assert (answer.status, answer.json) == (200, DATA)
    blocked = raw_request(
        custom.url, "GET", params={"query": QUERY}, headers={"apollo-require-preflight": "1"}
    )
    assert blocked.status == 400
    assert "x-requested-with" in blocked.json["errors"][0]["message"]
    off = serve_configured(serve_asgi, subgraphs, {"csrf": {"enabled": False}})
    answer = raw_request(off.url, "GET", params={"query": QUERY})
    assert (answer.status, answer.json) == (200, DATA)


def test_the_rule() -> None:
    csrf = CsrfPrevention()
    assert csrf.blocks({})
    assert csrf.blocks({"content-type": "multipart/form-data; boundary=----x"})
    assert not csrf.blocks({"content-type": "application/json"})
    assert not csrf.blocks({"content-type": "text/plain", "x-apollo-operation-name": "Q"})
    assert not CsrfPrevention(enabled=False).blocks({})
    assert not CsrfPrevention.with_headers([" X-Custom "]).blocks({"x-custom": "1"})
