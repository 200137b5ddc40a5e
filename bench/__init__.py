"""minimi's benchmarks: `python -m bench <name> [options]`."""

# minimi before anything loads NumPy: it shortens OpenBLAS's idle spin
# (minimi/backend.py), and the speed figures are measured with that setting.
import minimi  # noqa: F401
