"""Print a composed supergraph as Apollo's composition does: a `@link` core schema with `join` v0.3 to v0.5."""

from __future__ import annotations

import json

from graphql import print_ast
from graphql.language.block_string import print_block_string

from .merged import JoinField, JoinType, MergedArg, MergedField, MergedType, Supergraph
from .model import Applied

__all__ = ["print_supergraph"]

_LOCATIONS = (
    "FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | "
    "INPUT_OBJECT | INPUT_FIELD_DEFINITION"
)
_JOIN_FIELD_ARGS = {
    "0.3": "graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, "
    "override: String, usedOverridden: Boolean",
}
_JOIN_FIELD_ARGS["0.4"] = _JOIN_FIELD_ARGS["0.3"] + ", overrideLabel: String"
_JOIN_FIELD_ARGS["0.5"] = _JOIN_FIELD_ARGS["0.4"] + ", contextArguments: [join__ContextArgument!]"
_LINK_PURPOSE = '''enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}'''


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _description(text: str | None, indent: str) -> list[str]:
    if text is None:
        return []
    block = print_block_string(text)
    if len(text) > 70 and "\n" not in block:
        block = '"""\n' + block[3:-3] + '\n"""'
    return [indent + line if line else "" for line in block.split("\n")]


def _applied(applied: Applied) -> str:
    parts = []
    if applied.deprecated is not None:
        parts.append(
            "@deprecated"
            if applied.deprecated in ("", "No longer supported")
            else f"@deprecated(reason: {_string(applied.deprecated)})"
        )
    if applied.specified_by is not None:
        parts.append(f"@specifiedBy(url: {_string(applied.specified_by)})")
    if applied.inaccessible:
        parts.append("@inaccessible")
    parts.extend(f"@tag(name: {_string(tag)})" for tag in applied.tags)
    return " ".join(parts)


def _without_inaccessible(applied: Applied) -> Applied:
    return Applied(tags=applied.tags, deprecated=applied.deprecated, specified_by=applied.specified_by)


def _join_type(join: JoinType) -> str:
    args = [f"graph: {join.graph}"]
    if join.key is not None:
        args.append(f"key: {_string(join.key)}")
    if join.extension:
        args.append("extension: true")
    if not join.resolvable or join.resolvable_given:
        args.append(f"resolvable: {'true' if join.resolvable else 'false'}")
    if join.interface_object:
        args.append("isInterfaceObject: true")
    return f"@join__type({', '.join(args)})"


def _join_field(join: JoinField) -> str:
    args = []
    if join.graph is not None:
        args.append(f"graph: {join.graph}")
    for name, value in (("requires", join.requires), ("provides", join.provides), ("type", join.type)):
        if value is not None:
            args.append(f"{name}: {_string(value)}")
    if join.external:
        args.append("external: true")
    if join.override is not None:
        args.append(f"override: {_string(join.override)}")
    if join.used_overridden:
        args.append("usedOverridden: true")
    if join.override_label is not None:
        args.append(f"overrideLabel: {_string(join.override_label)}")
    if join.context_arguments:
        args.append(
            "contextArguments: ["
            + ", ".join(
                f"{{context: {_string(c)}, name: {_string(n)}, type: {_string(t)}, selection: {_string(s)}}}"
                for c, n, t, s in join.context_arguments
            )
            + "]"
        )
    return f"@join__field({', '.join(args)})" if args else "@join__field"


def _args(args: dict[str, MergedArg]) -> str:
    if not args:
        return ""
    printed = []
    for arg in args.values():
        text = f"{arg.name}: {print_ast(arg.type)}"
        if arg.default is not None:
            text += f" = {print_ast(arg.default)}"
        if extra := _applied(arg.applied):
            text += " " + extra
        printed.append((arg.description, text))
    if all(description is None for description, _t in printed):
        return "(" + ", ".join(text for _d, text in printed) + ")"
    lines = ["("]
    for description, text in printed:
        lines.extend(_description(description, "    "))
        lines.append("    " + text)
    return "\n".join(lines) + "\n  )"


def _field(field: MergedField, input_field: bool) -> list[str]:
    text = f"  {field.name}{'' if input_field else _args(field.args)}: {print_ast(field.type)}"
    if input_field and field.default is not None:
        text += f" = {print_ast(field.default)}"
    extras = ["@inaccessible"] if field.applied.inaccessible else []
    extras.extend(_join_field(j) for j in field.joins)
    if applied := _applied(_without_inaccessible(field.applied)):
        extras.append(applied)
    if extras:
        text += " " + " ".join(extras)
    return [*_description(field.description, "  "), text]


