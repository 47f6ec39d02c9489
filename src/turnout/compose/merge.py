"""Merge normalized subgraphs into a supergraph: types, fields, arguments, enums, unions, inputs, each with the
`join__*` metadata Apollo's composition records, and the merge errors with Apollo's codes."""

from __future__ import annotations

import re

from graphql import print_ast

from .errors import CompositionError, Hint
from .merge_common import merge_applied, quoted_subgraphs
from .merge_values import ValueMerger
from .merged import (
    Graph,
    JoinField,
    JoinType,
    MergedField,
    MergedType,
    Supergraph,
)
from .model import Kind, SubField, Subgraph, SubType, named_type
from .overrides import Override, validate_override
from .types import is_strict_subtype, same_type

__all__ = ["merge"]


class _Merger(ValueMerger):
    # -- types ------------------------------------------------------------------------------------------------

    def sources(self, name: str) -> list[tuple[Subgraph, SubType]]:
        kind = self.kinds[name]
        found = []
        having = self.having.get(name, set())
        for subgraph in self.subgraphs:
            if subgraph.name not in having:
                continue
            sub = subgraph.types.get(name)
            if sub is not None and ("interface" if sub.interface_object else sub.kind) == kind:
                found.append((subgraph, sub))
        return found

    def merge(self) -> Supergraph:
        mismatched: dict[str, list[str]] = {}
        for subgraph in self.subgraphs:
            for sub in subgraph.types.values():
                self.having.setdefault(sub.name, set()).add(subgraph.name)
                if sub.interface_object:
                    self.interface_objects.add(sub.name)
        for subgraph in self.subgraphs:
            for sub in subgraph.types.values():
                kind: Kind = "interface" if sub.interface_object else sub.kind
                previous = self.kinds.setdefault(sub.name, kind)
                if previous != kind:
                    mismatched.setdefault(sub.name, [])
        for name in mismatched:
            described = "; ".join(
                f'{_kind_name(t)} in "{s.name}"'
                for s in self.subgraphs
                if (t := s.types.get(name)) is not None
            )
            self.error(
                "TYPE_KIND_MISMATCH",
                f'Type "{name}" has mismatched kind: it is defined as {described}',
                *[(s.name, t.line) for s in self.subgraphs if (t := s.types.get(name)) is not None],
            )
        for name, kind in self.kinds.items():
            if kind == "interface" and all(t.interface_object for _s, t in self.sources(name)):
                self.error(
                    "INTERFACE_OBJECT_USAGE_ERROR",
                    f'Type "{name}" is declared with @interfaceObject in all the subgraphs in which it is '
                    f"defined (it is defined in {quoted_subgraphs(s.name for s, _t in self.sources(name))} but should "
                    f"be defined as an interface in at least one subgraph)",
                )
        self.collect_enum_usage()
        for name in self.kinds:
            self.types[name] = MergedType(name=name, kind=self.kinds[name])
        for merged in self.types.values():  # implementations and union members first: subtyping needs them
            if merged.kind in ("object", "interface"):
                self.merge_implements(merged)
            elif merged.kind == "union":
                self.merge_union(merged)
        for merged in self.types.values():
            self.merge_type(merged)
        self.add_interface_object_fields()
        self.check_interface_fields()
        roots = {
            kind: root
            for kind, root in (("query", "Query"), ("mutation", "Mutation"), ("subscription", "Subscription"))
            if root in self.types and self.types[root].fields
        }
        for root in ("Query", "Mutation", "Subscription"):
            if root in self.types and not self.types[root].fields:
                del self.types[root]
        if "query" not in roots:
            self.error(
                "NO_QUERIES", "No queries found in any subgraph: a supergraph must have a query root type."
            )
        graphs = [Graph(name=s.name, enum=self.enum[s.name], url=s.url) for s in self.subgraphs]
        version = max((s.version for s in self.subgraphs), default=(2, 0))
        uses_labels = any(
            j.override_label for t in self.types.values() for f in t.fields.values() for j in f.joins
        )
        uses_contexts = any(t.contexts for t in self.types.values())
        join = (
            "0.5"
            if version >= (2, 8) or uses_contexts
            else "0.4"
            if version >= (2, 7) or uses_labels
            else "0.3"
        )
        return Supergraph(graphs=graphs, types=self.types, roots=roots, join_version=join)

    def collect_enum_usage(self) -> None:
        for subgraph in self.subgraphs:
            for sub in subgraph.types.values():
                for f in sub.fields.values():
                    if sub.kind == "input":
                        self._use(named_type(f.type), "input")
                        continue
                    if f.external:
                        continue
                    self._use(named_type(f.type), "output")
                    for arg in f.args.values():
                        self._use(named_type(arg.type), "input")

    def _use(self, name: str, position: str) -> None:
        if self.kinds.get(name) == "enum":
            self.enum_usage.setdefault(name, set()).add(position)

    def merge_type(self, merged: MergedType) -> None:
        sources = self.sources(merged.name)
        self.check_extension_with_no_base(merged, sources)
        merged.description = self.describe(merged.name, (t.description for _s, t in sources))
        merged.applied = merge_applied([t.applied for _s, t in sources])
        for subgraph, sub in sources:
            merged.contexts.extend(f"{subgraph.name}__{name}" for name in sub.contexts)
            graph = self.enum[subgraph.name]
            if not sub.keys:
                merged.joins.append(JoinType(graph=graph, interface_object=sub.interface_object))
            for key in sub.keys:
                merged.joins.append(
                    JoinType(
                        graph=graph,
                        key=key.fields,
                        extension=key.extension or sub.extends_directive,
                        resolvable=key.resolvable,
                        interface_object=sub.interface_object,
                        resolvable_given=key.resolvable_given,
                    )
                )
        if merged.kind in ("object", "interface"):
            self.merge_fields(merged, sources)
        elif merged.kind == "enum":
            self.merge_enum(merged, sources)
        elif merged.kind == "input":
            self.merge_input(merged, sources)

    def check_extension_with_no_base(
        self, merged: MergedType, sources: list[tuple[Subgraph, SubType]]
    ) -> None:
        if merged.name in ("Query", "Mutation", "Subscription"):
            return
        if any(t.has_definition for _s, t in sources):
            return
        for subgraph, sub in sources:
            if subgraph.fed2 and not sub.has_definition:
                self.error(
                    "EXTENSION_WITH_NO_BASE",
                    f'[{subgraph.name}] Type "{merged.name}" is an extension type, but there is no type '
                    f'definition for "{merged.name}" in any subgraph.',
                    (subgraph.name, sub.line),
                )

    def merge_implements(self, merged: MergedType) -> None:
        for subgraph, sub in self.sources(merged.name):
            for interface in sub.interfaces:
                merged.implements.append((self.enum[subgraph.name], interface))
                if interface not in merged.interfaces:
                    merged.interfaces.append(interface)

    def merge_union(self, merged: MergedType) -> None:
        sources = self.sources(merged.name)
        for _subgraph, sub in sources:
            for member in sub.members:
                if member not in merged.members:
                    merged.members.append(member)
        for member in merged.members:
            for subgraph, sub in sources:
                if member in sub.members:
                    merged.member_joins.append((self.enum[subgraph.name], member))
            lacking = [s.name for s, t in sources if member not in t.members]
            if lacking:
                self.hint(
                    "INCONSISTENT_UNION_MEMBER",
                    f'Union type "{merged.name}" includes member type "{member}" in some but not all defining '
                    f'subgraphs: "{member}" is not defined in {quoted_subgraphs(lacking)}.',
                )

    # -- fields -----------------------------------------------------------------------------------------------

    def merge_fields(self, merged: MergedType, sources: list[tuple[Subgraph, SubType]]) -> None:
        names: list[str] = []
        for _subgraph, sub in sources:
            names.extend(n for n in sub.fields if n not in names)
        keyed = [s.name for s, t in sources if t.keys]
        if merged.kind == "object" and keyed and len(keyed) < len(sources):
            self.hint(
                "INCONSISTENT_ENTITY",
                f'Type "{merged.name}" is declared as an entity (has a @key applied) in some but not all '
                f"defining subgraphs: it has no @key in {quoted_subgraphs(s.name for s, t in sources if not t.keys)} but "
                f"has some @key in {quoted_subgraphs(keyed)}.",
            )
        value_type = not keyed and merged.name not in ("Query", "Mutation", "Subscription")
        for name in names:
            field_sources = [(s, t.fields.get(name)) for s, t in sources]
            lacking = [
                s.name
                for s, t in sources
                if name not in t.fields and not all(f.external for f in t.fields.values())
            ]
            if value_type and lacking:
                kind = "non-entity object" if merged.kind == "object" else "interface"
                self.hint(
                    f"INCONSISTENT_{'OBJECT' if merged.kind == 'object' else 'INTERFACE'}_VALUE_TYPE_FIELD",
                    f'Field "{merged.name}.{name}" of {kind} type "{merged.name}" is defined in some but not '
                    f'all subgraphs that define "{merged.name}": it is not defined in {quoted_subgraphs(lacking)}.',
                )
            self.merge_field(merged, name, field_sources)

    def may_abstract(self, merged: MergedType) -> bool:
        return merged.kind == "object" and any(i in self.interface_objects for i in merged.interfaces)

    def abstracted(self, type_name: str, field_name: str, subgraph: Subgraph) -> list[tuple[str, SubField]]:
        """The fields standing in for `type_name.field_name` in a subgraph through @interfaceObject types."""
        merged = self.types.get(type_name)
        if (
            merged is None
            or merged.kind != "object"
            or type_name in subgraph.types
            or not any(i in self.interface_objects for i in merged.interfaces)
        ):
            return []
        found = []
        for interface in merged.interfaces:
            there = subgraph.types.get(interface)
            if there is not None and there.interface_object and field_name in there.fields:
                found.append((interface, there.fields[field_name]))
        return found

    def merge_field(
        self, merged: MergedType, name: str, sources: list[tuple[Subgraph, SubField | None]]
    ) -> None:
        coordinate = f"{merged.name}.{name}"
        present = [(s, f) for s, f in sources if f is not None]
        overrides = self.validate_override(coordinate, present)
        every_external = all(f.external for _s, f in present) and all(
            all(a.external for _i, a in self.abstracted(merged.name, name, s))
            for s in self.subgraphs
            if s.name not in {p.name for p, _f in present} and self.may_abstract(merged)
        )
        if every_external:
            self.error(
                "EXTERNAL_MISSING_ON_BASE",
                f'Field "{coordinate}" is marked @external on all the subgraphs in which it is listed '
                f"({quoted_subgraphs(s.name for s, _f in present)}).",
                *[(s.name, f.line) for s, f in present],
            )
            return
        internal = [(s, f) for s, f in present if not f.external]
        result = MergedField(name=name, type=present[0][1].type)
        result.description = self.describe(coordinate, (f.description for _s, f in internal))
        result.applied = merge_applied([f.applied for _s, f in internal])
        self.merge_arguments(coordinate, result, internal)
        all_equal, result.type = self.merge_type_reference(
            coordinate, internal or present, input_position=False
        )
        for subgraph, f in present:
            if f.external and not (
                same_type(result.type, f.type)
                or (not all_equal and is_strict_subtype(result.type, f.type, self.related))
            ):
                self.error(
                    "EXTERNAL_TYPE_MISMATCH",
                    f'Type of field "{coordinate}" is incompatible across subgraphs (where marked @external): '
                    f'it has type "{print_ast(result.type)}" in the supergraph but type '
                    f'"{print_ast(f.type)}" in "{subgraph.name}"',
                    (subgraph.name, f.line),
                )
        self.add_join_fields(merged, result, present, all_equal, overrides)
        if merged.kind == "object":
            self.validate_sharing(coordinate, merged.name, name, present, overrides)
        merged.fields[name] = result

    def validate_override(self, coordinate: str, present: list[tuple[Subgraph, SubField]]) -> Override:
        return validate_override(coordinate, present, self.by_name, self.error, self.hint)

    def add_join_fields(
        self,
        merged: MergedType,
        result: MergedField,
        present: list[tuple[Subgraph, SubField]],
        all_equal: bool,
        overrides: Override,
    ) -> None:
        present_names = {s.name for s, _f in present}
        contextual = any(a.from_context for _s, f in present for a in f.args.values())
        needs = (
            not all_equal
            or contextual
            or bool(overrides.used)
            or bool(overrides.labels)
            or any(
                f.external or f.requires or f.provides for s, f in present if s.name not in overrides.unused
            )
            or any(s not in present_names for s in self.having[merged.name])
            or any(s in overrides.unused and s not in overrides.labels for s in self.having[merged.name])
        )
        if not needs:
            return
        for subgraph, f in present:
            label = overrides.labels.get(subgraph.name)
            if subgraph.name in overrides.unused and label is None:
                continue
            result.joins.append(
                JoinField(
                    graph=self.enum[subgraph.name],
                    requires=f.requires,
                    provides=f.provides,
                    type=None if all_equal else print_ast(f.type),
                    external=f.external,
                    override=f.override_from if subgraph.fed2 else None,
                    used_overridden=subgraph.name in overrides.used,
                    override_label=label,
                    context_arguments=_context_arguments(subgraph.name, f),
                )
            )

    def validate_sharing(
        self,
        coordinate: str,
        type_name: str,
        name: str,
        present: list[tuple[Subgraph, SubField]],
        overrides: Override,
    ) -> None:
        resolving: list[tuple[str, bool, int | None]] = []  # (subgraph, shareable, line)

        def categorize(subgraph: Subgraph, parent: str, f: SubField, label: str) -> None:
            if f.external and (parent, f.name) not in subgraph.provided:
                return
            resolving.append((label, (parent, f.name) in subgraph.shareable, f.line))

        present_names = {s.name for s, _f in present}
        for subgraph in self.subgraphs if self.may_abstract(self.types[type_name]) else ():
            if subgraph.name not in present_names:
                for interface, f in self.abstracted(type_name, name, subgraph):
                    categorize(
                        subgraph,
                        interface,
                        f,
                        f'"{subgraph.name}" (through @interfaceObject field "{interface}.{name}")',
                    )
        for subgraph, f in present:
            if subgraph.name in overrides.used or subgraph.name in overrides.unused:
                continue
            categorize(subgraph, type_name, f, f'"{subgraph.name}"')
        non_shareable = [r for r in resolving if not r[1]]
        if non_shareable and len(resolving) > 1:
            listing = quoted_subgraphs(r[0] for r in resolving)
            which = (
                quoted_subgraphs(r[0] for r in non_shareable)
                if len(non_shareable) < len(resolving)
                else "all of them"
            )
            self.error(
                "INVALID_FIELD_SHARING",
                f'Non-shareable field "{coordinate}" is resolved from multiple subgraphs: it is resolved from '
                f"{listing} and defined as non-shareable in {which}",
                *[(r[0].split('"')[1], r[2]) for r in resolving],
            )

    def add_interface_object_fields(self) -> None:
        for merged in self.types.values():
            if merged.kind != "object":
                continue
            for interface in merged.interfaces:
                itf = self.types.get(interface)
                if itf is None:
                    continue
                for name, itf_field in itf.fields.items():
                    if name in merged.fields:
                        continue
                    if any(
                        (t := s.types.get(interface)) is not None and t.interface_object and name in t.fields
                        for s in self.subgraphs
                    ):
                        merged.fields[name] = MergedField(
                            name=name,
                            type=itf_field.type,
                            args=dict(itf_field.args),
                            description=itf_field.description,
                            applied=itf_field.applied,
                            joins=[JoinField(graph=None)],
                        )
                        self.validate_sharing(f"{merged.name}.{name}", merged.name, name, [], Override())

    def check_interface_fields(self) -> None:
        for merged in self.types.values():
            for interface in merged.interfaces:
                itf = self.types.get(interface)
                if itf is None or itf.kind != "interface":
                    continue
                for name in itf.fields:
                    if name not in merged.fields:
                        self.error(
                            "INTERFACE_FIELD_NO_IMPLEM",
                            f'Interface field "{interface}.{name}" is declared in some subgraphs but type '
                            f'"{merged.name}", which implements "{interface}", does not have field '
                            f'"{name}".',
                        )


