"""What "the same results" means (docs/benchmarks.md#reproducibility): bit for bit for
the same seed, BLAS thread count and CPU; across thread counts, within float32 rounding
carried through training. The two sides of each comparison run on different BLAS thread
counts on purpose, so that a CPU whose products round alike on any count still runs it."""
import numpy as np
import pytest

import minimi
from minimi import backend

# nats; docs/benchmarks.md#reproducibility has the measurements behind them
ROUNDING = {"separable": 1e-5, "concat": 0.01}


def _gaussian(columns, rows=1000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, columns))
    return x, 0.6 * x + 0.8 * rng.standard_normal((rows, columns))


def _estimate(x, y, threads):
    with backend.blas_thread_count(threads):
        assert backend.blas_threads() in (threads, None)   # None: no BLAS library found
        return minimi.estimate(x, y, steps=300, subsamples=1, seed=0,
                               progress=lambda line: None)


@pytest.mark.parametrize("columns, critic", [(2, "separable"), (1, "concat")])
def test_another_blas_thread_count_agrees_within_float32_rounding(columns, critic):
    x, y = _gaussian(columns)
    one, two = _estimate(x, y, 1), _estimate(x, y, 2)
    assert one.status == two.status == "ok" and one.critic == critic
    assert abs(one.mi - two.mi) <= ROUNDING[critic]


def test_the_same_blas_thread_count_gives_the_same_estimate_bit_for_bit():
    x, y = _gaussian(1)           # the concat critic: the one rounding moves most
    a, b = _estimate(x, y, 2), _estimate(x, y, 2)
    assert a.mi == b.mi and a.validation == b.validation and a.ci == b.ci


def test_the_thread_count_comes_back_and_nonsense_is_refused():
    before = backend.blas_threads()
    with backend.blas_thread_count(1):
        pass
    assert backend.blas_threads() == before
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match=r"blas_thread_count: n must be a positive int, got"):
            backend.blas_thread_count(bad)
