"""The interval around an estimate, and the checks that say when it cannot be trusted.

The test split's bootstrap (heldout.py) only says how the number would move with
other test rows. It leaves out the critic's training (its seed, split and stopping
point) and the bias of an estimate from finite data. So after the estimate on all
n rows, the rows are split into `subsamples` = k disjoint random parts and the
whole recipe (split, train, choose, score) runs again on each part, its schedule
scaled to its rows (recipe.part_settings):

    I, se        the estimate on all n rows and its test-row standard error
    I_j, se_j    the estimates on the k parts of n/k rows each, and theirs

    v = max(var_j(I_j), mean_j(se_j²))     one part's variance: training and test rows
    σ² = max(se², v/k)                     the estimate's variance (variance ∝ 1/rows)
    I∞ = I + (I − mean(I_j))/(k − 1)       the extrapolation if the bias ∝ 1/rows
    σ∞² = (k/(k−1))²σ² + v/(k(k−1)²)       its variance

    interval = [min(I − zσ, I∞ − zσ∞), max(I + zσ, I∞ + zσ∞)]

so it holds the truth at the stated level both when the estimate has no bias and
when its bias falls as 1/rows (the protocol of Abdelaleem, Martini & Nemenman,
2025, with two points). It is flagged (the number and its interval need a second
look) when
    - the estimate on all rows lies below the parts' mean beyond their noise:
      more rows should not lower an estimate, so a critic trained badly;
    - the whole interval is below 0 (MI is ≥ 0: the critic is worse than none);
    - the test estimate lies below the validation estimate that chose the
      checkpoint beyond their noise: the critic does not carry over to new rows;
    - the interval reaches log(test rows) − 1: n rows cannot show much more than
      log n nats (McAllester & Stratos, 2020), so a larger truth looks the same;
      the interval then has no upper end (high = ∞; null in JSON).

An upper end only where the evidence supports one (`upper_end`). A variational
bound is a lower bound in expectation: what the critic did not learn is missing
from I and from every I_j alike, so the spread and the trend above cannot see a
critic that is the wrong shape, or one that needs more rows than it has. The
interval keeps its upper end only when the estimate has stopped rising with the
rows, trend = I − mean(I_j) ≤ RISE_Z·√(σ² + v/k) (≤ z·√(σ² + v/k) where the
Gaussian copula's estimate, copula.py, agrees with I within their test noise), or
when a nearest-neighbour estimate in few dimensions (neighbours.py, another shape
altogether) reaches the interval; else the answer is one-sided: at least `low`, and
why. A second opinion above the estimate raises the upper end to cover it, by z of
its standard error: the higher of two lower bounds is the closer.

What it cannot see: a critic that cannot represent the density ratio biases
every part alike (neighbours.py's KSG estimate in few dimensions and copula.py's
Gaussian-copula estimate in any are second opinions on that), and a bias that
falls slower than 1/rows is under-corrected.
docs/estimator.md gives the coverage measured on known truth.
"""
import math
from statistics import NormalDist

import numpy as np

# the parts need this many rows each for their own train/validation/test splits
MIN_PART_ROWS = 200
# an estimate within this many nats of log(test rows) is at the limit of what
# the test split can show
LOG_N_MARGIN = 1.0
# The estimate still rises with the rows when all rows beat the parts' mean by more
# than RISE_Z standard errors of the difference; the interval then has no upper end.
# One standard error, not z of the level: an upper end granted by mistake is a miss
# nobody sees, an upper end withheld by mistake is a true "at least". On bmi's tasks
# (5000 rows, 3 seeds) the spiral estimates 0.3 nats short rose by 1.0–5.9 standard
# errors; with 1.28 two of them would be intervals that miss (docs/results.md).
RISE_Z = 1.0


def parts(n, k, seed):
    """k disjoint random row sets of n rows (empty list if k < 2 or too few rows)."""
    if k < 2 or n // k < MIN_PART_ROWS:
        return []
    return np.array_split(np.random.default_rng([seed, 1]).permutation(n), k)


def part_seed(seed, j):
    """The seed of part j's recipe: a different split, critic and batch order."""
    return seed + 7919 * (j + 1)


class Interval:
    """low, high (nats), σ, the extrapolation I∞, the trend I − mean(I_j) and its
    standard error, and the flags (sentences)."""

    def __init__(self, low, high, sigma, extrapolated, flags, trend=None, trend_se=None):
        self.low, self.high, self.sigma = low, high, sigma
        self.extrapolated, self.flags = extrapolated, flags
        self.trend, self.trend_se = trend, trend_se


