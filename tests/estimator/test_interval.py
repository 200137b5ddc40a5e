"""The estimate's interval and its flags (minimi/estimator/interval.py)."""
import json
import math

import numpy as np
import pytest

import minimi
from minimi.engine.files import dumps
from minimi.estimator import interval as iv
from minimi.estimator import recipe, workers


def simulated(rng, truth, bias, sigma, seen, k=2):
    """Estimates as the interval assumes them: on n rows N(truth − bias, σ²), on n/k
    rows N(truth − k·bias, kσ²) (a bias ∝ 1/rows); the bootstrap sees a fraction
    `seen` of each standard deviation (the rest is the critic's training)."""
    full = rng.normal(truth - bias, sigma)
    parts = rng.normal(truth - k * bias, sigma * math.sqrt(k), k)
    return full, seen * sigma, parts, [seen * sigma * math.sqrt(k)] * k


@pytest.mark.parametrize("bias", [0.0, 0.1, 0.4])
@pytest.mark.parametrize("seen", [1.0, 0.6])
@pytest.mark.parametrize("k", [2, 3])
def test_the_interval_covers_the_truth_under_its_own_model(bias, seen, k):
    """Monte Carlo over 3000 draws: coverage at a nominal 95% stays within 93–99.5%,
    with or without a 1/rows bias; when the bootstrap sees only 60% of the noise (the
    rest comes from the parts' scatter, one degree of freedom for k = 2) at least 89%."""
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(3000):
        full, se, parts, part_se = simulated(rng, 1.0, bias, 0.05, seen, k)
        result = iv.interval(full, se, parts, part_se, 0.95)
        hits += result.low <= 1.0 <= result.high
    assert (0.93 if seen == 1 else 0.89) <= hits / 3000 <= 0.995, hits / 3000


@pytest.mark.parametrize("k", [2, 3, 4])
def test_the_extrapolations_spread_is_the_one_the_interval_uses(k):
    """σ∞, the spread the interval puts around I∞, against the spread of I∞ itself
    over 20,000 draws of the model (σ = 0.05, parts N(·, kσ²)). σ∞ is read off a call
    whose parts agree with the whole and scatter as their bootstrap says (v = kσ²):
    there the upper end is I + z·σ∞."""
    rng = np.random.default_rng(1)
    sigma = 0.05
    extrapolated = [iv.interval(*simulated(rng, 1.0, 0.1, sigma, 1.0, k), 0.95).extrapolated
                    for _ in range(20000)]
    calm = iv.interval(1.0, sigma, [1.0] * k, [sigma * math.sqrt(k)] * k, 0.95)
    sigma_x = (calm.high - 1.0) / iv.z_value(0.95)
    assert sigma_x == pytest.approx(np.std(extrapolated), rel=0.015)
    assert np.mean(extrapolated) == pytest.approx(1.0, abs=0.005)     # the bias removed


@pytest.mark.parametrize("k", [2, 3])
def test_the_below_its_parts_flag_fires_at_its_stated_rate(k):
    """Under the model with no shortfall, the flag (a one-sided test at z of the 95%
    level) fires in about 2.5% of 10,000 draws (less where the parts' scatter
    exceeds their bootstrap and v grows); with the whole 5·√2·σ below its parts it
    fires nearly always."""
    rng = np.random.default_rng(2)
    sigma, fired, short = 0.05, 0, 0
    for _ in range(10000):
        full, se, parts, part_se = simulated(rng, 1.0, 0.0, sigma, 1.0, k)
        fired += bool(iv.interval(full, se, parts, part_se, 0.95).flags)
        short += bool(iv.interval(full - 5 * math.sqrt(2) * sigma, se, parts, part_se,
                                  0.95).flags)
    assert 0.01 <= fired / 10000 <= 0.035, fired / 10000
    assert short / 10000 > 0.95


def test_the_level_sets_the_width():
    """The 99% interval is wider than the 80% one, by about z(0.995)/z(0.9) = 2.01."""
    args = (1.0, 0.03, [0.98, 1.02], [0.04, 0.04])     # no trend: the width is 2zσ∞
    wide, narrow = iv.interval(*args, 0.99), iv.interval(*args, 0.80)
    ratio = (wide.high - wide.low) / (narrow.high - narrow.low)
    assert ratio == pytest.approx(2.576 / 1.2816, rel=0.02)


