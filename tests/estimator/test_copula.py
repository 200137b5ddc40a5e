"""The Gaussian-copula second opinion (minimi/estimator/copula.py): the estimate
against the closed form of a Gaussian's MI, its bias correction over many small
samples, when it applies, and the flag it raises."""
import json
import math
import re

import numpy as np
import pytest
from scipy.stats import multivariate_normal, wishart

import minimi
from minimi.engine.files import dumps
from minimi.estimator import copula, recipe
from minimi.estimator.neighbours import normal_scores


def gaussian(dx, dy, rows, rng, rho=0.6, within=0.0):
    """Rows of x (dx) and y (dy) with cov(x_j, y_j) = ρ for j < min(dx, dy) and
    cov(x_0, x_1) = `within`, the rest independent; and the true MI, H(X) + H(Y) −
    H(X, Y) from scipy's Gaussian entropies."""
    d = dx + dy
    sigma = np.eye(d)
    for j in range(min(dx, dy)):
        sigma[j, dx + j] = sigma[dx + j, j] = rho
    if dx > 1:
        sigma[0, 1] = sigma[1, 0] = within
    a = rng.multivariate_normal(np.zeros(d), sigma, size=rows)
    h = lambda m: multivariate_normal(cov=m).entropy()             # noqa: E731
    truth = h(sigma[:dx, :dx]) + h(sigma[dx:, dx:]) - h(sigma)
    return a[:, :dx], a[:, dx:], truth


@pytest.mark.parametrize("dx, dy", [(1, 1), (3, 2), (6, 6)])
def test_a_gaussians_mi_on_many_rows(dx, dy):
    """x_0 and x_1 correlated (0.5) within x: the truth is then more than the sum of
    the pairs' −½ log(1 − ρ²)."""
    r = np.random.default_rng(dx + dy)
    x, y, truth = gaussian(dx, dy, 20000, r, within=0.5)
    pairs = -0.5 * min(dx, dy) * math.log(1 - 0.36)
    assert truth == pytest.approx(pairs) if dx == 1 else truth > pairs + 0.05
    assert copula.gaussian_mi(x, y)[0] == pytest.approx(truth, abs=0.02)


@pytest.mark.parametrize("rho, rows", [(0.6, 500), (0.9, 2000), (0.0, 1000)])
def test_the_standard_error_is_the_spread_over_samples(rho, rows):
    """√(Σ ρ_i²/n) against the standard deviation of 300 estimates on fresh rows
    (3+3 columns, three pairs of correlation ρ). On independent columns (ρ = 0) the
    ρ_i are noise and it is about √2 too large, which only makes the flag rarer."""
    r = np.random.default_rng(19)
    runs = [copula.gaussian_mi(*gaussian(3, 3, rows, r, rho=rho)[:2]) for _ in range(300)]
    ratio = np.mean([se for _, se in runs]) / np.std([mi for mi, _ in runs], ddof=1)
    assert 0.8 < ratio < 1.2 if rho else 1.1 < ratio < 1.6


def test_the_unbiased_log_determinant_averages_to_the_true_one():
    """(n − 1)S of n Gaussian rows is Wishart(Σ, n − 1): scipy draws it. With 10
    columns and 15 rows log det S is 5.6 too low on average; L(S) averages to log det Σ."""
    sigma = np.eye(10) + 0.4 * np.ones((10, 10))
    draws = wishart(df=14, scale=sigma).rvs(size=4000, random_state=18) / 14
    values = [copula.unbiased_logdet(s, 15) for s in draws]
    truth = np.linalg.slogdet(sigma)[1]
    assert np.mean([np.linalg.slogdet(s)[1] for s in draws]) < truth - 4
    assert np.mean(values) == pytest.approx(truth, abs=0.1)       # its standard error: 0.03


def test_the_bias_correction_centres_small_samples_on_the_truth():
    """10+10 columns from 120 rows: the plain log-det MI is about d_x·d_y/(2n) ≈ 0.4
    nats too high; corrected, the mean of 300 samples is the truth within 0.02 (its
    standard error is about 0.006)."""
    r = np.random.default_rng(11)
    values = []
    for _ in range(300):
        x, y, truth = gaussian(10, 10, 120, r, rho=0.3)
        values.append(copula.gaussian_mi(x, y)[0])
    assert np.mean(values) == pytest.approx(truth, abs=0.02)


def test_unchanged_by_a_monotone_map_of_each_column():
    r = np.random.default_rng(12)
    x, y, truth = gaussian(2, 2, 3000, r)
    plain = copula.second_opinion(x, y, seed=0)[0]
    mapped = copula.second_opinion(np.exp(x), y ** 3, seed=0)[0]
    assert mapped == pytest.approx(plain, abs=1e-12) and plain == pytest.approx(truth, abs=0.05)


