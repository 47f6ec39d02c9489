"""The reader accepts every join spec version composition writes: v0.1 (Federation 1) to v0.5.

Each fixture is a supergraph as Apollo's composition wrote it (see the fixture folders):
`fed1-shop` (Federation 1, `@core` + join v0.1 + `@join__owner`), `bookstore-join02` (join v0.2),
`shop` and `media` (v0.3), `migration` (v0.4, `overrideLabel`), `wallets` (v0.5, `contextArguments`).
"""

from __future__ import annotations

import functools

import pytest

from support.fixtures import load_supergraph
from turnout.supergraph.join_spec import read_supergraph
from turnout.supergraph.model import ContextArgument, FieldInGraph, Subgraph, SupergraphModel


@functools.cache
def model(name: str) -> SupergraphModel:
    return read_supergraph(load_supergraph(name))


def keys(model: SupergraphModel, type_name: str) -> dict[str, list[tuple[str, bool]]]:
    """graph -> [(key fields, resolvable)] of a type."""
    return {
        graph: [(key.fields, key.resolvable) for key in entry.keys]
        for graph, entry in model.types[type_name].in_graphs.items()
    }


def field_graphs(model: SupergraphModel, coordinate: str) -> set[str]:
    type_name, field_name = coordinate.split(".")
    return set(model.types[type_name].fields[field_name].in_graphs)


def field_in(model: SupergraphModel, coordinate: str, graph: str) -> FieldInGraph:
    type_name, field_name = coordinate.split(".")
    return model.types[type_name].fields[field_name].in_graphs[graph]


# -- join v0.1 (Federation 1) ---------------------------------------------------------------------------


def test_join_v01_subgraphs_and_roots() -> None:
    m = model("fed1-shop")
    assert m.subgraphs == {
        "ACCOUNTS": Subgraph(enum="ACCOUNTS", name="accounts", url="http://127.0.0.1:4101/graphql"),
        "PRODUCTS": Subgraph(enum="PRODUCTS", name="products", url="http://127.0.0.1:4102/graphql"),
        "REVIEWS": Subgraph(enum="REVIEWS", name="reviews", url="http://127.0.0.1:4103/graphql"),
    }
    assert (m.query_type, m.mutation_type, m.subscription_type) == ("Query", None, None)
    assert {name: sorted(field_graphs(m, f"Query.{name}")) for name in m.types["Query"].fields} == {
        "latestReviews": ["REVIEWS"],
        "me": ["ACCOUNTS"],
        "topProducts": ["PRODUCTS"],
        "users": ["ACCOUNTS"],
    }


def test_join_v01_entities_owner_and_keys() -> None:
    m = model("fed1-shop")
    assert keys(m, "User") == {"ACCOUNTS": [("id", True)], "REVIEWS": [("id", True)]}
    assert keys(m, "Product") == {"PRODUCTS": [("upc", True)], "REVIEWS": [("upc", True)]}
    # owned by reviews, extended nowhere
    assert keys(m, "Review") == {"REVIEWS": [("id", True)]}
    assert field_graphs(m, "User.name") == {"ACCOUNTS"}
    assert field_graphs(m, "User.reviews") == {"REVIEWS"}
    assert field_graphs(m, "Product.reviews") == {"REVIEWS"}
    assert field_graphs(m, "Review.body") == {"REVIEWS"}


def test_join_v01_requires_and_provides() -> None:
    m = model("fed1-shop")
    estimate = field_in(m, "Product.shippingEstimate", "REVIEWS")
    assert estimate.requires_text == "price weight"
    assert [s.name.value for s in estimate.requires.selections] == ["price", "weight"]  # type: ignore[union-attr]
    author = field_in(m, "Review.author", "REVIEWS")
    assert author.provides_text == "username"
    assert [s.name.value for s in author.provides.selections] == ["username"]  # type: ignore[union-attr]


def test_join_v01_key_fields_belong_to_every_subgraph_with_the_key() -> None:
    """In Federation 1 an extension declares its key fields (`id: ID! @external`) and can return them:
    Apollo's subgraph extraction gives reviews `User.id` and `Product.upc` as plain fields."""
    m = model("fed1-shop")
    assert field_graphs(m, "User.id") == {"ACCOUNTS", "REVIEWS"}
    assert field_graphs(m, "Product.upc") == {"PRODUCTS", "REVIEWS"}
    assert not field_in(m, "User.id", "REVIEWS").external


def test_join_v01_value_type_without_join_marks() -> None:
    """A Federation 1 value type carries no join directives; it may come from any subgraph."""
    m = model("fed1-shop")
    assert m.types["Dimensions"].kind == "object"
    assert {"PRODUCTS", "REVIEWS"} <= set(m.types["Dimensions"].in_graphs)
    assert {"PRODUCTS", "REVIEWS"} <= field_graphs(m, "Dimensions.width")


