"""Runnable benchmarks (`python -m benchmarks.<name> [--quick]`); `make bench` runs them all."""
