"""minimi.estimate and `python -m minimi estimate`: accuracy, validation, the CLI."""
import json
import math
import re

import numpy as np
import pytest
from PIL import Image

import minimi
from minimi import cli


def gaussian_pair(mi, dim, n, seed):
    """Correlated Gaussians with I(X; Y) = mi nats: y = ρx + sqrt(1−ρ²)ε per coordinate."""
    r = np.random.default_rng(seed)
    rho = math.sqrt(1 - math.exp(-2 * mi / dim))
    x = r.standard_normal((n, dim))
    return x, rho * x + math.sqrt(1 - rho ** 2) * r.standard_normal((n, dim))


@pytest.mark.parametrize("mi", [1.0, 3.0])
def test_default_settings_recover_known_mi(mi):
    x, y = gaussian_pair(mi, 5, 5000, seed=0)
    result = minimi.estimate(x, y)
    assert abs(result.mi - mi) < 0.15, str(result)
    assert result.status == "ok" and 0 < result.stderr < 0.15
    assert result.n_test == 1000 and result.marginals == "rank"


def test_independent_samples_give_zero():
    r = np.random.default_rng(1)
    result = minimi.estimate(r.standard_normal((5000, 5)), r.standard_normal((5000, 5)))
    assert abs(result.mi) < 0.05, str(result)


def test_rank_marginals_make_the_estimate_invariant_to_monotone_maps():
    x, y = gaussian_pair(1.0, 2, 600, seed=2)
    settings = dict(steps=60, eval_every=20, hidden=(16,), seed=3)
    a = minimi.estimate(x, y, **settings)
    b = minimi.estimate(np.exp(x), y ** 3, **settings)
    assert a.mi == pytest.approx(b.mi, abs=1e-6)


def test_result_fields_and_summary():
    x, y = gaussian_pair(0.5, 1, 300, seed=4)
    result = minimi.estimate(x[:, 0], y[:, 0], steps=40, eval_every=20, hidden=(8,))
    assert len(result.curve) == 40 and [s for s, _ in result.validation] == [0, 20, 40]
    assert result.best_step in (0, 20, 40) and isinstance(result.settled, bool)
    d = result.as_dict(bits=True)
    assert d["unit"] == "bits" and d["mi"] == pytest.approx(result.mi / math.log(2))
    assert str(result).startswith("I(X;Y) ≈ ") and "rank-Gaussian marginals" in str(result)


@pytest.mark.parametrize("x, y, message", [
    (np.zeros((100, 2)), np.zeros((90, 2)), "100 rows and y has 90"),
    (np.zeros((20, 2)), np.zeros((20, 2)), "too few"),
    (np.full((100, 2), np.nan), np.zeros((100, 2)), "x: 200 NaN or infinite value"),
    (np.zeros((100, 2)), np.array([[np.inf, 0.0]] * 100), "y: 100 NaN or infinite.*row 0"),
    (np.zeros((100, 2, 2)), np.zeros((100, 2)), r"shape \(100, 2, 2\)"),
])
def test_bad_arrays_are_clear_errors(x, y, message):
    with pytest.raises(ValueError, match=message):
        minimi.estimate(x, y)


@pytest.mark.parametrize("kwargs, message", [
    ({"bound": "mien"}, "unknown bound 'mien'"),
    ({"critic": "bilinear"}, "unknown critic 'bilinear'"),
    ({"bound": "remine", "tau": 3.0}, "unknown parameter"),
    ({"test_fraction": 1.5}, "test_fraction"),
])
def test_bad_settings_are_clear_errors(kwargs, message):
    x, y = gaussian_pair(1.0, 2, 100, seed=0)
    with pytest.raises(ValueError, match=message):
        minimi.estimate(x, y, **kwargs)


# ---- the command line ---------------------------------------------------------------------

FAST = ["--steps", "30", "--hidden", "8", "--quiet"]


