"""Tests of the benchmark scripts in benchmarks/ (of a source checkout)."""
