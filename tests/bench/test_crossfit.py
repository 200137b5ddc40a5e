"""`python -m bench crossfit`: k-fold cross-fitting against today's split. The
cross-fitted estimate on a known truth, the table on hand-made runs, and the
arguments refused before any training."""
import math

import numpy as np
import pytest

import minimi
from bench.grid import commandline
from bench.truth import crossfit


def test_every_row_is_scored_once_and_the_estimate_finds_a_known_truth(monkeypatch):
    """A 1-D Gaussian of 0.5 nats on 1200 rows: three folds' critics score 400 rows each,
    all 1200 once, and their mean is near the truth."""
    r = np.random.default_rng(0)
    rho = math.sqrt(1 - math.exp(-1.0))
    x = r.standard_normal((1200, 1))
    y = rho * x + math.sqrt(1 - rho ** 2) * r.standard_normal((1200, 1))
    scored, fold_errors = [], []
    real = crossfit.recipe.Prepared.scores

    def spy(data, model, split, s, rng):
        scored.append(len(data.splits[split][0]))
        scores = real(data, model, split, s, rng)
        if split == "test":
            error = scores.bootstrap_stderr
            scores.bootstrap_stderr = lambda *a: fold_errors.append(error(*a)) or fold_errors[-1]
        return scores
    monkeypatch.setattr(crossfit.recipe.Prepared, "scores", spy)
    mi, se = crossfit.crossfit(x, y, minimi.Settings(steps=300, seed=1), 3)
    # each fold's 800 other rows: 160 validation, 640 training; only the folds are 400
    assert scored.count(400) == 3 and set(scored) == {160, 400}
    assert mi == pytest.approx(0.5, abs=0.12)
    # three times the rows scored: the pooled error is below every fold's own
    assert len(fold_errors) == 3 and 0 < se < min(fold_errors)


def test_the_table_gives_error_spread_and_time_against_the_split():
    runs = [{"task": "normal-1x1", "seed": s, "truth": 0.5, "split": [0.5 + e, 0.03, 2.0],
             "k=2": [0.5 + e / 2, 0.02, 4.0]} for s, e in enumerate([0.1, -0.1, 0.0])]
    lines = crossfit.table(runs, ["normal-1x1"], [2])
    assert lines[2] == "| normal-1x1 | 0.500 | split | +0.000 | 0.100 | 0.067 | 0.030 | 1.00× |"
    assert lines[3] == "| normal-1x1 | 0.500 | k=2 | +0.000 | 0.050 | 0.033 | 0.020 | 2.00× |"


@pytest.mark.parametrize("argv, message", [
    (["--tasks", "nope"], "--tasks: unknown nope"),
    (["--folds", "1,5"], "each at least 2"),
    (["--folds", "two"], "whole numbers"),
    (["--rows", "100"], "at least 500 rows")])
def test_bad_arguments_are_refused_before_any_training(argv, message):
    with pytest.raises(commandline.BadInput, match=message):
        crossfit.main(argv)
