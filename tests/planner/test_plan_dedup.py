"""One entity fetch per subgraph and response path: fields, fragments and conditions that reach the same
objects in the same subgraph share it."""

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


def test_fields_of_one_entity_share_a_fetch() -> None:
    query = "{ me { reviews { rating } feedbackCount } }"
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
                      rating
                    }
                    feedbackCount
                  }
                }
              }
            },
          }
        }
        """
    )


def test_same_path_through_fragments_on_different_types() -> None:
    """Review and Question authors are one path, `latestFeedback.@.author`: one accounts fetch."""
    query = "{ latestFeedback { ... on Review { author { name } } ... on Question { author { email } } } }"
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
                  }
                  ... on Review {
                    author {
                      __typename
                      id
                    }
                  }
                }
              }
            },
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
                    email
                    name
                  }
                }
              }
            },
          }
        }
        """
    )


def test_same_field_selected_twice() -> None:
    query = "{ me { reviews { rating } ... on User { reviews { body } } } }"
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
                      rating
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


def test_named_fragment_and_field_on_the_same_entity() -> None:
    query = """
        { topProducts { name ...Ratings averageRating } }
        fragment Ratings on Product { reviews { rating } averageRating }
    """
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
                }
              }
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
                    averageRating
                  }
                }
              }
            },
          }
        }
        """
    )


def test_different_paths_are_different_fetches() -> None:
    """Aliases make two paths; each gets its fetch, in parallel: one merged fetch would write each path's fields
    into the other's objects (a field's value and errors stay on its own path)."""
    query = "{ a: me { reviews { rating } } b: me { feedbackCount } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "accounts") {
              {
                a: me {
                  __typename
                  id
                }
                b: me {
                  __typename
                  id
                }
              }
            },
            Parallel {
              Flatten(path: "a") {
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
                        rating
                      }
                    }
                  }
                }
              },
              Flatten(path: "b") {
                Fetch(service: "reviews") {
                  {
                    ... on User {
                      __typename
                      id
                    }
                  } =>
                  {
                    ... on User {
                      feedbackCount
                    }
                  }
                }
              },
            },
          }
        }
        """
    )


def test_fetches_in_one_subgraph_at_two_paths() -> None:
    """catalog is needed at `lowStock.@` (by `sku`) and at `archivedProducts.@` (by `id`): one fetch for each path,
    in parallel; not one merged fetch, whose representations would need both keys."""
    query = "{ lowStock { name location { temperature } } archivedProducts { name stock } }"
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Sequence {
            Parallel {
              Fetch(service: "inventory") {
                {
                  lowStock {
                    __typename
                    sku
                    location {
                      __typename
                      warehouse
                      aisle
                    }
                  }
                }
              },
              Fetch(service: "legacy") {
                {
                  archivedProducts {
                    name
                    __typename
                    id
                  }
                }
              },
            },
            Parallel {
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
                      name
                    }
                  }
                }
              },
              Flatten(path: "lowStock.@.location") {
                Fetch(service: "warehouses") {
                  {
                    ... on Location {
                      __typename
                      warehouse
                      aisle
                    }
                  } =>
                  {
                    ... on Location {
                      temperature
                    }
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
                      sku
                    }
                  }
                }
              },
            },
            Flatten(path: "archivedProducts.@") {
              Fetch(service: "inventory") {
                {
                  ... on Product {
                    __typename
                    sku
                  }
                } =>
                {
                  ... on Product {
                    stock
                  }
                }
              }
            },
          }
        }
        """
    )


def test_paths_whose_fields_share_a_key_but_not_a_field_get_fetches_of_their_own() -> None:
    """`me.reviews.id` (the id) and `topProducts.reviews.id` (an alias of `author`) in one reviews fetch would be an
    invalid operation (fields in set can merge: `id` of ID! against `id` of User!, under `reviews` of both types);
    found by difftest against Apollo Gateway, where the merged fetch was refused by the subgraph."""
    query = "{ me { reviews { id } } topProducts { reviews { id: author { username } } } }"
    assert plan("shop", query) == expect(
        """
        QueryPlan {
          Sequence {
            Parallel {
              Fetch(service: "accounts") {
                {
                  me {
                    __typename
                    id
                  }
                }
              },
              Fetch(service: "products") {
                {
                  topProducts {
                    __typename
                    upc
                  }
                }
              },
            },
            Parallel {
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
                        id
                      }
                    }
                  }
                }
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
                        id: author {
                          username
                        }
                      }
                    }
                  }
                }
              },
            },
          }
        }
        """
    )


def test_paths_whose_representations_read_other_keys_get_fetches_of_their_own() -> None:
    """At `lowStock.@.variants2.@` the client wrote `product { id: stock }`, so the planner reads the key `id` of
    `product` under an internal key there; at `lowStock12.@.variants.@` under `id`. One pricing fetch for both
    would ask every representation for both keys, which neither path's objects have (found by difftest: price
    null). Each path gets its own pricing fetch, each representation reading its own key."""
    query = (
        "{ lowStock { variants2: variants { product { id: stock } price code } id stock } "
        "lowStock12: lowStock { variants { price color } } }"
    )
    printed = plan("keychain", query)
    pricing = [part for part in printed.split("Flatten(")[1:] if 'Fetch(service: "pricing")' in part]
    assert [part.split(")")[0] for part in pricing] == [
        'path: "lowStock.@.variants2.@"',
        'path: "lowStock12.@.variants.@"',
    ]
    assert "_t_id: id" in pricing[0] and "_t_id" not in pricing[1]
