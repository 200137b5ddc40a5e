"""The instability studies through their real code paths, at tiny sizes."""
import json
import math
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from bench import report
from bench.grid import commandline, records
from bench.paper import cstar, gaussian, onehot
from minimi.engine.files import write_json

RUN_KEYS = set(records.RUN_KEYS)


def run_files(root):
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files
                  if f.endswith(".json"))


def load(path):
    with open(path) as f:
        return json.load(f)


def tiny_onehot(out, *extra):
    onehot.main(["--out", str(out), "--seed", "0", "--steps", "40", "--batch-size", "8",
                 "--losses", "mine,renwj:target=0", *extra])


def test_onehot_writes_one_complete_file_per_run(tmp_path):
    tiny_onehot(tmp_path)
    files = run_files(tmp_path / "onehot")
    assert [os.path.relpath(f, tmp_path) for f in files] == [
        "onehot/batch8/mine/seed0.json", "onehot/batch8/renwj_target=0/seed0.json"]
    run = load(files[1])
    assert set(run) == RUN_KEYS
    assert run["experiment"] == "onehot" and run["loss"] == "renwj:target=0"
    assert run["loss_params"] == {"target": 0.0} and run["config"]["params"] == {"target": 0.0}
    assert run["status"] == "ok" and run["diverged_at_step"] is None
    for key in ("value", "objective", "first", "second", "on_mean", "off_min", "off_max"):
        assert len(run["curves"][key]) == 40, key
    assert run["versions"]["numpy"] == np.__version__
    assert math.isfinite(run["final"]["value_last500"])
    assert not [f for f in os.listdir(os.path.dirname(files[1])) if ".tmp" in f]
    assert (tmp_path / "onehot" / "summary.md").exists()


def test_existing_runs_are_skipped_and_force_reruns_them(tmp_path, capsys):
    tiny_onehot(tmp_path)
    path = tmp_path / "onehot/batch8/mine/seed0.json"
    first = path.read_text()
    os.utime(path, (1, 1))
    tiny_onehot(tmp_path)
    assert path.read_text() == first and os.stat(path).st_mtime == 1
    assert "skip" in capsys.readouterr().err
    tiny_onehot(tmp_path, "--force")
    assert os.stat(path).st_mtime > 1


def test_an_interrupted_grid_resumes_where_it_stopped(tmp_path):
    tiny_onehot(tmp_path)
    done = tmp_path / "onehot/batch8/mine/seed0.json"
    missing = tmp_path / "onehot/batch8/renwj_target=0/seed0.json"
    os.remove(missing)
    os.utime(done, (1, 1))
    tiny_onehot(tmp_path)
    assert missing.exists() and os.stat(done).st_mtime == 1


