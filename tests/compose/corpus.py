"""Subgraph sets for composition tests: each case's subgraph SDLs and the error codes composition must report
(empty for a set that composes). The differential test runs every case through Apollo's composition too."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CASES", "Case"]


def fed2(imports: str, body: str, version: str = "2.3") -> str:
    names = ", ".join(f'"@{name}"' for name in imports.split())
    return f'extend schema @link(url: "https://specs.apollo.dev/federation/v{version}", import: [{names}])\n{body}'


@dataclass(frozen=True)
class Case:
    name: str
    subgraphs: dict[str, str]
    errors: tuple[str, ...] = ()  # the error codes, in any order, without repeats
    hints: tuple[str, ...] = field(default=())  # hint codes that must be among the hints


_CASES = [
    # -- sets that compose ------------------------------------------------------------------------------------
    Case(
        "entity-two-subgraphs",
        {
            "users": fed2(
                "key", 'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String }'
            ),
            "reviews": fed2("key", 'type User @key(fields: "id") { id: ID! reviews: [String!]! }'),
        },
    ),
    Case(
        "value-type-shareable",
        {
            "a": fed2("shareable", "type Query { a: Point }\ntype Point @shareable { x: Int y: Int }"),
            "b": fed2("shareable", "type Query { b: Point }\ntype Point @shareable { x: Int y: Int }"),
        },
    ),
    Case(
        "shareable-field-nullability",
        {
            "a": fed2(
                "shareable key",
                'type Query { t: T }\ntype T @key(fields: "id") { id: ID! v: Int! @shareable }',
            ),
            "b": fed2("shareable key", 'type T @key(fields: "id") { id: ID! v: Int @shareable }'),
        },
    ),
    Case(
        "requires-external",
        {
            "products": fed2(
                "key",
                'type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! price: Int '
                "weight: Int }",
            ),
            "shipping": fed2(
                "key external requires",
                'type Product @key(fields: "id") { id: ID! price: Int @external '
                'weight: Int @external cost: Int @requires(fields: "price weight") }',
            ),
        },
    ),
    Case(
        "provides-external",
        {
            "accounts": fed2(
                "key shareable",
                'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String @shareable }',
            ),
            "reviews": fed2(
                "key external provides",
                "type Query { top: [Review] }\ntype Review { id: ID! author: "
                'User @provides(fields: "name") }\ntype User @key(fields: "id") '
                "{ id: ID! name: String @external }",
            ),
        },
    ),
    Case(
        "override-plain",
        {
            "old": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! v: Int }'),
            "new": fed2(
                "key override", 'type T @key(fields: "id") { id: ID! v: Int @override(from: "old") }'
            ),
        },
    ),
    Case(
        "override-progressive",
        {
            "old": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! v: Int }', "2.7"),
            "new": fed2(
                "key override",
                'type T @key(fields: "id") { id: ID! v: Int @override(from: "old", label: "percent(25)") }',
                "2.7",
            ),
        },
        hints=("OVERRIDE_MIGRATION_IN_PROGRESS",),
    ),
    Case(
        "override-used-key-field",
        {
            "old": fed2(
                "key", 'type Query { t: T }\ntype T @key(fields: "id code") { id: ID! code: String v: Int }'
            ),
            "new": fed2(
                "key override shareable",
                'type T @key(fields: "id") { id: ID! code: String @override(from: "old") }',
            ),
        },
    ),
    Case(
        "interface-entity",
        {
            "a": fed2(
                "key",
                'type Query { all: [Node] }\ninterface Node @key(fields: "id") { id: ID! }\n'
                'type Book implements Node @key(fields: "id") { id: ID! title: String }',
            ),
            "b": fed2(
                "key interfaceObject", 'type Node @key(fields: "id") @interfaceObject { id: ID! rating: Int }'
            ),
        },
    ),
    Case(
        "union-members-split",
        {
            "a": fed2(
                "shareable",
                "type Query { s: [R] }\nunion R = X | Y\ntype X @shareable { x: Int }\n"
                "type Y @shareable { y: Int }",
            ),
            "b": fed2("shareable", "type Query { t: [R] }\nunion R = X\ntype X @shareable { x: Int }"),
        },
    ),
    Case(
        "enum-output-union",
        {
            "a": fed2("", "type Query { a: Color }\nenum Color { RED GREEN }"),
            "b": fed2("", "type Query { b: Color }\nenum Color { RED BLUE }"),
        },
    ),
    Case(
        "enum-input-intersection",
        {
            "a": fed2("", "type Query { a(c: Color): Int }\nenum Color { RED GREEN }"),
            "b": fed2("", "type Query { b(c: Color): Int }\nenum Color { RED BLUE }"),
        },
    ),
    Case(
        "input-intersection",
        {
            "a": fed2("", "type Query { a(f: Filter): Int }\ninput Filter { q: String limit: Int }"),
            "b": fed2("", "type Query { b(f: Filter): Int }\ninput Filter { q: String offset: Int }"),
        },
    ),
    Case(
        "optional-argument-dropped",
        {
            "a": fed2(
                "key shareable",
                'type Query { t: T }\ntype T @key(fields: "id") { id: ID! v(x: Int): Int @shareable }',
            ),
            "b": fed2("key shareable", 'type T @key(fields: "id") { id: ID! v: Int @shareable }'),
        },
    ),
    Case(
        "inaccessible-and-tag",
        {
            "a": fed2(
                "key inaccessible tag",
                'type Query { t: T @tag(name: "public") }\ntype T @key(fields: "id") { '
                "id: ID! secret: String @inaccessible }",
            ),
        },
    ),
    Case(
        "descriptions-and-deprecated",
        {
            "a": fed2(
                "",
                '"The root"\ntype Query {\n  "a field"\n  a: Int @deprecated(reason: "use b")\n  b(\n    '
                '"an argument"\n    x: Int = 3\n  ): Int\n}',
            ),
        },
    ),
    Case(
        "mutation-root",
        {
            "a": fed2("", "type Query { a: Int }\ntype Mutation { setA(v: Int!): Int }"),
            "b": fed2("", "type Query { b: Int }\ntype Mutation { setB(v: Int!): Int }"),
        },
    ),
    Case(
        "renamed-root",
        {
            "a": fed2("", "schema { query: RootQuery }\ntype RootQuery { a: Int }"),
        },
    ),
    Case(
        "fed1-extend-external-key",
        {
            "users": 'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String }',
            "reviews": 'extend type User @key(fields: "id") { id: ID! @external reviews: [String] }',
        },
    ),
    Case(
        "fed1-value-type-shared",
        {
            "a": "type Query { a: Point }\ntype Point { x: Int y: Int }",
            "b": "type Query { b: Point }\ntype Point { x: Int y: Int }",
        },
    ),
    Case(
        "fed1-requires",
        {
            "products": 'type Query { p: Product }\ntype Product @key(fields: "upc") { upc: String! weight: Int }',
            "shipping": 'extend type Product @key(fields: "upc") { upc: String! @external weight: Int @external '
            'cost: Int @requires(fields: "weight") }',
        },
    ),
    Case(
        "non-resolvable-key",
        {
            "a": fed2(
                "key",
                "type Query { r: Review }\ntype Review { id: ID! product: Product }\n"
                'type Product @key(fields: "id", resolvable: false) { id: ID! }',
            ),
            "b": fed2(
                "key", 'type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! name: String }'
            ),
        },
    ),
    Case(
        "composite-key",
        {
            "a": fed2(
                "key",
                'type Query { t: T }\ntype T @key(fields: "id org { id }") { id: ID! org: Org! }\n'
                "type Org { id: ID! }",
            ),
            "b": fed2(
                "key shareable",
                'type T @key(fields: "id org { id }") { id: ID! org: Org! v: Int }\n'
                "type Org @shareable { id: ID! }",
            ),
        },
    ),
    Case(
        "multiple-keys",
        {
            "a": fed2(
                "key",
                'type Query { t: T }\ntype T @key(fields: "id") @key(fields: "sku") { id: ID! sku: String! }',
            ),
            "b": fed2("key", 'type T @key(fields: "sku") { sku: String! v: Int }'),
        },
    ),
    Case(
        "interface-implementations-split",
        {
            "a": fed2(
                "shareable",
                "type Query { all: [I] }\ninterface I { id: ID! }\ntype X implements I "
                "@shareable { id: ID! }",
            ),
            "b": fed2(
                "shareable",
                "interface I { id: ID! }\ntype Y implements I { id: ID! }\ntype X implements I "
                "@shareable { id: ID! }\ntype Query { ys: [Y] }",
            ),
        },
    ),
    Case(
        "subgraph-without-query",
        {
            "a": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! }'),
            "b": fed2("key", 'type T @key(fields: "id") { id: ID! extra: Int }'),
        },
    ),
    Case(
        "list-field-type-subtype",
        {
            "a": fed2(
                "key shareable",
                'type Query { t: T }\ntype T @key(fields: "id") { id: ID! tags: [String!] @shareable }',
            ),
            "b": fed2("key shareable", 'type T @key(fields: "id") { id: ID! tags: [String] @shareable }'),
        },
    ),
    Case(
        "custom-scalar",
        {
            "a": fed2(
                "", 'scalar Date @specifiedBy(url: "https://example.com/date")\ntype Query { d: Date }'
            ),
            "b": fed2("", "scalar Date\ntype Query { e: Date }"),
        },
    ),
    Case(
        "context-from-parent",
        {
            "a": fed2(
                "key context fromContext",
                'type Query { u: U }\ntype U @key(fields: "id") @context(name: "u") '
                "{ id: ID! unit: String! items: [Item!]! }\n"
                'type Item @key(fields: "id") { id: ID! size(unit: String '
                '@fromContext(field: "$u { unit }")): Int }',
                "2.8",
            ),
            "b": fed2("key", 'type Item @key(fields: "id") { id: ID! name: String }', "2.8"),
        },
    ),
    Case(
        "fed1-extends-directive",
        {
            "users": 'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String }',
            "reviews": 'type User @extends @key(fields: "id") { id: ID! @external reviews: [String] }',
        },
    ),
    Case(
        "fed1-extension-without-key",
        {
            "users": 'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String }',
            "tags": 'type Query { tagged: [User] }\nextend type User @key(fields: "id") { id: ID! @external '
            "tags: [String] }",
        },
    ),
    Case(
        "interface-object-non-resolvable",
        {
            "a": fed2(
                "key", 'type Query { node: Node }\ninterface Node @key(fields: "id") { id: ID! }', "2.5"
            ),
            "b": fed2(
                "key interfaceObject",
                'type Query { other: Node }\ntype Node @key(fields: "id", resolvable: '
                "false) @interfaceObject { id: ID! label: String }",
                "2.5",
            ),
        },
    ),
    Case(
        "type-explosion",
        {
            "catalog": fed2(
                "key",
                "type Query { items: [Item] }\ninterface Item { id: ID! }\ntype Pen implements "
                'Item @key(fields: "id") { id: ID! }\ntype Ink implements Item @key(fields: "id") '
                "{ id: ID! }",
            ),
            "stock": fed2(
                "key",
                'interface Item { id: ID! count: Int }\ntype Pen implements Item @key(fields: "id") '
                '{ id: ID! count: Int }\ntype Ink implements Item @key(fields: "id") { id: ID! count: '
                "Int }",
            ),
        },
    ),
    Case(
        "nested-key-collected-elsewhere",
        {
            "lists": fed2(
                "key",
                'type Query { list: Shelf }\ntype Shelf @key(fields: "books { id }") { books: '
                '[Book!]! }\ntype Book @key(fields: "id") { id: ID! }',
            ),
            "books": fed2(
                "key shareable", 'type Book @key(fields: "id") { id: ID! isbn: String! @shareable }'
            ),
            "ratings": fed2(
                "key",
                'type Shelf @key(fields: "books { id isbn }") { books: [Book!]! rating: Int }\n'
                'type Book @key(fields: "id isbn") { id: ID! isbn: String! }',
            ),
        },
    ),
    Case(
        "requires-with-argument",
        {
            "a": fed2(
                "key",
                'type Query { t: T }\ntype T @key(fields: "id") { id: ID! price(currency: String!): Int }',
            ),
            "b": fed2(
                "key external requires",
                'type T @key(fields: "id") { id: ID! price(currency: String!): Int '
                '@external label: String @requires(fields: "price(currency: '
                '\\"EUR\\")") }',
            ),
        },
    ),
    Case(
        "provides-on-interface",
        {
            "a": fed2(
                "key shareable",
                "type Query { m: Media }\ninterface Media { id: ID! title: String }\n"
                'type Book implements Media @key(fields: "id") { id: ID! title: String @shareable }',
            ),
            "b": fed2(
                "key shareable external provides",
                'type Query { top: Media @provides(fields: "... on Book '
                '{ title }") }\n'
                "interface Media { id: ID! title: String }\ntype Book "
                'implements Media @key(fields: "id") { id: ID! title: String '
                "@external }",
            ),
        },
    ),
    Case(
        "shared-root-field",
        {
            "a": fed2("shareable", "type Query { version: String @shareable a: Int }"),
            "b": fed2("shareable", "type Query { version: String @shareable b: Int }"),
        },
    ),
    Case(
        "mutations-in-two-subgraphs",
        {
            "a": fed2(
                "key",
                'type Query { t: T }\ntype Mutation { addT(id: ID!): T }\ntype T @key(fields: "id") '
                "{ id: ID! }",
            ),
            "b": fed2(
                "key",
                'type Mutation { tagT(id: ID!, tag: String!): T }\ntype T @key(fields: "id") { id: ID! '
                "tags: [String!] }",
            ),
        },
    ),
    Case(
        "override-with-requires-elsewhere",
        {
            "a": fed2(
                "key",
                'type Query { t: T }\ntype T @key(fields: "id") { id: ID! amount: Int currency: String }',
            ),
            "b": fed2(
                "key override external requires",
                'type T @key(fields: "id") { id: ID! amount: Int '
                '@override(from: "a") currency: String @external label: '
                'String @requires(fields: "currency") }',
            ),
        },
    ),
    # -- sets that do not compose -----------------------------------------------------------------------------
    Case(
        "progressive-override-unreachable-when-on",
        {
            "a": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! v: Int }', "2.7"),
            "b": fed2(
                "key override",
                'type T @key(fields: "id", resolvable: false) { id: ID! v: Int @override(from: '
                '"a", label: "percent(25)") }',
                "2.7",
            ),
        },
        errors=("SATISFIABILITY_ERROR",),
    ),
    Case(
        "requires-on-progressively-overridden-field",
        {
            "s1": fed2(
                "key external requires",
                'type Query { t: T }\ntype T @key(fields: "id", resolvable: false) '
                '{ id: ID! w: Int @external x: Int @requires(fields: "w") }',
                "2.7",
            ),
            "s0": fed2(
                "key override",
                'type T @key(fields: "id") { id: ID! w: Int @override(from: "s3", label: "percent(25)") }',
                "2.7",
            ),
            "s3": fed2("key", 'type T @key(fields: "id") { id: ID! w: Int }', "2.7"),
        },
        errors=("SATISFIABILITY_ERROR",),
    ),
    Case(
        "interface-objects-both-resolve-a-field",
        {
            "zoo": fed2(
                "key",
                'type Query { animals: [Animal] }\ninterface Animal @key(fields: "id") { id: ID! }\n'
                'type Dog implements Animal @key(fields: "id") { id: ID! }',
                "2.5",
            ),
            "ages": fed2(
                "key interfaceObject",
                'type Animal @key(fields: "id") @interfaceObject { id: ID! age: Int }',
                "2.5",
            ),
            "more": fed2(
                "key interfaceObject",
                'type Animal @key(fields: "id") @interfaceObject { id: ID! age: Int }',
                "2.5",
            ),
        },
        errors=("INVALID_FIELD_SHARING",),
    ),
    Case(
        "authenticated-not-composed",
        {
            "a": fed2(
                "key authenticated",
                'type Query { me: User @authenticated }\ntype User @key(fields: "id") { id: ID! }',
                "2.5",
            ),
        },
        errors=("UNSUPPORTED_FEATURE",),
    ),
    Case(
        "override-collides-with-requires",
        {
            "a": fed2(
                "key external requires",
                'type Query { t: T }\ntype T @key(fields: "id") { id: ID! w: Int '
                '@external v: Int @requires(fields: "w") }',
            ),
            "b": fed2(
                "key override", 'type T @key(fields: "id") { id: ID! w: Int v: Int @override(from: "a") }'
            ),
        },
        errors=("OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE", "INVALID_FIELD_SHARING"),
    ),
    Case(
        "interface-object-without-interface",
        {
            "a": fed2(
                "key interfaceObject",
                'type Query { n: Node }\ntype Node @key(fields: "id") @interfaceObject { id: ID! }',
            ),
        },
        errors=("INTERFACE_OBJECT_USAGE_ERROR",),
    ),
    Case(
        "empty-merged-enum",
        {
            "a": fed2("", "type Query { a(c: Color): Int }\nenum Color { RED }"),
            "b": fed2("", "type Query { b(c: Color): Int }\nenum Color { BLUE }"),
        },
        errors=("EMPTY_MERGED_ENUM_TYPE",),
    ),
    Case(
        "external-type-mismatch",
        {
            "a": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! w: Int }'),
            "b": fed2(
                "key external requires",
                'type T @key(fields: "id") { id: ID! w: String @external v: Int @requires(fields: "w") }',
            ),
        },
        errors=("EXTERNAL_TYPE_MISMATCH",),
    ),
    Case(
        "provides-on-scalar",
        {
            "a": fed2(
                "key shareable",
                'type Query { t: T }\ntype T @key(fields: "id") { id: ID! n: Int @shareable }',
            ),
            "b": fed2("key provides", 'type Query { n: Int @provides(fields: "x") }'),
        },
        errors=("PROVIDES_ON_NON_OBJECT_FIELD",),
    ),
    Case(
        "key-field-with-arguments",
        {
            "a": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id") { id(v: Int): ID! }'),
        },
        errors=("KEY_FIELDS_HAS_ARGS",),
    ),
    Case(
        "fed2-extension-without-base",
        {
            "a": fed2("key", 'type Query { t: T }\nextend type T @key(fields: "id") { id: ID! }'),
        },
        errors=("EXTENSION_WITH_NO_BASE",),
    ),
    Case(
        "satisfiability-requires-unreachable",
        {
            "a": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! }'),
            "b": fed2(
                "key external requires",
                'type T @key(fields: "id") { id: ID! w: Int @external v: Int @requires(fields: "w") }',
            ),
            "c": fed2(
                "key",
                'type T @key(fields: "id", resolvable: false) { id: ID! w: Int }\ntype Query { c: Int }',
            ),
        },
        errors=("SATISFIABILITY_ERROR",),
    ),
    Case(
        "invalid-field-sharing",
        {
            "a": fed2("", "type Query { a: Int }"),
            "b": fed2("", "type Query { a: Int }"),
        },
        errors=("INVALID_FIELD_SHARING",),
    ),
    Case(
        "invalid-field-sharing-value-type",
        {
            "a": fed2("", "type Query { a: P }\ntype P { x: Int }"),
            "b": fed2("shareable", "type Query { b: P }\ntype P { x: Int @shareable }"),
        },
        errors=("INVALID_FIELD_SHARING",),
    ),
    Case(
        "field-type-mismatch",
        {
            "a": fed2("shareable", "type Query { a: Int @shareable }"),
            "b": fed2("shareable", "type Query { a: String @shareable }"),
        },
        errors=("FIELD_TYPE_MISMATCH",),
    ),
    Case(
        "key-interface-field",
        {
            "a": fed2(
                "key",
                "type Query { t: T }\ninterface I { id: ID! }\ntype X implements I { id: ID! }\n"
                'type T @key(fields: "i { id }") { i: I! }',
            ),
        },
        errors=("KEY_FIELDS_SELECT_INVALID_TYPE",),
    ),
    Case(
        "key-unknown-field",
        {
            "a": fed2("key", 'type Query { t: T }\ntype T @key(fields: "nope") { id: ID! }'),
        },
        errors=("KEY_INVALID_FIELDS",),
    ),
    Case(
        "external-missing-on-base",
        {
            "a": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! }'),
            "b": fed2(
                "key external requires",
                'type T @key(fields: "id") { id: ID! w: Int @external v: Int @requires(fields: "w") }',
            ),
        },
        errors=("EXTERNAL_MISSING_ON_BASE",),
    ),
    Case(
        "requires-missing-external",
        {
            "a": fed2(
                "key shareable",
                'type Query { t: T }\ntype T @key(fields: "id") { id: ID! w: Int @shareable }',
            ),
            "b": fed2(
                "key requires shareable",
                'type T @key(fields: "id") { id: ID! w: Int @shareable v: Int @requires(fields: "w") }',
            ),
        },
        errors=("REQUIRES_FIELDS_MISSING_EXTERNAL",),
    ),
    Case(
        "override-source-has-override",
        {
            "a": fed2(
                "key override",
                'type Query { t: T }\ntype T @key(fields: "id") { id: ID! v: Int @override(from: "b") }',
            ),
            "b": fed2("key override", 'type T @key(fields: "id") { id: ID! v: Int @override(from: "a") }'),
        },
        errors=("OVERRIDE_SOURCE_HAS_OVERRIDE", "INVALID_FIELD_SHARING"),
    ),
    Case(
        "override-from-self",
        {
            "a": fed2(
                "key override",
                'type Query { t: T }\ntype T @key(fields: "id") { id: ID! v: Int @override(from: "a") }',
            ),
        },
        errors=("OVERRIDE_FROM_SELF_ERROR",),
    ),
    Case(
        "override-label-invalid",
        {
            "old": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! v: Int }', "2.7"),
            "new": fed2(
                "key override",
                'type T @key(fields: "id") { id: ID! v: Int @override(from: "old", label: "percent(120)") }',
                "2.7",
            ),
        },
        errors=("OVERRIDE_LABEL_INVALID",),
    ),
    Case(
        "external-unused",
        {
            "a": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! w: Int }'),
            "b": fed2("key external", 'type T @key(fields: "id") { id: ID! w: Int @external }'),
        },
        errors=("EXTERNAL_UNUSED",),
    ),
    Case(
        "type-kind-mismatch",
        {
            "a": fed2("", "type Query { a: T }\ntype T { x: Int }"),
            "b": fed2("", "type Query { b: T }\ninterface T { x: Int }"),
        },
        errors=("TYPE_KIND_MISMATCH",),
    ),
    Case(
        "enum-both-positions-mismatch",
        {
            "a": fed2("", "type Query { a(c: Color): Color }\nenum Color { RED GREEN }"),
            "b": fed2("", "type Query { b: Color }\nenum Color { RED BLUE }"),
        },
        errors=("ENUM_VALUE_MISMATCH",),
    ),
    Case(
        "required-argument-missing",
        {
            "a": fed2("shareable", "type Query { a(x: Int!): Int @shareable }"),
            "b": fed2("shareable", "type Query { a: Int @shareable }"),
        },
        errors=("REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",),
    ),
    Case(
        "required-input-field-missing",
        {
            "a": fed2("", "type Query { a(f: F): Int }\ninput F { x: Int! }"),
            "b": fed2("", "type Query { b(f: F): Int }\ninput F { y: Int }"),
        },
        errors=("REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH", "EMPTY_MERGED_INPUT_TYPE"),
    ),
    Case(
        "syntax-error",
        {
            "a": fed2("", "type Query { a: Int"),
        },
        errors=("INVALID_GRAPHQL",),
    ),
    Case(
        "unreachable-field",
        {
            "a": fed2("", "type Query { t: T }\ntype T { id: ID! }"),
            "b": fed2("", "type Query { u: Int }\ntype T { id: ID! extra: Int }"),
        },
        errors=("INVALID_FIELD_SHARING",),
    ),
    Case(
        "satisfiability-no-key",
        {
            "a": fed2("shareable", "type Query { t: T }\ntype T @shareable { id: ID! }"),
            "b": fed2("shareable", "type Query { u: Int }\ntype T @shareable { id: ID! extra: Int }"),
        },
        errors=("SATISFIABILITY_ERROR",),
    ),
    Case(
        "satisfiability-non-resolvable",
        {
            "a": fed2("key", 'type Query { t: T }\ntype T @key(fields: "id", resolvable: false) { id: ID! }'),
            "b": fed2(
                "key",
                'type T @key(fields: "id", resolvable: false) { id: ID! extra: Int }\ntype Query { u: Int }',
            ),
        },
        errors=("SATISFIABILITY_ERROR",),
    ),
    Case(
        "provides-missing-external",
        {
            "a": fed2(
                "key shareable",
                'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String @shareable }',
            ),
            "b": fed2(
                "key provides shareable",
                "type Query { r: Review }\ntype Review { author: User @provides(fields: "
                '"name") }\ntype User @key(fields: "id") { id: ID! name: String '
                "@shareable }",
            ),
        },
        errors=("PROVIDES_FIELDS_MISSING_EXTERNAL",),
    ),
    Case(
        "no-queries",
        {
            "a": fed2("key", 'type T @key(fields: "id") { id: ID! }'),
        },
        errors=("NO_QUERIES",),
    ),
    Case(
        "argument-type-mismatch",
        {
            "a": fed2("shareable", "type Query { a(x: Int): Int @shareable }"),
            "b": fed2("shareable", "type Query { a(x: String): Int @shareable }"),
        },
        errors=("FIELD_ARGUMENT_TYPE_MISMATCH",),
    ),
]

CASES = {case.name: case for case in _CASES}
