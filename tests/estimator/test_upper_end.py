"""The rule that grants the interval an upper end (interval.upper_end), from both sides:
where the estimate has stopped rising with the rows (by one standard error, or by z
where the Gaussian copula agrees with it), or a nearest-neighbour estimate reaches it,
the answer is two-sided; where it still rises, it is "at least" its low end, with the
reason in the result, its summary and its JSON."""
import dataclasses
import json
import math

import numpy as np
import pytest

import minimi
from minimi.engine.files import dumps
from minimi.estimator import interval, recipe
from minimi.estimator.result import EstimateResult

Z = 1.959963984540054          # the 97.5% normal quantile: a 95% interval


def _interval(mi, rise_in_se, se=0.05, part_se=0.06):
    """An Interval from two parts whose mean lies `rise_in_se` standard errors of the
    trend below `mi`. The trend's standard error, from the module docstring: one
    part's variance v is the larger of the parts' spread (0: they are equal) and their
    mean squared standard error; σ² = max(se², v/2); the trend's is √(σ² + v/2)."""
    v = part_se ** 2
    trend_se = math.sqrt(max(se ** 2, v / 2) + v / 2)
    part = mi - rise_in_se * trend_se
    return interval.interval(mi, se, [part, part], [part_se, part_se], 0.95)


@pytest.mark.parametrize("rise, granted", [(-2.0, True), (0.0, True), (0.9, True),
                                           (1.1, False), (3.0, False)])
def test_the_upper_end_goes_once_the_estimate_rises_beyond_one_standard_error(rise, granted):
    iv = _interval(0.8, rise)
    high, why = interval.upper_end(0.8, 0.05, iv.low, iv.high, iv, None, None, 0.95)
    if granted:
        assert why is None and high == iv.high and math.isfinite(high)
    else:
        assert high == math.inf and "still rises with the rows" in why
        assert f"+{rise:.1f} standard errors" in why


def test_a_nearest_neighbour_estimate_that_reaches_the_interval_grants_it():
    """Rising, but KSG (another shape of estimator) lies within the interval, or above
    the estimate: two-sided, the upper end covering KSG and z of its standard error.
    KSG below the low end grants nothing."""
    iv = _interval(0.8, 3.0)
    inside = ((iv.low + 0.8) / 2, 0.02)                 # between the low end and the estimate
    assert interval.upper_end(0.8, 0.05, iv.low, iv.high, iv, inside, None, 0.95) == \
        (iv.high, None)
    above = (iv.high + 0.3, 0.02)
    high, why = interval.upper_end(0.8, 0.05, iv.low, iv.high, iv, above, None, 0.95)
    assert why is None and high == pytest.approx(iv.high + 0.3 + Z * 0.02)
    below = (iv.low - 0.01, 0.02)
    assert interval.upper_end(0.8, 0.05, iv.low, iv.high, iv, below, None, 0.95)[0] == \
        math.inf


def test_a_copula_estimate_above_the_estimate_raises_the_upper_end_to_cover_it():
    """The dense 25+25 Gaussian of bmi, seed 0: the estimate 1.213 with an interval to
    1.283, the copula 1.282 ± 0.014, the truth 1.292. The upper end becomes the copula's
    own, 1.282 + z·0.014; a copula below the estimate changes nothing."""
    iv = _interval(1.213, -1.5)
    high, why = interval.upper_end(1.213, 0.03, iv.low, 1.283, iv, None, (1.282, 0.014), 0.95)
    assert why is None and high == pytest.approx(1.282 + Z * 0.014) and high > 1.292
    assert interval.upper_end(1.213, 0.03, iv.low, 1.283, iv, None, (1.1, 0.014), 0.95) == \
        (1.283, None)


@pytest.mark.parametrize("copula, rise, granted", [
    ((1.00, 0.015), 1.5, True),      # agrees within z·√(0.03² + 0.015²) = 0.066: z allowed
    ((1.00, 0.015), 2.1, False),     # ... but not beyond z
    ((1.05, 0.015), 1.5, True),      # 0.05 apart: within 0.066, the estimate's noise counts
    ((1.10, 0.015), 1.5, False),     # 0.1 apart: disagrees, one standard error allowed
    ((0.20, 0.010), 1.5, False),     # far below (a spiral's copula): the same
    (None, 1.5, False)])
def test_a_copula_that_agrees_lets_a_rise_within_the_intervals_z_pass(copula, rise, granted):
    """Two estimators of different shape agreeing within their test noise are evidence
    that the estimate is not short: then a rise within z (1.96) standard errors, as
    likely noise, keeps the upper end; without that agreement one standard error
    takes it away."""
    iv = _interval(1.0, rise)
    high, why = interval.upper_end(1.0, 0.03, iv.low, iv.high, iv, None, copula, 0.95)
    assert (why is None and math.isfinite(high)) if granted else (high == math.inf and why)


