"""Every op: float64 gradient check, and float32 in gives float32 out."""
import numpy as np
import pytest

import minimi as mm
from op_cases import CASES, n

PARAMS = [pytest.param(fn, inputs, id=name) for name, fn, inputs in CASES]


@pytest.mark.parametrize("fn, inputs", PARAMS)
def test_gradient_float64(fn, inputs):
    assert mm.gradcheck(fn, inputs)


@pytest.mark.parametrize("fn, inputs", PARAMS)
def test_float32_stays_float32(fn, inputs):
    xs = [mm.Tensor(np.asarray(a, dtype=np.float32), requires_grad=True) for a in inputs]
    out = fn(*xs)
    assert out.dtype == np.float32
    (out * out).sum().backward()
    for x in xs:
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


def test_large_input_uses_random_direction():
    # 40·30 = 1200 entries > max_entries: checked along a random direction
    assert mm.gradcheck(lambda a, b: mm.logsumexp(a @ b, axis=1), [n(40, 30), n(30, 3)])


def test_every_op_in_the_table_has_a_gradient_case():
    cases = {name.split("-")[0] for name, _, _ in CASES}
    not_differentiable = {"class_labels"}  # a label check on the host, not an op
    assert set(mm.ops.__all__) - not_differentiable - cases <= {"abs_"}
    assert "abs" in cases  # abs_ is the function behind Tensor.abs, checked as "abs"
