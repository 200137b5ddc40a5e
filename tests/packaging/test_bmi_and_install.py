"""minimi as an external estimator of the bmi benchmark, and minimi installed as a
package with its `minimi` console script."""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

from minimi.tools import cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# bmi reads only the number: no subsamples for the interval (its flag is accepted)
FAST = ["--steps", "3000", "--eval-every", "25", "--patience", "4", "--hidden", "32",
        "--subsamples", "1"]


def dependent_pair(seed, n=800, dx=2, dy=1, dependent=True):
    """x (n, dx), y (n, dy); y1 a noisy copy of x1 when dependent
    (I = ½·log(1 + 1/0.25) = 0.80 nats), else independent."""
    r = np.random.default_rng(seed)
    x, y = r.standard_normal((n, dx)), r.standard_normal((n, dy))
    if dependent:
        y[:, 0] = x[:, 0] + 0.5 * r.standard_normal(n)
    return x, y


def write_sample(path, x, y):
    """As bmi 0.1.3's bmi.utils.save_sample writes it: pandas' to_csv(index=False) of
    columns X0..X<dx-1>, Y0..Y<dy-1>."""
    header = [f"X{i}" for i in range(x.shape[1])] + [f"Y{i}" for i in range(y.shape[1])]
    path.write_text("\n".join([",".join(header)] + [",".join(repr(float(v)) for v in row)
                                                    for row in np.hstack([x, y])]) + "\n")
    return str(path)


def write_seeded_samples(path, seeds=(0, 1, 2), n=800, dx=2, dy=1):
    """bmi's development layout: seed,X1..Xdx,Y1..Ydy with the rows of several seeds;
    seed 1 is the dependent one."""
    header = ["seed"] + [f"X{i}" for i in range(1, dx + 1)] + [f"Y{i}" for i in range(1, dy + 1)]
    lines = [",".join(header)]
    for seed in seeds:
        x, y = dependent_pair(seed, n, dx, dy, dependent=seed == 1)
        lines += [",".join([str(seed)] + [repr(float(v)) for v in row])
                  for row in np.hstack([x, y])]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


TRUTH = 0.5 * math.log(1 + 1 / 0.25)


def test_bmi_reads_bmis_sample_and_prints_one_number(tmp_path, capsys):
    x, y = dependent_pair(1)
    sample = write_sample(tmp_path / "sample.csv", x, y)
    got_x, got_y = cli.read_bmi_samples(sample, 2, 1)
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)
    assert cli.main(["bmi", sample, "2", "1", *FAST, "--accept-flagged"]) == cli.EXIT_OK
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.count("\n") == 1
    assert abs(float(captured.out) - TRUTH) < 0.3


def test_bmi_reads_the_seeded_layout_with_sample_seed(tmp_path, capsys):
    samples = write_seeded_samples(tmp_path / "samples.csv")
    x, y = cli.read_bmi_samples(samples, 2, 1, sample_seed=1)
    np.testing.assert_array_equal(x, dependent_pair(1)[0])
    assert cli.main(["bmi", samples, "2", "1", "--sample-seed", "1", *FAST,
                     "--accept-flagged"]) == cli.EXIT_OK
    assert abs(float(capsys.readouterr().out) - TRUTH) < 0.3


