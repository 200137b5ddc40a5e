"""minimi.estimate and `python -m minimi estimate`: accuracy, validation, the CLI."""
import json
import math
import os
import re
import time

import numpy as np
import pytest
from PIL import Image
from scipy.stats import norm

import minimi
from minimi import DataWarning, bounds
from minimi.engine.files import dumps
from minimi.estimator import heldout, inputs, interval, recipe, training
from minimi.tools import cli


def gaussian_pair(mi, dim, n, seed):
    """Correlated Gaussians with I(X; Y) = mi nats: y = ρx + sqrt(1−ρ²)ε per coordinate."""
    r = np.random.default_rng(seed)
    rho = math.sqrt(1 - math.exp(-2 * mi / dim))
    x = r.standard_normal((n, dim))
    return x, rho * x + math.sqrt(1 - rho ** 2) * r.standard_normal((n, dim))


@pytest.mark.slow
@pytest.mark.parametrize("mi", [1.0, 3.0])
def test_default_settings_recover_known_mi(mi):
    """At 1 nat with the defaults, the interval too; at 3 nats the number alone."""
    x, y = gaussian_pair(mi, 5, 5000, seed=0)
    result = minimi.estimate(x, y, subsamples=2 if mi == 1.0 else 1)
    assert abs(result.mi - mi) < 0.15, str(result)
    assert result.status == "ok" and 0 < result.stderr < 0.15
    if mi == 1.0:
        assert result.ci[0] <= mi <= result.ci[1] and not result.flagged, str(result)
        assert result.ci[1] - result.ci[0] < 0.5, str(result)   # the bench measures widths
        # the upper end is granted: the estimate has stopped rising with the rows
        assert result.trend <= interval.RISE_Z * result.trend_stderr, str(result)
        assert result.one_sided is None
    assert result.n_test == 1000 and result.marginals == "rank"
    assert result.pairs == "all, 999 per row" and result.scoring == "infonce"


@pytest.mark.slow
def test_independent_samples_give_zero():
    r = np.random.default_rng(1)
    result = minimi.estimate(r.standard_normal((5000, 5)), r.standard_normal((5000, 5)))
    assert result.status == "ok" and abs(result.mi) < 0.05, str(result)
    # ≈ 0 is an answer, not a flag: the interval holds 0 and nothing is flagged
    assert result.ci[0] <= 0 <= result.ci[1] and not result.flagged, str(result)


# Cheap settings: a small critic learns a 5-D Gaussian's 1 nat in well under a second.
# No subsamples: these tests are about training, not the interval (test_interval.py).
SMALL = dict(steps=800, hidden=(32, 32), embed_dim=16, eval_every=50, lr=2e-3, subsamples=1)


@pytest.mark.slow
@pytest.mark.parametrize("bound", list(bounds.BOUNDS))
def test_every_bound_estimates_a_known_mi(bound):
    """An easy case (5-D Gaussian, 1 nat, 2000 rows) that every bound trains on: a
    status other than ok here is a bug (a bound descended instead of ascended, say)."""
    x, y = gaussian_pair(1.0, 5, 2000, seed=7)
    result = minimi.estimate(x, y, bound=bound, **SMALL)
    assert result.status == "ok" and result.best_step > 0, str(result)
    assert abs(result.mi - 1.0) < 0.25, str(result)


@pytest.mark.slow
def test_infonce_critic_is_scored_row_wise():
    """The case that used to report 0.01: an InfoNCE critic scored by DV over all pairs."""
    r = np.random.default_rng(0)
    x = r.standard_normal((400, 2))
    y = x + 0.5 * r.standard_normal((400, 2))
    truth = 2 * 0.5 * math.log(1 + 1 / 0.25)                  # 1.609 nats
    for bound in ("infonce", "reinfonce"):
        result = minimi.estimate(x, y, bound=bound, steps=500)
        assert result.status == "ok" and abs(result.mi - truth) < 0.3, str(result)
        assert result.scoring == "infonce" and result.best_step > 0


