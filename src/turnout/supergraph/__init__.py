"""supergraph."""
