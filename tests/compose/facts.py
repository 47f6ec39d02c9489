"""What two supergraphs must agree on, read with turnout's own loader: the API schema and the join metadata."""

from __future__ import annotations

import re
from typing import Any

from graphql import lexicographic_sort_schema, print_schema

from turnout.supergraph.join_spec import read_supergraph

__all__ = ["api_schema", "differences", "join_facts"]


def _fields_text(text: str | None) -> str | None:
    return None if text is None else re.sub(r"\s+", " ", text.replace(",", " ")).strip()


def api_schema(sdl: str) -> str:
    return print_schema(lexicographic_sort_schema(read_supergraph(sdl).api_schema))


def join_facts(sdl: str) -> dict[str, Any]:
    """Per type and field, per subgraph (by name): keys, extension/interface-object marks, field roles."""
    model = read_supergraph(sdl)
    graph = {enum: s.name for enum, s in model.subgraphs.items()}
    facts: dict[str, Any] = {}
    for name, typedef in model.types.items():
        facts[f"type {name}"] = {
            graph[g]: (
                sorted((_fields_text(k.fields), k.resolvable) for k in entry.keys),
                entry.interface_object,
                entry.extension,
            )
            for g, entry in typedef.in_graphs.items()
        }
        if typedef.kind in ("object", "interface"):
            facts[f"implements {name}"] = {graph[g]: sorted(v) for g, v in typedef.implements_in.items() if v}
        if typedef.kind == "union":
            facts[f"members {name}"] = {graph[g]: sorted(v) for g, v in typedef.members_in.items() if v}
        for field_name, fdef in typedef.fields.items():
            facts[f"field {name}.{field_name}"] = {
                graph[g]: (
                    f.external,
                    _fields_text(f.requires_text),
                    _fields_text(f.provides_text),
                    f.override_from and graph.get(f.override_from, f.override_from),
                    f.override_label,
                    f.used_overridden,
                    f.type,
                    sorted((c.context, c.name, c.type, c.selection) for c in f.context_arguments),
                )
                for g, f in fdef.in_graphs.items()
            }
    return facts


def differences(ours: str, theirs: str) -> list[str]:
    """Every way `ours` differs from `theirs` (empty when they agree)."""
    found: list[str] = []
    a, b = api_schema(ours), api_schema(theirs)
    if a != b:
        import difflib

        diff = list(difflib.unified_diff(b.splitlines(), a.splitlines(), "theirs", "ours", lineterm="", n=1))
        found.append("API schema differs:\n" + "\n".join(diff[:60]))
    fa, fb = join_facts(ours), join_facts(theirs)
    for key in sorted(set(fa) | set(fb)):
        if fa.get(key) != fb.get(key):
            found.append(f"{key}: ours {fa.get(key)} theirs {fb.get(key)}")
    return found