def test_bmi_columns_may_come_in_any_order(tmp_path):
    samples = write_seeded_samples(tmp_path / "a.csv", dx=2, dy=2)
    lines = (tmp_path / "a.csv").read_text().splitlines()
    order = [0, 4, 2, 3, 1]                                      # seed, Y2, X2, Y1, X1
    (tmp_path / "b.csv").write_text("\n".join(",".join(line.split(",")[k] for k in order)
                                              for line in lines) + "\n")
    for a, b in zip(cli.read_bmi_samples(samples, 2, 2, 2),
                    cli.read_bmi_samples(str(tmp_path / "b.csv"), 2, 2, 2)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("argv, message", [
    (["2", "1", "--sample-seed", "3"], "no rows of seed 3 .*seeds 0, 1, 2"),
    (["2", "1"], "the file has a seed column: pass --sample-seed"),
    (["3", "1", "--sample-seed", "0"], r"expected the columns X1..X3, Y1..Y1 and seed .*"
                                       r"missing \['X3'\]"),
    (["2", "0"], "DIM_Y must be at least 1"),
    (["2", "1", "--sample-seed", "0", "--lr", "nan"], "lr must be a finite number"),
])
def test_bmi_errors_go_to_stderr_with_nothing_on_stdout(tmp_path, capsys, argv, message):
    samples = write_seeded_samples(tmp_path / "samples.csv")
    assert cli.main(["bmi", samples, *argv]) == cli.EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("minimi bmi: error: ")
    assert re.search(message, captured.err), captured.err


def test_bmi_prints_no_number_when_there_is_no_estimate_or_a_flagged_one(tmp_path, capsys):
    sample = write_sample(tmp_path / "sample.csv", *dependent_pair(1))
    assert cli.main(["bmi", sample, "2", "1", "--bound", "nwj", "--lr", "0.05"]) == \
        cli.EXIT_NO_ESTIMATE
    captured = capsys.readouterr()
    assert captured.out == "" and "no estimate: training diverged" in captured.err
    # 100 steps: still rising, so flagged; a number only with --accept-flagged
    short = ["--steps", "100", "--eval-every", "10", "--hidden", "8"]
    kept = tmp_path / "kept" / "result.json"
    assert cli.main(["bmi", sample, "2", "1", *short, "--result", str(kept)]) == \
        cli.EXIT_FLAGGED
    captured = capsys.readouterr()
    assert captured.out == "" and "is flagged (" in captured.err
    assert "not settled: the validation estimate was still rising" in captured.err
    # the refused estimate is kept whole in --result, its number and why it was refused
    record = json.loads(kept.read_text())
    assert record["flagged"] and record["status"] == "ok" and math.isfinite(record["mi"])
    assert any("not settled" in r for r in record["flag_reasons"])
    assert cli.main(["bmi", sample, "2", "1", *short, "--accept-flagged"]) == cli.EXIT_OK
    assert float(capsys.readouterr().out) == record["mi"]   # the same flagged number


def test_bmi_result_must_name_a_file_before_any_training(tmp_path, capsys):
    sample = write_sample(tmp_path / "sample.csv", *dependent_pair(1))
    assert cli.main(["bmi", sample, "2", "1", "--result", str(tmp_path)]) == cli.EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == "" and f"--result {tmp_path}: is a folder" in captured.err


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
    sample = write_sample(outside / "sample.csv", *dependent_pair(1))
    estimated = subprocess.run([str(minimi), "bmi", sample, "2", "1", *FAST, "--accept-flagged"],
                               capture_output=True, text=True, cwd=outside)
    assert estimated.returncode == 0, estimated.stderr
    assert abs(float(estimated.stdout) - 0.5 * math.log(5)) < 0.3


RUN_UNDER_BMI = """
import json, sys
import bmi.utils
from bmi.benchmark import BENCHMARK_TASKS, run_estimator

root, steps = sys.argv[1], sys.argv[2]
task = BENCHMARK_TASKS["1v1-normal-0.75"]
x, y = task.sample(2000, seed=0)
bmi.utils.save_sample("sample.csv", x, y)
sys.path.insert(0, root)
from minimi.tools.bmi_adapter import BmiEstimator
in_python = run_estimator(BmiEstimator(steps=int(steps), subsamples=1, accept_flagged=True),
                          "minimi-python",
                          "sample.csv", task.id, seed=0)
failing = run_estimator(BmiEstimator(steps=30, eval_every=10, hidden=(4,)), "minimi-flagged",
                        "sample.csv", task.id, seed=0)
print(json.dumps({"truth": task.mutual_information,
                  "runs": [r.dict() for r in (in_python, failing)]}))
"""


@pytest.mark.slow
def test_minimi_runs_under_the_released_bmi(tmp_path):
    """bmi 0.1.3's own harness (run_estimator) on its own task, with minimi as a Python
    estimator object (as an external command: tests/bench/test_bench_bmi.py)."""
    from bench.truth import bmi_env
    try:
        python = bmi_env.BMI.ensure()
    except RuntimeError as error:
        pytest.skip(f"the released bmi cannot be installed here: {error}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([python, "-c", RUN_UNDER_BMI, ROOT, "1500"],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    in_python, failing = report["runs"]
    assert in_python["success"], in_python["additional_information"]
    assert abs(in_python["mi_estimate"] - report["truth"]) < 0.15, in_python
    assert in_python["additional_information"]["status"] == "ok"
    # a flagged estimate is a failed run in bmi's records, with minimi's reason
    assert not failing["success"] and "flagged" in failing["additional_information"]["error"]
