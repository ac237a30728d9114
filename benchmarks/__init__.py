"""Benchmarks: side-by-side measurements of speed, memory and learning (`python -m benchmarks NAME`); not the library."""
