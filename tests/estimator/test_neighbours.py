"""KSG's second opinion (minimi/estimator/neighbours.py): the estimate against a
brute-force count and known truth, when it applies, and the flag it raises."""
import json
import math
import re

import numpy as np
import pytest
from scipy.special import digamma

import minimi
from minimi.engine.files import dumps
from minimi.estimator import neighbours, recipe
from minimi.estimator.inputs import Marginals


def ksg_by_loops(x, y, k):
    """KSG's first estimator row by row: all max-norm distances, the k-th smallest
    among the other rows, and the others strictly closer in x and in y."""
    n, total = len(x), 0.0
    for i in range(n):
        others = np.arange(n) != i
        d_x = np.abs(x[others] - x[i]).max(axis=1)
        d_y = np.abs(y[others] - y[i]).max(axis=1)
        eps = np.sort(np.maximum(d_x, d_y))[k - 1]
        total += digamma((d_x < eps).sum() + 1) + digamma((d_y < eps).sum() + 1)
    return digamma(k) + digamma(n) - total / n


@pytest.mark.parametrize("dx, dy, k", [(1, 1, 3), (1, 2, 3), (2, 2, 1), (2, 1, 5)])
def test_ksg_matches_a_brute_force_count(dx, dy, k):
    r = np.random.default_rng(dx + 10 * dy + 100 * k)
    x = r.standard_normal((150, dx))
    y = x[:, :1] + 0.7 * r.standard_normal((150, dy))
    assert neighbours.ksg(x, y, k) == pytest.approx(ksg_by_loops(x, y, k), abs=1e-10)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.8647])
def test_ksg_finds_a_gaussians_mi(rho):
    """−½ log(1 − ρ²) for a correlated pair: 0, 0.14 and 0.69 nats."""
    r = np.random.default_rng(1)
    x = r.standard_normal((4000, 1))
    y = rho * x + math.sqrt(1 - rho ** 2) * r.standard_normal((4000, 1))
    assert neighbours.ksg(x, y) == pytest.approx(-0.5 * math.log(1 - rho ** 2), abs=0.03)


def test_ksgs_standard_error_is_near_its_spread_over_samples():
    """The rows' terms' spread over √n ignores that rows share neighbours, so it is
    rough: over 40 samples of 1000 rows (ρ = 0.9, 0.83 nats) it is 0.82 of KSG's real
    spread. A standard error off by √n or by a forgotten square root is not."""
    values, errors = [], []
    for seed in range(40):
        r = np.random.default_rng(seed)
        x = r.standard_normal((1000, 1))
        y = 0.9 * x + math.sqrt(1 - 0.81) * r.standard_normal((1000, 1))
        value, error = neighbours.second_opinion(x, y, seed)
        values.append(value)
        errors.append(error)
    assert 0.5 < np.mean(errors) / np.std(values, ddof=1) < 1.5


def test_the_check_skips_many_dimensions_and_many_repeated_values():
    r = np.random.default_rng(2)
    x, y = r.standard_normal((300, 2)), r.standard_normal((300, 2))
    assert neighbours.applies(x, y)
    assert not neighbours.applies(x, np.hstack([y, y[:, :1]]))          # 5 dimensions
    y[5, 1], y[9, 0] = y[9, 1], y[7, 0]         # a tie or two, as float32 data has
    assert neighbours.applies(x, y)
    y[:, 1] = np.round(y[:, 1], 1)              # rounded: ties everywhere
    assert not neighbours.applies(x, y)
    assert neighbours.second_opinion(x, y, seed=0) is None


def test_up_to_one_percent_of_a_column_repeated_is_few_ties():
    """The tie rule's line, 1% of a column's values repeats, on 1000 rows."""
    r = np.random.default_rng(9)
    x, y = r.standard_normal((1000, 1)), r.standard_normal((1000, 2))
    y[:10, 1] = y[10:20, 1]                     # 990 distinct values: 1%
    assert neighbours.few_ties(x, y)
    y[:11, 1] = y[11:22, 1]                     # 989
    assert not neighbours.few_ties(x, y)


def test_normal_scores_are_the_rank_map_and_break_ties_at_random():
    r = np.random.default_rng(6)
    a = r.standard_normal((500, 2))
    assert np.allclose(neighbours.normal_scores(a, r), Marginals("rank", a)(a))
    a[:250, 0] = 1.5                                                    # half of a column tied
    scores = neighbours.normal_scores(a, r)
    assert np.array_equal(np.sort(scores[:, 0]), np.sort(scores[:, 1]))  # the same quantiles
    tied = scores[:250, 0]
    assert tied.min() > scores[250:, 0][a[250:, 0] < 1.5].max()         # order kept
    assert np.corrcoef(tied, np.arange(250))[0, 1] ** 2 < 0.05           # tie order random


