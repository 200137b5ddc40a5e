"""Paired samples for minimi.estimate: checked, mapped per column, and looked over
for degenerate cases before any training.

    x, y = check_pair(x, y)                 # float64 (n, d) each, or a ValueError
    notes, meaningless = degenerate(x, y, "rank")   # warnings about the data, as sentences
    fx = Marginals("rank", x[train]); fx(x[test])
"""
import numpy as np

MARGINALS = ("rank", "standard", "none")


def as_samples(a, name):
    """A float64 (n, d) array; 1-D becomes one column. Clear errors for bad input;
    row and column numbers count from 1."""
    if isinstance(a, np.ma.MaskedArray):
        masked = np.ma.getmaskarray(a)
        if masked.any():
            row, col = np.argwhere(masked.reshape(len(masked), -1))[0]
            raise ValueError(f"{name}: a masked array with {int(masked.sum())} masked "
                             f"value(s), the first at row {row + 1}, column {col + 1}: minimi "
                             "needs complete rows; drop or fill those rows first")
        a = np.ma.getdata(a)
    try:
        a = np.asarray(a)
    except (TypeError, ValueError) as error:  # e.g. ragged nested lists
        raise ValueError(f"{name}: not an array of numbers ({error})") from None
    if a.dtype.kind == "c":
        raise ValueError(f"{name}: complex values ({a.dtype}); MI is estimated from real "
                         "numbers: pass the real and imaginary parts as separate columns")
    try:
        a = a.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: not numeric ({error})") from None
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 1-D or 2-D array (n samples, d columns), "
                         f"got shape {a.shape}")
    if a.shape[1] == 0:
        raise ValueError(f"{name}: has no columns (shape {a.shape})")
    bad = ~np.isfinite(a)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{name}: {int(bad.sum())} NaN or infinite value(s), the first at "
                         f"row {row + 1}, column {col + 1}")
    return a


def check_pair(x, y, min_rows=50, names=("x", "y")):
    """x and y as float64 (n, dx), (n, dy) with the same n ≥ min_rows."""
    x, y = as_samples(x, names[0]), as_samples(y, names[1])
    if len(x) != len(y):
        raise ValueError(f"{names[0]} has {len(x)} rows and {names[1]} has {len(y)}: "
                         "the rows must be paired samples")
    if len(x) < min_rows:
        raise ValueError(f"{len(x)} rows are too few to estimate MI (at least {min_rows})")
    return x, y


# Peak memory of an estimate with its interval, its worker included, measured by
# `bench scale` (docs/performance.md): 1.5 GB for a million rows of 5+5 columns (76 MB
# as float64), 1.8 GB for 10^4 rows of 3072+10 (235 MB). At most this many MB, plus this
# many times the data's float64 size, covers every case measured.
MEMORY_BASE_MB = 300
MEMORY_PER_DATA = 20


def available_mb():
    """The memory this machine can give without swapping (MemAvailable), in MB; None
    where /proc/meminfo does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(x, y):
    """Refuse, before any training, rows that would not fit in the memory available."""
    data_mb = (x.size + y.size) * 8 / 2 ** 20
    need = MEMORY_BASE_MB + MEMORY_PER_DATA * data_mb
    free = available_mb()
    if free is not None and need > free:
        raise ValueError(
            f"x {x.shape} and y {y.shape} ({data_mb:,.0f} MB as float64) need about "
            f"{need:,.0f} MB to estimate with the interval (measured: {MEMORY_BASE_MB} MB and "
            f"{MEMORY_PER_DATA}x the data), and this machine has {free:,.0f} MB available: "
            f"estimate on a random subset of the rows (a million rows of 5+5 columns take "
            "about 1.5 GB and 2.5 minutes on 2 cores)")


class Marginals:
    """A per-column map fitted on the training split, applied to any split.

    rank: each value's mid-rank in the training column, then the normal quantile
    (invertible per column, so MI is unchanged, and heavy tails become Gaussian).
    standard: centre and scale. none: the values as they are.
    """

    def __init__(self, kind, train):
        if kind not in MARGINALS:
            raise ValueError(f"unknown marginals {kind!r}: choose one of {', '.join(MARGINALS)}")
        self.kind = kind
        if kind == "rank":
            self.sorted = np.sort(train, axis=0)
        elif kind == "standard":
            self.mean, self.std = train.mean(axis=0), train.std(axis=0)
            self.std[~(self.std > 0) | ~np.isfinite(self.std)] = 1.0

    def __call__(self, a):
        if self.kind == "standard":
            return (a - self.mean) / self.std
        if self.kind == "none":
            return a
        from scipy.special import ndtri  # the normal quantile; scipy only when needed
        n = len(self.sorted)
        out = np.empty_like(a)
        for j in range(a.shape[1]):  # mid-rank of each value in the training column
            lo = np.searchsorted(self.sorted[:, j], a[:, j], side="left")
            hi = np.searchsorted(self.sorted[:, j], a[:, j], side="right")
            out[:, j] = ndtri((0.5 * (lo + hi) + 0.5) / (n + 1))
        return out


def _dense_ranks(column):
    """The column's dense ranks (equal values share one; 0, 1, 2, ...) as bytes."""
    return np.unique(column, return_inverse=True)[1].astype(np.int64).tobytes()


def degenerate(x, y, marginals, names=("x", "y")):
    """(notes, meaningless): sentences about data that makes an estimate misleading
    (constant columns, columns of x and y that determine each other) and, among
    them, those that make any number meaningless (a column that the marginal map
    in float32 flattens to a constant or to inf: the critic sees another data set)."""
    notes, meaningless = [], []
    constant = [(a == a[0]).all(axis=0) for a in (x, y)]     # per column, of x and of y
    for flags, name in zip(constant, names):
        for j in np.flatnonzero(flags):
            notes.append(f"{name} column {j + 1} is constant: it carries no information")
    # a column of y that is a monotone function of a column of x: same ranks
    ranks = {}
    for j in range(x.shape[1]):
        ranks.setdefault(_dense_ranks(x[:, j]), j)
    for k in range(y.shape[1]):
        for sign in (1, -1):
            j = ranks.get(_dense_ranks(sign * y[:, k]))
            if j is not None and not constant[0][j]:
                notes.append(
                    f"{names[0]} column {j + 1} and {names[1]} column {k + 1} determine each "
                    "other (one is a monotone function of the other): I(X;Y) is infinite if "
                    "they are continuous (the column's entropy if discrete), and no estimate "
                    "from finite samples can show that")
                break
    if marginals != "rank":
        for a, flags, name in zip((x, y), constant, names):
            mapped = Marginals(marginals, a)(a).astype(np.float32)
            for j in range(a.shape[1]):
                column = mapped[:, j]
                flat = (column == column[0]).all() or not np.isfinite(column).all()
                if flat and not flags[j]:
                    meaningless.append(
                        f"{name} column {j + 1}: its spread (std {a[:, j].std():.3g}) under- or "
                        f"overflows under marginals={marginals!r}: in float32 the column becomes "
                        "constant or infinite; use marginals='rank'")
    return notes + meaningless, meaningless
