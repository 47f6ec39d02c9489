"""Comparing two answers to one operation: what differs (data by value, errors by path), where in the schema, and
which of the accepted differences (difftest/accepted.yaml) explain it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from graphql import (
    REMOVE,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    NameNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    visit,
)

from difftest.gateways import Answer

__all__ = [
    "ACCEPTED_PATH",
    "EXPERIMENTS",
    "PREDICATES",
    "VERDICTS",
    "Accepted",
    "Case",
    "Experiment",
    "Item",
    "coordinates",
    "diff",
    "load_accepted",
    "shape",
]

ACCEPTED_PATH = Path(__file__).resolve().parent / "accepted.yaml"
VERDICTS = ("turnout-right", "reference-wrong", "either", "noise")
Path_ = tuple[str | int, ...]
Composite = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
_N = TypeVar("_N", bound=Node)


@dataclass(frozen=True)
class Item:
    """One difference: `kind` is `value`, `only in turnout`, `only in reference`, `length`, `error only in turnout`,
    `error only in reference`, `status` or `not json`; `path` is the response path (of the error, for errors)."""

    kind: str
    path: Path_
    turnout: Any = None
    reference: Any = None

    def describe(self, limit: int = 120) -> str:
        where = ".".join(map(str, self.path)) or "(root)"
        if self.kind.startswith("error"):
            return f"{self.kind} at {where}"
        return f"{self.kind} at {where}: turnout {_short(self.turnout, limit)}, reference {_short(self.reference, limit)}"


def _short(value: Any, limit: int) -> str:
    import json

    text = (
        json.dumps(value, ensure_ascii=False)
        if not isinstance(value, str) or value[:1] in "{["
        else repr(value)
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_paths(body: dict[str, Any]) -> set[Path_]:
    errors = body.get("errors") or []
    return {tuple(e.get("path") or ()) for e in errors if isinstance(e, dict)}


def diff(turnout: Answer, reference: Answer) -> list[Item]:
    """The differences: HTTP status, data (key order ignored, lists in order), the sets of error paths."""
    items: list[Item] = []
    if turnout.status != reference.status:
        items.append(Item("status", (), turnout.status, reference.status))
    if not isinstance(turnout.body, dict) or not isinstance(reference.body, dict):
        if turnout.body != reference.body:
            items.append(Item("not json", (), turnout.body, reference.body))
        return items
    _walk(turnout.body.get("data"), reference.body.get("data"), (), items)
    ours, theirs = _error_paths(turnout.body), _error_paths(reference.body)
    items += [Item("error only in turnout", p) for p in sorted(ours - theirs, key=str)]
    items += [Item("error only in reference", p) for p in sorted(theirs - ours, key=str)]
    return items


def _walk(ours: Any, theirs: Any, path: Path_, items: list[Item]) -> None:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in [*ours, *(k for k in theirs if k not in ours)]:
            if key not in theirs:
                items.append(Item("only in turnout", (*path, key), ours[key]))
            elif key not in ours:
                items.append(Item("only in reference", (*path, key), None, theirs[key]))
            else:
                _walk(ours[key], theirs[key], (*path, key), items)
    elif isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            items.append(Item("length", path, ours, theirs))
        else:
            for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
                _walk(a, b, (*path, index), items)
    elif ours != theirs or isinstance(ours, bool) != isinstance(theirs, bool):
        items.append(Item("value", path, ours, theirs))


# -- where a response path points in the schema, and the shape of an operation ---------------------------------------


def _parts(document: DocumentNode) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return operation, fragments


def _fields(
    schema: GraphQLSchema,
    parent: Composite,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> Iterator[tuple[Composite, FieldNode]]:
    """Every field of a selection set with the type it is selected on, through fragments (conditions not applied)."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield parent, selection
            continue
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            condition, inner = fragment.type_condition.name.value, fragment.selection_set
        else:
            assert isinstance(selection, InlineFragmentNode)
            condition = selection.type_condition.name.value if selection.type_condition else parent.name
            inner = selection.selection_set
        on = schema.get_type(condition)
        assert isinstance(on, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
        yield from _fields(schema, on, inner, fragments)


def coordinates(schema: GraphQLSchema, document: DocumentNode, path: Path_) -> frozenset[str]:
    """The schema coordinates (`Type.field`) a response path can end on: every field selected under that response
    key on that path, on the types it is selected on and, for an interface, on its implementations."""
    operation, fragments = _parts(document)
    root = schema.query_type if operation.operation.value == "query" else schema.mutation_type
    assert root is not None
    level: list[tuple[Composite, SelectionSetNode]] = [(root, operation.selection_set)]
    found: set[str] = set()
    for key in path:
        if isinstance(key, int):
            continue
        found, below = set(), []
        for parent, selection_set in level:
            for on, node in _fields(schema, parent, selection_set, fragments):
                if (node.alias or node.name).value != key:
                    continue
                name = node.name.value
                found.add(f"{on.name}.{name}")
                if isinstance(on, GraphQLInterfaceType):
                    found.update(f"{t.name}.{name}" for t in schema.get_possible_types(on))
                definition = None if isinstance(on, GraphQLUnionType) else on.fields.get(name)
                named = get_named_type(definition.type) if definition else None
                if node.selection_set and isinstance(
                    named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
                ):
                    below.append((named, node.selection_set))
        level = below
    return frozenset(found)


def shape(document: DocumentNode) -> str:
    """The operation with its fragments inlined, without aliases, arguments or directives, each selection set sorted
    and without repeats: `query{product{name reviews{...on Review{body}}}}`."""
    operation, fragments = _parts(document)

    def walk(selection_set: SelectionSetNode) -> str:
        parts = set()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                parts.add(
                    selection.name.value + (walk(selection.selection_set) if selection.selection_set else "")
                )
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                parts.add(f"...on {fragment.type_condition.name.value}" + walk(fragment.selection_set))
            else:
                assert isinstance(selection, InlineFragmentNode)
                condition = (
                    f"...on {selection.type_condition.name.value}" if selection.type_condition else "..."
                )
                parts.add(condition + walk(selection.selection_set))
        return "{" + " ".join(sorted(parts)) + "}"

    return operation.operation.value + walk(operation.selection_set)


# -- experiments: rewritings that cannot change a correct gateway's answer --------------------------------------------

Variables = dict[str, Any]
RENAMED = "__renamed"  # appended to every alias by the alias-names experiment
EMPTY = (
    "__emptied"  # the alias of the `__typename` that fills a selection set the conditions experiment emptied
)


class _RenameAliases(Visitor):
    def enter_field(self, node: FieldNode, *_args: Any) -> FieldNode | None:
        if node.alias is None or node.alias.value == node.name.value:
            return None
        renamed = copy(node)
        renamed.alias = NameNode(value=node.alias.value + RENAMED)
        return renamed


class _ApplyConditions(Visitor):
    """Removes what `@skip`/`@include` exclude with these variables, and the directives of what they keep."""

    def __init__(self, variables: Variables) -> None:
        super().__init__()
        self.variables = variables

    def _if(self, directive: DirectiveNode) -> bool:
        value = next(a.value for a in directive.arguments or () if a.name.value == "if")
        if isinstance(value, VariableNode):
            return bool(self.variables.get(value.name.value))
        return isinstance(value, BooleanValueNode) and value.value

    def enter(self, node: Node, *_args: Any) -> Any:
        if not isinstance(node, FieldNode | InlineFragmentNode | FragmentSpreadNode):
            return None
        conditions = [d for d in node.directives or () if d.name.value in ("skip", "include")]
        if not conditions:
            return None
        if any(self._if(d) == (d.name.value == "skip") for d in conditions):
            return REMOVE
        kept = copy(node)
        kept.directives = tuple(d for d in node.directives or () if d not in conditions)
        return kept

    def leave_selection_set(self, node: SelectionSetNode, *_args: Any) -> SelectionSetNode | None:
        if node.selections:
            return None
        typename = FieldNode(
            alias=NameNode(value=EMPTY), name=NameNode(value="__typename"), arguments=(), directives=()
        )
        return SelectionSetNode(selections=(typename,))


class _InlineFragments(Visitor):
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        super().__init__()
        self.fragments = fragments

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: Any) -> InlineFragmentNode:
        fragment = self.fragments[node.name.value]
        return InlineFragmentNode(
            type_condition=fragment.type_condition,
            directives=node.directives,
            selection_set=fragment.selection_set,
        )


