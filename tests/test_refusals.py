"""Bad input in the API, the ops and Module.load: a message that names it, before any
work and without a half-done change; and no plain number where none is meaningful."""
import numpy as np
import pytest

import minimi
import minimi as mm
from minimi import bounds


def _pair(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    return x, x + rng.standard_normal((n, 2))


@pytest.mark.parametrize("changes, message", [
    (dict(hidden=128), r"hidden must be a sequence of layer sizes .* got 128"),
    (dict(hidden="128"), r"hidden must be a sequence of layer sizes .* got '128'"),
    (dict(device=0), "unknown device 0"),
    (dict(test_fraction=0.01), r"test_fraction=0.01 leaves 2 of the 200 rows .* at least 8"),
    (dict(validation_fraction=0.02), r"validation_fraction=0.02 leaves 3 of the 200 rows"),
])
def test_bad_estimator_arguments_are_named_before_training(changes, message):
    x, y = _pair()
    with pytest.raises(ValueError, match=message):
        minimi.estimate(x, y, steps=10, **changes)


def test_an_unknown_setting_lists_the_settings():
    x, y = _pair()
    with pytest.raises(TypeError, match="unknown setting.*'hiden'.*hidden, embed_dim"):
        minimi.estimate(x, y, hiden=(8,))
    with pytest.raises(TypeError, match="settings must be a minimi.Settings or None, got 'nwj'"):
        minimi.estimate(x, y, "nwj")              # the bound goes by name


def test_a_masked_array_keeps_its_mask_meaning():
    x, y = _pair(60)
    masked = np.ma.masked_array(x, mask=np.zeros_like(x, dtype=bool))
    masked.mask[6, 1] = True
    with pytest.raises(ValueError, match=r"x: a masked array with 1 masked value\(s\), the first "
                                         r"at row 7, column 2"):
        minimi.estimate(masked, y, steps=10)


def test_a_column_that_collapses_gives_no_number():
    """marginals='none' on a column of spread 1e200: float32 turns it into inf, so the
    critic trains on other data; the result is a status, never a number."""
    x, y = _pair()
    with pytest.warns(minimi.DataWarning):
        result = minimi.estimate(x, y * 1e200, steps=20, eval_every=10, hidden=(8,),
                                 marginals="none")
    assert result.status == "degenerate" and result.mi is None
    assert "could not be estimated: the data leaves no meaningful number: y column 1" \
        in str(result)


def test_bound_parameters_given_twice_are_refused():
    with pytest.raises(ValueError, match="parameter lam is given twice"):
        bounds.parse("remine:lam=1,lam=2")


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
