"""The planning pipeline, top to bottom: operation -> normalized selections -> fetch groups -> plan."""

from __future__ import annotations

import re
from collections.abc import Mapping

from graphql import DocumentNode, FragmentDefinitionNode, OperationDefinitionNode, VariableNode, print_ast

from ..supergraph.model import SupergraphModel
from .capabilities import Capabilities
from .fetch_graph import FetchGroup, FieldBuilder, SelectionBuilder, separate_conflicting_fields
from .fetch_passes import PASSES, levels
from .normalize import Field, Fragment, Selection, SelectionLimitError, normalize_selection_set
from .plan_nodes import (
    Condition,
    Fetch,
    Flatten,
    Parallel,
    PlanNode,
    QueryPlan,
    Rename,
    RepField,
    RepFragment,
    Sequence,
    Shape,
)
from .routing import DEFAULT_ROUTING, Routing
from .walker import PlanningError, Walker

__all__ = ["PlanningError", "QueryPlanner", "SelectionLimitError", "select_operation"]

_NAME_UNSAFE = re.compile(r"[^_0-9A-Za-z]")


def _coordinates(selection: SelectionBuilder, out: set[str] | None = None) -> set[str]:
    """The "Type.field" of every field a fetch's selection asks for (`__typename` aside)."""
    found = set() if out is None else out
    for item in selection.items.values():
        if isinstance(item, FieldBuilder):
            if item.name != "__typename" and selection.parent_type:
                found.add(f"{selection.parent_type}.{item.name}")
            if item.sub is not None:
                _coordinates(item.sub, found)
        else:
            _coordinates(item, found)
    return found


