"""Subgraphs made ready to merge: Federation 1 ones upgraded to Federation 2 semantics (as Apollo's schema upgrader
does), fake externals dropped, the shareable/used/provided fields computed, and each subgraph's federation
directives validated (`KEY_INVALID_FIELDS`, `REQUIRES_FIELDS_MISSING_EXTERNAL`, `EXTERNAL_UNUSED`...)."""

from __future__ import annotations

from collections.abc import Iterable

from .errors import CompositionError, Location
from .fieldsets import FieldSetError, Target, collect
from .model import Subgraph, SubType, named_type

__all__ = ["normalize_subgraphs"]

Coordinate = tuple[str, str]
_COMPOSITE = ("object", "interface", "union")


def _targets(subgraph: Subgraph, parent: str, text: str | None) -> list[Target]:
    if text is None:
        return []
    try:
        return collect(subgraph, parent, text)
    except FieldSetError:
        return []


def _with_implementations(subgraph: Subgraph, targets: Iterable[Target]) -> set[Coordinate]:
    found: set[Coordinate] = set()
    for target in targets:
        found.add((target.parent, target.field.name))
        parent = subgraph.types.get(target.parent)
        if parent is not None and parent.kind == "interface":
            found.update(
                (implementation, target.field.name)
                for implementation in subgraph.implementations(parent.name)
            )
    return found


def _provided(subgraph: Subgraph) -> set[Coordinate]:
    found: set[Coordinate] = set()
    for sub in subgraph.types.values():
        for field in sub.fields.values():
            if field.provides is not None and sub.kind in ("object", "interface"):
                found |= _with_implementations(
                    subgraph, _targets(subgraph, named_type(field.type), field.provides)
                )
    return found


def _used(subgraph: Subgraph) -> set[Coordinate]:
    used: set[Coordinate] = set()
    for sub in subgraph.types.values():
        for key in sub.keys:
            used |= {(t.parent, t.field.name) for t in _targets(subgraph, sub.name, key.fields)}
        for field in sub.fields.values():
            if sub.kind not in ("object", "interface"):
                continue
            used |= {(t.parent, t.field.name) for t in _targets(subgraph, sub.name, field.requires)}
            used |= {
                (t.parent, t.field.name) for t in _targets(subgraph, named_type(field.type), field.provides)
            }
        if sub.kind == "interface":
            for implementation in subgraph.implementations(sub.name):
                used |= {(implementation, name) for name in sub.fields}
    return used


def _shareable(subgraph: Subgraph) -> set[Coordinate]:
    shareable: set[Coordinate] = set()
    for sub in subgraph.types.values():
        if sub.kind not in ("object", "interface"):
            continue
        for key in sub.keys:
            shareable |= _with_implementations(subgraph, _targets(subgraph, sub.name, key.fields))
        shareable |= {(sub.name, f.name) for f in sub.fields.values() if f.shareable}
    shareable |= {c for c in subgraph.provided if (f := subgraph.field(*c)) is not None and f.external}
    return shareable


def _drop_fake_externals(subgraph: Subgraph) -> None:
    """Key fields of an extension type marked @external are not external (for historical reasons)."""
    for sub in subgraph.types.values():
        for key in sub.keys:
            if key.extension or sub.extends:
                for target in _targets(subgraph, sub.name, key.fields):
                    if target.parent == sub.name:
                        target.field.external = False


def _compute(subgraph: Subgraph) -> None:
    subgraph.provided = _provided(subgraph)
    subgraph.used = _used(subgraph)
    subgraph.shareable = _shareable(subgraph)