def _tidy(document: DocumentNode, variables: Variables) -> tuple[DocumentNode, Variables]:
    """Without the fragments and variables nothing uses any more (graphql-core's validation refuses them)."""
    operation, fragments = _parts(document)
    used_fragments: set[str] = set()
    todo: list[Node] = [operation]
    while todo:
        for spread in _nodes(todo.pop(), FragmentSpreadNode):
            if spread.name.value not in used_fragments:
                used_fragments.add(spread.name.value)
                todo.append(fragments[spread.name.value])
    kept = [operation, *(f for name, f in fragments.items() if name in used_fragments)]
    used = {v.name.value for node in kept for v in _nodes(node.selection_set, VariableNode)}
    operation = copy(operation)
    operation.variable_definitions = tuple(
        d for d in operation.variable_definitions or () if d.variable.name.value in used
    )
    return DocumentNode(definitions=(operation, *kept[1:])), {k: v for k, v in variables.items() if k in used}


def _nodes(root: Node, kind: type[_N]) -> list[_N]:
    found: list[_N] = []

    class Collect(Visitor):
        def enter(self, node: Node, *_args: Any) -> None:
            if isinstance(node, kind):
                found.append(node)

    visit(root, Collect())
    return found


def _rename_keys(value: Any, strip: Callable[[str], str | None]) -> Any:
    """`value` with its object keys (and error path entries) passed through `strip`; None drops the key."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            new = strip(key) if isinstance(key, str) else key
            if new is not None:
                out[new] = (
                    [strip(p) if isinstance(p, str) else p for p in item]
                    if key == "path" and isinstance(item, list)
                    else _rename_keys(item, strip)
                )
        return out
    if isinstance(value, list):
        return [_rename_keys(item, strip) for item in value]
    return value


@dataclass(frozen=True)
class Experiment:
    """A rewriting of the operation that leaves a correct answer unchanged once `restore`d."""

    name: str
    rewrite: Callable[[DocumentNode, Variables], tuple[DocumentNode, Variables] | None]
    restore: Callable[[Any], Any]


def _rewrite_aliases(document: DocumentNode, variables: Variables) -> tuple[DocumentNode, Variables] | None:
    if not _nodes(document, FieldNode) or all(f.alias is None for f in _nodes(document, FieldNode)):
        return None
    return visit(document, _RenameAliases()), variables


def _rewrite_conditions(
    document: DocumentNode, variables: Variables
) -> tuple[DocumentNode, Variables] | None:
    if not any(d.name.value in ("skip", "include") for d in _nodes(document, DirectiveNode)):
        return None
    return _tidy(visit(document, _ApplyConditions(variables)), variables)


def _rewrite_fragments(document: DocumentNode, variables: Variables) -> tuple[DocumentNode, Variables] | None:
    if not _nodes(document, FragmentSpreadNode):
        return None
    return _tidy(visit(document, _InlineFragments(_parts(document)[1])), variables)


def _rewrite_all(document: DocumentNode, variables: Variables) -> tuple[DocumentNode, Variables] | None:
    steps = 0
    for rewrite in (_rewrite_conditions, _rewrite_fragments, _rewrite_aliases):
        rewritten = rewrite(document, variables)
        if rewritten is not None:
            (document, variables), steps = rewritten, steps + 1
    return (document, variables) if steps > 1 else None


def _restore_keys(key: str) -> str | None:
    return None if key == EMPTY else key.removesuffix(RENAMED)


EXPERIMENTS = (
    # every alias renamed to a name no field has: a response key is the client's choice (2.7 Field Alias)
    Experiment("alias-names", _rewrite_aliases, lambda body: _rename_keys(body, _restore_keys)),
    # @skip/@include applied beforehand: what they exclude is not there, what they keep has no directive (3.13)
    Experiment("conditions", _rewrite_conditions, lambda body: _rename_keys(body, _restore_keys)),
    # each fragment spread replaced by an inline fragment with its type condition and selections (5.5.2, 6.3.2)
    Experiment("named-fragments", _rewrite_fragments, lambda body: body),
    # the three together (when more than one applies)
    Experiment("all-three", _rewrite_all, lambda body: _rename_keys(body, _restore_keys)),
)


# -- accepted differences ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One operation both gateways answered differently, with what the predicates need to judge it."""

    world: str
    schema: GraphQLSchema
    document: DocumentNode
    variables: Variables
    turnout: Answer
    reference: Answer
    items: list[Item]
    # experiment name -> (turnout's answer unchanged by it, the reference's unchanged by it, both agree on the
    # rewritten operation but for differences other entries accept)
    experiments: dict[str, tuple[bool, bool, bool]] = field(default_factory=dict)
    _selected: DocumentNode | None = field(default=None, repr=False)

    @property
    def selected(self) -> DocumentNode:
        """The document as these variables select it: what @skip/@include exclude removed."""
        if self._selected is None:
            self._selected = visit(self.document, _ApplyConditions(self.variables))
        return self._selected

    @property
    def shape(self) -> str:
        return shape(self.selected)

    def coordinates(self, item: Item) -> frozenset[str]:
        return coordinates(self.schema, self.selected, item.path)


