"""The representations an `_entities` fetch sends: the key's and `@requires` fields, read from the parent fetch
under response keys that cannot collide with the client's (an internal `_t_...` key where the client wrote the
same key for another field, or where the field has arguments of its own)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from .fetch_graph import FieldBuilder, SelectionBuilder, internal_key
from .normalize import Field, Fragment, Selection, collect_fields

__all__ = ["level_keys", "record_rep", "rep_conflicts", "with_internal_keys"]


def level_keys(items: Sequence[Selection]) -> dict[str, tuple[str, str]]:
    """The response keys these selections write at their level: key -> (field name, arguments)."""
    return {key: (fields[0].name, fields[0].arguments_text) for key, fields in collect_fields(items).items()}


def with_internal_keys(
    required: Sequence[Selection],
    keys: Mapping[str, tuple[str, str]],
    client_keys: frozenset[str],
    user: Sequence[Selection] = (),
) -> tuple[Selection, ...]:
    """A requirement's fields with the response keys they are fetched under: their own name unless the client
    wrote that key (`keys`: the client's keys at this level) for another field, or the same field with other
    arguments; then an internal key outside `client_keys`. `user`: the client's selections at this level (deeper
    levels are checked against the client's fields they merge into)."""
    out: list[Selection] = []
    for item in required:
        if isinstance(item, Fragment):
            out.append(
                Fragment(
                    type_condition=item.type_condition,
                    directives=item.directives,
                    selections=with_internal_keys(item.selections, {}, client_keys),
                    directives_text=item.directives_text,
                )
            )
            continue
        key = item.name
        theirs = keys.get(item.name)
        if item.arguments_text and theirs != (item.name, item.arguments_text):
            # fields with arguments get a key of their own, so requirements never collide
            digest = hashlib.sha1(item.arguments_text.encode()).hexdigest()[:6]
            key = internal_key(f"_t_{item.name}_{digest}", client_keys)
        elif theirs is not None and theirs != (item.name, item.arguments_text) and item.name != "__typename":
            key = internal_key(f"_t_{item.name}", client_keys)
        below: list[Selection] = []
        if key == item.name and theirs is not None:  # merged into the client's field: its keys count below
            for field in collect_fields(user).get(key, ()):
                below.extend(field.selections)
        out.append(
            Field(
                response_key=key,
                name=item.name,
                arguments=item.arguments,
                directives=(),
                selections=with_internal_keys(item.selections, level_keys(below), client_keys, below),
                arguments_text=item.arguments_text,
                directives_text="",
            )
        )
    return tuple(out)


def rep_conflicts(rep: SelectionBuilder, needed: Sequence[Selection]) -> bool:
    """Whether a representation already carries a field of the same name read from other data."""
    for item in needed:
        if isinstance(item, Field):
            for existing in rep.items.values():
                if (
                    isinstance(existing, FieldBuilder)
                    and existing.name == item.name
                    and existing.response_key != item.response_key
                ):
                    return True
    return False


def record_rep(rep: SelectionBuilder, selections: Sequence[Selection]) -> None:
    """Write the representation's fields (as `with_internal_keys` named them) into its selection."""
    for item in selections:
        if isinstance(item, Fragment):
            record_rep(rep.fragment(item.type_condition), item.selections)
            continue
        built = rep.field(item.response_key, item.name, composite=bool(item.selections))
        if item.selections and built.sub is not None:
            record_rep(built.sub, item.selections)
