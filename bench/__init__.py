"""Benchmarks (no network). Run from the repository root, e.g. ``python -m bench.signing``."""
