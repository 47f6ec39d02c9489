"""Random operations over a supergraph's API schema: seeded, bounded in size, kept only when graphql-core validates them."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    is_composite_type,
    is_list_type,
    parse,
    print_ast,
    validate,
)

from turnout.supergraph.model import SupergraphModel

__all__ = ["FEATURES", "Generator", "Hints", "Limits", "Operation"]

# Argument values to draw from, by schema coordinate (`Query.user(id:)`), then argument name (`first`), then
# input type name (`ID`): values that exist in the subgraphs' data, a few that do not.
Hints = Mapping[str, Sequence[Any]]
Composite = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType

# What the generator records on an operation when it uses it (the tests check that each shows up).
FEATURES = frozenset(
    {
        "alias",
        "alias_shadow",
        "named_fragment",
        "fragment_reuse",
        "inline_fragment",
        "abstract_every_type",
        "include",
        "skip",
        "variable",
        "argument",
        "typename",
        "typename_root",
        "typename_alias",
        "entity_jump",
        "nested_jump",
        "same_field_twice",
    }
)


@dataclass(frozen=True)
class Limits:
    """How big an operation may get."""

    max_depth: int = 4  # levels of fields below a root field
    max_fields: int = 40  # fields in the document, fragments counted once
    max_lists: int = 2  # list fields of objects along one path (data grows with their product)
    max_root_fields: int = 3


@dataclass(frozen=True)
class Operation:
    """One generated document (an operation named `Q` and its fragments), the values of its variables, the features
    it uses, and graphql-core's validation errors (none: a valid operation)."""

    seed: int
    index: int
    query: str
    variables: dict[str, Any]
    features: frozenset[str]
    errors: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors


class Generator:
    """Operations over `model.api_schema`; `candidate(seed, index)` is a function of its arguments alone."""

    def __init__(
        self, model: SupergraphModel, hints: Hints | None = None, limits: Limits | None = None
    ) -> None:
        self.model = model
        self.schema = model.api_schema
        self.hints: Hints = hints or {}
        self.limits = limits or Limits()

    def graphs(self, parent: str, name: str) -> frozenset[str]:
        """The subgraphs that resolve `parent.name` (not those that only declare it @external)."""
        type_def = self.model.types.get(parent)
        field_def = type_def.fields.get(name) if type_def else None
        if field_def is None:
            return frozenset()
        return frozenset(g for g, f in field_def.in_graphs.items() if not f.external)

    def candidate(self, seed: int, index: int) -> Operation:
        """The `index`-th operation of `seed`, validated (invalid ones carry their errors)."""
        build = _Build(self, random.Random(f"{seed}/{index}"))
        document = parse(build.document())
        errors = tuple(error.message for error in validate(self.schema, document))
        return Operation(seed, index, print_ast(document), build.values, frozenset(build.features), errors)

    def operations(self, count: int, seed: int) -> Iterator[Operation]:
        """Candidates `0, 1, 2...` of `seed`, valid or not, until `count` valid ones were given (at most 20 tries
        per valid one)."""
        valid = 0
        for index in range(count * 20):
            if valid == count:
                return
            operation = self.candidate(seed, index)
            valid += operation.valid
            yield operation