def _upgrade(subgraph: Subgraph, originals: dict[str, Subgraph]) -> list[CompositionError]:
    """Federation 1 semantics in Federation 2 terms (Apollo's schemaUpgrader, step by step)."""
    errors: list[CompositionError] = []
    others = [s for name, s in originals.items() if name != subgraph.name]
    for sub in subgraph.types.values():  # `extend type` becomes a definition (@extends stays)
        for key in sub.keys:
            key.extension = False
    for sub in subgraph.types.values():
        if sub.kind == "interface":
            for field in sub.fields.values():
                field.external = False
    for sub in subgraph.types.values():
        if sub.kind not in _COMPOSITE or not (sub.extends or sub.name in subgraph.roots.values()):
            continue
        if sub.keys:
            for key in sub.keys:
                for target in _targets(subgraph, sub.name, key.fields):
                    if target.parent == sub.name:
                        target.field.external = False
        else:
            for other in others:
                there = other.types.get(sub.name)
                if there is None or not there.keys:
                    continue
                for target in _targets(other, sub.name, there.keys[0].fields):
                    own = sub.fields.get(target.field.name)
                    if target.parent == sub.name and own is not None:
                        own.external = False
    for sub in subgraph.types.values():  # requires/provides that select nothing external are inactive
        for field in sub.fields.values():
            if field.requires and not any(
                t.field.external for t in _targets(subgraph, sub.name, field.requires)
            ):
                field.requires = None
            if field.provides and not any(
                t.field.external for t in _targets(subgraph, named_type(field.type), field.provides)
            ):
                field.provides = None
    for sub in subgraph.types.values():
        if sub.kind == "interface":
            if sub.keys:
                subgraph.interface_keys.add(sub.name)
            sub.keys = []
            for field in sub.fields.values():
                field.requires = field.provides = None
        elif sub.kind == "object":
            for field in sub.fields.values():
                base = subgraph.types.get(named_type(field.type))
                if field.provides and (base is None or base.kind not in _COMPOSITE):
                    field.provides = None
    original_shareable = _shareable_fed1(subgraph)
    used = _used(subgraph)
    for sub in list(subgraph.types.values()):
        if sub.kind not in ("object", "interface"):
            continue
        unused = [n for n, f in sub.fields.items() if f.external and (sub.name, n) not in used]
        for name in unused:
            del sub.fields[name]
        if unused and not sub.fields:
            if _referenced(subgraph, sub.name):
                errors.append(
                    CompositionError(
                        code="TYPE_WITH_ONLY_UNUSED_EXTERNAL",
                        message=f"[{subgraph.name}] Type {sub.name} contains only external fields and all those fields "
                        f"are all unused (they do not appear in any @key, @provides or @requires).",
                        locations=(Location(subgraph=subgraph.name, line=sub.line),),
                    )
                )
            else:
                del subgraph.types[sub.name]
    for sub in subgraph.types.values():
        if sub.kind != "object" or sub.name == subgraph.roots.get("subscription"):
            continue
        if sub.keys or sub.name in subgraph.roots.values():
            for field in sub.fields.values():
                if (sub.name, field.name) in original_shareable or field.shareable:
                    continue
                if any(_resolves(other, sub.name, field.name) for other in others):
                    field.shareable = True
        elif any(sub.name in other.types for other in others):
            for field in sub.fields.values():
                field.shareable = True
        for field in sub.fields.values():
            if field.external:
                field.applied.tags = []
    return errors


def _shareable_fed1(subgraph: Subgraph) -> set[Coordinate]:
    subgraph.provided = _provided(subgraph)
    return _shareable(subgraph)


def _resolves(other: Subgraph, type_name: str, field_name: str) -> bool:
    field = other.field(type_name, field_name)
    if field is None:
        return False
    return not field.external or (type_name, field_name) in _provided(other)


def _referenced(subgraph: Subgraph, name: str) -> bool:
    for sub in subgraph.types.values():
        if name in sub.members or name in sub.interfaces:
            return True
        for field in sub.fields.values():
            if named_type(field.type) == name:
                return True
    return False


def _error(
    errors: list[CompositionError], subgraph: Subgraph, code: str, message: str, line: int | None
) -> None:
    errors.append(
        CompositionError(
            code=code,
            message=f"[{subgraph.name}] {message}",
            locations=(Location(subgraph=subgraph.name, line=line),),
        )
    )