def _errors_at(body: Any, path: Path_) -> list[dict[str, Any]]:
    errors = body.get("errors") or [] if isinstance(body, dict) else []
    return [e for e in errors if isinstance(e, dict) and tuple(e.get("path") or ()) == path]


def _services(body: Any, path: Path_) -> set[str]:
    """The subgraphs (`extensions.serviceName`) of the errors at `path`."""
    return {
        str(e["extensions"]["serviceName"])
        for e in _errors_at(body, path)
        if (e.get("extensions") or {}).get("serviceName")
    }


def _value_at(data: Any, path: Path_) -> tuple[bool, Any]:
    """(whether the path leads somewhere in `data`, the value there); a null on the way is where it stops."""
    for key in path:
        if data is None:
            return True, None
        if isinstance(data, dict):
            if key not in data:
                return False, None
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return False, None
    return True, data


def _value_completion(case: Case, item: Item) -> bool:
    """turnout's own error (no subgraph's) that the reference reports under `extensions.valueCompletion`, or drops
    because some subgraph answered an error too (@apollo/gateway's executeQueryPlan keeps its post-processing
    errors only when no fetch failed)."""
    if item.kind != "error only in turnout" or not _errors_at(case.turnout.body, item.path):
        return False
    if _services(case.turnout.body, item.path):
        return False
    hidden = (case.reference.body.get("extensions") or {}).get("valueCompletion") or []
    return item.path in {tuple(e.get("path") or ()) for e in hidden} or bool(
        case.reference.body.get("errors")
    )


