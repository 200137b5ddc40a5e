"""The ops' conventions where NumPy and PyTorch set them: default axes, tuples for
shapes, the gradient at ties and kinks, a frozen input, one-pixel and one-point
cases, and errors that name the shapes."""

import numpy as np
import pytest

import minimi
import minimi as mm
from minimi import bounds
from minimi.backend import to_numpy


def T(a, grad=False):
    return mm.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_reductions_drop_their_axes_unless_asked():
    x = T(np.ones((2, 3)))
    assert mm.sum(x).shape == () and mm.mean(x, axis=0).shape == (3,)
    assert mm.max(x, axis=1).shape == (2,) and mm.sum(x, axis=1, keepdims=True).shape == (2, 1)


def test_concatenate_joins_along_the_first_axis_by_default():
    assert mm.concatenate([T(np.ones((2, 3))), T(np.ones((1, 3)))]).shape == (3, 3)
    # stack too: a new first axis; and -ndim names the first axis, as in NumPy
    assert mm.stack([T(np.ones((3, 4))), T(np.ones((3, 4)))]).shape == (2, 3, 4)
    assert mm.concatenate([T(np.ones((2, 3))), T(np.ones((2, 1)))], axis=-1).shape == (2, 4)
    assert mm.concatenate([T(np.ones((2, 3))), T(np.ones((1, 3)))], axis=-2).shape == (3, 3)


def test_reshape_and_transpose_take_a_tuple_as_numpy_does():
    x = T(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(to_numpy(mm.reshape(x, (4, 6)).data),
                                  np.arange(24.0).reshape(4, 6))
    np.testing.assert_array_equal(to_numpy(mm.transpose(x, (2, 0, 1)).data),
                                  np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1))


def test_log_softmax_is_over_the_last_axis_by_default():
    from scipy.special import log_softmax
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    np.testing.assert_allclose(to_numpy(mm.log_softmax(T(a)).data), log_softmax(a, axis=-1),
                               rtol=1e-12)


def test_ties_and_kinks_send_the_gradient_by_convention():
    """maximum/minimum split a tie's gradient in halves; relu's derivative at 0 is 0
    (PyTorch's conventions)."""
    a, b = T([1.0, 2.0, 3.0], grad=True), T([1.0, 1.0, 4.0], grad=True)
    mm.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(to_numpy(a.grad), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(to_numpy(b.grad), [0.5, 0.0, 1.0])
    a, b = T([1.0, 2.0, 3.0], grad=True), T([1.0, 1.0, 4.0], grad=True)
    mm.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(to_numpy(a.grad), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(to_numpy(b.grad), [0.5, 1.0, 0.0])
    x = T([-1.0, 0.0, 2.0], grad=True)
    mm.relu(x).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [0.0, 0.0, 1.0])
    # so is |x|'s; tied maxima of a reduction share its gradient equally
    x = T([-1.0, 0.0, 2.0], grad=True)
    mm.abs_(x).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [-1.0, 0.0, 1.0])
    x = T([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], grad=True)
    mm.max(x, axis=1).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def _frozen(op, shapes):
    """Each input's gradient from op(*inputs).sum() with every input asking for one,
    and with only that input asking."""
    r = np.random.default_rng(7)
    arrays = [r.standard_normal(shape) for shape in shapes]
    every = [T(a, grad=True) for a in arrays]
    op(*every).sum().backward()
    alone = []
    for i in range(len(arrays)):
        inputs = [T(a, grad=(j == i)) for j, a in enumerate(arrays)]
        op(*inputs).sum().backward()
        alone.append(to_numpy(inputs[i].grad))
    return [to_numpy(t.grad) for t in every], alone


