"""Request limits, each over HTTP against a gateway built from the config: body size, parser tokens and
nesting, depth, aliases, root fields, directives, batches, variables; and suggestions hidden without
introspection. Every refusal is a GraphQL error with the GraphQL-over-HTTP status."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hardening_support import (
    GRAPHQL_RESPONSE,
    JSON,
    ServeAsgi,
    Served,
    post_json,
    raw_request,
    serve_configured,
)

from support.fixtures import load_supergraph
from test_gateway_support import RunSubgraphs, marketplace_specs
from turnout.admission.limits import Limits, remove_suggestions
from turnout.config import LimitsConfig
from turnout.gateway import Gateway, RequestError
from turnout.supergraph.join_spec import read_supergraph
from turnout.transport.http import HttpTransport

pytestmark = pytest.mark.timeout(60)


def market(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi, **settings: Any) -> Served:
    return serve_configured(serve_asgi, run_subgraphs(marketplace_specs()), settings)


def refused(answer: Any, code: str | None = None, status: int = 400) -> dict[str, Any]:
    """The single error of a refused request (no data), checked."""
    assert answer.status == status, answer.text
    body = answer.json
    assert set(body) == {"errors"}, body
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["extensions"]["code"] == code, error
    return error


def test_defaults_are_the_documented_ones() -> None:
    assert Limits() == Limits(**LimitsConfig().model_dump())
    assert Limits() == Limits(
        max_tokens=15_000,
        max_nesting=200,
        max_depth=100,
        max_aliases=100,
        max_root_fields=50,
        max_directives=10,
        max_selections=10_000,
        batching=False,
        max_batch_size=10,
        max_variables_bytes=512 * 1024,
        max_variables_depth=64,
    )


def test_body_size(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi, server={"max_body_bytes": 1000})
    small = json.dumps({"query": "{ users { id } }"}).encode()
    large = json.dumps({"query": "{ users { id } }", "variables": {"pad": "x" * 2000}}).encode()
    headers = {"content-type": JSON, "accept": GRAPHQL_RESPONSE}
    assert raw_request(running.url, "POST", small, headers).status == 200
    error = refused(raw_request(running.url, "POST", large, headers), "PAYLOAD_TOO_LARGE", 413)
    assert "1000 bytes" in error["message"]
    # without a content-length (chunked): refused once the limit is crossed
    refused(raw_request(running.url, "POST", large, headers, chunked=True), "PAYLOAD_TOO_LARGE", 413)
    assert raw_request(running.url, "POST", small, headers, chunked=True).status == 200
    # the legacy media type gets 413 too: the request never reached GraphQL
    refused(raw_request(running.url, "POST", large, {**headers, "accept": JSON}), "PAYLOAD_TOO_LARGE", 413)
    assert len(running.subgraphs["accounts"].requests) == 2  # the two small ones


def test_parser_tokens(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi, limits={"max_tokens": 40})
    fits = "{ users { " + "id " * 30 + "} }"
    assert running.post(fits).json == {"data": {"users": [{"id": "u1"}, {"id": "u2"}, {"id": "u3"}]}}
    error = refused(running.post("{ users { " + "id " * 40 + "} }"))
    assert "more than 40 tokens" in error["message"]
    # comments are bounded by the same number
    refused(running.post("#\n" * 50 + "{ users { id } }"))
    # with application/json, a request that does not parse is 200 with errors (GraphQL over HTTP)
    answer = running.post("{ users { " + "id " * 40 + "} }", accept=JSON)
    assert answer.status == 200 and set(answer.json) == {"errors"}
    assert len(running.subgraphs["accounts"].requests) == 1  # the one that fits


@pytest.mark.parametrize(
    "document",
    [
        "{" * 10_000 + "}" * 10_000,
        "{ users " + "{ orders " * 10_000 + "{ id }" + " }" * 10_001,
        "{ user(id: " + "[" * 10_000 + "]" * 10_000 + ") { id } }",
        "{ user(id: " + "{a: " * 10_000 + "1" + "}" * 10_000 + ") { id } }",
        "query($v: " + "[" * 10_000 + "ID" + "]" * 10_000 + ") { users { id } }",
        "{ ...F0 } "
        + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(2_000))
        + " fragment F2000 on Query { users { id } }",
    ],
)
def test_deep_nesting_is_a_request_error(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi, document: str
) -> None:
    """10,000 levels of anything: a 400 with an error, never a RecursionError (nor a 500)."""
    running = market(run_subgraphs, serve_asgi, limits={"max_tokens": 100_000})
    refused(running.post(document))
    assert running.post("{ users { id } }").status == 200


def test_parser_nesting_limit(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi, limits={"max_nesting": 20})
    error = refused(running.post("{ user(id: " + "[" * 30 + "]" * 30 + ") { id } }"), "PARSER_NESTING_LIMIT")
    assert "more than 20 levels" in error["message"]
    answer = running.post('{ user(id: "u1") { id } }')
    assert answer.json == {"data": {"user": {"id": "u1"}}}


def test_depth(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi, limits={"max_depth": 3})
    answer = running.post('{ order(id: "o3") { buyer { id } } }')
    assert answer.json == {"data": {"order": {"buyer": {"id": "u1"}}}}
    error = refused(running.post('{ order(id: "o3") { buyer { orders { id } } } }'), "MAX_DEPTH_LIMIT")
    assert error["message"] == "The operation is 4 fields deep, more than the limit of 3."
    # fragments are followed, named or inline
    refused(
        running.post(
            'query Q { order(id: "o3") { ...B } } fragment B on Order { buyer { ... on User { '
            "orders { id } } } }"
        ),
        "MAX_DEPTH_LIMIT",
    )
    assert all(not s.requests for s in running.subgraphs.values() if s.name != "orders")


def test_aliases(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi, limits={"max_aliases": 2})
    assert running.post("{ a: users { id } b: users { id } }").status == 200
    error = refused(running.post("{ a: users { id } b: users { i: id } }"), "MAX_ALIASES_LIMIT")
    assert error["message"] == "The operation has 3 aliases, more than the limit of 2."
    # a fragment's aliases count at every spread
    refused(
        running.post(
            "{ ...F ... on Query { ...F } w: users { id } } fragment F on Query { x: users { id } }"
        ),
        "MAX_ALIASES_LIMIT",
    )
    answer = running.post(
        "{ ...F other: users { ...G } } fragment F on Query { x: users { id } } "
        "fragment G on User { y: id z: id }"
    )
    refused(answer, "MAX_ALIASES_LIMIT")


def test_root_fields(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi, limits={"max_root_fields": 2})
    assert running.post("{ users { id } orders { id } }").status == 200
    error = refused(running.post("{ users { id } orders { id } products { sku } }"), "MAX_ROOT_FIELDS_LIMIT")
    assert error["message"] == "The operation selects 3 root fields, more than the limit of 2."
    refused(
        running.post("{ users { id } ...R } fragment R on Query { orders { id } products { sku } }"),
        "MAX_ROOT_FIELDS_LIMIT",
    )


def test_directives(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi, limits={"max_directives": 1})
    assert running.post("{ users @include(if: true) { id } }").status == 200
    error = refused(
        running.post("{ users @include(if: true) @skip(if: false) { id } }"), "MAX_DIRECTIVES_LIMIT"
    )
    assert error["message"] == "2 directives on field 'users', more than the limit of 1."
    # a directive bomb is refused by the limit before the (costlier) specified rules look at it
    refused(running.post("{ users " + "@skip(if: false) " * 500 + "{ id } }"), "MAX_DIRECTIVES_LIMIT")


def test_repeated_directive_is_one_error(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi)  # max_directives 10: ten copies pass the count
    answer = running.post("{ users " + "@aa " * 10 + "{ id } }")
    assert [e["message"] for e in answer.json["errors"]] == ["Unknown directive '@aa'."]
    answer = running.post("{ users " + "@skip(if: false) " * 10 + "{ id } }")
    assert [e["message"] for e in answer.json["errors"]] == [
        "The directive '@skip' can only be used once at this location."
    ]
    assert "errors" not in running.post("{ users @skip(if: false) @include(if: true) { id } }").json


def test_batching_is_off_by_default(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi)
    refused(post_json(running.url, [{"query": "{ users { id } }"}]), "BATCHING_NOT_ENABLED")
    assert not running.subgraphs["accounts"].requests


def test_batches(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi, limits={"batching": True, "max_batch_size": 3})
    answer = post_json(
        running.url,
        [
            {"query": '{ user(id: "u2") { name } }'},
            {"query": "{ nope }"},
            {"query": "query($id: ID!) { order(id: $id) { id } }", "variables": {"id": "o4"}},
        ],
    )
    assert answer.status == 200
    first, second, third = answer.json
    assert first == {"data": {"user": {"name": "Alan Turing"}}}
    assert set(second) == {"errors"} and "nope" in second["errors"][0]["message"]
    assert third == {"data": {"order": {"id": "o4"}}}
    answer = post_json(running.url, [{"query": "{ users { id } }"}, 42, {"variables": {}}])
    assert answer.status == 200
    ok, not_object, no_query = answer.json
    assert ok["data"]["users"][0] == {"id": "u1"}
    assert set(not_object) == {"errors"} and set(no_query) == {"errors"}
    error = refused(post_json(running.url, [{"query": "{ users { id } }"}] * 4), "BATCH_LIMIT_EXCEEDED")
    assert error["message"] == "The batch has 4 operations, more than the limit of 3."
    refused(post_json(running.url, []))


def test_variables(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    running = market(run_subgraphs, serve_asgi, limits={"max_variables_bytes": 200, "max_variables_depth": 5})
    query = "query($id: ID!) { order(id: $id) { id } }"
    assert running.post(query, {"id": "o4"}).json == {"data": {"order": {"id": "o4"}}}
    error = refused(running.post(query, {"id": "o4", "pad": "x" * 300}), "VARIABLES_LIMIT")
    assert error["message"] == "The variables exceed 200 bytes."
    nested: Any = 1
    for _ in range(6):
        nested = [nested]
    error = refused(running.post(query, {"id": "o4", "deep": nested}), "VARIABLES_LIMIT")
    assert error["message"] == "The variables are nested more than 5 levels deep."
    # in a GET query string too (with a CSRF-preventing header)
    answer = raw_request(
        running.url,
        "GET",
        params={"query": query, "variables": json.dumps({"id": "o4", "p": "x" * 300})},
        headers={"apollo-require-preflight": "true", "accept": GRAPHQL_RESPONSE},
    )
    refused(answer, "VARIABLES_LIMIT")
    # variables nested beyond what orjson parses are invalid JSON: 400 as well
    deep = ("[" * 5000 + "]" * 5000).encode()
    answer = raw_request(
        running.url,
        "POST",
        b'{"query": "{ users { id } }", "variables": {"a": ' + deep + b"}}",
        {"content-type": JSON},
    )
    refused(answer)


def test_suggestions_are_hidden_without_introspection(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    opened = serve_configured(serve_asgi, subgraphs, {"server": {"introspection": True}})
    closed = serve_configured(serve_asgi, subgraphs, {})  # introspection is off by default
    query = "{ userz { id } users { nam } }"
    messages = [e["message"] for e in opened.post(query).json["errors"]]
    assert messages == [
        "Cannot query field 'userz' on type 'Query'. Did you mean 'user' or 'users'?",
        "Cannot query field 'nam' on type 'User'. Did you mean 'name'?",
    ]
    messages = [e["message"] for e in closed.post(query).json["errors"]]
    assert messages == [
        "Cannot query field 'userz' on type 'Query'.",
        "Cannot query field 'nam' on type 'User'.",
    ]
    answer = closed.post("query($id: ID!) { user(idd: $id) { id } }", {"id": "u1"})
    assert all("Did you mean" not in e["message"] for e in answer.json["errors"])


def test_remove_suggestions() -> None:
    assert (
        remove_suggestions("Cannot query field 'a' on type 'Q'. Did you mean 'b', 'c', or 'd'?")
        == "Cannot query field 'a' on type 'Q'."
    )
    assert (
        remove_suggestions(
            "Variable '$p' got invalid value 'X'; Value 'X' does not exist in 'P' enum. "
            "Did you mean the enum value 'XL'?"
        )
        == "Variable '$p' got invalid value 'X'; Value 'X' does not exist in 'P' enum."
    )
    assert remove_suggestions("Unknown type 'Usr'.") == "Unknown type 'Usr'."


def test_limits_apply_to_documents_without_http() -> None:
    """Gateway.prepare (cached per document): fragment bombs, cycles and chains cost nothing to refuse."""
    gateway = Gateway(read_supergraph(load_supergraph("marketplace")), HttpTransport())
    bomb = (
        "{ ...F0 } "
        + " ".join(
            f"fragment F{i} on Query {{ a{i}: users {{ id }} ...F{i + 1} ...F{i + 1} }}" for i in range(40)
        )
        + " fragment F40 on Query { users { id } }"
    )
    with pytest.raises(RequestError) as caught:
        gateway.prepare(bomb)
    codes = {e.get("extensions", {}).get("code") for e in caught.value.errors}
    assert codes == {"MAX_ALIASES_LIMIT", "MAX_ROOT_FIELDS_LIMIT"}
    with pytest.raises(RequestError) as caught:
        gateway.prepare("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A users { id } }")
    assert "Cannot spread fragment" in caught.value.errors[0]["message"]
    with pytest.raises(RequestError) as caught:  # cached: the same answer again
        gateway.prepare("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A users { id } }")
    assert "Cannot spread fragment" in caught.value.errors[0]["message"]
    unlimited = Gateway(
        read_supergraph(load_supergraph("marketplace")),
        HttpTransport(),
        limits=Limits(max_depth=None, max_aliases=None, max_root_fields=None, max_directives=None),
    )
    unlimited.prepare("{ a: users { id } b: users { id } c: users { id } }")
