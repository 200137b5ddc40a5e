"""Where a training step's time goes: per-section timers for one instrumented step.

    with profile.sections() as seconds:
        step()
    seconds    # {'gemm': 0.041, 'im2col': 0.009, 'col2im': 0.012, 'pooling': 0.011}

Kernels mark their expensive parts with `with section("im2col"):`. Outside
`sections()` a marker costs one attribute lookup; inside, it synchronises the
device at both ends (on a GPU the time is otherwise the launch's, not the work's).
"""
import collections
import contextlib
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