@pytest.fixture
def files(tmp_path):
    x, y = gaussian_pair(1.0, 3, 400, seed=5)
    paths = {"x.npy": tmp_path / "x.npy", "y.csv": tmp_path / "y.csv",
             "y_noheader.csv": tmp_path / "y_noheader.csv"}
    np.save(paths["x.npy"], x)
    np.savetxt(paths["y.csv"], y, delimiter=",", header="a,b,c", comments="")
    np.savetxt(paths["y_noheader.csv"], y, delimiter=",")
    return {k: str(v) for k, v in paths.items()}


def test_cli_prints_one_line(files, capsys):
    assert cli.main(["estimate", files["x.npy"], files["y.csv"], *FAST]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("I(X;Y) ≈ ") and out.count("\n") == 0
    assert "nats (remine, separable critic, 30 steps" in out


def test_cli_header_detection_gives_the_same_answer(files, capsys):
    cli.main(["estimate", files["x.npy"], files["y.csv"], *FAST, "--json"])
    with_header = json.loads(capsys.readouterr().out)
    cli.main(["estimate", files["x.npy"], files["y_noheader.csv"], *FAST, "--json"])
    without = json.loads(capsys.readouterr().out)
    assert with_header["mi"] == without["mi"] and with_header["n_test"] == 80


def test_cli_json_and_bits(files, capsys):
    cli.main(["estimate", files["x.npy"], files["y.csv"], *FAST, "--json"])
    nats = json.loads(capsys.readouterr().out)
    assert {"mi", "stderr", "unit", "bound", "critic", "status"} <= set(nats)
    assert nats["unit"] == "nats" and nats["bound"] == "remine" and nats["status"] == "ok"
    cli.main(["estimate", files["x.npy"], files["y.csv"], *FAST, "--json", "--bits"])
    bits = json.loads(capsys.readouterr().out)
    assert bits["unit"] == "bits" and bits["mi"] == pytest.approx(nats["mi"] / math.log(2))


def test_cli_plot(files, tmp_path, capsys):
    png = tmp_path / "curve.png"
    assert cli.main(["estimate", files["x.npy"], files["y.csv"], *FAST, "--plot", str(png)]) == 0
    assert Image.open(png).size == (720, 450)


def test_cli_progress_goes_to_stderr(files, capsys):
    cli.main(["estimate", files["x.npy"], files["y.csv"], "--steps", "200", "--hidden", "8"])
    captured = capsys.readouterr()
    assert "step 100/200" in captured.err and "steps/s" in captured.err
    assert captured.out.startswith("I(X;Y)")


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_cli_errors_name_the_file_and_exit_2(files, tmp_path, capsys):
    bad_cell = _write(tmp_path, "bad.csv", "a,b\n" + "1,2\n" * 60 + "3,oops\n")
    ragged = _write(tmp_path, "ragged.csv", "1,2\n" * 60 + "3\n")
    short = _write(tmp_path, "short.csv", "1,2\n" * 10)
    nan = _write(tmp_path, "nan.csv", "1,2\n" * 60 + "nan,1\n")
    cases = [
        ([files["x.npy"], bad_cell], "bad.csv: row 62, column 2: 'oops' is not a number"),
        ([files["x.npy"], ragged], "ragged.csv: row 61 has 1 columns"),
        ([files["x.npy"], str(tmp_path / "missing.npy")], "missing.npy: no such file"),
        ([files["x.npy"], _write(tmp_path, "y.json", "{}")], "y.json: unknown file type"),
        ([files["x.npy"], short], "x.npy has 400 rows and .*short.csv has 10"),
        ([nan, nan], "nan.csv: 1 NaN or infinite"),
        ([files["x.npy"], files["y.csv"], "--bound", "mien"], "unknown bound 'mien'"),
    ]
    for argv, message in cases:
        assert cli.main(["estimate", *argv, "--quiet"]) == 2, message
        err = capsys.readouterr().err
        assert err.startswith("minimi estimate: error: ")
        assert re.search(message, err), (message, err)
