"""meetstore benchmarks: `make bench` runs them all, `make bench-<name>` one (see bench/run_all.py)."""
