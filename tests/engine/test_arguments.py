"""The engine's public surface refuses a bad argument where it is given, with an error
that names the class or function, the argument and the value; what makes sense stays
allowed. By subject: sizes, names, random generators, optimizers and their states,
thresholds, tensors, checkpoints, the gradient check and the ops."""
import numpy as np
import pytest

import minimi as mm
from minimi.backend import to_numpy


# ---- sizes: layers, networks, critics ------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: mm.Linear(0, 3), "Linear: in_features must be at least 1, got 0"),
    (lambda: mm.Linear(-1, 3), "Linear: in_features must be at least 1, got -1"),
    (lambda: mm.Linear(2, 0), "Linear: out_features must be at least 1, got 0"),
    (lambda: mm.Linear(2.0, 3), "Linear: in_features must be an integer, got 2.0"),
    (lambda: mm.MLP([2, 0, 1]), r"MLP: sizes\[1\] must be at least 1, got 0"),
    (lambda: mm.MLP([2]), r"MLP: sizes needs at least 2 sizes, got \(2,\)"),
    (lambda: mm.MLP(5), "MLP: sizes must be a sequence of sizes"),
    (lambda: mm.MLP("21"), "MLP: sizes must be a sequence of sizes"),
    (lambda: mm.Conv2d(3, 0), "Conv2d: out_channels must be at least 1, got 0"),
    (lambda: mm.Conv2d(3, 4, kernel=0), "Conv2d: kernel must be at least 1, got 0"),
    (lambda: mm.Conv2d(3, 4, stride=0), "Conv2d: stride must be at least 1, got 0"),
    (lambda: mm.Conv2d(3, 4, padding=-1), "Conv2d: padding must be at least 0, got -1"),
    (lambda: mm.SmallCNN(num_classes=0), "SmallCNN: num_classes must be at least 1, got 0"),
    (lambda: mm.SmallCNN(in_channels=0), "SmallCNN: in_channels must be at least 1, got 0"),
    (lambda: mm.SeparableCritic(0, 2), "SeparableCritic: x_dim must be at least 1, got 0"),
    (lambda: mm.SeparableCritic(2, 2, hidden=5), "SeparableCritic: hidden must be a sequence"),
    (lambda: mm.SeparableCritic(2, 2, embed_dim=0),
     "SeparableCritic: embed_dim must be at least 1, got 0"),
    (lambda: mm.ConcatCritic(2, "a"), "ConcatCritic: y_dim must be an integer, got 'a'"),
    (lambda: mm.ConcatCritic(2, 2, hidden=()), r"ConcatCritic: hidden needs at least 1 size"),
    (lambda: mm.ConcatCritic(2, 2, hidden=(8, -8)),
     r"ConcatCritic: hidden\[1\] must be at least 1, got -8"),
    (lambda: mm.one_hot_critic(0), "ConcatCritic: x_dim must be at least 1, got 0"),
])
def test_a_size_that_cannot_be_is_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_an_empty_batch_and_linear_embeddings_are_allowed():
    """As in PyTorch: zero rows flow through (shapes still agree), and a separable
    critic without hidden layers is two linear maps."""
    assert mm.MLP([3, 4, 2], rng=0)(mm.Tensor(np.zeros((0, 3)))).shape == (0, 2)
    critic = mm.SeparableCritic(3, 2, hidden=(), embed_dim=4, rng=0)
    assert critic(mm.Tensor(np.ones((5, 3))), mm.Tensor(np.ones((6, 2)))).shape == (5, 6)


# ---- names -----------------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: mm.Linear(2, 3, init="xavier"),
     "Linear: unknown init 'xavier': choose one of uniform, normal"),
    (lambda: mm.MLP([2, 3], activation=["relu"]),
     r"MLP: activation must be a name, one of relu, .*; got \['relu'\]"),
    (lambda: mm.SmallCNN(head="features"), "SmallCNN: unknown head 'features'"),
    (lambda: mm.bounds.make(["mine"]), r"bound must be a name, one of mine, .*got \['mine'\]"),
    (lambda: mm.Linear(2, 3, bias="no"), "Linear: bias must be True or False, got 'no'"),
])
def test_a_name_that_is_not_one_of_the_choices_is_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# ---- random generators -----------------------------------------------------------------

