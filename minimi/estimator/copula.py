"""A second opinion in any dimension: the Gaussian-copula estimate.

Every column becomes normal scores of its ranks (neighbours.normal_scores), and the
estimate is the MI of a Gaussian with their sample covariance S (n rows, d = dx + dy):

    I_G = ½ (L(S_xx) + L(S_yy) − L(S))
    L(S) = log det S − Σ_{i=1..d} ψ((n − i)/2) − d·log(2 / (n − 1))    (d: S's columns)

L removes the bias of log det of a sample covariance of Gaussian rows ((n − 1)S is
a Wishart matrix: E log det (n − 1)S = Σ ψ((n − i)/2) + d log 2 + log det Σ). The
bias of I_G grows with dx·dy/n: on 25+25 Gaussian columns and 1000 rows the plain
I_G is 0.32 nats too high, the corrected one right within 0.01.

It is exact when the dependence is Gaussian after some map of each column (every
Gaussian task and its maps). Otherwise it is lower when x or y has one column (a
column of normal scores is Gaussian, and a Gaussian has the most entropy for a
covariance), and with columns on both sides unless the columns of x (or of y)
depend on each other in a way no Gaussian can show. So I_G above the neural
interval, by more than its own standard error, says the critic missed dependence
that a linear map of the normal scores already shows (recipe.attach_interval then
drops the interval's upper end); I_G below it says nothing (heavy tails, bands,
spirals hide from it).
"""
import numpy as np

from .neighbours import few_ties, normal_scores

# beyond this many columns in all the covariance costs O(n·d²) and says little
MAX_DIMS = 200
# rows per column: fewer and the sample covariance is too noisy to flag anything
MIN_ROWS_PER_DIM = 5


def gaussian_mi(x, y):
    """(I_G, its standard error), nats, of the columns of x (n, dx) and y (n, dy).

    I_G is −½ Σ log(1 − ρ_i²) over the canonical correlations ρ_i; by the delta method
    each term varies by about ρ_i²/n, so the standard error is √(Σ ρ_i² / n), with
    Σ ρ_i² = tr(S_xx⁻¹ S_xy S_yy⁻¹ S_yx)."""
    n, dx = x.shape
    s = np.cov(np.hstack([x, y]), rowvar=False)
    sxx, syy, sxy = s[:dx, :dx], s[dx:, dx:], s[:dx, dx:]
    mi = 0.5 * (unbiased_logdet(sxx, n) + unbiased_logdet(syy, n) - unbiased_logdet(s, n))
    r2 = np.trace(np.linalg.solve(sxx, sxy) @ np.linalg.solve(syy, sxy.T))
    return float(mi), float(np.sqrt(max(r2, 0.0) / n))


def unbiased_logdet(s, n):
    """L(S): log det of the sample covariance s (d, d) of n Gaussian rows, less its
    bias, so that its mean over samples is log det of the true covariance."""
    from scipy.special import digamma       # only here: `import minimi` stays light

    d = s.shape[0]
    return (np.linalg.slogdet(s)[1] - digamma((n - np.arange(1, d + 1)) / 2).sum()
            - d * np.log(2 / (n - 1)))


def applies(x, y):
    """Whether the check runs: columns not too many for the rows, few repeated values."""
    d = x.shape[1] + y.shape[1]
    return d <= MAX_DIMS and len(x) >= MIN_ROWS_PER_DIM * d and few_ties(x, y)


def second_opinion(x, y, seed):
    """(estimate, its standard error) in nats of the Gaussian copula on the normal scores
    of the rows x, y; None where it does not apply or the columns determine each other."""
    if not applies(x, y):
        return None
    rng = np.random.default_rng([seed, 4])
    with np.errstate(all="ignore"):
        try:
            mi, se = gaussian_mi(normal_scores(x, rng), normal_scores(y, rng))
        except np.linalg.LinAlgError:       # columns that determine each other
            return None
    return (mi, se) if np.isfinite(mi) and np.isfinite(se) else None
