"""The API schema: what clients are served once federation machinery and `@inaccessible` elements are gone.

The expected texts are `print_schema` of the API schema Apollo's own `Supergraph.apiSchema()`
(@apollo/federation-internals 2.14.4) derives from the same supergraph files.
"""

from __future__ import annotations

import functools

import pytest
from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLUnionType, print_schema, specified_directives

from support.fixtures import load_supergraph
from turnout.supergraph.join_spec import read_supergraph
from turnout.supergraph.model import SupergraphModel


@functools.cache
def model(name: str) -> SupergraphModel:
    return read_supergraph(load_supergraph(name))


def api_text(name: str) -> str:
    return print_schema(model(name).api_schema) + "\n"


SHOP_API = '''
enum Category {
  FURNITURE
  KITCHEN
  GARDEN
  OFFICE
}

"""Anything a customer wrote about a product."""
interface Feedback {
  id: ID!
  body: String!
  author: User!
  product: Product!
}

type Product {
  upc: String!
  name: String!

  """Price in cents."""
  price: Int!

  """Weight in grams."""
  weight: Int!
  inStock: Boolean!
  category: Category!
  reviews: [Review!]!
  questions: [Question!]!

  """Mean rating, null without reviews."""
  averageRating: Float

  """
  Mean rating per dollar of price (needs the price from the products subgraph).
  """
  valueScore: Float
}

type Query {
  """The signed-in user (always user 1 in the demo)."""
  me: User

  """All users, in id order."""
  users(first: Int): [User!]!
  user(id: ID!): User

  """The products in catalogue order."""
  topProducts(first: Int = 5): [Product!]!
  product(upc: String!): Product

  """Reviews and questions, newest first."""
  latestFeedback(first: Int = 5): [Feedback!]!
  review(id: ID!): Review
}

type Question implements Feedback {
  id: ID!
  body: String!

  """null while unanswered."""
  answer: String
  author: User!
  product: Product!
}

type Review implements Feedback {
  id: ID!
  body: String!

  """1 to 5 stars."""
  rating: Int!
  author: User!
  product: Product!
}

type User {
  id: ID!

  """
  Also served by the reviews subgraph, which @provides it on review authors.
  """
  username: String!
  name: String!
  email: String!
  memberSince: Int!
  reviews: [Review!]!
  feedbackCount: Int!
}
'''


MEDIA_API = '''
type Book implements Media {
  id: ID!
  title: String!
  author: String!
  pages: Int!
  reviews: [Review!]!
  averageRating: Float
}

"""
An entity interface: other subgraphs add fields to every Media through @interfaceObject.
"""
interface Media {
  id: ID!
  title: String!
  reviews: [Review!]!
  averageRating: Float
}

type Movie implements Media {
  id: ID!
  title: String!
  director: String!
  minutes: Int!
  reviews: [Review!]!
  averageRating: Float
}

type Query {
  media: [Media!]!
  mediaItem(id: ID!): Media

  """Media sorted by average rating, best first."""
  topRated(first: Int = 3): [Media!]!
}

type Review {
  id: ID!
  body: String!
  rating: Int!
}
'''


MIGRATION_API = '''
type Customer {
  id: ID!

  """Moved to the customers service (plain @override)."""
  email: String!

  """Being moved to the customers service (progressive @override, 25%)."""
  tier: String!

  """New in the customers service."""
  loyaltyPoints: Int!
  name: String!
  orders: [Order!]!
}

type Mutation {
  placeOrder(customerId: ID!, sku: String!, quantity: Int! = 1): Order!
}

type Order {
  id: ID!
  status: OrderStatus!

  """Total in cents."""
  total: Int!
  customer: Customer!
  lines: [OrderLine!]!
}

type OrderLine {
  sku: String!
  quantity: Int!
  price: Int!
}

enum OrderStatus {
  PENDING
  SHIPPED
  DELIVERED
}

type Query {
  customer(id: ID!): Customer
  customers(first: Int = 10): [Customer!]!
  order(id: ID!): Order
  orders(status: OrderStatus): [Order!]!
}
'''


WHOLESALE_API = '''
type Category {
  slug: String!
  title: String!
}

type Money {
  amount: Int!
  currency: String!
}

interface Node {
  id: ID!
}

type Product implements Node {
  id: ID!
  name: String!
  status: Status!
  price: Money!
  supplier: Supplier!
  supplierSku: String!
}

input ProductFilter {
  status: Status
}

type Query {
  products(filter: ProductFilter): [Product!]!

  """Products and suppliers matching the text."""
  search(text: String!): [SearchHit!]!
  nodes: [Node!]!
  suppliers: [Supplier!]!

  """Suppliers and products matching the text."""
  searchSuppliers(text: String!): [SearchHit!]!
  supplierNodes: [Node!]!
}

union SearchHit = Product | Category | Supplier

enum Status {
  ACTIVE
  DISCONTINUED
}

type Supplier implements Node {
  id: ID!
  name: String!
  products: [Product!]!
  minimumOrder: Money
}
'''


WALLETS_API = '''
"""Sets the context its wallets read the currency from."""
type Account {
  id: ID!
  currency: String!
  wallets: [Wallet!]!
}

type Query {
  account(id: ID!): Account
  accounts: [Account!]!
}

type Wallet {
  id: ID!
  balance(rounded: Boolean = false): Int!
  entries: Int!
}
'''


