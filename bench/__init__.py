"""Benchmarks run against the local dev stack (``hub dev up``); not part of the test suite."""