@dataclass
class _Build:
    """The state of one operation being written: its variables, fragments and features."""

    gen: Generator
    rng: random.Random
    fields: int = 0
    definitions: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    fragments: dict[str, str] = field(default_factory=dict)
    # type name -> its complete named fragments, with the depth and list count they were written for
    finished: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)

    def document(self) -> str:
        query = self.gen.schema.query_type
        assert query is not None
        body = self.selection_set(query, depth=0, lists=0, graphs=frozenset(), jumps=0)
        head = f"query Q({', '.join(self.definitions)})" if self.definitions else "query Q"
        return "\n".join([head + " " + body, *self.fragments.values()])

    # -- selections ------------------------------------------------------------------------------------------

    def selection_set(
        self,
        parent: Composite,
        depth: int,
        lists: int,
        graphs: frozenset[str],
        jumps: int,
        used: set[str] | None = None,
    ) -> str:
        rng, used = self.rng, set() if used is None else used
        items: list[str] = []
        if isinstance(parent, GraphQLUnionType) or (
            isinstance(parent, GraphQLInterfaceType) and rng.random() < 0.7
        ):
            self.features.add("abstract_every_type")
            if rng.random() < 0.5:
                items.append(self.typename(used, depth))
            if isinstance(parent, GraphQLInterfaceType):
                items += self.pick_fields(parent, rng.randint(1, 2), depth, lists, graphs, jumps, used)
            for member in self.gen.schema.get_possible_types(parent):
                items.append(self.fragment(member, depth, lists, graphs, jumps, used))
        else:
            most = self.gen.limits.max_root_fields if depth == 0 else 3
            items += self.pick_fields(parent, rng.randint(1, most), depth, lists, graphs, jumps, used)
            if rng.random() < 0.25:
                items.append(self.typename(used, depth))
            if rng.random() < 0.15:
                items.append(self.fragment(parent, depth, lists, graphs, jumps, used))
        return "{ " + " ".join(items or [self.typename(used, depth)]) + " }"

    def fragment(
        self, on: Composite, depth: int, lists: int, graphs: frozenset[str], jumps: int, used: set[str]
    ) -> str:
        """A spread of a named fragment on `on` (a new one, or one written before), or an inline fragment."""
        rng = self.rng
        done = [
            name for name, d, n in self.finished.get(on.name, ()) if d >= depth and n >= lists
        ]  # within bounds
        if done and rng.random() < 0.3:
            self.features.add("fragment_reuse")
            return "..." + rng.choice(done)
        if rng.random() < 0.4:
            name = f"F{len(self.fragments) + 1}"
            self.fragments[name] = (
                ""  # reserves the name; a fragment never spreads itself (it is not finished)
            )
            body = self.selection_set(on, depth, lists, graphs, jumps)
            self.fragments[name] = f"fragment {name} on {on.name} {body}"
            self.finished.setdefault(on.name, []).append((name, depth, lists))
            self.features.add("named_fragment")
            return "..." + name
        self.features.add("inline_fragment")
        condition = self.condition() if rng.random() < 0.15 else ""
        return f"... on {on.name}{condition} " + self.selection_set(on, depth, lists, graphs, jumps, used)

    def pick_fields(
        self,
        parent: GraphQLObjectType | GraphQLInterfaceType,
        count: int,
        depth: int,
        lists: int,
        graphs: frozenset[str],
        jumps: int,
        used: set[str],
    ) -> list[str]:
        limits, rng = self.gen.limits, self.rng
        candidates: list[tuple[str, GraphQLField, bool]] = []
        for name, definition in parent.fields.items():
            composite = is_composite_type(get_named_type(definition.type))
            if composite and (
                depth >= limits.max_depth or (lists >= limits.max_lists and _lists(definition))
            ):
                continue
            own = self.gen.graphs(parent.name, name)
            candidates.append((name, definition, bool(graphs) and not own & graphs))
        picked: list[str] = []
        while candidates and len(picked) < count and self.fields < limits.max_fields:
            weights = [3 if jump else 1 for _, _, jump in candidates]
            name, definition, jump = rng.choices(candidates, weights)[0]
            if rng.random() < 0.9:
                candidates.remove((name, definition, jump))
            else:
                self.features.add("same_field_twice")  # selected again (another alias, maybe other arguments)
            picked.append(self.field(parent, name, definition, depth, lists, graphs, jumps + jump, used))
            if jump and depth:
                self.features.add("nested_jump" if jumps else "entity_jump")
        return picked

    def field(
        self,
        parent: GraphQLObjectType | GraphQLInterfaceType,
        name: str,
        definition: GraphQLField,
        depth: int,
        lists: int,
        graphs: frozenset[str],
        jumps: int,
        used: set[str],
    ) -> str:
        rng = self.rng
        self.fields += 1
        response = name
        if rng.random() < 0.2:
            others = [other for other in parent.fields if other != name]
            if others and rng.random() < 0.5:
                response = rng.choice(others)
                self.features.add(
                    "alias_shadow"
                )  # `email: name`: an alias named like another field of the type
            else:
                response = f"{name}{self.fields}"
                self.features.add("alias")
        if response in used:
            response = f"{name}{self.fields}"
            self.features.add("alias")
        used.add(response)
        text = name if response == name else f"{response}: {name}"
        arguments = self.arguments(f"{parent.name}.{name}", definition)
        if arguments:
            text += f"({arguments})"
        if rng.random() < 0.12:
            text += self.condition()
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            own = self.gen.graphs(parent.name, name) or graphs
            text += " " + self.selection_set(named, depth + 1, lists + _lists(definition), own, jumps)
        return text

    def typename(self, used: set[str], depth: int) -> str:
        self.features.add("typename_root" if depth == 0 else "typename")
        if "__typename" in used or self.rng.random() < 0.15:
            self.features.add("typename_alias")
            alias = f"kind{self.fields}"
            used.add(alias)
            return f"{alias}: __typename"
        used.add("__typename")
        return "__typename"

    # -- arguments, variables, directives --------------------------------------------------------------------

    def condition(self) -> str:
        """`@include(if:)` or `@skip(if:)`, mostly with a variable."""
        kind = self.rng.choice(("include", "skip"))
        self.features.add(kind)
        value = self.rng.random() < 0.6
        argument = self.variable("Boolean!", value) if self.rng.random() < 0.8 else json.dumps(value)
        return f" @{kind}(if: {argument})"

    def variable(self, type_text: str, value: Any) -> str:
        name = f"v{len(self.values) + 1}"
        self.definitions.append(f"${name}: {type_text}")
        self.values[name] = value
        self.features.add("variable")
        return "$" + name

    def arguments(self, coordinate: str, definition: GraphQLField) -> str:
        parts = []
        for name, argument in definition.args.items():
            required = isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
            if not required and self.rng.random() < 0.5:
                continue
            value = self.value(f"{coordinate}({name}:)", name, argument.type)
            if self.rng.random() < 0.4:
                parts.append(f"{name}: {self.variable(str(argument.type), value)}")
            else:
                self.features.add("argument")
                parts.append(f"{name}: {_literal(value, argument.type)}")
        return ", ".join(parts)

    def value(self, coordinate: str, name: str, type_: GraphQLInputType) -> Any:
        hints = self.gen.hints
        if coordinate in hints:
            return self.rng.choice(hints[coordinate])
        nullable = _nullable(type_)
        if name in hints and not isinstance(nullable, GraphQLList | GraphQLInputObjectType):
            return self.rng.choice(hints[name])
        return self.random_value(type_, 0)

    def random_value(self, type_: GraphQLInputType, depth: int) -> Any:
        rng = self.rng
        if not isinstance(type_, GraphQLNonNull) and (depth > 2 or rng.random() < 0.1):
            return None
        nullable = _nullable(type_)
        if isinstance(nullable, GraphQLList):
            return [self.random_value(nullable.of_type, depth + 1) for _ in range(rng.randint(0, 2))]
        if isinstance(nullable, GraphQLInputObjectType):
            return {
                name: self.random_value(f.type, depth + 1)
                for name, f in nullable.fields.items()
                if (isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined) or rng.random() < 0.5
            }
        if isinstance(nullable, GraphQLEnumType):
            return rng.choice(list(nullable.values))
        if nullable.name in self.gen.hints:
            return rng.choice(self.gen.hints[nullable.name])
        match nullable.name:
            case "Int":
                return rng.randint(0, 5)
            case "Float":
                return rng.choice((0.0, 0.5, 2.25))
            case "Boolean":
                return rng.random() < 0.5
            case "ID":
                return f"x{rng.randint(1, 99)}"
            case _:
                return rng.choice(("", "a", "dune", "Zed"))


def _nullable(type_: Any) -> Any:
    """`type_` without its outer non-null (graphql-core's get_nullable_type, for input and output types alike)."""
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _lists(definition: GraphQLField) -> int:
    """1 when the field is a list of objects."""
    return int(
        is_list_type(_nullable(definition.type)) and is_composite_type(get_named_type(definition.type))
    )


def _literal(value: Any, type_: GraphQLInputType) -> str:
    """`value` (as its variable would carry it) written as a GraphQL literal of `type_`."""
    if value is None:
        return "null"
    nullable = _nullable(type_)
    if isinstance(nullable, GraphQLList):
        items = value if isinstance(value, list) else [value]
        return "[" + ", ".join(_literal(item, nullable.of_type) for item in items) + "]"
    if isinstance(nullable, GraphQLInputObjectType):
        return "{" + ", ".join(f"{k}: {_literal(v, nullable.fields[k].type)}" for k, v in value.items()) + "}"
    if isinstance(nullable, GraphQLEnumType):
        return str(value)
    return json.dumps(value)
