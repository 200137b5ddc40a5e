"""The benchmark grids: arguments and result folders checked before any training,
resume only with the same settings, corrupt files named, --task shares, --list."""
import json
import os
import re

import numpy as np
import pytest
from cifar_files import Killed, kill_after_checkpoint, write_cifar10
from grids import CIFAR_TINY, ckpt, tiny

from bench import __main__ as bench_main
from bench.grid import commandline
from bench.paper import cifar, cstar, onehot


def files_under(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, names in os.walk(root) for f in names)


# ---- arguments, before any training ---------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "--seeds: must be positive"),
    (["--seeds", "-2"], "--seeds: must be positive"),
    (["--seed", "-1"], "--seed: must be 0 or more"),
    (["--lr", "nan"], "--lr: must be positive and finite"),
    (["--lr", "inf"], "--lr: must be positive and finite"),
    (["--steps", "0"], "--steps: must be positive"),
    (["--batch-size", "8,0"], "--batch-size: expected positive integers"),
    (["--task", "3/3"], "--task: expected K/N with 0 <= K < N"),
    (["--task", "a/b"], "--task: expected K/N"),
])
def test_bad_arguments_exit_2_before_any_run(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        onehot.main(["--out", str(tmp_path / "out"), "--steps", "5", *argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("losses, message", [
    ("", "--losses: no loss"),
    (" , ", "--losses: no loss"),
    ("mine,remine:lam=-1", r"remine: lam \(λ\) must be at least 0"),
    ("mine,remine:lam=inf", r"lam \(λ\) must be a finite number"),
    ("renwj:target=nan", r"target \(C\) must be a finite number"),
    ("smile:tau=0", r"tau \(τ, the clip\) must be greater than 0"),
])
def test_bad_losses_stop_the_grid_before_the_first_run(tmp_path, losses, message):
    with pytest.raises(commandline.BadInput, match=message) as exit_info:
        tiny(tmp_path, losses=losses)
    assert exit_info.value.code == 2
    assert files_under(tmp_path) == []      # 'mine' before the bad loss did not run either


def test_out_that_is_a_file_is_refused_before_training(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    with pytest.raises(commandline.BadInput, match="--out .*results: is a file, not a folder"):
        tiny(tmp_path / "results")


def test_python_m_bench_prints_the_error_and_exits_2(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    code = bench_main.main(["onehot", "--out", str(tmp_path / "f"), "--steps", "5"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("python -m bench onehot: error: --out ")


# ---- resume only with the same settings -----------------------------------------------------

def test_a_finished_run_is_reused_only_with_the_same_settings(tmp_path, capsys):
    tiny(tmp_path)
    path = tmp_path / "onehot/batch8/mine/seed0.json"
    before = path.read_text()
    tiny(tmp_path)                                       # same settings: skipped
    assert path.read_text() == before and "skip" in capsys.readouterr().err
    with pytest.raises(commandline.BadInput) as error:        # other settings: refused, named
        tiny(tmp_path, "--lr", "0.5")
    message = str(error.value)
    assert f"{path}: made with other settings: lr=0.1 there, 0.5 now" in message
    assert "nwj/seed0.json" in message and path.read_text() == before
    with pytest.raises(commandline.BadInput, match="steps=5 there, 50 now"):
        onehot.main(["--out", str(tmp_path), "--seed", "0", "--steps", "50", "--batch-size", "8",
                     "--losses", "mine", "--no-report"])
    tiny(tmp_path, "--lr", "0.5", "--force")             # --force redoes it
    assert json.loads(path.read_text())["config"]["lr"] == 0.5


def test_the_profile_name_alone_is_not_a_different_setting(tmp_path):
    tiny(tmp_path)
    path = tmp_path / "onehot/batch8/mine/seed0.json"
    before = path.read_text()
    tiny(tmp_path, "--profile", "paper")                 # same steps, seeds, lr: reused
    assert path.read_text() == before


@pytest.mark.parametrize("damage", ["{\"truncated", "[]", "{}"])
def test_a_corrupt_run_file_is_named_and_force_recovers(tmp_path, damage):
    tiny(tmp_path)
    path = tmp_path / "onehot/batch8/nwj/seed0.json"
    path.write_text(damage)
    with pytest.raises(commandline.BadInput, match=f"{path}: (unreadable|not a complete) run file"):
        tiny(tmp_path)
    tiny(tmp_path, "--force")
    assert json.loads(path.read_text())["status"] in ("ok", "diverged")


# ---- --task K/N and --list ---------------------------------------------------------------------

def test_task_shares_partition_the_grid(tmp_path, capsys):
    argv = ["--out", str(tmp_path), "--steps", "3", "--seeds", "3", "--batch-size", "8,4",
            "--losses", "mine,nwj,remine", "--no-report"]
    onehot.main(argv + ["--list"])
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert listed == [str(i) for i in range(18)] and files_under(tmp_path) == []
    for k in range(4):
        onehot.main(argv + ["--task", f"{k}/4"])
    done = files_under(tmp_path / "onehot")
    assert len(done) == 18 == len(set(done))          # every run once, by some task
    onehot.main(argv + ["--task", "1/4", "--list"])
    out = capsys.readouterr().out
    assert "task 1/4 has 5" in out and out.count(" done ") == 5


# ---- CIFAR checkpoints -----------------------------------------------------------------------

def cut_after_first_epoch(monkeypatch):
    return kill_after_checkpoint(monkeypatch, cifar, 1)


@pytest.fixture
def c10(tmp_path):
    return write_cifar10(str(tmp_path / "data"))


def test_a_checkpoint_from_other_settings_is_refused_and_force_discards_it(c10, tmp_path,
                                                                           monkeypatch):
    out = str(tmp_path / "out")
    real = cut_after_first_epoch(monkeypatch)
    with pytest.raises(Killed):
        cifar.main(["--data", c10, "--out", out, *CIFAR_TINY])
    monkeypatch.setattr(cifar, "save_checkpoint", real)
    with pytest.raises(commandline.BadInput, match=r"seed0.ckpt.npz: checkpoint made with other "
                       r"settings: lr=0.001 there, 0.002 now"):
        cifar.main(["--data", c10, "--out", out, *CIFAR_TINY, "--lr", "0.002"])
    cifar.main(["--data", c10, "--out", out, *CIFAR_TINY, "--lr", "0.002", "--force"])
    with open(os.path.join(os.path.dirname(ckpt(out)), "seed0.json")) as f:
        run = json.load(f)
    assert run["config"]["lr"] == 0.002 and run["final"]["epochs_run"] == 3
    assert not os.path.exists(ckpt(out))


def test_a_corrupt_checkpoint_is_named_and_force_recovers(c10, tmp_path, monkeypatch):
    out = str(tmp_path / "out")
    real = cut_after_first_epoch(monkeypatch)
    with pytest.raises(Killed):
        cifar.main(["--data", c10, "--out", out, *CIFAR_TINY])
    monkeypatch.setattr(cifar, "save_checkpoint", real)
    with open(ckpt(out), "r+b") as f:
        f.truncate(100)
    with pytest.raises(commandline.BadInput, match=f"{ckpt(out)}: unreadable checkpoint"):
        cifar.main(["--data", c10, "--out", out, *CIFAR_TINY])
    cifar.main(["--data", c10, "--out", out, *CIFAR_TINY, "--force"])
    assert not os.path.exists(ckpt(out))


def test_a_kill_while_writing_a_checkpoint_keeps_the_previous_one(c10, tmp_path, monkeypatch):
    def run(out):
        cifar.main(["--data", c10, "--out", out, *CIFAR_TINY])
        with open(os.path.join(os.path.dirname(ckpt(out)), "seed0.json")) as f:
            return json.load(f)

    whole = run(str(tmp_path / "whole"))
    out = str(tmp_path / "cut")
    real_savez, calls = np.savez, []

    def savez_dies_in_the_second_write(f, **arrays):
        calls.append(1)
        if len(calls) == 2:              # epoch 2's checkpoint: half written, then killed
            f.write(b"PK\x03\x04 half a zip")
            raise Killed
        real_savez(f, **arrays)
    monkeypatch.setattr(cifar.np, "savez", savez_dies_in_the_second_write)
    with pytest.raises(Killed):
        run(out)
    monkeypatch.setattr(cifar.np, "savez", real_savez)
    folder = os.path.dirname(ckpt(out))
    assert sorted(os.listdir(folder)) == ["seed0.ckpt.npz"]   # epoch 1's, whole; no temp file
    resumed = run(out)
    assert resumed["curves"] == whole["curves"] and resumed["final"] == whole["final"]


@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "500"], "--batch-size 500 is larger than the 100 training images"),
    (["--train-subset", "30", "--batch-size", "40"], "larger than the 30 training images"),
    (["--data-is-broken"], "data_batch_3: missing"),
])
def test_cifar_sizes_and_data_are_checked_before_anything_is_written(c10, tmp_path, argv,
                                                                     message):
    if argv == ["--data-is-broken"]:
        os.remove(os.path.join(c10, "data_batch_3"))
        argv = []
    with pytest.raises(commandline.BadInput, match=message):
        cifar.main(["--data", c10, "--out", str(tmp_path / "out"), "--losses", "mine", *argv])
    assert not os.path.exists(tmp_path / "out")            # not even an empty --out


def test_cifar_negative_subset_is_an_argument_error(c10, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cifar.main(["--data", c10, "--out", str(tmp_path), "--train-subset", "-5"])
    assert exit_info.value.code == 2 and "--train-subset: must be 0 or more" in \
        capsys.readouterr().err


def test_lambda_has_its_own_help_and_reports_on_its_out(c10, tmp_path, capsys):
    with pytest.raises(SystemExit):
        cifar.main_lambda(["--help"])
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: python -m bench lambda")
    assert "renwj:target=0" in help_text and "1,0.1,0.01,0.001" in help_text
    out = tmp_path / "elsewhere"
    cifar.main_lambda(["--data", c10, f"--out={out}", "--losses", "remine", "--lam", "0.1",
                       "--epochs", "1", "--batch-size", "20", "--seed", "0"])
    assert (out / "lambda" / "lambda.png").exists() and not os.path.exists("results/lambda")


# ---- reports and --list say what the files hold ------------------------------------------------

def test_a_report_refuses_to_average_runs_made_with_other_settings(tmp_path):
    """The reported case: seeds 0-1 at 200 steps, then seed 0 again at 100 with --force;
    the one-hot folder name holds the batch size alone."""
    onehot.main(["--out", str(tmp_path), "--steps", "20", "--seeds", "2", "--batch-size", "8",
                 "--losses", "mine", "--no-report"])
    with pytest.raises(commandline.BadInput, match=r"seed1.json: made with other settings than "
                       r".*seed0.json \(steps=20 here, 10 there\)"):
        onehot.main(["--out", str(tmp_path), "--steps", "10", "--seed", "0", "--batch-size", "8",
                     "--losses", "mine", "--force"])
    assert not (tmp_path / "onehot" / "summary.md").exists()


def test_a_report_refuses_an_unreadable_or_moved_run_file(tmp_path):
    tiny(tmp_path, losses="mine")
    onehot.report(str(tmp_path))                  # whole: reports
    moved = tmp_path / "onehot/batch8/mine/seed3.json"
    os.rename(tmp_path / "onehot/batch8/mine/seed0.json", moved)
    with pytest.raises(commandline.BadInput, match=r"seed3.json: the file says it is .*seed0.json"):
        onehot.report(str(tmp_path))
    moved.write_text("{")
    with pytest.raises(commandline.BadInput, match="seed3.json: unreadable run file"):
        onehot.report(str(tmp_path))


def test_list_says_what_each_run_file_holds(c10, tmp_path, monkeypatch, capsys):
    argv = ["--out", str(tmp_path), "--steps", "5", "--batch-size", "8", "--losses", "mine",
            "--no-report"]
    onehot.main(argv + ["--seeds", "4"])
    folder = tmp_path / "onehot/batch8/mine"
    (folder / "seed1.json").write_text('{"truncated":')
    onehot.main(argv[:2] + ["--steps", "7", "--batch-size", "8", "--losses", "mine",
                            "--no-report", "--seed", "2", "--force"])
    os.remove(folder / "seed3.json")
    capsys.readouterr()
    onehot.main(argv + ["--seeds", "4", "--list"])
    rows = [re.match(r"\s*\d+\s+batch8 mine (seed\d)\s+(.+?)\s+(\S+)$", line)
            for line in capsys.readouterr().out.splitlines()[1:]]
    status = {row.group(1): row.group(2) for row in rows}
    assert status == {"seed0": "done", "seed1": "unreadable", "seed2": "other settings",
                      "seed3": "to do"}
    out = str(tmp_path / "cifar")
    cut_after_first_epoch(monkeypatch)
    with pytest.raises(Killed):
        cifar.main(["--data", c10, "--out", out, *CIFAR_TINY])
    cifar.main(["--data", c10, "--out", out, *CIFAR_TINY, "--list"])
    assert "resumes after epoch 1" in capsys.readouterr().out


def one_hot_summary(out, common, *grids):
    """summary.md after running each grid (common options + its own)."""
    for grid in grids:
        onehot.main(["--out", str(out), "--no-report", *common, *grid])
    onehot.report(str(out))
    return (out / "onehot" / "summary.md").read_text()


def test_a_summary_names_the_runs_a_row_lacks(tmp_path):
    """A cancelled array task: seed 1 of nwj never ran while mine has seeds 0 and 1."""
    summary = one_hot_summary(tmp_path, ["--steps", "5", "--batch-size", "8"],
                              ["--seeds", "2", "--losses", "mine"],
                              ["--seed", "0", "--losses", "nwj"])
    assert "| 8 | nwj | 1 (0) [1 of 2 seeds: seed 1 missing] |" in summary
    assert "| 8 | mine | 2 (0) |" in summary
    assert "**Incomplete rows** (a seed that other losses of the setting have): batch8 nwj: " \
           "seed 1" in summary


def test_the_small_batch_findings_speak_of_batch_32_alone(tmp_path):
    summary = one_hot_summary(tmp_path, ["--steps", "5", "--losses", "mine"],
                              ["--seeds", "2", "--batch-size", "32"],
                              ["--seed", "0", "--batch-size", "100"])
    assert "- Batch 32, mine: all 2 runs stayed finite" in summary
    assert "- Batch 100" not in summary


def test_option_values_may_start_with_a_minus(tmp_path, capsys):
    """argparse takes '-1/2' for an option; the grids attach it to its option, so the
    error is about the value, and negative targets are accepted."""
    with pytest.raises(SystemExit):
        onehot.main(["--out", str(tmp_path), "--task", "-1/2", "--list"])
    assert "expected K/N with 0 <= K < N" in capsys.readouterr().err
    cstar.main(["--out", str(tmp_path), "--targets", "-5", "--seed", "0", "--list"])
    assert "target=-5" in capsys.readouterr().out
