"""Benchmarks for save-relay; run them with ``python -m bench`` (or ``make bench``)."""
