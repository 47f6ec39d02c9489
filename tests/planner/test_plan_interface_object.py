"""`@interfaceObject`: reviews knows `Media` as one object type with a key; media knows Book and Movie.
Representations sent to reviews say `__typename: "Media"`; the concrete type (for `__typename` and
type conditions) comes from media."""

from __future__ import annotations

import functools
import textwrap
from typing import Any

from graphql import parse

from support.fixtures import load_supergraph
from turnout.planner.display import print_plan
from turnout.planner.plan_nodes import Flatten, Sequence
from turnout.planner.query_planner import QueryPlanner
from turnout.planner.routing import Routing
from turnout.supergraph.join_spec import read_supergraph


@functools.cache
def planner(name: str) -> QueryPlanner:
    return QueryPlanner(read_supergraph(load_supergraph(name)))


def plan(name: str, query: str, **routing: Any) -> str:
    """The printed plan of `query` over fixture `name`; `routing` holds Routing's fields."""
    return print_plan(planner(name).plan(parse(query), routing=Routing(**routing)))


def expect(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def test_interface_object_root_then_interface_fields() -> None:
    query = "{ topRated { title averageRating } }"
    assert plan("media", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "reviews") {
              {
                topRated {
                  __typename
                  id
                  averageRating
                }
              }
            },
            Flatten(path: "topRated.@") {
              Fetch(service: "media") {
                {
                  ... on Media {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Media {
                    title
                  }
                }
              }
            },
          }
        }
        """
    )


def test_interface_object_fields_alone_need_one_fetch() -> None:
    query = "{ topRated(first: 2) { id averageRating reviews { body } } }"
    assert plan("media", query) == expect(
        """
        QueryPlan {
          Fetch(service: "reviews") {
            {
              topRated(first: 2) {
                id
                averageRating
                reviews {
                  body
                }
              }
            }
          }
        }
        """
    )


def test_concrete_type_and_type_conditions_come_from_the_interface() -> None:
    """reviews answers `__typename: "Media"`: media resolves the real type, then the fragment's fields from the
    entities of that type (an interface's reference resolver need only tell the type)."""
    query = "{ topRated { __typename ... on Book { author } } }"
    assert plan("media", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "reviews") {
              {
                topRated {
                  __typename
                  id
                }
              }
            },
            Flatten(path: "topRated.@") {
              Fetch(service: "media") {
                {
                  ... on Media {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Media {
                    __typename
                    ... on Book {
                      __typename
                      id
                    }
                  }
                }
              }
            },
            Flatten(path: "topRated.@") {
              Fetch(service: "media") {
                {
                  ... on Book {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Book {
                    author
                  }
                }
              }
            },
          }
        }
        """
    )


def test_interface_object_field_under_a_type_condition() -> None:
    """averageRating only for books: media tells which objects are books, then reviews answers for them."""
    query = "{ topRated { ... on Book { title averageRating } } }"
    assert plan("media", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "reviews") {
              {
                topRated {
                  __typename
                  id
                }
              }
            },
            Flatten(path: "topRated.@") {
              Fetch(service: "media") {
                {
                  ... on Media {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Media {
                    __typename
                    ... on Book {
                      __typename
                      id
                    }
                  }
                }
              }
            },
            Flatten(path: "topRated.@") {
              Fetch(service: "media") {
                {
                  ... on Book {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Book {
                    title
                    __typename
                    id
                  }
                }
              }
            },
            Flatten(path: "topRated.@") {
              Fetch(service: "reviews") {
                {
                  ... on Book {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Media {
                    averageRating
                  }
                }
              }
            },
          }
        }
        """
    )


def test_interface_fields_from_the_interface_object() -> None:
    query = "{ media { title averageRating reviews { rating } } }"
    assert plan("media", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "media") {
              {
                media {
                  __typename
                  ... on Book {
                    title
                    __typename
                    id
                  }
                  ... on Movie {
                    title
                    __typename
                    id
                  }
                }
              }
            },
            Flatten(path: "media.@") {
              Fetch(service: "reviews") {
                {
                  ... on Book {
                    __typename
                    id
                  }
                  ... on Movie {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Media {
                    averageRating
                    reviews {
                      rating
                    }
                  }
                }
              }
            },
          }
        }
        """
    )


def test_fragment_and_interface_object_field() -> None:
    query = '{ mediaItem(id: "1") { ... on Movie { director } averageRating } }'
    assert plan("media", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "media") {
              {
                mediaItem(id: "1") {
                  __typename
                  ... on Book {
                    __typename
                    id
                  }
                  ... on Movie {
                    director
                    __typename
                    id
                  }
                }
              }
            },
            Flatten(path: "mediaItem") {
              Fetch(service: "reviews") {
                {
                  ... on Book {
                    __typename
                    id
                  }
                  ... on Movie {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Media {
                    averageRating
                  }
                }
              }
            },
          }
        }
        """
    )


def test_representations_sent_to_the_interface_object_say_media() -> None:
    result = planner("media").plan(parse("{ media { averageRating } }"))
    assert isinstance(result.node, Sequence)
    flatten = result.node.nodes[1]
    assert isinstance(flatten, Flatten)
    assert flatten.node.service == "reviews"
    assert flatten.node.requires is not None
    assert [(rep.type_condition, rep.typename) for rep in flatten.node.requires] == [
        ("Book", "Media"),
        ("Movie", "Media"),
    ]
