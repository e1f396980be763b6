"""Benchmarks: a large generated catalogue and the server time of its busiest pages."""
