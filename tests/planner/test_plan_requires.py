"""`@requires`: the required fields are fetched where they live, then sent in the representation.

`taxes`: shipping's `shippingCost` requires `weight(unit: KILOGRAM) dimensions { width height depth }`,
`usTax` requires `price(currency: "USD")`, `euTax` `price(currency: "EUR")`, `freeShipping` plain `price`.
Required fields with arguments are read under an alias of their own (`_t_<name>_<hash of the arguments>`),
so they never clash with the client's fields or with each other."""

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


def test_requires_fetches_the_field_first() -> None:
    query = "{ topProducts { name valueScore } }"
    assert plan("shop", query) == expect(
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


def test_requires_with_arguments_and_a_nested_selection() -> None:
    query = "{ products { name shippingCost } }"
    assert plan("taxes", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                products {
                  name
                  __typename
                  id
                  _t_weight_522b67: weight(unit: KILOGRAM)
                  dimensions {
                    width
                    height
                    depth
                  }
                }
              }
            },
            Flatten(path: "products.@") {
              Fetch(service: "shipping") {
                {
                  ... on Product {
                    __typename
                    id
                    _t_weight_522b67: weight
                    dimensions {
                      width
                      height
                      depth
                    }
                  }
                } =>
                {
                  ... on Product {
                    shippingCost
                  }
                }
              }
            },
          }
        }
        """
    )


def test_requires_with_conflicting_arguments_get_separate_fetches() -> None:
    """One representation cannot carry price in dollars and in euros: two shipping fetches, each reading
    its own alias. (Apollo's planner sends one fetch with one price for both, a known limitation.)
    """
    query = "{ products { usTax euTax } }"
    assert plan("taxes", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                products {
                  __typename
                  id
                  _t_price_0d3527: price(currency: "USD")
                  _t_price_23aa57: price(currency: "EUR")
                }
              }
            },
            Parallel {
              Flatten(path: "products.@") {
                Fetch(service: "shipping") {
                  {
                    ... on Product {
                      __typename
                      id
                      _t_price_0d3527: price
                    }
                  } =>
                  {
                    ... on Product {
                      usTax
                    }
                  }
                }
              },
              Flatten(path: "products.@") {
                Fetch(service: "shipping") {
                  {
                    ... on Product {
                      __typename
                      id
                      _t_price_23aa57: price
                    }
                  } =>
                  {
                    ... on Product {
                      euTax
                    }
                  }
                }
              },
            },
          }
        }
        """
    )


def test_conflicting_requirements_after_an_entity_jump() -> None:
    """reviews -> products for both prices (aliased apart) -> two shipping fetches in parallel."""
    query = "{ mostReviewed { usTax euTax } }"
    assert plan("taxes", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "reviews") {
              {
                mostReviewed {
                  __typename
                  id
                }
              }
            },
            Flatten(path: "mostReviewed.@") {
              Fetch(service: "products") {
                {
                  ... on Product {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Product {
                    _t_price_0d3527: price(currency: "USD")
                    _t_price_23aa57: price(currency: "EUR")
                  }
                }
              }
            },
            Parallel {
              Flatten(path: "mostReviewed.@") {
                Fetch(service: "shipping") {
                  {
                    ... on Product {
                      __typename
                      id
                      _t_price_0d3527: price
                    }
                  } =>
                  {
                    ... on Product {
                      usTax
                    }
                  }
                }
              },
              Flatten(path: "mostReviewed.@") {
                Fetch(service: "shipping") {
                  {
                    ... on Product {
                      __typename
                      id
                      _t_price_23aa57: price
                    }
                  } =>
                  {
                    ... on Product {
                      euTax
                    }
                  }
                }
              },
            },
          }
        }
        """
    )


def test_three_prices_three_fetches() -> None:
    """The client's euro price serves euTax as it is; usTax and freeShipping (default currency) read
    their own aliases; each tax needs its own representation.
    """
    query = '{ products { price(currency: "EUR") usTax euTax freeShipping } }'
    assert plan("taxes", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                products {
                  price(currency: "EUR")
                  __typename
                  id
                  _t_price_0d3527: price(currency: "USD")
                  _t_price: price
                }
              }
            },
            Parallel {
              Flatten(path: "products.@") {
                Fetch(service: "shipping") {
                  {
                    ... on Product {
                      __typename
                      id
                      _t_price_0d3527: price
                    }
                  } =>
                  {
                    ... on Product {
                      usTax
                    }
                  }
                }
              },
              Flatten(path: "products.@") {
                Fetch(service: "shipping") {
                  {
                    ... on Product {
                      __typename
                      id
                      price
                    }
                  } =>
                  {
                    ... on Product {
                      euTax
                    }
                  }
                }
              },
              Flatten(path: "products.@") {
                Fetch(service: "shipping") {
                  {
                    ... on Product {
                      __typename
                      id
                      _t_price: price
                    }
                  } =>
                  {
                    ... on Product {
                      freeShipping
                    }
                  }
                }
              },
            },
          }
        }
        """
    )


