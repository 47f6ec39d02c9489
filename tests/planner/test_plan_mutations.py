"""Mutations: root fields run one after the other in the client's order; consecutive fields of one
subgraph share a fetch; each field's entity fetches finish before the next field starts.

`ordering`: accounts has `createUser` and `renameUser`, orders has `placeOrder` and `cancelOrder`."""

from __future__ import annotations

import functools
import textwrap
from typing import Any

from graphql import parse

from support.fixtures import load_supergraph
from turnout.planner.display import print_plan
from turnout.planner.plan_nodes import Fetch, Flatten, Sequence
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


def test_mutations_run_in_order_with_their_entity_fetches() -> None:
    query = """
        mutation {
          a: createUser(name: "Ada") { id orders { item } }
          placeOrder(userId: "1", item: "book") { id buyer { name } }
          b: createUser(name: "Bob") { id }
        }
    """
    assert plan("ordering", query) == expect(
        """
        QueryPlan {
          Sequence {
            Sequence {
              Fetch(service: "accounts") {
                {
                  a: createUser(name: "Ada") {
                    id
                    __typename
                  }
                }
              },
              Flatten(path: "a") {
                Fetch(service: "orders") {
                  {
                    ... on User {
                      __typename
                      id
                    }
                  } =>
                  {
                    ... on User {
                      orders {
                        item
                      }
                    }
                  }
                }
              },
            },
            Sequence {
              Fetch(service: "orders") {
                {
                  placeOrder(userId: "1", item: "book") {
                    id
                    buyer {
                      __typename
                      id
                    }
                  }
                }
              },
              Flatten(path: "placeOrder.buyer") {
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
            },
            Fetch(service: "accounts") {
              {
                b: createUser(name: "Bob") {
                  id
                }
              }
            },
          }
        }
        """
    )


def test_consecutive_mutations_of_one_subgraph_share_a_fetch() -> None:
    query = 'mutation { createUser(name: "A") { id } renameUser(id: "1", name: "B") { name } cancelOrder(id: "9") }'
    assert plan("ordering", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "accounts") {
              {
                createUser(name: "A") {
                  id
                }
                renameUser(id: "1", name: "B") {
                  name
                }
              }
            },
            Fetch(service: "orders") {
              {
                cancelOrder(id: "9")
              }
            },
          }
        }
        """
    )


def test_entity_fetch_between_mutations_of_one_subgraph() -> None:
    """createUser's orders are fetched before renameUser runs."""
    query = 'mutation { createUser(name: "A") { orders { item } } renameUser(id: "1", name: "B") { name } }'
    assert plan("ordering", query) == expect(
        """
        QueryPlan {
          Sequence {
            Sequence {
              Fetch(service: "accounts") {
                {
                  createUser(name: "A") {
                    __typename
                    id
                  }
                }
              },
              Flatten(path: "createUser") {
                Fetch(service: "orders") {
                  {
                    ... on User {
                      __typename
                      id
                    }
                  } =>
                  {
                    ... on User {
                      orders {
                        item
                      }
                    }
                  }
                }
              },
            },
            Fetch(service: "accounts") {
              {
                renameUser(id: "1", name: "B") {
                  name
                }
              }
            },
          }
        }
        """
    )


def test_same_mutation_twice() -> None:
    query = 'mutation { first: cancelOrder(id: "1") second: cancelOrder(id: "2") }'
    assert plan("ordering", query) == expect(
        """
        QueryPlan {
          Fetch(service: "orders") {
            {
              first: cancelOrder(id: "1")
              second: cancelOrder(id: "2")
            }
          }
        }
        """
    )


def test_mutation_then_entity_fetch() -> None:
    query = 'mutation { placeOrder(customerId: "1", sku: "x") { id total customer { name email } } }'
    assert plan("migration", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "monolith") {
              {
                placeOrder(customerId: "1", sku: "x") {
                  id
                  total
                  customer {
                    name
                    __typename
                    id
                  }
                }
              }
            },
            Flatten(path: "placeOrder.customer") {
              Fetch(service: "customers") {
                {
                  ... on Customer {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Customer {
                    email
                  }
                }
              }
            },
          }
        }
        """
    )


def test_mutation_fetches_are_mutations_and_entity_fetches_queries() -> None:
    query = """
        mutation Checkout {
          placeOrder(userId: "1", item: "book") { id buyer { name } }
        }
    """
    result = planner("ordering").plan(parse(query))
    assert result.operation_kind == "mutation"
    assert result.root_type == "Mutation"
    assert isinstance(result.node, Sequence)
    root, flatten = result.node.nodes
    assert isinstance(root, Fetch)
    assert isinstance(flatten, Flatten)
    assert (root.operation_kind, flatten.node.operation_kind) == ("mutation", "query")
    assert root.operation == (
        'mutation Checkout__orders__0 {placeOrder(userId: "1", item: "book") {id buyer {__typename id}}}'
    )
    assert flatten.node.operation.startswith("query Checkout__accounts__1($representations: [_Any!]!) ")
