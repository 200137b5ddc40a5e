"""Timing helpers shared by the benchmarks: warm-up, median of repeats, machine facts."""
import os
import platform
import statistics
import sys
import time

import numpy as np


def median_ms(fn, repeats=20, warmup=3):
    """Median wall time of fn() in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def blas_info():
    """BLAS library name/version and thread counts, as far as this NumPy tells."""
    info = {"threads_env": {k: os.environ.get(k) for k in
                            ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
                            if os.environ.get(k)}}
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        info["blas"] = f"{blas.get('name')} {blas.get('version')}".strip()
    except Exception:  # older NumPy: no dict mode
        info["blas"] = "unknown"
    info["blas_threads"] = openblas_threads()
    return info


def openblas_threads():
    """The thread count of the OpenBLAS that NumPy loaded, asked directly (None if unknown)."""
    import ctypes
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                     "openblas_get_num_threads64_", "openblas_get_num_threads"):
            if hasattr(lib, name):
                return int(getattr(lib, name)())
    return None


def machine():
    """Facts that a benchmark figure is meaningless without."""
    return {"python": sys.version.split()[0], "numpy": np.__version__,
            "platform": platform.platform(), "processor": platform.machine(),
            "cpu_count": os.cpu_count(), **blas_info()}