def test_without_parts_the_upper_end_stays():
    """No parts: nothing shows a rise, and the flag of recipe._no_parts already says the
    interval covers only the test rows' noise."""
    assert interval.upper_end(0.5, 0.05, 0.4, 0.6, None, None, None, 0.95) == (0.6, None)


def _result(mi, se=0.03):
    fields = {f.name: None for f in dataclasses.fields(EstimateResult)}
    fields.update(mi=mi, stderr=se, status="ok", unit="nats", ci_level=0.95, settled=True,
                  warnings=[], flags=[], validation_mi=mi, validation_stderr=se, n_test=1000,
                  bound="infonce", critic="separable", steps_run=900, best_step=400,
                  marginals="rank", validation=[], curve=[])
    return EstimateResult(**fields)


@pytest.mark.parametrize("parts, one_sided", [((0.5, 0.5), False), ((0.2, 0.2), True)])
def test_the_answer_reaches_the_result_summary_and_json(parts, one_sided):
    """Ten independent columns (KSG does not apply, the copula says ≈ 0, below): the
    estimate 0.5 on all rows against parts of 0.5 is two-sided, against parts of
    0.2 it is 'at least' its low end, unflagged, with the reason everywhere."""
    r = np.random.default_rng(3)
    x, y = r.standard_normal((4000, 5)), r.standard_normal((4000, 5))
    s = minimi.Settings().for_columns(5, 5)
    result = recipe.attach_interval(_result(0.5), [_result(p) for p in parts], s, x, y, 0.0)
    low, high = result.ci
    assert result.neighbour_mi is None and result.gaussian_mi < 0.05
    assert not result.flagged and low < 0.5
    d = json.loads(dumps(result.as_dict()))
    # all five results have standard error 0.03 and the parts agree: v = 0.03², σ = 0.03,
    # and the rise's standard error √(σ² + v/2)
    assert d["trend"] == pytest.approx(0.5 - np.mean(parts))
    assert d["trend_stderr"] == pytest.approx(math.sqrt(0.03 ** 2 + 0.03 ** 2 / 2))
    if one_sided:
        assert high == math.inf and d["ci"] == [low, None]
        assert "still rises with the rows" in result.one_sided == d["one_sided"]
        assert result.summary().startswith(
            f"I(X;Y) is at least {low:.2f} nats (95% interval {low:.2f} to ∞, estimate 0.50; "
            "no upper end: the estimate still rises with the rows (0.20 on parts of them, "
            "0.50 on all")
    else:
        assert math.isfinite(high) and result.one_sided is None and d["one_sided"] is None
        assert result.summary().startswith(f"I(X;Y) ≈ 0.50 nats, 95% interval {low:.2f} to "
                                           f"{high:.2f} (")


def test_a_rise_that_knn_accounts_for_keeps_the_upper_end():
    """One column each, correlation 0.7 (0.34 nats): KSG applies and reaches the
    interval, so an estimate that rose from parts of 0.2 keeps an upper end; on the
    same numbers with ten columns (previous test) it does not."""
    r = np.random.default_rng(4)
    x = r.standard_normal((4000, 1))
    y = 0.7 * x + math.sqrt(1 - 0.49) * r.standard_normal((4000, 1))
    s = minimi.Settings().for_columns(1, 1)
    result = recipe.attach_interval(_result(0.34), [_result(0.2), _result(0.2)], s, x, y, 0.0)
    assert result.trend > interval.RISE_Z * result.trend_stderr      # it did rise
    assert result.neighbour_mi == pytest.approx(-0.5 * math.log(1 - 0.49), abs=0.05)
    assert 0 < result.neighbour_stderr < 0.03
    assert result.one_sided is None and math.isfinite(result.ci[1])
    assert result.ci[0] <= result.neighbour_mi <= result.ci[1]


@pytest.mark.slow
def test_a_heavy_tailed_estimate_that_still_rises_is_at_least_its_low_end():
    """Ten Student-t columns (ν = 2, identity scale; 0.448 nats by scipy's entropies) on
    3000 rows: the critic learns more with every row (the parts of 1500 rows score far
    lower), so the estimate is short of the truth, and the answer says 'at least'. A
    two-sided interval here would read as precise and miss."""
    from scipy.stats import multivariate_t
    nu, d = 2, 5
    entropy = [multivariate_t(np.zeros(k), np.eye(k), df=nu).entropy() for k in (d, 2 * d)]
    truth = 2 * entropy[0] - entropy[1]
    r = np.random.default_rng(0)
    z = r.standard_normal((3000, 2 * d)) / np.sqrt(r.chisquare(nu, (3000, 1)) / nu)
    result = minimi.estimate(z[:, :d], z[:, d:])
    assert truth == pytest.approx(0.448, abs=0.001)
    assert result.status == "ok" and result.mi < truth - 0.05, str(result)
    assert result.trend > interval.RISE_Z * result.trend_stderr, str(result)
    assert result.ci[0] < truth and result.ci[1] == math.inf, str(result)
    assert not result.flagged and "still rises with the rows" in result.one_sided
