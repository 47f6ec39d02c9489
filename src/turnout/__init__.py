"""turnout: a GraphQL Federation gateway for migrating a monolith one field at a time."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