def test_requirement_reuses_the_clients_identical_field() -> None:
    query = '{ products { price(currency: "USD") usTax } }'
    assert plan("taxes", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                products {
                  price(currency: "USD")
                  __typename
                  id
                }
              }
            },
            Flatten(path: "products.@") {
              Fetch(service: "shipping") {
                {
                  ... on Product {
                    __typename
                    id
                    price
                  }
                } =>
                {
                  ... on Product {
                    usTax
                  }
                }
              }
            },
          }
        }
        """
    )


def test_requirement_aliased_apart_from_the_clients_field_with_other_arguments() -> None:
    query = '{ products { price(currency: "EUR") freeShipping } }'
    assert plan("taxes", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                products {
                  price(currency: "EUR")
                  __typename
                  id
                  _t_price: price
                }
              }
            },
            Flatten(path: "products.@") {
              Fetch(service: "shipping") {
                {
                  ... on Product {
                    __typename
                    id
                    _t_price: price
                  }
                } =>
                {
                  ... on Product {
                    freeShipping
                  }
                }
              }
            },
          }
        }
        """
    )


def test_requirement_aliased_apart_from_a_client_alias() -> None:
    """The client calls `name` `price`; the required price gets its own response key."""
    query = "{ products { price: name usTax } }"
    assert plan("taxes", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                products {
                  price: name
                  __typename
                  id
                  _t_price_0d3527: price(currency: "USD")
                }
              }
            },
            Flatten(path: "products.@") {
              Fetch(service: "shipping") {
                {
                  ... on Product {
                    __typename
                    id
                    _t_price_0d3527: price
                  }
                } =>
                {
                  ... on Product {
                    usTax
                  }
                }
              }
            },
          }
        }
        """
    )


def test_requirements_after_an_entity_jump() -> None:
    """reviews only knows ids: products supplies name and the requirements, then shipping."""
    query = "{ mostReviewed { reviewCount name shippingCost } }"
    assert plan("taxes", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "reviews") {
              {
                mostReviewed {
                  reviewCount
                  __typename
                  id
                }
              }
            },
            Flatten(path: "mostReviewed.@") {
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
                    _t_weight_522b67: weight(unit: KILOGRAM)
                    dimensions {
                      width
                      height
                      depth
                    }
                  }
                }
              }
            },
            Flatten(path: "mostReviewed.@") {
              Fetch(service: "shipping") {
                {
                  ... on Product {
                    __typename
                    id
                    _t_weight_522b67: weight
                    dimensions {
                      width
                      height
                      depth
                    }
                  }
                } =>
                {
                  ... on Product {
                    shippingCost
                  }
                }
              }
            },
          }
        }
        """
    )


def test_requires_below_an_interface() -> None:
    """reviews -> products (price) -> reviews again for valueScore, beside the author's name."""
    query = "{ latestFeedback { author { name } product { valueScore } } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "reviews") {
              {
                latestFeedback {
                  __typename
                  ... on Question {
                    author {
                      __typename
                      id
                    }
                    product {
                      __typename
                      upc
                    }
                  }
                  ... on Review {
                    author {
                      __typename
                      id
                    }
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
                      price
                    }
                  }
                }
              },
            },
            Flatten(path: "latestFeedback.@.product") {
              Fetch(service: "reviews") {
                {
                  ... on Product {
                    __typename
                    upc
                    price
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


def test_requiring_and_plain_fields_share_the_fetch() -> None:
    """averageRating needs nothing, but waits with valueScore: one reviews fetch, not two."""
    query = "{ topProducts { averageRating valueScore } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                topProducts {
                  __typename
                  upc
                  price
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
                  }
                } =>
                {
                  ... on Product {
                    averageRating
                    valueScore
                  }
                }
              }
            },
          }
        }
        """
    )
