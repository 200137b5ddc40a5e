"""Held-out scoring (minimi/estimator/heldout.py) against loops over every pair, and the rule
each bound's critic is scored with."""
import math

import numpy as np
import pytest

import minimi as mm
from minimi import bounds
from minimi.estimator import heldout

rng = np.random.default_rng(3)


def all_scores(critic, x, y):
    """S[i, j] = T(x_i, y_j), one pair at a time through critic.pairs."""
    n = len(x)
    S = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            S[i, j] = critic.pairs(mm.Tensor(x[i:i + 1]), mm.Tensor(y[j:j + 1])).numpy()[0]
    return S


def dv_by_loops(S):
    n = len(S)
    joint = sum(S[i, i] for i in range(n)) / n
    others = [S[i, j] for i in range(n) for j in range(n) if i != j]
    return joint - math.log(sum(math.exp(v) for v in others) / len(others))


def infonce_by_loops(S):
    n = len(S)
    return sum(S[i, i] - math.log(sum(math.exp(S[i, j]) for j in range(n)) / n)
               for i in range(n)) / n


CRITICS = [
    lambda: mm.SeparableCritic(3, 2, hidden=(8,), embed_dim=4, activation="softplus", rng=0),
    lambda: mm.ConcatCritic(3, 2, hidden=(8, 6), rng=0),
]


@pytest.mark.parametrize("make", CRITICS, ids=["separable", "concat"])
def test_all_pairs_match_loops(make, monkeypatch):
    critic = make()
    for p in critic.parameters():       # scores spread over units, where the rules differ
        p.data *= 6.0
    x, y = rng.standard_normal((23, 3)), rng.standard_normal((23, 2))
    S = all_scores(critic, x, y)
    assert abs(dv_by_loops(S) - infonce_by_loops(S)) > 0.01
    monkeypatch.setattr(heldout, "BLOCK_FLOATS", 50)  # several row blocks, one row each
    rows = heldout.row_scores(critic, x, y, max_pairs=10 ** 6, rng=rng)
    assert rows.pairs == "all" and rows.m == 22
    assert rows.value("dv") == pytest.approx(dv_by_loops(S), abs=2e-5)
    assert rows.value("infonce") == pytest.approx(infonce_by_loops(S), abs=2e-5)


def test_two_rows_are_enough_to_score_and_one_is_not():
    critic = CRITICS[0]()
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    assert heldout.row_scores(critic, x, y, max_pairs=10, rng=rng).m == 1
    with pytest.raises(ValueError, match="at least 2 rows, got 1"):
        heldout.row_scores(critic, x[:1], y[:1], max_pairs=10, rng=rng)


def groups_of(full, left):
    """sample_groups' answer as [(rows, own)]: every group and how many rows own it."""
    return [(rows, len(rows)) for rows in full] + ([left] if left is not None else [])


@pytest.mark.parametrize("n, m, block", [
    (30, 4, 1 << 22),    # 6 groups of 5: all groups at once, one offset at a time
    (33, 4, 1 << 22),    # and a group of 3 left over, with 2 rows borrowed
    (33, 4, 8 * 12),     # the groups in blocks of 2
    (30, 14, 1 << 22),   # 2 groups of 15: one group at a time
    (40, 12, 8 * 20),    # 3 groups of 13 and 1 left over, in blocks of 20 pairs
])
@pytest.mark.parametrize("make", CRITICS, ids=["separable", "concat"])
def test_sampled_pairs_are_other_rows_and_match_their_loop(make, n, m, block, monkeypatch):
    critic = make()
    monkeypatch.setattr(heldout, "BLOCK_FLOATS", block)   # 8 floats per concat pair
    x, y = rng.standard_normal((n, 3)), rng.standard_normal((n, 2))
    S = all_scores(critic, x, y)
    rows = heldout.row_scores(critic, x, y, max_pairs=n * m, rng=np.random.default_rng(5))
    assert rows.pairs == "sampled" and rows.m == m
    b = np.full(n, np.nan)
    for group, own in groups_of(*heldout.sample_groups(n, m + 1, np.random.default_rng(5))):
        for i in group[:own]:
            others = [j for j in group if j != i]
            assert len(others) == m                              # never the aligned pair
            b[i] = math.log(sum(math.exp(S[i, j]) for j in others) / m)
    np.testing.assert_allclose(rows.b, b, atol=2e-5)
    np.testing.assert_allclose(rows.a, np.diag(S), atol=2e-6)
    expected = np.mean([S[i, i] - math.log((math.exp(S[i, i]) + m * math.exp(b[i])) / (m + 1))
                        for i in range(n)])
    assert rows.value("infonce") == pytest.approx(expected, abs=2e-5)


