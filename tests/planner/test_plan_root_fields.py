"""Root fields: one fetch per subgraph, every root field of that subgraph in it, the fetches in parallel."""

from __future__ import annotations

import functools
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


def test_root_fields_grouped_per_subgraph() -> None:
    """Five root fields over three subgraphs: three fetches, in the order the subgraphs first appear."""
    query = """
        {
          me { name }
          topProducts { name }
          latestFeedback { body }
          users { username }
          product(upc: "1") { price }
        }
    """
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Parallel {
            Fetch(service: "accounts") {
              {
                me {
                  name
                }
                users {
                  username
                }
              }
            },
            Fetch(service: "products") {
              {
                topProducts {
                  name
                }
                product(upc: "1") {
                  price
                }
              }
            },
            Fetch(service: "reviews") {
              {
                latestFeedback {
                  __typename
                  ... on Question {
                    body
                  }
                  ... on Review {
                    body
                  }
                }
              }
            },
          }
        }
        """
    )


def test_root_fields_of_one_subgraph_make_one_fetch() -> None:
    query = '{ me { name } users(first: 2) { id } user(id: "2") { email } }'
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Fetch(service: "accounts") {
            {
              me {
                name
              }
              users(first: 2) {
                id
              }
              user(id: "2") {
                email
              }
            }
          }
        }
        """
    )


def test_same_root_field_twice_under_aliases() -> None:
    query = '{ first: user(id: "1") { name } second: user(id: "2") { name email } }'
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Fetch(service: "accounts") {
            {
              first: user(id: "1") {
                name
              }
              second: user(id: "2") {
                name
                email
              }
            }
          }
        }
        """
    )


def test_root_fragments_are_inlined() -> None:
    """Named fragments and inline fragments on Query spread their fields into the subgraph fetches."""
    query = """
        query Home {
          ...Viewer
          ... on Query { topProducts { upc } }
        }

        fragment Viewer on Query {
          me { name }
        }
    """
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Parallel {
            Fetch(service: "accounts") {
              {
                me {
                  name
                }
              }
            },
            Fetch(service: "products") {
              {
                topProducts {
                  upc
                }
              }
            },
          }
        }
        """
    )


def test_root_typename_needs_no_fetch() -> None:
    query = "{ __typename me { name } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Fetch(service: "accounts") {
            {
              me {
                name
              }
            }
          }
        }
        """
    )


def test_typename_alone_makes_an_empty_plan() -> None:
    query = "{ __typename }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
        }
        """
    )


def fetch_operations(node: PlanNode | None) -> list[str]:
    """The subgraph operations of a plan, in plan order."""
    if node is None:
        return []
    if isinstance(node, Fetch):
        return [node.operation]
    if isinstance(node, Flatten):
        return fetch_operations(node.node)
    return [op for child in node.nodes for op in fetch_operations(child)]  # type: ignore[union-attr]


def test_variables_go_to_the_subgraphs_that_use_them() -> None:
    query = """
        query Home($first: Int, $upc: String!) {
          users(first: $first) { id }
          product(upc: $upc) { name reviews { rating } }
        }
    """
    assert fetch_operations(planner("shop").plan(parse(query)).node) == [
        "query Home__accounts__0($first: Int) {users(first: $first) {id}}",
        "query Home__products__1($upc: String!) {product(upc: $upc) {name __typename upc}}",
        "query Home__reviews__2($representations: [_Any!]!) "
        "{_entities(representations: $representations) {... on Product {reviews {rating}}}}",
    ]


def test_operation_kind_and_root_type() -> None:
    result = planner("shop").plan(parse("query Q { me { name } }"))
    assert (result.operation_kind, result.root_type, result.has_introspection) == ("query", "Query", False)
    introspection = planner("shop").plan(parse("{ __schema { queryType { name } } me { name } }"))
    assert introspection.has_introspection