def z_value(level):
    return NormalDist().inv_cdf((1 + level) / 2)


def interval(mi, se, part_mi, part_se, level):
    """The interval at `level` from the estimate on all rows (mi, se) and on k ≥ 2
    disjoint parts (lists part_mi, part_se); a flag if they are inconsistent."""
    z = z_value(level)
    I_j, se_j = np.asarray(part_mi, float), np.asarray(part_se, float)
    k = len(I_j)
    v = max(I_j.var(ddof=1), float(np.mean(se_j ** 2)))
    sigma = math.sqrt(max(se ** 2, v / k))
    trend = mi - I_j.mean()                   # what k times the rows added
    extrapolated = mi + trend / (k - 1)
    sigma_x = math.sqrt((k / (k - 1)) ** 2 * sigma ** 2 + v / (k * (k - 1) ** 2))
    low = min(mi - z * sigma, extrapolated - z * sigma_x)
    high = max(mi + z * sigma, extrapolated + z * sigma_x)
    trend_se = math.sqrt(sigma ** 2 + v / k)
    flags = []
    if trend < -z * trend_se:
        flags.append(f"the estimate on all rows ({mi:.2f}) is below the mean of the estimates "
                     f"on 1/{k} of the rows ({I_j.mean():.2f}) beyond their noise: more rows "
                     "should not lower it, so a critic trained badly")
    return Interval(low, high, sigma, extrapolated, flags, trend, trend_se)


def rising(trend, trend_se, z=RISE_Z):
    """Whether the estimate on all rows beats the parts' mean by more than z (RISE_Z)
    of its standard error: it still rises with the rows."""
    return trend > z * trend_se


def upper_end(mi, se, low, high, iv, ksg, gaussian, level):
    """(high, why): the interval's upper end given the evidence, and why it has none
    (None when it has one). mi, se: the estimate and its test rows' standard error;
    iv: the Interval from the parts, or None (no parts); ksg, gaussian: the second
    opinions' (estimate, standard error), or None where they do not apply.

    A second opinion above the estimate raises `high` to cover it (by z of its
    standard errors). The upper end goes (high = ∞) when the estimate still rises
    with the rows, by more than RISE_Z of its standard errors, or by more than z where
    the copula agrees with it within their test noise; unless KSG reaches the
    interval. Without parts the interval is flagged already (recipe._no_parts) and
    keeps its upper end."""
    z = z_value(level)
    for opinion in (ksg, gaussian):
        if opinion is not None and opinion[0] > mi:
            high = max(high, opinion[0] + z * opinion[1])
    if ksg is not None and ksg[0] >= low:         # another shape of estimator agrees
        return high, None
    agrees = gaussian is not None and abs(mi - gaussian[0]) <= z * math.hypot(se, gaussian[1])
    if iv is not None and rising(iv.trend, iv.trend_se, z if agrees else RISE_Z):
        return math.inf, (
            f"the estimate still rises with the rows ({mi - iv.trend:.2f} on parts of them, "
            f"{mi:.2f} on all, +{iv.trend / iv.trend_se:.1f} standard errors): what the critic "
            "did not learn is missing from it, and more rows or another critic may show more")
    return high, None


def checks(mi, se, low, high, validation, validation_se, n_test, level):
    """Flags that need no parts: below 0, test below validation, near log(test rows)."""
    z = z_value(level)
    flags = []
    if high < 0:
        flags.append(f"the estimate is below 0 beyond its noise ({level:.0%} interval "
                     f"{low:.2f} to {high:.2f} nats) while MI is ≥ 0: the critic scores the "
                     "test rows worse than no critic at all")
    if validation is not None and mi < validation - z * math.hypot(se, validation_se):
        flags.append(f"the test estimate ({mi:.2f}) is below the validation estimate that chose "
                     f"the checkpoint ({validation:.2f}) beyond their noise: the critic does "
                     "not carry over to new rows")
    if at_ceiling(high, n_test):
        flags.append(f"the estimate nears log({n_test} test rows) = {math.log(n_test):.1f} "
                     "nats, about the most that many rows can show: the truth may be far "
                     "higher, so the interval has no upper end")
    return flags


def at_ceiling(high, n_test):
    """Whether an interval up to `high` reaches log(n_test) − LOG_N_MARGIN, where
    n_test rows stop telling a larger MI apart."""
    return high > math.log(n_test) - LOG_N_MARGIN
