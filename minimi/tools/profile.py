"""Where a training step's time goes, and the median timer that the benchmarks and
`minimi doctor` use.

    with profile.sections() as seconds:
        step()
    seconds    # {'FusedConv2dPool.forward': 0.021, 'MatMul.backward': 0.004, ...,
               #  'gemm': 0.041, 'im2col': 0.004, 'col2im': 0.006, 'pooling': 0.005}

Two kinds of entry: every op's forward and backward, timed where the engine calls
them (tensor.timer), and the phases inside the fast convolutions (gemm, im2col,
col2im, pooling), timed by wrapping fast_conv's helpers for the length of the
block. The kernels themselves hold no timers. Each timed call synchronises the
device at both ends (on a GPU the time is otherwise the launch's, not the work's);
outside `sections()` nothing is timed and nothing is wrapped.
"""
import collections
import contextlib
import functools
import statistics
import time

from .. import backend
from ..engine import tensor
from ..engine.ops import fast_conv

# fast_conv's helpers and the phase each one's time counts towards
PHASES = {"gemm": "gemm", "im2col": "im2col", "col2im": "col2im", "image_order": "col2im",
          "max4": "pooling", "unmax4": "pooling"}


def _timed(seconds, name, fn, *args, **kwargs):
    backend.synchronize()
    start = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        backend.synchronize()
        seconds[name] += time.perf_counter() - start


@contextlib.contextmanager
def sections():
    """Collect {op.forward / op.backward / phase: seconds} of everything run inside
    the block. Ops nest no other ops, so the op entries add up to the engine's time;
    phases lie inside their op's time."""
    seconds = collections.Counter()
    previous_timer = tensor.timer
    originals = {name: getattr(fast_conv, name) for name in PHASES}
    tensor.timer = functools.partial(_timed, seconds)
    for name, fn in originals.items():
        setattr(fast_conv, name, functools.partial(_timed, seconds, PHASES[name], fn))
    try:
        yield seconds
    finally:
        tensor.timer = previous_timer
        for name, fn in originals.items():
            setattr(fast_conv, name, fn)


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
