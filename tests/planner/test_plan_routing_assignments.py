"""`Routing.assignments`: a coordinate forced to one subgraph (by name) for a request.

In `keychain`, `Product.name` is shareable between catalog and legacy."""

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


def test_shareable_field_from_the_subgraph_at_hand() -> None:
    query = "{ archivedProducts { name } }"
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Fetch(service: "legacy") {
            {
              archivedProducts {
                name
              }
            }
          }
        }
        """
    )


def test_assignment_forces_a_jump() -> None:
    query = "{ archivedProducts { name } }"
    assert plan("keychain", query, assignments={"Product.name": "catalog"}) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "legacy") {
              {
                archivedProducts {
                  __typename
                  id
                }
              }
            },
            Flatten(path: "archivedProducts.@") {
              Fetch(service: "catalog") {
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


def test_assignment_the_other_way() -> None:
    query = "{ products { name } }"
    assert plan("keychain", query, assignments={"Product.name": "legacy"}) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "catalog") {
              {
                products {
                  __typename
                  id
                }
              }
            },
            Flatten(path: "products.@") {
              Fetch(service: "legacy") {
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


def test_assignment_reached_through_a_key_chain() -> None:
    """From inventory, legacy is two jumps away (sku -> id through catalog)."""
    query = "{ lowStock { name } }"
    assert plan("keychain", query, assignments={"Product.name": "legacy"}) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "inventory") {
              {
                lowStock {
                  __typename
                  sku
                }
              }
            },
            Flatten(path: "lowStock.@") {
              Fetch(service: "catalog") {
                {
                  ... on Product {
                    __typename
                    sku
                  }
                } =>
                {
                  ... on Product {
                    id
                  }
                }
              }
            },
            Flatten(path: "lowStock.@") {
              Fetch(service: "legacy") {
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


def test_assignment_without_override_label() -> None:
    query = "{ customers { name tier } }"
    assert plan("migration", query, assignments={"Customer.tier": "customers"}) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "monolith") {
              {
                customers {
                  name
                  __typename
                  id
                }
              }
            },
            Flatten(path: "customers.@") {
              Fetch(service: "customers") {
                {
                  ... on Customer {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Customer {
                    tier
                  }
                }
              }
            },
          }
        }
        """
    )


def test_assignment_wins_over_an_active_label() -> None:
    query = "{ customers { name tier } }"
    routing: dict[str, Any] = {
        "assignments": {"Customer.tier": "monolith"},
        "active_labels": frozenset({"percent(25)"}),
    }
    assert plan("migration", query, **routing) == expect(
        """
        QueryPlan {
          Fetch(service: "monolith") {
            {
              customers {
                name
                tier
              }
            }
          }
        }
        """
    )


def test_assignment_to_a_subgraph_without_the_field_is_ignored() -> None:
    """The supergraph no longer lists email in the monolith (plain override): it stays in customers."""
    query = "{ customers { email } }"
    assert plan("migration", query, assignments={"Customer.email": "monolith"}) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "monolith") {
              {
                customers {
                  __typename
                  id
                }
              }
            },
            Flatten(path: "customers.@") {
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


def test_assignment_to_an_unknown_subgraph_is_ignored() -> None:
    query = "{ archivedProducts { name } }"
    assert plan("keychain", query, assignments={"Product.name": "warehouse-9"}) == expect(
        """
        QueryPlan {
          Fetch(service: "legacy") {
            {
              archivedProducts {
                name
              }
            }
          }
        }
        """
    )
