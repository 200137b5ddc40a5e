"""Scoring a trained critic on held-out rows: the number minimi.estimate reports.

A split of n rows has n aligned (joint) pairs (x_i, y_i) and n(n−1) others
(marginal) pairs (x_i, y_j). Every rule below needs only two numbers per row:

    a_i = T(x_i, y_i)                  the aligned pair
    b_i = lme_{j in J_i} T(x_i, y_j)   log-mean-exp over m other pairs of row i

J_i is every j ≠ i (m = n − 1) when the split's pairs fit the budget
`max_pairs`, otherwise m = max_pairs // n other rows drawn at random: the rows
are shuffled into groups of m + 1 and every pair within a group is scored.

The rules (which bound uses which: bounds.held_out_rule; docs/estimator.md says why):

    dv       mean(a) − lme(b)
             = mean(T_J) − lme(T_M): every row contributes m pairs, so the lme
             of the row lme's is the lme over all marginal pairs. Invariant to
             adding a constant to T, so it is right at the optimum of every bound
             whose critic is log r + c (MINE, SMILE, NWJ, TUBA, JS families).
    infonce  mean(a − log((e^a + m·e^b) / (m + 1)))
             InfoNCE with the whole split as one batch: row i's aligned pair
             against its whole row. An InfoNCE critic is log r + c(x); c(x)
             cancels within a row, not across rows. At most log(m + 1).

The standard error comes from a bootstrap over rows (a row's pairs share x_i,
so they are not independent draws), vectorised on the host.
"""
import math

import numpy as np

from .. import backend
from ..backend import get_array_module
from ..engine.tensor import Tensor, no_grad

BLOCK_FLOATS = 1 << 22  # floats one scoring block may hold (16 MB in float32)


class RowScores:
    """a (n,), b (n,) as float64 NumPy arrays; m pairs behind each b_i; how they were chosen."""

    def __init__(self, a, b, m, pairs):
        self.a, self.b, self.m, self.pairs = a, b, m, pairs

    def value(self, rule):
        """The held-out estimate under `rule` ('dv' or 'infonce'), a float."""
        return float(_value(rule, self.a, self.b, self.m))

    def bootstrap_stderr(self, rule, rng, reps=200):
        """Standard deviation of the estimate over resamples of the rows."""
        return _bootstrap(lambda idx: _value(rule, self.a[idx], self.b[idx], self.m),
                          len(self.a), reps, rng)


def gain_stderr(new, old, rule, rng, reps=100):
    """Standard deviation of value(new) − value(old), two RowScores of the same rows,
    over resamples of the rows (paired: both scored on each resample)."""
    return _bootstrap(lambda idx: _value(rule, new.a[idx], new.b[idx], new.m)
                      - _value(rule, old.a[idx], old.b[idx], old.m), len(new.a), reps, rng)


