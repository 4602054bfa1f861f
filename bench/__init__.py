"""Benchmarks: `python -m bench [SUITE ...] [--sizes 10000,100000,1000000]` prints tables."""
