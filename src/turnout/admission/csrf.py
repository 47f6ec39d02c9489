"""CSRF prevention for the GraphQL endpoint, as Apollo Router and Apollo Server do it.

A browser sends a cross-site request without asking the server first (a CORS preflight) only when it is a
"simple" request: GET (or HEAD), or POST whose content-type is `text/plain`,
`application/x-www-form-urlencoded` or `multipart/form-data` (or missing). A form or an `<img>` on another
site can make such a request with the user's cookies, and a GET query, or a mutation in a form POST, would run
before CORS could stop anything. So a request is executed only when it cannot be simple: it has a content-type
that is none of those three (`application/json`, `application/graphql-response+json`...), or it carries a
non-empty header that a page can only set after a preflight (`x-apollo-operation-name`,
`apollo-require-preflight`, or the ones configured). Everything else is refused with 400 before it is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_REQUIRED_HEADERS", "SIMPLE_CONTENT_TYPES", "CsrfPrevention"]

SIMPLE_CONTENT_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
DEFAULT_REQUIRED_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight")


def content_type_essence(value: str | None) -> str | None:
    """`type/subtype` of a content-type header, lower-cased; None when the header is absent."""
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class CsrfPrevention:
    """Refuses requests a browser could send cross-site without a preflight (see the module)."""

    enabled: bool = True
    required_headers: tuple[str, ...] = DEFAULT_REQUIRED_HEADERS

    @classmethod
    def with_headers(cls, headers: Iterable[str], *, enabled: bool = True) -> CsrfPrevention:
        return cls(enabled=enabled, required_headers=tuple(h.strip().lower() for h in headers if h.strip()))

    def blocks(self, headers: Mapping[str, str]) -> bool:
        """Whether a request with these (lower-case) headers must be refused."""
        if not self.enabled:
            return False
        essence = content_type_essence(headers.get("content-type"))
        if essence is not None and essence not in SIMPLE_CONTENT_TYPES:
            return False  # a browser preflights this content-type
        return not any(headers.get(name, "").strip() for name in self.required_headers)

    def message(self) -> str:
        names = ", ".join(self.required_headers) or "(none configured)"
        return (
            "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Send it with "
            "a content-type such as application/json (not application/x-www-form-urlencoded, "
            "multipart/form-data or text/plain), or with a non-empty value for one of these headers: "
            f"{names}."
        )
