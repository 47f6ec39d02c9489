"""The HTTP server: GraphQL over HTTP, probes."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
