"""Benchmarks of Skyddsportalen (issue 6). Not tests: `make bench` runs them; see bench/README.md."""