FED1_SHOP_API = """
type Dimensions {
  height: Int
  width: Int
}

type Product {
  dimensions: Dimensions
  name: String
  price: Int
  reviews: [Review]
  shippingEstimate: Int
  upc: String!
  weight: Int
}

type Query {
  latestReviews: [Review]
  me: User
  topProducts(first: Int = 5): [Product]
  users: [User]
}

type Review {
  author: User
  body: String
  id: ID!
  product: Product
}

type User {
  id: ID!
  name: String
  passwordHash: String
  reviews: [Review]
  username: String
}
"""


BOOKSTORE_JOIN02_API = '''
type Author {
  id: ID!
  name: String!
  books: [Book!]!
}

type Book {
  isbn: ID!
  title: String!
  author: Author!

  """Moved to the stock subgraph."""
  copies: Int!
}

type Query {
  books: [Book!]!
  search(text: String!): [Result!]!
  authors: [Author!]!
}

union Result = Book | Author
'''


RENAMED_IMPORTS_API = """
type Article {
  id: ID!
  comments(first: Int = 10): [Comment!]!
  title: String!
  status: ArticleStatus!
}

enum ArticleStatus {
  PUBLISHED
}

type Comment {
  id: ID!
  text: String!
}

type Query {
  articles: [Article!]!
}
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("shop", SHOP_API),
        ("media", MEDIA_API),
        ("migration", MIGRATION_API),
        ("wholesale", WHOLESALE_API),
        ("wallets", WALLETS_API),
        ("fed1-shop", FED1_SHOP_API),
        ("bookstore-join02", BOOKSTORE_JOIN02_API),
    ],
)
def test_api_schema_matches_apollo(name: str, expected: str) -> None:
    assert api_text(name) == expected.lstrip("\n")


def test_api_schema_with_renamed_imports_matches_apollo() -> None:
    assert api_text("renamed-imports") == RENAMED_IMPORTS_API.lstrip("\n")


def test_composed_directive_definition_not_served() -> None:
    assert model("renamed-imports").api_schema.get_directive("cacheControl") is None


def test_no_machinery_reaches_clients() -> None:
    for name in ["shop", "media", "migration", "wholesale", "wallets", "fed1-shop", "bookstore-join02"]:
        api = model(name).api_schema
        assert not [t for t in api.type_map if t.startswith(("join__", "link__", "core__", "context__"))], (
            name
        )
        assert {d.name for d in api.directives} == {d.name for d in specified_directives}, name


def test_inaccessible_type_field_argument_enum_value_input_field() -> None:
    api = model("wholesale").api_schema
    # types
    assert api.get_type("Stats") is None
    assert api.get_type("Audit") is None
    assert api.get_type("Warehouse") is None
    query = api.query_type
    assert query is not None
    # a field whose type is inaccessible, and a field marked itself
    assert "stats" not in query.fields
    product = api.get_type("Product")
    assert isinstance(product, GraphQLObjectType)
    assert "costPrice" not in product.fields
    supplier = api.get_type("Supplier")
    assert isinstance(supplier, GraphQLObjectType)
    assert "iban" not in supplier.fields
    # arguments
    assert list(query.fields["products"].args) == ["filter"]
    # enum values
    status = api.get_type("Status")
    assert isinstance(status, GraphQLEnumType)
    assert list(status.values) == ["ACTIVE", "DISCONTINUED"]
    # input fields
    assert list(api.get_type("ProductFilter").fields) == ["status"]  # type: ignore[union-attr]
    # union members and interface implementations of an inaccessible type
    hit = api.get_type("SearchHit")
    assert isinstance(hit, GraphQLUnionType)
    assert [t.name for t in hit.types] == ["Product", "Category", "Supplier"]
    assert [t.name for t in api.get_possible_types(api.get_type("Node"))] == ["Product", "Supplier"]  # type: ignore[arg-type]


def test_inaccessible_elements_stay_in_the_supergraph_model() -> None:
    """Hidden from clients, still known to the planner (a requirement or key may need them)."""
    m = model("wholesale")
    assert set(m.types["Product"].fields["costPrice"].in_graphs) == {"PRODUCTS"}
    assert set(m.types["Warehouse"].in_graphs) == {"SUPPLIERS"}
    assert m.types["SearchHit"].members_in["SUPPLIERS"] == {"Supplier", "Product", "Warehouse"}
    assert m.schema.get_type("Stats") is not None


def test_tags_are_not_served() -> None:
    m = model("wholesale")
    assert m.schema.get_directive("tag") is not None
    assert m.api_schema.get_directive("tag") is None
    assert "@tag" not in print_schema(m.api_schema)
    # tagged elements stay
    assert "name" in m.api_schema.get_type("Product").fields  # type: ignore[union-attr]
    assert model("fed1-shop").api_schema.get_directive("tag") is None


def test_descriptions_and_defaults_are_kept() -> None:
    api = model("shop").api_schema
    query = api.query_type
    assert query is not None
    assert query.fields["me"].description == "The signed-in user (always user 1 in the demo)."
    assert query.fields["topProducts"].args["first"].default_value == 5
    assert api.get_type("Feedback").description == "Anything a customer wrote about a product."  # type: ignore[union-attr]
