"""Entity jumps: `_entities` fetches through single, multiple, composite and nested keys, and chains of
jumps where the key the next subgraph needs has to be fetched first.

`keychain`: Product is keyed by `id` and `sku` in catalog, by `sku` only in inventory, by `id` in legacy
(and, unresolvable, in pricing); Location has the composite key `warehouse aisle`; Variant the nested
key `product { id } code`."""

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


def test_single_key_jump() -> None:
    query = "{ me { name reviews { rating } } }"
    assert plan("shop", query) == expect(
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


def test_jumps_there_and_back() -> None:
    """accounts -> reviews -> products: each jump gets its key from the fetch before it."""
    query = "{ me { reviews { rating product { name } } } }"
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


def test_jump_with_the_key_the_target_knows() -> None:
    """inventory only knows sku; catalog is entered through its sku key."""
    query = "{ lowStock { stock name } }"
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "inventory") {
              {
                lowStock {
                  stock
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
                    name
                  }
                }
              }
            },
          }
        }
        """
    )


def test_key_chosen_for_the_target() -> None:
    """catalog knows both keys; it sends inventory the sku key, not id."""
    query = "{ products { name stock } }"
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "catalog") {
              {
                products {
                  name
                  __typename
                  sku
                }
              }
            },
            Flatten(path: "products.@") {
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


def test_two_targets_two_keys_in_parallel() -> None:
    query = '{ product(id: "1") { id sku name stock archivedAt } }'
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "catalog") {
              {
                product(id: "1") {
                  id
                  sku
                  name
                  __typename
                }
              }
            },
            Parallel {
              Flatten(path: "product") {
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
              Flatten(path: "product") {
                Fetch(service: "legacy") {
                  {
                    ... on Product {
                      __typename
                      id
                    }
                  } =>
                  {
                    ... on Product {
                      archivedAt
                    }
                  }
                }
              },
            },
          }
        }
        """
    )


def test_composite_key() -> None:
    query = "{ lowStock { location { temperature } } }"
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "inventory") {
              {
                lowStock {
                  location {
                    __typename
                    warehouse
                    aisle
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
          }
        }
        """
    )


def test_nested_key() -> None:
    query = "{ products { variants { code color price } } }"
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "catalog") {
              {
                products {
                  variants {
                    code
                    color
                    __typename
                    product {
                      id
                    }
                  }
                }
              }
            },
            Flatten(path: "products.@.variants.@") {
              Fetch(service: "pricing") {
                {
                  ... on Variant {
                    __typename
                    product {
                      id
                    }
                    code
                  }
                } =>
                {
                  ... on Variant {
                    price
                  }
                }
              }
            },
          }
        }
        """
    )


def test_nested_key_shares_the_clients_selection() -> None:
    """The client's `product { name }` and the key's `product { id }` are one field in the fetch."""
    query = "{ products { variants { product { name } price } } }"
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "catalog") {
              {
                products {
                  variants {
                    product {
                      name
                      id
                    }
                    __typename
                    code
                  }
                }
              }
            },
            Flatten(path: "products.@.variants.@") {
              Fetch(service: "pricing") {
                {
                  ... on Variant {
                    __typename
                    product {
                      id
                    }
                    code
                  }
                } =>
                {
                  ... on Variant {
                    price
                  }
                }
              }
            },
          }
        }
        """
    )


def test_two_hop_key_chain() -> None:
    """legacy knows only id, inventory only sku: catalog turns the id into the sku first."""
    query = "{ archivedProducts { archivedAt stock } }"
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "legacy") {
              {
                archivedProducts {
                  archivedAt
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
                    sku
                  }
                }
              }
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


def test_two_hop_key_chain_beside_a_composite_key_jump() -> None:
    """inventory -> catalog (sku to id) -> legacy, while warehouses is asked in parallel with catalog."""
    query = "{ lowStock { archivedAt location { temperature } } }"
    assert plan("keychain", query) == expect(
        """
        QueryPlan {
          Sequence {
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
                      id
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
                    archivedAt
                  }
                }
              }
            },
          }
        }
        """
    )


def test_unresolvable_key_still_leads_out() -> None:
    """products references Supplier with a resolvable: false key: it can send suppliers the id."""
    query = "{ products { name supplier { name } } }"
    assert plan("wholesale", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "products") {
              {
                products {
                  name
                  supplier {
                    __typename
                    id
                  }
                }
              }
            },
            Flatten(path: "products.@.supplier") {
              Fetch(service: "suppliers") {
                {
                  ... on Supplier {
                    __typename
                    id
                  }
                } =>
                {
                  ... on Supplier {
                    name
                  }
                }
              }
            },
          }
        }
        """
    )


def test_jump_into_the_subgraph_with_the_resolvable_key() -> None:
    query = "{ suppliers { name products { name status supplierSku } } }"
    assert plan("wholesale", query) == expect(
        """
        QueryPlan {
          Sequence {
            Fetch(service: "suppliers") {
              {
                suppliers {
                  name
                  products {
                    __typename
                    id
                    supplierSku
                  }
                }
              }
            },
            Flatten(path: "suppliers.@.products.@") {
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
                    status
                  }
                }
              }
            },
          }
        }
        """
    )
