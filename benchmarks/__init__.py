"""Benchmarks: speed is measured here, never by timed assertions in tests."""
