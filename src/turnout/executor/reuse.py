"""Answering a root fetch from another one's answer: what a comparison's candidate run shares with the request.

A comparison runs the operation again with the migrating fields routed to the new subgraph. Its root fetch to
the old subgraph then asks for less than the request's did (the migrating fields are gone) and, often, for a
key and `__typename` more (to jump to the new subgraph). Sent again, it would read the old side a second time,
later: a write in between would show up as a difference at a field that is not even migrating. Instead, when
the request made a root fetch to the same subgraph with the same variables whose selection covers the
candidate's (the same fields with the same arguments; `__typename` of a concrete type is known without asking),
the candidate's answer is that answer cut to the candidate's selection. Nothing else is reused: a field the
candidate asks of the old side is exactly what the user was answered.

Shapes are computed by the planner (`Fetch.shape`, plan_nodes.Shape).
"""

from __future__ import annotations

from typing import Any

from ..planner.plan_nodes import Shape

__all__ = ["covers", "project"]


def covers(primary: Shape, candidate: Shape) -> bool:
    """Whether an answer to `primary` holds everything an answer to `candidate` holds."""
    fields = {entry[:3]: entry[3] for entry in primary[1]}
    for key, name, arguments, sub in candidate[1]:
        if (key, name, arguments) not in fields:
            if name == "__typename" and not arguments and candidate[0] is not None:
                continue  # a concrete type's name is known without asking
            return False
        theirs = fields[(key, name, arguments)]
        if sub is not None and (theirs is None or not covers(theirs, sub)):
            return False
    return True


def project(value: Any, shape: Shape) -> Any:
    """`value` (an answer to a covering selection) cut to `shape`."""
    if isinstance(value, list):
        return [project(item, shape) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, name, _arguments, sub in shape[1]:
        if key in value:
            out[key] = value[key] if sub is None else project(value[key], sub)
        elif name == "__typename" and shape[0] is not None:
            out[key] = shape[0]
    return out
