"""difftest's operation generator, without any network: valid, varied, bounded, and a function of its seed."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from difftest.generator import FEATURES, Generator, Limits
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    parse,
    validate,
)

from support.fixtures import load_supergraph, supergraph_names
from turnout.supergraph.join_spec import read_supergraph
from turnout.supergraph.model import SupergraphModel

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OPERATIONS = 40


@cache
def model(name: str) -> SupergraphModel:
    if name.startswith("examples/"):
        return read_supergraph((EXAMPLES.parent / name / "supergraph.graphql").read_text(encoding="utf-8"))
    return read_supergraph(load_supergraph(name))


def field_depth(document: DocumentNode) -> int:
    """The deepest path of fields, fragments expanded."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def depth(selection_set: SelectionSetNode) -> int:
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                deepest = max(deepest, 1 + (depth(selection.selection_set) if selection.selection_set else 0))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, depth(fragments[selection.name.value].selection_set))
            else:
                assert isinstance(selection, InlineFragmentNode)
                deepest = max(deepest, depth(selection.selection_set))
        return deepest

    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return depth(operation.selection_set)


@pytest.mark.parametrize("name", ["examples/shop", "examples/classroom", *supergraph_names()])
def test_every_operation_kept_validates_and_stays_within_its_limits(name: str) -> None:
    limits = Limits()
    generator = Generator(model(name), limits=limits)
    operations = list(generator.operations(OPERATIONS, seed=3))
    valid = [o for o in operations if o.valid]
    assert len(valid) == OPERATIONS
    assert len(operations) <= 2 * OPERATIONS, "fewer than half the candidates validate"
    for operation in operations:
        document = parse(operation.query)
        errors = validate(model(name).api_schema, document)
        assert [e.message for e in errors] == list(operation.errors)
        fields = [f for f in _fields(document) if f.name.value != "__typename"]
        assert len(fields) <= limits.max_fields
        assert field_depth(document) <= limits.max_depth + 1
        declared = {
            d.variable.name.value
            for d in next(
                d for d in document.definitions if isinstance(d, OperationDefinitionNode)
            ).variable_definitions
        }
        assert declared == set(operation.variables), "every variable declared has a value"


def _fields(document: DocumentNode) -> list[FieldNode]:
    found: list[FieldNode] = []

    def walk(selection_set: SelectionSetNode | None) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                found.append(selection)
            if isinstance(selection, FieldNode | InlineFragmentNode):
                walk(selection.selection_set)

    for definition in document.definitions:
        assert isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode)
        walk(definition.selection_set)
    return found


def test_the_features_show_up_across_seeds() -> None:
    """Aliases (some named like another field of the type), named and inline fragments (on every possible type of
    an abstract field), @include/@skip with variables, arguments, __typename, fields past entity jumps."""
    seen: dict[str, set[str]] = {}
    for name in ("examples/shop", "library", "marketplace", "media"):
        generator = Generator(model(name))
        for seed in range(3):
            for operation in generator.operations(30, seed):
                for feature in operation.features if operation.valid else ():
                    seen.setdefault(feature, set()).add(name)
    assert set(seen) == FEATURES
    for feature in (
        "alias_shadow",
        "named_fragment",
        "inline_fragment",
        "include",
        "skip",
        "variable",
        "typename",
        "entity_jump",
        "abstract_every_type",
    ):
        assert {"examples/shop", "library", "media"} <= seen[feature], feature


def test_an_abstract_field_gets_a_fragment_for_every_possible_type() -> None:
    generator = Generator(model("library"))
    schema = generator.schema
    found = 0
    for operation in generator.operations(OPERATIONS, seed=5):
        if not operation.valid or "abstract_every_type" not in operation.features:
            continue
        document = parse(operation.query)
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        for selection in _fields(document):
            if selection.name.value != "search" or selection.selection_set is None:
                continue
            conditions = set()
            for inner in selection.selection_set.selections:
                if isinstance(inner, InlineFragmentNode) and inner.type_condition:
                    conditions.add(inner.type_condition.name.value)
                elif isinstance(inner, FragmentSpreadNode):
                    conditions.add(fragments[inner.name.value].type_condition.name.value)
            union = schema.get_type("SearchResult")
            assert isinstance(union, GraphQLUnionType)
            assert (
                conditions == {"Book", "Author", "Film"} == {t.name for t in schema.get_possible_types(union)}
            )
            found += 1
    assert found


def test_the_same_seed_gives_the_same_operations_and_another_seed_others() -> None:
    first = [(o.query, o.variables) for o in Generator(model("examples/shop")).operations(20, seed=11)]
    again = [(o.query, o.variables) for o in Generator(model("examples/shop")).operations(20, seed=11)]
    other = [(o.query, o.variables) for o in Generator(model("examples/shop")).operations(20, seed=12)]
    assert first == again
    assert len({q for q, _ in first} & {q for q, _ in other}) < 3
    alone = Generator(model("examples/shop")).candidate(11, 7)  # candidate i alone is the i-th of the stream
    assert (alone.query, alone.variables) == first[7]


def test_arguments_take_the_hinted_values() -> None:
    users, upcs = ["1", "5", "999"], ["0001", "0002"]
    generator = Generator(
        model("examples/shop"), {"Query.user(id:)": users, "Query.product(upc:)": upcs, "first": [0, 2]}
    )
    given: dict[str, set[object]] = {"user": set(), "product": set(), "first": set()}
    for operation in generator.operations(80, seed=2):
        if not operation.valid:
            continue
        for selection in _fields(parse(operation.query)):
            for argument in selection.arguments or ():
                key = argument.name.value if argument.name.value == "first" else selection.name.value
                if key not in given or (key != "first" and argument.name.value not in ("id", "upc")):
                    continue
                value = argument.value
                if isinstance(value, VariableNode):
                    given[key].add(operation.variables[value.name.value])
                elif isinstance(value, StringValueNode):
                    given[key].add(value.value)
                else:
                    given[key].add(int(getattr(value, "value", -1)))
    assert given["user"] and given["user"] <= set(users)
    assert given["product"] and given["product"] <= set(upcs)
    assert given["first"] and given["first"] <= {0, 2}
