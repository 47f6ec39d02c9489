"""`@skip` and `@include` travel with the fields and fragments they are on into every subgraph fetch that
carries those selections (and the fetches declare the variables they use)."""

from __future__ import annotations

import functools
import textwrap
from typing import Any

from graphql import parse

from support.fixtures import load_supergraph
from turnout.planner.display import print_plan
from turnout.planner.plan_nodes import Condition, Fetch, Flatten, PlanNode
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


def test_conditions_on_fields_in_root_and_entity_fetches() -> None:
    query = """
        query ($withReviews: Boolean!, $noName: Boolean!) {
          me { name @skip(if: $noName) reviews @include(if: $withReviews) { rating } }
        }
    """
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "accounts") {
              {
                me {
                  name @skip(if: $noName)
                  __typename
                  id
                }
              }
            },
            Condition(if: $withReviews) {
              Then {
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
                        reviews @include(if: $withReviews) {
                          rating
                        }
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


def test_condition_on_an_inline_fragment_covers_its_key() -> None:
    """The key fields the jump needs sit inside the conditional fragment too."""
    query = """
        query ($r: Boolean!) {
          me { ... on User @include(if: $r) { username reviews { rating } } }
          topProducts @skip(if: $r) { name }
        }
    """
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Parallel {
              Fetch(service: "accounts") {
                {
                  me {
                    ... @include(if: $r) {
                      username
                      __typename
                      id
                    }
                  }
                }
              },
              Condition(if: $r) {
                Else {
                  Fetch(service: "products") {
                    {
                      topProducts @skip(if: $r) {
                        name
                      }
                    }
                  }
                }
              },
            },
            Condition(if: $r) {
              Then {
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
                        ... @include(if: $r) {
                          reviews {
                            rating
                          }
                        }
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


def test_condition_on_a_fragment_spread() -> None:
    query = """
        query ($x: Boolean!) { me { ...Reviews @include(if: $x) } }
        fragment Reviews on User { reviews { rating } }
    """
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "accounts") {
              {
                me {
                  ... @include(if: $x) {
                    __typename
                    id
                  }
                }
              }
            },
            Condition(if: $x) {
              Then {
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
                        ... @include(if: $x) {
                          reviews {
                            rating
                          }
                        }
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


def test_condition_on_a_root_field_with_a_jump_below() -> None:
    query = "query ($on: Boolean!) { me { name } topProducts @include(if: $on) { name reviews { rating } } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Parallel {
              Fetch(service: "accounts") {
                {
                  me {
                    name
                  }
                }
              },
              Condition(if: $on) {
                Then {
                  Fetch(service: "products") {
                    {
                      topProducts @include(if: $on) {
                        name
                        __typename
                        upc
                      }
                    }
                  }
                }
              },
            },
            Flatten(path: "topProducts.@") {
              Fetch(service: "reviews") {
                {
                  ... on Product {
                    __typename
                    upc
                  }
                } =>
                {
                  ... on Product {
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


def test_conditional_fragments_on_the_same_entity() -> None:
    """Two conditions, one entity fetch: each condition wraps its own part."""
    query = """
        query ($a: Boolean!, $b: Boolean!) {
          me {
            ... @include(if: $a) { reviews { rating } }
            ... @skip(if: $b) { feedbackCount name }
          }
        }
    """
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "accounts") {
              {
                me {
                  ... @include(if: $a) {
                    __typename
                    id
                  }
                  ... @skip(if: $b) {
                    __typename
                    id
                    name
                  }
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
                    ... @include(if: $a) {
                      reviews {
                        rating
                      }
                    }
                    ... @skip(if: $b) {
                      feedbackCount
                    }
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
    if isinstance(node, Condition):
        return operations(node.if_clause) + operations(node.else_clause)
    return [op for child in node.nodes for op in operations(child)]


def test_fetches_declare_the_condition_variables_they_use() -> None:
    query = """
        query Q($withReviews: Boolean!, $noName: Boolean!) {
          me @skip(if: $noName) { name reviews @include(if: $withReviews) { rating } }
        }
    """
    assert operations(planner("shop").plan(parse(query)).node) == [
        "query Q__accounts__0($noName: Boolean!) {me @skip(if: $noName) {name __typename id}}",
        "query Q__reviews__1($representations: [_Any!]!, $withReviews: Boolean!) "
        "{_entities(representations: $representations) {... on User {reviews @include(if: $withReviews) {rating}}}}",
    ]