def test_a_critic_that_never_beats_the_untrained_one_is_not_reported(monkeypatch):
    """Score the InfoNCE critic the wrong way (DV): every trained checkpoint falls
    below the untrained one, and the result must say so instead of giving a number."""
    monkeypatch.setattr(bounds, "held_out_rule", lambda name: "dv")
    r = np.random.default_rng(0)
    x = r.standard_normal((400, 2))
    result = minimi.estimate(x, x + 0.5 * r.standard_normal((400, 2)), bound="infonce",
                             steps=500)
    assert result.status == "untrained" and not result.settled
    assert result.mi is None and result.stderr is None and result.rejected_mi is not None
    assert str(result).startswith("I(X;Y) could not be estimated: training made the critic "
                                  "worse")


def test_a_critic_that_learns_only_noise_gives_an_estimate_near_zero():
    """Independent data: training fits the training rows' noise, so every trained
    checkpoint scores below the untrained critic on validation. That is the answer
    (≈ 0, an interval around 0), not a failed training."""
    r = np.random.default_rng(0)
    result = minimi.estimate(r.standard_normal((600, 3)), r.standard_normal((600, 3)),
                             steps=400, eval_every=100, subsamples=1)
    untrained = result.validation[0][1]
    assert all(v < untrained for _, v in result.validation[1:])      # the case in question
    assert result.status == "ok" and result.train_mi > result.validation_mi, str(result)
    assert abs(result.mi) < 0.1 and result.ci[0] <= 0 <= result.ci[1], str(result)
    # checked only every 200 steps the critic has overfit beyond the validation noise at
    # its first checkpoint: still a number (the training rows say training works), and
    # flagged, as it is below 0 beyond its noise
    r = np.random.default_rng(1)
    result = minimi.estimate(r.standard_normal((600, 3)), r.standard_normal((600, 3)),
                             steps=400, eval_every=200, subsamples=1)
    untrained = result.validation[0][1]
    assert untrained - result.validation_mi > 1.96 * result.validation_stderr, str(result)
    assert result.status == "ok" and result.train_mi > untrained, str(result)
    assert any("below 0" in f for f in result.flags), str(result)
    # the copula's estimate (≈ 0 on independent columns) lies above: the upper end covers it
    assert result.gaussian_mi > result.mi and result.ci[1] > result.gaussian_mi, str(result)


def _run(**numbers):
    """A training.Run that only its numbers matter for (worse_than_untrained reads them)."""
    fields = dict(model=None, loss=None, rule="infonce", best_step=1, steps_run=1,
                  since_best=0, diverged_at=None, validation=[], validation_scores=None,
                  curve=[])
    return training.Run(**{**fields, **numbers})


def test_untrained_means_worse_beyond_noise_on_validation_and_no_better_on_training_rows():
    """The verdict on hand-made scores: a shortfall within the validation noise (a
    bootstrap standard error computed here with a loop) is kept as an answer."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.1, 1.0, 400), rng.normal(0.0, 0.3, 400)
    scores = heldout.RowScores(a, b, 399, "all")

    def value(idx):
        return np.mean(a[idx] - np.logaddexp(a[idx], b[idx] + math.log(399)) + math.log(400))
    se = np.std([value(rng.integers(0, 400, 400)) for _ in range(2000)], ddof=1)
    best = value(np.arange(400))
    settings = minimi.Settings()

    def worse(shortfall_in_se, fit, untrained_fit=0.0):
        run = _run(best_value=best, untrained_value=best + shortfall_in_se * se,
                   untrained_fit=untrained_fit, validation_scores=scores)
        return recipe.worse_than_untrained(run, fit, settings, np.random.default_rng(1))

    assert not worse(1.5, fit=-0.1) and worse(2.5, fit=-0.1)   # 1.96 standard errors
    assert not worse(2.5, fit=0.1) and not worse(-1.0, fit=-0.1)
    assert worse(2.5, fit=float("nan")) and worse(2.5, fit=0.1, untrained_fit=None)
    run = _run(best_value=None, untrained_value=0.0, untrained_fit=0.0)
    assert recipe.worse_than_untrained(run, 0.1, settings, rng)    # no finite checkpoint


def test_a_gains_standard_error_is_paired_over_the_same_rows():
    """Under the DV rule with b = 0 the value is mean(a), so the gain's standard error
    is that of a mean of per-row differences: std(d)/√n, not the rows' own spread."""
    rng = np.random.default_rng(0)
    shared = rng.normal(0.0, 2.0, 400)              # each row's level, in both checkpoints
    old = heldout.RowScores(shared, np.zeros(400), 400, "all")
    new = heldout.RowScores(shared + rng.normal(0.05, 0.1, 400), np.zeros(400), 400, "all")
    d = new.a - old.a
    se = heldout.gain_stderr(new, old, "dv", np.random.default_rng(1), reps=2000)
    assert se == pytest.approx(d.std(ddof=1) / math.sqrt(400), rel=0.1)


