"""minimi's benchmarks: `python -m bench <name> [options]`."""
