"""The fast convolutions (minimi/engine/ops/fast_conv.py) equal the reference ops (conv.py) in
float64: values and the gradients of every input, on one thread and split across
threads in uneven chunks and one-image col2im blocks."""
import numpy as np
import pytest

import minimi as mm
from minimi import backend
from minimi.engine.ops import fast_conv

# (name, fast op, the same thing from reference ops, input shapes: x, weight, bias or None)
CASES = [
    ("conv2d-s1-p0", lambda x, w, b: fast_conv.conv2d(x, w, b),
     lambda x, w, b: mm.conv2d(x, w, b), (3, 5, 5, 3), (4, 3, 3, 3), 4),
    ("conv2d-s2-p1-nonsquare", lambda x, w, b: fast_conv.conv2d(x, w, b, stride=2, padding=1),
     lambda x, w, b: mm.conv2d(x, w, b, stride=2, padding=1), (3, 5, 7, 2), (2, 2, 3, 3), 2),
    ("conv2d-nobias-rect", lambda x, w: fast_conv.conv2d(x, w, padding=1),
     lambda x, w: mm.conv2d(x, w, padding=1), (3, 4, 6, 3), (2, 3, 2, 3), None),
    ("conv2d-relu", lambda x, w, b: fast_conv.conv2d(x, w, b, padding=1, relu=True),
     lambda x, w, b: mm.relu(mm.conv2d(x, w, b, padding=1)), (3, 4, 5, 2), (3, 2, 3, 3), 3),
    ("conv2d_pool-p1", lambda x, w, b: fast_conv.conv2d_pool(x, w, b, padding=1),
     lambda x, w, b: mm.max_pool2d(mm.conv2d(x, w, b, padding=1)), (3, 4, 6, 2), (3, 2, 3, 3), 3),
    ("conv2d_pool-relu-s2-odd",
     lambda x, w, b: fast_conv.conv2d_pool(x, w, b, stride=2, relu=True),
     lambda x, w, b: mm.relu(mm.max_pool2d(mm.conv2d(x, w, b, stride=2))),
     (3, 9, 11, 2), (3, 2, 3, 3), 3),
    ("conv2d_pool-nobias-rect", lambda x, w: fast_conv.conv2d_pool(x, w, padding=1),
     lambda x, w: mm.max_pool2d(mm.conv2d(x, w, padding=1)), (3, 5, 6, 3), (2, 3, 2, 3), None),
]


def _value_and_grads(fn, arrays, cotangent):
    xs = [mm.Tensor(a, requires_grad=True) for a in arrays]
    y = fn(*xs)
    (y * mm.Tensor(cotangent)).sum().backward()
    return y.numpy(), [backend.to_numpy(x.grad) for x in xs]


@pytest.mark.parametrize("threaded", [False, True], ids=["one-thread", "threaded"])
@pytest.mark.parametrize("name, fast, reference, x_shape, w_shape, bias", CASES,
                         ids=[c[0] for c in CASES])
def test_fast_op_equals_the_reference(monkeypatch, threaded, name, fast, reference,
                                      x_shape, w_shape, bias):
    if threaded:  # force the threaded paths on small inputs: 3 uneven chunks
        monkeypatch.setattr(backend, "PARALLEL_MIN_SIZE", 0)
        monkeypatch.setattr(fast_conv, "FOLD_BLOCK_BYTES", 1)  # one image a col2im block
        monkeypatch.setenv("MINIMI_THREADS", "3")
    else:
        monkeypatch.setenv("MINIMI_THREADS", "1")
    rng = np.random.default_rng(sum(map(ord, name)))
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(bias))
    shape = reference(*[mm.Tensor(a) for a in arrays]).shape
    cotangent = rng.standard_normal(shape)
    want, want_grads = _value_and_grads(reference, arrays, cotangent)
    got, got_grads = _value_and_grads(fast, arrays, cotangent)
    assert got.dtype == np.float64 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for which, g, w in zip(("x", "weight", "bias"), got_grads, want_grads):
        np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-11, err_msg=f"{name}: d/d{which}")


def test_the_smallcnn_block_equals_the_reference_ops():
    """The layer the SmallCNN uses: Conv2d(pool=True, relu=True) against the reference ops
    on its own weights, at a real layer shape."""
    layer = mm.Conv2d(3, 8, rng=0, dtype=np.float64)
    x = mm.Tensor(np.random.default_rng(1).standard_normal((4, 32, 32, 3)))
    got = layer(x, relu=True, pool=True).numpy()
    want = mm.relu(mm.max_pool2d(mm.conv2d(x, layer.weight, layer.bias, padding=1))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_bench_col2im_compares_two_folds_of_the_same_sum():
    """bench col2im's scatter-add fold (kept only to compare) equals fast_conv.col2im."""
    from bench.speed.col2im import add_at
    gcols = backend.to_device(np.random.default_rng(2).standard_normal((9, 2 * 4 * 5, 3)))
    for stride, padding, OH, OW in ((1, 1, 4, 5), (1, 0, 2, 3), (2, 1, 2, 3)):
        gcols_s = gcols[:, :2 * OH * OW]
        x_shape = (2, 4, 5, 3)
        np.testing.assert_allclose(
            backend.to_numpy(add_at(gcols_s, x_shape, 3, 3, stride, padding, OH, OW)),
            backend.to_numpy(fast_conv.col2im(gcols_s, x_shape, 3, 3, stride, padding, OH, OW)),
            rtol=1e-12, atol=1e-12)