def _scripted_validation(monkeypatch, level):
    """Validation scores (DV rule, b = 0: value = mean of a) at level(scoring calls so
    far), with per-row noise of sd 0.1 around it (paired standard error of a check's
    gain ≈ 0.01)."""
    rng, calls = np.random.default_rng(0), []

    def row_scores(critic, x, y, max_pairs, _rng):
        calls.append(1)
        e = rng.normal(0.0, 0.1, len(x))
        return heldout.RowScores(level(len(calls)) + e - e.mean(), np.zeros(len(x)),
                                 len(x), "all")
    monkeypatch.setattr(heldout, "row_scores", row_scores)


@pytest.mark.parametrize("gain, checks", [(0.0, 1 + 3), (0.001, 1 + 3), (0.1, 20)])
def test_only_a_gain_beyond_noise_restarts_the_patience_count(monkeypatch, gain, checks):
    """Better checkpoints by 0.001 nats (a tenth of their noise) are kept, but training
    stops 3 checks (the patience) after the first, as it does when nothing improves;
    gains of 0.1 keep it going."""
    _scripted_validation(monkeypatch, lambda calls: 0.5 + gain * calls)     # rising by gain
    x, y = gaussian_pair(0.5, 2, 1000, seed=0)
    result = minimi.estimate(x, y, bound="nwj", steps=200, eval_every=10, patience=3,
                             hidden=(8,), subsamples=1)
    assert result.steps_run == 10 * checks
    # the last check was the best, or the first when none was better
    assert result.best_step == (10 if gain == 0 else result.steps_run)


@pytest.mark.parametrize("peak, settled", [(15, True), (17, False)])
def test_a_run_whose_steps_run_out_is_settled_if_it_peaked_in_its_first_80_percent(
        monkeypatch, peak, settled):
    """Validation rises (0.1 a check, far beyond noise) to its peak at check `peak`,
    then falls, and the patience outlasts the 200 steps (scoring calls 1 and 2 are the
    untrained critic's; check c is call c + 2). Best at step 150 of 200 is settled,
    at 170 (past 80%) it is not, and the result says so."""
    _scripted_validation(monkeypatch, lambda calls: 0.0 if calls < 3 else
                         0.1 * min(calls - 2, peak) - 0.01 * max(calls - 2 - peak, 0))
    x, y = gaussian_pair(0.5, 2, 1000, seed=0)
    result = minimi.estimate(x, y, bound="nwj", steps=200, eval_every=10, patience=100,
                             hidden=(8,), subsamples=1)
    assert (result.steps_run, result.best_step) == (200, 10 * peak)
    assert result.settled == settled
    assert any("not settled" in f for f in result.flag_reasons) == (not settled)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # exp overflows: the divergence itself
def test_a_diverged_run_is_not_reported():
    x, y = gaussian_pair(1.5, 2, 500, seed=1)
    result = minimi.estimate(x, y, bound="nwj", lr=0.05, steps=300, eval_every=20)
    assert result.status == "diverged" and isinstance(result.diverged_at_step, int)
    assert result.mi is None and not result.settled
    assert f"diverged at step {result.diverged_at_step}" in str(result)
    assert len(result.curve) == result.diverged_at_step and result.curve[-1] is None


def test_training_stops_once_validation_stops_improving():
    x, y = gaussian_pair(0.5, 2, 1500, seed=2)
    result = minimi.estimate(x, y, steps=5000, eval_every=20, patience=3, hidden=(16,),
                             subsamples=1)
    steps = [s for s, _ in result.validation]
    best = max(result.validation[1:], key=lambda sv: sv[1])
    assert result.steps_run < 5000 and result.settled and result.best_step == best[0]
    # stopped within 3 checks (the patience) of the best; sooner when that best's
    # gain was within noise (test_only_a_gain_beyond_noise_restarts_the_patience_count)
    assert steps[-1] == result.steps_run and 0 <= result.steps_run - best[0] <= 3 * 20


