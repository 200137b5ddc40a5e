"""bench load and bench scale: their data of known MI, their verdicts and tables, and the
busy processes that end with their block. (The timings themselves are benchmarks, run by
hand: docs/performance.md.)"""
import json
import math
import os

import numpy as np
import pytest
from scipy import integrate, stats

from bench.grid.commandline import BadInput
from bench.speed import load, scale


def test_the_label_through_noise_has_the_mi_of_an_independent_quadrature():
    for classes, sigma in ((10, 1.0), (2, 0.5), (4, 3.0)):
        def mixture(x):
            return np.mean([stats.norm.pdf(x, c, sigma) for c in range(classes)])

        def integrand(x):
            p = mixture(x)
            return -p * math.log(p) if p > 0 else 0.0
        h, _ = integrate.quad(integrand, -10 * sigma, classes - 1 + 10 * sigma,
                              points=list(range(classes)), limit=400)
        truth = h - stats.norm(0, sigma).entropy()
        assert scale.label_mi(classes, sigma) == pytest.approx(truth, abs=1e-6)
    assert scale.label_mi(2, 1e-3) == pytest.approx(math.log(2), abs=1e-6)  # the label shows


def test_the_cases_data_carry_their_truth():
    rng = np.random.default_rng(0)
    x, y, truth = scale.gaussian(200_000, 5, rng)
    rho = np.mean([np.corrcoef(x[:, j], y[:, j])[0, 1] for j in range(5)])
    assert -2.5 * math.log(1 - rho ** 2) == pytest.approx(truth, abs=0.01)
    x, y, truth = scale.image(2000, rng, pixels=30, classes=10)
    assert x.shape == (2000, 30) and y.shape == (2000, 10)
    assert np.all(y.sum(axis=1) == 1)
    label = y.argmax(axis=1)
    assert abs(np.mean(x[:, 0] - label)) < 0.1 and abs(np.mean(x[:, 1])) < 0.1
    assert truth == scale.label_mi(10)


def _run(**changes):
    run = {"case": "rows_1e4", "rows": 10_000, "columns": [5, 5], "truth": 1.0, "mi": 0.97,
           "error": -0.03, "ci": [0.9, 1.05], "held": True, "flagged": False, "status": "ok",
           "steps_run": 700, "seconds": 10.0, "peak_mb": 150.0, "worker_peak_mb": 120.0,
           "data_mb": 0.8, "second_opinion_share": 0.25, "summary": "I(X;Y) ≈ 0.97 nats",
           "second_opinions": {"ksg": {"seconds": 0.0, "applies": False},
                               "copula": {"seconds": 2.5, "applies": True}}}
    run.update(changes)
    return run


def test_the_scale_table_says_what_held_and_what_the_second_opinions_cost():
    table = scale.summary([_run(), _run(case="cols_500", held=False, flagged=True, mi=None,
                                        error=None)])
    rows = table.splitlines()
    assert len(rows) == 4 and all(r.count("|") == rows[0].count("|") for r in rows)
    assert "| rows_1e4 | 10,000 | 5+5 | 10.0 | 700 | 150 (120) | 1 | 0.970 | 1.000 | -0.030 | " \
           "yes | copula 2.5 (25%) |" in table
    assert "| NO (flagged) |" in table and "| — | 1.000 | — |" in table


def test_an_unknown_scale_case_is_refused_before_any_work(tmp_path):
    with pytest.raises(BadInput, match=r"--cases: unknown case\(s\) \['rows_1e9'\]"):
        scale.main(["--cases", "rows_1e4,rows_1e9", "--out", str(tmp_path)])
    assert not (tmp_path / "scale").exists()


def _best(minimi, fixed=None, beside=None):
    return {"minimi": minimi, "fixed": fixed or {}, "beside": beside or {}}


def test_the_load_table_holds_each_figure_to_two_and_a_half_times_idle():
    idle = _best({"a": 10.0, "b": 10.0}, beside={"a": 20.0})
    loaded = _best({"a": 25.0, "b": 25.1}, beside={"a": 50.0})
    rows = load.table(idle, loaded, 2).splitlines()
    assert rows[2].startswith("| a | 10.00 | 25.00 | 2.50× | met |")
    assert rows[2].endswith("| 20.00 | 50.00 | 0.50× |")
    assert rows[3].startswith("| b | 10.00 | 25.10 | 2.51× | MISSED |")
    assert rows[3].endswith("| — | — | — |")


def test_the_best_of_the_rounds_is_each_workloads_smallest():
    phases = [{"minimi": {"a": 3.0, "b": 1.0}}, {"minimi": {"a": 2.0, "b": 4.0}}, {}]
    assert load.best(phases, "minimi") == {"a": 2.0, "b": 1.0}


def _children():
    """Live (not zombie) child processes of this one, from /proc."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                out.add(int(entry))
    return out


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_the_busy_processes_spin_in_their_block_and_end_with_it(monkeypatch):
    monkeypatch.setattr(load, "SETTLE", 0.0)
    before = _children()
    with load.busy(2):
        spinning = _children() - before
        assert len(spinning) == 2
    assert not (_children() & spinning)


def test_load_refuses_bad_arguments_before_timing_anything():
    with pytest.raises(BadInput, match="--only: unknown workload"):
        load.main(["--only", "separable_b64,nope"])
    with pytest.raises(BadInput, match="--busy must be at least 1, got 0"):
        load.main(["--busy", "0"])


def test_report_rebuilds_the_table_and_figure_from_the_case_files_alone(tmp_path):
    folder = tmp_path / "scale"
    folder.mkdir()
    for name, rows in (("rows_1e4", 10_000), ("rows_1e5", 100_000), ("cols_50", 10_000)):
        (folder / f"{name}.json").write_text(json.dumps(_run(case=name, rows=rows,
                                                             commit="a" * 40)))
    scale.main(["--report", "--out", str(tmp_path)])
    text = (folder / "summary.md").read_text()
    assert text.count("\n| rows_1e") == 2 and "\n| cols_50 |" in text
    assert "commit aaaaaaaaaaaa" in text and "![time and memory](scale.png)" in text
    from PIL import Image
    with Image.open(folder / "scale.png") as image:
        assert image.size[0] > 400
