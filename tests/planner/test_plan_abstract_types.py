"""Interfaces and unions: each subgraph is asked only for the object types it can return there.

`wholesale`: `SearchHit` is `Product | Category` in products and `Supplier | Product | Warehouse` in
suppliers; `Node` is implemented by Product in products and by Supplier (and the inaccessible
Warehouse) in suppliers."""

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


def test_union_narrowed_to_the_members_of_the_subgraph() -> None:
    """products cannot return a Supplier: no `... on Supplier` in its fetch."""
    query = """
        {
          search(text: "x") {
            ... on Product { name supplierSku }
            ... on Supplier { name }
            ... on Category { title }
          }
        }
    """
    assert plan("wholesale", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                search(text: "x") {
                  __typename
                  ... on Product {
                    name
                    __typename
                    id
                  }
                  ... on Category {
                    title
                  }
                }
              }
            },
            Flatten(path: "search.@") {
              Fetch(service: "suppliers") {
                {
                  ... on Product {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Product {
                    supplierSku
                  }
                }
              }
            },
          }
        }
        """
    )


def test_union_narrowed_in_the_other_subgraph() -> None:
    query = """
        {
          searchSuppliers(text: "x") {
            __typename
            ... on Product { name }
            ... on Supplier { name }
            ... on Category { title }
          }
        }
    """
    assert plan("wholesale", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "suppliers") {
              {
                searchSuppliers(text: "x") {
                  __typename
                  ... on Product {
                    __typename
                    id
                  }
                  ... on Supplier {
                    __typename
                    name
                  }
                }
              }
            },
            Flatten(path: "searchSuppliers.@") {
              Fetch(service: "products") {
                {
                  ... on Product {
                    __typename
                    id
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


def test_interface_narrowed_to_the_implementations_of_the_subgraph() -> None:
    query = "{ nodes { id ... on Supplier { name } ... on Product { status } } }"
    assert plan("wholesale", query) == expect(
        """
        QueryPlan {
          Fetch(service: "products") {
            {
              nodes {
                __typename
                ... on Product {
                  id
                  status
                }
              }
            }
          }
        }
        """
    )


def test_interface_fragment_on_a_type_the_subgraph_does_not_implement() -> None:
    """Product does not implement Node in suppliers: no `... on Product` there."""
    query = "{ supplierNodes { ... on Supplier { name } ... on Product { name } } }"
    assert plan("wholesale", query) == expect(
        """
        QueryPlan {
          Fetch(service: "suppliers") {
            {
              supplierNodes {
                __typename
                ... on Supplier {
                  name
                }
              }
            }
          }
        }
        """
    )


def test_interface_with_jumps_below_it() -> None:
    query = "{ latestFeedback { body author { name } ... on Review { rating product { name } } } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "reviews") {
              {
                latestFeedback {
                  __typename
                  ... on Question {
                    body
                    author {
                      __typename
                      id
                    }
                  }
                  ... on Review {
                    body
                    author {
                      __typename
                      id
                    }
                    rating
                    product {
                      __typename
                      upc
                    }
                  }
                }
              }
            },
            Parallel {
              Flatten(path: "latestFeedback.@.author") {
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
              Flatten(path: "latestFeedback.@.product") {
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
            },
          }
        }
        """
    )


def test_join_v02_union_without_union_member_marks() -> None:
    query = '{ search(text: "x") { ... on Book { title copies } ... on Author { name } } }'
    assert plan("bookstore-join02", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "books") {
              {
                search(text: "x") {
                  __typename
                  ... on Book {
                    title
                    __typename
                    isbn
                  }
                  ... on Author {
                    __typename
                    id
                  }
                }
              }
            },
            Flatten(path: "search.@") {
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
