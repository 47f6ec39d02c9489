"""Example systems for turnout (run from the repository root, e.g. ``python -m examples.shop.serve``)."""
