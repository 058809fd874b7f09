"""Benchmarks: each result is a ratio against the raw operation measured in the same run."""