def test_without_a_trend_or_scatter_the_interval_is_the_bootstrap_one():
    """Parts that agree with the whole and scatter no more than their bootstrap: the
    interval is mi ± 1.96·max(se, se_part/√2)... when the extrapolation adds nothing
    beyond it, its ends come from I∞ ± zσ∞ with σ∞² = 4σ² + v/2 (k = 2)."""
    result = iv.interval(1.0, 0.05, [1.0, 1.0], [0.05, 0.05], 0.95)
    sigma_x = math.sqrt(4 * 0.05 ** 2 + 0.05 ** 2 / 2)
    assert result.low == pytest.approx(1.0 - 1.959964 * sigma_x, abs=1e-6)
    assert result.high == pytest.approx(1.0 + 1.959964 * sigma_x, abs=1e-6)
    assert result.flags == []


def test_a_rising_estimate_stretches_the_interval_upward():
    """Half the rows gave 0.8, all of them 1.0: the truth is likelier above 1.0 than
    below, and the interval reaches the extrapolation 1.2 and beyond."""
    result = iv.interval(1.0, 0.02, [0.79, 0.81], [0.03, 0.03], 0.95)
    assert result.extrapolated == pytest.approx(1.2)
    assert result.high > 1.2 and result.low > 0.9
    assert result.flags == []


def test_an_estimate_below_its_parts_is_flagged():
    """All rows 0.30, halves 0.70 and 0.72 with small noise: a critic trained badly."""
    result = iv.interval(0.30, 0.03, [0.70, 0.72], [0.04, 0.04], 0.95)
    assert len(result.flags) == 1 and "below the mean" in result.flags[0]
    assert "0.30" in result.flags[0] and "0.71" in result.flags[0]
    # within the noise it is not
    assert iv.interval(0.66, 0.03, [0.70, 0.72], [0.04, 0.04], 0.95).flags == []


@pytest.mark.parametrize("low, high, flagged", [(-0.30, -0.05, True), (-0.05, 0.04, False),
                                                (0.2, 0.3, False)])
def test_below_zero_beyond_its_noise_is_flagged_and_zero_is_an_answer(low, high, flagged):
    flags = iv.checks((low + high) / 2, 0.02, low, high, None, None, 1000, 0.95)
    assert bool([f for f in flags if "below 0" in f]) == flagged


def test_a_test_estimate_far_below_validation_is_flagged():
    """The spiral case: validation 0.65 chose the checkpoint, the test split says −0.20."""
    flags = iv.checks(-0.20, 0.25, -0.7, 0.3, 0.65, 0.10, 1000, 0.95)
    assert any("below the validation estimate" in f for f in flags)
    assert not iv.checks(0.60, 0.25, 0.1, 1.1, 0.65, 0.10, 1000, 0.95)


def test_an_estimate_near_log_test_rows_is_flagged():
    """200 test rows can show about log 200 = 5.3 nats: 4.8 is at that limit, 3.0 not.
    The limit starts 1 nat below log(test rows), as the docs say."""
    assert any("log(200 test rows)" in f for f in iv.checks(4.8, 0.1, 4.6, 5.0, None, None,
                                                             200, 0.95))
    assert not iv.checks(3.0, 0.1, 2.8, 3.2, None, None, 200, 0.95)
    assert iv.at_ceiling(math.log(200) - 0.9, 200)
    assert not iv.at_ceiling(math.log(200) - 1.1, 200)


def test_parts_are_disjoint_and_cover_the_rows():
    rows = iv.parts(1000, 3, seed=4)
    together = np.concatenate(rows)
    assert len(rows) == 3 and sorted(together.tolist()) == list(range(1000))
    assert iv.parts(1000, 1, 0) == [] and iv.parts(399, 2, 0) == []
    assert [len(p) for p in iv.parts(400, 2, 0)] == [200, 200]    # 200 rows a part, the least


SMALL = dict(steps=600, hidden=(32, 32), embed_dim=16, eval_every=50, lr=2e-3)


def correlated(n, seed, rho=0.8):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, 2))
    return x, rho * x + math.sqrt(1 - rho ** 2) * r.standard_normal((n, 2))


