"""Where a training step's time goes: per-section timers for one instrumented step,
and the median timer that the benchmarks and `minimi doctor` use.

    with profile.sections() as seconds:
        step()
    seconds    # {'gemm': 0.041, 'im2col': 0.009, 'col2im': 0.012, 'pooling': 0.011}

Kernels mark their expensive parts with `with section("im2col"):`. Outside
`sections()` a marker costs one attribute lookup; inside, it synchronises the
device at both ends (on a GPU the time is otherwise the launch's, not the work's).
"""
import collections
import contextlib
import statistics
import time

from . import backend

_seconds = None


class section:
    """A timed part of a kernel, named by what it does (gemm, im2col, ...)."""

    __slots__ = ("name", "start")

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        if _seconds is not None:
            backend.synchronize()
            self.start = time.perf_counter()

    def __exit__(self, *exc):
        if _seconds is not None:
            backend.synchronize()
            _seconds[self.name] += time.perf_counter() - self.start


@contextlib.contextmanager
def sections():
    """Collect {section name: seconds} of everything run inside the block."""
    global _seconds
    previous, _seconds = _seconds, collections.Counter()
    try:
        yield _seconds
    finally:
        _seconds = previous


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