def _bootstrap(statistic, n, reps, rng):
    """Standard deviation of statistic(idx) over `reps` resamples idx of range(n); the
    resamples go in chunks of at most 2^22 indices."""
    values = []
    per_chunk = max(1, (1 << 22) // n)
    for start in range(0, reps, per_chunk):
        values.append(statistic(rng.integers(0, n, (min(per_chunk, reps - start), n))))
    values = np.concatenate(values)
    values = values[np.isfinite(values)]
    return float(values.std(ddof=1)) if len(values) > 1 else float("nan")


def _value(rule, a, b, m):
    """The rule along the last axis (rows) of a and b."""
    if rule == "dv":
        return a.mean(axis=-1) - (_logsumexp(b) - math.log(a.shape[-1]))
    if rule == "infonce":
        row = np.logaddexp(a, b + math.log(m)) - math.log(m + 1)
        return (a - row).mean(axis=-1)
    raise ValueError(f"unknown scoring rule {rule!r}: choose dv or infonce")


def _logsumexp(b):
    """log Σ exp b along the last axis, shifted by the max; −inf entries add nothing."""
    xp = get_array_module(b)
    top = b.max(axis=-1, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0.0)
    return xp.log(xp.exp(b - top).sum(axis=-1)) + top[..., 0]


def row_scores(critic, x, y, max_pairs, rng):
    """RowScores of a critic on the rows x (n, dx), y (n, dy) (NumPy, any float dtype).

    The critic's per-row parts are computed once; pairs are combined in blocks of
    at most BLOCK_FLOATS floats, on the critic's device, and only a and b come back.
    """
    n = len(x)
    if n < 2:
        raise ValueError(f"held-out scoring needs at least 2 rows, got {n}")
    X = Tensor(backend.to_device(np.asarray(x, dtype=np.float32)))
    Y = Tensor(backend.to_device(np.asarray(y, dtype=np.float32)))
    with no_grad():
        fx, fy = critic.features(X, Y)
        a = critic.combine_pairs(fx, fy).data.astype(np.float64)
        xp = get_array_module(a)
        if n * (n - 1) <= max_pairs:
            m, pairs, full, left = n - 1, "all", np.arange(n)[None, :], None
        else:
            m, pairs = max(1, max_pairs // n), "sampled"
            full, left = sample_groups(n, m + 1, rng)
        b = xp.empty(n, dtype=np.float64)
        b[xp.asarray(full.reshape(-1))] = _full_groups_lme(critic, fx, fy, full)
        if left is not None:                            # the left-over rows' group
            rows, own = left
            b[xp.asarray(rows[:own])] = _others_lme(critic, fx, fy, rows, own)
    return RowScores(backend.to_numpy(a), backend.to_numpy(b), m, pairs)


def sample_groups(n, g, rng):
    """(full, left): range(n) shuffled into groups of g rows (g < n), so each row's
    m = g − 1 others are drawn uniformly from the rest. full (k, g): the groups; left:
    None, or (rows, own) when n mod g rows are left over: they make one more group
    with rows borrowed at random from the others, and only its first `own` rows take
    their b from it. Drawn on the host."""
    order = rng.permutation(n)
    k, over = divmod(n, g)
    full = order[:k * g].reshape(k, g)
    if not over:
        return full, None
    borrowed = rng.choice(order[:k * g], g - over, replace=False)
    return full, (np.concatenate([order[k * g:], borrowed]), over)


def _pairs_per_block(critic):
    return max(1, BLOCK_FLOATS // critic.floats_per_pair)


def _full_groups_lme(critic, fx, fy, groups):
    """b of every row of `groups` (k, g), row by row: the log-mean-exp over the other
    g − 1 rows of its group. Few large groups: one group's pairs at a time; many small
    ones: all groups at once, one offset t at a time (the row in place i against the
    row in place i + t mod g), so the loops number min(k, g − 1) either way."""
    k, g = groups.shape
    if k <= g - 1:
        parts = [_others_lme(critic, fx, fy, rows, g) for rows in groups]
        return get_array_module(parts[0]).concatenate(parts)
    chunk = max(1, _pairs_per_block(critic) // g)                 # groups per block
    parts = []
    for start in range(0, k, chunk):
        block = groups[start:start + chunk]
        fx_rows, total = fx[block.reshape(-1)], None
        for t in range(1, g):
            S = critic.combine_pairs(fx_rows, fy[np.roll(block, -t, axis=1).reshape(-1)])
            S = S.data.astype(np.float64)
            total = S if total is None else get_array_module(S).logaddexp(total, S)
        parts.append(total - math.log(g - 1))
    return get_array_module(parts[0]).concatenate(parts)


def _others_lme(critic, fx, fy, rows, own):
    """b of the first `own` of `rows` (host indices): the log-mean-exp of T(x_i, y_j) over
    the other j in `rows`, every pair scored at once per block (no pair is gathered)."""
    m = len(rows) - 1
    fy_rows = fy[rows]
    step = max(1, _pairs_per_block(critic) // len(rows))          # rows per block
    parts = []
    for start in range(0, own, step):
        stop = min(start + step, own)
        S = critic.combine(fx[rows[start:stop]], fy_rows).data.astype(np.float64)
        r = get_array_module(S).arange(stop - start)
        S[r, r + start] = -math.inf                 # leave out the aligned pair
        parts.append(_row_lme(S, m))
    return get_array_module(parts[0]).concatenate(parts)


def _row_lme(S, m):
    """log((1/m) Σ_j exp S[r, j]) per row; −inf entries are left out of the sum."""
    return _logsumexp(S) - math.log(m)