def _data_keys(selection: SelectionBuilder) -> set[str]:
    """The data keys a fetch's selection fills at its own level (through its type fragments)."""
    found: set[str] = set()
    for item in selection.items.values():
        if isinstance(item, FieldBuilder):
            if item.name != "__typename":
                found.add(item.data_key)
        else:
            found |= _data_keys(item)
    return found


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    """The operation to run; PlanningError when the name is missing or unknown."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        for operation in operations:
            if operation.name and operation.name.value == operation_name:
                return operation
        raise PlanningError(f'Unknown operation named "{operation_name}".')
    if len(operations) != 1:
        raise PlanningError("Must provide operation name if query contains multiple operations.")
    return operations[0]


class QueryPlanner:
    """Plans operations over one supergraph. Build once per supergraph; `plan` is pure."""

    def __init__(self, model: SupergraphModel) -> None:
        self.model = model
        self._capabilities: dict[Routing, Capabilities] = {}

    def capabilities(self, routing: Routing) -> Capabilities:
        caps = self._capabilities.get(routing)
        if caps is None:
            if len(self._capabilities) > 256:
                self._capabilities.clear()
            caps = Capabilities(self.model, routing)
            self._capabilities[routing] = caps
        return caps

    def plan(
        self,
        document: DocumentNode,
        operation_name: str | None = None,
        routing: Routing = DEFAULT_ROUTING,
        *,
        max_selections: int | None = None,
    ) -> QueryPlan:
        """The plan of one operation. SelectionLimitError when its selections, fragments expanded and merged,
        exceed `max_selections` (the walk below visits each of them)."""
        operation = select_operation(document, operation_name)
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        kind = operation.operation.value
        root_type = self.model.root_type(kind)
        if root_type is None:
            raise PlanningError(f"The schema has no {kind} type.")
        selections = normalize_selection_set(
            operation.selection_set,
            fragments,
            root_type,
            schema=self.model.api_schema,
            max_selections=max_selections,
        )
        walker = Walker(self.capabilities(routing))
        try:
            walker.plan_root(kind, root_type, selections)
        except RecursionError:  # the walk recurses per level of selections and of key jumps
            raise PlanningError("The operation is nested too deeply to be planned.") from None
        variables = {v.variable.name.value: print_ast(v) for v in operation.variable_definitions or ()}
        name = operation.name.value if operation.name else None
        groups = walker.groups
        for optimise in PASSES:
            groups = optimise(groups, kind)
        fetches = {g.id: self._fetch(g, variables, name, walker) for g in groups}
        node = self._tree(groups, fetches, kind)
        return QueryPlan(
            node=node,
            operation_kind=kind,
            root_type=root_type,
            selections=selections,
            has_introspection=_has_introspection(selections),
            signature=tuple(f"{f.service}\n{f.operation}" for f in fetches.values()),
        )

    # -- fetch nodes ----------------------------------------------------------------------------------------

    def _fetch(
        self, group: FetchGroup, variables: Mapping[str, str], operation_name: str | None, walker: Walker
    ) -> Fetch:
        renames: tuple[Rename, ...] = ()
        if separate_conflicting_fields(
            group.selection, lambda t, f: walker.caps.field_shape(group.graph, t, f), walker.client_keys
        ):
            renames = _renames(group.selection, None)
        used: set[str] = set()
        group.selection.variables(used)
        usages = tuple(v for v in variables if v in used)
        definitions = [variables[v] for v in usages]
        service = self.model.subgraphs[group.graph].name
        definitions += [f"${c.variable}: {c.type}" for c in group.contexts]
        if group.is_entity:
            definitions.insert(0, "$representations: [_Any!]!")
            body = "{_entities(representations: $representations) " + group.selection.print() + "}"
        else:
            body = group.selection.print()
        header = "query" if group.is_entity else group.operation_type
        if operation_name:
            header += f" {operation_name}__{_NAME_UNSAFE.sub('_', service)}__{group.id}"
        if definitions:
            header += "(" + ", ".join(definitions) + ")"
        requires = None
        display_requires = None
        if group.is_entity:
            requires = tuple(
                RepFragment(
                    type_condition=condition or "",
                    typename=group.rep_typenames.get(condition or ""),
                    selections=_rep_selections(sub),
                )
                for condition, _directives, sub in group.requires.fragments()
            )
            display_requires = group.requires.print(0)
        return Fetch(
            id=group.id,
            service=service,
            graph=group.graph,
            operation=f"{header} {body}",
            operation_kind="query" if group.is_entity else group.operation_type,
            variable_usages=usages,
            requires=requires,
            display_requires=display_requires,
            display_selection=group.selection.print(0),
            renames=renames,
            internal_keys=frozenset(
                k
                for k in _response_keys(group.selection)
                if k.startswith("_t_") and k not in walker.client_keys
            ),
            contexts=tuple(group.contexts),
            coordinates=frozenset(_coordinates(group.selection)),
            data_keys=frozenset(_data_keys(group.selection)),
            shape=None
            if group.is_entity or group.operation_type != "query" or renames
            else self._shape(group.selection),
            entity_shapes=self._entity_shapes(group.selection)
            if group.is_entity and not renames and not group.contexts
            else (),
        )

    def _entity_shapes(self, selection: SelectionBuilder) -> tuple[tuple[str, Shape], ...]:
        """An entity fetch's selection per object type (`... on T { plain fields }`); () if it has another form."""
        found: list[tuple[str, Shape]] = []
        for item in selection.items.values():
            condition, directives = item.condition if isinstance(item, SelectionBuilder) else (None, ())
            if not isinstance(item, SelectionBuilder) or condition is None or directives:
                return ()
            shape = self._shape(item)
            if shape is None or shape[0] != condition:
                return ()  # not a concrete type's plain fields
            found.append((condition, shape))
        return tuple(found)

    def _shape(self, selection: SelectionBuilder) -> Shape | None:
        """The selection as executor.reuse compares it; None when it has fragments or conditions."""
        entries: list[tuple[str, str, str, Shape | None]] = []
        for item in selection.items.values():
            if not isinstance(item, FieldBuilder) or item.directives:
                return None
            sub = None
            if item.sub is not None:
                sub = self._shape(item.sub)
                if sub is None:
                    return None
            entries.append((item.response_key, item.name, item.arguments_text, sub))
        typedef = self.model.types.get(selection.parent_type or "")
        concrete = selection.parent_type if typedef is not None and typedef.kind == "object" else None
        return (concrete, tuple(entries))

    # -- plan tree --------------------------------------------------------------------------------------------

    def _tree(self, groups: list[FetchGroup], fetches: Mapping[int, Fetch], kind: str) -> PlanNode | None:
        if not groups:
            return None
        if kind == "mutation":
            roots = sorted({g.root_index for g in groups})
            steps = [self._levels([g for g in groups if g.root_index == r], fetches) for r in roots]
            return _wrap(Sequence, [s for s in steps if s is not None])
        return self._levels(groups, fetches)

    def _levels(self, groups: list[FetchGroup], fetches: Mapping[int, Fetch]) -> PlanNode | None:
        level = levels(groups)
        steps: list[PlanNode] = []
        for current in range(max(level.values()) + 1 if level else 0):
            nodes: list[PlanNode] = []
            for group in groups:
                if level[group.id] != current or _empty(group):
                    continue
                fetch = fetches[group.id]
                node: PlanNode = fetch
                if group.is_entity:
                    node = Flatten(path=group.path, node=fetch, more_paths=tuple(group.more_paths))
                    condition = _entity_condition(group.selection)
                else:
                    condition = _root_condition(group.selection)
                if condition is None:
                    nodes.append(node)
                else:
                    variable, include = condition
                    nodes.append(
                        Condition(
                            variable=variable,
                            if_clause=node if include else None,
                            else_clause=None if include else node,
                        )
                    )
            if nodes:
                steps.append(_wrap(Parallel, nodes))
        return _wrap(Sequence, steps) if steps else None


