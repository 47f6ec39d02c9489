"""Interfaces, unions and @interfaceObject through the gateway.

library: books (interface Item = Book | Magazine there, union SearchResult = Book | Author), films
(Item = Film, SearchResult = Film), ratings (union Rated = Book | Film, adds `stars` to both).
media: media owns the entity interface Media (Book, Movie); reviews sees it as an @interfaceObject.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from support.fixtures import load_subgraph_sdls
from support.subgraph import SubgraphSpec
from test_gateway_support import GatewayRun, Record, RunSubgraphs, ServeAsgi, entity_requests, start_gateway

# -- library -----------------------------------------------------------------------------------------------------

AUTHORS: list[Record] = [
    {"__typename": "Author", "id": "a1", "name": "Frank Herbert"},
    {"__typename": "Author", "id": "a2", "name": "Jane Austen"},
]
BOOKS: list[Record] = [
    {"__typename": "Book", "id": "b1", "title": "Dune", "author": {"id": "a1"}},
    {"__typename": "Book", "id": "b2", "title": "Emma", "author": {"id": "a2"}},
]
MAGAZINES: list[Record] = [{"__typename": "Magazine", "id": "m1", "title": "Wired", "issue": 42}]
FILMS: list[Record] = [
    {"__typename": "Film", "id": "f1", "title": "Alien", "director": "Ridley Scott"},
    {"__typename": "Film", "id": "f2", "title": "Dune", "director": "Denis Villeneuve"},
]
STARS: dict[str, int] = {"b1": 5, "b2": 3, "f1": 4, "f2": 5}
TOP_RATED: list[Record] = [
    {"__typename": "Book", "id": "b1"},
    {"__typename": "Film", "id": "f2"},
    {"__typename": "Film", "id": "f1"},
    {"__typename": "Book", "id": "b2"},
]


def library_specs() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("library")
    authors, books, magazines, films = (copy.deepcopy(x) for x in (AUTHORS, BOOKS, MAGAZINES, FILMS))

    def search(*_: Any, term: str) -> list[Record]:
        found = [b for b in books if term in b["title"].lower()]
        return found + [a for a in authors if term in a["name"].lower()]

    return [
        SubgraphSpec(
            "books",
            sdls["books"],
            data={"Book": books, "Magazine": magazines, "Author": authors},
            root={
                "shelf": [books[0], magazines[0], books[1]],
                "search": search,
                "Book.author": lambda b, _info: next(a for a in authors if a["id"] == b["author"]["id"]),
            },
        ),
        SubgraphSpec("films", sdls["films"], data={"Film": films}, root={"featured": [films[1], films[0]]}),
        SubgraphSpec(
            "ratings",
            sdls["ratings"],
            root={
                "topRated": copy.deepcopy(TOP_RATED),
                "Book.stars": lambda b, _info: STARS[b["id"]],
                "Film.stars": lambda f, _info: STARS[f["id"]],
            },
        ),
    ]


@pytest.fixture
def library(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> GatewayRun:
    return start_gateway(serve_asgi, "library", run_subgraphs(library_specs()))


def test_interface_from_one_subgraph(library: GatewayRun) -> None:
    response = library.query("{ shelf { __typename id title } }")
    assert response.json == {
        "data": {
            "shelf": [
                {"__typename": "Book", "id": "b1", "title": "Dune"},
                {"__typename": "Magazine", "id": "m1", "title": "Wired"},
                {"__typename": "Book", "id": "b2", "title": "Emma"},
            ]
        }
    }
    assert library.calls() == {"books": 1, "films": 0, "ratings": 0}


def test_fragment_on_an_implementation_the_subgraph_does_not_have(library: GatewayRun) -> None:
    """Film implements Item only in films: `... on Film` must not reach books (invalid there)."""
    query = "{ shelf { title ... on Book { author { name } } ... on Magazine { issue } ... on Film { director } } }"
    response = library.query(query)
    assert response.json == {
        "data": {
            "shelf": [
                {"title": "Dune", "author": {"name": "Frank Herbert"}},
                {"title": "Wired", "issue": 42},
                {"title": "Emma", "author": {"name": "Jane Austen"}},
            ]
        }
    }
    [fetch] = library.requests("books")
    assert fetch.query is not None and "Film" not in fetch.query
    assert library.calls() == {"books": 1, "films": 0, "ratings": 0}


def test_same_interface_served_by_the_other_subgraph(library: GatewayRun) -> None:
    query = "{ featured { __typename id title ... on Film { director } ... on Book { author { name } } } }"
    response = library.query(query)
    assert response.json == {
        "data": {
            "featured": [
                {"__typename": "Film", "id": "f2", "title": "Dune", "director": "Denis Villeneuve"},
                {"__typename": "Film", "id": "f1", "title": "Alien", "director": "Ridley Scott"},
            ]
        }
    }
    assert library.calls() == {"books": 0, "films": 1, "ratings": 0}


def test_fragment_on_an_implementation_with_an_entity_jump(library: GatewayRun) -> None:
    response = library.query("{ shelf { title ... on Book { stars } } }")
    assert response.json == {
        "data": {"shelf": [{"title": "Dune", "stars": 5}, {"title": "Wired"}, {"title": "Emma", "stars": 3}]}
    }
    [fetch] = library.requests("ratings")
    assert fetch.representations == [{"__typename": "Book", "id": "b1"}, {"__typename": "Book", "id": "b2"}]


def test_union_members_resolved_in_different_subgraphs(library: GatewayRun) -> None:
    query = """
    { topRated { __typename
        ... on Book { title stars author { name } }
        ... on Film { title director stars } } }
    """
    response = library.query(query)
    assert response.json == {
        "data": {
            "topRated": [
                {"__typename": "Book", "title": "Dune", "stars": 5, "author": {"name": "Frank Herbert"}},
                {"__typename": "Film", "title": "Dune", "director": "Denis Villeneuve", "stars": 5},
                {"__typename": "Film", "title": "Alien", "director": "Ridley Scott", "stars": 4},
                {"__typename": "Book", "title": "Emma", "stars": 3, "author": {"name": "Jane Austen"}},
            ]
        }
    }
    [books] = entity_requests(library.subgraphs["books"])
    [films] = entity_requests(library.subgraphs["films"])
    assert books.representations == [{"__typename": "Book", "id": "b1"}, {"__typename": "Book", "id": "b2"}]
    assert films.representations == [{"__typename": "Film", "id": "f2"}, {"__typename": "Film", "id": "f1"}]
    assert library.calls() == {"books": 1, "films": 1, "ratings": 1}


def test_interface_fragment_inside_a_union(library: GatewayRun) -> None:
    """`... on Item` within Rated: Book's title comes from books, Film's from films."""
    response = library.query("{ topRated { ... on Item { id title } } }")
    assert response.json == {
        "data": {
            "topRated": [
                {"id": "b1", "title": "Dune"},
                {"id": "f2", "title": "Dune"},
                {"id": "f1", "title": "Alien"},
                {"id": "b2", "title": "Emma"},
            ]
        }
    }
    assert library.calls() == {"books": 1, "films": 1, "ratings": 1}


def test_union_member_the_subgraph_cannot_return(library: GatewayRun) -> None:
    query = '{ search(term: "u") { __typename ... on Book { title } ... on Author { name } ... on Film { director } } }'
    response = library.query(query)
    assert response.json == {
        "data": {
            "search": [
                {"__typename": "Book", "title": "Dune"},
                {"__typename": "Author", "name": "Jane Austen"},
            ]
        }
    }
    [fetch] = library.requests("books")
    assert fetch.query is not None and "Film" not in fetch.query
    assert library.calls() == {"books": 1, "films": 0, "ratings": 0}


def test_typename_only_on_a_union(library: GatewayRun) -> None:
    response = library.query("{ topRated { __typename } }")
    assert response.json == {
        "data": {
            "topRated": [
                {"__typename": "Book"},
                {"__typename": "Film"},
                {"__typename": "Film"},
                {"__typename": "Book"},
            ]
        }
    }
    assert library.calls() == {"books": 0, "films": 0, "ratings": 1}


def test_union_fragment_for_one_member_only(library: GatewayRun) -> None:
    response = library.query("{ topRated { ... on Film { title } } }")
    assert response.json == {"data": {"topRated": [{}, {"title": "Dune"}, {"title": "Alien"}, {}]}}
    assert library.calls() == {"books": 0, "films": 1, "ratings": 1}


# -- media: @interfaceObject ----------------------------------------------------------------------------------------

MEDIA: list[Record] = [
    {"__typename": "Book", "id": "1", "title": "Dune", "author": "Herbert", "pages": 412},
    {"__typename": "Movie", "id": "2", "title": "Alien", "director": "Scott", "minutes": 117},
    {"__typename": "Book", "id": "3", "title": "Emma", "author": "Austen", "pages": 474},
]
RATINGS: dict[str, list[int]] = {"1": [4, 5], "2": [5, 5], "3": [2]}


def media_specs() -> list[SubgraphSpec]:
    sdls = load_subgraph_sdls("media")
    media = copy.deepcopy(MEDIA)

    def top_rated(*_: Any, first: int) -> list[Record]:
        best = sorted(RATINGS, key=lambda i: -sum(RATINGS[i]) / len(RATINGS[i]))
        return [{"id": i} for i in best[:first]]

    return [
        SubgraphSpec(
            "media",
            sdls["media"],
            data={
                "Book": [m for m in media if m["__typename"] == "Book"],
                "Movie": [m for m in media if m["__typename"] == "Movie"],
            },
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
                "Media.averageRating": lambda m, _info: sum(RATINGS[m["id"]]) / len(RATINGS[m["id"]]),
                "Media.reviews": lambda m, _info: [
                    {"id": f"{m['id']}-{n}", "body": "ok", "rating": r}
                    for n, r in enumerate(RATINGS[m["id"]])
                ],
            },
        ),
    ]


@pytest.fixture
def media(run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> GatewayRun:
    return start_gateway(serve_asgi, "media", run_subgraphs(media_specs()))


def test_interface_object_typename_is_the_concrete_type(media: GatewayRun) -> None:
    response = media.query("{ topRated { __typename id title averageRating } }")
    assert response.json == {
        "data": {
            "topRated": [
                {"__typename": "Movie", "id": "2", "title": "Alien", "averageRating": 5.0},
                {"__typename": "Book", "id": "1", "title": "Dune", "averageRating": 4.5},
                {"__typename": "Book", "id": "3", "title": "Emma", "averageRating": 2.0},
            ]
        }
    }
    [fetch] = media.requests("media")
    assert fetch.representations == [
        {"__typename": "Media", "id": "2"},
        {"__typename": "Media", "id": "1"},
        {"__typename": "Media", "id": "3"},
    ]
    assert media.calls() == {"media": 1, "reviews": 1}


def test_interface_object_typename_alone(media: GatewayRun) -> None:
    response = media.query("{ topRated(first: 2) { __typename } }")
    assert response.json == {"data": {"topRated": [{"__typename": "Movie"}, {"__typename": "Book"}]}}
    assert media.calls() == {"media": 1, "reviews": 1}


def test_fragments_on_implementors_from_an_interface_object(media: GatewayRun) -> None:
    response = media.query(
        "{ topRated(first: 2) { id ... on Book { author pages } ... on Movie { director } } }"
    )
    assert response.json == {
        "data": {
            "topRated": [{"id": "2", "director": "Scott"}, {"id": "1", "author": "Herbert", "pages": 412}]
        }
    }


def test_interface_object_fields_alone_need_no_concrete_type(media: GatewayRun) -> None:
    response = media.query("{ topRated { id averageRating } }")
    assert response.json == {
        "data": {
            "topRated": [
                {"id": "2", "averageRating": 5.0},
                {"id": "1", "averageRating": 4.5},
                {"id": "3", "averageRating": 2.0},
            ]
        }
    }
    assert media.calls() == {"media": 0, "reviews": 1}


def test_fields_added_to_an_interface_from_another_subgraph(media: GatewayRun) -> None:
    response = media.query("{ media { __typename title averageRating reviews { rating } } }")
    assert response.json == {
        "data": {
            "media": [
                {
                    "__typename": "Book",
                    "title": "Dune",
                    "averageRating": 4.5,
                    "reviews": [{"rating": 4}, {"rating": 5}],
                },
                {
                    "__typename": "Movie",
                    "title": "Alien",
                    "averageRating": 5.0,
                    "reviews": [{"rating": 5}, {"rating": 5}],
                },
                {"__typename": "Book", "title": "Emma", "averageRating": 2.0, "reviews": [{"rating": 2}]},
            ]
        }
    }
    [fetch] = media.requests("reviews")
    # an interface object is entered with the interface's name
    assert fetch.representations == [
        {"__typename": "Media", "id": "1"},
        {"__typename": "Media", "id": "2"},
        {"__typename": "Media", "id": "3"},
    ]


def test_interface_object_field_inside_an_implementor_fragment(media: GatewayRun) -> None:
    response = media.query(
        '{ mediaItem(id: "2") { title ... on Movie { minutes averageRating } ... on Book { pages } } }'
    )
    assert response.json == {"data": {"mediaItem": {"title": "Alien", "minutes": 117, "averageRating": 5.0}}}
    [fetch] = media.requests("reviews")
    assert fetch.representations == [{"__typename": "Media", "id": "2"}]


def test_interface_object_field_in_a_fragment_of_the_other_implementor(media: GatewayRun) -> None:
    """averageRating only asked on Book: the Movie must not get it."""
    response = media.query("{ media { id ... on Book { averageRating } } }")
    assert response.json == {
        "data": {"media": [{"id": "1", "averageRating": 4.5}, {"id": "2"}, {"id": "3", "averageRating": 2.0}]}
    }
    [fetch] = media.requests("reviews")
    assert fetch.representations == [{"__typename": "Media", "id": "1"}, {"__typename": "Media", "id": "3"}]
