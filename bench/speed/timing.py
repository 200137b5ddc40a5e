"""Timing helpers shared by the benchmarks: warm-up, median of repeats, machine facts."""
import os
import platform
import sys

import numpy as np

from minimi import backend
from minimi.tools.profile import median_ms  # noqa: F401 - the benchmarks' timer

from ..grid.records import cpu_model, source_commit


def machine():
    """Facts that a benchmark figure is meaningless without, the device among them, and
    the commit of the code that was timed."""
    return {"python": sys.version.split()[0], "numpy": np.__version__,
            "platform": platform.platform(), "processor": platform.machine(),
            "cpu": cpu_model(), "cpu_count": os.cpu_count(), **backend.blas_info(),
            **backend.device_info(), "commit": source_commit()}
