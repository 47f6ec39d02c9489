"""`@override`: `migration` moves `Customer.email` to customers outright and `Customer.tier` behind the
label `percent(25)`: customers serves tier only for requests whose Routing has the label active."""

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


def test_static_override() -> None:
    query = '{ customer(id: "1") { name email } }'
    assert plan("migration", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "monolith") {
              {
                customer(id: "1") {
                  name
                  __typename
                  id
                }
              }
            },
            Flatten(path: "customer") {
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


def test_percent_label_off_keeps_the_field_in_the_monolith() -> None:
    query = "{ customers { name tier } }"
    assert plan("migration", query) == expect(
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


def test_percent_label_on_moves_the_field() -> None:
    query = "{ customers { name tier } }"
    assert plan("migration", query, active_labels=frozenset({"percent(25)"})) == expect(
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


def test_overridden_fields_share_one_fetch_when_the_label_is_on() -> None:
    query = '{ customer(id: "1") { name email tier loyaltyPoints } }'
    assert plan("migration", query, active_labels=frozenset({"percent(25)"})) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "monolith") {
              {
                customer(id: "1") {
                  name
                  __typename
                  id
                }
              }
            },
            Flatten(path: "customer") {
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
                    tier
                    loyaltyPoints
                  }
                }
              }
            },
          }
        }
        """
    )


def test_overridden_fields_split_when_the_label_is_off() -> None:
    query = '{ customer(id: "1") { name email tier loyaltyPoints } }'
    assert plan("migration", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "monolith") {
              {
                customer(id: "1") {
                  name
                  __typename
                  id
                  tier
                }
              }
            },
            Flatten(path: "customer") {
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
                    loyaltyPoints
                  }
                }
              }
            },
          }
        }
        """
    )


def test_other_labels_do_not_count() -> None:
    query = "{ customers { tier } }"
    assert plan("migration", query, active_labels=frozenset({"percent(50)", "tier"})) == expect(
        """
        QueryPlan {
          Fetch(service: "monolith") {
            {
              customers {
                tier
              }
            }
          }
        }
        """
    )


def test_override_below_a_mutation() -> None:
    query = 'mutation { placeOrder(customerId: "1", sku: "x") { total customer { tier } } }'
    assert plan("migration", query, active_labels=frozenset({"percent(25)"})) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "monolith") {
              {
                placeOrder(customerId: "1", sku: "x") {
                  total
                  customer {
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
                    tier
                  }
                }
              }
            },
          }
        }
        """
    )


def test_join_v02_override() -> None:
    """join v0.2: Book.copies moved from books to stock."""
    query = "{ books { title copies } }"
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
                }
              }
            },
            Flatten(path: "books.@") {
              Fetch(service: "stock") {
                {
                  ... on Book {
                    __typename
                    isbn
                  }
                } =>
                {
                  ... on Book {
                    copies
                  }
                }
              }
            },
          }
        }
        """
    )