def test_only_a_ksg_estimate_above_the_interval_is_flagged():
    r = np.random.default_rng(3)
    x = r.standard_normal((2000, 1))
    y = x + r.standard_normal((2000, 1))        # ½ log 2 = 0.35 nats

    def flags(high, critic):
        """KSG's number and the flags recipe words for it (the copula's left out)."""
        knn, _, words = recipe.second_opinions(x, y, high, minimi.Settings(critic=critic))
        return knn[0], [w for w in words if "KSG" in w]
    mi, above = flags(0.2, "separable")
    assert mi == neighbours.second_opinion(x, y, seed=0)[0]
    assert mi == pytest.approx(0.5 * math.log(2), abs=0.05) and "above the interval" in above[0]
    assert "critic='concat'" in above[0]
    _, above = flags(0.2, "concat")
    assert "critic='concat'" not in above[0] and "concat critic in use" in above[0]
    assert flags(0.5, "separable") == (mi, [])


def test_a_critic_that_cannot_represent_the_ratio_is_flagged():
    """Y = X + U(−0.05, 0.05): I = 0.05 − log 0.1 = 2.35 nats, a log-ratio that is −∞
    outside a band around the diagonal. A critic g(x)·h(y) with one embedding
    dimension cannot draw a band: whole and parts plateau alike near 1 nat, so the
    halves' interval misses the truth with no trend to show it. KSG does not, and
    its flag reaches the result, the summary and the JSON; the interval loses its
    upper end."""
    r = np.random.default_rng(4)
    x = r.random((1200, 1))
    y = x + r.uniform(-0.05, 0.05, (1200, 1))
    result = minimi.estimate(x, y, critic="separable", steps=1500, hidden=(16,), embed_dim=1,
                             lr=1e-2)
    assert result.status == "ok" and abs(result.neighbour_mi - 2.35) < 0.2
    reason = next(f for f in result.flag_reasons if "KSG" in f)
    upper_end = float(re.search(r"interval's upper end \(([-\d.]+)\)", reason).group(1))
    assert upper_end < result.neighbour_mi - 0.5 and result.ci[1] == math.inf
    assert f"{result.neighbour_mi:.2f} nats" in reason and "FLAGGED" in result.summary()
    d = json.loads(dumps(result.as_dict()))
    assert d["neighbour_mi"] == pytest.approx(result.neighbour_mi) and d["flagged"]


def test_ksg_alone_above_the_interval_takes_its_upper_end_away():
    """Y = X² + noise, X ~ U(−1, 1): about 1.3 nats that no linear map of the normal
    scores shows (the copula's estimate ≈ 0, no flag of its own), so only KSG lies
    above the interval of a critic stopped after 2 steps, and that alone leaves the
    interval without an upper end."""
    r = np.random.default_rng(8)
    x = r.uniform(-1, 1, (800, 1))
    y = x ** 2 + 0.02 * r.standard_normal((800, 1))
    result = minimi.estimate(x, y, critic="separable", steps=2, eval_every=1, hidden=(8,),
                             embed_dim=2)
    assert result.status == "ok" and abs(result.gaussian_mi) < 0.05
    assert not any("Gaussian-copula" in f for f in result.flag_reasons)
    reason = next(f for f in result.flag_reasons if "KSG" in f)
    upper_end = float(re.search(r"interval's upper end \(([-\d.]+)\)", reason).group(1))
    assert upper_end < result.neighbour_mi - 0.5 and result.ci[1] == math.inf


def test_no_second_opinion_in_many_dimensions():
    r = np.random.default_rng(5)
    x = r.standard_normal((600, 3))
    result = minimi.estimate(x, x + r.standard_normal((600, 3)), steps=100, hidden=(16,),
                             embed_dim=8)
    assert result.neighbour_mi is None and not any("KSG" in f for f in result.flag_reasons)


def test_no_ksg_flag_against_an_interval_without_an_upper_end():
    """ρ = 0.99999 in one pair: 5.4 nats, beyond what 120 test rows can show. The
    interval has no upper end, so KSG (far above its finite end) is not above it."""
    r = np.random.default_rng(7)
    x = r.standard_normal((600, 1))
    y = 0.99999 * x + math.sqrt(1 - 0.99999 ** 2) * r.standard_normal((600, 1))
    result = minimi.estimate(x, y, critic="separable", steps=300, hidden=(16,), embed_dim=8)
    assert result.ci[1] == math.inf and result.neighbour_mi > 4.5
    assert any("no upper end" in f for f in result.flag_reasons)
    assert not any("KSG" in f for f in result.flag_reasons)


def test_beyond_max_rows_ksg_runs_on_a_random_subset_and_says_so(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 1))
    y = 0.8 * x + 0.6 * rng.standard_normal((3000, 1))
    seen = []
    full = neighbours.ksg_terms
    monkeypatch.setattr(neighbours, "ksg_terms", lambda a, b: seen.append((a, b)) or full(a, b))
    monkeypatch.setattr(neighbours, "MAX_ROWS", 1000)
    value, _ = neighbours.second_opinion(x, y, seed=0)
    (a, b), = seen
    assert a.shape == b.shape == (1000, 1)
    assert value == pytest.approx(-0.5 * np.log(1 - 0.8 ** 2), abs=0.1)   # the truth, 0.51
    # the subset is of whole rows: each x keeps its own y (the pairs' rank order survives)
    assert np.corrcoef(a[:, 0], b[:, 0])[0, 1] > 0.7
    assert neighbours.rows_used(1000) == "the same rows"
    assert neighbours.rows_used(3000) == "a random 1,000 of the 3,000 rows"
