"""What one GraphQL request may cost before the gateway spends anything on it.

Every limit has a safe default (documented on `Limits`) and answers with a GraphQL error, never a crash:

- HTTP (checked by the endpoint): the body size (413), the batch size (batching is off by default), the size
  and the nesting of the variables (400).
- parsing (checked by `Gateway.prepare`): lexical tokens and comments (graphql-core's parser limits), and the
  nesting of the document (selection sets, list and object values, list types) before anything recursive
  walks it; a document nested beyond what the interpreter's stack can parse is a syntax error too.
- validation (graphql-core `ASTValidationRule`s run by `Gateway.prepare` before the specified rules, so a
  hostile document is refused before the expensive rules see it): the depth of the operation, its aliases and
  its root fields (fragments expanded, each spread counted), and the directives on one field or fragment.

`None` turns a limit off.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListTypeNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    print_ast,
    visit,
)
from graphql.validation import ASTValidationRule, ValidationContext

__all__ = [
    "Limits",
    "collapse_repeated_selections",
    "limit_rules",
    "nesting_error",
    "remove_suggestions",
    "variables_error",
]


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Request limits; the defaults follow Apollo Router's where it has one (`None` = no limit).

    - `max_tokens` 15,000: Apollo Router's `parser_max_tokens`. Comments are bounded by the same number.
    - `max_nesting` 200: Apollo Router's `parser_max_recursion` is 500, more than a Python stack can parse
      and validate safely; 200 levels of selection sets, lists and objects is still far beyond real use.
    - `max_depth` 100: selection depth (`{ a { b } }` is 2), fragments followed.
    - `max_aliases` 100, `max_root_fields` 50: counted with fragments expanded (each spread counts), so
      alias-based brute forcing and root-field fan-out stay bounded. Apollo Router leaves these unset.
    - `max_directives` 10: directives on one field, fragment spread, inline fragment or operation.
    - `max_selections` 10,000: fields and fragments the planner walks once the operation's fragments are
      expanded and merged (a spread repeating what is already selected adds nothing, so fragment bombs that
      repeat themselves plan in a millisecond). Apollo Router's `max_recursive_selections` (10,000,000) counts
      the same walk before merging, for a planner about 100 times faster per selection; planning here costs
      about 50 us per selection, so 10,000 bounds one plan near half a second, while a document without
      repeated fragments under `max_tokens` stays well below it.
    - `batching` off; when on, at most `max_batch_size` 10 operations per request (a JSON array).
    - `max_variables_bytes` 512 KiB (as JSON) and `max_variables_depth` 64 levels of lists and objects.
    """

    max_tokens: int | None = 15_000
    max_nesting: int | None = 200
    max_depth: int | None = 100
    max_aliases: int | None = 100
    max_root_fields: int | None = 50
    max_directives: int | None = 10
    max_selections: int | None = 10_000
    batching: bool = False
    max_batch_size: int = 10
    max_variables_bytes: int | None = 512 * 1024
    max_variables_depth: int | None = 64


