"""Observability helpers every layer may use: redaction of what logs and spans may not show, tracing."""
