"""Optimizers against updates computed by hand; clipping; checkpoints."""
import math

import numpy as np
import pytest

import minimi as mm
from minimi.backend import to_numpy

A = np.array([1.0, 3.0, -2.0])
TARGET = np.array([0.5, -1.0, 2.0])


def quadratic_grad(p):
    """f(p) = Σ A·(p − TARGET)², ∇f = 2A·(p − TARGET)."""
    return 2 * A * (p - TARGET)


def run(optimizer_factory, steps=5):
    p = mm.Parameter(np.zeros(3))
    opt = optimizer_factory([p])
    for _ in range(steps):
        opt.zero_grad()
        (mm.Tensor(A) * (p - mm.Tensor(TARGET)) ** 2).sum().backward()
        opt.step()
    return to_numpy(p.data)


def test_sgd_matches_hand_update():
    p = np.zeros(3)
    for _ in range(5):
        p = p - 0.1 * quadratic_grad(p)
    np.testing.assert_allclose(run(lambda ps: mm.SGD(ps, lr=0.1)), p, rtol=1e-12)


def test_sgd_momentum_and_weight_decay_match_hand_update():
    p, v = np.zeros(3), None
    for _ in range(5):
        g = quadratic_grad(p) + 0.01 * p
        v = g if v is None else 0.9 * v + g
        p = p - 0.05 * v
    got = run(lambda ps: mm.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01))
    np.testing.assert_allclose(got, p, rtol=1e-12)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_matches_hand_update(weight_decay):
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    p, m, v = np.zeros(3), np.zeros(3), np.zeros(3)
    for t in range(1, 6):
        g = quadratic_grad(p) + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    got = run(lambda ps: mm.Adam(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay))
    np.testing.assert_allclose(got, p, rtol=1e-10)


def test_adam_keeps_float32():
    p = mm.Parameter(np.ones(4, dtype=np.float32))
    opt = mm.Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert p.data.dtype == np.float32 and opt.moments[0][0].dtype == np.float32


def test_adam_after_astype_trains_the_new_arrays_in_their_dtype():
    """A module converted after its optimizer was made (astype replaces every
    parameter's array): Adam still updates the parameters, in float64, with its
    moments carried over, exactly as a float64 Adam by hand."""
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    layer = mm.Linear(3, 1, bias=False, rng=0)
    opt = mm.Adam(layer.parameters(), lr=lr)
    x = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]])

    def loss_and_grad(w):
        r = x @ w - 1.0                                   # loss Σ r², ∇w = 2xᵀr
        return 2 * x.T @ r
    p = to_numpy(layer.weight.data).astype(np.float64)
    m = v = np.zeros_like(p)
    for t in range(1, 5):
        if t == 3:
            layer.astype(np.float64)
        opt.zero_grad()
        (((mm.Tensor(x.astype(layer.weight.dtype)) @ layer.weight) - 1.0) ** 2).sum().backward()
        opt.step()
        g = loss_and_grad(p)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr / (1 - b1 ** t) * m / (np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps)
    assert layer.weight.dtype == np.float64 and opt.moments[0][0].dtype == np.float64
    np.testing.assert_allclose(to_numpy(layer.weight.data), p, rtol=1e-5)


@pytest.mark.parametrize("make, message", [
    (lambda p: mm.Adam(p, lr=0.0), "Adam: lr must be greater than 0, got 0"),
    (lambda p: mm.Adam(p, lr=float("nan")), "Adam: lr must be a finite number, got nan"),
    (lambda p: mm.Adam(p, lr=float("inf")), "Adam: lr must be a finite number, got inf"),
    (lambda p: mm.Adam(p, betas=(0.9, 1.0)), r"Adam: betas\[1\] must be less than 1"),
    (lambda p: mm.Adam(p, betas=(0.9,)), "Adam: betas must be two numbers"),
    (lambda p: mm.Adam(p, eps=0.0), "Adam: eps must be greater than 0"),
    (lambda p: mm.Adam(p, weight_decay=-1e-4), "Adam: weight_decay must be at least 0"),
    (lambda p: mm.SGD(p, lr="0.1"), "SGD: lr must be a number, got '0.1'"),
    (lambda p: mm.SGD(p, lr=0.1, momentum=float("nan")), "SGD: momentum must be a finite"),
    (lambda p: mm.SGD([], lr=0.1), "no parameters"),
])
def test_optimizer_arguments_are_checked(make, message):
    with pytest.raises(ValueError, match=message):
        make([mm.Parameter(np.ones(2))])


def _params_with_grads(grads):
    params = []
    for g in grads:
        p = mm.Parameter(np.zeros_like(g))
        p.grad = np.array(g, dtype=np.float64)
        params.append(p)
    return params


def test_clip_grad_norm_scales_when_above_the_limit():
    params = _params_with_grads([np.array([3.0, 0.0]), np.array([4.0])])  # norm 5
    norm = mm.clip_grad_norm(params, 1.0)
    assert float(norm) == pytest.approx(5.0)
    total = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    assert total == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(to_numpy(params[0].grad), [0.6, 0.0], rtol=1e-5)


def test_clip_grad_norm_leaves_small_gradients_alone():
    params = _params_with_grads([np.array([0.3, 0.4])])  # norm 0.5
    assert float(mm.clip_grad_norm(params, 1.0)) == pytest.approx(0.5)
    np.testing.assert_array_equal(to_numpy(params[0].grad), [0.3, 0.4])


# ---- checkpoints -----------------------------------------------------------------

def test_state_dict_round_trip_is_bit_exact(tmp_path):
    a, b = mm.SmallCNN(rng=0), mm.SmallCNN(rng=1)
    path = tmp_path / "cnn.npz"
    a.save(path)
    assert not (tmp_path / "cnn.npz.tmp").exists()
    b.load(path)
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert p.data.dtype == q.data.dtype
        np.testing.assert_array_equal(to_numpy(p.data), to_numpy(q.data), err_msg=name)


def test_truncated_checkpoint_fails_clearly(tmp_path):
    path = tmp_path / "mlp.npz"
    mm.MLP([3, 4, 1], rng=0).save(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"checkpoint .*mlp.npz.*not a readable"):
        mm.MLP([3, 4, 1]).load(path)


def test_checkpoint_with_missing_or_misshaped_arrays_names_the_parameter(tmp_path):
    path = tmp_path / "mlp.npz"
    state = mm.MLP([3, 4, 1], rng=0).state_dict()
    np.savez(path, **{k: v for k, v in state.items() if k != "layers.1.bias"})
    with pytest.raises(ValueError, match=r"missing parameters \['layers.1.bias'\]"):
        mm.MLP([3, 4, 1]).load(path)
    state["layers.0.weight"] = np.zeros((4, 3), dtype=np.float32)
    np.savez(path, **state)
    with pytest.raises(ValueError, match=r"'layers.0.weight' has shape \(4, 3\).*\(3, 4\)"):
        mm.MLP([3, 4, 1]).load(path)


def test_missing_checkpoint_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        mm.MLP([3, 4, 1]).load(tmp_path / "nope.npz")
