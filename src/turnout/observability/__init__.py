"""Observability: metrics (one catalog), logging."""
