"""How many threads minimi's products and kernels take: by their size, by the CPUs this
process may use, by what the user fixed, and by what other processes leave free."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from minimi import backend, ops
from minimi.engine.tensor import Tensor

BIG = backend.BLAS_CROSSOVER          # multiply-adds
SMALL = backend.BLAS_CROSSOVER - 1


@pytest.fixture
def unset(monkeypatch):
    """No MINIMI_THREADS, two CPUs of our own, nothing else running, unless a test says."""
    monkeypatch.delenv("MINIMI_THREADS", raising=False)
    monkeypatch.setattr(backend, "cpus", lambda: 2)
    monkeypatch.setattr(backend, "busy_elsewhere", lambda: 0.0)
    return monkeypatch


class FakeBlas:
    """Stands in for OpenBLAS's get/set thread count: records every count set."""

    def __init__(self, count):
        self.count, self.set_to = count, []

    def get(self):
        return self.count

    def put(self, n):
        self.count = n
        self.set_to.append(n)


def test_a_product_below_the_crossover_runs_on_one_thread_and_the_count_comes_back(unset):
    blas = FakeBlas(2)
    unset.setattr(backend, "_blas", (blas.get, blas.put))
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 64)), rng.standard_normal((64, 64))  # 64³ < crossover
    np.testing.assert_array_equal(backend.matmul(a, b), a @ b)
    assert blas.set_to == [1, 2] and blas.count == 2


def test_a_product_at_the_crossover_keeps_the_free_cpus(unset):
    blas = FakeBlas(2)
    unset.setattr(backend, "_blas", (blas.get, blas.put))
    a, b = np.ones((256, 256), np.float32), np.ones((256, 256), np.float32)  # 256³ = 2^24
    assert 256 ** 3 >= BIG
    backend.matmul(a, b)
    assert blas.set_to == []                       # two free CPUs, two threads in force


@pytest.fixture
def on_cpu():
    """The CPU, even in the suite's run under the CuPy stand-in (MINIMI_DEVICE=gpu)."""
    previous = backend.use_device("cpu")
    yield
    backend.use_device(previous)


def test_the_layers_products_go_through_the_choice(unset, on_cpu):
    """Linear's forward and its weight gradient, and the fast convolution the SmallCNN
    trains with, ask for threads."""
    blas = FakeBlas(2)
    unset.setattr(backend, "_blas", (blas.get, blas.put))
    x = Tensor(np.ones((8, 4), np.float32))
    w = Tensor(np.ones((4, 3), np.float32), requires_grad=True)
    ops.linear(x, w).sum().backward()
    assert blas.set_to == [1, 2] * 2               # forward, then x.T @ gy (x needs none)
    blas.set_to.clear()
    images = Tensor(np.ones((1, 4, 4, 1), np.float32))
    kernel = Tensor(np.ones((2, 1, 3, 3), np.float32))
    ops.conv2d_pool(images, kernel, padding=1)
    assert blas.set_to == [1, 2]


def test_the_cpus_this_process_may_use_cap_a_large_product(unset):
    unset.setattr(backend, "cpus", lambda: 1)      # taskset, SLURM's --cpus-per-task
    assert backend.product_threads(BIG) == 1 and backend.threads() == 1
    unset.setattr(backend, "cpus", lambda: 8)
    assert backend.product_threads(BIG) == 8 and backend.product_threads(BIG, most=2) == 2
    assert backend.product_threads(SMALL) == 1


def test_the_real_affinity_and_slurm_are_what_cpus_counts(monkeypatch):
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert backend.cpus() == 3
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "2")    # a job whose tasks are not bound
    assert backend.cpus() == 2
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "8")    # bound to fewer than it asked for
    assert backend.cpus() == 3