@pytest.mark.parametrize("op, shapes", [
    (mm.linear, [(4, 3), (3, 5), (5,)]),
    (mm.matmul, [(4, 3), (3, 5)]),
    (mm.matmul, [(3,), (3,)]),
    (mm.pairwise_sum, [(3, 4), (2, 4)]),
    (mm.conv2d, [(2, 5, 5, 3), (4, 3, 3, 3), (4,)]),
    (mm.ops.fast_conv.conv2d, [(2, 5, 5, 3), (4, 3, 3, 3), (4,)]),
    (mm.conv2d_pool, [(2, 6, 6, 3), (4, 3, 3, 3), (4,)]),
], ids=["linear", "matmul", "matmul-1d", "pairwise_sum", "conv2d", "fast-conv2d",
        "conv2d_pool"])
def test_an_input_gets_its_gradient_whichever_others_ask_for_one(op, shapes):
    """A frozen weight (a parameter that asks for no gradient) leaves the input's
    gradient as it was, and the reverse."""
    every, alone = _frozen(op, shapes)
    for g, h in zip(every, alone):
        np.testing.assert_allclose(h, g, rtol=1e-12)


def test_stack_on_the_last_axis_and_shapes_that_differ_beyond_the_axis():
    a = T(np.ones((2, 3)))
    assert mm.stack([a, a], axis=-1).shape == (2, 3, 2)
    with pytest.raises(ValueError, match=r"do not match outside axis 1"):
        mm.concatenate([T(np.ones((2, 3, 4))), T(np.ones((2, 3, 5)))], axis=1)


def test_a_conv_output_of_one_pixel_fits_and_its_error_names_no_pooling():
    assert mm.conv2d(T(np.ones((1, 3, 3, 2))), T(np.ones((1, 2, 3, 3)))).shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"does not fit input \(1, 2, 3, 2\) with padding 0$"):
        mm.conv2d(T(np.ones((1, 2, 3, 2))), T(np.ones((1, 2, 3, 3))))


def test_a_conv_output_of_exactly_the_pool_fits():
    """conv2d_pool on 4×2 rows: a 1×1 kernel's output, 4×2, pools to 2×1."""
    y = mm.conv2d_pool(T(np.ones((1, 4, 2, 1))), T(np.ones((1, 1, 1, 1))))
    assert y.shape == (1, 2, 1, 1)


def test_a_clip_to_one_point_is_a_constant():
    x = T([-1.0, 0.5, 2.0], grad=True)
    y = mm.clip(x, 0.5, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(to_numpy(y.data), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(to_numpy(x.grad), [0.0, 1.0, 0.0])


@pytest.mark.parametrize("call, message", [
    (lambda: mm.pairwise_sum(T(np.ones((2, 3))), T(np.ones((2, 4)))), "pairwise_sum: shapes"),
    (lambda: mm.matmul(T(np.ones(3)), T(2.0)), "matmul: shapes"),
    (lambda: mm.linear(T(np.ones((4, 3))), T(np.ones((2, 5)))),
     r"linear: input \(4, 3\) and weight \(2, 5\) do not align"),
    (lambda: mm.concatenate([T(np.ones((2, 3))), T(np.ones((2, 3, 1)))]),
     r"concatenate: shapes \[\(2, 3\), \(2, 3, 1\)\] do not match"),
    (lambda: mm.max_pool2d(T(np.ones((1, 4, 1, 1)))), "max_pool2d: kernel 2 does not fit"),
    (lambda: mm.conv2d_pool(T(np.ones((1, 4, 1, 1))), T(np.ones((1, 1, 1, 1)))),
     "conv2d_pool: kernel 1x1 does not fit .* and 2x2 pooling"),
    (lambda: bounds.nwj(T(np.zeros((2, 2))), "onehot"), "onehot pairing: scores must be a pair"),
    (lambda: bounds.nwj((T(np.zeros(3)),), "onehot"), "onehot pairing: scores must be a pair"),
])
def test_misshaped_inputs_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_new_module_is_in_training_mode():
    net = mm.MLP([2, 3, 1], rng=0)
    assert net.training and all(layer.training for layer in net.layers)


def test_matmul_names_both_shapes_when_they_do_not_align():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not align"):
        mm.matmul(T(np.ones((2, 3))), T(np.ones((4, 5))))