def test_sampled_groups_give_every_row_its_others_uniformly():
    """7 rows in groups of 3: two groups and one row left over, with 2 rows borrowed.
    Each row takes its b from one group, and over many draws each other row is among
    its m = 2 others with chance 2/6, the left-over row's too."""
    draw, n, g, reps = np.random.default_rng(8), 7, 3, 6000
    seen = np.zeros((n, n))
    for _ in range(reps):
        groups = groups_of(*heldout.sample_groups(n, g, draw))
        owners = np.concatenate([group[:own] for group, own in groups])
        assert sorted(owners) == list(range(n))
        for group, own in groups:
            assert len(set(group)) == g
            for i in group[:own]:
                seen[i, group[group != i]] += 1
    off = seen[~np.eye(n, dtype=bool)] / reps
    assert np.diag(seen).sum() == 0
    assert np.abs(off - 2 / 6).max() < 0.03                 # binomial sd 0.006


def test_infonce_rule_is_blind_to_a_function_of_x_and_dv_is_not():
    """An InfoNCE critic is optimal up to c(x): the row-wise rule must not move."""
    S = rng.standard_normal((50, 50)) + 2 * np.eye(50)
    shifted = S + 5 * rng.standard_normal((50, 1))            # + c(x_i) on row i

    def rows_of(M):
        b = np.array([np.log(np.mean(np.exp(np.delete(M[i], i)))) for i in range(50)])
        return heldout.RowScores(np.diag(M).copy(), b, 49, "all")
    assert rows_of(shifted).value("infonce") == pytest.approx(rows_of(S).value("infonce"))
    assert abs(rows_of(shifted).value("dv") - rows_of(S).value("dv")) > 0.5
    assert rows_of(S + 3.0).value("dv") == pytest.approx(rows_of(S).value("dv"))  # DV: constants


def test_rules_at_known_optima():
    """With the true log density ratio as critic, both rules recover the MI of a
    bivariate Gaussian (InfoNCE also with c(x) added, DV with a constant added)."""
    rho, n = 0.8, 3000
    r = np.random.default_rng(0)
    x = r.standard_normal(n)
    y = rho * x + math.sqrt(1 - rho ** 2) * r.standard_normal(n)

    def log_ratio(xi, yj):
        return (-0.5 * math.log(1 - rho ** 2)
                - (rho ** 2 * (xi ** 2 + yj ** 2) - 2 * rho * xi * yj) / (2 * (1 - rho ** 2)))
    S = log_ratio(x[:, None], y[None, :])
    b = np.log((np.exp(S).sum(axis=1) - np.exp(np.diag(S))) / (n - 1))
    truth = -0.5 * math.log(1 - rho ** 2)
    dv = heldout.RowScores(np.diag(S) + 7.0, b + 7.0, n - 1, "all")
    assert dv.value("dv") == pytest.approx(truth, abs=0.05)
    c = 3 * x
    nce = heldout.RowScores(np.diag(S) + c, b + c, n - 1, "all")
    assert nce.value("infonce") == pytest.approx(truth, abs=0.05)


@pytest.mark.parametrize("rule", ["dv", "infonce"])
def test_bootstrap_over_rows_matches_a_loop(rule):
    """A row's a_i and b_i belong together: a resample takes both (InfoNCE pairs them
    row by row, so resampling them apart would change its spread)."""
    a = rng.standard_normal(40)
    rows = heldout.RowScores(a, a + 0.1 * rng.standard_normal(40), 39, "all")
    draw, again = np.random.default_rng(9), np.random.default_rng(9)
    stderr = rows.bootstrap_stderr(rule, draw, reps=50)
    idx = again.integers(0, 40, (50, 40))

    def value(a, b):
        if rule == "dv":
            return a.mean() - math.log(np.mean(np.exp(b)))
        return np.mean([ai - math.log((math.exp(ai) + 39 * math.exp(bi)) / 40)
                        for ai, bi in zip(a, b)])
    values = [value(rows.a[i], rows.b[i]) for i in idx]
    assert stderr == pytest.approx(np.std(values, ddof=1))


def test_every_bound_has_a_rule_and_the_infonce_family_is_row_wise():
    rules = {name: bounds.make(name).held_out for name in bounds.BOUNDS}
    assert set(rules.values()) == {"dv", "infonce"}
    assert {n for n, rule in rules.items() if rule == "infonce"} == {"infonce", "reinfonce"}
    with pytest.raises(ValueError, match="unknown scoring rule"):
        heldout.RowScores(np.zeros(3), np.zeros(3), 2, "all").value("nwj")


def test_all_pairs_are_scored_up_to_the_budget_and_sampled_beyond_it():
    """10 rows have 90 other pairs: a budget of 90 scores them all (9 a row), 89
    samples 89 // 10 = 8 others a row, and one row's worth (10) samples one."""
    critic = mm.SeparableCritic(2, 2, hidden=(4,), embed_dim=3, rng=0)
    x = np.random.default_rng(0).standard_normal((10, 2))

    def scored(budget):
        rows = heldout.row_scores(critic, x, x, budget, np.random.default_rng(0))
        return rows.pairs, rows.m
    assert scored(10 * 9) == ("all", 9)
    assert scored(10 * 9 - 1) == ("sampled", 8)
    assert scored(10) == ("sampled", 1)