def test_core_v01_without_purpose() -> None:
    """Older Federation 1 composition wrote `@core(feature:)` v0.1 links without `for:`."""
    sdl = load_supergraph("fed1-shop")
    header = (
        "schema\n"
        '  @core(feature: "https://specs.apollo.dev/core/v0.2"),\n'
        '  @core(feature: "https://specs.apollo.dev/join/v0.1", for: EXECUTION),\n'
        '  @core(feature: "https://specs.apollo.dev/tag/v0.1")\n'
    )
    assert header in sdl
    older = sdl.replace(
        header,
        "schema\n"
        '  @core(feature: "https://specs.apollo.dev/core/v0.1"),\n'
        '  @core(feature: "https://specs.apollo.dev/join/v0.1"),\n'
        '  @core(feature: "https://specs.apollo.dev/tag/v0.1")\n',
    ).replace(
        "directive @core(as: String, feature: String!, for: core__Purpose) repeatable on SCHEMA",
        "directive @core(feature: String!) repeatable on SCHEMA",
    )
    old = read_supergraph(older)
    new = model("fed1-shop")
    assert old.subgraphs == new.subgraphs
    assert keys(old, "User") == keys(new, "User")
    assert field_in(old, "Product.shippingEstimate", "REVIEWS") == field_in(
        new, "Product.shippingEstimate", "REVIEWS"
    )


# -- join v0.2 --------------------------------------------------------------------------------------------


def test_join_v02_keys_override_and_unions() -> None:
    m = model("bookstore-join02")
    assert {s.name for s in m.subgraphs.values()} == {"books", "stock"}
    assert keys(m, "Book") == {"BOOKS": [("isbn", True)], "STOCK": [("isbn", True)]}
    assert keys(m, "Author") == {"BOOKS": [("id", False)], "STOCK": [("id", True)]}
    copies = m.types["Book"].fields["copies"].in_graphs
    assert set(copies) == {"STOCK"}
    # `override: "books"` names the subgraph; the model speaks join__Graph values
    assert copies["STOCK"].override_from == "BOOKS"
    assert copies["STOCK"].override_label is None
    # join v0.2 has no @join__unionMember: the members a subgraph knows are its members
    assert m.types["Result"].members == ("Book", "Author")
    assert m.types["Result"].members_in == {"BOOKS": {"Book", "Author"}}
    assert m.possible_types["Result"] == ("Book", "Author")


# -- join v0.3 --------------------------------------------------------------------------------------------


def test_join_v03_external_requires_provides() -> None:
    m = model("shop")
    price = m.types["Product"].fields["price"].in_graphs
    assert price == {
        "PRODUCTS": FieldInGraph(graph="PRODUCTS"),
        "REVIEWS": FieldInGraph(graph="REVIEWS", external=True),
    }
    assert field_in(m, "Product.valueScore", "REVIEWS").requires_text == "price"
    assert field_in(m, "Review.author", "REVIEWS").provides_text == "username"
    assert field_in(m, "Question.author", "REVIEWS").provides_text == "username"
    assert field_in(m, "User.username", "REVIEWS").external
    assert m.types["Review"].implements_in == {"REVIEWS": {"Feedback"}}
    assert m.possible_types["Feedback"] == ("Question", "Review")


def test_join_v03_interface_object() -> None:
    m = model("media")
    media = m.types["Media"]
    assert media.kind == "interface"
    assert {g: (e.interface_object, [k.fields for k in e.keys]) for g, e in media.in_graphs.items()} == {
        "MEDIA": (False, ["id"]),
        "REVIEWS": (True, ["id"]),
    }
    assert field_graphs(m, "Media.averageRating") == {"REVIEWS"}
    assert field_graphs(m, "Media.title") == {"MEDIA"}
    # the implementations live in media only; reviews knows them as Media
    assert set(m.types["Book"].in_graphs) == {"MEDIA"}
    assert m.types["Book"].implements_in == {"MEDIA": {"Media"}}
    assert m.possible_types["Media"] == ("Book", "Movie")


# -- join v0.4 --------------------------------------------------------------------------------------------


def test_join_v04_override_labels() -> None:
    m = model("migration")
    email = m.types["Customer"].fields["email"].in_graphs
    assert email == {"CUSTOMERS": FieldInGraph(graph="CUSTOMERS", override_from="MONOLITH")}
    tier = m.types["Customer"].fields["tier"].in_graphs
    assert tier == {
        "CUSTOMERS": FieldInGraph(graph="CUSTOMERS", override_from="MONOLITH", override_label="percent(25)"),
        "MONOLITH": FieldInGraph(graph="MONOLITH", override_label="percent(25)"),
    }
    assert m.mutation_type == "Mutation"
    assert field_graphs(m, "Mutation.placeOrder") == {"MONOLITH"}


# -- join v0.5 --------------------------------------------------------------------------------------------


def test_join_v05_context_arguments() -> None:
    m = model("wallets")
    assert m.types["Account"].contexts == ("accounts__account",)
    balance = field_in(m, "Wallet.balance", "ACCOUNTS")
    assert balance.context_arguments == (
        ContextArgument(
            name="currency", type="String", context="accounts__account", selection=" { currency }"
        ),
    )
    assert field_graphs(m, "Wallet.entries") == {"LEDGER"}
    # the contextual argument is no argument clients can pass
    api_balance = m.api_schema.get_type("Wallet").fields["balance"]  # type: ignore[union-attr]
    assert list(api_balance.args) == ["rounded"]


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("fed1-shop", "0.1"),
        ("bookstore-join02", "0.2"),
        ("shop", "0.3"),
        ("media", "0.3"),
        ("migration", "0.4"),
        ("wallets", "0.5"),
    ],
)
def test_fixture_join_versions(name: str, version: str) -> None:
    """The fixtures above really are the versions they stand for."""
    assert f"https://specs.apollo.dev/join/v{version}" in load_supergraph(name)
    assert model(name).subgraphs
