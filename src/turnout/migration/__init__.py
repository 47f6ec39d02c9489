"""Migrations: stages, routing per request, side-by-side comparison, fallback, evidence."""