def _limit_error(message: str, code: str, nodes: Any = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": code})


# -- parsing ----------------------------------------------------------------------------------------------------

_NESTING_KINDS = (SelectionSetNode, ListValueNode, ObjectValueNode, ListTypeNode)


class _Nesting(Visitor):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.depth = 0
        self.exceeded = False

    def enter(self, node: Node, *_args: Any) -> Any:
        if isinstance(node, _NESTING_KINDS):
            self.depth += 1
            if self.depth > self.limit:
                self.exceeded = True
                return BREAK
        return None

    def leave(self, node: Node, *_args: Any) -> Any:
        if isinstance(node, _NESTING_KINDS):
            self.depth -= 1
        return None


def nesting_error(document: DocumentNode, limit: int | None) -> GraphQLError | None:
    """An error when the document nests selection sets, values or list types deeper than `limit`.

    graphql-core's `visit` keeps its own stack, so this walk is safe at any depth the parser produced; it runs
    before the validation rules, some of which recurse.
    """
    if limit is None:
        return None
    nesting = _Nesting(limit)
    visit(document, nesting)
    if nesting.exceeded:
        return _limit_error(
            f"Syntax Error: the document is nested more than {limit} levels deep.", "PARSER_NESTING_LIMIT"
        )
    return None


# -- before validation -----------------------------------------------------------------------------------------


class _Collapser:
    """Selections identical to an earlier sibling removed: they add nothing to the response, and graphql-core's
    overlapping-fields rule would compare every pair of them (3,000 copies of one field: 0.8 s of CPU)."""

    def __init__(self) -> None:
        self.ids: dict[tuple[object, ...], int] = {}

    def selection_set(self, node: SelectionSetNode) -> tuple[SelectionSetNode, int]:
        kept: list[Any] = []
        seen: set[int] = set()
        changed = False
        for child in node.selections:
            new, key = self.selection(child)
            if key in seen:
                changed = True
                continue
            seen.add(key)
            kept.append(new)
            changed = changed or new is not child
        signature = self._id(("set", *(self._key_of(k) for k in kept)))
        if not changed:
            return node, signature
        return SelectionSetNode(selections=tuple(kept), loc=node.loc), signature

    def _key_of(self, node: Any) -> int:
        return self._keys[id(node)]

    def selection(self, node: Any) -> tuple[Any, int]:
        inner = node.selection_set if isinstance(node, FieldNode | InlineFragmentNode) else None
        new = node
        inner_key = -1
        if inner is not None:
            collapsed, inner_key = self.selection_set(inner)
            if collapsed is not inner:
                new = copy.copy(node)
                new.selection_set = collapsed
        directives = tuple(print_ast(d) for d in node.directives or ())
        if isinstance(node, FieldNode):
            key: tuple[object, ...] = (
                "field",
                node.alias.value if node.alias else None,
                node.name.value,
                tuple(print_ast(a) for a in node.arguments or ()),
                directives,
                inner_key,
            )
        elif isinstance(node, InlineFragmentNode):
            key = (
                "inline",
                node.type_condition.name.value if node.type_condition else None,
                directives,
                inner_key,
            )
        else:
            key = ("spread", node.name.value, directives)
        signature = self._id(key)
        self._keys[id(new)] = signature
        self._pinned.append(new)
        return new, signature

    def _id(self, key: tuple[object, ...]) -> int:
        return self.ids.setdefault(key, len(self.ids))

    _keys: dict[int, int]
    _pinned: list[Any]

    def document(self, document: DocumentNode) -> DocumentNode:
        self._keys = {}
        self._pinned = []
        definitions: list[Any] = []
        changed = False
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
                collapsed, _key = self.selection_set(definition.selection_set)
                if collapsed is not definition.selection_set:
                    definition = copy.copy(definition)
                    definition.selection_set = collapsed
                    changed = True
            definitions.append(definition)
        return DocumentNode(definitions=tuple(definitions), loc=document.loc) if changed else document


def collapse_repeated_selections(document: DocumentNode) -> DocumentNode:
    """`document` without selections that repeat an earlier sibling exactly (same alias, name, arguments,
    directives and sub-selections; same spread or inline fragment). The response is the same; validation and
    planning do less. Run after the nesting check: it recurses once per level."""
    return _Collapser().document(document)


# -- validation rules ------------------------------------------------------------------------------------------


@dataclass
class _Cost:
    depth: int = 0
    aliases: int = 0
    root_fields: int = 0  # fields of the selection set itself, fragments at this level expanded


class _CostWalker:
    """Depth, aliases and fields of selection sets, named fragments computed once (cycles count as empty).

    Not GraphQL's field collection (`collect_fields`, which the rest of turnout uses): this runs before
    validation on documents built to explode, so it counts each named fragment once instead of expanding it."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, _Cost] = {}
        self.visiting: set[str] = set()

    def selection_set(self, selection_set: SelectionSetNode | None) -> _Cost:
        cost = _Cost()
        if selection_set is None:
            return cost
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                inner = self.selection_set(node.selection_set)
                cost.depth = max(cost.depth, 1 + inner.depth)
                cost.aliases += inner.aliases + (1 if node.alias is not None else 0)
                cost.root_fields += 1
                continue
            if isinstance(node, InlineFragmentNode):
                inner = self.selection_set(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                inner = self.fragment(node.name.value)
            else:  # pragma: no cover - no other selection kinds exist
                continue
            cost.depth = max(cost.depth, inner.depth)
            cost.aliases += inner.aliases
            cost.root_fields += inner.root_fields
        return cost

    def fragment(self, name: str) -> _Cost:
        known = self.memo.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:  # unknown or cyclic: other rules report it
            return _Cost()
        self.visiting.add(name)
        try:
            cost = self.selection_set(definition.selection_set)
        finally:
            self.visiting.discard(name)
        self.memo[name] = cost
        return cost


def _cost_rule(limits: Limits) -> type[ASTValidationRule]:
    """One rule for depth, aliases and root fields: they share a walk of each operation."""
    max_depth, max_aliases, max_root_fields = limits.max_depth, limits.max_aliases, limits.max_root_fields

    class OperationCostRule(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments = {
                d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }
            self.walker = _CostWalker(fragments)

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> Any:
            name = f"Operation {node.name.value!r}" if node.name else "The operation"
            try:
                cost = self.walker.selection_set(node.selection_set)
            except RecursionError:
                self.report_error(
                    _limit_error(f"{name} nests fragments too deeply.", "MAX_DEPTH_LIMIT", node)
                )
                return BREAK
            if max_depth is not None and cost.depth > max_depth:
                self.report_error(
                    _limit_error(
                        f"{name} is {cost.depth} fields deep, more than the limit of {max_depth}.",
                        "MAX_DEPTH_LIMIT",
                        node,
                    )
                )
            if max_aliases is not None and cost.aliases > max_aliases:
                self.report_error(
                    _limit_error(
                        f"{name} has {cost.aliases} aliases, more than the limit of {max_aliases}.",
                        "MAX_ALIASES_LIMIT",
                        node,
                    )
                )
            if max_root_fields is not None and cost.root_fields > max_root_fields:
                self.report_error(
                    _limit_error(
                        f"{name} selects {cost.root_fields} root fields, more than the limit of {max_root_fields}.",
                        "MAX_ROOT_FIELDS_LIMIT",
                        node,
                    )
                )
            return None

    return OperationCostRule


def _directives_rule(limit: int) -> type[ASTValidationRule]:
    class MaxDirectivesRule(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.known = {d.name: d.is_repeatable for d in context.schema.directives}

        def enter(self, node: Node, *_args: Any) -> Any:
            directives = getattr(node, "directives", None)
            if directives and len(directives) > limit:
                where = f"field {node.name.value!r}" if isinstance(node, FieldNode) else "one location"
                self.report_error(
                    _limit_error(
                        f"{len(directives)} directives on {where}, more than the limit of {limit}.",
                        "MAX_DIRECTIVES_LIMIT",
                        node,
                    )
                )
                return BREAK  # one error is enough
            # a repeated directive that is unknown or not repeatable: one error here, not one per copy later
            # (KnownDirectivesRule / UniqueDirectivesPerLocationRule report every copy)
            first: dict[str, Node] = {}
            for directive in directives or ():
                name = directive.name.value
                if name in first and not self.known.get(name, False):
                    message = (
                        f"The directive '@{name}' can only be used once at this location."
                        if name in self.known
                        else f"Unknown directive '@{name}'."
                    )
                    self.report_error(GraphQLError(message, [first[name], directive]))
                    return BREAK
                first.setdefault(name, directive)
            return None

    return MaxDirectivesRule


def limit_rules(limits: Limits) -> list[type[ASTValidationRule]]:
    """The validation rules enforcing `limits` (run before graphql-core's specified rules)."""
    rules: list[type[ASTValidationRule]] = []
    if limits.max_depth is not None or limits.max_aliases is not None or limits.max_root_fields is not None:
        rules.append(_cost_rule(limits))
    if limits.max_directives is not None:
        rules.append(_directives_rule(limits.max_directives))
    return rules


# -- messages --------------------------------------------------------------------------------------------------

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def remove_suggestions(message: str) -> str:
    """`message` without graphql-core's "Did you mean ...?" (they reveal the schema when introspection is off)."""
    return _SUGGESTION.sub("", message)


# -- variables -------------------------------------------------------------------------------------------------


def _deeper_than(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def variables_error(
    variables: Mapping[str, Any], limits: Limits, size: Callable[[], int] | None = None
) -> str | None:
    """Why `variables` are refused (too deeply nested, too large), or None."""
    if limits.max_variables_depth is not None and _deeper_than(dict(variables), limits.max_variables_depth):
        return f"The variables are nested more than {limits.max_variables_depth} levels deep."
    if limits.max_variables_bytes is not None:
        try:
            length = size() if size is not None else len(orjson.dumps(variables))
        except (TypeError, orjson.JSONEncodeError):
            return "The variables cannot be encoded as JSON."
        if length > limits.max_variables_bytes:
            return f"The variables exceed {limits.max_variables_bytes} bytes."
    return None