def _validate(subgraph: Subgraph) -> list[CompositionError]:
    errors: list[CompositionError] = []
    for sub in subgraph.types.values():
        for key in sub.keys:
            _validate_key(subgraph, sub, key.fields, key.line, errors)
        if sub.kind not in ("object", "interface"):
            continue
        for field in sub.fields.values():
            if field.requires is not None:
                where = f'On field "{sub.name}.{field.name}", for @requires(fields: "{field.requires}")'
                _validate_selected(
                    subgraph, sub.name, field.requires, "requires", where, field.requires_line, errors
                )
            if field.provides is not None:
                target = subgraph.types.get(named_type(field.type))
                if target is None or target.kind not in _COMPOSITE:
                    _error(
                        errors,
                        subgraph,
                        "PROVIDES_ON_NON_OBJECT_FIELD",
                        f'Invalid @provides directive on field "{sub.name}.{field.name}": field has type '
                        f'"{named_type(field.type)}" which is not a Composite Type',
                        field.provides_line,
                    )
                else:
                    where = f'On field "{sub.name}.{field.name}", for @provides(fields: "{field.provides}")'
                    _validate_selected(
                        subgraph, target.name, field.provides, "provides", where, field.provides_line, errors
                    )
            if field.external and (sub.name, field.name) not in subgraph.used:
                _error(
                    errors,
                    subgraph,
                    "EXTERNAL_UNUSED",
                    f'Field "{sub.name}.{field.name}" is marked @external but is not used in any federation '
                    f"directive (@key, @provides, @requires) or to satisfy an interface; the field declaration "
                    f"has no use and should be removed (or the field should not be @external).",
                    field.line,
                )
    return errors


def _validate_key(
    subgraph: Subgraph, sub: SubType, fields: str, line: int | None, errors: list[CompositionError]
) -> None:
    where = f'On type "{sub.name}", for @key(fields: "{fields}")'
    try:
        targets = collect(subgraph, sub.name, fields)
    except FieldSetError as error:
        _error(errors, subgraph, "KEY_INVALID_FIELDS", f"{where}: {error}", line)
        return
    for target in targets:
        coordinate = f"{target.parent}.{target.field.name}"
        if target.field.args:
            _error(
                errors,
                subgraph,
                "KEY_FIELDS_HAS_ARGS",
                f"{where}: field {coordinate} cannot be included because it has arguments (fields with argument "
                f"are not allowed in @key)",
                line,
            )
        base = subgraph.types.get(named_type(target.field.type))
        if base is not None and base.kind in ("interface", "union"):
            kind = "Interface" if base.kind == "interface" else "Union"
            _error(
                errors,
                subgraph,
                "KEY_FIELDS_SELECT_INVALID_TYPE",
                f'{where}: field "{coordinate}" is a {kind} type which is not allowed in @key',
                line,
            )


def _validate_selected(
    subgraph: Subgraph,
    parent: str,
    fields: str,
    directive: str,
    where: str,
    line: int | None,
    errors: list[CompositionError],
) -> None:
    code = directive.upper()
    try:
        targets = collect(subgraph, parent, fields)
    except FieldSetError as error:
        _error(errors, subgraph, f"{code}_INVALID_FIELDS", f"{where}: {error}", line)
        return
    external_parents: list[int] = []  # depths under an external field
    for index, target in enumerate(targets):
        while external_parents and external_parents[-1] >= target.depth:
            external_parents.pop()
        field = target.field
        coordinate = f"{target.parent}.{field.name}"
        if directive == "provides" and field.args:
            _error(
                errors,
                subgraph,
                "PROVIDES_FIELDS_HAS_ARGS",
                f"{where}: field {coordinate} cannot be included because it has arguments (fields with argument "
                f"are not allowed in @provides)",
                line,
            )
        is_leaf = index + 1 >= len(targets) or targets[index + 1].depth <= target.depth
        if is_leaf and not field.external and not external_parents:
            _error(
                errors,
                subgraph,
                f"{code}_FIELDS_MISSING_EXTERNAL",
                f'{where}: field "{coordinate}" should not be part of a @{directive} since it is already provided '
                f"by this subgraph (it is not marked @external)",
                line,
            )
        if field.external or _external_in_implementations(subgraph, target):
            external_parents.append(target.depth)


def _external_in_implementations(subgraph: Subgraph, target: Target) -> bool:
    parent = subgraph.types.get(target.parent)
    if parent is None or parent.kind != "interface":
        return False
    return any(
        (f := subgraph.field(i, target.field.name)) is not None and f.external
        for i in subgraph.implementations(parent.name)
    )


def normalize_subgraphs(subgraphs: list[Subgraph]) -> list[CompositionError]:
    """Upgrade Federation 1 subgraphs, compute each subgraph's derived sets, and validate them (in place)."""
    errors: list[CompositionError] = []
    for subgraph in subgraphs:
        _drop_fake_externals(subgraph)
    originals = {s.name: s for s in subgraphs}
    for subgraph in subgraphs:
        if not subgraph.fed2:
            errors.extend(_upgrade(subgraph, originals))
    for subgraph in subgraphs:
        _compute(subgraph)
        errors.extend(_validate(subgraph))
    return errors
