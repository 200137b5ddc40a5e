"""Every op: float64 gradient check, and float32 in gives float32 out."""
import numpy as np
import pytest

import minimi as mm
from minimi.ops import conv
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


@pytest.mark.parametrize("mode", ["slices", "add_at"])
@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 0), (2, 1)])
def test_conv2d_input_gradient_both_col2im(monkeypatch, mode, stride, padding):
    monkeypatch.setattr(conv, "COL2IM", mode)
    assert mm.gradcheck(lambda x, w: mm.conv2d(x, w, stride=stride, padding=padding),
                        [n(2, 6, 5, 2), n(3, 2, 3, 3)])


def test_large_input_uses_random_direction():
    # 40·30 = 1200 entries > max_entries: checked along a random direction
    assert mm.gradcheck(lambda a, b: mm.logsumexp(a @ b, axis=1), [n(40, 30), n(30, 3)])


@pytest.mark.parametrize("name", [name for name, _, _ in CASES
                                  if name.startswith(("conv2d", "max_pool2d"))])
def test_threaded_paths_give_the_same_gradients(monkeypatch, name):
    """Large convolutions and poolings split the batch across threads, and col2im each
    thread's share into cache-sized blocks; force both (3 uneven chunks, one image a
    block) on the small cases and check them again."""
    from minimi import backend
    monkeypatch.setattr(backend, "PARALLEL_MIN_SIZE", 0)
    monkeypatch.setattr(conv, "FOLD_BLOCK_BYTES", 1)
    monkeypatch.setenv("MINIMI_THREADS", "3")
    _, fn, inputs = next(case for case in CASES if case[0] == name)
    inputs = [np.concatenate([a] * 3) if i == 0 else a for i, a in enumerate(inputs)]  # N ≥ 3
    assert mm.gradcheck(fn, inputs)
