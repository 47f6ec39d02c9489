"""Transports: how subgraph requests leave the gateway."""

from __future__ import annotations

from .base import SubgraphClient, SubgraphRequest, TransportError
from .http import HttpTransport

__all__ = ["HttpTransport", "SubgraphClient", "SubgraphRequest", "TransportError"]
