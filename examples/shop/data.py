"""Deterministic records of the example shop (no randomness: every run serves the same data)."""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]

_PEOPLE = [
    ("Ada", "Lovelace"),
    ("Alan", "Turing"),
    ("Grace", "Hopper"),
    ("Edsger", "Dijkstra"),
    ("Barbara", "Liskov"),
    ("Donald", "Knuth"),
    ("Margaret", "Hamilton"),
    ("John", "McCarthy"),
    ("Frances", "Allen"),
    ("Ken", "Thompson"),
    ("Radia", "Perlman"),
    ("Dennis", "Ritchie"),
    ("Adele", "Goldberg"),
    ("Niklaus", "Wirth"),
    ("Karen", "Jones"),
    ("Tony", "Hoare"),
    ("Shafi", "Goldwasser"),
    ("Leslie", "Lamport"),
    ("Sophie", "Wilson"),
    ("Bjarne", "Stroustrup"),
    ("Hedy", "Lamarr"),
    ("Guido", "Rossum"),
    ("Jean", "Sammet"),
    ("Robin", "Milner"),
    ("Lynn", "Conway"),
    ("Butler", "Lampson"),
    ("Anita", "Borg"),
    ("Alonzo", "Church"),
    ("Mary", "Keller"),
    ("Claude", "Shannon"),
]

_PRODUCTS = [
    ("Oak Table", "FURNITURE"),
    ("Chef Knife", "KITCHEN"),
    ("Garden Hose", "GARDEN"),
    ("Desk Lamp", "OFFICE"),
    ("Bookshelf", "FURNITURE"),
    ("Cast Iron Pan", "KITCHEN"),
    ("Pruning Shears", "GARDEN"),
    ("Stapler", "OFFICE"),
    ("Armchair", "FURNITURE"),
    ("Teapot", "KITCHEN"),
    ("Watering Can", "GARDEN"),
    ("Notebook", "OFFICE"),
    ("Bar Stool", "FURNITURE"),
    ("Cutting Board", "KITCHEN"),
    ("Rake", "GARDEN"),
    ("Monitor Stand", "OFFICE"),
    ("Wardrobe", "FURNITURE"),
    ("Espresso Cup", "KITCHEN"),
    ("Flower Pot", "GARDEN"),
    ("Desk Chair", "OFFICE"),
    ("Coffee Table", "FURNITURE"),
    ("Salad Bowl", "KITCHEN"),
    ("Bird Feeder", "GARDEN"),
    ("Whiteboard", "OFFICE"),
    ("Sofa", "FURNITURE"),
    ("Pepper Mill", "KITCHEN"),
    ("Lawn Chair", "GARDEN"),
    ("Paper Tray", "OFFICE"),
    ("Nightstand", "FURNITURE"),
    ("Toaster", "KITCHEN"),
]

_REVIEW_WORDS = ["Terrible", "Disappointing", "Decent", "Great", "Perfect"]

USERS: list[Record] = [
    {
        "id": str(i),
        "username": f"{first.lower()}{i}",
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}@example.com",
        "memberSince": 2010 + (i * 7) % 15,
    }
    for i, (first, last) in enumerate(_PEOPLE, start=1)
]

PRODUCTS: list[Record] = [
    {
        "upc": f"{i:04d}",
        "name": name,
        "price": 499 + (i * 1373) % 20000,
        "weight": 100 + (i * 389) % 5000,
        "inStock": i % 4 != 0,
        "category": category,
    }
    for i, (name, category) in enumerate(_PRODUCTS, start=1)
]

# Reviews and questions refer to users and products by key only; the reviews subgraph
# keeps a copy of each author's username so that it can @provides it.
REVIEWS: list[Record] = []
for _i in range(60):
    _user = USERS[(_i * 7) % len(USERS)]
    _product = PRODUCTS[(_i * 11) % len(PRODUCTS)]
    _rating = 1 + (_i * 3) % 5
    REVIEWS.append(
        {
            "__typename": "Review",
            "id": f"r{_i + 1}",
            "body": f"{_REVIEW_WORDS[_rating - 1]} {_product['name'].lower()}.",
            "rating": _rating,
            "author": {"id": _user["id"], "username": _user["username"]},
            "product": {"upc": _product["upc"]},
            "posted": 2 * _i,
        }
    )

QUESTIONS: list[Record] = []
for _i in range(20):
    _user = USERS[(_i * 5 + 3) % len(USERS)]
    _product = PRODUCTS[(_i * 13) % len(PRODUCTS)]
    QUESTIONS.append(
        {
            "__typename": "Question",
            "id": f"q{_i + 1}",
            "body": f"Is the {_product['name'].lower()} worth it?",
            "answer": None if _i % 3 == 0 else "Yes, according to the seller.",
            "author": {"id": _user["id"], "username": _user["username"]},
            "product": {"upc": _product["upc"]},
            "posted": 6 * _i + 1,
        }
    )

USERS_BY_ID: dict[str, Record] = {u["id"]: u for u in USERS}
PRODUCTS_BY_UPC: dict[str, Record] = {p["upc"]: p for p in PRODUCTS}
