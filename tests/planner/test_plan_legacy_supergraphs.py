"""Plans over older supergraphs: Federation 1 (`fed1-shop`, join v0.1) and join v0.2 (`bookstore-join02`),
and join v0.5's `@fromContext` arguments (`wallets`)."""

from __future__ import annotations

import functools
import re
import textwrap
from typing import Any

from graphql import parse

from support.fixtures import load_supergraph
from turnout.planner.display import print_plan
from turnout.planner.plan_nodes import Fetch, Flatten, PlanNode
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


FED1_KEY_FIELDS = (
    "planner bug (reader): join v0.1 key fields are given to the owning subgraph only, so an entity jump can "
    "never leave a subgraph that extends the type; PlanningError 'No subgraph can resolve Query.<field>'"
)


def test_fed1_jump_from_the_owner() -> None:
    query = "{ me { name reviews { body } } }"
    assert plan("fed1-shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "accounts") {
              {
                me {
                  name
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
                      body
                    }
                  }
                }
              }
            },
          }
        }
        """
    )


def test_fed1_requires() -> None:
    query = "{ topProducts { name shippingEstimate } }"
    assert plan("fed1-shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                topProducts {
                  name
                  __typename
                  upc
                  price
                  weight
                }
              }
            },
            Flatten(path: "topProducts.@") {
              Fetch(service: "reviews") {
                {
                  ... on Product {
                    __typename
                    upc
                    price
                    weight
                  }
                } =>
                {
                  ... on Product {
                    shippingEstimate
                  }
                }
              }
            },
          }
        }
        """
    )


def test_fed1_provides() -> None:
    query = "{ latestReviews { body author { username } } }"
    assert plan("fed1-shop", query) == expect(
        """
        QueryPlan {
          Fetch(service: "reviews") {
            {
              latestReviews {
                body
                author {
                  username
                }
              }
            }
          }
        }
        """
    )


def test_fed1_key_field_of_an_extension() -> None:
    """reviews extends User with `id: ID! @external` as its key: it can return the id itself."""
    query = "{ latestReviews { author { id } } }"
    assert plan("fed1-shop", query) == expect(
        """
        QueryPlan {
          Fetch(service: "reviews") {
            {
              latestReviews {
                author {
                  id
                }
              }
            }
          }
        }
        """
    )


def test_fed1_jump_from_an_extension() -> None:
    """Apollo's plan for this query, in turnout's shape: reviews hands out the keys it extends."""
    query = "{ latestReviews { body author { username name } product { name shippingEstimate } } }"
    assert plan("fed1-shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "reviews") {
              {
                latestReviews {
                  body
                  author {
                    username
                    __typename
                    id
                  }
                  product {
                    __typename
                    upc
                  }
                }
              }
            },
            Parallel {
              Flatten(path: "latestReviews.@.author") {
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
              Flatten(path: "latestReviews.@.product") {
                Fetch(service: "products") {
                  {
                    ... on Product {
                      __typename
                      upc
                    }
                  } =>
                  {
                    ... on Product {
                      name
                      price
                      weight
                    }
                  }
                }
              },
            },
            Flatten(path: "latestReviews.@.product") {
              Fetch(service: "reviews") {
                {
                  ... on Product {
                    __typename
                    upc
                    price
                    weight
                  }
                } =>
                {
                  ... on Product {
                    shippingEstimate
                  }
                }
              }
            },
          }
        }
        """
    )


def test_fed1_two_jumps_through_an_extension() -> None:
    query = "{ me { reviews { product { name } } } }"
    assert plan("fed1-shop", query) == expect(
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
                        __typename
                        upc
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
                    upc
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


def test_join_v02_unresolvable_key_leads_out() -> None:
    query = "{ books { title copies author { name } } }"
    assert plan("bookstore-join02", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "books") {
              {
                books {
                  title
                  __typename
                  isbn
                  author {
                    __typename
                    id
                  }
                }
              }
            },
            Flatten(paths: ["books.@", "books.@.author"]) {
              Fetch(service: "stock") {
                {
                  ... on Book {
                    __typename
                    isbn
                  }
                  ... on Author {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Book {
                    copies
                  }
                  ... on Author {
                    name
                  }
                }
              }
            },
          }
        }
        """
    )


def test_join_v02_jump_back() -> None:
    query = "{ authors { name books { title copies } } }"
    assert plan("bookstore-join02", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "stock") {
              {
                authors {
                  name
                  books {
                    __typename
                    isbn
                    copies
                  }
                }
              }
            },
            Flatten(path: "authors.@.books.@") {
              Fetch(service: "books") {
                {
                  ... on Book {
                    __typename
                    isbn
                  }
                } =>
                {
                  ... on Book {
                    title
                  }
                }
              }
            },
          }
        }
        """
    )


def operations(node: PlanNode | None) -> list[str]:
    if node is None:
        return []
    if isinstance(node, Fetch):
        return [node.operation]
    if isinstance(node, Flatten):
        return operations(node.node)
    return [op for child in node.nodes for op in operations(child)]  # type: ignore[union-attr]


def test_context_argument_is_passed_to_the_subgraph() -> None:
    """`Wallet.balance(currency: @fromContext(field: "$account { currency }"))`: the gateway must read the
    enclosing account's currency and pass it as the argument (Apollo: `balance(currency: $contextualArgument_1_0)`
    in an `_entities` fetch after fetching `account { currency }`)."""
    query = '{ account(id: "1") { wallets { balance entries } } }'
    ops = operations(planner("wallets").plan(parse(query)).node)
    balance = [op for op in ops if "balance" in op]
    assert balance
    assert all(re.search(r"balance\(currency: \$\w+", op) for op in balance)
    assert any(re.search(r"account\(id: \"1\"\) \{.*\bcurrency\b", op, re.DOTALL) for op in ops)