def test_the_result_carries_the_interval_in_json_and_summary():
    """2 × log(1/0.6) = 1.02 nats; the interval, the parts and the flags reach the JSON."""
    x, y = correlated(1200, 0)
    result = minimi.estimate(x, y, **SMALL)
    low, high = result.ci
    assert result.status == "ok" and low < result.mi < high and len(result.subsample_mi) == 2
    assert result.ci_level == 0.95 and "95% interval" in result.summary()
    # the validation estimate is the one that chose the checkpoint
    assert result.validation_mi == pytest.approx(dict(result.validation)[result.best_step])
    d = json.loads(dumps(result.as_dict()))
    assert d["ci"] == [low, high] and d["flagged"] == result.flagged
    assert d["flag_reasons"] == result.flag_reasons
    bits = result.as_dict(bits=True)
    assert bits["ci"][1] == pytest.approx(high / math.log(2))


def test_an_estimate_at_the_log_n_limit_has_an_interval_without_an_upper_end():
    """Five pairs at ρ = 0.9999 hold 5·4.3 = 21 nats; 600 rows leave 120 test rows,
    which show at most about log 120 = 4.8. The interval is then [low, ∞): in the
    result, the JSON (null) and the summary."""
    r = np.random.default_rng(0)
    x = r.standard_normal((600, 5))
    y = 0.9999 * x + math.sqrt(1 - 0.9999 ** 2) * r.standard_normal((600, 5))
    result = minimi.estimate(x, y, **SMALL)
    assert result.status == "ok" and result.mi < math.log(120)
    assert result.ci[0] <= result.mi and result.ci[1] == math.inf
    assert any("log(120 test rows)" in f and "no upper end" in f for f in result.flag_reasons)
    assert json.loads(dumps(result.as_dict()))["ci"] == [result.ci[0], None]
    low = f"{result.ci[0]:.2f}"
    assert result.summary().startswith(
        f"I(X;Y) is at least {low} nats (95% interval {low} to ∞, estimate ")
    assert "log(120 test rows)" in result.one_sided


def test_a_part_of_half_the_rows_is_checked_twice_as_often_with_half_the_steps():
    """The same passes over a part's training rows between validation checks as over
    all rows: the progress lines show the schedule of the whole and of each part."""
    lines = []
    minimi.estimate(*correlated(800, 2), progress=lines.append,
                    **dict(SMALL, steps=400, eval_every=40, patience=100))
    whole = [line for line in lines if not line.startswith("subsample")]
    part = [line for line in lines if line.startswith("subsample 2 of 2: ")]
    assert [line.split(":")[0] for line in whole] == [f"step {k}/400" for k in range(40, 401, 40)]
    assert [line.split(":")[1].strip() for line in part] == \
        [f"step {k}/200" for k in range(20, 201, 20)]


def test_a_part_samples_as_many_other_rows_per_row_as_the_whole(monkeypatch):
    """1000 rows, 200 test rows, a budget of 200·50 pairs: the whole scores 50 other
    rows per row, and so does each half (100 test rows) on half the budget."""
    seen, once = [], recipe.estimate_once
    monkeypatch.setattr(recipe, "estimate_once",
                        lambda *args, **kwargs: seen.append(once(*args, **kwargs)) or seen[-1])
    with workers.in_turn():         # the parts in this process, where the spy sees them
        minimi.estimate(*correlated(1000, 2), max_pairs=200 * 50, **dict(SMALL, steps=100))
    assert [r.pairs for r in seen] == ["sampled, 50 per row"] * 3


def test_without_subsamples_the_interval_is_flagged_as_test_noise_only():
    x, y = correlated(300, 1)          # too few rows for two parts of 200
    result = minimi.estimate(x, y, **SMALL)
    assert result.subsample_mi is None and result.flagged
    assert any("too few for 2 subsamples" in f for f in result.flag_reasons)
    assert "FLAGGED" in result.summary()
    result = minimi.estimate(*correlated(600, 1), subsamples=1, **SMALL)
    assert any("subsamples=1" in f for f in result.flag_reasons)
    # halves of 300 rows whose test split (1%) would have 3 rows: decided before
    # training, not a failure after it
    result = minimi.estimate(*correlated(1000, 1), test_fraction=0.01, **SMALL)
    assert result.status == "ok" and result.subsample_mi is None
    assert any("too few for 2 subsamples" in f for f in result.flag_reasons)


@pytest.mark.parametrize("kwargs, message", [({"subsamples": 0}, "subsamples"),
                                             ({"ci_level": 1.0}, "ci_level"),
                                             ({"ci_level": 0}, "ci_level")])
def test_bad_interval_settings_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        minimi.estimate(*correlated(100, 0), **kwargs)
