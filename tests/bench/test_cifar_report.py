"""Table 2 and Fig. 6 as the paper builds them, from synthetic run files and from
tiny CIFAR-format folders."""
import math
import os

import pytest
from cifar_files import nan_at_call, write_cifar10, write_cifar100
from page_check import file_problems, parsed
from PIL import Image

from bench import report
from bench.grid import commandline, planning
from bench.paper import cifar, cifar_report
from minimi.engine.files import write_json

LOG10 = math.log(10)


def run_file(out, experiment, name, mi, accuracy, seed=0, lam=None, target=None,
             diverged=False, dataset="cifar10", classes=10):
    params = {k: v for k, v in (("lam", lam), ("target", target)) if v is not None}
    setting = f"{dataset}_sub100_e1_b20"
    path = planning.run_path(out, experiment, setting, name, params, seed)
    write_json(path, {
        "experiment": experiment, "setting": setting, "loss": commandline.loss_label(name, params),
        "loss_name": name, "loss_params": params, "seed": seed,
        "config": {"dataset": dataset, "classes": classes, "true_mi": math.log(classes),
                   "epochs": 1, "batch_size": 20, "train_subset": 100},
        "status": "diverged" if diverged else "ok", "diverged_at_step": 7 if diverged else None,
        "final": {"mi_estimate": 0.0 if diverged else mi,
                  "test_accuracy": 0.1 if diverged else accuracy,
                  "last_finite_test_accuracy": accuracy},
        "curves": {}, "elapsed_s": 1.0, "versions": {}})


def row(summary, loss):
    return next(line for line in summary.splitlines() if line.startswith(f"| {loss} |"))


def test_lambda_is_chosen_from_the_grid_only(tmp_path):
    out = str(tmp_path)
    run_file(out, "clb", "mine", 2.0, 0.8)
    run_file(out, "clb", "remine", LOG10, 0.8, lam=1.0)      # exactly log K, but λ = 1
    run_file(out, "clb", "remine", 2.0, 0.8, lam=0.1)
    run_file(out, "clb", "remine", 1.5, 0.8, lam=0.001)
    summary = open(report.main(["--out", out, "clb"])[0]).read()
    cells = row(summary, "mine").split("|")
    assert cells[3].strip().startswith("2.000") and cells[6].strip() == "0.1"
    assert "remine:lam=1" in summary.split("Runs not in the table")[1]


def test_better_mi_means_closer_to_log_k(tmp_path):
    out = str(tmp_path)
    for seed, (a, b) in enumerate([(2.40, 2.25), (2.42, 2.27), (2.38, 2.26)]):
        run_file(out, "slb", "mine", a, 0.80, seed=seed)            # overestimates log 10
        run_file(out, "slb", "remine", b, 0.70, seed=seed, lam=0.01)
    summary = open(report.main(["--out", out, "slb"])[0]).read()
    cells = [c.strip() for c in row(summary, "mine").split("|")]
    # |2.40 − log 10| = 0.10 > |2.26 − log 10| = 0.04: the regularized one is closer
    assert not cells[2].startswith("**") and cells[3].startswith("**2.260")
    assert cells[4].startswith("**0.800") and cells[4].endswith("†")   # accuracy: higher
    run_file(out, "slb", "smile", 2.32, 0.8)
    run_file(out, "slb", "resmile", 2.20, 0.8, lam=0.01)
    summary = open(report.main(["--out", out, "slb"])[0]).read()
    assert row(summary, "smile").split("|")[2].strip().startswith("**2.320")


def test_diverged_seeds_count_as_the_paper_counts_them(tmp_path):
    out = str(tmp_path)
    run_file(out, "clb", "nwj", 2.1, 0.80, seed=0)
    run_file(out, "clb", "nwj", 2.1, 0.80, seed=1, diverged=True)
    run_file(out, "clb", "renwj", 2.0, 0.82, lam=0.01)
    run_file(out, "clb", "renwj", 1.8, 0.82, lam=0.01, target=0.0)
    summary = open(report.main(["--out", out, "clb"])[0]).read()
    cells = [c.strip() for c in row(summary, "nwj").split("|")]
    assert cells[2].startswith("1.050") and cells[2].endswith("‡1/2")    # (2.1 + 0) / 2
    assert cells[4].startswith("0.450") and cells[4].endswith("‡1/2")    # (0.8 + 0.1) / 2
    assert "nwj seed 1 at step 7 (last finite weights: accuracy 0.800)" in summary
    assert row(summary, "renwj:target=0").split("|")[3].strip().startswith("1.800")


