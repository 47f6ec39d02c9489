"""Walk a normalized operation over the supergraph and build its fetch groups, one field at a time.

At each object, `CostModel.choose` (planner/costs.py) decides where each field's value comes from (planner/moves.py:
stay in the subgraph fetching the object, jump to another through an entity key, or split a value type among
several); the walk applies that move: it writes the field into a fetch group's selection, opening the `_entities`
group of a jump with its representation (the key's and `@requires` fields, planned in the parent group), and walks
the field's own selections from there. Interfaces and unions are narrowed to the object types each subgraph can
return; an interface object's `__typename` and type conditions take a jump to a subgraph that knows the real type.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import Any, NamedTuple

from graphql import ArgumentNode, NameNode, OperationDefinitionNode, SelectionSetNode, VariableNode, parse

from .capabilities import Capabilities
from .costs import INF, CostModel, Joined, Spot
from .fetch_graph import FetchGroup, SelectionBuilder, runs_after
from .moves import Choice, Jump, Split, Stay
from .normalize import Field, Fragment, Selection, client_keys, print_arguments
from .plan_nodes import ContextRewrite
from .representations import level_keys, record_rep, rep_conflicts, with_internal_keys
from .selections import NOTHING_PROVIDED, FieldType, ProvidedFields, SelectionView

__all__ = ["At", "PlanningError", "Walker"]

Conds = tuple[tuple[tuple[object, ...], str], ...]


class PlanningError(Exception):
    """The operation cannot be planned over this supergraph (a field no subgraph can reach)."""


class At(NamedTuple):
    """Where the walk is: the fetch group being built and the place in its selection, the object's type and
    response path, the `@skip`/`@include` conditions around it inside the group, the subgraphs it may not jump
    to, and whether it plans the planner's own fields (keys, requirements) rather than the client's."""

    group: FetchGroup
    sel: SelectionBuilder
    type_name: str
    path: tuple[str, ...]
    conds: Conds = ()
    exclude: frozenset[str] = frozenset()
    internal: bool = False

    def to(self, **changes: Any) -> At:
        return self._replace(**changes)


@dataclass(frozen=True, slots=True)
class _ContextFrame:
    """An object being walked whose type sets contexts (`@context`): where `@fromContext` values come from."""

    names: frozenset[str]
    at: At


class Walker:
    """Builds the fetch groups of one operation under one Routing (through Capabilities)."""

    def __init__(self, caps: Capabilities) -> None:
        self.caps = caps
        self.model = caps.model
        self.view = SelectionView(caps)
        self.costs = CostModel(caps, self.view)
        self.groups: list[FetchGroup] = []
        self._entity_groups: dict[tuple[object, ...], FetchGroup] = {}
        # the subgraphs those groups fetch from, by (path, parent group id): joining one costs nothing
        self._opened: dict[tuple[tuple[str, ...], int], set[str]] = {}
        self._root_groups: dict[str, FetchGroup] = {}
        # subgraphs that could produce the object at each response path (shareable fields)
        self._positions: dict[tuple[str, ...], frozenset[str]] = {}
        # response keys the client uses at each object position, so planner-added fields never collide
        self._user_keys: dict[tuple[str, ...], dict[str, tuple[str, str]]] = {}
        self._user_selections: dict[tuple[str, ...], list[Selection]] = {}  # the client's, per response path
        self.client_keys: frozenset[str] = frozenset()  # every response key the operation writes
        # the enclosing objects that set contexts, innermost last; and the context variables named so far
        self._context_frames: list[_ContextFrame] = []
        self._context_variables = 0
        self._context_sets: dict[str, SelectionSetNode] = {}
        self._contexts_of: dict[str, frozenset[str]] = {}  # type name -> the contexts its objects set

    # -- groups -----------------------------------------------------------------------------------------------

    def new_group(
        self, graph: str, path: tuple[str, ...], is_entity: bool, operation_type: str, root_index: int
    ) -> FetchGroup:
        group = FetchGroup(
            id=len(self.groups),
            graph=graph,
            path=path,
            is_entity=is_entity,
            operation_type=operation_type,
            root_index=root_index,
        )
        if not is_entity:
            group.selection.parent_type = self.model.root_type(operation_type)
        self.groups.append(group)
        return group

    def _root_group(self, operation_type: str, graph: str) -> FetchGroup:
        if operation_type == "mutation":
            last = self.groups[-1] if self.groups else None
            roots = [g for g in self.groups if not g.is_entity]
            if roots and roots[-1].graph == graph and last is not None and not last.is_entity:
                return roots[-1]
            return self.new_group(graph, (), False, operation_type, len(roots))
        group = self._root_groups.get(graph)
        if group is None:
            group = self.new_group(graph, (), False, operation_type, 0)
            self._root_groups[graph] = group
        return group

    # -- root fields ------------------------------------------------------------------------------------------

    def plan_root(self, operation_type: str, root_type: str, selections: Sequence[Selection]) -> None:
        self.client_keys = client_keys(selections)
        items = self.view.flatten(selections, root_type)
        self._plan_root_items(operation_type, root_type, items, [])

    def _plan_root_items(
        self, operation_type: str, root_type: str, items: Sequence[Selection], wrappers: list[Fragment]
    ) -> None:
        for item in items:
            if isinstance(item, Fragment):
                self._plan_root_items(
                    operation_type,
                    root_type,
                    self.view.flatten(item.selections, root_type),
                    [*wrappers, item],
                )
                continue
            if item.name in ("__typename", "__schema", "__type"):
                continue
            ftype = self.view.field_type(root_type, item.name)
            if ftype is None:
                raise PlanningError(f'Cannot query field "{item.name}" on type "{root_type}".')
            for graph, part in self._root_parts(operation_type, root_type, item, ftype):
                group = self._root_group(operation_type, graph)
                sel = group.selection
                for wrapper in wrappers:
                    sel = sel.fragment(None, wrapper.directives, wrapper.directives_text)
                self.place(At(group, sel, root_type, ()), part, NOTHING_PROVIDED, ftype, root_type)

    def _root_parts(
        self, operation_type: str, root_type: str, field: Field, ftype: FieldType
    ) -> list[tuple[str, Field]]:
        """The subgraph answering a root field (the cheapest; a subgraph already asked counts one fetch less
        for queries), or, when none can answer it whole, the part each answers."""
        best: tuple[float, int, str] | None = None
        for order, graph in enumerate(self.caps.serving_graphs(root_type, field.name)):
            provides = self.costs.target_provides(graph, root_type, field)
            cost = (
                self.costs.estimate(Spot(graph, ftype.named, provides), field.selections)
                if ftype.composite
                else 0.0
            )
            if operation_type == "query" and graph not in self._root_groups:
                cost += 1
            candidate = (cost, order, graph)
            if best is None or candidate < best:
                best = candidate
        if best is not None and best[0] != INF:
            return [(best[2], field)]
        return self._split_root(root_type, field)

    def _split_root(self, root_type: str, field: Field) -> list[tuple[str, Field]]:
        """A root field no single subgraph can answer whole: each serving subgraph answers a part."""
        ftype = self.view.field_type(root_type, field.name)
        serving = self.caps.serving_graphs(root_type, field.name)
        if ftype is None or not serving or self.model.types[ftype.named].is_abstract:
            raise PlanningError(f"No subgraph can resolve {root_type}.{field.name}.")
        chosen: dict[str, list[Selection]] = {}
        for sub in self.view.flatten(field.selections, ftype.named):
            single = (sub,)
            self.view.pin(single)
            best: tuple[float, int] | None = None
            for index, graph in enumerate(serving):
                provides = self.costs.target_provides(graph, root_type, field)
                cost = self.costs.estimate(Spot(graph, ftype.named, provides), single)
                cost += 0 if graph in chosen or graph in self._root_groups else 1
                if cost != INF and (best is None or (cost, index) < best):
                    best = (cost, index)
            if best is None:
                raise PlanningError(f"No subgraph can resolve {root_type}.{field.name}.")
            chosen.setdefault(serving[best[1]], []).append(sub)
        return [(graph, self.view.with_selections(field, subs)) for graph, subs in chosen.items()]

    # -- objects ----------------------------------------------------------------------------------------------

    def walk(self, at: At, selections: Sequence[Selection], provided: Sequence[Selection] | None) -> set[int]:
        """Plan `selections` on the object at `at`; the ids of the groups that produce its fields."""
        typedef = self.model.types[at.type_name]
        if typedef.is_abstract:
            if self.caps.is_interface_object(at.group.graph, at.type_name):
                return self.walk_object(
                    at, self.view.flatten(selections, at.type_name, keep_foreign=True), provided
                )
            return self.walk_abstract(at, selections, provided)
        return self.walk_object(at, self.view.flatten(selections, at.type_name), provided)

    def walk_abstract(
        self, at: At, selections: Sequence[Selection], provided: Sequence[Selection] | None
    ) -> set[int]:
        group, type_name = at.group, at.type_name
        producers = {group.id}
        at.sel.typename()
        runtime_types = self.caps.runtime_types_in(group.graph, type_name)
        # a shareable field must answer the same from every subgraph that could resolve it here, so
        # only the object types all of them can return are asked for
        for other in self._positions.get(at.path, ()):
            if (
                other != group.graph
                and self.caps.has_type(other, type_name)
                and not self.caps.is_interface_object(other, type_name)
            ):
                allowed = self.caps.runtime_types_in(other, type_name)
                runtime_types = tuple(t for t in runtime_types if t in allowed)
        if not runtime_types:
            self._check_reachable(at, selections)
        for runtime in runtime_types:
            items = self.view.flatten(selections, runtime)
            if all(isinstance(i, Field) and i.name == "__typename" and not i.directives for i in items):
                continue
            inside = At(
                at.group, at.sel.fragment(runtime), runtime, at.path, at.conds, at.exclude, at.internal
            )
            producers |= self.walk_object(inside, items, provided)
        return producers

    def _check_reachable(self, at: At, selections: Sequence[Selection]) -> None:
        """Nothing can come back at `at`, but a field no subgraph can reach from here is still an error."""
        graph, type_name = at.group.graph, at.type_name
        for item in self.view.flatten(selections, type_name, keep_foreign=False):
            if isinstance(item, Field) and item.name != "__typename":
                reachable = self.costs.local_ok(graph, type_name, item, NOTHING_PROVIDED, at.internal) or any(
                    self.costs.reach(graph, type_name, target, entity) != INF
                    for target, entity in self.costs.options(graph, type_name, item)
                )
                if not reachable:
                    raise PlanningError(
                        f"Cannot plan {type_name}.{item.name}: no subgraph can resolve it from "
                        f'"{self._name(graph)}".'
                    )

    def walk_object(
        self, at: At, items: Sequence[Selection], provided: Sequence[Selection] | None
    ) -> set[int]:
        known = self._user_keys.setdefault(at.path, {})
        if not at.internal:
            for key, value in level_keys(items).items():
                if key not in known:
                    known[key] = value
            self._user_selections.setdefault(at.path, []).extend(items)
        names = self._contexts_set_by(at.type_name)
        if not names:
            return self._walk_items(at, items, provided)
        self._context_frames.append(_ContextFrame(names, at))
        try:
            return self._walk_items(at, items, provided)
        finally:
            self._context_frames.pop()

    def _contexts_set_by(self, type_name: str) -> frozenset[str]:
        found = self._contexts_of.get(type_name)
        if found is not None:
            return found
        typedef = self.model.types.get(type_name)
        names: set[str] = set()
        if typedef is not None:
            names.update(typedef.contexts)
            for interface in typedef.interfaces:
                other = self.model.types.get(interface)
                if other is not None:
                    names.update(other.contexts)
        found = self._contexts_of[type_name] = frozenset(names)
        return found

    def _walk_items(
        self, at: At, items: Sequence[Selection], provided: Sequence[Selection] | None
    ) -> set[int]:
        producers = {at.group.id}
        interface_object = self.caps.is_interface_object(at.group.graph, at.type_name)
        provided_here = self.view.provided_for(provided, at.type_name)
        needs_real_type: list[Selection] = []
        for item in items:
            if isinstance(item, Fragment):
                if item.type_condition is not None:
                    needs_real_type.append(item)
                    continue
                inner = self.view.flatten(item.selections, at.type_name, interface_object)
                under = At(
                    at.group,
                    at.sel.fragment(None, item.directives, item.directives_text),
                    at.type_name,
                    at.path,
                    (*at.conds, (tuple(item.directives), item.directives_text)),
                    at.exclude,
                    at.internal,
                )
                producers |= self.walk_object(under, inner, provided)
                continue
            if item.name == "__typename":
                if interface_object:
                    needs_real_type.append(item)
                else:
                    at.sel.field(item.response_key, "__typename", of=item)
                continue
            producers |= self.plan_field(at, item, provided_here)
        if needs_real_type:
            producers |= self.jump_to_real_type(at, needs_real_type)
        return producers

    # -- fields -----------------------------------------------------------------------------------------------

    def plan_field(self, at: At, field: Field, provided_here: ProvidedFields) -> set[int]:
        """Apply the move `CostModel.choose` picks for `field` (the fetches already opened here cost nothing)."""
        graph, type_name = at.group.graph, at.type_name
        ftype = self.view.field_type(type_name, field.name)
        if ftype is None:
            raise PlanningError(f'Cannot query field "{field.name}" on type "{type_name}".')
        if self.caps.has_context_arguments(type_name, field.name):
            return self._plan_with_context(at, field, provided_here, ftype)
        opened: Set[str] = self._opened.get((at.path, at.group.id), frozenset())
        choice: Choice = self.costs.choose(
            Spot(graph, type_name, None, at.exclude, at.internal),
            field,
            ftype,
            provided_here,
            Joined(opened, True),
        )
        move = choice.move
        if choice.cost == INF or move is None:
            raise PlanningError(
                f'Cannot plan {type_name}.{field.name}: no subgraph can resolve it from "{self._name(graph)}".'
            )
        if isinstance(move, Stay):
            return self.place(at, field, provided_here, ftype, type_name)
        if isinstance(move, Jump):
            return self._jump(at, field, provided_here, ftype, move)
        assert isinstance(move, Split)
        producers: set[int] = set()
        for target, entity, subs in move.parts:
            part = self.view.with_selections(field, subs)
            if target == graph and entity == type_name:
                producers |= self.place(at, part, provided_here, ftype, type_name)
            else:
                producers |= self._jump(at, part, provided_here, ftype, Jump(target, entity))
        return producers

    def _jump(
        self, at: At, field: Field, provided_here: ProvidedFields, ftype: FieldType, jump: Jump
    ) -> set[int]:
        """`field` from the `_entities` fetch of `jump.target` for the objects at `at`."""
        requires = self.caps.requires(jump.target, jump.entity, field.name)
        child, body = self.entity_group(at, jump, requires, provided_here)
        in_child = At(child, body, at.type_name, at.path, (), at.exclude, at.internal)
        return {child.id} | self.place(in_child, field, NOTHING_PROVIDED, ftype, jump.entity)

    def _plan_with_context(
        self, at: At, field: Field, provided_here: ProvidedFields, ftype: FieldType
    ) -> set[int]:
        """A field with `@fromContext` arguments: always an `_entities` fetch of its own kind (its subgraph may be
        the one already fetching the object), whose variables take their values from the nearest enclosing
        object that sets the context; that object gets the context's selection planned as a requirement."""
        graph, type_name = at.group.graph, at.type_name
        choices: list[tuple[str, str]] = []
        if self.costs.local_ok(graph, type_name, field, provided_here, at.internal):
            choices.append((graph, type_name))
        choices += [(t, e) for t, e in self.costs.options(graph, type_name, field) if t not in at.exclude]
        choices = [
            (t, e)
            for t, e in choices
            if (t, e) == (graph, type_name) or self.costs.reach(graph, type_name, t, e) != INF
        ]
        if not choices:
            raise PlanningError(
                f'Cannot plan {type_name}.{field.name}: no subgraph can resolve it from "{self._name(graph)}".'
            )
        target, entity = choices[0]
        info = self.caps.field_in(target, entity, field.name)
        contexts = info.context_arguments if info is not None else ()
        child, body = self.entity_group(
            at.to(conds=()),
            Jump(target, entity),
            self.caps.requires(target, entity, field.name),
            provided_here,
        )
        arguments = list(field.arguments)
        for context in contexts:
            frame = next((f for f in reversed(self._context_frames) if context.context in f.names), None)
            if frame is None:
                raise PlanningError(
                    f'Cannot plan {type_name}.{field.name}: its argument "{context.name}" takes its value from '
                    f'the context "{context.context}", which no enclosing object sets.'
                )
            needed = with_internal_keys(
                self.view.field_set(self._context_set(context.selection)),
                self._user_keys.setdefault(frame.at.path, {}),
                self.client_keys,
            )
            if len(needed) != 1 or not isinstance(needed[0], Field):
                raise PlanningError(
                    f"Cannot plan {type_name}.{field.name}: the context selection {context.selection.strip()!r} "
                    "must select one field of the enclosing object."
                )
            self.view.pin(needed)
            producers = self.walk(frame.at.to(conds=(), exclude=at.exclude, internal=True), needed, None)
            child.parents |= producers - {child.id}
            self._context_variables += 1
            variable = f"contextualArgument_{self._context_variables}"
            child.contexts.append(
                ContextRewrite(
                    variable=variable,
                    type=context.type,
                    ancestor=frame.at.path,
                    keys=(needed[0].response_key,),
                )
            )
            arguments.append(
                ArgumentNode(
                    name=NameNode(value=context.name), value=VariableNode(name=NameNode(value=variable))
                )
            )
        with_context = Field(
            response_key=field.response_key,
            name=field.name,
            arguments=tuple(arguments),
            directives=field.directives,
            selections=field.selections,
            arguments_text=print_arguments(arguments),
            directives_text=field.directives_text,
        )
        self.view.pin(with_context)
        return {child.id} | self.place(
            at.to(group=child, sel=body, conds=()), with_context, NOTHING_PROVIDED, ftype, entity
        )

    def _context_set(self, selection: str) -> SelectionSetNode:
        found = self._context_sets.get(selection)
        if found is None:
            operation = parse(selection, no_location=True).definitions[0]
            assert isinstance(operation, OperationDefinitionNode)
            found = self._context_sets[selection] = operation.selection_set
        return found

    def _name(self, graph: str) -> str:
        return self.model.subgraphs[graph].name

    def place(
        self, at: At, field: Field, provided_here: ProvidedFields, ftype: FieldType, entity: str
    ) -> set[int]:
        """Put `field` in `at.group` at `at.sel` (its subgraph knowing the object as `entity`) and walk its
        selections there."""
        graph = at.group.graph
        built = at.sel.field(field.response_key, field.name, composite=ftype.composite, of=field)
        if not ftype.composite or built.sub is None:
            return {at.group.id}
        sub_path = at.path + (field.response_key,) + ("@",) * ftype.list_depth
        sub_provided = self.costs.sub_provided(graph, entity, field, provided_here)
        local = self.caps.local_type(graph, entity, field.name, ftype.named)
        built.sub.parent_type = local
        if local != ftype.named and self.model.types[ftype.named].is_abstract:
            # an object type in this subgraph, an abstract one for the client: the response needs its name
            built.sub.typename()
        if sub_path not in self._positions:
            parents = self._positions.get(at.path)
            self._positions[sub_path] = frozenset(
                g
                for g in self.caps.serving_graphs(at.type_name, field.name)
                if parents is None or g in parents or self.caps.resolvable_keys(g, at.type_name)
            ) | {graph}
        return self.walk(
            At(at.group, built.sub, local, sub_path, (), at.exclude, at.internal),
            field.selections,
            sub_provided,
        )

    def jump_to_real_type(self, at: At, items: list[Selection]) -> set[int]:
        """From an interface object, fetch `__typename` and type-conditioned selections where the interface is real."""
        graph, interface = at.group.graph, at.type_name
        candidates = [
            g
            for g in self.caps.graph_order
            if g not in at.exclude
            and self.caps.has_type(g, interface)
            and not self.caps.is_interface_object(g, interface)
            and self.caps.resolvable_keys(g, interface)
        ]
        candidates.sort(key=lambda g: self.costs.reach(graph, interface, g, interface))
        if not candidates or self.costs.reach(graph, interface, candidates[0], interface) == INF:
            raise PlanningError(
                f"Cannot find the concrete type of {interface}: no subgraph defines it as an entity."
            )
        target = candidates[0]
        child, body = self.entity_group(at, Jump(target, interface), None)
        # First the type: an interface's reference resolver need only tell the object's type. Then, for each
        # object type the client asks fields of, those fields from the entities of that type, whose
        # representations carry the type just learned (fetched as the interface, they might not resolve).
        names = [item for item in items if isinstance(item, Field)]
        in_child = At(child, body, interface, at.path, (), at.exclude)
        producers = {child.id} | self.walk_abstract(in_child, names, None)
        conditioned = [item for item in items if isinstance(item, Fragment)]
        for runtime in self.caps.runtime_types_in(target, interface) if conditioned else ():
            fields = [
                item
                for item in self.view.flatten(conditioned, runtime)
                if not (isinstance(item, Field) and item.name == "__typename" and not item.directives)
            ]
            if not fields:
                continue
            typed = body.fragment(runtime)
            typed.typename()
            entity = runtime if self.caps.resolvable_keys(target, runtime) else interface
            grandchild, inner = self.entity_group(
                At(child, typed, runtime, at.path, at.conds, at.exclude), Jump(target, entity), None
            )
            producers |= {grandchild.id} | self.walk_object(
                At(grandchild, inner, runtime, at.path, (), at.exclude), fields, None
            )
        return producers

    def entity_group(
        self,
        at: At,
        jump: Jump,
        requires: SelectionSetNode | None,
        provided: ProvidedFields = NOTHING_PROVIDED,
    ) -> tuple[FetchGroup, SelectionBuilder]:
        """The `_entities` fetch on `jump.target` for the objects at `at`, with their representation planned.

        One fetch per (subgraph, path, parent) takes every field, `@requires` included, unless the
        requirement is itself produced downstream of that fetch; then the field gets a fetch of its own.
        """
        group, sel, type_name, path = at.group, at.sel, at.type_name, at.path
        target, entity = jump.target, jump.entity
        keys = self.caps.resolvable_keys(target, entity)
        chosen = self.costs.best_key(group.graph, type_name, target, entity, provided)[1] or (
            keys[0] if keys else None
        )
        if chosen is None:
            raise PlanningError(f'{entity} has no resolvable key in "{self._name(target)}".')
        client = self._user_keys.setdefault(path, {})
        # every branch that reaches the fetch needs the key in its own part of the parent's selection
        sel.typename()
        needed = with_internal_keys(
            self.view.field_set(chosen.selection),
            client,
            self.client_keys,
            self._user_selections.get(path, ()),
        )
        in_parent = At(group, sel, type_name, path, (), at.exclude | {target}, True)
        producers = self.walk(in_parent, needed, provided.selections)
        if requires is not None:
            required = with_internal_keys(
                self.view.field_set(requires), client, self.client_keys, self._user_selections.get(path, ())
            )
            producers |= self.walk(in_parent.to(exclude=at.exclude), required, None)
            needed = needed + required
        self.view.pin(needed)
        cache_key: tuple[object, ...] = (target, path, group.id)
        if requires is not None and at.conds:
            # a requirement read under @skip/@include exists only when its condition holds: the field needing it
            # gets a fetch of its own, run under that condition, so the others' representations never miss it
            cache_key = (target, path, group.id, tuple(text for _directives, text in at.conds))
        child = self._entity_groups.get(cache_key)
        if child is not None and (
            any(p == child.id or runs_after(self.groups, p, child.id) for p in producers)
            or rep_conflicts(child.requires.fragment(type_name), needed)
        ):
            cache_key = (target, path, group.id, id(requires))
            child = self._entity_groups.get(cache_key)
        if child is None:
            child = self.new_group(target, path, True, "query", group.root_index)
            child.parents.add(group.id)
            self._entity_groups[cache_key] = child
            self._opened.setdefault((path, group.id), set()).add(target)
        child.parents |= producers - {child.id}
        rep = child.requires.fragment(type_name)
        rep.typename()
        record_rep(rep, needed)
        if entity != type_name or self.caps.is_interface_object(target, entity):
            # the target knows the type by another name (an interface object knows only the interface's,
            # whatever `__typename` the objects were given by another subgraph)
            child.rep_typenames[type_name] = entity
        body = child.selection.fragment(entity)
        for directives, text in at.conds:
            body = body.fragment(None, directives, text)  # type: ignore[arg-type]
        return child, body
