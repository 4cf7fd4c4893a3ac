"""Observability at the edge: the Prometheus metrics every hub process exposes."""
