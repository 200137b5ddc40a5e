"""Bad input to minimi.estimate: a message that names it, before any work; and no
plain number where none is meaningful. (The engine's arguments: tests/engine.)"""
import os

import numpy as np
import pytest

import minimi
from minimi import bounds
from minimi.estimator import recipe


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


def test_rows_that_would_not_fit_in_memory_are_refused_before_training(monkeypatch):
    from minimi.estimator import inputs
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((1000, 3)), rng.standard_normal((1000, 2))
    need = inputs.MEMORY_BASE_MB + inputs.MEMORY_PER_DATA * 5000 * 8 / 2 ** 20
    monkeypatch.setattr(inputs, "available_mb", lambda: need - 1)
    trained = []
    monkeypatch.setattr(recipe, "estimate_once", lambda *a, **k: trained.append(1))
    with pytest.raises(ValueError, match=r"x \(1000, 3\) and y \(1000, 2\) \(0 MB as float64\) "
                                         r"need about 301 MB .* has 300 MB available"):
        minimi.estimate(x, y)
    assert trained == []
    monkeypatch.setattr(inputs, "available_mb", lambda: need + 1)
    monkeypatch.setattr(recipe, "estimate_once", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):          # enough memory: on to training
        minimi.estimate(x, y)


def test_available_memory_is_read_from_proc_meminfo():
    from minimi.estimator import inputs
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("no /proc/meminfo here")
    with open("/proc/meminfo") as f:
        total = int(next(line for line in f if line.startswith("MemTotal:")).split()[1]) / 1024
    assert 0 < inputs.available_mb() <= total