def _type(merged: MergedType) -> str:
    keyword = {
        "object": "type",
        "interface": "interface",
        "union": "union",
        "enum": "enum",
        "input": "input",
        "scalar": "scalar",
    }[merged.kind]
    head = f"{keyword} {merged.name}"
    if merged.interfaces:
        head += " implements " + " & ".join(merged.interfaces)
    lines = [*_description(merged.description, ""), head]
    lines.extend(
        f"  @join__implements(graph: {graph}, interface: {_string(itf)})" for graph, itf in merged.implements
    )
    lines.extend("  " + _join_type(join) for join in merged.joins)
    lines.extend(
        f"  @join__unionMember(graph: {graph}, member: {_string(member)})"
        for graph, member in merged.member_joins
    )
    lines.extend(f"  @context(name: {_string(name)})" for name in merged.contexts)
    if applied := _applied(merged.applied):
        lines.extend("  " + part for part in _split_applied(applied))
    if merged.kind == "union":
        return "\n".join(lines) + "\n = " + " | ".join(merged.members)
    if merged.kind == "scalar":
        return "\n".join(lines)
    body: list[str] = []
    if merged.kind == "enum":
        for value in merged.values.values():
            if body and value.description is not None:
                body.append("")
            body.extend(_description(value.description, "  "))
            extras = ["@inaccessible"] if value.applied.inaccessible else []
            extras.extend(f"@join__enumValue(graph: {graph})" for graph in value.graphs)
            if applied := _applied(_without_inaccessible(value.applied)):
                extras.append(applied)
            body.append(f"  {value.name} " + " ".join(extras) if extras else f"  {value.name}")
    else:
        for field in merged.fields.values():
            if body and field.description is not None:
                body.append("")
            body.extend(_field(field, merged.kind == "input"))
    return "\n".join([*lines, "{", *body, "}"])


def _split_applied(applied: str) -> list[str]:
    parts: list[str] = []
    for token in applied.split(" @"):
        parts.append(token if token.startswith("@") else "@" + token)
    return parts


def print_supergraph(supergraph: Supergraph) -> str:
    version = supergraph.join_version
    links = [
        '  @link(url: "https://specs.apollo.dev/link/v1.0")',
        f'  @link(url: "https://specs.apollo.dev/join/v{version}", for: EXECUTION)',
    ]
    directives = [
        "directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE",
        f"directive @join__field({_JOIN_FIELD_ARGS[version]}) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION",
        "directive @join__graph(name: String!, url: String!) on ENUM_VALUE",
        "directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE",
        "directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: "
        "Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | "
        "INPUT_OBJECT | SCALAR",
        "directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION",
        "directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA",
    ]
    blocks: list[tuple[str, str]] = [
        ("join__FieldSet", "scalar join__FieldSet"),
        (
            "join__Graph",
            "enum join__Graph {\n"
            + "\n".join(
                f"  {g.enum} @join__graph(name: {_string(g.name)}, url: {_string(g.url)})"
                for g in supergraph.graphs
            )
            + "\n}",
        ),
        ("link__Import", "scalar link__Import"),
        ("link__Purpose", _LINK_PURPOSE),
    ]
    if version in ("0.4", "0.5"):
        directives.append(
            "directive @join__directive(graphs: [join__Graph!], name: String!, args: "
            "join__DirectiveArguments) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION"
        )
        blocks.append(("join__DirectiveArguments", "scalar join__DirectiveArguments"))
    if version == "0.5":
        blocks.append(
            (
                "join__ContextArgument",
                "input join__ContextArgument {\n  name: String!\n  type: String!\n"
                "  context: String!\n  selection: join__FieldValue!\n}",
            )
        )
        blocks.append(("join__FieldValue", "scalar join__FieldValue"))
    if supergraph.uses_tag:
        links.append('  @link(url: "https://specs.apollo.dev/tag/v0.3")')
        directives.append(f"directive @tag(name: String!) repeatable on {_LOCATIONS} | SCHEMA")
    if supergraph.uses_inaccessible:
        links.append('  @link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)')
        directives.append(f"directive @inaccessible on {_LOCATIONS}")
    if supergraph.uses_context:
        links.append('  @link(url: "https://specs.apollo.dev/context/v0.1", for: SECURITY)')
        directives.append("directive @context(name: String!) repeatable on INTERFACE | OBJECT | UNION")
        directives.append(
            "directive @context__fromContext(field: context__ContextFieldValue) on ARGUMENT_DEFINITION"
        )
        blocks.append(("context__ContextFieldValue", "scalar context__ContextFieldValue"))
    roots = "\n".join(f"  {kind}: {name}" for kind, name in supergraph.roots.items())
    schema = "schema\n" + "\n".join(links) + "\n{\n" + roots + "\n}"
    blocks.extend((t.name, _type(t)) for t in supergraph.types.values())
    blocks.sort(key=lambda b: b[0].lower())
    directives.sort(key=lambda d: d.split("(")[0].split(" ")[1].lower())
    return "\n\n".join([schema, *directives, *(text for _n, text in blocks)]) + "\n"
