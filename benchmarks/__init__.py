"""Benchmarks: ``python -m benchmarks [part ...]`` prints a table, then ``name value unit`` lines."""
