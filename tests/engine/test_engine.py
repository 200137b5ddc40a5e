"""The graph: accumulation, freeing, no_grad, deep chains, shape checks, errors."""
import sys

import numpy as np
import pytest

import minimi as mm
from minimi.backend import to_numpy
from minimi.engine.tensor import Function


def grad(t):
    return to_numpy(t.grad)


def test_gradient_accumulates_when_a_tensor_is_used_twice():
    x = mm.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x + x).sum().backward()  # d/dx (x² + x) = 2x + 1
    np.testing.assert_allclose(grad(x), [3.0, -3.0, 7.0])


def test_diamond_graph_counts_each_path_once():
    x = mm.Tensor([2.0], requires_grad=True)
    a = x * 3.0
    b = a + a  # both paths from x pass through a
    (b * a).sum().backward()  # b·a = 2a² = 18x², derivative 36x
    np.testing.assert_allclose(grad(x), [72.0])


def test_leaf_grads_accumulate_across_backward_calls():
    x = mm.Tensor([1.0, 2.0], requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(grad(x), [5.0, 5.0])
    x.zero_grad()
    assert x.grad is None


def test_leaf_grads_are_independent_arrays():
    a = mm.Tensor([1.0], requires_grad=True)
    b = mm.Tensor([1.0], requires_grad=True)
    (a + b).sum().backward()  # add hands the same gy to both inputs
    a.grad *= 10.0
    np.testing.assert_allclose(grad(b), [1.0])


def test_deep_chain_of_ten_thousand_ops():
    x = mm.Tensor([1.0], dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    assert sys.getrecursionlimit() < 10_000 * 2  # would fail if backward recursed per node
    y.sum().backward()
    np.testing.assert_allclose(grad(x), [1.0001 ** 10_000], rtol=1e-9)


def test_graph_is_freed_after_backward():
    x = mm.Tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    y = h.sum()
    y.backward()
    assert y._fn is None and h._fn is None
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = mm.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(grad(x), [4.0, 8.0])


def test_no_grad_records_nothing():
    x = mm.Tensor([1.0], requires_grad=True)
    with mm.no_grad():
        y = x * 2.0
        assert not mm.is_grad_enabled()
    assert mm.is_grad_enabled()
    assert not y.requires_grad and y._fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_detach_cuts_the_graph():
    x = mm.Tensor([3.0], requires_grad=True)
    y = x * x.detach()  # gradient only through the first factor
    y.sum().backward()
    np.testing.assert_allclose(grad(x), [3.0])


def test_constants_get_no_gradient_and_keep_float32():
    x = mm.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    c = np.full(3, 2.0)  # float64 NumPy array: must not promote
    y = x * c + np.float64(1.5)
    assert y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_allclose(grad(x), [2.0, 2.0, 2.0])


def test_tensor_from_python_and_int_data_is_float32():
    assert mm.Tensor([1, 2]).dtype == np.float32
    assert mm.Tensor(3.0).dtype == np.float32
    assert mm.Tensor(np.arange(3)).dtype == np.float32
    assert mm.Tensor(np.zeros(2)).dtype == np.float64  # float arrays keep their dtype


def test_backward_needs_a_gradient_for_non_scalars():
    x = mm.Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match="shape"):
        (x * 2.0).backward(np.ones(3))


class _WrongShape(Function):
    def forward(self, x):
        return x * 2.0

    def backward(self, gy):
        return gy[:1]


def test_backward_names_the_op_that_returns_a_wrong_shape():
    x = mm.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(AssertionError, match=r"_WrongShape.*\(1,\).*\(3,\)"):
        _WrongShape.apply(x).sum().backward()


def test_sum_to_undoes_broadcasting():
    g = np.ones((2, 3, 4))
    assert mm.sum_to(g, (3, 4)).tolist() == np.full((3, 4), 2.0).tolist()
    assert mm.sum_to(g, (3, 1)).tolist() == np.full((3, 1), 8.0).tolist()
    assert mm.sum_to(g, (1, 1, 4)).tolist() == np.full((1, 1, 4), 6.0).tolist()
    assert mm.sum_to(g, ()).item() == 24.0


@pytest.mark.parametrize("a, b", [((3, 4), (5, 6)), ((2, 3, 4), (3, 4)), ((4,), (3,))])
def test_matmul_mismatch_names_the_shapes(a, b):
    with pytest.raises(ValueError, match=r"matmul: shapes .*" + str(a[-1])):
        mm.matmul(mm.Tensor(np.ones(a)), mm.Tensor(np.ones(b)))


def test_conv2d_mismatch_names_the_shapes():
    with pytest.raises(ValueError, match=r"\(1, 5, 5, 3\).*\(4, 2, 3, 3\)"):
        mm.conv2d(mm.Tensor(np.ones((1, 5, 5, 3))), mm.Tensor(np.ones((4, 2, 3, 3))))
    with pytest.raises(ValueError, match="does not fit"):
        mm.conv2d(mm.Tensor(np.ones((1, 2, 2, 3))), mm.Tensor(np.ones((4, 3, 3, 3))))
    with pytest.raises(ValueError, match=r"\(1, 5, 5, 3\).*\(4, 2, 3, 3\)"):
        mm.conv2d_pool(mm.Tensor(np.ones((1, 5, 5, 3))), mm.Tensor(np.ones((4, 2, 3, 3))))
    # a 1×3 output has no 2×2 window
    with pytest.raises(ValueError, match=r"kernel 3x3 does not fit input \(1, 3, 5, 3\) with "
                                         r"padding 0 and 2x2 pooling"):
        mm.conv2d_pool(mm.Tensor(np.ones((1, 3, 5, 3))), mm.Tensor(np.ones((4, 3, 3, 3))))
    mm.conv2d_pool(mm.Tensor(np.ones((1, 4, 5, 3))), mm.Tensor(np.ones((4, 3, 3, 3))))  # 2×3: fits


def test_cross_entropy_rejects_bad_labels():
    logits = mm.Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"labels of shape \(2,\)"):
        mm.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        mm.cross_entropy(logits, np.array([0, 1, 4]))


def test_clip_rejects_reversed_range():
    with pytest.raises(ValueError, match="lo=2"):
        mm.clip(mm.Tensor([0.0]), 2.0, 1.0)


def test_indexing_with_repeats_adds_gradients():
    x = mm.Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([1, 1, 3, 1])].sum().backward()
    np.testing.assert_array_equal(grad(x), [0.0, 3.0, 0.0, 1.0])


def test_diagonal_and_off_diagonal_selection():
    """The bounds' selection: diagonal entries, and off-diagonal ones by a mask."""
    S = mm.Tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_array_equal(to_numpy(S.diagonal().data), [0.0, 4.0, 8.0])
    np.testing.assert_array_equal(to_numpy(S[off].data), [1.0, 2.0, 3.0, 5.0, 6.0, 7.0])
    (S.diagonal().sum() + 2.0 * S[off].sum()).backward()
    np.testing.assert_array_equal(grad(S), np.where(np.eye(3) > 0, 1.0, 2.0))