def test_other_processes_take_threads_away_and_a_fixed_count_keeps_them(unset):
    unset.setattr(backend, "cpus", lambda: 4)
    unset.setattr(backend, "busy_elsewhere", lambda: 2.0)
    assert backend.product_threads(BIG) == 2
    unset.setattr(backend, "busy_elsewhere", lambda: 2.5)  # half a CPU free is not free
    assert backend.product_threads(BIG) == 1 and backend.threads() == 1
    unset.setattr(backend, "busy_elsewhere", lambda: 2.7)
    assert backend.product_threads(BIG) == 1
    unset.setattr(backend, "busy_elsewhere", lambda: 0.75)  # 0.25 of one busy: still free
    assert backend.product_threads(BIG) == 3
    unset.setenv("MINIMI_THREADS", "3")            # fixed: the same bits under any load
    unset.setattr(backend, "busy_elsewhere", lambda: 4.0)
    assert backend.product_threads(BIG) == 3 and backend.threads() == 3
    assert backend.product_threads(SMALL) == 1
    with backend.blas_thread_count(2):
        assert backend.product_threads(BIG) == 2
        with backend.blas_thread_count(1):
            assert backend.product_threads(BIG) == 1
        assert backend.product_threads(BIG) == 2


@pytest.mark.parametrize("bad", ["two", "0", "-1", "1.5"])
def test_a_bad_minimi_threads_is_named(unset, bad):
    unset.setenv("MINIMI_THREADS", bad)
    with pytest.raises(ValueError, match=f"MINIMI_THREADS='{bad}'"):
        backend.product_threads(BIG)


def test_busy_elsewhere_is_the_cpu_time_of_others_per_second(monkeypatch):
    """Over a window: the CPUs' busy seconds less this process's own, per second."""
    clock, cpu, mine = [100.0], [50.0], [7.0]
    monkeypatch.setattr(backend, "_clock", lambda: clock[0])
    monkeypatch.setattr(backend, "_cpu_seconds", lambda allowed: cpu[0])
    monkeypatch.setattr(backend, "_own_cpu", lambda: mine[0])
    monkeypatch.setattr(backend, "_load", {"time": None, "cpu": None, "mine": None,
                                           "others": 0.0})
    monkeypatch.setattr(os, "getloadavg", lambda: (1.25, 0.0, 0.0))
    assert backend.busy_elsewhere() == 1.25         # no window yet: the load average
    clock[0], cpu[0], mine[0] = 102.0, 53.5, 8.0    # 3.5 s busy, 1 s of them ours, in 2 s
    assert backend.busy_elsewhere() == pytest.approx(1.25)
    clock[0], cpu[0], mine[0] = 102.1, 60.0, 8.0    # within the window: not read again
    assert backend.busy_elsewhere() == pytest.approx(1.25)
    clock[0], cpu[0], mine[0] = 104.0, 55.5, 10.0   # ours only: nobody else
    assert backend.busy_elsewhere() == pytest.approx(0.0, abs=1e-9)


def test_cpu_seconds_reads_the_allowed_cpus_of_proc_stat():
    if not os.path.exists("/proc/stat"):
        pytest.skip("no /proc/stat here")
    allowed = os.sched_getaffinity(0)
    ticks = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        rows = [line.split() for line in f if line.startswith("cpu") and line[3].isdigit()]
    before = sum(int(r[1]) + int(r[2]) + int(r[3]) + sum(int(v) for v in r[6:9])
                 for r in rows if int(r[0][3:]) in allowed) / ticks
    measured = backend._cpu_seconds(allowed)
    assert before <= measured <= before + 0.5 * len(allowed)
    first = min(allowed)
    assert backend._cpu_seconds({first}) < measured or len(allowed) == 1


def test_spinning_processes_are_seen_as_busy_and_leave_one_thread(monkeypatch):
    """Real processes: one spinning per CPU of ours makes every choice one thread."""
    monkeypatch.delenv("MINIMI_THREADS", raising=False)
    n = backend.cpus()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5)
        backend.busy_elsewhere()
        time.sleep(backend.LOAD_WINDOW + 0.3)
        assert backend.busy_elsewhere() >= 0.7 * n
        assert backend.product_threads(BIG) == 1 and backend.threads() == 1
    finally:
        for p in spinners:
            p.kill()
            p.wait()