def test_fig6_has_a_row_per_data_set_and_a_line_per_loss_spec(tmp_path, monkeypatch):
    out = str(tmp_path)
    for lam, mi in ((1.0, 1.0), (0.1, 1.5), (0.01, 2.0)):
        run_file(out, "lambda", "renwj", mi, 0.8, lam=lam)
        run_file(out, "lambda", "renwj", mi - 0.5, 0.7, lam=lam, target=0.0)
        run_file(out, "lambda", "remine", mi + 2, 0.5, lam=lam, dataset="cifar100", classes=100)
    lines = []
    real_line = cifar_report.Figure.panel

    def panel(fig, row, col, **kw):
        ax = real_line(fig, row, col, **kw)
        original = ax.line
        ax.line = lambda xs, ys, **k: (lines.append((row, col, k.get("label"), list(ys))),
                                       original(xs, ys, **k))
        return ax
    monkeypatch.setattr(cifar_report.Figure, "panel", panel)
    path = cifar_report.lambda_figure(out)
    assert Image.open(path).size == (2 * 480, 2 * 320 + 30)
    mi_lines = {(r, label): ys for r, c, label, ys in lines if c == 0}
    assert mi_lines[(0, "renwj")] == [2.0, 1.5, 1.0]             # λ = 0.01, 0.1, 1
    assert mi_lines[(0, "renwj:target=0")] == [1.5, 1.0, 0.5]     # its own line
    assert mi_lines[(1, "remine")] == [4.0, 3.5, 3.0]             # CIFAR-100: its own row


def test_report_on_cifar_format_folders_writes_table2_and_fig6(tmp_path):
    data = str(tmp_path / "data")
    write_cifar10(data)
    write_cifar100(data)
    out = str(tmp_path / "out")
    tiny = ["--data", data, "--out", out, "--epochs", "1", "--batch-size", "20", "--seed", "0",
            "--no-report"]
    cifar.main(tiny + ["--losses", "mine,remine", "--lam", "0.01"], experiment="slb")
    for dataset in ("cifar10", "cifar100"):
        cifar.main_lambda(tiny + ["--dataset", dataset, "--losses", "renwj,renwj:target=0",
                                  "--lam", "0.1,0.01"])
    report.main(["--out", out, "--html"])
    summary = open(os.path.join(out, "slb", "summary.md")).read()
    assert "| mine | " in summary and "paper MI" in summary and "2.300 → 2.298" in summary
    assert Image.open(os.path.join(out, "lambda", "lambda.png")).size == (960, 2 * 320 + 30)
    # the page: Table 2 with the paper's values beside ours, and Fig. 6
    assert file_problems(out) == []
    shown = parsed(os.path.join(out, "index.html"))
    assert [a["src"] for a in shown.images] == ["lambda/lambda.png"]
    table2 = next(rows for rows in shown.tables if rows[0][0] == "loss")
    assert table2[0][-2:] == ["paper MI", "paper accuracy"] and table2[1][-2] == "2.300 → 2.298"


def test_a_diverged_cifar_run_keeps_both_accuracies(tmp_path, monkeypatch):
    data = write_cifar10(str(tmp_path / "data"))
    nan_at_call(monkeypatch, cifar, 3)
    out = str(tmp_path / "out")
    cifar.main(["--data", data, "--out", out, "--losses", "nwj", "--epochs", "1",
                "--batch-size", "20", "--seed", "0", "--no-report"], experiment="clb")
    run = planning.read_run(planning.run_path(out, "clb", "cifar10_sub10000_e1_b20", "nwj", {}, 0))
    assert run["status"] == "diverged" and run["diverged_at_step"] == 3
    # NaN embeddings: every test image takes the first training image's label, 1 in 10
    assert run["final"]["mi_estimate"] == 0.0 and run["final"]["test_accuracy"] == \
        pytest.approx(0.1)
    assert 0.0 <= run["final"]["last_finite_test_accuracy"] <= 1.0