def strict_load(path):
    """json.load that refuses NaN/Infinity, as strict JSON parsers do."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    with open(path) as f:
        return json.load(f, parse_constant=refuse)


def test_json_is_strict_and_written_atomically(tmp_path):
    path = tmp_path / "a" / "seed0.json"
    write_json(str(path), {"ok": 1})
    write_json(str(path), {"ok": float("nan"), "curve": [1.0, float("inf")],
                           "n": np.float32(2.5)})
    assert strict_load(path) == {"ok": None, "curve": [1.0, None], "n": 2.5}
    with pytest.raises(TypeError):  # not JSON at all: nothing half-written replaces the file
        write_json(str(path), {"ok": object()})
    assert strict_load(path)["curve"] == [1.0, None]
    assert os.listdir(path.parent) == ["seed0.json"]  # no temporary file left behind


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
def test_divergence_is_recorded_and_the_grid_goes_on(tmp_path):
    onehot.main(["--out", str(tmp_path), "--seed", "0", "--steps", "200", "--batch-size", "8",
                 "--lr", "1000", "--losses", "nwj,remine"])
    nwj = load(tmp_path / "onehot/batch8/nwj/seed0.json")
    assert nwj["status"] == "diverged"
    step = nwj["diverged_at_step"]
    assert isinstance(step, int) and 1 <= step < 200   # steps count from 1
    assert len(nwj["curves"]["value"]) == step
    assert nwj["curves"]["value"][-1] is None or nwj["curves"]["objective"][-1] is None
    assert (tmp_path / "onehot/batch8/remine/seed0.json").exists()  # the next run still ran
    summary = (tmp_path / "onehot/summary.md").read_text()
    assert f"went NaN/inf at step {step}" in summary or f"| {step} |" in summary


def test_gaussian_staircase_tiny(tmp_path):
    gaussian.main(["--out", str(tmp_path), "--seed", "1", "--steps-per-level", "6",
                   "--levels", "1,3", "--hidden", "8,8", "--losses", "mine,reinfonce,mine_ema"])
    files = run_files(tmp_path / "gaussian")
    assert len(files) == 3
    run = load(files[0])
    assert set(run) == RUN_KEYS and run["seed"] == 1
    assert run["curves"]["true_mi"] == [1.0] * 6 + [3.0] * 6
    assert set(run["final"]["levels"]) == {"1", "3"}
    level = run["final"]["levels"]["3"]
    assert level["mse"] == pytest.approx(level["bias"] ** 2 + level["variance"])
    assert "| reinfonce |" in (tmp_path / "gaussian/summary.md").read_text()


def test_gaussian_separable_critic_option(tmp_path):
    gaussian.main(["--out", str(tmp_path), "--seed", "0", "--steps-per-level", "4",
                   "--levels", "2", "--hidden", "8", "--critic", "separable", "--losses", "js"])
    (path,) = run_files(tmp_path / "gaussian")
    assert "separable_h8_b64_4steps" in path and load(path)["config"]["critic"] == "separable"


def test_report_rebuilds_summaries_and_figures_from_the_files(tmp_path):
    tiny_onehot(tmp_path, "--no-report")
    assert not (tmp_path / "onehot/summary.md").exists()
    report.main(["--out", str(tmp_path)])
    assert "| 8 | mine |" in (tmp_path / "onehot/summary.md").read_text()
    image = Image.open(tmp_path / "onehot/batch8.png")
    image.verify()
    assert image.size == (2 * 460, 2 * 260 + 30)  # 2 panels per loss, 2 losses, a title


def test_cstar_figure_is_a_png_of_the_expected_size(tmp_path):
    cstar.main(["--out", str(tmp_path), "--seed", "0", "--steps", "20",
                "--targets", "-2,2"])  # a value that starts with '-', as users type it
    image = Image.open(tmp_path / "cstar/cstar.png")
    assert image.format == "PNG" and image.size == (2 * 330, 280 + 30)


def test_unknown_losses_and_parameters_list_the_valid_ones(tmp_path):
    with pytest.raises(SystemExit, match="(?s)unknown bound 'mien'.*valid losses.*remine"):
        tiny_onehot(tmp_path, "--losses", "mien")
    with pytest.raises(SystemExit, match="unknown parameter.*tau.*valid: lam=1.0, target=0.0"):
        tiny_onehot(tmp_path, "--losses", "remine:tau=3")


def test_loss_lists_with_several_parameters():
    assert commandline.parse_losses("mine,renwj:target=0,lam=0.5,nwj") == [
        ("mine", {}), ("renwj", {"target": 0.0, "lam": 0.5}), ("nwj", {})]


@pytest.mark.slow
def test_remine_pins_its_second_term_and_estimates_log16(tmp_path):
    """The one real statistical check: batch 100, 1500 steps, λ = 0.1, C = 2."""
    cstar.main(["--out", str(tmp_path), "--seed", "0", "--targets", "2",
                "--steps", "1500", "--no-report"])
    run = load(tmp_path / "cstar/batch100/remine_lam=0.1_target=2/seed0.json")
    values, second = run["curves"]["value"][-200:], run["curves"]["second"][-200:]
    assert abs(np.mean(values) - math.log(16)) < 0.15
    assert abs(np.mean(second) - 2.0) < 0.3
    # at this optimum lme(S_M) = C with off-support scores far below: 1/16 of the marginal
    # pairs are on the support, so T(e_i, e_i) = C + log 16 there
    final = run["final"]
    assert final["on_support_final"] == pytest.approx(2.0 + math.log(16), abs=0.3)
    assert final["off_support_final"] < final["on_support_final"] - 3


@pytest.mark.parametrize("mi", [2.0, 6.0, 10.0])
def test_the_staircase_data_hold_the_mi_they_are_logged_with(mi):
    """The MI of the Gaussian staircase's samples, from the data alone: the 20 coordinate
    pairs are independent bivariate normals, each with MI −½·log(1 − r²)."""
    x, y = gaussian.sample(np.random.default_rng(0), mi, 200_000)
    r = np.array([np.corrcoef(x[:, k], y[:, k])[0, 1] for k in range(gaussian.DIM)])
    cross = np.corrcoef(x[:, 0], y[:, 1])[0, 1]                   # other pairs: independent
    assert abs(cross) < 0.01
    assert -0.5 * np.log(1 - r ** 2).sum() == pytest.approx(mi, rel=0.02)


def test_the_paper_profiles_run_the_papers_settings(tmp_path, capsys):
    """docs/method.md §3, read through each grid's --list: one-hot 3000 steps at batch
    100 and 32 (C*: 1500 at 100), 5 seeds; the staircase 40→256→256→1 at batch 64, 4000
    steps a level, 5 seeds."""
    onehot.main(["--out", str(tmp_path), "--profile", "paper", "--losses", "mine", "--list"])
    listing = capsys.readouterr().out
    assert listing.startswith("onehot: 10 runs") and "batch32 mine seed4" in listing
    cstar.main(["--out", str(tmp_path), "--profile", "paper", "--list"])
    assert capsys.readouterr().out.startswith("cstar: 25 runs")
    gaussian.main(["--out", str(tmp_path), "--profile", "paper", "--losses", "mine", "--list"])
    listing = capsys.readouterr().out
    assert "concat_h256x256_b64_" in listing and "mine seed4" in listing
    assert "4000" in listing.split("concat_h256x256_b64_")[1].split()[0]
    assert listing.startswith("gaussian: 5 runs")
    assert onehot.PROFILES["onehot"]["paper"] == (5, 3000)          # (seeds, steps)
    assert onehot.PROFILES["cstar"]["paper"] == (5, 1500)


def test_the_staircase_levels_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        gaussian.main(["--levels", "2,0,4", "--list"])
    assert "--levels" in capsys.readouterr().err


@pytest.mark.parametrize("lam", ["-1", "nan"])
def test_onehot_lam_must_be_finite_and_not_negative(lam, capsys):
    with pytest.raises(SystemExit):
        onehot.main(["--lam", lam, "--list"])
    assert "--lam: must be a finite number" in capsys.readouterr().err


def test_onehot_logs_the_support_outputs_min_mean_max(tmp_path):
    onehot.main(["--out", str(tmp_path), "--steps", "30", "--seed", "0", "--batch-size", "16",
                 "--losses", "remine", "--no-report"])
    with open(tmp_path / "onehot/batch16/remine/seed0.json") as f:
        curves = json.load(f)["curves"]
    for part in ("on", "off"):
        low, mean, high = (np.array(curves[f"{part}_{k}"]) for k in ("min", "mean", "max"))
        assert (low <= mean + 1e-6).all() and (mean <= high + 1e-6).all()
        assert (high - low).max() > 0


def test_a_run_records_the_commit_of_the_code_that_made_it(tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    assert records.source_commit.__wrapped__(str(tmp_path)) is None  # not a checkout
    subprocess.run(git + ["init", "-q"], check=True)
    (tmp_path / "code.py").write_text("x = 1\n")
    subprocess.run(git + ["add", "code.py"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "one"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    assert records.source_commit.__wrapped__(str(tmp_path)) == head
    (tmp_path / "new.py").write_text("")  # untracked: not the code that ran
    assert records.source_commit.__wrapped__(str(tmp_path)) == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert records.source_commit.__wrapped__(str(tmp_path)) == head + "+changes"
    # a folder inside someone else's checkout (an installed copy) names no commit
    (tmp_path / "inner").mkdir()
    assert records.source_commit.__wrapped__(str(tmp_path / "inner")) is None
