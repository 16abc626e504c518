"""Tooling for the tests and benchmarks: rule examples run through the engine, the synthetic region."""