def _reported(body: Any) -> dict[Path_, set[str]]:
    """Every error path of an answer (those under `extensions.valueCompletion` too), with its subgraphs."""
    errors = [*(body.get("errors") or []), *((body.get("extensions") or {}).get("valueCompletion") or [])]
    found: dict[Path_, set[str]] = {}
    for error in errors:
        if isinstance(error, dict) and error.get("path"):
            service = (error.get("extensions") or {}).get("serviceName")
            found.setdefault(tuple(error["path"]), set()).update([str(service)] if service else [])
    return found


def _same_null_another_error(case: Case, item: Item) -> bool:
    """An error only one gateway reports, where the other reports one from the same source (the same subgraph, or
    both the gateway's own) at another path, and the two paths part under an object both answers have null."""
    if not item.kind.startswith("error only in"):
        return False
    ours = item.kind.endswith("turnout")
    mine, other = (case.turnout, case.reference) if ours else (case.reference, case.turnout)
    source = _reported(mine.body).get(item.path, set())
    for path, services in _reported(other.body).items():
        if path == item.path or services != source:
            continue
        common = next(
            (n for n, (a, b) in enumerate(zip(item.path, path, strict=False)) if a != b),
            min(len(item.path), len(path)),
        )
        if common < min(len(item.path), len(path)) and all(
            _value_at(answer.body.get("data"), item.path[:common]) == (True, None)
            for answer in (case.turnout, case.reference)
        ):
            return True
    return False


def _null_without_errors(case: Case, item: Item) -> bool:
    """The reference answers `data: null` without any entry in "errors", turnout with data."""
    body = case.reference.body
    return (
        item.kind == "value"
        and item.path == ()
        and body.get("data") is None
        and not body.get("errors")
        and case.turnout.body.get("data") is not None
    )


def _subgraph_error_turnout_avoids(case: Case, item: Item) -> bool:
    """A subgraph error only the reference got, at a field the operation does not select (its plan added it) or
    where turnout has a value from the same subgraphs; and the nulls it caused on its path in the reference."""
    turnout_data = case.turnout.body.get("data")
    broken = [
        i.path
        for i in case.items
        if i.kind == "error only in reference"
        and _services(case.reference.body, i.path)
        and (not case.coordinates(i) or _value_at(turnout_data, i.path)[1] is not None)
    ]
    if item.kind == "error only in reference":
        return item.path in broken
    return (
        item.kind == "value"
        and item.reference is None
        and any(p[: len(item.path)] == item.path for p in broken)
    )


