"""Client aliases that take the response key of a field the planner needs (a key or a requirement):
the planner's copy is read under a key of its own (`_t_<name>`) and sent under the field's name."""

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


def test_alias_named_like_the_key() -> None:
    """`id: email` holds the email; the key is read as `_t_id` and sent as `id`."""
    query = "{ me { id: email reviews { rating } } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "accounts") {
              {
                me {
                  id: email
                  __typename
                  _t_id: id
                }
              }
            },
            Flatten(path: "me") {
              Fetch(service: "reviews") {
                {
                  ... on User {
                    __typename
                    _t_id: id
                  }
                } =>
                {
                  ... on User {
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


def test_alias_named_like_the_key_without_a_jump() -> None:
    """No jump, nothing to add: the alias reaches the subgraph untouched."""
    query = '{ me { id: email name } user(id: "2") { id username } }'
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Fetch(service: "accounts") {
            {
              me {
                id: email
                name
              }
              user(id: "2") {
                id
                username
              }
            }
          }
        }
        """
    )


def test_aliases_on_both_sides_of_a_jump() -> None:
    query = "{ me { id: name reviews { id: rating } } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "accounts") {
              {
                me {
                  id: name
                  __typename
                  _t_id: id
                }
              }
            },
            Flatten(path: "me") {
              Fetch(service: "reviews") {
                {
                  ... on User {
                    __typename
                    _t_id: id
                  }
                } =>
                {
                  ... on User {
                    reviews {
                      id: rating
                    }
                  }
                }
              }
            },
          }
        }
        """
    )


def test_alias_named_like_the_key_inside_an_entity_fetch() -> None:
    """The collision happens in the reviews fetch, which must hand products the real upc."""
    query = "{ me { reviews { product { upc: averageRating name } } } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "accounts") {
              {
                me {
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
                      product {
                        upc: averageRating
                        __typename
                        _t_upc: upc
                      }
                    }
                  }
                }
              }
            },
            Flatten(path: "me.reviews.@.product") {
              Fetch(service: "products") {
                {
                  ... on Product {
                    __typename
                    _t_upc: upc
                  }
                } =>
                {
                  ... on Product {
                    name
                  }
                }
              }
            },
          }
        }
        """
    )


def test_aliases_named_like_key_and_required_fields() -> None:
    query = "{ topProducts { upc: name price: weight valueScore } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                topProducts {
                  upc: name
                  price: weight
                  __typename
                  _t_upc: upc
                  _t_price: price
                }
              }
            },
            Flatten(path: "topProducts.@") {
              Fetch(service: "reviews") {
                {
                  ... on Product {
                    __typename
                    _t_upc: upc
                    _t_price: price
                  }
                } =>
                {
                  ... on Product {
                    valueScore
                  }
                }
              }
            },
          }
        }
        """
    )


def test_aliases_named_like_the_parts_of_a_nested_key() -> None:
    query = "{ products { variants { product: color code: price } } }"
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "catalog") {
              {
                products {
                  variants {
                    product: color
                    __typename
                    _t_product: product {
                      id
                    }
                    _t_code: code
                  }
                }
              }
            },
            Flatten(path: "products.@.variants.@") {
              Fetch(service: "pricing") {
                {
                  ... on Variant {
                    __typename
                    _t_product: product {
                      id
                    }
                    _t_code: code
                  }
                } =>
                {
                  ... on Variant {
                    code: price
                  }
                }
              }
            },
          }
        }
        """
    )
