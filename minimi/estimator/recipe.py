"""Estimate I(X; Y) from paired samples.

    import minimi
    result = minimi.estimate(x, y)          # x (n, dx), y (n, dy)
    print(result)                           # I(X;Y) ≈ 1.02 nats, 95% interval 0.95 to 1.10 (...)

Three steps, each a function below, then the same three on disjoint parts of
the rows for the interval (interval.py, attach_interval), in a worker process
beside the estimate on all rows where there is a CPU for it (workers.py):

prepare  Split the rows into train / validation / test (test_fraction, then
         validation_fraction of the rest); look for degenerate data; map every
         column through the marginal map fitted on the training split ("rank" by
         default: MI is unchanged by an invertible map of each coordinate, and
         heavy tails no longer break the critic).
train    Train the critic (training.py; critic='auto': an MLP on [x; y] when x and y
         have one column each, else g(x)·h(y); settings.py) on shuffled minibatches
         of the training split. Before training and every `eval_every` steps, score the
         validation split (heldout.py: the rule that is right at this bound's
         optimum) and keep the best checkpoint. Stop once `patience` evaluations
         in a row found no gain beyond noise (a better checkpoint by less than one
         standard error of the difference is kept, but does not restart the
         count): a critic trained past that point only overfits. `steps` is the
         most.
judge    Score the chosen checkpoint on the test split, with a bootstrap standard
         error over its rows, and say whether the number can be trusted: status
         'untrained' (every trained checkpoint scored below the untrained critic on
         the validation split beyond noise, and on its training rows too),
         'diverged' (the bound went NaN/inf in training),
         'non_finite' (the test estimate is not finite) and 'degenerate' (a column
         the marginal map flattened: the critic saw other data) leave `mi` None;
         other data warnings and a training that had not settled are flagged.
"""
import math
import time
import warnings

import numpy as np

from .. import backend
from . import copula, heldout, interval, neighbours, workers
from .inputs import Marginals, check_memory, check_pair, degenerate
from .result import DataWarning, EstimateResult
from .settings import Settings
from .training import finite, train


def estimate(x, y, settings=None, device=None, progress=None, **changes):
    """Estimate I(X; Y) in nats from paired rows of x (n, dx) and y (n, dy).

    settings: a Settings (the defaults if None); keyword arguments change single
    settings: estimate(x, y, bound="nwj", steps=2000). The settings and their
    defaults: minimi.Settings (help(minimi.Settings)). device: 'cpu' or 'gpu' for
    this call (default: the active one). progress: a callable taking one line of
    text (e.g. print to stderr), or None. Every argument is checked before any
    training. Returns an EstimateResult (str() gives the one-line summary); data
    warnings are also issued as DataWarning.
    """
    s = Settings.of(settings, **changes).check()
    x, y = check_pair(x, y)
    check_memory(x, y)
    s = s.for_columns(x.shape[1], y.shape[1])       # critic='auto' and the critic's defaults
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable taking a line of text, got {progress!r}")
    previous_device = backend.use_device(device) if device is not None else None
    try:
        start = time.perf_counter()
        rows = part_rows(len(x), s)     # decided before any training
        tags = [f"subsample {j + 1} of {len(rows)}: " for j in range(len(rows))]
        settings = [part_settings(s, j, len(idx), len(x)) for j, idx in enumerate(rows)]
        n_workers = workers.workers_for(rows)
        if n_workers:   # the parts in worker processes while this one trains on all rows
            with workers.side_by_side(n_workers, progress) as run:
                results = run([(tag, x[idx], y[idx], part)
                               for tag, idx, part in zip(tags, rows, settings)])
                result = estimate_once(x, y, s, progress)
                parts = results() if result.status == "ok" else []
        else:
            result = estimate_once(x, y, s, progress)
            rows = rows if result.status == "ok" else []
            parts = [estimate_once(x[idx], y[idx], part, _tagged(progress, tag), warn=False)
                     for tag, idx, part in zip(tags, rows, settings)]
        return attach_interval(result, parts, s, x, y, start)
    finally:
        if previous_device is not None:
            backend.use_device(previous_device)


