"""The supergraph sets difftest runs: a supergraph, the real subgraphs that serve it on loopback, argument hints.

`shop` and `classroom` are the example apps (examples/); the others are fixtures of tests/fixtures/supergraphs/
served by the test harness (tests/support) with the records below. Each starts in threads of this process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLError
from starlette.types import ASGIApp
from tests.support.fixtures import SUPERGRAPHS_DIR, load_subgraph_sdls
from tests.support.servers import ServerThread, stop_all
from tests.support.subgraph import SubgraphApp, SubgraphSpec

from difftest.generator import Hints

__all__ = ["WORLDS", "Running", "World"]

Record = dict[str, Any]
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Running:
    """Subgraphs being served: their URLs by subgraph name."""

    urls: dict[str, str]
    servers: list[ServerThread]

    def stop(self) -> None:
        stop_all(self.servers)


@dataclass(frozen=True)
class World:
    """One supergraph set: its supergraph file (placeholder URLs), its subgraph apps, argument value hints."""

    name: str
    supergraph: Path
    apps: Callable[[], Mapping[str, ASGIApp]]
    hints: Callable[[], Hints]  # called once the run needs them (an example's data module builds its records)

    def serve(self, host: str) -> Running:
        servers: list[ServerThread] = []
        try:
            for name, app in self.apps().items():
                servers.append(ServerThread(app, host=host, name=name).start())
        except BaseException:
            stop_all(servers)
            raise
        return Running({s.name: f"{s.base_url}/graphql" for s in servers}, servers)


def _specs(make: Callable[[], list[SubgraphSpec]]) -> Callable[[], Mapping[str, ASGIApp]]:
    return lambda: {spec.name: SubgraphApp.from_spec(spec) for spec in make()}


# -- the examples ---------------------------------------------------------------------------------------------------


def _shop_apps() -> Mapping[str, ASGIApp]:
    from examples import shop

    return {name: shop.app_for(name) for name in shop.SUBGRAPHS}


def _shop_hints() -> dict[str, list[Any]]:
    from examples.shop.data import PRODUCTS, QUESTIONS, REVIEWS, USERS

    users: list[Record] = [u["id"] for u in USERS[::4]] + ["999"]
    return {
        "Query.user(id:)": users,
        "Query.product(upc:)": [p["upc"] for p in PRODUCTS[::4]] + ["9999"],
        "Query.review(id:)": [r["id"] for r in REVIEWS[::7]] + [QUESTIONS[0]["id"], "r999"],
        "first": [0, 1, 2, 3, 5],
        "ID": users,
    }


def _classroom_apps() -> Mapping[str, ASGIApp]:
    import logging

    from examples.classroom._app import resolver_logger

    from examples import classroom

    for name in classroom.SUBGRAPHS:  # the assignments service's dueDate errors are expected: not logged here
        logging.getLogger(resolver_logger(name)).disabled = True
    return {name: classroom.app_for(name) for name in classroom.SUBGRAPHS}


def _classroom_hints() -> dict[str, list[Any]]:
    from examples.classroom.data import ASSIGNMENTS, COURSES, USERS

    users: list[Record] = [u["id"] for u in USERS[::23]] + [USERS[-1]["id"], "u999"]
    courses = [c["id"] for c in COURSES[::3]] + ["c99"]
    # a1..a165 agree on both services; from a166 on, the new service's summer-time bug; a9 has no due date
    assignments = [a["id"] for a in ASSIGNMENTS[::19]] + ["a9", "a166", "a194", "a999"]
    return {
        "Query.user(id:)": users,
        "Query.course(id:)": courses,
        "Query.assignment(id:)": assignments,
        "Query.assignments(courseId:)": [*courses, None],
        "first": [0, 1, 2, 3],
        "offset": [0, 7, 199],
        "ID": users + courses + assignments,
    }


# -- library: interfaces and unions over three subgraphs --------------------------------------------------------------


def _library() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("library")
    authors: list[Record] = [
        {"__typename": "Author", "id": "a1", "name": "Ursula Le Guin"},
        {"__typename": "Author", "id": "a2", "name": "Italo Calvino"},
    ]
    books: list[Record] = [
        {"__typename": "Book", "id": "b1", "title": "The Dispossessed", "author": {"id": "a1"}},
        {"__typename": "Book", "id": "b2", "title": "Invisible Cities", "author": {"id": "a2"}},
        {"__typename": "Book", "id": "b3", "title": "The Lathe of Heaven", "author": {"id": "a1"}},
    ]
    magazines: list[Record] = [{"__typename": "Magazine", "id": "m1", "title": "Byte", "issue": 7}]
    films: list[Record] = [
        {"__typename": "Film", "id": "f1", "title": "Solaris", "director": "Andrei Tarkovsky"},
        {"__typename": "Film", "id": "f2", "title": "Stalker", "director": "Andrei Tarkovsky"},
    ]
    stars = {"b1": 5, "b2": 4, "b3": 3, "f1": 4, "f2": 5}

    def search(*_: Any, term: str) -> list[Record]:
        term = term.lower()
        return [b for b in books if term in b["title"].lower()] + [
            a for a in authors if term in a["name"].lower()
        ]

    return [
        SubgraphSpec(
            "books",
            sdls["books"],
            data={"Book": books, "Magazine": magazines, "Author": authors},
            root={
                "shelf": [books[1], magazines[0], books[0], books[2]],
                "search": search,
                "Book.author": lambda b, _: next(a for a in authors if a["id"] == b["author"]["id"]),
            },
        ),
        SubgraphSpec("films", sdls["films"], data={"Film": films}, root={"featured": [films[1], films[0]]}),
        SubgraphSpec(
            "ratings",
            sdls["ratings"],
            root={
                "topRated": [
                    {"__typename": "Film", "id": "f2"},
                    {"__typename": "Book", "id": "b1"},
                    {"__typename": "Book", "id": "b2"},
                    {"__typename": "Film", "id": "f1"},
                ],
                "Book.stars": lambda b, _: stars[b["id"]],
                "Film.stars": lambda f, _: stars[f["id"]],
            },
        ),
    ]


# -- media: an entity interface that another subgraph extends through @interfaceObject -------------------------------


def _media() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("media")
    media: list[Record] = [
        {"__typename": "Book", "id": "1", "title": "Kindred", "author": "Octavia Butler", "pages": 264},
        {
            "__typename": "Movie",
            "id": "2",
            "title": "Arrival",
            "director": "Denis Villeneuve",
            "minutes": 116,
        },
        {"__typename": "Book", "id": "3", "title": "Piranesi", "author": "Susanna Clarke", "pages": 272},
        {"__typename": "Movie", "id": "4", "title": "Paterson", "director": "Jim Jarmusch", "minutes": 118},
    ]
    ratings: dict[str, list[int]] = {"1": [5, 4], "2": [5], "3": [3, 4, 2], "4": []}

    def average(m: Record, _: Any) -> float | None:
        values = ratings[m["id"]]
        return sum(values) / len(values) if values else None

    def top_rated(*_: Any, first: int) -> list[Record]:
        best = sorted(ratings, key=lambda i: -(average({"id": i}, None) or 0))
        return [{"id": i} for i in best[:first]]

    by_kind = {kind: [m for m in media if m["__typename"] == kind] for kind in ("Book", "Movie")}
    return [
        SubgraphSpec(
            "media",
            sdls["media"],
            data=by_kind,
            root={
                "media": media,
                "mediaItem": lambda *_, id: next((m for m in media if m["id"] == id), None),
            },
        ),
        SubgraphSpec(
            "reviews",
            sdls["reviews"],
            root={
                "topRated": top_rated,
                "Media.averageRating": average,
                "Media.reviews": lambda m, _: [
                    {"id": f"{m['id']}.{n}", "body": f"{r} stars", "rating": r}
                    for n, r in enumerate(ratings[m["id"]])
                ],
            },
        ),
    ]


# -- marketplace: two keys, a composite key, a nested key, and a failing non-null field ---------------------------------


def _marketplace() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("marketplace")
    users: list[Record] = [
        {"id": "u1", "email": "kim@example.com", "name": "Kim Ng", "nickname": "kimmy"},
        {"id": "u2", "email": "lee@example.com", "name": "Lee Sedol", "nickname": None},
    ]
    products: list[Record] = [
        {
            "sku": "s1",
            "vendor": "acme",
            "title": "Kettle",
            "price": 2500,
            "createdBy": {"email": "kim@example.com"},
        },
        {
            "sku": "s1",
            "vendor": "initech",
            "title": "Stapler",
            "price": 900,
            "createdBy": {"email": "gone@example.com"},
        },  # no such user: accounts answers null
        {"sku": "s2", "vendor": "acme", "title": "Toaster", "price": 4100, "createdBy": None},
    ]
    variants: list[Record] = [
        {"product": {"sku": "s1", "vendor": "acme"}, "color": "steel", "stock": 4},
        {"product": {"sku": "s1", "vendor": "initech"}, "color": "red", "stock": 0},
        {"product": {"sku": "s2", "vendor": "acme"}, "color": "white", "stock": None},
    ]  # fails: Int!

    def line(quantity: int, sku: str, vendor: str, color: str) -> Record:
        return {"quantity": quantity, "variant": {"product": {"sku": sku, "vendor": vendor}, "color": color}}

    orders: list[Record] = [
        {
            "id": "o1",
            "buyer": {"id": "u1"},
            "lines": [line(1, "s1", "acme", "steel")],
            "recommended": [{"sku": "s2", "vendor": "acme"}],
        },
        {"id": "o2", "buyer": None, "lines": [line(2, "s1", "initech", "red")], "recommended": []},
        {
            "id": "o3",
            "buyer": {"id": "u2"},
            "lines": [line(1, "s2", "acme", "white")],
            "recommended": [{"sku": "s1", "vendor": "initech"}, {"sku": "s1", "vendor": "acme"}],
        },
    ]

    def product(key: Record) -> Record | None:
        return next((p for p in products if p["sku"] == key["sku"] and p["vendor"] == key["vendor"]), None)

    def stock(variant: Record, _: Any) -> int:
        if variant["stock"] is None:
            raise GraphQLError(f"no stock count for {variant['color']}")
        return int(variant["stock"])

    return [
        SubgraphSpec(
            "accounts",
            sdls["accounts"],
            data={"User": users},
            root={"users": users, "user": lambda *_, id: next((u for u in users if u["id"] == id), None)},
        ),
        SubgraphSpec(
            "catalog",
            sdls["catalog"],
            data={"Product": products, "Variant": variants},
            root={
                "products": products,
                "product": lambda *_, sku, vendor: product({"sku": sku, "vendor": vendor}),
                "Product.variants": lambda p, _: [v for v in variants if product(v["product"]) is p],
                "Variant.product": lambda v, _: product(v["product"]),
                "Variant.stock": stock,
            },
        ),
        SubgraphSpec(
            "orders",
            sdls["orders"],
            data={"Order": orders},
            root={
                "orders": orders,
                "order": lambda *_, id: next((o for o in orders if o["id"] == id), None),
                "User.orders": lambda u, _: [o for o in orders if (o["buyer"] or {}).get("id") == u["id"]],
            },
        ),
    ]


# -- shipping: @requires (simple, nested, with an argument, chained), @provides, @shareable -----------------------------


def _shipping() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("shipping")
    users: list[Record] = [
        {"id": "u1", "name": "Mae Jemison", "email": "mae@example.com"},
        {"id": "u2", "name": "Sally Ride", "email": "sally@example.com"},
    ]
    products: list[Record] = [
        {
            "upc": "1",
            "name": "Desk",
            "weight": 21000,
            "dimensions": {"width": 1400, "height": 740, "depth": 700},
            "prices": {"USD": 31000, "EUR": 28500},
        },
        {
            "upc": "2",
            "name": "Mug",
            "weight": 350,
            "dimensions": {"width": 90, "height": 100, "depth": 90},
            "prices": {"USD": 1200, "EUR": 1100},
        },
        {
            "upc": "3",
            "name": "Rug",
            "weight": 4000,
            "dimensions": {"width": 1600, "height": 10, "depth": 2300},
            "prices": {"USD": 8900, "EUR": 8200},
        },
    ]
    inventory: list[Record] = [{"upc": p["upc"], "name": p["name"]} for p in products]
    reviews: list[Record] = [
        {
            "id": "r1",
            "body": "Solid",
            "author": {"id": "u1", "name": "Mae Jemison"},
            "editor": {"id": "u2"},
            "product": {"upc": "1"},
        },
        {
            "id": "r2",
            "body": "Chipped",
            "author": {"id": "u2", "name": "Sally Ride"},
            "editor": None,
            "product": {"upc": "2"},
        },
        {
            "id": "r3",
            "body": "Soft",
            "author": {"id": "u2", "name": "Sally Ride"},
            "editor": {"id": "u1"},
            "product": {"upc": "3"},
        },
    ]
    return [
        SubgraphSpec("accounts", sdls["accounts"], data={"User": users}, root={"me": users[0]}),
        SubgraphSpec(
            "products",
            sdls["products"],
            data={"Product": products},
            root={
                "products": products,
                "product": lambda *_, upc: next((p for p in products if p["upc"] == upc), None),
                "Product.price": lambda p, _, currency: p["prices"][currency],
            },
        ),
        SubgraphSpec(
            "inventory",
            sdls["inventory"],
            data={"Product": inventory},
            root={
                "stock": [{"quantity": 3, "product": inventory[0]}, {"quantity": 0, "product": inventory[2]}],
                "Product.shippingEstimate": lambda p, _: 1 + p["weight"] // 5000,
                "Product.packaging": lambda p, _: (
                    f"box {p['dimensions']['width']}x{p['dimensions']['height']}"
                ),
                "Product.euroLabel": lambda p, _: f"EUR {p['price'] / 100:.2f}",
            },
        ),
        SubgraphSpec(
            "reviews",
            sdls["reviews"],
            root={
                "topReviews": reviews,
                "Product.reviews": lambda p, _: [r for r in reviews if r["product"]["upc"] == p["upc"]],
                "Product.deliveryNote": lambda p, _: f"ships in {p['shippingEstimate']} days",
            },
        ),
    ]


# -- keychain: two keys, a composite and a nested key, a @shareable name, five subgraphs --------------------------------


def _keychain() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("keychain")
    products: list[Record] = [
        {"id": "k1", "sku": "SKU-1", "name": "Lantern"},
        {"id": "k2", "sku": "SKU-2", "name": "Compass"},
        {"id": "k3", "sku": "SKU-3", "name": "Tent"},
    ]
    variants: list[Record] = [
        {"product": {"id": "k1"}, "code": "sm", "color": "green"},
        {"product": {"id": "k1"}, "code": "lg", "color": "green"},
        {"product": {"id": "k3"}, "code": "2p", "color": "orange"},
    ]
    prices: list[Record] = [{**v, "price": 1000 + 250 * n} for n, v in enumerate(variants)]
    stock: list[Record] = [
        {"sku": "SKU-1", "stock": 2, "location": {"warehouse": "w1", "aisle": 3}},
        {"sku": "SKU-2", "stock": 0, "location": {"warehouse": "w2", "aisle": 1}},
        {"sku": "SKU-3", "stock": 40, "location": {"warehouse": "w1", "aisle": 7}},
    ]
    locations: list[Record] = [
        {**s["location"], "temperature": t} for s, t in zip(stock, (12.5, 18.0, 11.0), strict=True)
    ]
    legacy: list[Record] = [
        {"id": p["id"], "name": p["name"], "archivedAt": f"2021-03-0{n}"} for n, p in enumerate(products, 1)
    ]
    by_id = {p["id"]: p for p in products}
    return [
        SubgraphSpec(
            "catalog",
            sdls["catalog"],
            data={"Product": products, "Variant": variants},
            root={
                "products": products,
                "product": lambda *_, id: by_id.get(id),
                "Product.variants": lambda p, _: [v for v in variants if v["product"]["id"] == p["id"]],
                "Variant.product": lambda v, _: by_id[v["product"]["id"]],
            },
        ),
        SubgraphSpec(
            "inventory",
            sdls["inventory"],
            data={"Product": stock, "Location": [s["location"] for s in stock]},
            root={"lowStock": [s for s in stock if s["stock"] < 5]},
        ),
        SubgraphSpec(
            "legacy", sdls["legacy"], data={"Product": legacy}, root={"archivedProducts": legacy[1:2]}
        ),
        SubgraphSpec("pricing", sdls["pricing"], data={"Variant": prices}),
        SubgraphSpec("warehouses", sdls["warehouses"], data={"Location": locations}),
    ]


def _fixture(name: str, make: Callable[[], list[SubgraphSpec]], hints: Hints) -> World:
    return World(name, SUPERGRAPHS_DIR / name / "supergraph.graphql", _specs(make), lambda: hints)


WORLDS: dict[str, World] = {
    world.name: world
    for world in (
        World("shop", REPO / "examples" / "shop" / "supergraph.graphql", _shop_apps, _shop_hints),
        World(
            "classroom",
            REPO / "examples" / "classroom" / "supergraph.graphql",
            _classroom_apps,
            _classroom_hints,
        ),
        _fixture(
            "library",
            _library,
            {
                "Query.search(term:)": ["the", "cities", "le guin", "a", "zzz"],
                "ID": ["b1", "b2", "m1", "f1", "a1", "x9"],
            },
        ),
        _fixture(
            "media", _media, {"Query.mediaItem(id:)": ["1", "2", "3", "4", "9"], "first": [0, 1, 2, 3, 5]}
        ),
        _fixture(
            "marketplace",
            _marketplace,
            {
                "Query.user(id:)": ["u1", "u2", "u9"],
                "Query.order(id:)": ["o1", "o2", "o3", "o9"],
                "Query.product(sku:)": ["s1", "s2", "s9"],
                "Query.product(vendor:)": ["acme", "initech", "umbrella"],
            },
        ),
        _fixture("shipping", _shipping, {"Query.product(upc:)": ["1", "2", "3", "9"]}),
        _fixture("keychain", _keychain, {"Query.product(id:)": ["k1", "k2", "k3", "k9"]}),
    )
}
