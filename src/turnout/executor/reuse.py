"""Answering a root fetch from another one's answer: what a comparison's candidate run shares with the request.

A comparison runs the operation again with the migrating fields routed to the new subgraph. Its root fetch to
the old subgraph then asks for less than the request's did (the migrating fields are gone) and, often, for a
key and `__typename` more (to jump to the new subgraph). Sent again, it would read the old side a second time,
later: a write in between would show up as a difference at a field that is not even migrating. Instead, when
the request made a root fetch to the same subgraph with the same variables whose selection covers the
candidate's (the same fields with the same arguments; `__typename` of a concrete type is known without asking),
the candidate's answer is that answer cut to the candidate's selection.

The same holds one jump further. The candidate's entity fetch to the old subgraph (the fields that stay there, of
objects the new subgraph listed) is answered from the objects of the request's root answers of that subgraph
(`ObjectIndex`) when every representation names an object found there (same type, and every representation
field, keys and `@requires` values alike, equal to the object's field of that name) whose selection covers the
entity selection. A representation holding a value the old side never answered with (a `@requires` value the new
side computed) finds nothing, and the fetch is sent. Nothing else is reused: a field the candidate asks of the
old side is exactly what the user was answered.

Shapes are computed by the planner (`Fetch.shape`, plan_nodes.Shape).
"""

from __future__ import annotations

from typing import Any

from ..planner.plan_nodes import Shape

__all__ = ["ObjectIndex", "covers", "project"]


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


class ObjectIndex:
    """The objects of one subgraph's root answers, by type, each with its selection."""

    __slots__ = ("_plain", "objects")

    def __init__(self, answers: list[tuple[Shape, Any]]) -> None:
        # per type: (object, its selection, the keys it holds under their own name: no alias, no arguments)
        self.objects: dict[str, list[tuple[dict[str, Any], Shape, frozenset[str]]]] = {}
        self._plain: dict[int, frozenset[str]] = {}  # per selection level (by id: the shapes live as long)
        for shape, data in answers:
            self._add(data, shape)

    def _add(self, value: Any, shape: Shape) -> None:
        stack = [(value, shape)]
        while stack:
            node, level = stack.pop()
            if isinstance(node, list):
                stack.extend((item, level) for item in node)
                continue
            if not isinstance(node, dict):
                continue
            if level[0] is not None:
                plain = self._plain.get(id(level))
                if plain is None:
                    plain = self._plain[id(level)] = frozenset(
                        key for key, name, arguments, _sub in level[1] if key == name and not arguments
                    )
                self.objects.setdefault(level[0], []).append((node, level, plain))
            stack.extend(
                (node[key], sub)
                for key, _name, _arguments, sub in level[1]
                if sub is not None and key in node
            )

    def entities(self, representations: list[Any], shapes: tuple[tuple[str, Shape], ...]) -> list[Any] | None:
        """The `_entities` answer to these representations, cut to `shapes` (per type); None unless every one
        of them is found."""
        by_type = dict(shapes)
        out: list[Any] = []
        for representation in representations:
            typename = representation.get("__typename") if isinstance(representation, dict) else None
            if not isinstance(typename, str) or typename not in by_type:
                return None
            wanted = by_type[typename]
            found = next(
                (
                    obj
                    for obj, shape, plain in self.objects.get(typename, ())
                    if _names(representation, obj, plain) and covers(shape, wanted)
                ),
                None,
            )
            if found is None:
                return None
            out.append(project(found, wanted))
        return out


def _names(representation: dict[str, Any], obj: dict[str, Any], plain: frozenset[str]) -> bool:
    """Whether `obj` holds every field of the representation, under its own name (`plain`: no alias, no
    arguments), with the same value."""
    return all(
        key in plain and key in obj and _same(obj[key], value)
        for key, value in representation.items()
        if key != "__typename"
    )


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1, 1.0 and True are three values (Python's `==` takes them for one)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