def part_rows(n, s):
    """The disjoint parts of the rows for the interval, or [] when a part would be
    too small for its own three splits."""
    rows = interval.parts(n, s.subsamples, s.seed)
    try:
        for idx in rows:
            split_sizes(len(idx), s.test_fraction, s.validation_fraction)
    except ValueError:
        return []
    return rows


def part_settings(s, j, rows, n):
    """The settings of part j (`rows` of the n rows): its own seed, and the schedule
    scaled to its rows. Validation every eval_every·rows/n steps (and at most
    steps·rows/n steps) is the same number of passes over its training rows between
    checks as the estimate on all rows makes: a critic overfits by passes, so the
    part stops as the whole does, after `patience` checks without a gain beyond noise.
    The pairs budget is scaled too: where the whole samples m other rows per row, so
    does the part (its validation, twice as frequent, would otherwise cost more than
    the whole's; and the rule's log(m + 1) cap is the whole's)."""
    scale = rows / n
    return Settings.of(s, seed=interval.part_seed(s.seed, j),
                       eval_every=max(1, round(s.eval_every * scale)),
                       steps=max(1, round(s.steps * scale)),
                       max_pairs=max(1, round(s.pairs_budget() * scale)))


def _tagged(progress, tag):
    return None if progress is None else (lambda line: progress(tag + line))


def estimate_once(x, y, s, progress, warn=True):
    """prepare, train, judge: the estimate on these rows, without its interval."""
    start = time.perf_counter()
    rng = np.random.default_rng(s.seed)
    data = prepare(x, y, s, rng, warn)
    run = train(data, s, rng, progress, start)
    return judge(data, run, s, rng, start)


# ---- prepare ----------------------------------------------------------------------------------

class Prepared:
    """The mapped splits {'train', 'val', 'test', 'train_sample'}: (x, y) each, the data
    warnings, and those of them that leave no meaningful number."""

    def __init__(self, splits, notes, meaningless):
        self.splits, self.notes, self.meaningless = splits, notes, meaningless

    def scores(self, critic, split, s, rng):
        """heldout.RowScores of `critic` as it is now on one of the splits."""
        return heldout.row_scores(critic, *self.splits[split], s.pairs_budget(), rng)


# fewer held-out rows than this give a number that means nothing (a bootstrap over a
# handful of rows; docs/estimator.md), so such a split is refused before training
MIN_SPLIT_ROWS = 8


def split_rows(n, test_fraction, validation_fraction, rng):
    """(train, validation, test) row indices: a random partition of range(n)."""
    n_test, n_val = split_sizes(n, test_fraction, validation_fraction)
    order = rng.permutation(n)
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]


def split_sizes(n, test_fraction, validation_fraction):
    """(test rows, validation rows) of n, or a ValueError naming the fraction that
    leaves a split too small."""
    n_test = int(round(n * test_fraction))
    n_val = int(round((n - n_test) * validation_fraction))
    for name, rows, fraction in (("test_fraction", n_test, test_fraction),
                                 ("validation_fraction", n_val, validation_fraction)):
        if rows < MIN_SPLIT_ROWS:
            raise ValueError(f"{name}={fraction:g} leaves {rows} of the {n} rows for that split; "
                             f"an estimate needs at least {MIN_SPLIT_ROWS}: raise {name} or "
                             "give more rows")
    if n - n_test - n_val < 2:
        raise ValueError(f"{n} rows leave no training split: lower test_fraction or "
                         "validation_fraction")
    return n_test, n_val


def prepare(x, y, s, rng, warn=True):
    train, val, test = split_rows(len(x), s.test_fraction, s.validation_fraction, rng)
    notes, meaningless = degenerate(x, y, s.marginals)
    for note in notes if warn else ():
        warnings.warn(note, DataWarning, stacklevel=4)  # at the caller of estimate()
    fx, fy = Marginals(s.marginals, x[train]), Marginals(s.marginals, y[train])
    splits = {name: (fx(x[idx]), fy(y[idx])) for name, idx in
              (("train", train), ("val", val), ("test", test))}
    # the training split's score (to compare with validation: overfitting shows as a gap)
    # is taken on as many training rows as the validation split has
    splits["train_sample"] = tuple(a[:len(val)] for a in splits["train"])
    return Prepared(splits, notes, meaningless)


# ---- train ------------------------------------------------------------------------------------

# training.py: the step loop, the early-stopping rule, and the Run it leaves

