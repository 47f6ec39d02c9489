"""Benchmarks: scripts run as `python -m bench.NAME` (see README.md); not part of the turnout package."""
