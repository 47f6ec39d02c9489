"""Type references across subgraphs: equality, subtyping (for merging field and argument types) and values."""

from __future__ import annotations

from collections.abc import Callable

from graphql import ListTypeNode, NamedTypeNode, NonNullTypeNode, TypeNode, ValueNode, print_ast

__all__ = ["is_strict_subtype", "same_type", "same_value"]

Related = Callable[[str, str], bool]  # (super, sub) named types: is sub a member/implementation of super?


def same_type(a: TypeNode, b: TypeNode) -> bool:
    return print_ast(a) == print_ast(b)


def same_value(a: ValueNode | None, b: ValueNode | None) -> bool:
    if a is None or b is None:
        return a is b
    return print_ast(a) == print_ast(b)


def is_strict_subtype(sup: TypeNode, sub: TypeNode, related: Related) -> bool:
    """Is `sub` a strict subtype of `sup` (non-null of it, a list of subtypes, a member or implementation)?"""
    if isinstance(sub, NonNullTypeNode):
        inner = sub.type
        if isinstance(sup, NonNullTypeNode):
            return is_strict_subtype(sup.type, inner, related)
        return same_type(sup, inner) or is_strict_subtype(sup, inner, related)
    if isinstance(sup, NonNullTypeNode):
        return False
    if isinstance(sup, ListTypeNode) and isinstance(sub, ListTypeNode):
        return is_strict_subtype(sup.type, sub.type, related)
    if isinstance(sup, NamedTypeNode) and isinstance(sub, NamedTypeNode):
        return sup.name.value != sub.name.value and related(sup.name.value, sub.name.value)
    return False
