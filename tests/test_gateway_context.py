"""`@fromContext` (join v0.5 `contextArguments`), end to end over HTTP: `Wallet.balance(currency:)` takes the
currency of the enclosing `Account` (`@context`); the gateway reads it from the account and passes it to the
accounts subgraph as a variable, one `_entities` request per distinct currency."""

from __future__ import annotations

from typing import Any

from support.fixtures import load_subgraph_sdls
from support.subgraph import SubgraphSpec
from test_gateway_support import RunSubgraphs, ServeAsgi, entity_requests, start_gateway

ACCOUNTS = [
    {"id": "1", "currency": "EUR", "wallets": [{"id": "w1"}, {"id": "w2"}]},
    {"id": "2", "currency": "USD", "wallets": [{"id": "w3"}]},
    {"id": "3", "currency": "EUR", "wallets": [{"id": "w4"}]},
]
CENTS = {"w1": 1050, "w2": 99, "w3": 2000, "w4": 7}
RATES = {"EUR": 1.0, "USD": 1.1}


def balance(wallet: dict[str, Any], _info: Any, currency: str | None = None, rounded: bool = False) -> int:
    """The balance in the account's currency; the subgraph relies on the router for `currency`."""
    if currency is None:
        raise ValueError("no currency: the router did not pass the context")
    value = CENTS[wallet["id"]] * RATES[currency]
    return int(round(value, -2)) if rounded else int(value)


def specs() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("wallets")
    wallets = [{"id": w} for w in CENTS]
    return [
        SubgraphSpec(
            name="accounts",
            sdl=sdls["accounts"],
            data={"Account": ACCOUNTS, "Wallet": wallets},
            root={
                "account": lambda _o, _i, id: next((a for a in ACCOUNTS if a["id"] == id), None),
                "accounts": ACCOUNTS,
                "Wallet.balance": balance,
            },
        ),
        SubgraphSpec(
            name="ledger",
            sdl=sdls["ledger"],
            data={"Wallet": [{"id": w, "entries": len(w) * 3} for w in CENTS]},
        ),
    ]


def test_each_wallet_gets_its_accounts_currency(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> None:
    subgraphs = run_subgraphs(specs())
    gateway = start_gateway(serve_asgi, "wallets", subgraphs)
    answer = gateway.query("{ accounts { id wallets { id balance entries } } }")
    assert answer.json == {
        "data": {
            "accounts": [
                {
                    "id": "1",
                    "wallets": [
                        {"id": "w1", "balance": 1050, "entries": 6},
                        {"id": "w2", "balance": 99, "entries": 6},
                    ],
                },
                {"id": "2", "wallets": [{"id": "w3", "balance": 2200, "entries": 6}]},
                {"id": "3", "wallets": [{"id": "w4", "balance": 7, "entries": 6}]},
            ]
        }
    }
    # one _entities request per currency, each with the wallets of the accounts in that currency
    sent = sorted(
        (r.variables["contextualArgument_1"], sorted(rep["id"] for rep in r.variables["representations"]))
        for r in entity_requests(subgraphs["accounts"])
        if r.variables is not None
    )
    assert sent == [("EUR", ["w1", "w2", "w4"]), ("USD", ["w3"])]
    assert all(
        "balance(currency: $contextualArgument_1)" in (r.query or "")
        for r in entity_requests(subgraphs["accounts"])
    )


def test_client_arguments_and_the_context_together(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    subgraphs = run_subgraphs(specs())
    gateway = start_gateway(serve_asgi, "wallets", subgraphs)
    answer = gateway.query(
        'query($r: Boolean) { account(id: "2") { currency wallets { balance(rounded: $r) } } }', {"r": True}
    )
    assert answer.json == {"data": {"account": {"currency": "USD", "wallets": [{"balance": 2200}]}}}


def test_the_context_field_under_an_alias_and_nested_accounts(
    run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi
) -> None:
    subgraphs = run_subgraphs(specs())
    gateway = start_gateway(serve_asgi, "wallets", subgraphs)
    answer = gateway.query(
        '{ a: account(id: "1") { money: currency wallets { balance } } '
        'b: account(id: "2") { wallets { balance } } }'
    )
    assert answer.json == {
        "data": {
            "a": {"money": "EUR", "wallets": [{"balance": 1050}, {"balance": 99}]},
            "b": {"wallets": [{"balance": 2200}]},
        }
    }
