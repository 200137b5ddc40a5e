"""minimi as an external estimator of the bmi benchmark, and minimi installed as a
package with its `minimi` console script."""
import math
import os
import re
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

from minimi import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--steps", "3000", "--eval-every", "25", "--patience", "4", "--hidden", "32"]


def write_bmi_samples(path, seeds=(0, 1, 2), n=800, dx=2, dy=1):
    """bmi's samples.csv: seed,X1..Xdx,Y1..Ydy with the rows of several seeds; y1 is
    a noisy copy of x1 in seed 1 only (I = ½·log(1 + 1/0.25) = 0.80 nats)."""
    header = ["seed"] + [f"X{i}" for i in range(1, dx + 1)] + [f"Y{i}" for i in range(1, dy + 1)]
    lines = [",".join(header)]
    for seed in seeds:
        r = np.random.default_rng(seed)
        x = r.standard_normal((n, dx))
        y = r.standard_normal((n, dy))
        if seed == 1:
            y[:, 0] = x[:, 0] + 0.5 * r.standard_normal(n)
        lines += [",".join([str(seed)] + [repr(float(v)) for v in row])
                  for row in np.hstack([x, y])]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_bmi_reads_the_seeds_rows_and_prints_one_number(tmp_path, capsys):
    samples = write_bmi_samples(tmp_path / "samples.csv")
    x, y = cli.read_bmi_samples(samples, 1, 2, 1)
    assert x.shape == (800, 2) and y.shape == (800, 1)
    r = np.random.default_rng(1)
    np.testing.assert_allclose(x, r.standard_normal((800, 2)))
    assert cli.main(["bmi", samples, "1", "2", "1", *FAST]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    mi = float(out)
    assert abs(mi - 0.5 * math.log(1 + 1 / 0.25)) < 0.3         # seed 1 is the dependent one
    assert cli.main(["bmi", samples, "0", "2", "1", *FAST]) == cli.EXIT_OK
    assert abs(float(capsys.readouterr().out)) < 0.15           # seed 0: independent


def test_bmi_columns_may_come_in_any_order(tmp_path):
    samples = write_bmi_samples(tmp_path / "a.csv", dx=2, dy=2)
    lines = (tmp_path / "a.csv").read_text().splitlines()
    order = [0, 4, 2, 3, 1]                                      # seed, Y2, X2, Y1, X1
    (tmp_path / "b.csv").write_text("\n".join(",".join(line.split(",")[k] for k in order)
                                              for line in lines) + "\n")
    for a, b in zip(cli.read_bmi_samples(samples, 2, 2, 2),
                    cli.read_bmi_samples(str(tmp_path / "b.csv"), 2, 2, 2)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("argv, message", [
    (["3", "2", "1"], "no rows of seed 3 .*seeds 0, 1, 2"),
    (["0", "3", "1"], r"expected the columns seed, X1..X3, Y1..Y1 .*missing \['X3'\]"),
    (["0", "2", "0"], "DIM_Y must be at least 1"),
    (["0", "2", "1", "--lr", "nan"], "lr must be a finite number"),
])
def test_bmi_errors_go_to_stderr_with_nothing_on_stdout(tmp_path, capsys, argv, message):
    samples = write_bmi_samples(tmp_path / "samples.csv")
    assert cli.main(["bmi", samples, *argv]) == cli.EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("minimi bmi: error: ")
    assert re.search(message, captured.err), captured.err


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bmi_prints_no_number_when_there_is_no_estimate(tmp_path, capsys):
    samples = write_bmi_samples(tmp_path / "samples.csv")
    assert cli.main(["bmi", samples, "1", "2", "1", "--bound", "nwj", "--lr", "0.05"]) == \
        cli.EXIT_NO_ESTIMATE
    captured = capsys.readouterr()
    assert captured.out == "" and "no estimate: training diverged" in captured.err


@pytest.mark.slow
def test_the_package_installs_and_its_console_script_runs_outside_the_checkout(tmp_path):
    """pip install . into a fresh virtual environment; `minimi` from another folder."""
    venv = tmp_path / "venv"
    (tmp_path / "source").mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # NumPy, SciPy and Pillow come from this environment (a .pth file), not a download
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    with open(os.path.join(site.stdout.strip(), "outer.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    source = tmp_path / "source"             # pip builds in the tree: not in the checkout's
    for name in ("pyproject.toml", "README.md", "minimi"):
        copy = shutil.copytree if os.path.isdir(os.path.join(ROOT, name)) else shutil.copy
        copy(os.path.join(ROOT, name), source / name if name == "minimi" else source)
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                              str(source)], capture_output=True, text=True, cwd=tmp_path)
    if install.returncode and ("NewConnectionError" in install.stderr or
                               "No matching distribution found for setuptools" in install.stderr):
        pytest.skip(f"pip cannot fetch setuptools to build the package: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = subprocess.run([str(python), "-c", "import minimi; print(minimi.__file__)"],
                           capture_output=True, text=True, cwd=outside, check=True)
    assert where.stdout.startswith(str(venv)), where.stdout     # the installed copy
    minimi = venv / "bin" / "minimi"
    shown = subprocess.run([str(minimi), "--help"], capture_output=True, text=True, cwd=outside)
    assert shown.returncode == 0 and "estimate" in shown.stdout and "bmi" in shown.stdout
    samples = write_bmi_samples(outside / "samples.csv")
    estimated = subprocess.run([str(minimi), "bmi", samples, "1", "2", "1", *FAST],
                               capture_output=True, text=True, cwd=outside)
    assert estimated.returncode == 0, estimated.stderr
    assert abs(float(estimated.stdout) - 0.5 * math.log(5)) < 0.3