# ---- judge ------------------------------------------------------------------------------------

def judge(data, run, s, rng, start):
    scores = data.scores(run.model, "test", s, rng)
    mi = scores.value(run.rule)
    fit = data.scores(run.model, "train_sample", s, rng).value(run.rule)
    status, reason = verdict(run, mi, fit, s, rng, data.meaningless)
    ok = status == "ok"
    stderr = scores.bootstrap_stderr(run.rule, rng) if ok else None
    val = run.validation_scores   # those that chose the checkpoint, to compare with the test's
    n_train, n_val, n_test = (len(data.splits[k][0]) for k in ("train", "val", "test"))
    return EstimateResult(
        mi=mi if ok else None, stderr=stderr, rejected_mi=None if ok else finite(mi),
        unit="nats", train_mi=fit if ok else None,
        validation_mi=val.value(run.rule) if ok else None,
        validation_stderr=val.bootstrap_stderr(run.rule, rng) if ok else None,
        ci_level=s.ci_level,
        ci=None, one_sided=None, subsample_mi=None, trend=None,       # attach_interval
        trend_stderr=None, neighbour_mi=None, neighbour_stderr=None, gaussian_mi=None,
        gaussian_stderr=None, flags=[],
        status=status, reason=reason, diverged_at_step=run.diverged_at,
        # settled: validation stopped improving (early stop, or no new best in the last 20%)
        settled=ok and (run.since_best >= s.patience or run.best_step <= 0.8 * run.steps_run),
        warnings=data.notes, best_step=run.best_step, steps_run=run.steps_run, bound=s.bound,
        critic=s.critic, hidden=list(s.hidden), batch_size=s.batch_size, lr=s.lr,
        steps=s.steps, scoring=run.rule,
        pairs=f"{scores.pairs}, {scores.m} per row", marginals=s.marginals, n_train=n_train,
        n_validation=n_val, n_test=n_test, params=dict(run.loss.params),
        elapsed_s=round(time.perf_counter() - start, 2), curve=run.curve,
        validation=run.validation)


def attach_interval(result, parts, s, x, y, start):
    """The interval and the flags of interval.py on `result` (from the estimates on
    `parts` of the rows x, y), the second opinions of KSG in few dimensions
    (neighbours.py) and of the Gaussian copula (copula.py), the upper end only where
    the evidence supports one (interval.upper_end); the time of the whole estimate."""
    n = len(x)
    if result.status == "ok":
        failed = [p for p in parts if p.status != "ok"]
        iv = None
        if parts and not failed:
            iv = interval.interval(result.mi, result.stderr, [p.mi for p in parts],
                                   [p.stderr for p in parts], s.ci_level)
            low, high, result.flags = iv.low, iv.high, iv.flags
            result.subsample_mi = [p.mi for p in parts]
            result.trend, result.trend_stderr = iv.trend, iv.trend_se
        else:
            z = interval.z_value(s.ci_level)
            low, high = result.mi - z * result.stderr, result.mi + z * result.stderr
            result.flags = [_no_parts(failed, s, n)]
        result.flags += interval.checks(result.mi, result.stderr, low, high,
                                        result.validation_mi, result.validation_stderr,
                                        result.n_test, s.ci_level)
        ceiling = interval.at_ceiling(high, result.n_test)
        if ceiling:                     # more rows could show more
            high = math.inf
        knn, gaussian, above = second_opinions(x, y, high, s)
        result.neighbour_mi, result.neighbour_stderr = knn or (None, None)
        result.gaussian_mi, result.gaussian_stderr = gaussian or (None, None)
        result.flags += above
        if ceiling:
            result.one_sided = (f"the estimate nears log({result.n_test} test rows), about "
                                "the most that many rows can show")
        elif above:                     # the critic fell short: nothing bounds the truth above
            high, result.one_sided = math.inf, ("a second opinion lies above the interval: "
                                                "the critic fell short")
        else:
            high, result.one_sided = interval.upper_end(result.mi, result.stderr, low, high,
                                                        iv, knn, gaussian, s.ci_level)
        result.ci = [float(low), float(high)]
    result.elapsed_s = round(time.perf_counter() - start, 2)
    return result


