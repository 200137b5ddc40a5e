"""Timing from the engine (minimi/tools/profile.py) and bench speed's breakdown of a step."""
import types

import numpy as np
import pytest

import minimi as mm
from bench.speed import steps as speed
from minimi.engine import tensor
from minimi.engine.ops import fast_conv
from minimi.tools import profile


def _cnn_step(cnn, images):
    mm.cross_entropy(cnn(images), np.array([0, 1, 2, 0])).backward()


def test_sections_time_ops_and_phases_only_inside_the_block():
    cnn = mm.SmallCNN(num_classes=3, rng=0)
    images = mm.Tensor(np.random.default_rng(0).standard_normal((4, 32, 32, 3)).astype(np.float32))
    helpers = {name: getattr(fast_conv, name) for name in profile.PHASES}
    _cnn_step(cnn, images)                                              # nothing recorded
    with profile.sections() as seconds:
        _cnn_step(cnn, images)
    phases = {"gemm", "im2col", "col2im", "pooling"}
    assert phases <= set(seconds) and all(seconds[p] > 0 for p in phases)
    ops = {name for name in seconds if "." in name}
    assert {"FusedConv2dPool.forward", "FusedConv2dPool.backward", "Linear.forward",
            "Linear.backward"} <= ops
    # the phases lie inside their op's time
    conv = seconds["FusedConv2dPool.forward"] + seconds["FusedConv2dPool.backward"]
    assert sum(seconds[p] for p in phases) <= conv
    # afterwards nothing is wrapped and the engine times nothing
    assert tensor.timer is None
    assert all(getattr(fast_conv, name) is fn for name, fn in helpers.items())
    with profile.sections() as again:
        pass
    assert not again


def test_the_breakdown_adds_up_to_the_step():
    step, _ = speed.separable(16, np.random.default_rng(1))
    parts = speed.breakdown(step)
    assert set(parts) == {*speed.PARTS, "step"}
    assert parts["gemm"] > 0 and parts["im2col"] == parts["col2im"] == parts["pooling"] == 0
    assert sum(parts[p] for p in speed.PARTS) == pytest.approx(parts["step"])


def test_estimate_tasks_times_both_ways_on_each_task_and_seed(monkeypatch):
    """Every quick task × seed runs with the interval and alone (subsamples=1), on
    that seed's rows, and `covered` reads the task's own truth."""
    import bench.truth.tasks
    
    class Task:
        def __init__(self, name, mi):
            self.name, self.mi = name, mi

        def sample(self, n, rng):
            return rng.standard_normal((n, 1)), rng.standard_normal((n, 1))

    calls = []

    def fake_estimate(x, y, seed, **changes):
        calls.append((round(float(x[0, 0]), 6), seed, changes))
        return types.SimpleNamespace(ci=[0.4, 0.6])   # all the timing reads

    monkeypatch.setattr(bench.truth.tasks, "quick_tasks", lambda: [Task("a", 0.5), Task("b", 0.7)])
    monkeypatch.setattr(speed.mm, "estimate", fake_estimate)
    runs = speed.estimate_tasks(seeds=(0, 1), rows=10)
    assert [(task, seed, covered) for task, seed, *_, covered in runs] == \
        [("a", 0, True), ("a", 1, True), ("b", 0, False), ("b", 1, False)]
    assert all(seconds >= 0 and alone >= 0 for _, _, seconds, alone, _ in runs)
    first = [np.random.default_rng(s).standard_normal() for s in (0, 1)]
    assert calls[:4] == [(round(first[0], 6), 0, {}), (round(first[0], 6), 0, {"subsamples": 1}),
                         (round(first[1], 6), 1, {}), (round(first[1], 6), 1, {"subsamples": 1})]