def test_standard_marginals_centre_and_scale_the_training_columns():
    r = np.random.default_rng(8)
    train = r.normal([2.0, -1.0], [3.0, 0.5], (500, 2))
    mapped = inputs.Marginals("standard", train)(train)
    np.testing.assert_allclose(mapped.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(mapped.std(axis=0), 1.0, rtol=1e-12)
    constant = np.c_[train, np.full(500, 7.0)]          # no spread to divide by: zeros
    np.testing.assert_array_equal(inputs.Marginals("standard", constant)(constant)[:, 2], 0.0)


def test_fifty_rows_are_the_least_an_estimate_takes():
    x, y = gaussian_pair(0.5, 2, 50, seed=1)
    assert inputs.check_pair(x, y)[0].shape == (50, 2)
    with pytest.raises(ValueError, match=r"49 rows are too few to estimate MI \(at least 50\)"):
        inputs.check_pair(x[:49], y[:49])


def test_rank_marginals_make_the_estimate_invariant_to_monotone_maps():
    x, y = gaussian_pair(1.0, 2, 600, seed=2)
    settings = dict(steps=60, eval_every=20, hidden=(16,), seed=3)
    a = minimi.estimate(x, y, **settings)
    b = minimi.estimate(np.exp(x), y ** 3, **settings)
    assert a.mi == pytest.approx(b.mi, abs=1e-6)
    assert a.ci == pytest.approx(b.ci, abs=1e-6) and len(a.subsample_mi) == 2


def test_result_fields_and_summary():
    x, y = gaussian_pair(0.5, 1, 300, seed=4)
    result = minimi.estimate(x[:, 0], y[:, 0], steps=40, eval_every=20, hidden=(8,))
    assert len(result.curve) == 40 and [s for s, _ in result.validation] == [0, 20, 40]
    assert result.best_step in (20, 40) and isinstance(result.settled, bool)
    d = result.as_dict(bits=True)
    assert d["unit"] == "bits" and d["mi"] == pytest.approx(result.mi / math.log(2))
    assert str(result).startswith(_head(result)) and "rank-Gaussian marginals" in str(result)
    json.loads(dumps(d), parse_constant=_refuse)


def _head(result):
    """How the summary starts: the estimate and its interval, or only its low end when
    the interval has no upper end."""
    if result.ci[1] == math.inf:
        return (f"I(X;Y) is at least {result.ci[0]:.2f} nats (95% interval "
                f"{result.ci[0]:.2f} to ∞, estimate {result.mi:.2f}; no upper end: ")
    return f"I(X;Y) ≈ {result.mi:.2f} nats, 95% interval {result.ci[0]:.2f} to "


def _refuse(token):
    raise ValueError(f"non-standard JSON token {token}")


@pytest.mark.parametrize("dims, given, used", [
    ((1, 1), {}, ("concat", [64, 32], 64, 5e-3)),
    ((2, 1), {}, ("separable", [128, 128], 256, 2e-3)),
    ((1, 2), {}, ("separable", [128, 128], 256, 2e-3)),
    ((1, 1), {"critic": "separable"}, ("separable", [128, 128], 256, 2e-3)),
    ((2, 2), {"critic": "concat"}, ("concat", [64, 32], 64, 5e-3)),
    ((1, 1), {"hidden": (8,), "batch_size": 32, "lr": 1e-3}, ("concat", [8], 32, 1e-3)),
])
def test_auto_picks_the_concat_critic_for_one_column_each(dims, given, used):
    """critic='auto': an MLP on [x; y] for one column each (it can draw a band such as
    y − x ∈ ±ε, which g(x)·h(y) cannot), else g(x)·h(y); each critic's own defaults
    where hidden and batch_size are not given, and the result says what ran."""
    r = np.random.default_rng(3)
    x, y = r.standard_normal((120, dims[0])), r.standard_normal((120, dims[1]))
    result = minimi.estimate(x, y, steps=2, subsamples=1, **given)
    assert (result.critic, result.hidden, result.batch_size, result.lr) == used
    assert f"{used[0]} critic" in result.summary()
    assert json.loads(dumps(result.as_dict()))["hidden"] == used[1]


@pytest.mark.slow  # two trainings of ~4 s
def test_auto_on_one_column_each_draws_a_band_that_g_times_h_misses():
    """Y = X + U(−0.1, 0.1), X ~ U(0, 1): I = 0.1 − log 0.2 = 1.709 nats, a density
    ratio that is 0 off the band |y − x| < 0.1. The default (critic='auto': an MLP on
    [x; y] here) comes closer than g(x)·h(y) on the same rows and seed."""
    r = np.random.default_rng(0)
    x = r.random((2000, 1))
    y = x + r.uniform(-0.1, 0.1, (2000, 1))
    auto = minimi.estimate(x, y, subsamples=1, steps=1500)
    separable = minimi.estimate(x, y, subsamples=1, steps=1500, critic="separable")
    assert auto.critic == "concat" and auto.mi > separable.mi + 0.05
    assert abs(auto.mi - (0.1 - math.log(0.2))) < 0.15


@pytest.mark.parametrize("x, y, message", [
    (np.zeros((100, 2)), np.zeros((90, 2)), "100 rows and y has 90"),
    (np.zeros((20, 2)), np.zeros((20, 2)), "too few"),
    (np.full((100, 2), np.nan), np.zeros((100, 2)), "x: 200 NaN or infinite value"),
    (np.zeros((100, 2)), np.array([[0.0, np.inf]] * 100),
     "y: 100 NaN or infinite.*row 1, column 2"),
    (np.zeros((100, 2, 2)), np.zeros((100, 2)), r"shape \(100, 2, 2\)"),
    (np.zeros((100, 2), complex), np.zeros((100, 2)), "x: complex values"),
    (np.zeros((100, 0)), np.zeros((100, 2)), "x: has no columns"),
    (np.array([["a", "b"]] * 100), np.zeros((100, 2)), "x: not numeric"),
])
def test_bad_arrays_are_clear_errors(x, y, message):
    with pytest.raises(ValueError, match=message):
        minimi.estimate(x, y)


@pytest.mark.parametrize("kwargs, message", [
    ({"bound": "mien"}, "unknown bound 'mien'"),
    ({"critic": "bilinear"}, "unknown critic 'bilinear'"),
    ({"marginals": "ranks"}, "unknown marginals 'ranks'"),
    ({"activation": "gelu"}, "unknown activation 'gelu'"),
    ({"bound": "remine", "tau": 3.0}, "tau is a setting of the bounds smile, .*not of remine:"),
    ({"test_fraction": 1.5}, "test_fraction must be less than 1"),
    ({"validation_fraction": float("nan")}, "validation_fraction must be a finite number"),
    ({"steps": 2.5}, "steps must be an integer, got 2.5"),
    ({"steps": 0}, "steps must be at least 1"),
    ({"embed_dim": 0}, "embed_dim must be at least 1"),
    ({"max_pairs": 0}, "max_pairs must be at least 1"),
    ({"batch_size": 1}, "batch_size must be at least 2"),
    ({"patience": 0}, "patience must be at least 1"),
    ({"hidden": (16, 0)}, r"hidden\[1\] must be at least 1"),
    ({"critic": "concat", "hidden": ()}, "concat critic needs at least one hidden layer"),
    ({"lr": float("nan")}, "lr must be a finite number"),
    ({"lr": float("inf")}, "lr must be a finite number"),
    ({"lr": 0.0}, "lr must be greater than 0"),
    ({"bound": "remine", "lam": float("inf")}, r"remine: lam \(λ\) must be a finite number"),
    ({"bound": "renwj", "lam": -1.0}, r"lam \(λ\) must be at least 0"),
    ({"bound": "remine", "target": float("nan")}, r"target \(C\) must be a finite number"),
    ({"lam": 0.1}, r"lam is a setting of the bounds remine, .*not of infonce \(the default\)"),
    ({"bound": "smile", "tau": float("inf")}, "tau.*must be a finite number"),
    ({"progress": "yes"}, "progress must be a callable"),
    ({"device": "tpu"}, "unknown device 'tpu'"),
    ({"bound": ["mine"]}, r"bound must be a name, one of mine, .*; got \['mine'\]"),
    ({"critic": 1}, "critic must be a name, one of auto, separable, concat; got 1"),
    ({"ci_level": 0.9999999999999999}, "ci_level must be far enough below 1 that its "
                                       "interval is finite in floating point"),
    ({"ci_level": 1.0}, "ci_level must be less than 1"),
])
def test_bad_settings_are_clear_errors_before_any_training(kwargs, message, monkeypatch):
    def no_training(*args):
        raise AssertionError("a critic was trained before the settings were checked")
    monkeypatch.setattr(recipe, "train", no_training)
    x, y = gaussian_pair(1.0, 2, 100, seed=0)
    with pytest.raises(ValueError, match=message):
        minimi.estimate(x, y, **kwargs)


@pytest.mark.parametrize("make_data, marginals, message", [
    (lambda x, y: (np.c_[x, np.full(len(x), 3.0)], y), "rank", "x column 3 is constant"),
    (lambda x, y: (x, x.copy()), "rank", "x column 1 and y column 1 determine each other"),
    (lambda x, y: (x, np.c_[y[:, :1], -np.exp(x[:, 1])]), "rank",
     "x column 2 and y column 2 determine each other"),
    (lambda x, y: (x * 1e-200, y), "standard", "x column 1: its spread .* under- or overflows"),
    (lambda x, y: (x, y * 1e200), "none", "y column 1: its spread .* under- or overflows"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_degenerate_data_is_flagged_in_the_result_and_as_a_warning(make_data, marginals,
                                                                   message):
    x, y = make_data(*gaussian_pair(0.5, 2, 200, seed=3))
    with pytest.warns(DataWarning) as warned:
        result = minimi.estimate(x, y, steps=20, eval_every=10, hidden=(8,), marginals=marginals)
    assert any(re.search(message, str(w.message)) for w in warned)
    assert any(re.search(message, note) for note in result.warnings)
    if result.status == "ok":
        assert result.flagged and re.search(message, str(result))


def test_a_degenerate_data_warning_points_at_the_callers_line():
    x, y = gaussian_pair(0.5, 2, 200, seed=3)
    with pytest.warns(DataWarning) as warned:
        minimi.estimate(np.c_[x, np.full(len(x), 3.0)], y, steps=20, eval_every=10,
                        hidden=(8,))
    assert {w.filename for w in warned if w.category is DataWarning} == {__file__}


@pytest.mark.parametrize("n, test_fraction, validation_fraction, message", [
    (40, 0.2, 0.25, None),              # 8 test rows, 8 validation rows: the least
    (35, 0.2, 0.25, "test_fraction=0.2 leaves 7 of the 35 rows"),
    (40, 0.2, 0.2, "validation_fraction=0.2 leaves 6 of the 40 rows"),
    (18, 8 / 18, 0.8, None),            # 2 training rows
    (17, 8 / 17, 8 / 9, "17 rows leave no training split"),
])
def test_each_split_needs_8_rows_and_training_2(n, test_fraction, validation_fraction,
                                                message):
    if message is None:
        n_test, n_val = recipe.split_sizes(n, test_fraction, validation_fraction)
        assert min(n_test, n_val) >= 8 and n - n_test - n_val >= 2
    else:
        with pytest.raises(ValueError, match=message):
            recipe.split_sizes(n, test_fraction, validation_fraction)


def test_the_reported_time_and_rate_are_the_calls_own():
    """elapsed_s lies within the wall time of the call, and a progress line's rate is
    at least the steps it counts over that whole time."""
    x, y = gaussian_pair(0.5, 2, 600, seed=4)
    lines = []
    start = time.perf_counter()
    result = minimi.estimate(x, y, steps=200, eval_every=50, hidden=(8,), progress=lines.append)
    wall = time.perf_counter() - start
    assert 0 < result.elapsed_s <= wall + 0.01
    for line in lines:
        step, rate = re.search(r"step (\d+)/\d+: .* (\d+) steps/s", line).groups()
        assert int(rate) >= int(step) / wall - 1, line


def test_without_parts_the_interval_is_the_bootstraps():
    """subsamples=1: mi ± z·stderr at the level asked, the flag saying so."""
    x, y = gaussian_pair(1.0, 3, 600, seed=6)
    result = minimi.estimate(x, y, ci_level=0.9, **dict(SMALL, steps=200))
    half = norm.ppf(0.95) * result.stderr
    assert result.ci == pytest.approx([result.mi - half, result.mi + half], abs=1e-9)
    assert any("subsamples=1" in f for f in result.flag_reasons)


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


def test_cli_prints_one_line_and_the_exit_status_says_what_it_is(files, capsys):
    # 30 steps: the validation estimate is still rising, so the line carries a flag
    assert cli.main(["estimate", files["x.npy"], files["y.csv"], *FAST]) == cli.EXIT_FLAGGED
    out = capsys.readouterr().out.strip()
    assert re.match(r"I\(X;Y\) (≈ [\d.-]+ nats, 95% interval |is at least [\d.-]+ nats \(95% "
                    r"interval [\d.-]+ to ∞, estimate )", out) and out.count("\n") == 0
    assert "(infonce, separable critic, best of 30 steps" in out
    assert "[FLAGGED" in out and "not settled" in out
    # stopped early, nothing to flag: exit 0
    settled = ["--steps", "2000", "--eval-every", "20", "--patience", "4", "--hidden", "32",
               "--quiet"]
    assert cli.main(["estimate", files["x.npy"], files["y.csv"], *settled]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "[" not in out and "of 2000 steps" not in out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cli_exit_3_when_nothing_could_be_estimated(files, capsys):
    code = cli.main(["estimate", files["x.npy"], files["y.csv"], "--bound", "nwj", "--lr",
                     "0.05", "--quiet"])
    out = capsys.readouterr().out
    assert code == cli.EXIT_NO_ESTIMATE and out.startswith("I(X;Y) could not be estimated: ")
    assert "≈" not in out


def test_cli_exit_4_and_a_warning_line_for_degenerate_data(files, tmp_path, capsys):
    x = np.load(files["x.npy"])
    np.save(tmp_path / "xc.npy", np.c_[x, np.ones(len(x))])
    settled = ["--steps", "2000", "--eval-every", "20", "--patience", "4", "--hidden", "32",
               "--quiet"]
    assert cli.main(["estimate", str(tmp_path / "xc.npy"), files["y.csv"], *settled]) == \
        cli.EXIT_FLAGGED
    captured = capsys.readouterr()
    assert "minimi estimate: warning: x column 4 is constant" in captured.err
    assert "[FLAGGED" in captured.out and "warning: x column 4 is constant" in captured.out


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
    assert nats["unit"] == "nats" and nats["bound"] == "infonce" and nats["status"] == "ok"
    cli.main(["estimate", files["x.npy"], files["y.csv"], *FAST, "--json", "--bits"])
    bits = json.loads(capsys.readouterr().out)
    assert bits["unit"] == "bits" and bits["mi"] == pytest.approx(nats["mi"] / math.log(2))


def test_cli_plot(files, tmp_path, capsys):
    png = tmp_path / "curve.png"
    assert cli.main(["estimate", files["x.npy"], files["y.csv"], *FAST, "--plot", str(png)]) \
        == cli.EXIT_FLAGGED
    assert Image.open(png).size == (720, 450)


def test_a_figure_that_cannot_be_written_loses_nothing(files, tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    png = tmp_path / "a_file" / "curve.png"           # a folder that is a file
    code = cli.main(["estimate", files["x.npy"], files["y.csv"], *FAST, "--json",
                     "--plot", str(png)])
    captured = capsys.readouterr()
    assert code == cli.EXIT_FIGURE
    assert json.loads(captured.out, parse_constant=_refuse)["status"] == "ok"  # printed first
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"minimi estimate: error: could not write the "
                                               f"figure {png}")
    assert sorted(os.listdir(tmp_path)) == ["a_file", "x.npy", "y.csv", "y_noheader.csv"]


def test_a_failed_figure_leaves_no_temporary_file(tmp_path, monkeypatch):
    from minimi.tools.plot import Figure

    def broken_save(image_self, f, format=None):
        f.write(b"half a PNG")
        raise OSError("disk full")
    fig = Figure(rows=1, cols=1)
    fig.panel(0, 0).line([0, 1], [0, 1])
    monkeypatch.setattr("PIL.Image.Image.save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        fig.save(str(tmp_path / "f.png"))
    assert os.listdir(tmp_path) == []


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
        ([nan, nan], "nan.csv: row 61, column 1: 'nan' is not a finite number"),
        ([_write(tmp_path, "h.csv", "a,b\n" + "1,2\n" * 60 + "1,-inf\n"), nan],
         r"h.csv: row 62, column 2: '-inf' is not a finite number"),
        ([files["x.npy"], _write(tmp_path, "empty.csv", "\n")], "empty.csv: the file is empty"),
        ([files["x.npy"], _write(tmp_path, "head.csv", "a,b\n")], "head.csv: a header row but no"),
        ([files["x.npy"], files["y.csv"], "--bound", "mien"], "unknown bound 'mien'"),
        ([files["x.npy"], files["y.csv"], "--lr", "nan"], "lr must be a finite number"),
        ([files["x.npy"], files["y.csv"], "--bound", "remine", "--lam", "inf"],
         r"lam \(λ\) must be a finite"),
        ([files["x.npy"], files["y.csv"], "--bound", "remine", "--target", "nan"],
         r"target \(C\) must be a finite"),
        ([files["x.npy"], files["y.csv"], "--bound", "smile", "--tau", "inf"], "tau"),
        ([files["x.npy"], files["y.csv"], "--embed-dim", "0"], "embed_dim must be at least 1"),
        ([files["x.npy"], files["y.csv"], "--max-pairs", "0"], "max_pairs must be at least 1"),
        ([files["x.npy"], files["y.csv"], "--plot", "curve.jpg"], "the figure is a PNG"),
    ]
    for argv, message in cases:
        assert cli.main(["estimate", *argv, "--quiet"]) == 2, message
        err = capsys.readouterr().err
        assert err.startswith("minimi estimate: error: ")
        assert re.search(message, err), (message, err)


def test_cli_rejects_a_non_integer_step_count(files, capsys):
    with pytest.raises(SystemExit) as exit_info:     # argparse: "invalid int value"
        cli.main(["estimate", files["x.npy"], files["y.csv"], "--steps", "2.5"])
    assert exit_info.value.code == 2 and "--steps" in capsys.readouterr().err


def test_a_nan_objective_alone_is_a_divergence(monkeypatch):
    """The value stays finite while the objective goes NaN: still diverged."""
    real_make, calls = bounds.make, []

    def make(name, **params):
        loss = real_make(name, **params)

        def planted(scores, pairing=None, labels=None):
            result = loss(scores, pairing, labels)
            calls.append(1)
            if len(calls) == 3:
                result.objective = result.objective * float("nan")
            return result
        planted.params, planted.held_out = loss.params, loss.held_out
        return planted
    monkeypatch.setattr(bounds, "make", make)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    result = minimi.estimate(x, x + rng.standard_normal((200, 2)), steps=20, eval_every=5)
    assert result.status == "diverged" and result.diverged_at_step == 3 and result.mi is None


def test_the_untrained_reason_quotes_the_best_trained_score(monkeypatch):
    monkeypatch.setattr(bounds, "held_out_rule", lambda name: "dv")    # scored the wrong way
    r = np.random.default_rng(0)
    x = r.standard_normal((400, 2))
    result = minimi.estimate(x, x + 0.5 * r.standard_normal((400, 2)), bound="infonce",
                             steps=300, eval_every=50)
    assert result.status == "untrained"
    trained = [v for _, v in result.validation[1:] if v is not None]
    assert f"best trained {max(trained):.3f} nats" in result.reason
    assert f"untrained {result.validation[0][1]:.3f}" in result.reason


def test_rank_marginals_are_normal_scores_of_the_ranks():
    """Mid-ranks (k + ½)/(n + 1) through the normal quantile: symmetric around 0 for a
    symmetric sample, and the median maps to exactly 0."""
    from minimi.estimator.inputs import Marginals
    train = np.arange(1.0, 10.0)[:, None]                      # 1..9
    mapped = Marginals("rank", train)(train)[:, 0]
    assert mapped[4] == 0.0
    np.testing.assert_allclose(mapped, -mapped[::-1], atol=1e-12)
    from scipy.stats import norm
    assert mapped[0] == pytest.approx(norm.ppf(1.0 / 10.0))   # rank 1 of 9: (0.5+0.5)/10
    assert math.isfinite(mapped[-1])
