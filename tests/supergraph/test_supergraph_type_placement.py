"""Where each type lives: keys (resolvable or not), interface objects, union members and interface
implementations per subgraph, value types shared between subgraphs."""

from __future__ import annotations

import functools

from support.fixtures import load_supergraph
from turnout.supergraph.join_spec import read_supergraph
from turnout.supergraph.model import SupergraphModel


@functools.cache
def model(name: str) -> SupergraphModel:
    return read_supergraph(load_supergraph(name))


def key_table(m: SupergraphModel, type_name: str) -> dict[str, list[tuple[str, bool]]]:
    return {g: [(k.fields, k.resolvable) for k in e.keys] for g, e in m.types[type_name].in_graphs.items()}


def test_unresolvable_keys() -> None:
    m = model("wholesale")
    assert key_table(m, "Supplier") == {"PRODUCTS": [("id", False)], "SUPPLIERS": [("id", True)]}
    m = model("keychain")
    assert key_table(m, "Product") == {
        "CATALOG": [("id", True), ("sku", True)],
        "INVENTORY": [("sku", True)],
        "LEGACY": [("id", True)],
        "PRICING": [("id", False)],
    }


def test_key_selections_are_parsed() -> None:
    m = model("keychain")
    (key,) = m.types["Variant"].in_graphs["PRICING"].keys
    assert key.fields == "product { id } code"
    product, code = key.selection.selections
    assert product.name.value == "product"  # type: ignore[attr-defined]
    assert [s.name.value for s in product.selection_set.selections] == ["id"]  # type: ignore[attr-defined]
    assert code.name.value == "code"  # type: ignore[attr-defined]
    (composite,) = m.types["Location"].in_graphs["WAREHOUSES"].keys
    assert [s.name.value for s in composite.selection.selections] == ["warehouse", "aisle"]  # type: ignore[attr-defined]


def test_fields_of_entities_per_subgraph() -> None:
    m = model("keychain")
    product = m.types["Product"].fields
    assert set(product["id"].in_graphs) == {"CATALOG", "LEGACY", "PRICING"}
    assert set(product["sku"].in_graphs) == {"CATALOG", "INVENTORY"}
    assert set(product["name"].in_graphs) == {"CATALOG", "LEGACY"}
    assert set(product["stock"].in_graphs) == {"INVENTORY"}
    # a field without @join__field lives wherever its type does
    assert set(m.types["Location"].fields["aisle"].in_graphs) == {"INVENTORY", "WAREHOUSES"}
    assert set(m.types["Location"].fields["temperature"].in_graphs) == {"WAREHOUSES"}


def test_interface_object_flags() -> None:
    m = model("media")
    assert {g: e.interface_object for g, e in m.types["Media"].in_graphs.items()} == {
        "MEDIA": False,
        "REVIEWS": True,
    }
    for name in ["Book", "Movie", "Query", "Review"]:
        assert not any(e.interface_object for e in m.types[name].in_graphs.values()), name
    # fields an interface object adds appear on the implementations with a bare @join__field: no subgraph
    # declares them on Book or Movie, they are reached through Media
    assert m.types["Book"].fields["averageRating"].in_graphs == {}
    assert m.types["Movie"].fields["reviews"].in_graphs == {}
    assert set(m.types["Media"].fields["reviews"].in_graphs) == {"REVIEWS"}


def test_union_members_per_subgraph() -> None:
    m = model("wholesale")
    hit = m.types["SearchHit"]
    assert hit.kind == "union"
    assert hit.members == ("Product", "Category", "Supplier", "Warehouse")
    assert hit.members_in == {
        "PRODUCTS": {"Product", "Category"},
        "SUPPLIERS": {"Supplier", "Product", "Warehouse"},
    }
    assert set(hit.in_graphs) == {"PRODUCTS", "SUPPLIERS"}
    assert m.possible_types["SearchHit"] == ("Product", "Category", "Supplier", "Warehouse")


def test_interface_implementations_per_subgraph() -> None:
    m = model("wholesale")
    # Product implements Node in products only, Supplier in suppliers only
    assert m.types["Product"].implements_in == {"PRODUCTS": {"Node"}}
    assert m.types["Supplier"].implements_in == {"SUPPLIERS": {"Node"}}
    assert m.types["Product"].interfaces == ("Node",)
    assert set(m.types["Node"].in_graphs) == {"PRODUCTS", "SUPPLIERS"}
    assert set(m.possible_types["Node"]) == {"Product", "Supplier", "Warehouse"}


def test_value_types_shared_between_subgraphs() -> None:
    m = model("wholesale")
    money = m.types["Money"]
    assert set(money.in_graphs) == {"PRODUCTS", "SUPPLIERS"}
    assert all(not e.keys for e in money.in_graphs.values())
    assert set(money.fields["amount"].in_graphs) == {"PRODUCTS", "SUPPLIERS"}


def test_type_kinds() -> None:
    m = model("wholesale")
    kinds = {name: t.kind for name, t in m.types.items()}
    assert kinds["Status"] == "enum"
    assert kinds["ProductFilter"] == "input"
    assert kinds["Node"] == "interface"
    assert kinds["SearchHit"] == "union"
    assert kinds["Product"] == "object"
    # machinery types are not part of the model
    assert not [name for name in kinds if name.startswith(("join__", "link__"))]


def test_root_types_live_in_every_subgraph_that_has_them() -> None:
    m = model("ordering")
    assert (m.query_type, m.mutation_type) == ("Query", "Mutation")
    assert set(m.types["Mutation"].in_graphs) == {"ACCOUNTS", "ORDERS"}
    assert set(m.types["Mutation"].fields["createUser"].in_graphs) == {"ACCOUNTS"}
    assert set(m.types["Mutation"].fields["placeOrder"].in_graphs) == {"ORDERS"}