def test_rng_is_a_seed_a_generator_or_none():
    with pytest.raises(TypeError, match="Linear: rng must be a seed .* got 'a'"):
        mm.Linear(2, 3, rng="a")
    with pytest.raises(ValueError, match="MLP: rng must be a seed of at least 0, got -1"):
        mm.MLP([2, 3], rng=-1)
    seeded, drawn = mm.Linear(2, 3, rng=7), mm.Linear(2, 3, rng=np.random.default_rng(7))
    assert np.array_equal(seeded.weight.data, drawn.weight.data)


# ---- optimizers and their states -----------------------------------------------------------

def _params():
    return mm.Linear(2, 3, rng=0).parameters()     # 6 + 3 = 9 entries


@pytest.mark.parametrize("make, error, message", [
    (lambda: mm.Adam(mm.Linear(2, 3)), TypeError, "Adam: params must be the module's "
                                                  r"parameters: pass module.parameters\(\)"),
    (lambda: mm.SGD(5, lr=0.1), TypeError, "SGD: params must be a list of Tensors"),
    (lambda: mm.Adam([1.0]), TypeError, r"Adam: params\[0\] must be a Tensor with "
                                        "requires_grad=True"),
    (lambda: mm.Adam([mm.Tensor([1.0])]), TypeError, r"Adam: params\[0\] must be a Tensor"),
    (lambda: mm.Adam([]), ValueError, "Adam: no parameters to optimize"),
    (lambda: mm.Adam(_params(), betas=0.9), ValueError,
     r"Adam: betas must be two numbers \(β1, β2\) .* got 0.9"),
    (lambda: mm.Adam(_params(), betas=(0.9, 0.99, 0.9)), ValueError, "Adam: betas must be two"),
    (lambda: mm.Adam(_params(), betas=(0.9, 1.0)), ValueError,
     r"Adam: betas\[1\] must be less than 1, got 1"),
    (lambda: mm.Adam(_params(), lr="a"), ValueError, "Adam: lr must be a number, got 'a'"),
    (lambda: mm.SGD(_params(), lr=0.1, momentum=-1), ValueError,
     "SGD: momentum must be at least 0, got -1"),
])
def test_an_optimizer_refuses_what_it_cannot_update(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("change, error, message", [
    (lambda s: [1, 2], TypeError, "Adam state: must be a dict with 't', 'm' and 'v'"),
    (lambda s: {"m": s["m"], "v": s["v"]}, ValueError, "Adam state: missing 't'"),
    (lambda s: {**s, "t": -1}, ValueError, "Adam state: 't' must be at least 0, got -1"),
    (lambda s: {**s, "t": 2.5}, ValueError, "Adam state: 't' must be an integer, got 2.5"),
    (lambda s: {**s, "m": s["m"][:-1]}, ValueError, r"'m' has shape \(8,\), expected \(9,\)"),
    (lambda s: {**s, "m": np.full(9, np.nan)}, ValueError, "'m' must hold finite floats"),
    (lambda s: {**s, "v": -np.ones(9)}, ValueError, "'v' must hold finite floats ≥ 0"),
])
def test_a_bad_optimizer_state_is_refused_and_nothing_is_written(change, error, message):
    params = _params()
    adam = mm.Adam(params)
    for p in params:
        p.grad = np.ones_like(p.data)
    adam.step()
    before = adam.state_dict()
    with pytest.raises(error, match=message):
        adam.load_state_dict(change(adam.state_dict()))
    after = adam.state_dict()
    assert after["t"] == before["t"] == 1
    assert np.array_equal(after["m"], before["m"]) and np.array_equal(after["v"], before["v"])


def test_a_state_from_an_npz_file_loads(tmp_path):
    """np.savez turns the step count into a 0-d array: still an integer step count."""
    params = _params()
    adam = mm.Adam(params)
    for p in params:
        p.grad = np.ones_like(p.data)
    adam.step(), adam.step()
    np.savez(tmp_path / "adam.npz", **adam.state_dict())
    again = mm.Adam(_params())
    with np.load(tmp_path / "adam.npz") as stored:
        again.load_state_dict(dict(stored))
    assert again.t == 2 and np.array_equal(again.state_dict()["v"], adam.state_dict()["v"])


@pytest.mark.parametrize("Optimizer", [mm.SGD, mm.Adam])
def test_a_gradient_of_another_shape_is_named_not_broadcast(Optimizer):
    params = _params()
    optimizer = Optimizer(params, lr=0.1)
    params[0].grad = np.ones(3, np.float32)     # weight (2, 3): would broadcast silently
    before = params[0].data.copy()
    with pytest.raises(ValueError, match=rf"{Optimizer.__name__}: parameter 0 \(2, 3\) has a "
                                         r"gradient of shape \(3,\)"):
        optimizer.step()
    assert np.array_equal(params[0].data, before)


# ---- thresholds ------------------------------------------------------------------------

@pytest.mark.parametrize("lo, hi, message", [
    (float("nan"), 1.0, "clip: lo must be a number, got nan"),
    (0.0, float("nan"), "clip: hi must be a number, got nan"),
    ("a", 1.0, "clip: lo must be a number, got 'a'"),
    (2.0, 1.0, "clip: lo=2.0 is above hi=1.0"),
])
def test_clip_refuses_a_range_that_is_not_one(lo, hi, message):
    with pytest.raises(ValueError, match=message):
        mm.clip(mm.Tensor(np.arange(4.0)), lo, hi)


def test_clip_with_an_open_side_clips_the_other():
    x = np.array([-5.0, 0.5, 7.0])
    low, high = mm.clip(mm.Tensor(x), -np.inf, 1.0), mm.clip(mm.Tensor(x), 0.0, float("inf"))
    assert np.array_equal(to_numpy(low.data), np.clip(x, None, 1.0))
    assert np.array_equal(to_numpy(high.data), np.clip(x, 0.0, None))


@pytest.mark.parametrize("max_norm, message", [
    (-1, "clip_grad_norm: max_norm must be greater than 0, got -1"),
    (0.0, "clip_grad_norm: max_norm must be greater than 0, got 0"),
    (float("nan"), "clip_grad_norm: max_norm must be a finite number, got nan"),
])
def test_clip_grad_norm_refuses_a_norm_that_would_flip_or_erase_gradients(max_norm, message):
    params = _params()
    for p in params:
        p.grad = np.ones_like(p.data)
    with pytest.raises(ValueError, match=message):
        mm.clip_grad_norm(params, max_norm)
    assert all(np.array_equal(p.grad, np.ones_like(p.data)) for p in params)
    with pytest.raises(TypeError, match=r"pass module.parameters\(\)"):
        mm.clip_grad_norm(mm.Linear(2, 3), 1.0)


# ---- tensors ---------------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: mm.Tensor("abc"), r"Tensor: the data is not numbers \(<U3 values \['abc'\]"),
    (lambda: mm.Tensor(["1", "2"]), "Tensor: the data is not numbers"),   # not 1.0, 2.0
    (lambda: mm.Tensor([1, 2], dtype=np.int32, requires_grad=True),
     "Tensor: only floating-point data can require a gradient, got int32"),
    (lambda: mm.Tensor([1.0], requires_grad="no"),
     "Tensor: requires_grad must be True or False, got 'no'"),
])
def test_a_tensor_of_what_is_not_numbers_or_cannot_have_a_gradient(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_a_bias_of_another_width_is_named_not_broadcast():
    """(N, O) + (N,) broadcasts when N = O: a (3,) bias on a 3-row batch of width 2
    fails in NumPy only by luck of the shapes; here it is named."""
    x, W = mm.Tensor(np.ones((2, 4))), mm.Tensor(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"linear: bias \(2, 1\) for weight \(4, 2\): "
                                         r"expected \(2,\)"):
        mm.linear(x, W, mm.Tensor(np.ones((2, 1))))


def test_integer_data_becomes_float32_and_may_require_a_gradient():
    t = mm.Tensor([1, 2, 3], requires_grad=True)
    (t * t).sum().backward()
    assert t.dtype == np.float32 and np.array_equal(t.grad, [2.0, 4.0, 6.0])


# ---- checkpoints -------------------------------------------------------------------------

def test_module_state_and_dtype_are_checked():
    layer = mm.Linear(2, 3, rng=0)
    with pytest.raises(TypeError, match=r"state_dict: must be a dict \{name: array\}"):
        layer.load_state_dict([layer.weight.data, layer.bias.data])
    with pytest.raises(ValueError, match="Linear.astype: parameters need a floating-point "
                                         "dtype, got int32"):
        layer.astype(np.int32)
    assert layer.weight.dtype == np.float32


# ---- the gradient check's own arguments ----------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: mm.gradcheck(5, [np.ones(2)]), TypeError, "gradcheck: fn must be a function"),
    (lambda: mm.gradcheck(lambda a: a.sum(), np.ones(2)), TypeError,
     r"gradcheck: inputs must be a list of arrays, one per argument of fn .* got ndarray"),
    (lambda: mm.gradcheck(lambda a: a.sum(), [np.ones(2)], eps=0), ValueError,
     "gradcheck: eps must be greater than 0, got 0"),
    (lambda: mm.gradcheck(lambda a: a.sum(), [np.ones(2)], rtol=-1e-4), ValueError,
     "gradcheck: rtol must be at least 0"),
    (lambda: mm.gradcheck(lambda a: a.sum(), [np.ones(2)], max_entries=-1), ValueError,
     "gradcheck: max_entries must be at least 0, got -1"),
    (lambda: mm.gradcheck_module(mm.Linear(2, 1), "fn"), TypeError,
     "gradcheck_module: fn must be a function taking no arguments"),
    (lambda: mm.gradcheck_module("critic", lambda: None), TypeError,
     "gradcheck_module: module must be a minimi Module, got 'critic'"),
])
def test_the_gradient_check_refuses_settings_that_would_pass_anything(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- ops, tensors of None, checkpoint files ------------------------------------------------

@pytest.mark.parametrize("data", [[1.0, None], [[1.0, None], [2.0, 3.0]]])
def test_a_tensor_of_none_is_refused_not_nan(data):
    with pytest.raises(TypeError, match="Tensor: the data is not numbers"):
        mm.Tensor(data)


@pytest.mark.parametrize("call, message", [
    (lambda x, w: mm.conv2d(x, w, stride=0), "conv2d: stride must be at least 1, got 0"),
    (lambda x, w: mm.conv2d(x, w, padding=-1), "conv2d: padding must be at least 0, got -1"),
    (lambda x, w: mm.conv2d(x, w, mm.Tensor(np.ones(2))),
     r"conv2d: bias of shape \(2,\) for weight \(3, 2, 3, 3\): expected \(3,\)"),
    (lambda x, w: mm.conv2d_pool(x, w, stride=1.5), "conv2d_pool: stride must be an integer"),
    (lambda x, w: mm.max_pool2d(x, 0), "max_pool2d: kernel must be at least 1"),
    (lambda x, w: mm.concatenate([x, x], axis=4),
     r"concatenate: axis 4 is out of range for shapes \[\(1, 5, 5, 2\), \(1, 5, 5, 2\)\]"),
    (lambda x, w: mm.concatenate([x, w], axis=0), r"concatenate: shapes .* do not match"),
    (lambda x, w: mm.stack([x, x], axis=-6), "stack: axis -6 is out of range"),
])
def test_op_arguments_are_named(call, message):
    x, w = mm.Tensor(np.ones((1, 5, 5, 2))), mm.Tensor(np.ones((3, 2, 3, 3)))
    with pytest.raises(ValueError, match=message):
        call(x, w)


def test_module_load_checks_every_array_before_writing_any(tmp_path):
    net = mm.MLP([3, 4, 2], rng=0)
    before = net.state_dict()
    state = {k: v + 1.0 for k, v in before.items()}
    last = list(state)[-1]
    state[last] = np.ones(7)                                   # the last one mis-shaped
    np.savez(tmp_path / "bad.npz", **state)
    with pytest.raises(ValueError, match=f"parameter '{last}' has shape"):
        net.load(str(tmp_path / "bad.npz"))
    for name, value in net.state_dict().items():                # nothing was overwritten
        np.testing.assert_array_equal(value, before[name])


def test_module_load_of_a_single_array_is_named(tmp_path):
    np.save(tmp_path / "x.npy", np.ones(3))
    with pytest.raises(ValueError, match=r"x.npy: not a readable .npz file \(a single array"):
        mm.Linear(2, 2).load(str(tmp_path / "x.npy"))