def _depends_on(experiment: str) -> Callable[[Case, Item], bool]:
    def predicate(case: Case, _item: Item) -> bool:
        """The rewriting changes the reference's answer but not turnout's, and on the rewritten operation both
        agree."""
        return case.experiments.get(experiment) == (True, False, True)

    return predicate


def _interface_object_typename(case: Case, item: Item) -> bool:
    """What the reference loses on objects of an interface another subgraph sees as an @interfaceObject: a field it
    leaves out that is selected only under type conditions naming object types (`... on Book { pages }`), or the
    object itself, null in the reference without any error, where turnout has the object."""
    reference = case.reference.body
    if item.kind == "value" and item.reference is None and isinstance(item.turnout, dict) and item.turnout:
        errors = reference.get("errors") or []
        if any(
            tuple(e.get("path") or ())[: len(item.path)] == item.path for e in errors if isinstance(e, dict)
        ):
            return False
        types = [case.schema.get_type(c.split(".")[0]) for c in case.coordinates(item)]
        fields = [
            t.fields.get(c.split(".")[1])
            for t, c in zip(types, case.coordinates(item), strict=True)
            if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)
        ]
        return bool(fields) and all(
            f is not None and isinstance(get_named_type(f.type), GraphQLInterfaceType) for f in fields
        )
    if item.kind != "only in turnout":
        return False
    found, parent = case.coordinates(item), _value_at(reference.get("data"), item.path[:-1])[1]
    return (
        isinstance(parent, dict)
        and bool(found)
        and all(isinstance(case.schema.get_type(c.split(".")[0]), GraphQLObjectType) for c in found)
    )


PREDICATES: dict[str, Callable[[Case, Item], bool]] = {
    "reference-value-completion": _value_completion,
    "same-null-another-error": _same_null_another_error,
    "reference-loses-interface-object-types": _interface_object_typename,
    "reference-null-without-errors": _null_without_errors,
    "reference-subgraph-error-turnout-avoids": _subgraph_error_turnout_avoids,
    **{f"reference-depends-on-{e.name}": _depends_on(e.name) for e in EXPERIMENTS},
}


@dataclass(frozen=True)
class Accepted:
    """A known difference: what it matches (all conditions given must hold for an item) and why it is accepted."""

    id: str
    verdict: str
    reason: str
    sets: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    coordinates: frozenset[str] = frozenset()
    shape: re.Pattern[str] | None = None
    predicate: str | None = None

    def accepts(self, case: Case, item: Item) -> bool:
        return (
            (not self.sets or case.world in self.sets)
            and (not self.kinds or item.kind in self.kinds)
            and (not self.coordinates or bool(self.coordinates & case.coordinates(item)))
            and (self.shape is None or self.shape.search(case.shape) is not None)
            and (self.predicate is None or PREDICATES[self.predicate](case, item))
        )


def load_accepted(path: Path = ACCEPTED_PATH) -> list[Accepted]:
    """The entries of an accepted-differences file (a YAML list); a wrong key or value is a ValueError."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    known = {"id", "verdict", "reason", "sets", "kinds", "coordinates", "shape", "predicate"}
    accepted = []
    for entry in entries:
        where = f"{path}: entry {entry.get('id', '?')!r}"
        if set(entry) - known or not {"id", "verdict", "reason"} <= set(entry):
            raise ValueError(f"{where}: keys must be among {sorted(known)}, with id, verdict and reason")
        if entry["verdict"] not in VERDICTS:
            raise ValueError(f"{where}: verdict must be one of {VERDICTS}")
        if entry.get("predicate") is not None and entry["predicate"] not in PREDICATES:
            raise ValueError(f"{where}: predicate must be one of {sorted(PREDICATES)}")
        if not {"sets", "kinds", "coordinates", "shape", "predicate"} & set(entry):
            raise ValueError(f"{where}: matches everything (give a predicate, coordinates, a shape...)")
        accepted.append(
            Accepted(
                id=entry["id"],
                verdict=entry["verdict"],
                reason=" ".join(str(entry["reason"]).split()),
                sets=frozenset(entry.get("sets", ())),
                kinds=frozenset(entry.get("kinds", ())),
                coordinates=frozenset(entry.get("coordinates", ())),
                shape=re.compile(entry["shape"]) if entry.get("shape") else None,
                predicate=entry.get("predicate"),
            )
        )
    return accepted