def test_below_the_truth_for_a_band_that_no_gaussian_draws():
    """Y = X + U(−0.1, 0.1), X ~ U(0, 1): 1.71 nats, of which the normal scores'
    correlation shows about 1.26: a second opinion that can only flag too-low
    estimates, never one that is right."""
    r = np.random.default_rng(13)
    x = r.random((5000, 1))
    y = x + r.uniform(-0.1, 0.1, (5000, 1))
    mi, _ = copula.second_opinion(x, y, seed=0)
    assert 1.0 < mi < 1.709 - 0.3


def test_the_check_skips_repeated_values_and_too_few_rows_per_column():
    r = np.random.default_rng(14)
    x, y, _ = gaussian(5, 5, 45, r)
    assert not copula.applies(x, y)                             # 45 rows for 10 columns
    x, y, _ = gaussian(5, 5, 50, r)
    assert copula.applies(x, y)
    y[:, 2] = np.round(y[:, 2], 1)                              # rounded: ties everywhere
    assert not copula.applies(x, y)
    assert copula.second_opinion(x, y, seed=0) is None
    wide = r.standard_normal((1005, 201))                       # 5 rows a column for both
    assert copula.applies(wide[:1000, :100], wide[:1000, 100:200])     # 200 columns
    assert not copula.applies(wide[:, :100], wide[:, 100:])            # 201: too many


def _flags(x, y, high, bound="infonce"):
    """The copula's number and the flags recipe words for it (KSG does not apply in 6-D)."""
    _, gaussian, flags = recipe.second_opinions(x, y, high, minimi.Settings(bound=bound))
    return gaussian[0], flags


def test_only_an_estimate_above_the_interval_is_flagged():
    r = np.random.default_rng(15)
    x, y, truth = gaussian(3, 3, 2000, r)                       # 3 × 0.223 = 0.67 nats
    mi, flags = _flags(x, y, high=0.5)
    assert mi == pytest.approx(truth, abs=0.05)
    assert f"{mi:.2f} ± " in flags[0] and "above the interval's upper end (0.50)" in flags[0]
    assert "the default bound" not in flags[0]      # the critic was trained by it
    other = _flags(x, y, high=0.5, bound="nwj")[1]
    assert "the default bound (infonce)" in other[0]
    assert _flags(x, y, high=0.8) == (mi, [])
    assert _flags(x, y, high=math.inf) == (mi, [])
    # above the upper end by less than its standard error (≈ 0.02 here): no flag
    scores = (normal_scores(a, np.random.default_rng([0, 4])) for a in (x, y))
    se = copula.gaussian_mi(*scores)[1]
    assert 0.01 < se < 0.04
    assert _flags(x, y, high=mi - 0.5 * se) == (mi, [])
    assert _flags(x, y, high=mi - 1.5 * se)[1]


def test_columns_that_determine_each_other_give_no_second_opinion():
    r = np.random.default_rng(16)
    x = r.standard_normal((500, 2))
    assert copula.second_opinion(x, x[:, ::-1].copy(), seed=0) is None


def test_an_estimate_that_stopped_short_is_flagged_in_the_result():
    """Three correlated pairs (0.67 nats) and a critic stopped after 2 steps: the
    halves' interval ends near 0, the copula's estimate lies above it, and the flag
    reaches the result, the summary and the JSON. The interval loses its upper end
    (the critic fell short: nothing bounds the truth above); on independent columns
    there is no flag."""
    r = np.random.default_rng(17)
    x, y, truth = gaussian(3, 3, 800, r)
    result = minimi.estimate(x, y, steps=2, eval_every=1, hidden=(8,), embed_dim=4)
    assert result.status == "ok" and result.gaussian_mi == pytest.approx(truth, abs=0.1)
    reason = next(f for f in result.flag_reasons if "Gaussian-copula" in f)
    upper_end = float(re.search(r"interval's upper end \(([-\d.]+)\)", reason).group(1))
    assert upper_end < truth - 0.2 and f"{result.gaussian_mi:.2f} ± " in reason
    assert "the default bound" not in reason        # it trained this critic
    assert result.ci[1] == math.inf and result.ci[0] < result.mi < upper_end
    assert "FLAGGED" in result.summary() and result.summary().startswith(
        f"I(X;Y) is at least {result.ci[0]:.2f} nats (95% interval {result.ci[0]:.2f} to ∞, "
        f"estimate {result.mi:.2f}; no upper end: a second opinion lies above the interval")
    d = json.loads(dumps(result.as_dict()))
    assert d["gaussian_mi"] == pytest.approx(result.gaussian_mi) and d["flagged"]
    assert d["ci"][1] is None
    assert result.as_dict(bits=True)["gaussian_mi"] == pytest.approx(
        result.gaussian_mi / math.log(2))
    independent = minimi.estimate(x, r.standard_normal((800, 3)), steps=100, hidden=(8,),
                                  embed_dim=4)
    assert abs(independent.gaussian_mi) < 0.05
    assert not any("Gaussian-copula" in f for f in independent.flag_reasons)