def _root_condition(selection: SelectionBuilder) -> tuple[str, bool] | None:
    """(variable, include?) when every root selection of a fetch carries the same @skip/@include."""
    found: set[tuple[str, bool]] = set()
    for item in selection.items.values():
        directives = item.directives if isinstance(item, FieldBuilder) else item.condition[1]
        if len(directives) != 1:
            return None
        directive = directives[0]
        argument = next((a for a in directive.arguments or () if a.name.value == "if"), None)
        if argument is None or not isinstance(argument.value, VariableNode):
            return None
        found.add((argument.value.name.value, directive.name.value == "include"))
    return found.pop() if len(found) == 1 else None


def _entity_condition(selection: SelectionBuilder) -> tuple[str, bool] | None:
    """(variable, include?) when everything an entity fetch selects, in each of its type fragments, carries the
    same @skip/@include: the fetch runs only when that condition holds."""
    found: set[tuple[str, bool] | None] = set()
    for _condition, directives, fragment in selection.fragments():
        if directives:
            return None
        found.add(_root_condition(fragment))
    if len(found) != 1:
        return None
    return found.pop()


def _empty(group: FetchGroup) -> bool:
    return not group.selection


def _wrap(kind: type[Sequence] | type[Parallel], nodes: list[PlanNode]) -> PlanNode:
    if len(nodes) == 1:
        return nodes[0]
    return kind(nodes=tuple(nodes))


def _rep_selections(builder: SelectionBuilder) -> tuple[RepField | RepFragment, ...]:
    out: list[RepField | RepFragment] = []
    for key, item in builder.items.items():
        if isinstance(item, FieldBuilder):
            out.append(
                RepField(
                    key=item.response_key,
                    name=item.name,
                    selections=_rep_selections(item.sub) if item.sub is not None else None,
                )
            )
        else:
            out.append(RepFragment(type_condition=key[1], typename=None, selections=_rep_selections(item)))
    return tuple(out)


def _response_keys(builder: SelectionBuilder) -> set[str]:
    found: set[str] = set()
    stack = [builder]
    while stack:
        for item in stack.pop().items.values():
            if isinstance(item, FieldBuilder):
                found.add(item.response_key)
                if item.sub is not None:
                    stack.append(item.sub)
            else:
                stack.append(item)
    return found


def _renames(builder: SelectionBuilder, condition: str | None) -> tuple[Rename, ...]:
    out: list[Rename] = []
    for item in builder.items.values():
        if isinstance(item, FieldBuilder):
            children = _renames(item.sub, None) if item.sub is not None else ()
            if children or item.data_key != item.response_key:
                out.append(
                    Rename(
                        type_condition=condition,
                        key=item.response_key,
                        data_key=item.data_key,
                        children=children,
                    )
                )
        else:
            out.extend(_renames(item, item.condition[0] or condition))
    return tuple(out)


def _has_introspection(selections: tuple[Selection, ...]) -> bool:
    for item in selections:
        if isinstance(item, Field) and item.name in ("__schema", "__type"):
            return True
        if isinstance(item, Fragment) and _has_introspection(item.selections):
            return True
    return False
