"""A second opinion where it is cheap and good: the KSG nearest-neighbour estimate.

The interval (interval.py) cannot see a critic that cannot represent the density
ratio: every part is biased alike. A density ratio with sharp edges (Y = X plus
uniform noise: log-ratio −∞ just outside a band) is such a case; the critic
smooths the edges and every estimate sits about 0.17 nats low (true 1.71).

In few dimensions the estimator of Kraskov, Stögbauer & Grassberger (2004,
their first) is accurate and assumes no form for the ratio. For every row i, with
the max-norm and k neighbours:

    ε_i        the distance to the k-th nearest other row in the joint space (x, y)
    n_x(i)     the other rows whose x lies strictly within ε_i of x_i; n_y(i) alike
    I_KSG = ψ(k) + ψ(N) − mean_i[ψ(n_x(i) + 1) + ψ(n_y(i) + 1)]

Its bias is mostly downward (it under-estimates strong dependence), so a KSG
estimate above the neural interval's upper end says the critic missed part of
the dependence (and the interval loses its upper end: recipe.attach_interval); one
below it says nothing. Ties make ε_i = 0, where the counts
mean nothing: a few (float32 data repeats a value now and then) are broken at
random; on data with many (discrete or rounded columns) the check is skipped.
"""
import numpy as np


# dx + dy up to this: beyond it the neighbours spread out and KSG falls far below
# the truth (docs/estimator.md has bmi's 25+25-D Gaussian), so it could never flag
MAX_DIMS = 4
K = 3
# more repeated values than this fraction of a column: discrete or rounded data
MAX_TIES = 0.01
# KSG's neighbour searches grow as n log n: 14 s on 10^6 rows of 1+1 columns, 38% of
# that estimate's time (docs/performance.md); beyond this many rows it runs on a random
# subset of them, whose noise (~0.005 nats at 10^5 rows) is far below the interval's
MAX_ROWS = 100_000


def ksg(x, y, k=K):
    """The KSG estimate (nats) of I(X; Y) from rows of x (n, dx), y (n, dy)."""
    return float(ksg_terms(x, y, k).mean())


def ksg_terms(x, y, k=K):
    """Row i's term ψ(k) + ψ(N) − ψ(n_x(i) + 1) − ψ(n_y(i) + 1), (n,): KSG is their mean."""
    from scipy.spatial import cKDTree        # only here: `import minimi` stays light
    from scipy.special import digamma

    n = len(x)
    joint = np.hstack([x, y])
    eps = cKDTree(joint).query(joint, k=k + 1, p=np.inf)[0][:, -1]   # [:, 0] is the row itself
    strictly_within = np.nextafter(eps, 0)
    n_x, n_y = (cKDTree(a).query_ball_point(a, strictly_within, p=np.inf, return_length=True) - 1
                for a in (x, y))
    return digamma(k) + digamma(n) - (digamma(n_x + 1) + digamma(n_y + 1))


def normal_scores(a, rng):
    """Each column of a (n, d) as normal scores of its ranks, ties broken at random."""
    from scipy.special import ndtri

    n, out = len(a), np.empty(a.shape)
    quantiles = ndtri(np.arange(1, n + 1) / (n + 1))
    for j in range(a.shape[1]):
        out[np.lexsort((rng.random(n), a[:, j])), j] = quantiles
    return out


def few_ties(x, y):
    """Whether no column of x or y repeats more than MAX_TIES of its values."""
    return all(len(np.unique(a[:, j])) >= (1 - MAX_TIES) * len(a)
               for a in (x, y) for j in range(a.shape[1]))


def applies(x, y):
    """Whether the check runs: few dimensions, and few repeated values in any column."""
    return x.shape[1] + y.shape[1] <= MAX_DIMS and few_ties(x, y)


def second_opinion(x, y, seed):
    """(KSG's estimate, its standard error), nats, on the normal scores of the rows x
    (n, dx), y (n, dy) (of MAX_ROWS of them, at random, beyond that), or None where it
    does not apply (too many dimensions, too many repeated values). The standard error
    is the rows' terms' spread over √n: rows that share neighbours are not independent,
    so it is a rough one, used only to widen an upper end (interval.upper_end)."""
    if not applies(x, y):
        return None
    rng = np.random.default_rng([seed, 3])
    if len(x) > MAX_ROWS:
        rows = np.sort(rng.choice(len(x), MAX_ROWS, replace=False))
        x, y = x[rows], y[rows]
    terms = ksg_terms(normal_scores(x, rng), normal_scores(y, rng))
    return float(terms.mean()), float(terms.std(ddof=1) / np.sqrt(len(terms)))


def rows_used(n):
    """Which rows KSG ran on, in words, for n rows in all."""
    return "the same rows" if n <= MAX_ROWS else f"a random {MAX_ROWS:,} of the {n:,} rows"
