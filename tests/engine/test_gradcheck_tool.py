"""The gradient check itself must catch wrong gradients and say where."""
import numpy as np
import pytest

import minimi as mm
from minimi.engine.tensor import Function


class _BadSquare(Function):
    """x² with a wrong derivative at index 2 (3x instead of 2x there)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        g = 2.0 * self.x
        g[2] = 3.0 * self.x[2]
        return gy * g


def test_entrywise_check_names_argument_and_index():
    x = np.array([0.5, -1.0, 2.0, 1.5])
    with pytest.raises(mm.GradcheckError) as error:
        mm.gradcheck(lambda y, a: y + _BadSquare.apply(a), [np.zeros(4), x])
    message = str(error.value)
    assert "argument 1" in message and "index (2,)" in message
    assert "expected" in message and "received" in message


def test_random_direction_check_catches_errors_in_large_inputs():
    x = np.linspace(1.0, 2.0, 2000)
    with pytest.raises(mm.GradcheckError, match="random direction"):
        mm.gradcheck(lambda a: _BadSquare.apply(a), [x], max_entries=100)


def test_missing_gradient_is_caught():
    # an op that forgets one input: the check sees a zero gradient
    class _ForgetsB(Function):
        def forward(self, a, b):
            self.b = b
            return a * b

        def backward(self, gy):
            return gy * self.b, None

    with pytest.raises(mm.GradcheckError, match="argument 1"):
        mm.gradcheck(lambda a, b: _ForgetsB.apply(a, b), [np.ones(2), np.full(2, 3.0)])


def test_correct_gradient_passes():
    assert mm.gradcheck(lambda a: (a * a).sum(), [np.array([1.0, 2.0])])
