"""Timing helpers shared by the benchmarks: warm-up, median of repeats, machine facts."""
import os
import platform
import statistics
import sys
import time

import numpy as np

from minimi import backend


def median_ms(fn, repeats=20, warmup=3):
    """Median wall time of fn() in milliseconds, after `warmup` untimed calls. On a
    GPU the device is synchronised before and after each call, so that the time is
    the work's and not the launch's."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        backend.synchronize()
        start = time.perf_counter()
        fn()
        backend.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def machine():
    """Facts that a benchmark figure is meaningless without, the device among them."""
    return {"python": sys.version.split()[0], "numpy": np.__version__,
            "platform": platform.platform(), "processor": platform.machine(),
            "cpu_count": os.cpu_count(), **backend.blas_info(), **backend.device_info()}
