"""Device discipline: at most one device→host sync per training step.

Runs only through the CuPy stand-in (fakecupy, docs/gpu.md), which counts every
sync; `.ci/run` runs the suite through it with MINIMI_DEVICE=gpu. Each experiment
runs twice, with k and k + 1 training steps: the difference is one step's syncs,
whatever the setup and the final evaluation cost.
"""
import numpy as np
import pytest

import minimi
from minimi import backend

cupy = pytest.importorskip("cupy") if backend.device() == "gpu" else None
STATS = getattr(getattr(cupy, "_core", None), "STATS", None)
pytestmark = pytest.mark.skipif(STATS is None, reason="needs the CuPy stand-in, which counts "
                                                      "syncs (MINIMI_DEVICE=gpu with fakecupy)")


def syncs(run):
    before = {k: v for k, v in STATS.items() if k.startswith("d2h")}
    run()
    return {k: v - before.get(k, 0) for k, v in STATS.items() if k.startswith("d2h") and
            v - before.get(k, 0)}


def per_step(make_run, k=2):
    a, b = syncs(make_run(k)), syncs(make_run(k + 1))
    return {key: b.get(key, 0) - a.get(key, 0) for key in set(a) | set(b)
            if b.get(key, 0) != a.get(key, 0)}


def test_onehot(tmp_path):
    from bench.paper import onehot
    diff = per_step(lambda k: lambda: onehot.main([
        "--out", str(tmp_path / str(k)), "--seed", "0", "--steps", str(k), "--batch-size", "8",
        "--losses", "remine", "--no-report"]))
    assert sum(diff.values()) <= 1, diff


def test_gaussian(tmp_path):
    from bench.paper import gaussian
    diff = per_step(lambda k: lambda: gaussian.main([
        "--out", str(tmp_path / str(k)), "--seed", "0", "--steps-per-level", str(k),
        "--levels", "2", "--hidden", "8,8", "--losses", "mine_ema", "--no-report"]))
    assert sum(diff.values()) <= 1, diff


@pytest.mark.parametrize("experiment", ["slb", "clb"])
def test_cifar(tmp_path, experiment):
    from bench.paper import cifar
    from cifar_files import write_cifar10
    data = write_cifar10(str(tmp_path / "data"))
    # one epoch of k batches of 20: k steps
    diff = per_step(lambda k: lambda: cifar.main([
        "--data", data, "--out", str(tmp_path / str(k)), "--seed", "0", "--epochs", "1",
        "--batch-size", "20", "--train-subset", str(20 * k), "--losses", "resmile",
        "--lam", "0.1", "--no-report"], experiment=experiment))
    assert sum(diff.values()) <= 1, diff


def test_estimate():
    r = np.random.default_rng(0)
    x = r.standard_normal((200, 2))
    y = x + r.standard_normal((200, 2))
    diff = per_step(lambda k: lambda: minimi.estimate(x, y, steps=k, eval_every=1000,
                                                       hidden=(8,), bound="reinfonce"))
    assert sum(diff.values()) <= 1, diff
