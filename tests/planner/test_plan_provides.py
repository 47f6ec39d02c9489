"""`@provides`: reviews returns `username` of review and question authors itself (`author: User!
@provides(fields: "username")`), so no accounts fetch is needed for it."""

from __future__ import annotations

import functools
import textwrap
from typing import Any

from graphql import parse

from support.fixtures import load_supergraph
from turnout.planner.display import print_plan
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


def test_provided_field_needs_no_jump() -> None:
    query = '{ review(id: "1") { author { username } } }'
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Fetch(service: "reviews") {
            {
              review(id: "1") {
                author {
                  username
                }
              }
            }
          }
        }
        """
    )


def test_provided_field_with_one_that_is_not() -> None:
    query = '{ review(id: "1") { author { username name } } }'
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "reviews") {
              {
                review(id: "1") {
                  author {
                    username
                    __typename
                    id
                  }
                }
              }
            },
            Flatten(path: "review.author") {
              Fetch(service: "accounts") {
                {
                  ... on User {
                    __typename
                    id
                  }
                } =>
                {
                  ... on User {
                    name
                  }
                }
              }
            },
          }
        }
        """
    )


def test_provides_on_every_implementation() -> None:
    query = "{ latestFeedback { author { username } } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Fetch(service: "reviews") {
            {
              latestFeedback {
                __typename
                ... on Question {
                  author {
                    username
                  }
                }
                ... on Review {
                  author {
                    username
                  }
                }
              }
            }
          }
        }
        """
    )


def test_provides_after_an_entity_jump() -> None:
    """me comes from accounts; its reviews' authors come from reviews with username provided."""
    query = "{ me { username reviews { author { username } } } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "accounts") {
              {
                me {
                  username
                  __typename
                  id
                }
              }
            },
            Flatten(path: "me") {
              Fetch(service: "reviews") {
                {
                  ... on User {
                    __typename
                    id
                  }
                } =>
                {
                  ... on User {
                    reviews {
                      author {
                        username
                      }
                    }
                  }
                }
              }
            },
          }
        }
        """
    )


def test_external_field_without_provides_needs_a_jump() -> None:
    """Product.price is external in reviews and not provided on Review.product."""
    query = '{ review(id: "1") { product { price } } }'
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "reviews") {
              {
                review(id: "1") {
                  product {
                    __typename
                    upc
                  }
                }
              }
            },
            Flatten(path: "review.product") {
              Fetch(service: "products") {
                {
                  ... on Product {
                    __typename
                    upc
                  }
                } =>
                {
                  ... on Product {
                    price
                  }
                }
              }
            },
          }
        }
        """
    )
