"""CIFAR loading and validation, and the SLB/CLB benchmarks on tiny generated folders."""
import json
import math
import os
import pickle
import time

import numpy as np
import pytest
from cifar_files import (Killed, kill_after_checkpoint, nan_at_call, rewrite, write_cifar10,
                         write_cifar100)
from scipy import stats

from bench.grid import planning
from bench.paper import cifar, cifar_report
from minimi.data.cifar import CifarError, balanced_subset, batches, load_cifar, to_float


@pytest.fixture
def c10(tmp_path):
    return write_cifar10(str(tmp_path))


def test_loads_cifar10_from_the_folder_or_its_parent(c10):
    for path in (c10, os.path.dirname(c10)):
        data = load_cifar(path, "cifar10")
        assert data.train_images.shape == (100, 3, 32, 32) and data.train_images.dtype == np.uint8
        assert data.train_labels.dtype == np.int64 and data.test_labels.shape == (40,)
        assert data.num_classes == 10 and data.class_names[3] == "class3"


def test_data_folder_from_the_environment(c10, monkeypatch):
    monkeypatch.setenv("MINIMI_DATA", os.path.dirname(c10))
    assert len(load_cifar(None, "cifar10").test_labels) == 40


def test_cifar100_fine_and_coarse(tmp_path):
    write_cifar100(str(tmp_path))
    fine = load_cifar(str(tmp_path), "cifar100")
    coarse = load_cifar(str(tmp_path), "cifar100", labels="coarse")
    assert fine.num_classes == 100 and coarse.num_classes == 20
    np.testing.assert_array_equal(coarse.train_labels, fine.train_labels // 5)


def test_str_keys_are_accepted(c10):
    path = os.path.join(c10, "test_batch")
    with open(path, "rb") as f:
        obj = pickle.load(f, encoding="bytes")
    with open(path, "wb") as f:
        pickle.dump({k.decode(): v for k, v in obj.items()}, f, protocol=2)
    assert len(load_cifar(c10).test_labels) == 40


def _truncate(path):
    with open(path, "rb") as f:
        head = f.read(200)
    with open(path, "wb") as f:
        f.write(head)


@pytest.mark.parametrize("damage, message", [
    (lambda d: os.remove(os.path.join(d, "data_batch_3")),
     r"data_batch_3: missing\. Get cifar-10-python\.tar\.gz.*must contain data_batch_1"),
    (lambda d: _truncate(os.path.join(d, "data_batch_2")), "data_batch_2: truncated or corrupt"),
    (lambda d: rewrite(os.path.join(d, "test_batch"), data=np.zeros((40, 3000), np.uint8)),
     r"test_batch: 'data' must be uint8 of shape \(N, 3072\)"),
    (lambda d: rewrite(os.path.join(d, "test_batch"), data=np.zeros((40, 3072), np.float32)),
     "float32"),
    (lambda d: rewrite(os.path.join(d, "data_batch_1"), labels=[12] * 20),
     r"data_batch_1: labels must lie in \[0, 10\)"),
    (lambda d: rewrite(os.path.join(d, "data_batch_4"), labels=[1] * 19),
     "data_batch_4: 20 images but 19 labels"),
    (lambda d: rewrite(os.path.join(d, "data_batch_5"), labels=None), "data_batch_5: no 'labels'"),
    (lambda d: open(os.path.join(d, "batches.meta"), "wb").write(pickle.dumps([1, 2])),
     "batches.meta: expected a dict"),
])
def test_broken_folders_fail_naming_the_file(c10, damage, message):
    damage(c10)
    with pytest.raises(CifarError, match=message):
        load_cifar(c10, "cifar10")


def test_missing_folder_says_where_to_get_the_data(tmp_path):
    with pytest.raises(CifarError, match="cifar-100-python.tar.gz"):
        load_cifar(str(tmp_path), "cifar100")
    with pytest.raises(CifarError, match="MINIMI_DATA"):
        load_cifar("", "cifar10")


def test_batches_are_float32_channels_last_normalized():
    images = np.zeros((4, 3, 32, 32), np.uint8)
    images[:, 1] = 255
    x = to_float(images)
    assert x.shape == (4, 32, 32, 3) and x.dtype == np.float32
    assert x[0, 0, 0].tolist() == [-1.0, 1.0, -1.0]
    seen = np.concatenate([y for _, y in batches(images, np.arange(4), 2, np.random.default_rng(0))])
    assert sorted(seen.tolist()) == [0, 1, 2, 3]


def test_balanced_subset():
    labels = np.repeat(np.arange(5), 20)
    idx = balanced_subset(labels, 23, np.random.default_rng(0))
    counts = np.bincount(labels[idx], minlength=5)
    assert len(idx) == 23 and counts.max() - counts.min() <= 1


def test_nearest_neighbour_matches_a_loop():
    r = np.random.default_rng(0)
    train, test = r.standard_normal((57, 6)), r.standard_normal((23, 6))
    labels = r.integers(0, 4, 57)
    expected = [labels[max(range(57), key=lambda j: float(np.dot(t, train[j])))] for t in test]
    np.testing.assert_array_equal(cifar.nearest_neighbour_labels(test, train, labels, chunk=5),
                                  expected)


def test_confidence_half_width_by_hand():
    values = [0.81, 0.84, 0.79, 0.86, 0.83]
    n, mean = 5, sum(values) / 5
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    assert cifar_report.half_width(values) == pytest.approx(stats.t.ppf(0.975, 4) * sd / math.sqrt(n))
    assert cifar_report.half_width(values) == pytest.approx(2.7764451 * sd / math.sqrt(5), rel=1e-6)


TINY = ["--epochs", "2", "--batch-size", "20", "--seed", "0", "--no-report"]


@pytest.mark.parametrize("kind", ["slb", "clb"])  # not 'benchmark': pytest-benchmark owns it
def test_a_short_run_writes_a_valid_file(c10, tmp_path, kind):
    out = str(tmp_path / "out")
    cifar.main(["--data", c10, "--out", out, "--losses", "remine", "--lam", "0.1", *TINY],
               experiment=kind)
    path = os.path.join(out, kind, "cifar10_sub10000_e2_b20", "remine_lam=0.1", "seed0.json")
    with open(path) as f:
        run = json.load(f)
    assert run["status"] == "ok" and run["config"]["true_mi"] == pytest.approx(math.log(10))
    assert 0.0 <= run["final"]["mi_estimate"] and 0.0 <= run["final"]["test_accuracy"] <= 1.0
    assert run["final"]["test_mi_estimate"] is not None
    assert len(run["curves"]["epoch_mi"]) == 2 and run["final"]["steps_run"] == 10
    assert not [f for f in os.listdir(os.path.dirname(path)) if "ckpt" in f]
    cifar.report(out, kind)
    summary = open(os.path.join(out, kind, "summary.md")).read()
    assert "| mine | — |" in summary and "0.1 |" in summary


def test_resume_from_a_checkpoint_gives_the_uninterrupted_result(c10, tmp_path, monkeypatch):
    def run(out):
        cifar.main(["--data", c10, "--out", out, "--losses", "infonce", *TINY[:4], "--epochs", "3"])
        folder = os.path.join(out, "slb", "cifar10_sub10000_e3_b20", "infonce")
        with open(os.path.join(folder, "seed0.json")) as f:
            return json.load(f)

    whole = run(str(tmp_path / "whole"))
    real_save = kill_after_checkpoint(monkeypatch, cifar, 2)  # dies after epoch 2's checkpoint
    with pytest.raises(Killed):
        run(str(tmp_path / "cut"))
    monkeypatch.setattr(cifar, "save_checkpoint", real_save)
    resumed = run(str(tmp_path / "cut"))
    assert resumed["curves"] == whole["curves"]
    assert resumed["final"] == whole["final"]


def test_a_nan_mid_run_is_recorded_as_diverged(c10, tmp_path, monkeypatch):
    nan_at_call(monkeypatch, cifar, 7)
    out = str(tmp_path / "out")
    cifar.main(["--data", c10, "--out", out, "--losses", "nwj,mine", *TINY], experiment="slb")
    folder = os.path.join(out, "slb", "cifar10_sub10000_e2_b20")
    with open(os.path.join(folder, "nwj", "seed0.json")) as f:
        run = json.load(f)
    assert run["status"] == "diverged" and run["diverged_at_step"] == 7  # the 7th step, from 1
    assert run["final"]["mi_estimate"] == 0.0 and 0.0 <= run["final"]["test_accuracy"] <= 1.0
    assert os.path.exists(os.path.join(folder, "mine", "seed0.json"))  # the grid went on


def test_without_data_it_says_how_to_get_cifar(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIMI_DATA", raising=False)
    with pytest.raises(SystemExit, match="cifar-10-python.tar.gz") as exit_info:
        cifar.main(["--out", str(tmp_path)], experiment="slb")
    assert exit_info.value.code == 2


def test_lambda_ablation_runs_the_grid_and_draws_it(c10, tmp_path):
    out = str(tmp_path / "out")
    cifar.main_lambda(["--data", c10, "--out", out, "--losses", "remine,rejs", "--lam", "0.1,0.01",
                       *TINY[:4], "--epochs", "1"])
    folder = os.path.join(out, "lambda", "cifar10_sub10000_e1_b20")
    assert sorted(os.listdir(folder)) == ["rejs_lam=0.01", "rejs_lam=0.1", "remine_lam=0.01",
                                          "remine_lam=0.1"]
    assert not os.path.exists(os.path.join(out, "clb"))  # never mixed into Table 2's runs
    from PIL import Image
    assert Image.open(os.path.join(out, "lambda", "lambda.png")).size == (960, 350)


def test_a_resumed_runs_elapsed_time_counts_every_attempt(c10, tmp_path, monkeypatch):
    out = str(tmp_path / "out")
    argv = ["--data", c10, "--out", out, "--losses", "infonce", *TINY[:4], "--epochs", "3"]
    real_batches = cifar.batches

    def slow_batches(*args, **kwargs):          # the first attempt takes over a second
        time.sleep(0.5)
        return real_batches(*args, **kwargs)
    monkeypatch.setattr(cifar, "batches", slow_batches)
    real_save = kill_after_checkpoint(monkeypatch, cifar, 2)
    with pytest.raises(Killed):
        cifar.main(argv)
    monkeypatch.setattr(cifar, "save_checkpoint", real_save)
    monkeypatch.setattr(cifar, "batches", real_batches)
    _, state = planning.read_checkpoint(os.path.join(out, "slb", "cifar10_sub10000_e3_b20",
                                                     "infonce", "seed0.ckpt.npz"))
    assert state["elapsed_s"] >= 1.0
    cifar.main(argv)
    with open(os.path.join(out, "slb", "cifar10_sub10000_e3_b20", "infonce", "seed0.json")) as f:
        assert json.load(f)["elapsed_s"] >= state["elapsed_s"]


@pytest.mark.parametrize("last_epoch, expected", [(0.5, 0.5), (-1.0, 0.0)])
def test_table_mi_is_the_last_epochs_mean_clipped_at_zero(c10, tmp_path, monkeypatch,
                                                          last_epoch, expected):
    """Per-step values +3 in epoch 1, then `last_epoch` in epoch 2 (5 steps an epoch): the
    run's MI is the last epoch's mean, negatives as 0 — not the mean over all epochs."""
    import minimi as mm
    from minimi import bounds
    real_make, steps = cifar.bounds.make, []

    def make(name, **params):
        loss = real_make(name, **params)

        def planted(scores, pairing=None, labels=None):
            result = loss(scores, pairing, labels)
            steps.append(1)
            value = 3.0 if len(steps) <= 5 else last_epoch
            return bounds.Bound(mm.Tensor(np.float32(value)), mm.Tensor(np.float32(0.0)),
                                objective=result.objective)
        planted.params = loss.params
        return planted
    monkeypatch.setattr(cifar.bounds, "make", make)
    out = str(tmp_path / "out")
    cifar.main(["--data", c10, "--out", out, "--losses", "mine", *TINY])
    with open(os.path.join(out, "slb", "cifar10_sub10000_e2_b20", "mine", "seed0.json")) as f:
        run = json.load(f)
    assert run["curves"]["epoch_mi"] == [3.0, last_epoch]
    assert run["final"]["mi_estimate"] == expected


@pytest.mark.parametrize("benchmark, dataset, setting", [
    ("slb", "cifar10", "cifar10_full_e40_b10"), ("slb", "cifar100", "cifar100_full_e100_b100"),
    ("clb", "cifar10", "cifar10_full_e100_b10"), ("clb", "cifar100", "cifar100_full_e150_b100"),
])
def test_the_paper_profile_runs_the_papers_settings(tmp_path, capsys, benchmark, dataset,
                                                     setting):
    """docs/method.md §3: epochs and batch sizes per benchmark and data set, the whole
    training set, λ in {0.1, 0.01, 0.001}, 5 seeds: 135 runs with renwj:target=0."""
    data = write_cifar10(str(tmp_path)) if dataset == "cifar10" else \
        write_cifar100(str(tmp_path), train=300)
    main = cifar.main if benchmark == "slb" else cifar.main_clb
    main(["--data", data, "--dataset", dataset, "--out", str(tmp_path / "out"),
          "--profile", "paper", "--list"])
    listing = capsys.readouterr().out
    assert listing.startswith(f"{benchmark}: 135 runs")
    assert f"/{setting}/" in listing
    for lam in ("0.1", "0.01", "0.001"):
        assert f"remine:lam={lam} seed4" in listing
