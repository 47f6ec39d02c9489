"""What each subgraph can resolve under one Routing: the moves the planner may make.

Three kinds of move exist between (type, subgraph) positions: a *field move* resolves a field in the
subgraph already fetching the object; an *entity move* jumps to another subgraph through a resolvable
`@key` whose fields the current one can provide; an *abstract move* narrows an interface or union to
the object types the subgraph can return. An `@interfaceObject` type is entered with the interface's
name as its `__typename`.
"""

from __future__ import annotations

from functools import cached_property

from graphql import SelectionSetNode

from ..supergraph.model import FieldInGraph, KeyDef, SupergraphModel, TypeDef
from .routing import Routing

__all__ = ["Capabilities"]


class Capabilities:
    """Answers "can subgraph S resolve T.f?" and its kin, for one supergraph and one Routing."""

    def __init__(self, model: SupergraphModel, routing: Routing) -> None:
        self.model = model
        self.routing = routing
        self._serving: dict[tuple[str, str], tuple[str, ...]] = {}
        self._possible: dict[tuple[str, str], tuple[str, ...]] = {}

    @cached_property
    def graph_order(self) -> tuple[str, ...]:
        return tuple(self.model.subgraphs)

    def type(self, name: str) -> TypeDef | None:
        return self.model.types.get(name)

    def graph_enum(self, name: str) -> str | None:
        subgraph = self.model.subgraph_by_name(name)
        return subgraph.enum if subgraph else (name if name in self.model.subgraphs else None)

    # -- fields ---------------------------------------------------------------------------------------------

    def serving_graphs(self, type_name: str, field_name: str) -> tuple[str, ...]:
        """Subgraphs that serve T.f's value to clients (override labels and Routing applied)."""
        cache_key = (type_name, field_name)
        found = self._serving.get(cache_key)
        if found is not None:
            return found
        typedef = self.model.types.get(type_name)
        fdef = typedef.fields.get(field_name) if typedef else None
        result: tuple[str, ...] = ()
        if fdef is not None:
            declared = fdef.in_graphs
            routed = self.routing.assignments.get(fdef.coordinate)
            routed_enum = self.graph_enum(routed) if routed else None
            if routed_enum is not None and routed_enum in declared and not declared[routed_enum].external:
                result = (routed_enum,)
            else:
                labels = self.routing.active_labels
                # an override is in force when it has no label or its label is active for this request
                overridden = {
                    info.override_from
                    for info in declared.values()
                    if info.override_from is not None
                    and (info.override_label is None or info.override_label in labels)
                }
                serving: list[str] = []
                for graph, info in declared.items():
                    if info.external or info.used_overridden or graph in overridden:
                        continue
                    if info.override_label is not None:
                        label_on = info.override_label in labels
                        # the overriding side serves when the label is on, the overridden side when it is off
                        if label_on != (info.override_from is not None):
                            continue
                    serving.append(graph)
                result = tuple(serving)
        self._serving[cache_key] = result
        return result

    def field_in(self, graph: str, type_name: str, field_name: str) -> FieldInGraph | None:
        typedef = self.model.types.get(type_name)
        fdef = typedef.fields.get(field_name) if typedef else None
        return fdef.in_graphs.get(graph) if fdef else None

    def has_context_arguments(self, type_name: str, field_name: str) -> bool:
        """Whether any subgraph fills an argument of the field from a context (`@fromContext`)."""
        typedef = self.model.types.get(type_name)
        fdef = typedef.fields.get(field_name) if typedef else None
        return fdef is not None and any(info.context_arguments for info in fdef.in_graphs.values())

    def serves(self, graph: str, type_name: str, field_name: str) -> bool:
        return graph in self.serving_graphs(type_name, field_name)

    def has_for_keys(self, graph: str, type_name: str, field_name: str) -> bool:
        """Whether S can return T.f when it only feeds a key or a requirement (overridden copies count)."""
        if field_name == "__typename":
            return True
        info = self.field_in(graph, type_name, field_name)
        if info is None:
            return False
        return not info.external

    def requires(self, graph: str, type_name: str, field_name: str) -> SelectionSetNode | None:
        info = self.field_in(graph, type_name, field_name)
        return info.requires if info else None

    def provides(self, graph: str, type_name: str, field_name: str) -> SelectionSetNode | None:
        info = self.field_in(graph, type_name, field_name)
        return info.provides if info else None

    # -- types ----------------------------------------------------------------------------------------------

    def has_type(self, graph: str, type_name: str) -> bool:
        typedef = self.model.types.get(type_name)
        return typedef is not None and graph in typedef.in_graphs

    def is_interface_object(self, graph: str, type_name: str) -> bool:
        typedef = self.model.types.get(type_name)
        if typedef is None:
            return False
        entry = typedef.in_graphs.get(graph)
        return entry is not None and entry.interface_object

    def resolvable_keys(self, graph: str, type_name: str) -> list[KeyDef]:
        typedef = self.model.types.get(type_name)
        entry = typedef.in_graphs.get(graph) if typedef else None
        if entry is None:
            return []
        return [k for k in entry.keys if k.resolvable]

    def possible_types(self, abstract: str) -> tuple[str, ...]:
        return self.model.possible_types.get(abstract, (abstract,))

    def runtime_types_in(self, graph: str, abstract: str) -> tuple[str, ...]:
        """Object types subgraph S may return for an interface or union (per S's own schema)."""
        cache_key = (graph, abstract)
        found = self._possible.get(cache_key)
        if found is not None:
            return found
        typedef = self.model.types[abstract]
        result: list[str] = []
        if typedef.kind == "union":
            members = typedef.members_in.get(graph, set())
            result = [m for m in typedef.members if m in members and self.has_type(graph, m)]
        else:
            for candidate in self.possible_types(abstract):
                ctype = self.model.types.get(candidate)
                if ctype is None or graph not in ctype.in_graphs:
                    continue
                if abstract in ctype.implements_in.get(graph, set()) or self._implements_transitively(
                    graph, candidate, abstract
                ):
                    result.append(candidate)
        self._possible[cache_key] = tuple(result)
        return self._possible[cache_key]

    def _implements_transitively(self, graph: str, type_name: str, interface: str) -> bool:
        seen: set[str] = set()
        stack = list(self.model.types[type_name].implements_in.get(graph, set()))
        while stack:
            current = stack.pop()
            if current == interface:
                return True
            if current in seen:
                continue
            seen.add(current)
            ctype = self.model.types.get(current)
            if ctype:
                stack.extend(ctype.implements_in.get(graph, set()))
        return False

    def type_matches(self, runtime: str, condition: str | None) -> bool:
        """Whether an object of `runtime` type matches a fragment's type condition (supergraph view)."""
        if condition is None or condition == runtime:
            return True
        typedef = self.model.types.get(condition)
        if typedef is None or not typedef.is_abstract:
            return False
        return runtime in self.possible_types(condition)

    def interface_objects_for(self, type_name: str) -> list[tuple[str, str]]:
        """(interface, graph) pairs where an interface of T is an `@interfaceObject` in that graph."""
        typedef = self.model.types.get(type_name)
        if typedef is None:
            return []
        found: list[tuple[str, str]] = []
        for interface in typedef.interfaces:
            itype = self.model.types.get(interface)
            if itype is None:
                continue
            for graph, entry in itype.in_graphs.items():
                if entry.interface_object:
                    found.append((interface, graph))
        return found

    def field_shape(self, graph: str, type_name: str | None, field_name: str) -> str:
        """The field's type as the subgraph declares it (`[ID!]`), for field-merging checks."""
        if type_name is None:
            return ""
        info = self.field_in(graph, type_name, field_name)
        if info is not None and info.type:
            return info.type
        gtype = self.model.schema.get_type(type_name)
        fields = getattr(gtype, "fields", None)
        if not fields or field_name not in fields:
            return ""
        return str(fields[field_name].type)

    def local_type(self, graph: str, type_name: str, field_name: str, default: str) -> str:
        """The field's type in that subgraph, where it differs from the supergraph's (`@join__field(type:)`)."""
        info = self.field_in(graph, type_name, field_name)
        if info is None or not info.type:
            return default
        named = info.type.replace("[", "").replace("]", "").replace("!", "").strip()
        typedef = self.model.types.get(named)
        return named if typedef is not None and typedef.is_composite else default
