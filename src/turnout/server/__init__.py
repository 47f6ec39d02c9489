"""The HTTP server: GraphQL over HTTP, probes."""

from __future__ import annotations

from .admin import AdminServer, BearerTokens, create_admin_app
from .app import create_app

__all__ = ["AdminServer", "BearerTokens", "create_admin_app", "create_app"]
