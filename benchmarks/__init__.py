"""Timings the book quotes. Each runs from the repository root: `python -m benchmarks.NAME`."""