_CONTEXT = re.compile(r"^(?:[\n\r\t ,]|#[^\n\r]*)*\$(?:[\n\r\t ,]|#[^\n\r]*)*([A-Za-z_]\w*)([\s\S]*)$")


def _context_arguments(subgraph: str, field: SubField) -> list[tuple[str, str, str, str]]:
    """`@fromContext(field: "$account { currency }")` arguments as (context, name, type, selection)."""
    found = []
    for arg in field.args.values():
        match = _CONTEXT.match(arg.from_context) if arg.from_context else None
        if match:
            found.append((f"{subgraph}__{match.group(1)}", arg.name, print_ast(arg.type), match.group(2)))
    return found


def _kind_name(sub: SubType) -> str:
    if sub.interface_object:
        return "Interface Object Type (Object Type with @interfaceObject)"
    return {
        "object": "Object Type",
        "interface": "Interface Type",
        "union": "Union Type",
        "enum": "Enum Type",
        "input": "Input Object Type",
        "scalar": "Scalar Type",
    }[sub.kind]


def merge(subgraphs: list[Subgraph]) -> tuple[Supergraph, list[CompositionError], list[Hint]]:
    merger = _Merger(subgraphs)
    supergraph = merger.merge()
    return supergraph, merger.errors, merger.hints
