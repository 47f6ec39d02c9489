"""Merging what clients send: arguments of fields, enums (their values by how the enum is used) and input
objects, with Apollo's rules and codes."""

from __future__ import annotations

from graphql import print_ast

from .merge_common import MergeContext, merge_applied, quoted_subgraphs
from .merged import JoinField, MergedArg, MergedEnumValue, MergedField, MergedType
from .model import SubField, Subgraph, SubType

__all__ = ["ValueMerger"]


class ValueMerger(MergeContext):
    def merge_arguments(
        self, coordinate: str, result: MergedField, internal: list[tuple[Subgraph, SubField]]
    ) -> None:
        names: list[str] = []
        for _s, f in internal:
            names.extend(a for a in f.args if a not in names)
        for arg_name in names:
            args = [(s, f.args.get(arg_name)) for s, f in internal]
            if any(a is not None and a.from_context for _s, a in args):
                for s, a in args:
                    if (
                        a is not None
                        and not a.from_context
                        and a.type.kind == "non_null_type"
                        and a.default is None
                    ):
                        self.error(
                            "CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS",
                            f'Argument "{coordinate}({arg_name}:)" is contextual in at least one subgraph but '
                            f'in "{s.name}" it does not have @fromContext, is not nullable and has no default '
                            f"value.",
                            (s.name, a.line),
                        )
                continue  # contextual: not part of the supergraph's arguments
            missing = [s.name for s, a in args if a is None]
            if missing:
                required = [
                    s.name
                    for s, a in args
                    if a is not None and a.type.kind == "non_null_type" and a.default is None
                ]
                if required:
                    self.error(
                        "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
                        f'Argument "{coordinate}({arg_name}:)" is required in some subgraphs but does not '
                        f"appear in all subgraphs: it is required in {quoted_subgraphs(required)} but does not appear "
                        f"in {quoted_subgraphs(missing)}",
                        *[(s.name, a.line) for s, a in args if a is not None],
                    )
                else:
                    self.hint(
                        "INCONSISTENT_ARGUMENT_PRESENCE",
                        f'Optional argument "{coordinate}({arg_name}:)" will not be included in the supergraph '
                        f"as it does not appear in all subgraphs: it is not defined in {quoted_subgraphs(missing)}.",
                    )
                continue
            present = [(s, a) for s, a in args if a is not None]
            _equal, arg_type = self.merge_type_reference(
                f"{coordinate}({arg_name}:)", present, input_position=True, argument=True
            )
            default = self.merge_default(
                f'Argument "{coordinate}({arg_name}:)"',
                "FIELD_ARGUMENT_DEFAULT_MISMATCH",
                [(s, a.default, a.line) for s, a in present],
            )
            result.args[arg_name] = MergedArg(
                name=arg_name,
                type=arg_type,
                default=default,
                description=self.describe(f"{coordinate}({arg_name}:)", (a.description for _s, a in present)),
                applied=merge_applied([a.applied for _s, a in present]),
            )

    def merge_enum(self, merged: MergedType, sources: list[tuple[Subgraph, SubType]]) -> None:
        usage = self.enum_usage.get(merged.name, set())
        if not usage:
            usage = {"output"}
            self.hint(
                "UNUSED_ENUM_TYPE",
                f'Enum type "{merged.name}" is defined but unused. It will be included in the supergraph with '
                f'all the values appearing in any subgraph ("as if" it was only used as an output type).',
            )
        names: list[str] = []
        for _s, sub in sources:
            names.extend(v for v in sub.values if v not in names)
        for name in names:
            having = [(s, sub.values[name]) for s, sub in sources if name in sub.values]
            value = MergedEnumValue(
                name=name,
                description=self.describe(f"{merged.name}.{name}", (v.description for _s, v in having)),
                applied=merge_applied([v.applied for _s, v in having]),
                graphs=[self.enum[s.name] for s, _v in having],
            )
            lacking = [s.name for s, t in sources if name not in t.values]
            if lacking and usage == {"output"}:
                self.hint(
                    "INCONSISTENT_ENUM_VALUE_FOR_OUTPUT_ENUM",
                    f'Value "{name}" of enum type "{merged.name}" has been added to the supergraph but is only '
                    f'defined in a subset of the subgraphs defining "{merged.name}": it is not defined in '
                    f"{quoted_subgraphs(lacking)}.",
                )
            if len(having) < len(sources) and "input" in usage and not value.applied.inaccessible:
                if "output" not in usage:
                    self.hint(
                        "INCONSISTENT_ENUM_VALUE_FOR_INPUT_ENUM",
                        f'Value "{name}" of enum type "{merged.name}" will not be part of the supergraph as it '
                        f'is not defined in all the subgraphs defining "{merged.name}": it is not defined in '
                        f"{quoted_subgraphs(lacking)}.",
                    )
                if "output" in usage:
                    self.error(
                        "ENUM_VALUE_MISMATCH",
                        f'Enum type "{merged.name}" is used as both input type and output type, but value '
                        f'"{name}" is not defined in all the subgraphs defining "{merged.name}": "{name}" is '
                        f"defined in {quoted_subgraphs(s.name for s, _v in having)} but not in "
                        f"{quoted_subgraphs(s.name for s, t in sources if name not in t.values)}",
                        *[(s.name, t.line) for s, t in sources],
                    )
                else:
                    continue  # input only: the value is left out
            merged.values[name] = value
        if not merged.values:
            self.error(
                "EMPTY_MERGED_ENUM_TYPE",
                f'None of the values of enum type "{merged.name}" are defined consistently in all the '
                f"subgraphs defining that type. As only values common to all subgraphs are merged, this "
                f"would result in an empty type.",
                *[(s.name, t.line) for s, t in sources],
            )

    def merge_input(self, merged: MergedType, sources: list[tuple[Subgraph, SubType]]) -> None:
        names: list[str] = []
        for _s, sub in sources:
            names.extend(n for n in sub.fields if n not in names)
        for name in names:
            having = [(s, sub.fields[name]) for s, sub in sources if name in sub.fields]
            coordinate = f"{merged.name}.{name}"
            applied = merge_applied([f.applied for _s, f in having])
            if len(having) < len(sources) and not applied.inaccessible:
                required = [s.name for s, f in having if f.type.kind == "non_null_type" and f.default is None]
                if required:
                    self.error(
                        "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
                        f'Input object field "{coordinate}" is required in some subgraphs but does not appear '
                        f"in all subgraphs: it is required in {quoted_subgraphs(required)} but does not appear in "
                        f"{quoted_subgraphs(s.name for s, t in sources if name not in t.fields)}",
                        *[(s.name, f.line) for s, f in having],
                    )
                else:
                    self.hint(
                        "INCONSISTENT_INPUT_OBJECT_FIELD",
                        f'Input object field "{name}" will not be added to "{merged.name}" in the supergraph as '
                        f"it does not appear in all subgraphs.",
                    )
                continue
            all_equal, field_type = self.merge_type_reference(coordinate, having, input_position=True)
            result = MergedField(
                name=name,
                type=field_type,
                applied=applied,
                description=self.describe(coordinate, (f.description for _s, f in having)),
            )
            result.default = self.merge_default(
                f'Input field "{coordinate}"',
                "INPUT_FIELD_DEFAULT_MISMATCH",
                [(s, f.default, f.line) for s, f in having],
            )
            if not all_equal:
                result.joins = [JoinField(graph=self.enum[s.name], type=print_ast(f.type)) for s, f in having]
            merged.fields[name] = result
        if not merged.fields:
            self.error(
                "EMPTY_MERGED_INPUT_TYPE",
                f'None of the fields of input object type "{merged.name}" are consistently defined in all the '
                f"subgraphs defining that type. As only fields common to all subgraphs are merged, this would "
                f"result in an empty type.",
                *[(s.name, t.line) for s, t in sources],
            )
