"""Forward values against independent references: scipy, NumPy, naive loops."""
import math
import warnings

import numpy as np
import pytest
import scipy.special as sp

import minimi as mm
from minimi.backend import to_numpy

rng = np.random.default_rng(7)


def value(t):
    return to_numpy(t.data)


def T(a, dtype=np.float64, requires_grad=False):
    return mm.Tensor(np.asarray(a, dtype=dtype), requires_grad=requires_grad)


# ---- scipy references ---------------------------------------------------------

@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 2), False)])
def test_logsumexp_matches_scipy(axis, keepdims):
    x = 5 * rng.standard_normal((3, 4, 5))
    got = value(mm.logsumexp(T(x), axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(got, sp.logsumexp(x, axis=axis, keepdims=keepdims), rtol=1e-12)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_logmeanexp_is_logsumexp_minus_log_count(axis):
    x = 3 * rng.standard_normal((6, 4))
    count = x.size if axis is None else x.shape[axis]
    expected = sp.logsumexp(x, axis=axis) - math.log(count)
    np.testing.assert_allclose(value(mm.logmeanexp(T(x), axis=axis)), expected, rtol=1e-12)


@pytest.mark.parametrize("op, reference", [
    (mm.softplus, lambda x: np.logaddexp(0.0, x)),
    (mm.sigmoid, sp.expit),
    (mm.tanh, np.tanh),
    (mm.log_softmax, lambda x: sp.log_softmax(x, axis=-1)),
    (mm.relu, lambda x: np.maximum(x, 0.0)),
    (lambda t: mm.clip(t, -1.0, 2.0), lambda x: np.minimum(np.maximum(x, -1.0), 2.0)),
])
def test_elementwise_matches_reference(op, reference):
    x = 10 * rng.standard_normal((5, 7))
    np.testing.assert_allclose(value(op(T(x))), reference(x), rtol=1e-10, atol=1e-14)


def test_cross_entropy_matches_loop():
    logits, labels = 4 * rng.standard_normal((6, 5)), np.array([0, 1, 4, 4, 2, 3])
    expected = np.mean([sp.logsumexp(row) - row[k] for row, k in zip(logits, labels)])
    assert value(mm.cross_entropy(T(logits), labels)) == pytest.approx(expected, rel=1e-12)


def test_mean_max_sum_match_numpy():
    x = rng.standard_normal((4, 5))
    np.testing.assert_allclose(value(T(x).mean(axis=0)), x.mean(axis=0))
    np.testing.assert_allclose(value(T(x).max(axis=1)), x.max(axis=1))
    np.testing.assert_allclose(value(T(x).sum(axis=(0, 1))), x.sum())


# ---- convolution and pooling against loops --------------------------------------

def loop_conv2d(x, W, b, stride, padding):
    """Direct definition on NHWC input, (OC, C, KH, KW) weights."""
    N, H, Wd, C = x.shape
    OC, _, KH, KW = W.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    OH, OW = (H + 2 * padding - KH) // stride + 1, (Wd + 2 * padding - KW) // stride + 1
    y = np.zeros((N, OH, OW, OC))
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for o in range(OC):
                    s = b[o]
                    for c in range(C):
                        for di in range(KH):
                            for dj in range(KW):
                                s += xp[n, stride * i + di, stride * j + dj, c] * W[o, c, di, dj]
                    y[n, i, j, o] = s
    return y


@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((2, 5, 5, 3), (4, 3, 3, 3), 1, 0),
    ((2, 5, 5, 3), (4, 3, 3, 3), 1, 1),
    ((1, 7, 6, 2), (3, 2, 3, 3), 2, 0),
    ((2, 6, 9, 2), (2, 2, 3, 3), 2, 1),
    ((1, 4, 6, 3), (2, 3, 2, 3), 1, 1),
])
def test_conv2d_matches_loop(shape, kernel, stride, padding):
    x, W, b = rng.standard_normal(shape), rng.standard_normal(kernel), rng.standard_normal(kernel[0])
    got = value(mm.conv2d(T(x), T(W), T(b), stride=stride, padding=padding))
    np.testing.assert_allclose(got, loop_conv2d(x, W, b, stride, padding), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape, k", [((2, 4, 6, 3), 2), ((1, 5, 7, 2), 2), ((1, 6, 7, 2), 3)])
def test_max_pool2d_matches_loop(shape, k):
    x = rng.standard_normal(shape)
    N, H, W, C = shape
    expected = np.zeros((N, H // k, W // k, C))
    for n in range(N):
        for i in range(H // k):
            for j in range(W // k):
                for c in range(C):
                    expected[n, i, j, c] = x[n, k * i:k * i + k, k * j:k * j + k, c].max()
    np.testing.assert_array_equal(value(mm.max_pool2d(T(x), k)), expected)


@pytest.mark.parametrize("shape, kernel, stride, padding, relu", [
    ((2, 4, 6, 3), (4, 3, 3, 3), 1, 1, True),
    ((2, 7, 9, 2), (3, 2, 3, 3), 1, 0, False),     # 5×7 output: last row and column dropped
    ((1, 9, 8, 2), (2, 2, 3, 2), 2, 1, True),
])
def test_conv2d_pool_matches_loops(shape, kernel, stride, padding, relu):
    x, W, b = rng.standard_normal(shape), rng.standard_normal(kernel), rng.standard_normal(kernel[0])
    full = loop_conv2d(x, W, b, stride, padding)
    N, OH, OW, OC = full.shape
    expected = np.zeros((N, OH // 2, OW // 2, OC))
    for i in range(OH // 2):
        for j in range(OW // 2):
            expected[:, i, j] = full[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max(axis=(1, 2))
    if relu:
        expected = np.maximum(expected, 0.0)
    got = value(mm.conv2d_pool(T(x), T(W), T(b), stride=stride, padding=padding, relu=relu))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_global_avg_pool2d_matches_numpy():
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(value(mm.global_avg_pool2d(T(x))), x.mean(axis=(1, 2)))


# ---- numerical stability in float32 -------------------------------------------

@pytest.fixture
def strict():
    """Fail on any overflow/invalid warning: stable forms must not raise them."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        yield


def test_logsumexp_huge_entries_float32(strict):
    x = T([1e4, 0.0, -1e4], np.float32, requires_grad=True)
    y = mm.logsumexp(x)
    assert y.dtype == np.float32 and value(y) == pytest.approx(1e4)
    y.backward()
    np.testing.assert_allclose(to_numpy(x.grad), [1.0, 0.0, 0.0])
    both = mm.logmeanexp(T([-1e4, -1e4], np.float32))
    assert value(both) == pytest.approx(-1e4)
    rows = mm.logsumexp(T([[1e4, 1e4], [-1e4, 3.0]], np.float32), axis=1)
    np.testing.assert_allclose(value(rows), [1e4 + math.log(2), 3.0], rtol=1e-6)


def test_logsumexp_all_minus_inf_is_minus_inf_without_nan(strict):
    x = T([[-np.inf, -np.inf], [0.0, -np.inf]], np.float32, requires_grad=True)
    y = mm.logsumexp(x, axis=1)
    np.testing.assert_array_equal(value(y), [-np.inf, 0.0])
    y.backward(np.ones(2, dtype=np.float32))
    np.testing.assert_array_equal(to_numpy(x.grad), [[0.0, 0.0], [1.0, 0.0]])
    assert value(mm.logmeanexp(T([-np.inf] * 3, np.float32))) == -np.inf


def test_softplus_and_sigmoid_huge_entries_float32(strict):
    x = T([-1e4, -50.0, 0.0, 50.0, 1e4], np.float32, requires_grad=True)
    np.testing.assert_allclose(value(mm.softplus(x)), [0.0, math.exp(-50), math.log(2), 50.0, 1e4],
                               rtol=1e-6)
    np.testing.assert_allclose(value(mm.sigmoid(x)), [0.0, math.exp(-50), 0.5, 1.0, 1.0], rtol=1e-6)
    mm.softplus(x).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [0.0, math.exp(-50), 0.5, 1.0, 1.0], rtol=1e-6)


def test_log_softmax_huge_logits_float32(strict):
    out = value(mm.log_softmax(T([[1e4, 0.0, -1e4]], np.float32)))
    np.testing.assert_allclose(out, [[0.0, -1e4, -2e4]], rtol=1e-6)


def test_clip_gradient_is_exactly_zero_outside_range():
    x = T([-3.0, -1.0, -0.2, 0.7, 1.0, 5.0], requires_grad=True)
    mm.clip(x, -1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0.0, 1.0, 1.0, 1.0, 1.0, 0.0])


def test_exp_overflows_where_the_formula_does():
    # exp is not shielded: NWJ's explosion must be visible, not hidden
    with np.errstate(over="ignore"):
        assert value(mm.exp(T([100.0], np.float32)))[0] == np.inf


@pytest.mark.parametrize("k", [2, 3])
def test_max_pool2d_ties_send_the_gradient_to_the_first_entry(k):
    x = T(np.zeros((1, k, k, 2)), requires_grad=True)  # every window is one big tie
    mm.max_pool2d(x, k).sum().backward()
    expected = np.zeros((1, k, k, 2))
    expected[0, 0, 0, :] = 1.0
    np.testing.assert_array_equal(to_numpy(x.grad), expected)


def test_conv2d_pool_ties_send_the_gradient_where_max_pool2d_does():
    # a constant image without padding: every pooling window is one big tie
    W, b = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    grads = []
    for fused in (True, False):
        x, Wt = T(np.ones((2, 6, 8, 2)), requires_grad=True), T(W, requires_grad=True)
        y = mm.conv2d_pool(x, Wt, T(b)) if fused else mm.max_pool2d(mm.conv2d(x, Wt, T(b)))
        (y * 1.5).sum().backward()
        grads.append((to_numpy(x.grad), to_numpy(Wt.grad)))
    # one output per window passes the gradient on: 2·2·3 windows, x = 1 everywhere
    np.testing.assert_allclose(grads[0][1], np.full((3, 2, 3, 3), 1.5 * 2 * 2 * 3))
    expected_gx = np.zeros((2, 6, 8, 2))        # the top-left outputs (0, 0), (0, 2), (2, 0)...
    for i in (0, 2):
        for j in (0, 2, 4):
            expected_gx[:, i:i + 3, j:j + 3] += 1.5 * W.sum(axis=0).transpose(1, 2, 0)
    np.testing.assert_allclose(grads[0][0], expected_gx, rtol=1e-12)
    for fused, composed in zip(*grads):
        np.testing.assert_allclose(fused, composed, rtol=1e-12)
