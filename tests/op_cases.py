"""The table of op cases shared by the gradient-check and dtype tests.

Each case is (id, fn, inputs): fn takes Tensors. Inputs avoid the kinks of
relu/abs/max/clip (random values are almost surely away from them) and keep
log/sqrt/pow on positive numbers.
"""
import numpy as np

import minimi as mm

_rng = np.random.default_rng(1234)


def n(*shape, scale=1.0):
    return scale * _rng.standard_normal(shape)


def pos(*shape):
    return _rng.uniform(0.5, 2.0, shape)


MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
ROWS, COLS = np.array([0, 2, 2, 1]), np.array([3, 0, 0, 1])


def _conv(stride, padding, bias=True):
    if bias:
        return lambda x, w, b: mm.conv2d(x, w, b, stride=stride, padding=padding)
    return lambda x, w: mm.conv2d(x, w, stride=stride, padding=padding)


CASES = [
    # arithmetic, with broadcasting
    ("add", lambda a, b: a + b, [n(3, 4), n(3, 4)]),
    ("add-row", lambda a, b: a + b, [n(3, 4), n(4)]),
    ("add-outer", lambda a, b: a + b, [n(3, 1), n(1, 4)]),
    ("add-0d", lambda a, b: a + b, [n(2, 3), n()]),
    ("radd-number", lambda a: 2.0 + a, [n(3)]),
    ("sub", lambda a, b: a - b, [n(2, 3, 4), n(3, 4)]),
    ("rsub-number", lambda a: 2.0 - a, [n(3)]),
    ("mul", lambda a, b: a * b, [n(2, 3, 4), n(2, 1, 4)]),
    ("rmul-number", lambda a: 3.0 * a, [n(3)]),
    ("div", lambda a, b: a / b, [n(3, 4), pos(4)]),
    ("rdiv-number", lambda a: 1.0 / a, [pos(5)]),
    ("neg", lambda a: -a, [n(2, 3)]),
    ("pow-2", lambda a: a ** 2, [n(2, 3)]),
    ("pow-3", lambda a: a ** 3, [n(4)]),
    ("pow-frac", lambda a: a ** -1.5, [pos(4)]),
    ("pow-tensor", lambda a, b: a ** b, [pos(3), n(3)]),
    ("rpow-number", lambda a: 2.0 ** a, [n(3)]),
    # unary
    ("exp", mm.exp, [n(3, 2)]),
    ("log", mm.log, [pos(3, 2)]),
    ("sqrt", mm.sqrt, [pos(5)]),
    ("abs", mm.abs_, [n(6)]),
    ("tanh", mm.tanh, [n(6)]),
    ("relu", mm.relu, [n(4, 3)]),
    ("sigmoid", mm.sigmoid, [n(8, scale=5.0)]),
    ("softplus", mm.softplus, [n(8, scale=5.0)]),
    ("clip", lambda a: mm.clip(a, -0.5, 0.5), [n(20)]),
    ("maximum", mm.maximum, [n(3, 4), n(4)]),
    ("minimum", mm.minimum, [n(3, 1), n(3, 4)]),
    # reductions
    ("sum-all", lambda a: a.sum(), [n(3, 4)]),
    ("sum-axis0", lambda a: a.sum(axis=0), [n(3, 4)]),
    ("sum-axis-1-keep", lambda a: a.sum(axis=-1, keepdims=True), [n(2, 3, 4)]),
    ("sum-axes", lambda a: a.sum(axis=(0, 2)), [n(2, 3, 4)]),
    ("mean-all", lambda a: a.mean(), [n(3, 4)]),
    ("mean-axis1-keep", lambda a: a.mean(axis=1, keepdims=True), [n(3, 4)]),
    ("max-all", lambda a: a.max(), [n(3, 4)]),
    ("max-axis1", lambda a: a.max(axis=1), [n(3, 4)]),
    ("max-axis0-keep", lambda a: a.max(axis=0, keepdims=True), [n(3, 4)]),
    ("logsumexp-all", lambda a: mm.logsumexp(a), [n(3, 4)]),
    ("logsumexp-axis1", lambda a: mm.logsumexp(a, axis=1), [n(3, 4, scale=3.0)]),
    ("logsumexp-axes-keep", lambda a: mm.logsumexp(a, axis=(0, 2), keepdims=True), [n(2, 3, 4)]),
    ("logmeanexp-all", lambda a: mm.logmeanexp(a), [n(5, 5)]),
    ("logmeanexp-axis0", lambda a: mm.logmeanexp(a, axis=0), [n(5, 3)]),
    # shapes and selection
    ("reshape", lambda a: a.reshape(4, 3), [n(2, 6)]),
    ("reshape-infer", lambda a: a.reshape(-1), [n(2, 3, 2)]),
    ("reshape-tuple", lambda a: mm.reshape(a, (4, 3)), [n(2, 6)]),
    ("transpose-T", lambda a: a.T, [n(3, 4)]),
    ("transpose-axes", lambda a: a.transpose(2, 0, 1), [n(2, 3, 4)]),
    ("transpose-neg-axes", lambda a: a.transpose(0, -1, -2), [n(2, 3, 4)]),
    ("transpose-tuple", lambda a: mm.transpose(a, (2, 0, 1)), [n(2, 3, 4)]),
    ("broadcast_to", lambda a: mm.broadcast_to(a, (2, 3, 4)), [n(3, 1)]),
    ("getitem-slices", lambda a: a[1:, ::2], [n(3, 4)]),
    ("getitem-int", lambda a: a[1], [n(3, 4)]),
    ("getitem-neg-step", lambda a: a[::-1, 1:3], [n(3, 4)]),
    ("getitem-int-array-repeats", lambda a: a[np.array([0, 2, 2, 0])], [n(3, 4)]),
    ("getitem-pairs-repeats", lambda a: a[ROWS, COLS], [n(3, 4)]),
    ("getitem-mask", lambda a: a[MASK], [n(3, 4)]),
    ("getitem-mask-rows", lambda a: a[np.array([True, False, True])], [n(3, 4)]),
    ("concatenate-0", lambda a, b: mm.concatenate([a, b], axis=0), [n(2, 3), n(4, 3)]),
    ("concatenate-1", lambda a, b, c: mm.concatenate([a, b, c], axis=1),
     [n(2, 1), n(2, 3), n(2, 2)]),
    ("stack-0", lambda a, b: mm.stack([a, b]), [n(2, 3), n(2, 3)]),
    ("stack-last", lambda a, b: mm.stack([a, b], axis=-1), [n(2, 3), n(2, 3)]),
    ("diagonal-square", mm.diagonal, [n(4, 4)]),
    ("diagonal-rect", mm.diagonal, [n(3, 5)]),
    ("diagonal-offset+1", lambda a: mm.diagonal(a, 1), [n(4, 4)]),
    ("diagonal-offset-2", lambda a: mm.diagonal(a, -2), [n(4, 3)]),
    ("diagonal-offset-2-tall", lambda a: mm.diagonal(a, -2), [n(6, 3)]),
    ("diagonal-batched", mm.diagonal, [n(2, 3, 3)]),
    # matmul
    ("matmul-2d", mm.matmul, [n(3, 4), n(4, 5)]),
    ("matmul-batched", mm.matmul, [n(2, 3, 4), n(2, 4, 5)]),
    ("matmul-broadcast-batch", mm.matmul, [n(2, 3, 4), n(4, 5)]),
    ("matmul-broadcast-batch-b", mm.matmul, [n(3, 4), n(2, 4, 5)]),
    ("matmul-vec-mat", mm.matmul, [n(4), n(4, 5)]),
    ("matmul-mat-vec", mm.matmul, [n(3, 4), n(4)]),
    ("matmul-vec-vec", mm.matmul, [n(4), n(4)]),
    ("matmul-batched-vec", mm.matmul, [n(2, 3, 4), n(4)]),
    ("linear", mm.linear, [n(5, 3), n(3, 4), n(4)]),
    ("linear-nobias", mm.linear, [n(5, 3), n(3, 4)]),
    ("linear-relu", lambda x, w, b: mm.linear(x, w, b, relu=True), [n(6, 3), n(3, 4), n(4)]),
    ("pairwise_sum", mm.pairwise_sum, [n(3, 4), n(2, 4)]),
    ("pairwise_sum-relu", lambda a, c: mm.pairwise_sum(a, c, relu=True), [n(3, 4), n(5, 4)]),
    # losses
    ("log_softmax", mm.log_softmax, [n(4, 5, scale=3.0)]),
    ("log_softmax-axis0", lambda a: mm.log_softmax(a, axis=0), [n(4, 5)]),
    ("cross_entropy", lambda a: mm.cross_entropy(a, np.array([0, 4, 2, 2])), [n(4, 5)]),
    # convolution and pooling (NHWC)
    ("conv2d-s1-p0", _conv(1, 0), [n(2, 5, 5, 3), n(4, 3, 3, 3), n(4)]),
    ("conv2d-s1-p1", _conv(1, 1), [n(2, 5, 5, 2), n(3, 2, 3, 3), n(3)]),
    ("conv2d-s2-p0", _conv(2, 0), [n(1, 7, 6, 2), n(3, 2, 3, 3), n(3)]),
    ("conv2d-s2-p1-nonsquare", _conv(2, 1), [n(2, 5, 7, 2), n(2, 2, 3, 3), n(2)]),
    ("conv2d-nobias-rect-kernel", _conv(1, 1, bias=False), [n(1, 4, 6, 3), n(2, 3, 2, 3)]),
    # the fused fast op in the table (ops/fast_conv.py; equal to the reference ops:
    # test_fast_ops.py)
    ("conv2d_pool-p1", lambda x, w, b: mm.conv2d_pool(x, w, b, padding=1),
     [n(2, 4, 6, 2), n(3, 2, 3, 3), n(3)]),
    ("conv2d_pool-relu-s2-odd", lambda x, w, b: mm.conv2d_pool(x, w, b, stride=2, relu=True),
     [n(2, 9, 11, 2), n(3, 2, 3, 3), n(3)]),
    ("conv2d_pool-nobias-rect-kernel", lambda x, w: mm.conv2d_pool(x, w, padding=1),
     [n(1, 5, 6, 3), n(2, 3, 2, 3)]),
    ("max_pool2d", mm.max_pool2d, [n(2, 4, 6, 3)]),
    ("max_pool2d-odd", mm.max_pool2d, [n(1, 5, 7, 2)]),
    ("max_pool2d-k3", lambda a: mm.max_pool2d(a, 3), [n(1, 6, 6, 2)]),
    ("global_avg_pool2d", mm.global_avg_pool2d, [n(2, 3, 4, 5)]),
]
