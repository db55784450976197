"""Benchmarks: each module prints gisgrid's figures next to a peer measured in the same run."""
