"""Per-section timers (minimi/profile.py) and bench speed's breakdown of a step."""
import numpy as np
import pytest

import minimi as mm
from bench import speed
from minimi import profile


def test_sections_time_only_inside_the_block():
    cnn = mm.SmallCNN(num_classes=3, rng=0)
    images = mm.Tensor(np.random.default_rng(0).standard_normal((4, 32, 32, 3)).astype(np.float32))
    mm.cross_entropy(cnn(images), np.array([0, 1, 2, 0])).backward()   # nothing recorded
    with profile.sections() as seconds:
        mm.cross_entropy(cnn(images), np.array([0, 1, 2, 0])).backward()
    assert set(seconds) == {"gemm", "im2col", "col2im", "pooling"}
    assert all(v > 0 for v in seconds.values())
    with profile.sections() as again:
        pass
    assert not again


def test_the_breakdown_adds_up_to_the_step():
    step, _ = speed.separable(16, np.random.default_rng(1))
    parts = speed.breakdown(step)
    assert set(parts) == {*speed.PARTS, "step"}
    assert parts["gemm"] > 0 and parts["im2col"] == parts["col2im"] == parts["pooling"] == 0
    assert sum(parts[p] for p in speed.PARTS) == pytest.approx(parts["step"])