def second_opinions(x, y, high, s):
    """(KSG's (estimate, standard error), the Gaussian copula's, flags) on the rows x,
    y: each None where it does not apply, and a flag for each that lies above `high`, the
    interval's upper end (the copula's beyond its standard error: on independent data
    it is ≈ 0 ± noise), with what to try for the critic and bound `s` trained."""
    knn = neighbours.second_opinion(x, y, s.seed)
    gaussian = copula.second_opinion(x, y, s.seed)
    flags = []
    ksg = None if knn is None else knn[0]
    if ksg is not None and ksg > high:
        flags.append(
            f"a nearest-neighbour estimate (KSG, k={neighbours.K}) on "
            f"{neighbours.rows_used(len(x))} gives "
            f"{ksg:.2f} nats, above the interval's upper end ({high:.2f}): KSG rarely "
            "over-estimates, so the critic likely missed part of the dependence (a density "
            "ratio it cannot represent, such as one with sharp edges) and the estimate is too "
            "low (the interval has no upper end); " + (
                "critic='concat' (an MLP on [x; y]) may represent it better"
                if s.critic == "separable" else "the concat critic in use did not represent "
                "it either: in so few dimensions KSG's number is likely the closer one"))
    if gaussian is not None and gaussian[0] - gaussian[1] > high:
        flags.append(
            f"a Gaussian-copula estimate (the MI of a Gaussian with the correlations of the "
            f"rows' normal scores) gives {gaussian[0]:.2f} ± {gaussian[1]:.2f} nats, above the "
            f"interval's upper end ({high:.2f}): it is exact for Gaussian dependence and lower "
            "for most other kinds, so the critic likely missed dependence that a linear map "
            "already shows and the estimate is too low (the interval has no upper end); " + (
                f"the default bound ({Settings.bound}), more rows or a lower lr may train it "
                "better" if s.bound != Settings.bound else "more rows or a lower lr may train "
                "it better, and where the data is close to Gaussian the copula's number is "
                "likely the closer one"))
    return knn, gaussian, flags


def _no_parts(failed, s, n):
    """Why the interval has no parts behind it."""
    if failed:
        return f"a subsample estimate failed ({failed[0].status}: {failed[0].reason})"
    if s.subsamples < 2:
        return "subsamples=1: the interval covers only the test rows' noise"
    return (f"{n} rows are too few for {s.subsamples} subsamples (each needs "
            f"{interval.MIN_PART_ROWS} rows and {MIN_SPLIT_ROWS} in its test and validation "
            "splits): the interval covers only the test rows' noise")


def verdict(run, mi, fit, s, rng, meaningless=()):
    """(status, reason): 'ok' and None, or why the test estimate is not a result."""
    if meaningless:
        return "degenerate", f"the data leaves no meaningful number: {meaningless[0]}"
    if run.diverged_at is not None:
        return "diverged", (f"training diverged at step {run.diverged_at} (the {s.bound} value "
                            "or objective became NaN/inf)")
    if worse_than_untrained(run, fit, s, rng):
        return "untrained", (
            f"training made the critic worse: every trained checkpoint scored below the "
            f"untrained critic on the validation split beyond its noise (untrained "
            f"{shown(run.untrained_value)}, best trained {shown(run.best_value)} nats), and "
            f"on its own training rows too ({shown(run.untrained_fit)}, {shown(finite(fit))}); "
            "try another bound, a lower lr or more data")
    if not math.isfinite(mi):
        return "non_finite", ("the test-split estimate of the chosen checkpoint is not finite")
    return "ok", None


def worse_than_untrained(run, fit, s, rng):
    """Whether training failed: no trained checkpoint has a finite validation score, or
    the best one is below the untrained critic's by more than z · its bootstrap standard
    error (z of ci_level) *and* scores no higher on its own training rows (`fit`) either.
    A critic that fits its training rows but not the validation rows learned their noise:
    on independent data that is the answer (≈ 0), not a failure."""
    if run.best_value is None:
        return True
    if run.untrained_value is None or run.best_value >= run.untrained_value:
        return False
    if run.untrained_fit is not None and math.isfinite(fit) and fit > run.untrained_fit:
        return False
    se = run.validation_scores.bootstrap_stderr(run.rule, rng)
    return not run.untrained_value - run.best_value <= interval.z_value(s.ci_level) * se


def shown(v):
    return "—" if v is None else f"{v:.3f}"
