"""The interval's parts in worker processes: when they are used, and that they give the
estimate the parts give in this process (within float32 rounding of another BLAS thread
count, as docs/benchmarks.md#reproducibility defines it)."""
import numpy as np
import pytest

import minimi
from minimi import backend
from minimi.estimator import workers


@pytest.fixture
def cpus(monkeypatch):
    """No fixed thread count, the CPU (even under the CuPy stand-in, MINIMI_DEVICE=gpu),
    and a function that sets how many CPUs this process may use."""
    monkeypatch.delenv("MINIMI_THREADS", raising=False)
    monkeypatch.setattr(backend, "device", lambda: "cpu")

    def set_cpus(n):
        monkeypatch.setattr(backend, "cpus", lambda: n)
    return set_cpus


def test_workers_only_on_the_cpu_with_cpus_to_spare_and_no_fixed_count(cpus, monkeypatch):
    two_parts = [np.arange(5), np.arange(5, 10)]
    cpus(1)
    assert workers.workers_for(two_parts) == 0
    cpus(2)
    assert workers.workers_for(two_parts) == 1
    cpus(8)
    assert workers.workers_for(two_parts) == 2 and workers.workers_for([]) == 0
    with backend.blas_thread_count(1):          # as under bench tasks --jobs
        assert workers.workers_for(two_parts) == 0
    with workers.in_turn():
        assert workers.workers_for(two_parts) == 0
    assert workers.workers_for(two_parts) == 2
    monkeypatch.setenv("MINIMI_THREADS", "4")
    assert workers.workers_for(two_parts) == 0
    monkeypatch.delenv("MINIMI_THREADS")
    monkeypatch.setattr(backend, "device", lambda: "gpu")
    assert workers.workers_for(two_parts) == 0


def test_parts_in_workers_give_the_estimate_of_parts_in_turn(cpus, monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1200, 2))
    y = 0.6 * x + 0.8 * rng.standard_normal((1200, 2))
    used = []
    side_by_side = workers.side_by_side

    def spy(n, progress):
        used.append(n)
        return side_by_side(n, progress)
    monkeypatch.setattr(workers, "side_by_side", spy)
    cpus(2)
    lines = []
    beside = minimi.estimate(x, y, steps=300, seed=1, progress=lines.append)
    assert used == [1]
    with backend.blas_thread_count(1):
        in_turn = minimi.estimate(x, y, steps=300, seed=1, progress=lambda line: None)
    assert used == [1]                                  # in turn: no workers
    assert beside.status == in_turn.status == "ok" and len(beside.subsample_mi) == 2
    np.testing.assert_allclose(beside.subsample_mi, in_turn.subsample_mi, atol=1e-5)
    np.testing.assert_allclose(beside.ci, in_turn.ci, atol=1e-5)
    assert beside.mi == pytest.approx(in_turn.mi, abs=1e-5)
    for j in (1, 2):                                    # the parts' progress came back
        assert any(line.startswith(f"subsample {j} of 2: ") for line in lines)
