"""A stable pretty-printer for query plans (planner tests assert its output)."""

from __future__ import annotations

from .plan_nodes import Condition, Fetch, Flatten, Parallel, PlanNode, QueryPlan, Sequence

__all__ = ["print_plan"]


def _indent(text: str, pad: str) -> str:
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def _node(node: PlanNode) -> str:
    if isinstance(node, Fetch):
        body = ""
        if node.display_requires is not None:
            body += node.display_requires + " =>\n"
        body += node.display_selection
        for context in node.contexts:  # where each @fromContext variable is read
            where = ".".join((*context.ancestor, *context.keys))
            body += f"\n${context.variable} <- {where}"
        return f'Fetch(service: "{node.service}") {{\n{_indent(body, "  ")}\n}}'
    if isinstance(node, Flatten):
        if node.more_paths:
            paths = ", ".join(f'"{".".join(p)}"' for p in node.paths)
            return f"Flatten(paths: [{paths}]) {{\n{_indent(_node(node.node), '  ')}\n}}"
        path = ".".join(node.path)
        return f'Flatten(path: "{path}") {{\n{_indent(_node(node.node), "  ")}\n}}'
    if isinstance(node, Sequence | Parallel):
        name = "Sequence" if isinstance(node, Sequence) else "Parallel"
        inner = ",\n".join(_indent(_node(child), "  ") for child in node.nodes)
        return f"{name} {{\n{inner},\n}}"
    if isinstance(node, Condition):
        parts = [f"Condition(if: ${node.variable}) {{"]
        if node.if_clause is not None:
            parts.append("  Then {\n" + _indent(_node(node.if_clause), "    ") + "\n  }")
        if node.else_clause is not None:
            parts.append("  Else {\n" + _indent(_node(node.else_clause), "    ") + "\n  }")
        parts.append("}")
        return "\n".join(parts)
    raise TypeError(f"unknown plan node {node!r}")


def print_plan(plan: QueryPlan) -> str:
    """`QueryPlan { ... }` with one node per block, two-space indentation."""
    if plan.node is None:
        return "QueryPlan {\n}"
    return "QueryPlan {\n" + _indent(_node(plan.node), "  ") + "\n}"
